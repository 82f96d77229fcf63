//! The deployer's error type: every variant names what failed (which file, contract or
//! transaction), so that the CLI can show it without more context.

use std::path::PathBuf;

use alloy::primitives::{Address, B256};

/// Result alias of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What can go wrong compiling or deploying the contracts.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// `foundry.toml` could not be read or pins no compiler.
    #[error("{}: {reason}", path.display())]
    FoundryToml {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },

    /// The pinned compiler is not installed where forge and foundry-compilers look for it.
    #[error(
        "solc {version} is not installed at {} (run script/setup to install it)",
        path.display()
    )]
    CompilerMissing {
        /// The pinned version.
        version: String,
        /// Where it was expected.
        path: PathBuf,
    },

    /// The compiler could not be run, or the project could not be set up.
    #[error("compiling the contracts: {0}")]
    Compiler(#[from] foundry_compilers::error::SolcError),

    /// The compiler ran and reported errors.
    #[error("the contracts do not compile:\n{0}")]
    CompilationFailed(String),

    /// A contract was missing from the compiler output, or had no creation bytecode.
    #[error("the compiler output has no creation bytecode for {0}")]
    MissingArtifact(&'static str),

    /// No USDC is known for the chain and none was given.
    #[error(
        "no known USDC on chain {chain_id}: pass the token address (--usdc ADDRESS / USDC); a \
         MockUSDC is deployed only on the dev chain {dev_chain_id}"
    )]
    UnknownUsdc {
        /// The chain.
        chain_id: u64,
        /// The dev chain, where a MockUSDC is deployed instead.
        dev_chain_id: u64,
    },

    /// No arbitrator was named on a chain other than the dev chain.
    #[error(
        "chain {chain_id} needs an arbitrator: pass --arbitrator ADDRESS (or ARBITRATOR), ideally \
         a contract that can rotate its keys (a Safe or a court); only the dev chain \
         {dev_chain_id} defaults to the deployer"
    )]
    ArbitratorRequired {
        /// The chain.
        chain_id: u64,
        /// The dev chain, where the deployer is the default arbitrator.
        dev_chain_id: u64,
    },

    /// The treasury would be the arbitrator, who would then be paid the fee share of its own
    /// rulings (the escrow refuses it).
    #[error(
        "the treasury {0} is also the arbitrator: an arbitrator paid the fees of its own rulings \
         is not neutral; pass a different --treasury or --arbitrator"
    )]
    TreasuryIsArbitrator(Address),

    /// The USDC address has no contract code on the chain (a typo, or the wrong chain).
    #[error(
        "the USDC address {usdc} has no contract code on chain {chain_id} (wrong --usdc or wrong chain?)"
    )]
    UsdcNoCode {
        /// The address given or known.
        usdc: Address,
        /// The chain.
        chain_id: u64,
    },

    /// A parameter does not fit the type the contracts store it in.
    #[error("parameter {name} = {value} is out of range: {reason}")]
    InvalidParameter {
        /// The parameter.
        name: &'static str,
        /// Its value.
        value: String,
        /// The bound it breaks.
        reason: String,
    },

    /// A transaction failed: refused by the node (a revert during estimation decoded into the
    /// contract's error when it is one of ours), reverted once mined, or not mined within
    /// [`runs_bindings::RECEIPT_TIMEOUT`] (it may still be mined later: check before re-running
    /// with --force).
    #[error("{step}: {source}")]
    Send {
        /// The step, e.g. "deploying StakeVault".
        step: String,
        /// Why it failed (boxed: the other variants are small).
        #[source]
        source: Box<runs_bindings::TxError>,
    },

    /// A deployment receipt had no contract address, or no code is at that address afterwards.
    #[error("{step}: no contract code at {address} after transaction {tx_hash}")]
    NoCode {
        /// The step.
        step: String,
        /// The expected contract address.
        address: Address,
        /// The deployment transaction.
        tx_hash: B256,
    },

    /// Any other RPC failure (reading code, the chain id, ...).
    #[error("{step}: {source}")]
    Rpc {
        /// The step.
        step: String,
        /// The transport error.
        #[source]
        source: alloy::transports::TransportError,
    },
}
