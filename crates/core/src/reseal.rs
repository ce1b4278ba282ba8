//! Re-sealing every stored secret under the primary master key (`portcullis master-key
//! reseal`), the second half of a master-key rotation: once every value is sealed by the
//! new key, the old one can leave `previous_master_keys`.
//!
//! Each value is opened with whichever configured key sealed it and sealed again for the
//! same purpose, then swapped in only where the column still holds the old text. A value
//! changed meanwhile by a running server is left alone (the server sealed it with its
//! own primary key) and looked at again in the next pass. There is no transaction across
//! values, and none is needed: every value opens before and after its swap, with the old
//! and the new key both configured, so a crash half-way leaves a consistent database and
//! running the command again finishes the work.

use crate::crypto::seal::{Keyring, SealError};
use crate::model::signing_key::sealing_purpose;
use crate::store::{SealedColumn, Store, StoreError};

/// What one column held and what was done.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ColumnReport {
    /// Values found sealed by another key and now sealed by the primary one.
    pub resealed: u64,
    /// Values already sealed by the primary key.
    pub current: u64,
}

/// The outcome of a re-seal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resealed {
    /// The primary master key's id, which now seals every value.
    pub key_id: String,
    pub columns: Vec<(SealedColumn, ColumnReport)>,
}

/// Why re-sealing stopped. Values re-sealed before the stop stay re-sealed (each one
/// opens with the new key); running it again goes on.
#[derive(Debug, thiserror::Error)]
pub enum ResealError {
    #[error("{0}")]
    Store(#[from] StoreError),
    #[error("a value in {column} does not open with the configured master keys ({source}); configure the key that sealed it in previous_master_keys")]
    Open {
        column: &'static str,
        source: SealError,
    },
    #[error("values in {0} kept changing while being re-sealed; run the command again")]
    Busy(&'static str),
}

/// The purpose a value of `column` bound to `bound_to` was sealed for.
fn purpose(column: SealedColumn, bound_to: &str) -> String {
    use crate::model::vault::purpose as vault;
    match column {
        SealedColumn::ServerSecret => bound_to.to_owned(),
        SealedColumn::SigningKey => sealing_purpose(bound_to),
        SealedColumn::OAuthAppSecret => crate::vault::apps::secret_purpose(bound_to),
        SealedColumn::ProfileAccessToken => vault("oauthprofile", bound_to, "access_token"),
        SealedColumn::ProfileRefreshToken => vault("oauthprofile", bound_to, "refresh_token"),
        SealedColumn::ConnectVerifier => crate::vault::connect::verifier_purpose(bound_to),
    }
}

/// The id of the master key that sealed `sealed` (`mk1.<key id>.…`).
fn sealed_by(sealed: &str) -> Option<&str> {
    let mut parts = sealed.splitn(3, '.');
    match (parts.next(), parts.next()) {
        (Some("mk1"), Some(id)) => Some(id),
        _ => None,
    }
}

/// How many stored sealed values each master key sealed, by key id (`unreadable` for
/// a value that names none).
pub async fn sealed_by_key(
    store: &dyn Store,
) -> Result<std::collections::BTreeMap<String, u64>, StoreError> {
    let mut counts = std::collections::BTreeMap::new();
    for column in SealedColumn::ALL {
        for v in store.sealed_values(column).await? {
            let id = sealed_by(&v.sealed).unwrap_or("unreadable").to_owned();
            *counts.entry(id).or_insert(0) += 1;
        }
    }
    Ok(counts)
}

/// Passes over one column before giving up on values that keep changing.
const PASSES: usize = 3;

/// Re-seals every value not sealed by the primary key of `keyring`.
pub async fn reseal(store: &dyn Store, keyring: &Keyring) -> Result<Resealed, ResealError> {
    let key_id = keyring.primary_id().to_owned();
    let mut columns = Vec::new();
    for column in SealedColumn::ALL {
        let mut report = ColumnReport::default();
        let mut settled = false;
        for _ in 0..PASSES {
            let mut raced = false;
            report.current = 0;
            for v in store.sealed_values(column).await? {
                if sealed_by(&v.sealed) == Some(key_id.as_str()) {
                    report.current += 1;
                    continue;
                }
                let purpose = purpose(column, &v.bound_to);
                let open = |e| ResealError::Open {
                    column: column.name(),
                    source: e,
                };
                let plain = keyring.open(&v.sealed, &purpose).map_err(open)?;
                let fresh = keyring.seal(&plain, &purpose).map_err(open)?;
                if store.replace_sealed(column, &v.sealed, &fresh).await? {
                    report.resealed += 1;
                    report.current += 1;
                } else {
                    raced = true;
                }
            }
            if !raced {
                settled = true;
                break;
            }
        }
        if !settled {
            return Err(ResealError::Busy(column.name()));
        }
        columns.push((column, report));
    }
    Ok(Resealed { key_id, columns })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::seal::MasterKey;
    use crate::model::signing_key::{KeyState, StoredKey};
    use crate::store::{KeyStore, SealedStore, SetupStore};
    use crate::testing::memory::MemoryStore;

    fn key(byte: u8) -> MasterKey {
        MasterKey::from_bytes([byte; 32])
    }

    #[tokio::test]
    async fn every_value_moves_to_the_primary_key_and_still_opens() {
        let store = MemoryStore::default();
        let old = Keyring::new(key(1), vec![]);
        let pepper = old.seal(b"pepper", "verifier-pepper").expect("seal");
        store
            .init_server_secret("verifier-pepper", &pepper, 0)
            .await
            .expect("secret");
        let private = old.seal(b"pkcs8", &sealing_purpose("k1")).expect("seal");
        store
            .insert_signing_key(&StoredKey {
                kid: "k1".into(),
                alg: "ES256".into(),
                private_sealed: private,
                public_jwk: "{}".into(),
                state: KeyState::Active,
                created_at: 0,
                activated_at: Some(0),
                retire_at: None,
            })
            .await
            .expect("key");

        let ring = Keyring::new(key(2), vec![key(1)]);
        let first = reseal(&store, &ring).await.expect("reseal");
        assert_eq!(first.key_id, key(2).id());
        let count = |r: &Resealed, c: SealedColumn| {
            r.columns
                .iter()
                .find(|(col, _)| *col == c)
                .map(|(_, rep)| rep.clone())
                .expect("column")
        };
        assert_eq!(count(&first, SealedColumn::ServerSecret).resealed, 1);
        assert_eq!(count(&first, SealedColumn::SigningKey).resealed, 1);

        // The new key alone opens everything now, for the same purposes.
        let new_only = Keyring::new(key(2), vec![]);
        let secret = store
            .server_secret("verifier-pepper")
            .await
            .expect("read")
            .expect("there");
        assert_eq!(
            new_only.open(&secret, "verifier-pepper").expect("opens"),
            b"pepper"
        );
        let keys = store
            .sealed_values(SealedColumn::SigningKey)
            .await
            .expect("keys");
        assert_eq!(
            new_only
                .open(&keys[0].sealed, &sealing_purpose("k1"))
                .expect("opens"),
            b"pkcs8"
        );

        // Again: nothing left to do.
        let second = reseal(&store, &ring).await.expect("reseal");
        assert!(second.columns.iter().all(|(_, r)| r.resealed == 0));
        assert_eq!(count(&second, SealedColumn::SigningKey).current, 1);

        // A value sealed by a key that is not configured stops it, naming the column.
        let lost = Keyring::new(key(3), vec![]);
        let e = reseal(&store, &lost).await.expect_err("unknown key");
        assert!(e.to_string().contains("server_secrets.value"), "{e}");
    }
}
