//! The web explorer as `runs serve` and `runs devnet` mount it beside the API: the served chain's
//! contracts from its manifest, and reverts decoded with the CLI's own hints.

use std::sync::Arc;

use runs_explorer::{Contracts, DecodedError, ExplorerConfig};
use runs_primitives::DeploymentManifest;

use crate::hints::hint_for;

/// The explorer's routes for `chain_id`; read-only pages without a manifest.
pub(crate) fn explorer(chain_id: u64, manifest: Option<&DeploymentManifest>) -> axum::Router {
    runs_explorer::router(ExplorerConfig {
        chain_id,
        contracts: manifest.map(|m| Contracts {
            run_escrow: m.contracts.run_escrow.address,
            stake_vault: m.contracts.stake_vault.address,
            usdc: m.usdc,
        }),
        fee_bps: manifest.map_or(0, |m| m.parameters.fee_bps),
        decode_revert: Arc::new(|data: &[u8]| {
            runs_bindings::decode_revert(data)
                .map(|revert| DecodedError { error: revert.to_string(), hint: hint_for(data) })
        }),
    })
}
