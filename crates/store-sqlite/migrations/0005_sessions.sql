-- The authorization endpoint (issue 5): browser sign-in sessions, stored only as the
-- keyed verifier of their id, and the moment a spent authorization code was replayed
-- (so a replay that races the code's exchange still revokes what it issued).
-- Paired with store-postgres/migrations/0005_sessions.sql.

CREATE TABLE sessions (
    verifier     TEXT PRIMARY KEY,
    user_id      INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    auth_version INTEGER NOT NULL,
    created_at   INTEGER NOT NULL,
    idle_until   INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL
);
CREATE INDEX sessions_user ON sessions(user_id);
CREATE INDEX sessions_idle ON sessions(idle_until);

ALTER TABLE auth_codes ADD COLUMN replayed_at INTEGER;
