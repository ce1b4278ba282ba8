-- Administration: tenant host names, allowed scopes and administrators; password
-- status and API secrets on users. Paired with store-sqlite/migrations/0002_administration.sql.

ALTER TABLE tenants ADD COLUMN allowed_scopes TEXT NOT NULL DEFAULT '["api.access.odata"]';

CREATE TABLE tenant_hosts (
    host      TEXT PRIMARY KEY,
    tenant_id BIGINT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE
);
CREATE INDEX tenant_hosts_tenant ON tenant_hosts(tenant_id);

CREATE TABLE tenant_admins (
    tenant_id BIGINT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    user_id   BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    PRIMARY KEY (tenant_id, user_id)
);
CREATE INDEX tenant_admins_user ON tenant_admins(user_id);

ALTER TABLE users ADD COLUMN password_status BIGINT NOT NULL DEFAULT 1;
ALTER TABLE users ADD COLUMN password_expiration BIGINT;
ALTER TABLE users ADD COLUMN api_secret_verifier TEXT;
ALTER TABLE users ADD COLUMN api_secret_created_at BIGINT;

CREATE INDEX user_roles_role ON user_roles(role_id);
