-- Token state in memory (issue #17 item 3, store-sql/src/state_cache.rs): a change
-- counter apart from cache_generation (0007), so a revocation does not drop the row
-- cache of clients. Any change to users, to a family's revocation or deletion, or to
-- revoked access tokens bumps it in the same transaction; a server that sees it move
-- (admin commands write from another process) drops its token state.
CREATE TABLE state_generation (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    n  INTEGER NOT NULL
);
INSERT INTO state_generation (id, n) VALUES (1, 0);

CREATE TRIGGER users_state_updated AFTER UPDATE ON users
BEGIN UPDATE state_generation SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER users_state_deleted AFTER DELETE ON users
BEGIN UPDATE state_generation SET n = n + 1 WHERE id = 1; END;

CREATE TRIGGER token_families_state_revoked AFTER UPDATE OF revoked_at ON token_families
BEGIN UPDATE state_generation SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER token_families_state_deleted AFTER DELETE ON token_families
BEGIN UPDATE state_generation SET n = n + 1 WHERE id = 1; END;

CREATE TRIGGER revoked_tokens_state_inserted AFTER INSERT ON revoked_tokens
BEGIN UPDATE state_generation SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER revoked_tokens_state_deleted AFTER DELETE ON revoked_tokens
BEGIN UPDATE state_generation SET n = n + 1 WHERE id = 1; END;
