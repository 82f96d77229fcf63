//! The storage operations the write algorithms need, implemented once per backend inside an open
//! transaction ([`crate::pg`] with `UNNEST` arrays, [`crate::sqlite`] with chunked multi-row
//! statements). The algorithms themselves live in [`crate::store`] and are shared.

use crate::{
    Result,
    codec::{RawAgent, RawBlock, RawCredit, RawEvent, RawParams, RawRun},
};

/// Which rows of a table to load.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Keys<'a, T> {
    /// Every row of the chain.
    All,
    /// Only these keys.
    Only(&'a [T]),
}

/// Column lists shared by both backends' statements (the derived tables' are in
/// [`crate::columns`]).
pub(crate) const EVENT_COLUMNS: &str = "chain_id, block_number, block_hash, block_timestamp, \
     tx_hash, log_index, address, kind, run_id, agent_id, payload";
pub(crate) const CREDIT_COLUMNS: &str = "chain_id, account, amount";
pub(crate) const BLOCK_COLUMNS: &str = "chain_id, number, hash, parent_hash, timestamp";

/// One backend's statements, run inside the caller's transaction.
pub(crate) trait Ops {
    /// Insert events that are not stored yet; return the `(tx_hash, log_index)` keys inserted.
    async fn insert_events(
        &mut self,
        chain: i64,
        events: &[RawEvent],
    ) -> Result<Vec<(String, i64)>>;
    /// Events above `number`, any order.
    async fn events_above(&mut self, chain: i64, number: i64) -> Result<Vec<RawEvent>>;
    /// Events of these runs or agents, or of these kinds, by `(block_number, log_index)`.
    async fn events_for(
        &mut self,
        chain: i64,
        runs: &[i64],
        agents: &[i64],
        kinds: &[&str],
    ) -> Result<Vec<RawEvent>>;
    /// Every event of the chain, by `(block_number, log_index)`.
    async fn all_events(&mut self, chain: i64) -> Result<Vec<RawEvent>>;
    /// Delete events and blocks above `number`; return how many of each.
    async fn delete_above(&mut self, chain: i64, number: i64) -> Result<(u64, u64)>;

    async fn load_runs(&mut self, chain: i64, ids: Keys<'_, i64>) -> Result<Vec<RawRun>>;
    async fn load_agents(&mut self, chain: i64, ids: Keys<'_, i64>) -> Result<Vec<RawAgent>>;
    async fn load_params(&mut self, chain: i64) -> Result<Option<RawParams>>;
    async fn load_credits(
        &mut self,
        chain: i64,
        accounts: Keys<'_, String>,
    ) -> Result<Vec<RawCredit>>;

    async fn upsert_runs(&mut self, chain: i64, rows: &[RawRun]) -> Result<()>;
    async fn upsert_agents(&mut self, chain: i64, rows: &[RawAgent]) -> Result<()>;
    /// Write the parameters, or delete them (`None`).
    async fn set_params(&mut self, chain: i64, params: Option<&RawParams>) -> Result<()>;
    async fn upsert_credits(&mut self, chain: i64, rows: &[RawCredit]) -> Result<()>;
    async fn delete_runs(&mut self, chain: i64, ids: &[i64]) -> Result<()>;
    async fn delete_agents(&mut self, chain: i64, ids: &[i64]) -> Result<()>;
    async fn delete_credits(&mut self, chain: i64, accounts: &[String]) -> Result<()>;

    async fn upsert_blocks(&mut self, chain: i64, blocks: &[RawBlock]) -> Result<()>;
    /// Delete window blocks below `number`; return how many.
    async fn prune_blocks(&mut self, chain: i64, below: i64) -> Result<u64>;
    /// The window, highest first.
    async fn blocks(&mut self, chain: i64) -> Result<Vec<RawBlock>>;
    async fn checkpoint(&mut self, chain: i64) -> Result<Option<RawBlock>>;
    async fn set_checkpoint(&mut self, chain: i64, block: &RawBlock, now: i64) -> Result<()>;
}
