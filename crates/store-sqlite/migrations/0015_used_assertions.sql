-- Client assertions already used (private_key_jwt, RFC 7523 §2.2 and §3 item 7;
-- issue 14): each assertion's jti is accepted once per client while the assertion
-- is valid, so a captured assertion cannot be replayed. Rows are kept until the
-- assertion's exp (at most 5 minutes ahead) and purged with expired tokens. The
-- client_id is the presented one (an application's or a metadata document's URL),
-- not a foreign key: metadata-document clients have no row.
-- Paired with store-postgres/migrations/0015_used_assertions.sql.

CREATE TABLE used_assertions (
    client_id  TEXT NOT NULL,
    jti        TEXT NOT NULL,
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (client_id, jti)
);
CREATE INDEX used_assertions_expires_at ON used_assertions (expires_at);
