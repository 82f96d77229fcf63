//! The seeding error: which step failed and why, with contract reverts decoded.

/// A failed seeding step.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A transaction failed: refused by the node, reverted (the contract's error decoded) or
    /// not mined in time.
    #[error("{step}: {source}")]
    Transaction {
        /// What was being done.
        step: String,
        /// Why it failed.
        #[source]
        source: runs_bindings::TxError,
    },
    /// A read failed, or a transaction's receipt lacked the event it must emit.
    #[error("{step}: {reason}")]
    Send {
        /// What was being done.
        step: String,
        /// The node's answer, or what is missing.
        reason: String,
    },
    /// A read or a node method (`evm_increaseTime`, `evm_mine`) failed.
    #[error("{step}: {source}")]
    Rpc {
        /// What was being done.
        step: String,
        /// The transport error.
        #[source]
        source: alloy::transports::TransportError,
    },
    /// Fewer funded dev accounts than the seed needs.
    #[error("seeding needs {needed} dev accounts, got {got}")]
    NotEnoughAccounts {
        /// Accounts needed.
        needed: usize,
        /// Accounts given.
        got: usize,
    },
    /// The deployment's arbitrator is not one of the dev accounts the seed may sign for (or is
    /// a poster's or agent's), so no dispute can be ruled on.
    #[error(
        "the deployment's arbitrator {0} is not dev account 0: seeding rules on a dispute as the \
         arbitrator, so deploy with the default arbitrator (the deployer) on the dev chain"
    )]
    ArbitratorNotADevAccount(alloy::primitives::Address),
    /// The chain does not show what the seed just did (a bug in the seed plan, or a contract
    /// that behaves differently from the spec).
    #[error("after seeding, {what} is {actual}, expected {expected}")]
    Mismatch {
        /// The run or agent.
        what: String,
        /// The state or status on chain.
        actual: String,
        /// The state or status the plan aimed for.
        expected: String,
    },
    /// The contract returned an enum value this build does not know.
    #[error("unknown value from the contract: {0}")]
    Primitives(#[from] runs_primitives::Error),
}

/// The seed crate's result.
pub type Result<T, E = Error> = std::result::Result<T, E>;
