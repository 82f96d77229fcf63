//! Webhook subscriptions and their delivery attempts (tables `webhooks`, `webhook_deliveries`).
//!
//! The feed is the outbox: a subscription stores only how far it was delivered
//! (`delivered_seq`); the items themselves are read from the feed ([`crate::read::Reader::feed`])
//! with the subscription's filter. A worker takes due subscriptions for a while
//! ([`Store::lease_webhooks`]; on Postgres with `FOR UPDATE SKIP LOCKED`, on SQLite under its one
//! writer), delivers, and writes each outcome with [`Store::finish_webhook_attempt`], which only
//! succeeds while its lease is still its own, so a subscription that was replayed, removed or
//! taken over after the lease ran out is never moved by a worker that lost it. When to retry,
//! pause or disable is the worker's policy (`runs-webhooks`); this module stores what it decided.
//!
//! Every statement is the same text on both backends (`$n` parameters; the one difference is
//! Postgres' row locks). Times are unix milliseconds.

use runs_primitives::{AgentId, RunId};
use sqlx::FromRow;

use crate::{
    Result, Store,
    codec::{addr_text, corrupt, int, parse_text, uint},
    read::FeedFilter,
    store::Inner,
};

/// Deliveries kept per subscription for `runs webhook deliveries` (older ones are pruned).
pub const DELIVERIES_KEPT: i64 = 1_000;

/// Run `$body` inside a transaction with `$conn` the backend's connection and `Db` its type.
macro_rules! in_tx {
    ($store:expr, |$conn:ident, $db:ident, $pg:ident| $body:expr) => {
        match &$store.inner {
            Inner::Postgres { pool, .. } => {
                #[allow(dead_code)]
                type $db = sqlx::Postgres;
                let $pg = true;
                let mut tx = pool.begin().await?;
                let out = {
                    let $conn = &mut *tx;
                    $body
                };
                tx.commit().await?;
                out
            }
            Inner::Sqlite { pool, .. } => {
                #[allow(dead_code)]
                type $db = sqlx::Sqlite;
                let $pg = false;
                let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
                let out = {
                    let $conn = &mut *tx;
                    $body
                };
                tx.commit().await?;
                out
            }
        }
    };
}

/// Where a subscription stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WebhookStatus {
    /// Delivering (or retrying: see [`Webhook::attempts`]).
    Active,
    /// Failed for longer than the retry window; delivers again after `runs webhook replay`.
    Paused,
    /// The receiver answered `410 Gone`; delivers again after `runs webhook replay`.
    Disabled,
}

impl WebhookStatus {
    /// The stored (and shown) name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Paused => "paused",
            Self::Disabled => "disabled",
        }
    }

    fn parse(text: &str) -> Result<Self> {
        match text {
            "active" => Ok(Self::Active),
            "paused" => Ok(Self::Paused),
            "disabled" => Ok(Self::Disabled),
            other => Err(corrupt("webhooks", "status", format!("unknown status {other:?}"))),
        }
    }
}

/// A webhook subscription.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Webhook {
    /// Its id.
    pub id: u64,
    /// The chain whose feed it follows.
    pub chain_id: u64,
    /// Where deliveries are POSTed.
    pub url: String,
    /// The HMAC-SHA256 key of `Runs-Signature`.
    pub secret: String,
    /// Which feed items it receives.
    pub filter: FeedFilter,
    /// Whether the destination may be a private, loopback or link-local address.
    pub allow_private: bool,
    /// When it was added.
    pub created_at: i64,
    /// Where its deliveries stand.
    pub state: WebhookState,
}

/// Where a subscription's deliveries stand: what a worker reads and writes back after each
/// attempt ([`Store::finish_webhook_attempt`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookState {
    /// Active, paused or disabled.
    pub status: WebhookStatus,
    /// Every item it selects up to this position was delivered (answered 2xx); never lowered by
    /// a worker.
    pub delivered_seq: u64,
    /// Failed attempts in a row at the next item (0 when the last attempt succeeded).
    pub attempts: u32,
    /// When the first of those failures happened.
    pub failing_since: Option<i64>,
    /// Not attempted again before this time.
    pub next_attempt_at: i64,
    /// What went wrong last (cleared by a success or a replay).
    pub last_error: Option<String>,
}

