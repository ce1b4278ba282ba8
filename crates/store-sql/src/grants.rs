//! The combined writes of a grant (`GrantStore`, issue #17): what used to be a
//! transaction per step (consent, family, code) is one transaction, and a revocation by
//! refresh token is one statement. Fewer round trips matter most on SQLite, where
//! writers queue for one lock and each statement is a hand-off to the connection's
//! thread.

use crate::backend::Backend;
use crate::state_cache::StateKey;
use crate::store::{err, execute, json_list, to_json, SqlStore};
use crate::tokens::{insert_family, insert_refresh, revoke_family};
use async_trait::async_trait;
use portcullis_core::model::scope::union_scopes;
use portcullis_core::model::time::UnixTime;
use portcullis_core::model::token::{Family, RefreshToken};
use portcullis_core::store::{GrantStore, StoreError, StoreResult};

/// [`GrantStore::start_user_grant`] where data-modifying CTEs exist (PostgreSQL): one
/// statement. The code's UPDATE locks its row, so a replay either committed before (its
/// `replayed_at` is returned, and the family is inserted revoked as of it) or waits
/// and then finds the family. The foreign keys are checked at the end of the statement,
/// after the family is in. The consent widens to the union of the scopes in SQL,
/// keeping the first-seen order, and is left as it is when it holds them already.
async fn start_in_one_statement<B: Backend>(
    store: &SqlStore<B>,
    f: &Family,
    refresh: Option<&RefreshToken>,
    code: Option<&str>,
    now: UnixTime,
) -> StoreResult<bool> {
    let replayed_at: Option<i64> = sqlx::query_scalar(
        "WITH code AS (\
           UPDATE auth_codes SET family_id = $1 WHERE verifier = $17 RETURNING replayed_at\
         ), fam AS (\
           INSERT INTO token_families (id, client_app_id, user_id, tenant_id, scopes, auth_version, \
             created_at, revoked_at, auth_time, sid, claims, resources, dpop_jkt) \
           VALUES ($1, $2, $3, $4, $5, $6, $7, COALESCE($8, (SELECT replayed_at FROM code)), \
             $9, $10, $11, $12, $13) \
           RETURNING id\
         ), rt AS (\
           INSERT INTO refresh_tokens (verifier, family_id, created_at, expires_at, rotated_at) \
           SELECT $14, id, $15, $16, $20 FROM fam WHERE $14 IS NOT NULL\
         ), consent AS (\
           INSERT INTO consents (user_id, client_app_id, scopes, granted_at, updated_at) \
           VALUES ($3, $2, $18, $19, $19) \
           ON CONFLICT (user_id, client_app_id) DO UPDATE SET updated_at = excluded.updated_at, \
             scopes = CASE WHEN consents.scopes::jsonb @> excluded.scopes::jsonb THEN consents.scopes \
             ELSE (SELECT json_agg(s ORDER BY o)::text FROM (\
               SELECT s, min(o) AS o FROM (\
                 SELECT e.s, e.o FROM jsonb_array_elements_text(consents.scopes::jsonb) \
                   WITH ORDINALITY AS e(s, o) \
                 UNION ALL \
                 SELECT n.s, n.o + 1000000 FROM jsonb_array_elements_text(excluded.scopes::jsonb) \
                   WITH ORDINALITY AS n(s, o)\
               ) AS u GROUP BY s\
             ) AS v) END \
           RETURNING 1\
         ) \
         SELECT (SELECT replayed_at FROM code) AS replayed_at FROM (SELECT count(*) FROM consent) AS c",
    )
    .bind(&f.id)
    .bind(f.client_app_id)
    .bind(f.user_id)
    .bind(f.tenant_id)
    .bind(to_json(&f.scopes))
    .bind(f.auth_version)
    .bind(f.created_at)
    .bind(f.revoked_at)
    .bind(f.sign_in.auth_time)
    .bind(&f.sign_in.sid)
    .bind(&f.sign_in.claims)
    .bind(to_json(&f.resources))
    .bind(&f.dpop_jkt)
    .bind(refresh.map(|r| r.verifier.as_str()))
    .bind(refresh.map(|r| r.created_at))
    .bind(refresh.and_then(|r| r.expires_at))
    .bind(code)
    .bind(to_json(&union_scopes(&[], &f.scopes)))
    .bind(now)
    .bind(refresh.and_then(|r| r.rotated_at))
    .fetch_one(&store.pool)
    .await
    .map_err(err)?;
    Ok(replayed_at.is_some())
}

