//! The audit trail's SQL (`AuditStore`): the `audit_events` table (migration 0019),
//! written a batch per transaction in a few multi-row `INSERT`s, read newest first with the filters of
//! `GET /api/admin/events`, and aged out per tenant with `vault_retrievals`.

use crate::backend::Backend;
use crate::store::{err, execute, fetch_all, SqlStore};
use async_trait::async_trait;
use portcullis_core::model::audit::{AuditEvent, AuditQuery, EventType, NewAuditEvent, Outcome};
use portcullis_core::model::time::UnixTime;
use portcullis_core::store::{AuditStore, StoreResult};
use sqlx::Row;

const COLS: &str = "id, at, event_type, tenant_id, actor, actor_user_id, client_id, subject, \
                    subject_user_id, source, user_agent, outcome, reason";

fn decode(column: &str, value: &str) -> sqlx::Error {
    sqlx::Error::Decode(format!("unknown {column} '{value}'").into())
}

fn event_row<B: Backend>(r: &B::Row) -> Result<AuditEvent, sqlx::Error> {
    let t: String = r.try_get("event_type")?;
    let o: String = r.try_get("outcome")?;
    Ok(AuditEvent {
        id: r.try_get("id")?,
        event: NewAuditEvent {
            at: r.try_get("at")?,
            event_type: EventType::parse(&t).ok_or_else(|| decode("event type", &t))?,
            tenant_id: r.try_get("tenant_id")?,
            actor: r.try_get("actor")?,
            actor_user_id: r.try_get("actor_user_id")?,
            client_id: r.try_get("client_id")?,
            subject: r.try_get("subject")?,
            subject_user_id: r.try_get("subject_user_id")?,
            source: r.try_get("source")?,
            user_agent: r.try_get("user_agent")?,
            outcome: Outcome::parse(&o).ok_or_else(|| decode("outcome", &o))?,
            reason: r.try_get("reason")?,
        },
    })
}

/// Rows per multi-row `INSERT`, largest first: powers of two, so a batch of any size
/// is a few statements (1,000 events: 10 rather than 1,000 round trips to the
/// database) and only these few texts are ever prepared and cached. 128 rows bind
/// 1,536 values, far below SQLite's (32,766) and PostgreSQL's (65,535) limits.
const INSERT_ROWS: [usize; 8] = [128, 64, 32, 16, 8, 4, 2, 1];

/// The columns an event's row is inserted with, in bind order.
const INSERT_COLS: usize = 12;

/// The `INSERT` of the largest of [`INSERT_ROWS`] rows that fits in `remaining`
/// events (at least one), and that row count. The texts are built once per backend.
///
/// SQLite's parameters are anonymous (`?`), bound in order: sqlx looks each
/// parameter's name up with `sqlite3_bind_parameter_name`, a linear scan of the
/// statement's named parameters, so 1,536 `$n` cost a quadratic 2.4 million steps
/// per statement (12 % of the server's time under `client_credentials` load).
/// PostgreSQL takes only `$n`.
fn insert_statement<B: Backend>(remaining: usize) -> (&'static str, usize) {
    static TEXTS: [std::sync::OnceLock<Vec<String>>; 2] =
        [std::sync::OnceLock::new(), std::sync::OnceLock::new()];
    let anonymous = <B as sqlx::Database>::NAME == "SQLite";
    let texts = TEXTS[usize::from(anonymous)].get_or_init(|| {
        INSERT_ROWS
            .iter()
            .map(|&rows| {
                let values: Vec<String> = (0..rows)
                    .map(|r| {
                        let first = r * INSERT_COLS + 1;
                        let params: Vec<String> = (first..first + INSERT_COLS)
                            .map(|i| {
                                if anonymous {
                                    "?".to_owned()
                                } else {
                                    format!("${i}")
                                }
                            })
                            .collect();
                        format!("({})", params.join(", "))
                    })
                    .collect();
                format!(
                    "INSERT INTO audit_events (at, event_type, tenant_id, actor, actor_user_id, \
                     client_id, subject, subject_user_id, source, user_agent, outcome, reason) \
                     VALUES {}",
                    values.join(", ")
                )
            })
            .collect()
    });
    let i = INSERT_ROWS
        .iter()
        .position(|&rows| rows <= remaining)
        .unwrap_or(INSERT_ROWS.len() - 1);
    (texts[i].as_str(), INSERT_ROWS[i])
}