/// A subscription to add ([`Store::add_webhook`]).
#[derive(Debug, Clone)]
pub struct NewWebhook {
    /// Where deliveries are POSTed.
    pub url: String,
    /// The signing secret.
    pub secret: String,
    /// Which feed items it receives.
    pub filter: FeedFilter,
    /// Whether the destination may be a private address.
    pub allow_private: bool,
    /// Deliver the items after this position; `None`: only items appended from now on.
    pub after: Option<u64>,
    /// Now.
    pub now: i64,
}

/// How one delivery attempt ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The receiver answered 2xx.
    Delivered,
    /// Another answer, a timeout or a connection error: retried later.
    Failed,
    /// The receiver answered `410 Gone`: the subscription is disabled.
    Gone,
}

impl Outcome {
    /// The stored (and shown) name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Delivered => "delivered",
            Self::Failed => "failed",
            Self::Gone => "gone",
        }
    }

    fn parse(text: &str) -> Result<Self> {
        match text {
            "delivered" => Ok(Self::Delivered),
            "failed" => Ok(Self::Failed),
            "gone" => Ok(Self::Gone),
            other => Err(corrupt("webhook_deliveries", "outcome", format!("unknown {other:?}"))),
        }
    }
}

/// One delivery attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// The feed position delivered.
    pub seq: u64,
    /// The attempt's `Runs-Delivery-Id`.
    pub delivery_id: String,
    /// 1 for the first attempt at this item, 2 for the first retry, …
    pub attempt: u32,
    /// How it ended.
    pub outcome: Outcome,
    /// The receiver's HTTP status, if it answered.
    pub status_code: Option<u16>,
    /// What went wrong, if anything.
    pub error: Option<String>,
    /// When it was sent.
    pub at: i64,
    /// How long it took.
    pub duration_ms: i64,
}

/// The columns of a subscription, in [`RawWebhook`]'s order (a macro, so that statements stay
/// literals: sqlx only runs literal SQL).
macro_rules! columns {
    () => {
        "id, chain_id, url, secret, kinds, run_id, agent_id, poster, allow_private, status, \
         delivered_seq, attempts, failing_since, next_attempt_at, last_error, created_at"
    };
}

#[derive(FromRow)]
struct RawWebhook {
    id: i64,
    chain_id: i64,
    url: String,
    secret: String,
    kinds: String,
    run_id: Option<i64>,
    agent_id: Option<i64>,
    poster: Option<String>,
    allow_private: bool,
    status: String,
    delivered_seq: i64,
    attempts: i64,
    failing_since: Option<i64>,
    next_attempt_at: i64,
    last_error: Option<String>,
    created_at: i64,
}

impl RawWebhook {
    fn decode(self) -> Result<Webhook> {
        const T: &str = "webhooks";
        Ok(Webhook {
            id: uint(T, "id", self.id)?,
            chain_id: uint(T, "chain_id", self.chain_id)?,
            url: self.url,
            secret: self.secret,
            filter: FeedFilter {
                kinds: self.kinds.split(',').filter(|k| !k.is_empty()).map(str::to_owned).collect(),
                run_id: self.run_id.map(|id| uint(T, "run_id", id).map(RunId)).transpose()?,
                agent_id: self
                    .agent_id
                    .map(|id| uint(T, "agent_id", id).map(AgentId))
                    .transpose()?,
                poster: self.poster.map(|p| parse_text(T, "poster", &p)).transpose()?,
            },
            allow_private: self.allow_private,
            created_at: self.created_at,
            state: WebhookState {
                status: WebhookStatus::parse(&self.status)?,
                delivered_seq: uint(T, "delivered_seq", self.delivered_seq)?,
                attempts: uint(T, "attempts", self.attempts)?,
                failing_since: self.failing_since,
                next_attempt_at: self.next_attempt_at,
                last_error: self.last_error,
            },
        })
    }
}

