//! Device authorization requests (`DeviceStore`, RFC 8628). A poll opens its
//! transaction with a write on the row (a no-op UPDATE that takes the row's lock on
//! PostgreSQL and the write lock on SQLite), then reads it, decides with
//! [`DeviceGrant::poll`] and writes the outcome: concurrent polls run one after
//! another, so exactly one takes an approved request.

use crate::backend::Backend;
use crate::store::{err, execute, fetch_optional, json_list, to_json, SqlStore};
use async_trait::async_trait;
use portcullis_core::model::device::{DeviceGrant, DevicePoll, DeviceStatus};
use portcullis_core::model::time::UnixTime;
use portcullis_core::store::{DeviceStore, StoreResult};
use sqlx::Row;

const DEVICE_COLS: &str = "device_verifier, user_verifier, client_app_id, scopes, resources, \
     interval_secs, last_poll_at, created_at, expires_at, status, user_id, auth_time, sid";

fn device_row<B: Backend>(r: &B::Row) -> Result<DeviceGrant, sqlx::Error> {
    let status: String = r.try_get("status")?;
    let status = match status.as_str() {
        "approved" => DeviceStatus::Approved {
            user_id: r.try_get::<Option<i64>, _>("user_id")?.unwrap_or_default(),
            auth_time: r.try_get("auth_time")?,
            sid: r.try_get("sid")?,
        },
        "denied" => DeviceStatus::Denied,
        "used" => DeviceStatus::Used,
        _ => DeviceStatus::Pending,
    };
    Ok(DeviceGrant {
        device_verifier: r.try_get("device_verifier")?,
        user_verifier: r.try_get("user_verifier")?,
        client_app_id: r.try_get("client_app_id")?,
        scopes: json_list(&r.try_get::<String, _>("scopes")?, "scopes")?,
        resources: json_list(&r.try_get::<String, _>("resources")?, "resources")?,
        interval: r.try_get("interval_secs")?,
        last_poll_at: r.try_get("last_poll_at")?,
        created_at: r.try_get("created_at")?,
        expires_at: r.try_get("expires_at")?,
        status,
    })
}

/// The approval's columns: user, auth_time, sid (all NULL unless approved).
fn approval(status: &DeviceStatus) -> (Option<i64>, Option<i64>, Option<String>) {
    match status {
        DeviceStatus::Approved {
            user_id,
            auth_time,
            sid,
        } => (Some(*user_id), *auth_time, sid.clone()),
        _ => (None, None, None),
    }
}

#[async_trait]
impl<B: Backend> DeviceStore for SqlStore<B> {
    async fn insert_device_grant(&self, g: &DeviceGrant) -> StoreResult<()> {
        let (user_id, auth_time, sid) = approval(&g.status);
        let q = sqlx::query(
            "INSERT INTO device_grants (device_verifier, user_verifier, client_app_id, scopes, \
             resources, interval_secs, last_poll_at, created_at, expires_at, status, user_id, \
             auth_time, sid) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
        )
        .bind(g.device_verifier.as_str())
        .bind(g.user_verifier.as_str())
        .bind(g.client_app_id)
        .bind(to_json(&g.scopes))
        .bind(to_json(&g.resources))
        .bind(g.interval)
        .bind(g.last_poll_at)
        .bind(g.created_at)
        .bind(g.expires_at)
        .bind(g.status.as_str())
        .bind(user_id)
        .bind(auth_time)
        .bind(sid);
        self.write(q).await.map(|_| ())
    }

    async fn device_grant_by_user_code(
        &self,
        user_verifier: &str,
    ) -> StoreResult<Option<DeviceGrant>> {
        let sql = format!("SELECT {DEVICE_COLS} FROM device_grants WHERE user_verifier = $1");
        fetch_optional(
            &self.pool,
            sqlx::query(&sql).bind(user_verifier),
            device_row::<B>,
        )
        .await
    }

    async fn decide_device_grant(
        &self,
        user_verifier: &str,
        decision: &DeviceStatus,
        now: UnixTime,
    ) -> StoreResult<bool> {
        let (user_id, auth_time, sid) = approval(decision);
        let q = sqlx::query(
            "UPDATE device_grants SET status = $2, user_id = $3, auth_time = $4, sid = $5 \
             WHERE user_verifier = $1 AND status = 'pending' AND expires_at > $6",
        )
        .bind(user_verifier)
        .bind(decision.as_str())
        .bind(user_id)
        .bind(auth_time)
        .bind(sid)
        .bind(now);
        self.write_one(q).await
    }

    async fn poll_device_grant(
        &self,
        device_verifier: &str,
        client_app_id: i64,
        now: UnixTime,
    ) -> StoreResult<DevicePoll> {
        let mut tx = self.begin_write().await?;
        // The write that serialises polls of this row.
        execute(
            &mut *tx,
            sqlx::query(
                "UPDATE device_grants SET interval_secs = interval_secs WHERE device_verifier = $1",
            )
            .bind(device_verifier),
        )
        .await?;
        let sql = format!("SELECT {DEVICE_COLS} FROM device_grants WHERE device_verifier = $1");
        let Some(grant) = fetch_optional(
            &mut *tx,
            sqlx::query(&sql).bind(device_verifier),
            device_row::<B>,
        )
        .await?
        else {
            return Ok(DevicePoll::Unknown);
        };
        let (answer, next) = grant.poll(client_app_id, now);
        if let Some(next) = next {
            execute(
                &mut *tx,
                sqlx::query(
                    "UPDATE device_grants SET interval_secs = $2, last_poll_at = $3, status = $4 \
                     WHERE device_verifier = $1",
                )
                .bind(device_verifier)
                .bind(next.interval)
                .bind(next.last_poll_at)
                .bind(next.status.as_str()),
            )
            .await?;
        }
        tx.commit().await.map_err(err)?;
        Ok(answer)
    }
}
