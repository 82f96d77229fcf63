//! Signed webhook deliveries of the event feed (`runs webhook`, and the worker inside
//! `runs index` and `runs devnet`).
//!
//! The feed is the outbox: a subscription ([`runs_db::webhooks::Webhook`]) keeps only how far it
//! was delivered, and the [`Worker`] reads its items from the feed with its filter. Each item is
//! one `POST` of its JSON (the shape of `GET /api/events` items) with the headers of
//! [`worker::headers`]: `Runs-Event-Id` (`chain:seq`, the same on every attempt: deduplicate by
//! it), `Runs-Delivery-Id` (per attempt), `Runs-Timestamp` (unix seconds) and `Runs-Signature:
//! v1=<hex HMAC-SHA256(secret, timestamp + "." + body)>` ([`sign::signature`]).
//!
//! Delivery is at least once and in `seq` order per subscription: a subscription's position
//! moves past an item only after a 2xx, stored before the next item is sent. Other answers and
//! timeouts retry after an exponential backoff with jitter ([`RetryPolicy`]) until the item has
//! failed for 24 h, when the subscription is paused; `410 Gone` disables it. Workers in several
//! processes share the subscriptions through leases taken with `FOR UPDATE SKIP LOCKED` (on
//! SQLite, under its one writer). Destinations on private addresses are refused unless the
//! subscription allows them ([`destination`]).

pub mod destination;
pub mod policy;
pub mod sign;
pub mod worker;

pub use policy::RetryPolicy;
pub use worker::{Worker, WorkerConfig, now_ms};
