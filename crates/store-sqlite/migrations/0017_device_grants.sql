-- Device authorization requests (RFC 8628, issue 15): one row per
-- /oauth2/device_authorization request, keyed by the keyed verifier of its device
-- code and found by the keyed verifier of its user code (never the codes). status is
-- pending, approved (with the user, auth_time and sid of the approval), denied or
-- used; interval grows by 5 s on each too-early poll. Expired rows go with the
-- expiry sweep.
-- Paired with store-postgres/migrations/0017_device_grants.sql.

CREATE TABLE device_grants (
    device_verifier TEXT PRIMARY KEY,
    user_verifier   TEXT NOT NULL UNIQUE,
    client_app_id   INTEGER NOT NULL REFERENCES client_apps(id) ON DELETE CASCADE,
    scopes          TEXT NOT NULL,
    resources       TEXT NOT NULL,
    interval_secs   INTEGER NOT NULL,
    last_poll_at    INTEGER,
    created_at      INTEGER NOT NULL,
    expires_at      INTEGER NOT NULL,
    status          TEXT NOT NULL,
    user_id         INTEGER REFERENCES users(id) ON DELETE CASCADE,
    auth_time       INTEGER,
    sid             TEXT
);
CREATE INDEX device_grants_expires_at ON device_grants (expires_at);
