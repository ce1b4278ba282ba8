//! The token service's SQL (`TokenStore`): token families, refresh tokens,
//! authorization codes, pushed authorization requests and revoked access tokens. Single-use operations open their
//! transaction with the write that decides the race: an UPDATE guarded by `… IS NULL`
//! that exactly one caller can win.

use crate::backend::Backend;
use crate::backend::RowsAffected as _;
use crate::state_cache::StateKey;
use crate::store::{
    err, execute, exists, fetch_optional, from_row, json_list, to_json, Query, SqlStore,
};
use crate::users::{user_row, USER_COLS};
use async_trait::async_trait;
use portcullis_core::model::time::UnixTime;
use portcullis_core::model::token::TokenState;
use portcullis_core::model::token::{
    AuthCode, CodeTake, Family, PushedRequest, RefreshToken, Rotation, SignInContext,
};
use portcullis_core::store::{StoreResult, TokenStore};
use sqlx::Row;

const FAMILY_COLS: &str = "id, client_app_id, user_id, tenant_id, scopes, auth_version, \
    created_at, revoked_at, auth_time, sid, claims, resources, dpop_jkt";
const CODE_COLS: &str =
    "verifier, client_app_id, user_id, redirect_uri, scopes, code_challenge, created_at, \
    expires_at, used_at, family_id, auth_time, nonce, sid, claims, resources, dpop_jkt";

/// The sign-in columns of a row; `nonce` only where the table has it.
fn sign_in_row<B: Backend>(r: &B::Row, nonce: bool) -> Result<SignInContext, sqlx::Error> {
    Ok(SignInContext {
        auth_time: r.try_get("auth_time")?,
        nonce: if nonce { r.try_get("nonce")? } else { None },
        sid: r.try_get("sid")?,
        claims: r.try_get("claims")?,
    })
}

fn family_row<B: Backend>(r: &B::Row) -> Result<Family, sqlx::Error> {
    from_row!(r => Family {
        id, client_app_id, user_id, tenant_id, auth_version, created_at, revoked_at, dpop_jkt;
        scopes: json_list(r.try_get("scopes")?, "scopes")?,
        sign_in: sign_in_row::<B>(r, false)?,
        resources: json_list(r.try_get("resources")?, "resources")?,
    })
}

fn code_row<B: Backend>(r: &B::Row) -> Result<AuthCode, sqlx::Error> {
    from_row!(r => AuthCode {
        verifier, client_app_id, user_id, redirect_uri, code_challenge, created_at,
        expires_at, used_at, family_id, dpop_jkt;
        scopes: json_list(r.try_get("scopes")?, "scopes")?,
        sign_in: sign_in_row::<B>(r, true)?,
        resources: json_list(r.try_get("resources")?, "resources")?,
    })
}

fn pushed_row<B: Backend>(r: &B::Row) -> Result<PushedRequest, sqlx::Error> {
    from_row!(r => PushedRequest { verifier, client_app_id, params, created_at, expires_at })
}

/// Inserts the family `f`.
pub(crate) fn insert_family<B: Backend>(f: &Family) -> Query<'_, B> {
    sqlx::query(
        "INSERT INTO token_families (id, client_app_id, user_id, tenant_id, scopes, auth_version, created_at, \
         revoked_at, auth_time, sid, claims, resources, dpop_jkt) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
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
}

pub(crate) async fn insert_refresh<B: Backend>(
    tx: &mut crate::write::WriteTx<B>,
    t: &RefreshToken,
) -> StoreResult<()> {
    execute(
        &mut **tx,
        sqlx::query(
            "INSERT INTO refresh_tokens (verifier, family_id, created_at, expires_at, rotated_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&t.verifier)
        .bind(&t.family_id)
        .bind(t.created_at)
        .bind(t.expires_at)
        .bind(t.rotated_at),
    )
    .await
    .map(|_| ())
}

/// Revokes the family `id` as of `at`, unless it already is.
pub(crate) fn revoke_family<B: Backend>(id: &str, at: UnixTime) -> Query<'_, B> {
    sqlx::query("UPDATE token_families SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL")
        .bind(id)
        .bind(at)
}