#[derive(FromRow)]
struct RawDelivery {
    seq: i64,
    delivery_id: String,
    attempt: i64,
    outcome: String,
    status_code: Option<i64>,
    error: Option<String>,
    at: i64,
    duration_ms: i64,
}

impl RawDelivery {
    fn decode(self) -> Result<Delivery> {
        const T: &str = "webhook_deliveries";
        Ok(Delivery {
            seq: uint(T, "seq", self.seq)?,
            delivery_id: self.delivery_id,
            attempt: uint(T, "attempt", self.attempt)?,
            outcome: Outcome::parse(&self.outcome)?,
            status_code: self.status_code.map(|c| uint(T, "status_code", c)).transpose()?,
            error: self.error,
            at: self.at,
            duration_ms: self.duration_ms,
        })
    }
}

fn decode_all(raw: Vec<RawWebhook>) -> Result<Vec<Webhook>> {
    raw.into_iter().map(RawWebhook::decode).collect()
}

/// The highest feed position of chain `$1` (0 before any), inside a webhook statement.
macro_rules! last_seq {
    () => {
        "(SELECT COALESCE(MAX(seq), 0) FROM (\
         SELECT MAX(seq) AS seq FROM events WHERE chain_id = $1 \
         UNION ALL SELECT MAX(seq) AS seq FROM retractions WHERE chain_id = $1) AS heads)"
    };
}

impl Store {
    /// Add a subscription to `chain_id`'s feed; it starts after `new.after`, or after the last
    /// item of the feed when that is `None`.
    pub async fn add_webhook(&self, chain_id: u64, new: &NewWebhook) -> Result<Webhook> {
        let chain = int("chain_id", chain_id)?;
        let after = new.after.map(|a| int("after", a)).transpose()?;
        let kinds = new.filter.kinds.join(",");
        let run_id = new.filter.run_id.map(|r| int("run_id", r.get())).transpose()?;
        let agent_id = new.filter.agent_id.map(|a| int("agent_id", a.get())).transpose()?;
        let poster = new.filter.poster.map(addr_text);
        let sql = concat!(
            "INSERT INTO webhooks (chain_id, url, secret, kinds, run_id, agent_id, poster, \
             allow_private, status, delivered_seq, attempts, next_attempt_at, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'active', COALESCE($9, ",
            last_seq!(),
            "), 0, $10, $10) RETURNING ",
            columns!()
        );
        let raw: RawWebhook = in_tx!(self, |conn, Db, _pg| {
            sqlx::query_as::<Db, RawWebhook>(sql)
                .bind(chain)
                .bind(&new.url)
                .bind(&new.secret)
                .bind(&kinds)
                .bind(run_id)
                .bind(agent_id)
                .bind(&poster)
                .bind(new.allow_private)
                .bind(after)
                .bind(new.now)
                .fetch_one(conn)
                .await?
        });
        raw.decode()
    }

    /// The subscriptions of `chain_id`, in id order.
    pub async fn webhooks(&self, chain_id: u64) -> Result<Vec<Webhook>> {
        let chain = int("chain_id", chain_id)?;
        let sql = concat!("SELECT ", columns!(), " FROM webhooks WHERE chain_id = $1 ORDER BY id");
        let raw = in_tx!(self, |conn, Db, _pg| {
            sqlx::query_as::<Db, RawWebhook>(sql).bind(chain).fetch_all(conn).await?
        });
        decode_all(raw)
    }

