//! [`SealedStore`] for the in-memory store.

use super::MemoryStore;
use crate::store::{SealedColumn, SealedStore, SealedValue, StoreResult};
use async_trait::async_trait;

#[async_trait]
impl SealedStore for MemoryStore {
    async fn sealed_values(&self, column: SealedColumn) -> StoreResult<Vec<SealedValue>> {
        self.with(|s| {
            Ok(match column {
                SealedColumn::ServerSecret => s
                    .secrets
                    .iter()
                    .map(|(name, sealed)| SealedValue {
                        bound_to: name.clone(),
                        sealed: sealed.clone(),
                    })
                    .collect(),
                SealedColumn::SigningKey => s
                    .signing_keys
                    .values()
                    .map(|k| SealedValue {
                        bound_to: k.kid.clone(),
                        sealed: k.private_sealed.clone(),
                    })
                    .collect(),
                _ => s.vault.sealed(column),
            })
        })
    }

    async fn replace_sealed(
        &self,
        column: SealedColumn,
        old: &str,
        new: &str,
    ) -> StoreResult<bool> {
        self.with(|s| {
            let cell = match column {
                SealedColumn::ServerSecret => s.secrets.values_mut().find(|v| v.as_str() == old),
                SealedColumn::SigningKey => s
                    .signing_keys
                    .values_mut()
                    .map(|k| &mut k.private_sealed)
                    .find(|v| v.as_str() == old),
                _ => s.vault.sealed_cell(column, old),
            };
            Ok(cell.map(|c| *c = new.to_owned()).is_some())
        })
    }
}
