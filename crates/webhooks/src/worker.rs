//! The delivery worker: takes due subscriptions, POSTs their feed items one at a time in `seq`
//! order, and stores each outcome before the next, so a killed worker loses nothing (the item it
//! was sending is sent again: at least once) and never sends a subscription's items out of order.

use std::{
    future::Future,
    sync::Arc,
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use alloy::{primitives::hex, transports::http::reqwest};
use rand::RngCore;
use runs_api::dto::FeedEvent;
use runs_db::{
    Store,
    read::FeedItem,
    webhooks::{Delivery, Outcome, Webhook, WebhookState, WebhookStatus},
};
use tokio::task::JoinSet;
use tracing::{debug, info, warn};

use crate::{destination, policy::RetryPolicy, sign::signature};

/// How the worker runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WorkerConfig {
    /// How often it looks for due subscriptions and new feed items.
    pub poll: Duration,
    /// How long one delivery may take before it counts as failed.
    pub timeout: Duration,
    /// Retry timing.
    pub retry: RetryPolicy,
    /// Subscriptions delivered at once (each one's items stay in order).
    pub concurrency: u32,
    /// Feed items read per look.
    pub batch: u32,
    /// Deliver to private addresses whatever the subscription says (a local network's own
    /// receivers; `runs devnet`).
    pub allow_private: bool,
}

impl Default for WorkerConfig {
    fn default() -> Self {
        Self {
            poll: Duration::from_millis(100),
            timeout: Duration::from_secs(10),
            retry: RetryPolicy::default(),
            concurrency: 16,
            batch: 100,
            allow_private: false,
        }
    }
}

impl WorkerConfig {
    /// How long a taken subscription stays this worker's without a word from it: a delivery's
    /// timeout and a margin for the store. A killed worker's subscriptions wait this long.
    pub fn lease(&self) -> Duration {
        self.timeout + Duration::from_secs(5)
    }
}

/// Delivers the webhooks of one chain.
#[derive(Debug, Clone)]
pub struct Worker {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    store: Store,
    chain_id: u64,
    config: WorkerConfig,
    /// Leases are taken in this name; unique per worker.
    owner: String,
    public: reqwest::Client,
    any: reqwest::Client,
}

/// The headers of a delivery.
pub mod headers {
    /// `chain:seq`, the same for every attempt at one item: deduplicate by it.
    pub const EVENT_ID: &str = "Runs-Event-Id";
    /// Unique per attempt.
    pub const DELIVERY_ID: &str = "Runs-Delivery-Id";
    /// Unix seconds when the attempt was signed.
    pub const TIMESTAMP: &str = "Runs-Timestamp";
    /// `v1=<hex HMAC-SHA256(secret, timestamp + "." + body)>`.
    pub const SIGNATURE: &str = "Runs-Signature";
}

/// Now, in the unix milliseconds the subscriptions are stored in.
pub fn now_ms() -> i64 {
    let since = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    i64::try_from(since.as_millis()).unwrap_or(i64::MAX)
}

fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::rng().fill_bytes(&mut buf);
    hex::encode(buf)
}

fn ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

impl Worker {
    /// A worker for `chain_id`'s subscriptions in `store`.
    pub fn new(store: Store, chain_id: u64, config: WorkerConfig) -> reqwest::Result<Self> {
        let owner = format!("{}-{}", std::process::id(), random_hex(6));
        Ok(Self {
            inner: Arc::new(Inner {
                store,
                chain_id,
                config,
                owner,
                public: destination::client(true)?,
                any: destination::client(false)?,
            }),
        })
    }

    /// Deliver until `shutdown` resolves; then finish the deliveries in flight (each at most
    /// the timeout) and return.
    pub async fn run(self, shutdown: impl Future<Output = ()>) {
        let inner = &self.inner;
        info!(target: "runs::webhooks", chain_id = inner.chain_id, owner = %inner.owner, "webhook worker started");
        tokio::pin!(shutdown);
        let mut running: JoinSet<()> = JoinSet::new();
        loop {
            while running.try_join_next().is_some() {}
            let free = inner.config.concurrency.saturating_sub(running.len() as u32);
            if free > 0 {
                let now = now_ms();
                let until = now + ms(inner.config.lease());
                match inner
                    .store
                    .lease_webhooks(inner.chain_id, &inner.owner, now, until, free)
                    .await
                {
                    Ok(leased) => {
                        for webhook in leased {
                            let inner = Arc::clone(inner);
                            running.spawn(async move { inner.serve(webhook).await });
                        }
                    }
                    Err(err) => {
                        warn!(target: "runs::webhooks", error = %err, "taking due webhooks failed; retrying");
                    }
                }
            }
            tokio::select! {
                () = &mut shutdown => break,
                () = tokio::time::sleep(inner.config.poll) => {}
            }
        }
        while running.join_next().await.is_some() {}
        info!(target: "runs::webhooks", "webhook worker stopped");
    }
}

impl Inner {
    /// Deliver `webhook`'s pending items in order until it is caught up, fails, or is lost.
    async fn serve(&self, mut webhook: Webhook) {
        loop {
            let (head, items) = match self.pending(&webhook).await {
                Ok(read) => read,
                Err(err) => {
                    warn!(target: "runs::webhooks", id = webhook.id, error = %err, "reading the feed failed");
                    self.release(&webhook, webhook.state.delivered_seq).await;
                    return;
                }
            };
            let full = items.len() >= self.config.batch as usize;
            for item in &items {
                match self.attempt(&webhook, item).await {
                    Some(next) => webhook = next,
                    None => return,
                }
            }
            if !full {
                // Every selected item up to `head` was delivered: skip the rest up to it.
                self.release(&webhook, head.max(webhook.state.delivered_seq)).await;
                return;
            }
        }
    }

