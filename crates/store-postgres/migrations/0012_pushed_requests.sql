-- Pushed authorization requests (RFC 9126, issue 14): the parameters a client pushed
-- to /oauth2/par, kept until the authorization request takes them (once) or they
-- expire (60 s). Keyed by the verifier of the random part of the request_uri, never
-- the value itself; params is the JSON list of [name, value] pairs. An application
-- may be required to push every authorization request (RFC 9126 §5).
-- Paired with store-sqlite/migrations/0012_pushed_requests.sql.

CREATE TABLE pushed_requests (
    verifier      TEXT PRIMARY KEY,
    client_app_id BIGINT NOT NULL REFERENCES client_apps(id) ON DELETE CASCADE,
    params        TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    expires_at    BIGINT NOT NULL
);
CREATE INDEX pushed_requests_expires_at ON pushed_requests (expires_at);

ALTER TABLE client_apps ADD COLUMN require_pushed_authorization_requests BOOLEAN NOT NULL DEFAULT FALSE;
