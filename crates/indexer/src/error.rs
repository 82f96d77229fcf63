//! The indexer's error type: only what stops it for good. Transient RPC and database failures
//! are retried inside the indexer and never surface here.

use runs_db::BlockRef;

use crate::decode::DecodeError;

/// Why the indexer stopped.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The chain reorganised below the stored window of recent blocks: the store holds events of
    /// blocks that are no longer canonical and cannot tell which. Re-index from scratch (or from a
    /// backup older than the fork) after checking the node.
    #[error(
        "reorg deeper than the stored window: indexed block {} ({}) is no longer canonical and none \
         of the {window} stored recent blocks (oldest {oldest}) is on the node's chain; the indexer \
         stopped rather than keep orphaned data — re-index into a fresh database (or raise \
         --reorg-window) after checking the RPC endpoint",
        checkpoint.number, checkpoint.hash
    )]
    ReorgTooDeep {
        /// The last indexed block.
        checkpoint: BlockRef,
        /// How many blocks the window held.
        window: usize,
        /// The oldest block number in the window.
        oldest: u64,
    },
    /// A log of a known event did not decode: the bindings and the deployed contracts disagree.
    #[error("block {block}: {source}")]
    Decode {
        /// The block of the log.
        block: u64,
        /// What failed.
        #[source]
        source: DecodeError,
    },
    /// The store failed in a way retrying cannot fix (a corrupt or out-of-range value).
    #[error(transparent)]
    Store(#[from] runs_db::Error),
}

/// The indexer's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
