-- OpenID Connect (issue 13): users' optional profile (the standard claims name,
-- given_name, family_name, email, email_verified, locale, updated_at) and client
-- applications' OIDC settings (postLogoutRedirectUris, idTokenSignedResponseAlg,
-- userinfoSignedResponseAlg). Every column is optional: rows written before, and
-- everything created through HDP's API, have none, and the API then shows none.
ALTER TABLE users ADD COLUMN display_name TEXT;
ALTER TABLE users ADD COLUMN given_name TEXT;
ALTER TABLE users ADD COLUMN family_name TEXT;
ALTER TABLE users ADD COLUMN email TEXT;
ALTER TABLE users ADD COLUMN email_verified INTEGER NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN locale TEXT;
-- When a profile field last changed (the updated_at claim); NULL while none was set.
ALTER TABLE users ADD COLUMN profile_updated_at INTEGER;

-- A JSON list, like redirect_urls.
ALTER TABLE client_apps ADD COLUMN post_logout_redirect_uris TEXT NOT NULL DEFAULT '[]';
-- 'RS256' or 'ES256'; NULL: RS256 for ID tokens, unsigned JSON for UserInfo.
ALTER TABLE client_apps ADD COLUMN id_token_signed_response_alg TEXT;
ALTER TABLE client_apps ADD COLUMN userinfo_signed_response_alg TEXT;
