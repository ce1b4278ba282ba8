-- Token state in memory (issue #17 item 3, store-sql/src/state_cache.rs and
-- store-postgres/src/listener.rs): every node keeps revocations, families, users and
-- the row cache (clients, tenants, limits) in memory, and these triggers tell every
-- node what changed. NOTIFY is delivered at commit, so a node never hears of a change
-- that rolls back. The payload is `table:key` (a users id, a family id, a revoked jti;
-- no key for the row-cache tables), so a node drops only that entry. (The name pairs
-- with SQLite's 0020, which counts changes for the one-process case instead.)
--
-- The same `state_generation` table exists here so both schemas hold the same tables
-- (`portcullis copy` requires it), but no trigger bumps it: on PostgreSQL a counter
-- row would serialise every revocation of every node, and the listener makes it
-- unnecessary.
CREATE TABLE state_generation (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    n  BIGINT NOT NULL
);
INSERT INTO state_generation (id, n) VALUES (1, 0);

CREATE FUNCTION notify_cache_change() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    r record;
BEGIN
    IF TG_ARGV[0] IS NULL THEN
        PERFORM pg_notify('portcullis_cache', TG_TABLE_NAME || ':');
        RETURN NULL;
    END IF;
    IF TG_OP = 'DELETE' THEN r := OLD; ELSE r := NEW; END IF;
    PERFORM pg_notify('portcullis_cache', TG_TABLE_NAME || ':' || (to_jsonb(r) ->> TG_ARGV[0]));
    RETURN NULL;
END
$$;

CREATE TRIGGER users_notify AFTER UPDATE OR DELETE ON users
    FOR EACH ROW EXECUTE FUNCTION notify_cache_change('id');
CREATE TRIGGER token_families_notify_revoked AFTER UPDATE OF revoked_at ON token_families
    FOR EACH ROW WHEN (OLD.revoked_at IS DISTINCT FROM NEW.revoked_at)
    EXECUTE FUNCTION notify_cache_change('id');
CREATE TRIGGER token_families_notify_deleted AFTER DELETE ON token_families
    FOR EACH ROW EXECUTE FUNCTION notify_cache_change('id');
CREATE TRIGGER revoked_tokens_notify AFTER INSERT OR DELETE ON revoked_tokens
    FOR EACH ROW EXECUTE FUNCTION notify_cache_change('jti');

CREATE TRIGGER client_apps_notify AFTER INSERT OR UPDATE OR DELETE ON client_apps
    FOR EACH STATEMENT EXECUTE FUNCTION notify_cache_change();
CREATE TRIGGER tenants_notify AFTER INSERT OR UPDATE OR DELETE ON tenants
    FOR EACH STATEMENT EXECUTE FUNCTION notify_cache_change();
CREATE TRIGGER limit_values_notify AFTER INSERT OR UPDATE OR DELETE ON limit_values
    FOR EACH STATEMENT EXECUTE FUNCTION notify_cache_change();
