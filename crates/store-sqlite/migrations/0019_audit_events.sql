-- The audit trail (issue 16 item 2): one row per security event — sign-ins, lockouts,
-- tokens issued, refused and revoked, consents, client, user, tenant, role and limit
-- changes, API secrets, the vault, key rotation. Who acted (actor, actor_user_id),
-- on what (subject, subject_user_id), through which client, from where (source
-- address, user agent), how it ended (outcome, reason). Never a secret, password,
-- token or code. No foreign keys: the record outlives what it names. Rows older than
-- the tenant's AuditEventRetentionDays (limit 1005) are deleted by a background task.
-- Indexes: the tenant's newest first (the cursor is the id), and per type, user and
-- client within the tenant; retention deletes by (tenant_id, at).
-- Paired with store-postgres/migrations/0019_audit_events.sql.

CREATE TABLE audit_events (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    at              INTEGER NOT NULL,
    event_type      TEXT NOT NULL,
    tenant_id       INTEGER NOT NULL,
    actor           TEXT NOT NULL,
    actor_user_id   INTEGER,
    client_id       TEXT,
    subject         TEXT,
    subject_user_id INTEGER,
    source          TEXT,
    user_agent      TEXT,
    outcome         TEXT NOT NULL,
    reason          TEXT
);
CREATE INDEX audit_events_tenant ON audit_events (tenant_id, id);
CREATE INDEX audit_events_tenant_type ON audit_events (tenant_id, event_type, id);
CREATE INDEX audit_events_tenant_actor ON audit_events (tenant_id, actor_user_id, id);
CREATE INDEX audit_events_tenant_subject ON audit_events (tenant_id, subject_user_id, id);
CREATE INDEX audit_events_tenant_client ON audit_events (tenant_id, client_id, id);
CREATE INDEX audit_events_tenant_at ON audit_events (tenant_id, at);
CREATE INDEX vault_retrievals_tenant_at ON vault_retrievals (tenant_id, at);