    /// One subscription of `chain_id`.
    pub async fn webhook(&self, chain_id: u64, id: u64) -> Result<Option<Webhook>> {
        let (chain, id) = (int("chain_id", chain_id)?, int("id", id)?);
        let sql = concat!("SELECT ", columns!(), " FROM webhooks WHERE chain_id = $1 AND id = $2");
        let raw = in_tx!(self, |conn, Db, _pg| {
            sqlx::query_as::<Db, RawWebhook>(sql).bind(chain).bind(id).fetch_optional(conn).await?
        });
        raw.map(RawWebhook::decode).transpose()
    }

    /// Remove a subscription of `chain_id` and its delivery record; whether it existed. A worker
    /// delivering to it stops at its next step.
    pub async fn remove_webhook(&self, chain_id: u64, id: u64) -> Result<bool> {
        let (chain, id) = (int("chain_id", chain_id)?, int("id", id)?);
        let removed = in_tx!(self, |conn, Db, _pg| {
            sqlx::query::<Db>(
                "DELETE FROM webhook_deliveries WHERE webhook_id IN \
                 (SELECT id FROM webhooks WHERE chain_id = $1 AND id = $2)",
            )
            .bind(chain)
            .bind(id)
            .execute(&mut *conn)
            .await?;
            sqlx::query::<Db>("DELETE FROM webhooks WHERE chain_id = $1 AND id = $2")
                .bind(chain)
                .bind(id)
                .execute(&mut *conn)
                .await?
                .rows_affected()
        });
        Ok(removed > 0)
    }

    /// Deliver a subscription of `chain_id` again from position `from` (inclusive), now, and
    /// make it active whatever its status; whether it exists. Takes the subscription from any
    /// worker holding it.
    pub async fn replay_webhook(
        &self,
        chain_id: u64,
        id: u64,
        from: u64,
        now: i64,
    ) -> Result<bool> {
        let (chain, id) = (int("chain_id", chain_id)?, int("id", id)?);
        let after = int("from", from)?.saturating_sub(1).max(0);
        let changed = in_tx!(self, |conn, Db, _pg| {
            sqlx::query::<Db>(
                "UPDATE webhooks SET status = 'active', delivered_seq = $3, attempts = 0, \
                 failing_since = NULL, next_attempt_at = $4, last_error = NULL, \
                 lease_owner = NULL, lease_until = NULL WHERE chain_id = $1 AND id = $2",
            )
            .bind(chain)
            .bind(id)
            .bind(after)
            .bind(now)
            .execute(conn)
            .await?
            .rows_affected()
        });
        Ok(changed > 0)
    }

    /// Take up to `limit` due subscriptions of `chain_id` for `owner` until `until`: active, due
    /// by `now`, not held by another worker whose lease is still running, and behind the feed's
    /// last position. On Postgres the rows are picked with `FOR UPDATE SKIP LOCKED`, so workers
    /// in several processes never take the same one.
    pub async fn lease_webhooks(
        &self,
        chain_id: u64,
        owner: &str,
        now: i64,
        until: i64,
        limit: u32,
    ) -> Result<Vec<Webhook>> {
        let chain = int("chain_id", chain_id)?;
        let raw = in_tx!(self, |conn, Db, pg| {
            macro_rules! lease {
                ($lock:literal) => {
                    concat!(
                        "UPDATE webhooks SET lease_owner = $2, lease_until = $4 WHERE id IN (\
                         SELECT id FROM webhooks WHERE chain_id = $1 AND status = 'active' \
                         AND next_attempt_at <= $3 AND (lease_until IS NULL OR lease_until <= $3) \
                         AND delivered_seq < ",
                        last_seq!(),
                        " ORDER BY next_attempt_at, id LIMIT $5",
                        $lock,
                        ") RETURNING ",
                        columns!()
                    )
                };
            }
            let sql = if pg { lease!(" FOR UPDATE SKIP LOCKED") } else { lease!("") };
            sqlx::query_as::<Db, RawWebhook>(sql)
                .bind(chain)
                .bind(owner)
                .bind(now)
                .bind(until)
                .bind(i64::from(limit))
                .fetch_all(conn)
                .await?
        });
        let mut leased = decode_all(raw)?;
        leased.sort_by_key(|w| (w.state.next_attempt_at, w.id));
        Ok(leased)
    }

