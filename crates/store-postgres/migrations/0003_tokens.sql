-- The token service: token families (one per grant), refresh tokens, authorization
-- codes and revoked access-token ids. Secrets are stored only as keyed verifiers.
-- Paired with store-sqlite/migrations/0003_tokens.sql.

CREATE TABLE token_families (
    id            TEXT PRIMARY KEY,
    client_app_id BIGINT NOT NULL REFERENCES client_apps(id) ON DELETE CASCADE,
    user_id       BIGINT REFERENCES users(id) ON DELETE CASCADE,
    tenant_id     BIGINT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    scopes        TEXT NOT NULL,
    auth_version  BIGINT,
    created_at    BIGINT NOT NULL,
    revoked_at    BIGINT
);
CREATE INDEX token_families_user_app ON token_families(user_id, client_app_id);
CREATE INDEX token_families_app ON token_families(client_app_id);

CREATE TABLE refresh_tokens (
    verifier   TEXT PRIMARY KEY,
    family_id  TEXT NOT NULL REFERENCES token_families(id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT,
    rotated_at BIGINT
);
CREATE INDEX refresh_tokens_family ON refresh_tokens(family_id);

CREATE TABLE auth_codes (
    verifier       TEXT PRIMARY KEY,
    client_app_id  BIGINT NOT NULL REFERENCES client_apps(id) ON DELETE CASCADE,
    user_id        BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    redirect_uri   TEXT,
    scopes         TEXT NOT NULL,
    code_challenge TEXT,
    created_at     BIGINT NOT NULL,
    expires_at     BIGINT NOT NULL,
    used_at        BIGINT,
    family_id      TEXT REFERENCES token_families(id) ON DELETE SET NULL
);

CREATE TABLE revoked_tokens (
    jti        TEXT PRIMARY KEY,
    expires_at BIGINT NOT NULL
);
CREATE INDEX revoked_tokens_expiry ON revoked_tokens(expires_at);
