//! Deploys the runs marketplace: compiles the contracts from source with the pinned compiler
//! ([`compile`]), deploys them through an alloy provider ([`deploy`]) and describes the result as
//! a [`DeploymentManifest`](runs_primitives::DeploymentManifest), which the caller saves.
//!
//! ```no_run
//! # async fn example(provider: alloy::providers::DynProvider, from: alloy::primitives::Address)
//! # -> runs_deployer::Result<()> {
//! let root = runs_deployer::find_project_root(&std::env::current_dir().unwrap()).unwrap();
//! let contracts = runs_deployer::compile(&root)?;
//! let manifest =
//!     runs_deployer::deploy(&provider, from, &contracts, &Default::default()).await?;
//! println!("RunEscrow at {}", manifest.contracts.run_escrow.address);
//! # Ok(()) }
//! ```

mod compile;
mod deploy;
mod error;

pub use compile::{
    CompiledContract, CompiledContracts, compile, find_project_root, pinned_solc_version, solc_path,
};
pub use deploy::{
    DEV_CHAIN_ID, DEV_TREASURY, DeployConfig, DeployParameters, UsdcSource, deploy, known_usdc,
    mint_mock_usdc,
};
pub use error::{Error, Result};
