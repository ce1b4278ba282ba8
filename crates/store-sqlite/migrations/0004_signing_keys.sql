-- Signing keys of JWT access tokens (ES256). The private key is PKCS#8 sealed under the
-- master key (AES-256-GCM, bound to its kid); the public key is the JWK as published.
-- At most one key is `active` and one `next`: the partial unique index makes nodes
-- starting together, and rotations racing each other, agree.
-- Paired with store-postgres/migrations/0004_signing_keys.sql.

CREATE TABLE signing_keys (
    kid            TEXT PRIMARY KEY,
    alg            TEXT NOT NULL,
    private_sealed TEXT NOT NULL,
    public_jwk     TEXT NOT NULL,
    state          TEXT NOT NULL CHECK (state IN ('next', 'active', 'retiring')),
    created_at     INTEGER NOT NULL,
    activated_at   INTEGER,
    retire_at      INTEGER
);
CREATE UNIQUE INDEX signing_keys_one_active_one_next ON signing_keys(state)
    WHERE state IN ('active', 'next');
