-- Signing keys per algorithm (issue 13, OpenID Connect): RS256 keys for ID tokens beside
-- the ES256 keys of access tokens. Each algorithm has its own key life, so at most one
-- key of each algorithm is `active` and one `next`: the partial unique index on
-- (alg, state) replaces 0004's one on state, and makes nodes starting together, and
-- rotations racing each other, agree per algorithm. Existing (ES256) keys stay as they
-- are; the next start creates the RS256 pair.
-- Paired with store-sqlite/migrations/0009_signing_keys_per_alg.sql.

DROP INDEX signing_keys_one_active_one_next;
CREATE UNIQUE INDEX signing_keys_one_active_one_next_per_alg ON signing_keys(alg, state)
    WHERE state IN ('active', 'next');
