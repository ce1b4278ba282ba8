-- Tenant names are unique ignoring case (issue 11): the management API checked it in
-- code only, so two concurrent creates of `Acme` and `ACME` could both succeed. This
-- index makes the second a unique violation (a 409 with HDP's conflict code).
-- lower() folds ASCII letters on SQLite (and per the database's collation on
-- PostgreSQL); the API's own check before the write folds every Unicode letter.
CREATE UNIQUE INDEX tenants_name_lower ON tenants (lower(name));
