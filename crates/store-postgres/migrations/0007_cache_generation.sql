-- A change counter for the row caches of every node (shared_cache.rs): any change to
-- client applications, tenants or limit values bumps it in the same transaction, and a
-- node that sees it move drops its cached rows. The triggers are deferred to commit, so
-- the counter's row is the last lock a transaction takes (no lock-order deadlocks with
-- the rows it changed).
CREATE TABLE cache_generation (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    n  BIGINT NOT NULL
);
INSERT INTO cache_generation (id, n) VALUES (1, 0);

CREATE FUNCTION bump_cache_generation() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE cache_generation SET n = n + 1 WHERE id = 1;
    RETURN NULL;
END
$$;

CREATE CONSTRAINT TRIGGER client_apps_changed AFTER INSERT OR UPDATE OR DELETE ON client_apps
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION bump_cache_generation();
CREATE CONSTRAINT TRIGGER tenants_changed AFTER INSERT OR UPDATE OR DELETE ON tenants
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION bump_cache_generation();
CREATE CONSTRAINT TRIGGER limit_values_changed AFTER INSERT OR UPDATE OR DELETE ON limit_values
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION bump_cache_generation();
