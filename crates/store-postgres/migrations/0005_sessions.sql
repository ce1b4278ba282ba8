-- The authorization endpoint (issue 5): browser sign-in sessions, stored only as the
-- keyed verifier of their id, and the moment a spent authorization code was replayed
-- (so a replay that races the code's exchange still revokes what it issued).
-- Paired with store-sqlite/migrations/0005_sessions.sql.

CREATE TABLE sessions (
    verifier     TEXT PRIMARY KEY,
    user_id      BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    auth_version BIGINT NOT NULL,
    created_at   BIGINT NOT NULL,
    idle_until   BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL
);
CREATE INDEX sessions_user ON sessions(user_id);
CREATE INDEX sessions_idle ON sessions(idle_until);

ALTER TABLE auth_codes ADD COLUMN replayed_at BIGINT;