#[async_trait]
impl<B: Backend> GrantStore for SqlStore<B> {
    /// One transaction: the family and its refresh token, the code's family (whose
    /// `RETURNING` tells of a replay), then the consent, last because its row is the
    /// one every grant of this user and client writes (held the shortest). The consent
    /// is one upsert that returns the scopes consented before; a second statement
    /// widens them only when this grant adds scopes.
    async fn start_user_grant(
        &self,
        f: &Family,
        refresh: Option<&RefreshToken>,
        code: Option<&str>,
        now: UnixTime,
    ) -> StoreResult<bool> {
        let Some(user_id) = f.user_id else {
            return Err(StoreError::Backend("a user's grant without a user".into()));
        };
        if B::WRITING_CTES {
            let replayed = start_in_one_statement(self, f, refresh, code, now).await?;
            if replayed {
                self.state.forget(&StateKey::Family(f.id.clone()));
            }
            return Ok(replayed);
        }
        let mut tx = self.begin_write().await?;
        execute(&mut *tx, insert_family::<B>(f)).await?;
        if let Some(r) = refresh {
            insert_refresh(&mut tx, r).await?;
        }
        // The UPDATE takes the code row's write lock, so a concurrent replay either
        // already set `replayed_at` (seen here) or waits for this commit and then finds
        // the family (as `TokenStore::set_code_family`).
        let mut replayed_at = None;
        if let Some(code) = code {
            let replayed: Option<Option<i64>> = sqlx::query_scalar(
                "UPDATE auth_codes SET family_id = $2 WHERE verifier = $1 RETURNING replayed_at",
            )
            .bind(code)
            .bind(&f.id)
            .fetch_optional(&mut *tx)
            .await
            .map_err(err)?;
            replayed_at = replayed.flatten();
            if let Some(at) = replayed_at {
                execute(&mut *tx, revoke_family::<B>(&f.id, at)).await?;
            }
        }
        let before: String = sqlx::query_scalar(
            "INSERT INTO consents (user_id, client_app_id, scopes, granted_at, updated_at) \
             VALUES ($1, $2, $3, $4, $4) \
             ON CONFLICT (user_id, client_app_id) DO UPDATE SET updated_at = excluded.updated_at \
             RETURNING scopes",
        )
        .bind(user_id)
        .bind(f.client_app_id)
        .bind(to_json(&union_scopes(&[], &f.scopes)))
        .bind(now)
        .fetch_one(&mut *tx)
        .await
        .map_err(err)?;
        let before = json_list(&before, "scopes").map_err(err)?;
        let after = union_scopes(&before, &f.scopes);
        if after != before {
            execute(
                &mut *tx,
                sqlx::query(
                    "UPDATE consents SET scopes = $3 WHERE user_id = $1 AND client_app_id = $2",
                )
                .bind(user_id)
                .bind(f.client_app_id)
                .bind(to_json(&after)),
            )
            .await?;
        }
        tx.commit().await.map_err(err)?;
        if replayed_at.is_some() {
            self.state.forget(&StateKey::Family(f.id.clone()));
        }
        Ok(replayed_at.is_some())
    }

    /// One UPDATE, outside any explicit transaction: it finds the family through the
    /// token, checks the client and revokes, atomically by itself.
    async fn revoke_refresh_family(
        &self,
        verifier: &str,
        client_app_id: i64,
        now: UnixTime,
    ) -> StoreResult<Option<(String, Option<i64>)>> {
        let mut w = self.begin_single().await?;
        let revoked: Option<(String, Option<i64>)> = sqlx::query_as(
            "UPDATE token_families SET revoked_at = $3 \
             WHERE id = (SELECT family_id FROM refresh_tokens WHERE verifier = $1) \
             AND client_app_id = $2 AND revoked_at IS NULL RETURNING id, user_id",
        )
        .bind(verifier)
        .bind(client_app_id)
        .bind(now)
        .fetch_optional(&mut *w)
        .await
        .map_err(err)?;
        w.commit().await.map_err(err)?;
        if let Some((family, _)) = &revoked {
            self.state.forget(&StateKey::Family(family.clone()));
        }
        Ok(revoked)
    }
}
