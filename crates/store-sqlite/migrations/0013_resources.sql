-- Resource servers (RFC 8707 resource indicators, issue 14): the APIs a tenant's
-- clients may name in `resource` to get a token for them (its `aud`). Unique by
-- (tenant, uri); the URI is compared exactly as stored. `scopes` is the JSON list of
-- API scopes the resource accepts; `access_token_lifetime` (seconds) overrides the
-- tenant's limit for tokens whose audience it is. Portcullis's own APIs are built in
-- and not stored here. Codes and token families remember the resources of their grant
-- (JSON list; empty: the issuer, as before).
-- Paired with store-postgres/migrations/0013_resources.sql.

CREATE TABLE resource_servers (
    id                    INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id             INTEGER NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    uri                   TEXT NOT NULL,
    name                  TEXT NOT NULL,
    scopes                TEXT NOT NULL,
    access_token_lifetime INTEGER,
    created_at            INTEGER NOT NULL,
    UNIQUE (tenant_id, uri)
);

ALTER TABLE token_families ADD COLUMN resources TEXT NOT NULL DEFAULT '[]';
ALTER TABLE auth_codes ADD COLUMN resources TEXT NOT NULL DEFAULT '[]';
