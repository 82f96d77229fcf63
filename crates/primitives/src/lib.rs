//! Domain types of the runs marketplace, shared by every other crate: run and agent ids, USDC
//! amounts, the run and agent state machines, claim-eligibility reasons and the deployment manifest.
//!
//! This crate is a leaf: it depends on `alloy-primitives` for addresses, hashes and `U256`, and on
//! nothing else of the toolkit.

mod claim;
mod error;
mod event;
mod id;
mod manifest;
mod state;
mod usdc;

pub use claim::ClaimReason;
pub use error::{AmountError, Error, Result};
pub use event::{ChainEvent, LogPosition, MarketEvent, OtherEvent};
pub use id::{AgentId, RunId};
pub use manifest::{DeployedContract, DeployedContracts, DeploymentManifest, Parameters};
pub use state::{AgentStatus, ClaimOutcome, RunState, ruling_for_agent};
pub use usdc::Usdc;

/// Re-exported so that users of the manifest and amount types need not name `alloy-primitives`.
pub use alloy_primitives::{Address, B256, U256};
