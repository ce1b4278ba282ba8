-- DPoP (RFC 9449; issue 15 item 1). Proofs' jtis reuse used_assertions (key
-- 'dpop:<jkt>'); nonces are stateless. What is stored is the key a grant is bound to:
-- * token_families.dpop_jkt: the JWK thumbprint (RFC 7638) a public client's refresh
--   tokens are bound to (RFC 9449 §5); NULL for confidential clients and Bearer grants.
-- * auth_codes.dpop_jkt: the authorization request's dpop_jkt (§10); the code
--   exchange's proof must be signed by that key.
-- * client_apps.dpop_bound_access_tokens: the client's RFC 9449 §5.2 metadata; when
--   set, its token requests without a proof are refused.
-- Paired with store-sqlite/migrations/0016_dpop.sql.

ALTER TABLE token_families ADD COLUMN dpop_jkt TEXT;
ALTER TABLE auth_codes ADD COLUMN dpop_jkt TEXT;
ALTER TABLE client_apps ADD COLUMN dpop_bound_access_tokens BOOLEAN NOT NULL DEFAULT FALSE;
