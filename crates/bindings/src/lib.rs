//! Typed bindings of the marketplace contracts, generated at compile time by `alloy::sol!` from
//! the ABIs in `abi/`. Those files are build output, never edited by hand: `script/bindings`
//! extracts them from the compiled contracts, and `script/bindings --check` (run by the test
//! command) fails when they drift from `contracts/`.
//!
//! Besides the contract modules, [`decode_event`] decodes any of their logs from the ABI alone,
//! [`decode_revert`] turns revert data from any of the contracts
//! (or the USDC token behind them) into the error's name and named, human-readable fields, and
//! [`GasHeadroom`] gives every signed transaction a gas limit with a margin over the estimate,
//! and [`send`] is the one send → receipt → decoded-revert path every crate uses.

mod events;
mod gas;
mod revert;
mod tx;

pub use events::{Abi, DecodedEvent, DecodedField, decode_event};
pub use gas::{GasHeadroom, with_headroom};
pub use revert::{DecodedRevert, decode_revert};
pub use tx::{CallFailure, RECEIPT_TIMEOUT, TxError, send, signing_provider};

/// The ABI JSON of `StakeVault`.
pub const STAKE_VAULT_ABI: &str = include_str!("../abi/StakeVault.json");
/// The ABI JSON of `RunEscrow`.
pub const RUN_ESCROW_ABI: &str = include_str!("../abi/RunEscrow.json");
/// The ABI JSON of `MockUSDC` (a superset of the USDC surface the marketplace uses).
pub const MOCK_USDC_ABI: &str = include_str!("../abi/MockUSDC.json");

#[allow(missing_docs, clippy::too_many_arguments)]
mod generated {
    alloy::sol!(
        #[sol(rpc)]
        #[derive(Debug, PartialEq, Eq)]
        StakeVault,
        "abi/StakeVault.json"
    );

    alloy::sol!(
        #[sol(rpc)]
        #[derive(Debug, PartialEq, Eq)]
        RunEscrow,
        "abi/RunEscrow.json"
    );

    alloy::sol!(
        #[sol(rpc)]
        #[derive(Debug, PartialEq, Eq)]
        MockUSDC,
        "abi/MockUSDC.json"
    );
}

pub use generated::{IRunEscrow, IStakeVault, MockUSDC, RunEscrow, StakeVault};

/// The name of every event the marketplace contracts emit (`RunCreated`, `Staked`, …), sorted,
/// from the generated signatures: what the feed's `type` filter accepts.
pub fn event_names() -> Vec<&'static str> {
    let mut names: Vec<&'static str> = RunEscrow::RunEscrowEvents::SIGNATURES
        .iter()
        .chain(StakeVault::StakeVaultEvents::SIGNATURES)
        .map(|signature| signature.split('(').next().unwrap_or(signature))
        .collect();
    names.sort_unstable();
    names.dedup();
    names
}
