-- OpenID Connect (issue 13): what a sign-in carries from the authorization request
-- through the code into the grant, so the ID token of the code exchange and of every
-- refresh can say when the user signed in (auth_time), in which browser session (sid),
-- echo the request's nonce and honour its claims request (JSON). The nonce is only
-- needed until the code is exchanged, so families do not keep it.
-- Paired with store-sqlite/migrations/0011_openid_connect.sql.

ALTER TABLE auth_codes ADD COLUMN auth_time BIGINT;
ALTER TABLE auth_codes ADD COLUMN nonce TEXT;
ALTER TABLE auth_codes ADD COLUMN sid TEXT;
ALTER TABLE auth_codes ADD COLUMN claims TEXT;

ALTER TABLE token_families ADD COLUMN auth_time BIGINT;
ALTER TABLE token_families ADD COLUMN sid TEXT;
ALTER TABLE token_families ADD COLUMN claims TEXT;
