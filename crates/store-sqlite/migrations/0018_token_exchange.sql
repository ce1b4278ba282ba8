-- Token exchange (RFC 8693; issue 15 item 3).
-- * client_apps.token_exchange_policy: what a client allowed the token-exchange grant
--   may do, set by administrators: 'delegation' (every exchange names an actor; the
--   issued token carries act) or 'impersonation' (an exchange may also go without one).
-- * vault_retrievals: every retrieval of a user's upstream token from the vault by
--   token exchange: who, through which client, which profile, when, and how it ended.
--   Never a token value. No foreign keys: the record outlives the client, the profile
--   and the user it names.
-- Paired with store-postgres/migrations/0018_token_exchange.sql.

ALTER TABLE client_apps ADD COLUMN token_exchange_policy TEXT NOT NULL DEFAULT 'delegation';

CREATE TABLE vault_retrievals (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id        INTEGER NOT NULL,
    user_id          INTEGER NOT NULL,
    client_app_id    INTEGER NOT NULL,
    oauth_profile_id INTEGER NOT NULL,
    at               INTEGER NOT NULL,
    outcome          TEXT NOT NULL
);
CREATE INDEX vault_retrievals_profile ON vault_retrievals (oauth_profile_id, at);
