//! Not a test: writes the seeded marketplace to a SQLite file plus its deployment manifest, for
//! `script/schemathesis` (and anyone who wants a served example). Run with
//! `RUNS_API_FIXTURE_DIR=DIR cargo test -p runs-api --test it fixture -- --ignored`; it writes
//! `DIR/runs.db` and `DIR/deployments/31337.json`.

use runs_db::Store;
use runs_primitives::{
    Address, B256, DeployedContract, DeployedContracts, DeploymentManifest, Parameters,
};

use crate::support::*;

#[tokio::test]
#[ignore = "writes a fixture for script/schemathesis; needs RUNS_API_FIXTURE_DIR"]
async fn write_seeded_sqlite() {
    let dir = std::path::PathBuf::from(
        std::env::var("RUNS_API_FIXTURE_DIR").expect("set RUNS_API_FIXTURE_DIR"),
    );
    let db = dir.join("runs.db");
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
    }
    let store = Store::connect_sqlite(&db).await.expect("open fixture db");
    store.migrate().await.expect("migrate");
    seed(&store).await;
    store.close().await;

    let contract = |byte| DeployedContract {
        address: Address::repeat_byte(byte),
        tx_hash: B256::repeat_byte(byte),
        block_number: 100,
    };
    let manifest = DeploymentManifest {
        chain_id: CHAIN,
        usdc: Address::repeat_byte(0x05),
        contracts: DeployedContracts {
            stake_vault: contract(0x5a),
            run_escrow: DeployedContract { address: ESCROW, ..contract(0xe5) },
            mock_usdc: Some(contract(0x05)),
        },
        parameters: Parameters {
            fee_bps: 500,
            min_stake: usdc(20),
            claim_timeout: 604_800,
            review_period: 604_800,
            dispute_window: 3 * 86_400,
            ruling_period: 14 * 86_400,
            arbitrator: Address::repeat_byte(0xab),
            unstake_cooldown: 604_800,
            strikes_to_ban: 3,
            established_completions: 5,
            established_age: 30 * 86_400,
            treasury: Address::repeat_byte(0x77),
            owner: Address::repeat_byte(0x01),
        },
        commit: "fixture".to_owned(),
    };
    manifest.save(DeploymentManifest::path_for(dir.join("deployments"), CHAIN)).expect("manifest");
}
