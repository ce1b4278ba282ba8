-- Dynamic client registration (RFC 7591/7592, issue 14). Paired with
-- store-postgres/migrations/0014_client_registration.sql.
--
-- Client applications gain the RFC 7591 §2 metadata, how they were registered
-- (registered_by: 'user' through HDP's API, 'initial_access_token' with the id of the
-- token, 'open'), the verifier of their registration access token, and when a token
-- was first issued to them. A client that registered itself has no owning user, so
-- owner_id becomes nullable: SQLite cannot drop a NOT NULL constraint in place, so the
-- table is rebuilt (https://www.sqlite.org/lang_altertable.html#otheralter) with
-- foreign keys off: a DROP TABLE with them on would cascade into consents and tokens.
-- foreign_keys cannot change inside a transaction, and sqlx (0.8) runs every SQLite
-- migration inside one, ignoring `-- no-transaction`; so this one ends sqlx's
-- (empty) transaction, rebuilds in its own, and opens a new one at the end for
-- sqlx's bookkeeping row, which sqlx then commits. The rows, their ids and the other
-- tables' references to client_apps are kept.
COMMIT;
PRAGMA foreign_keys = OFF;
BEGIN IMMEDIATE;
CREATE TABLE client_apps_new (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id          INTEGER NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    owner_id           INTEGER REFERENCES users(id) ON DELETE CASCADE,
    name               TEXT NOT NULL,
    description        TEXT NOT NULL DEFAULT '',
    redirect_urls      TEXT NOT NULL,
    client_id          TEXT NOT NULL UNIQUE,
    secret_verifier    TEXT,
    public             INTEGER NOT NULL DEFAULT 0,
    grant_types        TEXT NOT NULL,
    scopes             TEXT NOT NULL,
    tokens_valid_after INTEGER NOT NULL,
    created_at         INTEGER NOT NULL,
    updated_at         INTEGER NOT NULL,
    post_logout_redirect_uris TEXT NOT NULL DEFAULT '[]',
    id_token_signed_response_alg TEXT,
    userinfo_signed_response_alg TEXT,
    require_pushed_authorization_requests INTEGER NOT NULL DEFAULT 0,
    token_endpoint_auth_method TEXT NOT NULL DEFAULT 'client_secret_basic',
    jwks               TEXT,
    jwks_uri           TEXT,
    logo_uri           TEXT,
    client_uri         TEXT,
    policy_uri         TEXT,
    tos_uri            TEXT,
    contacts           TEXT NOT NULL DEFAULT '[]',
    software_id        TEXT,
    software_version   TEXT,
    registered_by      TEXT NOT NULL DEFAULT 'user',
    initial_access_token_id INTEGER,
    registration_verifier TEXT,
    first_used_at      INTEGER
);
INSERT INTO client_apps_new (id, tenant_id, owner_id, name, description, redirect_urls,
    client_id, secret_verifier, public, grant_types, scopes, tokens_valid_after, created_at,
    updated_at, post_logout_redirect_uris, id_token_signed_response_alg,
    userinfo_signed_response_alg, require_pushed_authorization_requests,
    token_endpoint_auth_method)
SELECT id, tenant_id, owner_id, name, description, redirect_urls, client_id,
    secret_verifier, public, grant_types, scopes, tokens_valid_after, created_at,
    updated_at, post_logout_redirect_uris, id_token_signed_response_alg,
    userinfo_signed_response_alg, require_pushed_authorization_requests,
    CASE WHEN public THEN 'none' ELSE 'client_secret_basic' END
FROM client_apps;
DROP TABLE client_apps;
ALTER TABLE client_apps_new RENAME TO client_apps;
CREATE INDEX client_apps_owner ON client_apps(owner_id);
CREATE INDEX client_apps_tenant ON client_apps(tenant_id);
CREATE INDEX client_apps_unused ON client_apps(tenant_id, registered_by) WHERE first_used_at IS NULL;
CREATE TRIGGER client_apps_inserted AFTER INSERT ON client_apps
BEGIN UPDATE cache_generation SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER client_apps_updated AFTER UPDATE ON client_apps
BEGIN UPDATE cache_generation SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER client_apps_deleted AFTER DELETE ON client_apps
BEGIN UPDATE cache_generation SET n = n + 1 WHERE id = 1; END;
UPDATE cache_generation SET n = n + 1 WHERE id = 1;

-- A tenant's registration policy (the tenant API's clientRegistration, as JSON).
-- open and metadata_documents are copies of two of its fields, so that the partial
-- unique indexes let at most one tenant be open and at most one accept client ID
-- metadata documents, even when two updates race.
CREATE TABLE registration_policies (
    tenant_id          INTEGER PRIMARY KEY REFERENCES tenants(id) ON DELETE CASCADE,
    policy             TEXT NOT NULL,
    open               INTEGER NOT NULL DEFAULT 0,
    metadata_documents INTEGER NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX registration_policies_one_open ON registration_policies (open) WHERE open;
CREATE UNIQUE INDEX registration_policies_one_metadata ON registration_policies (metadata_documents) WHERE metadata_documents;

-- Initial access tokens (RFC 7591 §3): only the keyed verifier of the token is kept.
-- uses_left NULL means unlimited; used counts registrations made with it.
CREATE TABLE initial_access_tokens (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id  INTEGER NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    verifier   TEXT NOT NULL UNIQUE,
    uses_left  INTEGER,
    used       INTEGER NOT NULL DEFAULT 0,
    expires_at INTEGER,
    created_at INTEGER NOT NULL,
    created_by INTEGER REFERENCES users(id) ON DELETE SET NULL
);
CREATE INDEX initial_access_tokens_tenant ON initial_access_tokens (tenant_id);
COMMIT;
PRAGMA foreign_keys = ON;
BEGIN IMMEDIATE;
