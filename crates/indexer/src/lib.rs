//! The runs marketplace indexer: reads the `StakeVault` and `RunEscrow` logs of one deployment with
//! `eth_getLogs`, decodes them through the generated bindings and commits them, with the derived
//! `runs`/`agents` rows and the checkpoint, to a [`runs_db::Store`] — exactly once, through
//! reorgs, crashes and a flaky RPC.
//!
//! Public API: [`Indexer`] (`new`, `progress`, `run`, `run_until`), [`IndexerConfig`] and
//! [`Progress`] (what the indexer reports; the caller draws it); [`connect_http`] for
//! a provider with rate-limit retries; the pure building blocks [`RangeSizer`] /
//! [`is_range_too_large`] (adaptive query ranges), [`decode_log`] (logs → [`ChainEvent`]s),
//! [`find_common_ancestor`] (reorgs) and the retry policy [`Backoff`] / [`Retry`] / [`retry`].
//!
//! [`ChainEvent`]: runs_primitives::ChainEvent

mod decode;
mod error;
mod indexer;
mod range;
mod reorg;
mod retry;
mod rpc;

pub use decode::{Contracts, DecodeError, decode_event, decode_log, log_position};
pub use error::{Error, Result};
pub use indexer::{Indexer, IndexerConfig, Progress};
pub use range::{RangeSizer, is_range_too_large};
pub use reorg::{extends, find_common_ancestor};
pub use retry::{Backoff, Retry, retry};
pub use rpc::{RpcError, connect_http};