    /// The feed's last position, then the subscription's items after its position (read in
    /// that order, so every selected item up to that position is among them unless the batch is
    /// full).
    async fn pending(&self, webhook: &Webhook) -> runs_db::Result<(u64, Vec<FeedItem>)> {
        let mut reader = self.store.reader().await?;
        let head = reader.last_seq(self.chain_id).await?;
        let items = reader
            .feed(self.chain_id, webhook.state.delivered_seq, self.config.batch, &webhook.filter)
            .await?;
        Ok((head, items))
    }

    /// Send one item and store the outcome; the subscription as it now stands when delivering
    /// goes on, `None` when it stops (failed, disabled, or no longer this worker's).
    async fn attempt(&self, webhook: &Webhook, item: &FeedItem) -> Option<Webhook> {
        let attempt = webhook.state.attempts + 1;
        let at = now_ms();
        let started = Instant::now();
        let delivery_id = random_hex(16);
        let (outcome, status_code, error) = self.post(webhook, item, &delivery_id).await;
        let now = now_ms();
        let retry = &self.config.retry;
        let state =
            retry.after(&webhook.state, item.seq, outcome, error.clone(), now, &mut rand::rng());
        let goes_on = outcome == Outcome::Delivered && state.status == WebhookStatus::Active;
        let lease_until = goes_on.then(|| now + ms(self.config.lease()));
        let record = Delivery {
            seq: item.seq,
            delivery_id,
            attempt,
            outcome,
            status_code,
            error,
            at,
            duration_ms: ms(started.elapsed()),
        };
        debug!(target: "runs::webhooks", id = webhook.id, seq = item.seq, outcome = outcome.as_str(), ?status_code, "delivery");
        if outcome != Outcome::Delivered {
            warn!(
                target: "runs::webhooks",
                id = webhook.id,
                seq = item.seq,
                attempt,
                status = state.status.as_str(),
                error = record.error.as_deref().unwrap_or(""),
                "delivery failed"
            );
        }
        let stored = self.store.finish_webhook_attempt(
            webhook.id,
            &self.owner,
            &state,
            lease_until,
            Some(&record),
        );
        match stored.await {
            Ok(true) => goes_on.then(|| Webhook { state, ..webhook.clone() }),
            Ok(false) => {
                info!(target: "runs::webhooks", id = webhook.id, "subscription replayed, removed or taken over; leaving it");
                None
            }
            Err(err) => {
                // Not stored: the lease runs out and the item is sent again (at least once).
                warn!(target: "runs::webhooks", id = webhook.id, error = %err, "storing a delivery failed");
                None
            }
        }
    }

    /// POST one item; how it ended, the status code and what went wrong.
    async fn post(
        &self,
        webhook: &Webhook,
        item: &FeedItem,
        delivery_id: &str,
    ) -> (Outcome, Option<u16>, Option<String>) {
        let body = match serde_json::to_vec(&FeedEvent::new(self.chain_id, item)) {
            Ok(body) => body,
            Err(err) => return (Outcome::Failed, None, Some(format!("encoding the item: {err}"))),
        };
        let client = if webhook.allow_private || self.config.allow_private {
            &self.any
        } else {
            // A literal address is not resolved, so the resolver cannot refuse it: check here.
            if let Err(err) = literal_public(&webhook.url) {
                return (Outcome::Failed, None, Some(err));
            }
            &self.public
        };
        let timestamp = u64::try_from(now_ms() / 1_000).unwrap_or(0);
        let request = client
            .post(&webhook.url)
            .timeout(self.config.timeout)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header(headers::EVENT_ID, format!("{}:{}", self.chain_id, item.seq))
            .header(headers::DELIVERY_ID, delivery_id)
            .header(headers::TIMESTAMP, timestamp.to_string())
            .header(headers::SIGNATURE, signature(&webhook.secret, timestamp, &body))
            .body(body);
        match request.send().await {
            Ok(response) => {
                let status = response.status();
                let outcome = if status.is_success() {
                    Outcome::Delivered
                } else if status == reqwest::StatusCode::GONE {
                    Outcome::Gone
                } else {
                    Outcome::Failed
                };
                let error = (!status.is_success()).then(|| format!("HTTP {status}"));
                (outcome, Some(status.as_u16()), error)
            }
            Err(err) => (Outcome::Failed, None, Some(describe(&err))),
        }
    }

    /// Release `webhook` after moving its position to `delivered_seq` (items its filter skips).
    async fn release(&self, webhook: &Webhook, delivered_seq: u64) {
        let state = WebhookState { delivered_seq, ..webhook.state.clone() };
        if let Err(err) =
            self.store.finish_webhook_attempt(webhook.id, &self.owner, &state, None, None).await
        {
            warn!(target: "runs::webhooks", id = webhook.id, error = %err, "releasing a webhook failed");
        }
    }
}

/// Refuses a URL whose host is a literal private address.
fn literal_public(url: &str) -> Result<(), String> {
    let parsed = reqwest::Url::parse(url).map_err(|err| format!("not a URL: {err}"))?;
    let host = parsed.host_str().unwrap_or_default();
    match host.trim_start_matches('[').trim_end_matches(']').parse::<std::net::IpAddr>() {
        Ok(ip) if destination::is_private(ip) => Err(format!("{ip} is a private address: refused")),
        _ => Ok(()),
    }
}

/// A transport error with its causes (reqwest's own message is only the outermost).
fn describe(err: &reqwest::Error) -> String {
    let mut text = if err.is_timeout() { "timed out".to_owned() } else { err.to_string() };
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
