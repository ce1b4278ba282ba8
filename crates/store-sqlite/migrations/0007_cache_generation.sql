-- A change counter for the row caches of every node (shared_cache.rs): any change to
-- client applications, tenants or limit values bumps it in the same transaction, and a
-- node that sees it move drops its cached rows.
CREATE TABLE cache_generation (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    n  INTEGER NOT NULL
);
INSERT INTO cache_generation (id, n) VALUES (1, 0);

CREATE TRIGGER client_apps_inserted AFTER INSERT ON client_apps
BEGIN UPDATE cache_generation SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER client_apps_updated AFTER UPDATE ON client_apps
BEGIN UPDATE cache_generation SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER client_apps_deleted AFTER DELETE ON client_apps
BEGIN UPDATE cache_generation SET n = n + 1 WHERE id = 1; END;

CREATE TRIGGER tenants_inserted AFTER INSERT ON tenants
BEGIN UPDATE cache_generation SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER tenants_updated AFTER UPDATE ON tenants
BEGIN UPDATE cache_generation SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER tenants_deleted AFTER DELETE ON tenants
BEGIN UPDATE cache_generation SET n = n + 1 WHERE id = 1; END;

CREATE TRIGGER limit_values_inserted AFTER INSERT ON limit_values
BEGIN UPDATE cache_generation SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER limit_values_updated AFTER UPDATE ON limit_values
BEGIN UPDATE cache_generation SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER limit_values_deleted AFTER DELETE ON limit_values
BEGIN UPDATE cache_generation SET n = n + 1 WHERE id = 1; END;