#[async_trait]
impl<B: Backend> AuditStore for SqlStore<B> {
    async fn record_audit_events(&self, events: &[NewAuditEvent]) -> StoreResult<()> {
        if events.is_empty() {
            return Ok(());
        }
        let mut tx = self.begin_write().await?;
        let mut rest = events;
        while !rest.is_empty() {
            let (sql, n) = insert_statement::<B>(rest.len());
            let (chunk, tail) = rest.split_at(n);
            let mut q = sqlx::query(sql);
            for e in chunk {
                q = q
                    .bind(e.at)
                    .bind(e.event_type.as_str())
                    .bind(e.tenant_id)
                    .bind(e.actor.as_str())
                    .bind(e.actor_user_id)
                    .bind(e.client_id.as_deref())
                    .bind(e.subject.as_deref())
                    .bind(e.subject_user_id)
                    .bind(e.source.as_deref())
                    .bind(e.user_agent.as_deref())
                    .bind(e.outcome.as_str())
                    .bind(e.reason.as_deref());
            }
            execute(&mut *tx, q).await?;
            rest = tail;
        }
        tx.commit().await.map_err(err)
    }

    async fn audit_events(&self, query: &AuditQuery) -> StoreResult<Vec<AuditEvent>> {
        // One statement whatever the filters: an absent filter binds NULL and its
        // condition is true, so the text (and its prepared plan) never varies.
        let sql = format!(
            "SELECT {COLS} FROM audit_events WHERE tenant_id = $1 \
             AND ($2 IS NULL OR event_type = $2) \
             AND ($3 IS NULL OR actor_user_id = $3 OR subject_user_id = $3) \
             AND ($4 IS NULL OR client_id = $4) \
             AND ($5 IS NULL OR at >= $5) \
             AND ($6 IS NULL OR at < $6) \
             AND ($7 IS NULL OR id < $7) \
             ORDER BY id DESC LIMIT $8"
        );
        let q = sqlx::query(&sql)
            .bind(query.tenant_id)
            .bind(query.event_type.map(|t| t.as_str()))
            .bind(query.user_id)
            .bind(query.client_id.as_deref())
            .bind(query.from)
            .bind(query.to)
            .bind(query.before_id)
            .bind(i64::from(query.limit));
        fetch_all(&self.pool, q, event_row::<B>).await
    }

    async fn audit_tenant_ids(&self) -> StoreResult<Vec<i64>> {
        let q = sqlx::query(
            "SELECT tenant_id FROM audit_events UNION \
             SELECT tenant_id FROM vault_retrievals ORDER BY tenant_id",
        );
        fetch_all(&self.pool, q, |r| r.try_get("tenant_id")).await
    }

    async fn purge_audit(&self, tenant_id: i64, before: UnixTime) -> StoreResult<u64> {
        let mut tx = self.begin_write().await?;
        let events = execute(
            &mut *tx,
            sqlx::query("DELETE FROM audit_events WHERE tenant_id = $1 AND at < $2")
                .bind(tenant_id)
                .bind(before),
        )
        .await?;
        let retrievals = execute(
            &mut *tx,
            sqlx::query("DELETE FROM vault_retrievals WHERE tenant_id = $1 AND at < $2")
                .bind(tenant_id)
                .bind(before),
        )
        .await?;
        tx.commit().await.map_err(err)?;
        Ok(events + retrievals)
    }
}
