-- Foundation: catalogue, tenants, users, roles, client applications, consents,
-- limits and server secrets. Paired with store-postgres/migrations/0001_foundation.sql.
-- Times are Unix seconds (INTEGER); lists are JSON text. Generated ids use
-- AUTOINCREMENT so a deleted row's id is never handed out again (as on PostgreSQL).

CREATE TABLE server_secrets (
    name        TEXT PRIMARY KEY,
    value       TEXT NOT NULL,
    created_at  INTEGER NOT NULL
);

CREATE TABLE permissions (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    description TEXT NOT NULL
);

CREATE TABLE tenants (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    name        TEXT NOT NULL UNIQUE,
    description TEXT,
    parent_id   INTEGER REFERENCES tenants(id),
    active      INTEGER NOT NULL DEFAULT 1,
    created_at  INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE roles (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id   INTEGER NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    name        TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    UNIQUE (tenant_id, name)
);

CREATE TABLE role_permissions (
    role_id       INTEGER NOT NULL REFERENCES roles(id) ON DELETE CASCADE,
    permission_id INTEGER NOT NULL REFERENCES permissions(id),
    PRIMARY KEY (role_id, permission_id)
);

CREATE TABLE users (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id           INTEGER NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    login               TEXT NOT NULL,
    password_hash       TEXT NOT NULL,
    active              INTEGER NOT NULL DEFAULT 1,
    auth_version        INTEGER NOT NULL DEFAULT 1,
    failed_logins       INTEGER NOT NULL DEFAULT 0,
    failed_window_start INTEGER,
    locked_at           INTEGER,
    locked_until        INTEGER,
    created_at          INTEGER NOT NULL,
    updated_at          INTEGER NOT NULL,
    UNIQUE (tenant_id, login)
);
CREATE INDEX users_login ON users(login);

CREATE TABLE user_roles (
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    role_id INTEGER NOT NULL REFERENCES roles(id) ON DELETE CASCADE,
    PRIMARY KEY (user_id, role_id)
);

CREATE TABLE user_permissions (
    user_id       INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    permission_id INTEGER NOT NULL REFERENCES permissions(id),
    PRIMARY KEY (user_id, permission_id)
);

-- level: 'system' (target_id 0), 'tenant' (tenant id) or 'user' (user id).
CREATE TABLE limit_values (
    limit_id  INTEGER NOT NULL,
    level     TEXT NOT NULL CHECK (level IN ('system', 'tenant', 'user')),
    target_id INTEGER NOT NULL,
    value     INTEGER NOT NULL,
    PRIMARY KEY (limit_id, level, target_id)
);

CREATE TABLE client_apps (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id          INTEGER NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    owner_id           INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
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
    updated_at         INTEGER NOT NULL
);
CREATE INDEX client_apps_owner ON client_apps(owner_id);
CREATE INDEX client_apps_tenant ON client_apps(tenant_id);

CREATE TABLE consents (
    user_id       INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    client_app_id INTEGER NOT NULL REFERENCES client_apps(id) ON DELETE CASCADE,
    scopes        TEXT NOT NULL,
    granted_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL,
    PRIMARY KEY (user_id, client_app_id)
);
CREATE INDEX consents_app ON consents(client_app_id);
