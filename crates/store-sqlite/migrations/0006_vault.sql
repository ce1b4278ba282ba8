-- The token vault: upstream OAuth applications (HDP "OAuth application objects"),
-- OAuth profiles (a user's upstream access and refresh tokens) and the pending
-- states of the connect flow. Paired with store-postgres/migrations/0006_vault.sql.
--
-- Secrets are AES-256-GCM sealed under the master key (`mk1.<key id>.…`), bound by
-- associated data to the row's `seal_ref` and the column, so a sealed value copied
-- to another row or column does not open. `refresh_lease_*` serialise refreshes of
-- one profile across nodes; `next_attempt_at` is the background refresher's backoff.

CREATE TABLE oauth_apps (
    id                   INTEGER PRIMARY KEY AUTOINCREMENT,
    seal_ref             TEXT NOT NULL UNIQUE,
    tenant_id            INTEGER NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    name                 TEXT NOT NULL,
    data_store           INTEGER NOT NULL,
    description          TEXT NOT NULL DEFAULT '',
    client_id            TEXT NOT NULL,
    client_secret_sealed TEXT NOT NULL,
    authorize_uri        TEXT NOT NULL,
    token_uri            TEXT NOT NULL,
    scope                TEXT NOT NULL DEFAULT '',
    token_auth_method    TEXT NOT NULL DEFAULT 'client_secret_basic',
    created_at           INTEGER NOT NULL,
    updated_at           INTEGER NOT NULL,
    UNIQUE (tenant_id, name)
);

CREATE TABLE oauth_profiles (
    id                    INTEGER PRIMARY KEY AUTOINCREMENT,
    seal_ref              TEXT NOT NULL UNIQUE,
    oauth_app_id          INTEGER NOT NULL REFERENCES oauth_apps(id) ON DELETE CASCADE,
    tenant_id             INTEGER NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    owner_id              INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name                  TEXT NOT NULL,
    description           TEXT NOT NULL DEFAULT '',
    access_token_sealed   TEXT,
    refresh_token_sealed  TEXT NOT NULL,
    access_expires_at     INTEGER,
    last_refreshed_at     INTEGER,
    last_attempt_at       INTEGER,
    last_refresh_error    TEXT,
    refresh_failures      INTEGER NOT NULL DEFAULT 0,
    next_attempt_at       INTEGER,
    refresh_lease_holder  TEXT,
    refresh_lease_until   INTEGER,
    created_at            INTEGER NOT NULL,
    updated_at            INTEGER NOT NULL,
    UNIQUE (owner_id, name)
);
CREATE INDEX oauth_profiles_app ON oauth_profiles(oauth_app_id);
CREATE INDEX oauth_profiles_due ON oauth_profiles(access_expires_at);

CREATE TABLE oauth_connect_states (
    state_verifier       TEXT PRIMARY KEY,
    user_id              INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    oauth_app_id         INTEGER NOT NULL REFERENCES oauth_apps(id) ON DELETE CASCADE,
    name                 TEXT NOT NULL,
    description          TEXT NOT NULL DEFAULT '',
    code_verifier_sealed TEXT NOT NULL,
    redirect_uri         TEXT NOT NULL,
    expires_at           INTEGER NOT NULL
);
