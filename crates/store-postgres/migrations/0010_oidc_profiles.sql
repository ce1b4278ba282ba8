-- OpenID Connect (issue 13): users' optional profile (the standard claims name,
-- given_name, family_name, email, email_verified, locale, updated_at) and client
-- applications' OIDC settings (postLogoutRedirectUris, idTokenSignedResponseAlg,
-- userinfoSignedResponseAlg). Every column is optional: rows written before, and
-- everything created through HDP's API, have none, and the API then shows none.
ALTER TABLE users
    ADD COLUMN display_name TEXT,
    ADD COLUMN given_name TEXT,
    ADD COLUMN family_name TEXT,
    ADD COLUMN email TEXT,
    ADD COLUMN email_verified BOOLEAN NOT NULL DEFAULT FALSE,
    ADD COLUMN locale TEXT,
    -- When a profile field last changed (the updated_at claim); NULL while none was set.
    ADD COLUMN profile_updated_at BIGINT;

ALTER TABLE client_apps
    -- A JSON list, like redirect_urls.
    ADD COLUMN post_logout_redirect_uris TEXT NOT NULL DEFAULT '[]',
    -- 'RS256' or 'ES256'; NULL: RS256 for ID tokens, unsigned JSON for UserInfo.
    ADD COLUMN id_token_signed_response_alg TEXT,
    ADD COLUMN userinfo_signed_response_alg TEXT;
