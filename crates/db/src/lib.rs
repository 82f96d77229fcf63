//! Storage of the runs marketplace: the raw contract events and the `runs`, `agents`,
//! `chain_params` and `credits` rows derived from them, in Postgres or in an embedded SQLite file.
//!
//! The indexer writes through [`Store::commit_range`] (raw events, derived rows, recent blocks and
//! the checkpoint in one transaction, exactly once) and [`Store::rollback_to`] (undo a reorg and
//! rebuild what it touched), holding a [`WriterLock`] so that one process writes at a time. The
//! derived rows are folded from events by the pure reducers in [`reduce`], so a fresh index, an
//! incremental one and one that went through reorgs end in the same rows.
//!
//! Public API:
//!
//! - [`Store::connect`]`(Option<&str>)` (`None` → SQLite `.runs/runs.db`),
//!   [`Store::connect_sqlite`], [`Store::migrate`], [`Store::close`], [`Store::backend`],
//!   [`Store::sqlite_path`]; with the `test-utils` feature `Store::pg_pool` /
//!   `Store::sqlite_pool`.
//! - Writes (each one transaction; `chain_id: u64`): [`Store::checkpoint`],
//!   [`Store::recent_blocks`] (highest first), [`Store::commit_range`]`(chain_id, &RangeCommit)
//!   -> CommitStats`, [`Store::rollback_to`]`(chain_id, &BlockRef) -> RollbackStats`.
//! - Reads: [`Store::reader`] → [`read::Reader`], one connection for the statements of one
//!   request (on Postgres from a pool of its own, which skips sqlx's check on every return).
//! - [`Store::lock_writer`] (waits) / [`Store::try_lock_writer`] → [`WriterLock`]
//!   ([`WriterLock::is_held`], [`WriterLock::release`]; dropping it releases it).
//! - [`Store::snapshot`] → [`Snapshot`] (events, runs, agents, params, credits; sorted).
//! - Webhook subscriptions ([`webhooks`]): [`Store::add_webhook`], [`Store::webhooks`],
//!   [`Store::remove_webhook`], [`Store::replay_webhook`], [`Store::lease_webhooks`],
//!   [`Store::finish_webhook_attempt`], [`Store::webhook_deliveries`].
//! - [`BlockRef`], [`RangeCommit`], [`CommitStats`], [`RollbackStats`].
//! - Rows: [`RunRow`], [`AgentRow`], [`ChainParams`], [`CreditRow`]; reducers
//!   [`reduce::apply_run`]`(Option<RunRow>, &ChainEvent)`,
//!   [`reduce::apply_agent`]`(Option<AgentRow>, &ChainEvent, &ChainParams)` (the parameters in
//!   force before the event), [`reduce::apply_params`]`(Option<ChainParams>, &ChainEvent)`,
//!   [`reduce::apply_credit`]`(Option<CreditRow>, &ChainEvent)`.
//!
//! Storage conventions (both backends): chain ids, block numbers, ids and unix-second times are
//! `BIGINT`/`INTEGER` (u64 values above `i64::MAX` are rejected); addresses and hashes are
//! lowercase `0x` hex text; amounts are `NUMERIC(78,0)` in Postgres and 78-digit zero-padded text in
//! SQLite (so that text order is numeric order), never floats.

mod codec;
mod columns;
mod error;
mod lock;
mod ops;
mod pg;
pub mod read;
mod readpool;
pub mod reduce;
mod rows;
mod sqlite;
mod store;
pub mod webhooks;

pub use error::{Error, Result};
pub use lock::WriterLock;
pub use rows::{
    AgentRow, BlockRef, ChainParams, CommitStats, CreditRow, Dispute, RangeCommit, Rejection,
    RollbackStats, Ruling, RunRow, Snapshot,
};
pub use store::{Backend, DEFAULT_SQLITE_PATH, Store};