#[async_trait]
impl<B: Backend> TokenStore for SqlStore<B> {
    async fn create_family(&self, f: &Family, refresh: Option<&RefreshToken>) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        execute(&mut *tx, insert_family::<B>(f)).await?;
        if let Some(r) = refresh {
            insert_refresh(&mut tx, r).await?;
        }
        tx.commit().await.map_err(err)
    }

    async fn family(&self, id: &str) -> StoreResult<Option<Family>> {
        let sql = format!("SELECT {FAMILY_COLS} FROM token_families WHERE id = $1");
        fetch_optional(&self.pool, sqlx::query(&sql).bind(id), family_row::<B>).await
    }

    async fn refresh_token(&self, verifier: &str) -> StoreResult<Option<(RefreshToken, Family)>> {
        let row = sqlx::query(
            "SELECT r.verifier, r.family_id, r.created_at AS r_created_at, r.expires_at, r.rotated_at, \
             f.id, f.client_app_id, f.user_id, f.tenant_id, f.scopes, f.auth_version, f.created_at, f.revoked_at, \
             f.auth_time, f.sid, f.claims, f.resources, f.dpop_jkt \
             FROM refresh_tokens r JOIN token_families f ON f.id = r.family_id WHERE r.verifier = $1",
        )
        .bind(verifier)
        .fetch_optional(&self.pool)
        .await
        .map_err(err)?;
        let Some(row) = row else { return Ok(None) };
        let token = RefreshToken {
            verifier: row.try_get("verifier").map_err(err)?,
            family_id: row.try_get("family_id").map_err(err)?,
            created_at: row.try_get("r_created_at").map_err(err)?,
            expires_at: row.try_get("expires_at").map_err(err)?,
            rotated_at: row.try_get("rotated_at").map_err(err)?,
        };
        Ok(Some((token, family_row::<B>(&row).map_err(err)?)))
    }

    async fn rotate_refresh_token(
        &self,
        verifier: &str,
        successor: &RefreshToken,
        now: UnixTime,
    ) -> StoreResult<Rotation> {
        let mut tx = if B::WRITING_CTES {
            // PostgreSQL: the spend and the successor in one statement, atomic by
            // itself; only a loser (reuse, or an unknown token) opens a transaction.
            let spent = execute(
                &self.pool,
                sqlx::query(
                    "WITH spent AS (UPDATE refresh_tokens SET rotated_at = $2 \
                     WHERE verifier = $1 AND rotated_at IS NULL RETURNING family_id) \
                     INSERT INTO refresh_tokens (verifier, family_id, created_at, expires_at, rotated_at) \
                     SELECT $3, $4, $5, $6, $7 FROM spent",
                )
                .bind(verifier)
                .bind(now)
                .bind(&successor.verifier)
                .bind(&successor.family_id)
                .bind(successor.created_at)
                .bind(successor.expires_at)
                .bind(successor.rotated_at),
            )
            .await?;
            if spent == 1 {
                return Ok(Rotation::Rotated);
            }
            self.begin_write().await?
        } else {
            // SQLite: both statements in one text, one hand-off to the connection's
            // thread inside the transaction; the INSERT runs only when the UPDATE
            // spent the token (`changes()` is the UPDATE's count), so a win changes
            // two rows and a loss none.
            let mut tx = self.begin_write().await?;
            let changed = execute(
                &mut *tx,
                sqlx::query(
                    "UPDATE refresh_tokens SET rotated_at = $2 WHERE verifier = $1 AND rotated_at IS NULL; \
                     INSERT INTO refresh_tokens (verifier, family_id, created_at, expires_at, rotated_at) \
                     SELECT $3, $4, $5, $6, $7 WHERE changes() = 1",
                )
                .bind(verifier)
                .bind(now)
                .bind(&successor.verifier)
                .bind(&successor.family_id)
                .bind(successor.created_at)
                .bind(successor.expires_at)
                .bind(successor.rotated_at),
            )
            .await?;
            if changed == 2 {
                tx.commit().await.map_err(err)?;
                return Ok(Rotation::Rotated);
            }
            tx
        };
        let family: Option<String> =
            sqlx::query_scalar("SELECT family_id FROM refresh_tokens WHERE verifier = $1")
                .bind(verifier)
                .fetch_optional(&mut *tx)
                .await
                .map_err(err)?;
        let Some(family_id) = family else {
            return Ok(Rotation::Unknown);
        };
        execute(&mut *tx, revoke_family::<B>(&family_id, now)).await?;
        tx.commit().await.map_err(err)?;
        self.state.forget(&StateKey::Family(family_id.clone()));
        Ok(Rotation::Reused { family_id })
    }

    async fn revoke_family(&self, id: &str, now: UnixTime) -> StoreResult<bool> {
        let _forget = self.state.forget_on_drop(StateKey::Family(id.to_owned()));
        self.write_one(revoke_family::<B>(id, now)).await
    }

    async fn insert_auth_code(&self, c: &AuthCode) -> StoreResult<()> {
        let sql = format!(
            "INSERT INTO auth_codes ({CODE_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)"
        );
        self.write(
            sqlx::query(&sql)
                .bind(&c.verifier)
                .bind(c.client_app_id)
                .bind(c.user_id)
                .bind(&c.redirect_uri)
                .bind(to_json(&c.scopes))
                .bind(&c.code_challenge)
                .bind(c.created_at)
                .bind(c.expires_at)
                .bind(c.used_at)
                .bind(&c.family_id)
                .bind(c.sign_in.auth_time)
                .bind(&c.sign_in.nonce)
                .bind(&c.sign_in.sid)
                .bind(&c.sign_in.claims)
                .bind(to_json(&c.resources))
                .bind(&c.dpop_jkt),
        )
        .await
        .map(|_| ())
    }

    async fn take_auth_code(&self, verifier: &str, now: UnixTime) -> StoreResult<CodeTake> {
        // The take is one statement, atomic by itself: no transaction around it (one
        // round trip instead of three). Only a replay opens one.
        let sql = format!("UPDATE auth_codes SET used_at = $2 WHERE verifier = $1 AND used_at IS NULL RETURNING {CODE_COLS}");
        let q = sqlx::query(&sql).bind(verifier).bind(now);
        if let Some(code) = self.write_fetch_optional(q, code_row::<B>).await? {
            return Ok(CodeTake::Taken(code));
        }
        let mut tx = self.begin_write().await?;
        // A replay. Marking it is a write, which waits for a concurrent
        // `set_code_family` and then sees the family it recorded; one that comes later
        // sees the mark instead.
        let sql = format!(
            "UPDATE auth_codes SET replayed_at = COALESCE(replayed_at, $2) WHERE verifier = $1 \
             RETURNING {CODE_COLS}"
        );
        let Some(row) = sqlx::query(&sql)
            .bind(verifier)
            .bind(now)
            .fetch_optional(&mut *tx)
            .await
            .map_err(err)?
        else {
            return Ok(CodeTake::Unknown);
        };
        let code = code_row::<B>(&row).map_err(err)?;
        if let Some(f) = &code.family_id {
            execute(&mut *tx, revoke_family::<B>(f, now)).await?;
        }
        tx.commit().await.map_err(err)?;
        if let Some(f) = &code.family_id {
            self.state.forget(&StateKey::Family(f.clone()));
        }
        Ok(CodeTake::Replayed(code))
    }

    async fn set_code_family(&self, verifier: &str, family_id: &str) -> StoreResult<bool> {
        // The UPDATE takes the row's write lock first, so a concurrent replay either
        // already set `replayed_at` (seen here) or runs after and finds `family_id`.
        let mut tx = self.begin_write().await?;
        let replayed: Option<Option<i64>> = sqlx::query_scalar(
            "UPDATE auth_codes SET family_id = $2 WHERE verifier = $1 RETURNING replayed_at",
        )
        .bind(verifier)
        .bind(family_id)
        .fetch_optional(&mut *tx)
        .await
        .map_err(err)?;
        let replayed_at = replayed.flatten();
        if let Some(at) = replayed_at {
            execute(&mut *tx, revoke_family::<B>(family_id, at)).await?;
        }
        tx.commit().await.map_err(err)?;
        if replayed_at.is_some() {
            self.state.forget(&StateKey::Family(family_id.to_owned()));
        }
        Ok(replayed_at.is_some())
    }

    async fn insert_pushed_request(&self, p: &PushedRequest) -> StoreResult<()> {
        self.write(
            sqlx::query(
                "INSERT INTO pushed_requests (verifier, client_app_id, params, created_at, expires_at) \
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(&p.verifier)
            .bind(p.client_app_id)
            .bind(&p.params)
            .bind(p.created_at)
            .bind(p.expires_at),
        )
        .await
        .map(|_| ())
    }

    /// One DELETE … RETURNING: the row goes with the first take.
    async fn take_pushed_request(
        &self,
        verifier: &str,
        client_app_id: i64,
        now: UnixTime,
    ) -> StoreResult<Option<PushedRequest>> {
        let q = sqlx::query(
            "DELETE FROM pushed_requests WHERE verifier = $1 AND client_app_id = $2 AND expires_at > $3 \
             RETURNING verifier, client_app_id, params, created_at, expires_at",
        )
        .bind(verifier)
        .bind(client_app_id)
        .bind(now);
        self.write_fetch_optional(q, pushed_row::<B>).await
    }

    async fn revoke_jti(&self, jti: &str, expires_at: UnixTime) -> StoreResult<()> {
        let _forget = self.state.forget_on_drop(StateKey::Jti(jti.to_owned()));
        self.write(
            sqlx::query(
                "INSERT INTO revoked_tokens (jti, expires_at) VALUES ($1, $2) ON CONFLICT (jti) DO NOTHING",
            )
            .bind(jti)
            .bind(expires_at),
        )
        .await.map(|_| ())
    }

    async fn is_jti_revoked(&self, jti: &str) -> StoreResult<bool> {
        let q = sqlx::query("SELECT expires_at FROM revoked_tokens WHERE jti = $1").bind(jti);
        exists(&self.pool, q).await
    }

    async fn purge_expired(&self, now: UnixTime) -> StoreResult<u64> {
        let mut tx = self.begin_write().await?;
        let mut n = 0;
        for sql in [
            "DELETE FROM auth_codes WHERE expires_at <= $1",
            "DELETE FROM pushed_requests WHERE expires_at <= $1",
            "DELETE FROM refresh_tokens WHERE expires_at IS NOT NULL AND expires_at <= $1",
            "DELETE FROM revoked_tokens WHERE expires_at <= $1",
            "DELETE FROM device_grants WHERE expires_at <= $1",
        ] {
            n += sqlx::query(sql)
                .bind(now)
                .execute(&mut *tx)
                .await
                .map_err(err)?
                .rows_affected();
        }
        tx.commit().await.map_err(err)?;
        Ok(n)
    }

    /// From memory when this process holds every part of the answer
    /// ([`crate::state_cache`]); else revocations, the family and the user in one
    /// statement, kept for the next call.
    async fn token_state(
        &self,
        jti: &str,
        family: Option<&str>,
        user_id: Option<i64>,
    ) -> StoreResult<TokenState> {
        let epoch = match self.state.lookup(&self.pool, jti, family, user_id).await {
            Ok(hit) => {
                metrics::counter!("portcullis_cache_hits_total", "cache" => "token_state")
                    .increment(1);
                return Ok(hit);
            }
            Err(epoch) => epoch,
        };
        metrics::counter!("portcullis_cache_misses_total", "cache" => "token_state").increment(1);
        let sql = format!(
            "SELECT EXISTS (SELECT 1 FROM revoked_tokens WHERE jti = $1) AS jti_revoked, \
             (SELECT revoked_at IS NULL FROM token_families WHERE id = $2) AS family_live, \
             {USER_COLS} FROM (SELECT 1 AS one) AS x LEFT JOIN users ON users.id = $3"
        );
        let row = sqlx::query(&sql)
            .bind(jti)
            .bind(family)
            .bind(user_id)
            .fetch_one(&self.pool)
            .await
            .map_err(err)?;
        let jti_revoked: bool = row.try_get("jti_revoked").map_err(err)?;
        let family_live: Option<bool> = row.try_get("family_live").map_err(err)?;
        let found: Option<i64> = row.try_get("id").map_err(err)?;
        let user = match found {
            Some(_) => Some(user_row::<B>(&row).map_err(err)?),
            None => None,
        };
        let state = TokenState {
            jti_revoked,
            family_live: family.map(|_| family_live.unwrap_or(false)),
            user,
        };
        if let Some(epoch) = epoch {
            self.state
                .store(epoch, jti, family, family_live.is_some(), &state);
        }
        Ok(state)
    }
}