    /// Store where `owner` left subscription `id` (never lowering `delivered_seq`) and the
    /// attempt it made, if any, in one transaction, keeping the lease until `lease_until` (or
    /// releasing it); `false` (and nothing stored) when `owner` no longer holds it (replayed,
    /// removed or taken over).
    pub async fn finish_webhook_attempt(
        &self,
        id: u64,
        owner: &str,
        state: &WebhookState,
        lease_until: Option<i64>,
        attempt: Option<&Delivery>,
    ) -> Result<bool> {
        let id = int("id", id)?;
        let delivered = int("delivered_seq", state.delivered_seq)?;
        let attempt = attempt
            .map(|a| {
                Ok::<_, crate::Error>((
                    int("seq", a.seq)?,
                    a,
                    a.status_code.map(i64::from),
                    i64::from(a.attempt),
                ))
            })
            .transpose()?;
        let changed = in_tx!(self, |conn, Db, _pg| {
            let changed = sqlx::query::<Db>(
                "UPDATE webhooks SET status = $3, \
                 delivered_seq = CASE WHEN delivered_seq > $4 THEN delivered_seq ELSE $4 END, \
                 attempts = $5, failing_since = $6, next_attempt_at = $7, last_error = $8, \
                 lease_until = $9, lease_owner = CASE WHEN $9 IS NULL THEN NULL ELSE $2 END \
                 WHERE id = $1 AND lease_owner = $2",
            )
            .bind(id)
            .bind(owner)
            .bind(state.status.as_str())
            .bind(delivered)
            .bind(i64::from(state.attempts))
            .bind(state.failing_since)
            .bind(state.next_attempt_at)
            .bind(&state.last_error)
            .bind(lease_until)
            .execute(&mut *conn)
            .await?
            .rows_affected();
            if let (1, Some((seq, a, status_code, number))) = (changed, &attempt) {
                sqlx::query::<Db>(
                    "INSERT INTO webhook_deliveries (webhook_id, seq, delivery_id, attempt, \
                     outcome, status_code, error, at, duration_ms) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                )
                .bind(id)
                .bind(*seq)
                .bind(&a.delivery_id)
                .bind(*number)
                .bind(a.outcome.as_str())
                .bind(*status_code)
                .bind(&a.error)
                .bind(a.at)
                .bind(a.duration_ms)
                .execute(&mut *conn)
                .await?;
                sqlx::query::<Db>(
                    "DELETE FROM webhook_deliveries WHERE webhook_id = $1 AND id <= (\
                     SELECT id FROM webhook_deliveries WHERE webhook_id = $1 \
                     ORDER BY id DESC LIMIT 1 OFFSET $2)",
                )
                .bind(id)
                .bind(DELIVERIES_KEPT)
                .execute(&mut *conn)
                .await?;
            }
            changed
        });
        Ok(changed == 1)
    }

    /// The latest `limit` delivery attempts of a subscription of `chain_id`, newest first.
    pub async fn webhook_deliveries(
        &self,
        chain_id: u64,
        id: u64,
        limit: u32,
    ) -> Result<Vec<Delivery>> {
        let (chain, id) = (int("chain_id", chain_id)?, int("id", id)?);
        let raw = in_tx!(self, |conn, Db, _pg| {
            sqlx::query_as::<Db, RawDelivery>(
                "SELECT d.seq, d.delivery_id, d.attempt, d.outcome, d.status_code, d.error, d.at, \
                 d.duration_ms FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id \
                 WHERE w.chain_id = $1 AND d.webhook_id = $2 ORDER BY d.id DESC LIMIT $3",
            )
            .bind(chain)
            .bind(id)
            .bind(i64::from(limit))
            .fetch_all(conn)
            .await?
        });
        raw.into_iter().map(RawDelivery::decode).collect()
    }
}
