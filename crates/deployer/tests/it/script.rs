//! `script/Deploy.s.sol` (run by `forge script --broadcast`) and `runs_deployer::deploy` write the
//! same manifest: both parse into `DeploymentManifest`, with the same shape and parameters.

use std::{
    collections::BTreeSet,
    path::{Path, PathBuf},
    process::Command,
};

use runs_primitives::{B256, DeploymentManifest};
use serde_json::Value;

/// A directory under the checkout's `deployments/` (the only place foundry.toml lets scripts
/// write), removed on drop.
struct ScratchDir {
    relative: String,
    absolute: PathBuf,
}

impl ScratchDir {
    fn new(root: &Path) -> Self {
        let relative = format!("deployments/.test-script-{}", std::process::id());
        let absolute = root.join(&relative);
        let _ = std::fs::remove_dir_all(&absolute);
        Self { relative, absolute }
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.absolute);
    }
}

#[tokio::test]
async fn forge_script_and_rust_write_the_same_manifest() {
    let root = runs_testkit::repo_root();
    let anvil = runs_testkit::spawn_anvil();
    let scratch = ScratchDir::new(&root);
    let build = tempfile::tempdir().unwrap();

    let forge_script = |force: bool| {
        let mut command = Command::new(runs_testkit::forge_binary());
        command
            .current_dir(&root)
            .args(["script", "script/Deploy.s.sol", "--broadcast", "--rpc-url"])
            .arg(runs_testkit::rpc_url(&anvil))
            // Private build and broadcast directories: the checkout's out/ and cache/ may be
            // mid-rebuild by another command, and the test must not leave broadcast logs behind.
            .arg("--out")
            .arg(build.path().join("out"))
            .arg("--cache-path")
            .arg(build.path().join("cache"))
            .env("FOUNDRY_BROADCAST", build.path().join("broadcast"))
            .arg("--private-key")
            .arg(runs_testkit::key_hex(&anvil, 0))
            .env("DEPLOYMENTS_DIR", &scratch.relative)
            .env("COMMIT", "script")
            .env("FORCE", force.to_string());
        for name in [
            "USDC",
            "OWNER",
            "TREASURY",
            "ARBITRATOR",
            "FEE_BPS",
            "MIN_STAKE_UNITS",
            "CLAIM_TIMEOUT",
            "REVIEW_PERIOD",
            "DISPUTE_WINDOW",
            "RULING_PERIOD",
            "UNSTAKE_COOLDOWN",
            "STRIKES_TO_BAN",
            "ESTABLISHED_COMPLETIONS",
            "ESTABLISHED_AGE",
        ] {
            command.env_remove(name);
        }
        command.output().expect("run forge (script/setup installs it)")
    };
    let out = forge_script(false);
    let text = |bytes: &[u8]| String::from_utf8_lossy(bytes).into_owned();
    assert!(
        out.status.success(),
        "forge script failed:\n{}\n{}",
        text(&out.stdout),
        text(&out.stderr)
    );

    let path = DeploymentManifest::path_for(&scratch.absolute, 31337);
    let from_script = DeploymentManifest::load(&path).expect("the script's manifest parses");
    runs_testkit::assert_manifest_matches_chain(&anvil, &from_script).await;
    assert_eq!(from_script.commit, "script");
    let mock = from_script.contracts.mock_usdc.expect("MockUSDC on 31337");
    assert_eq!(from_script.usdc, mock.address);
    // The documented difference: no transaction hashes, and the block the script ran on.
    let head = runs_testkit::read_provider(&anvil);
    let head = alloy::providers::Provider::get_block_number(&head).await.unwrap();
    for contract in [mock, from_script.contracts.stake_vault, from_script.contracts.run_escrow] {
        assert_eq!(contract.tx_hash, B256::ZERO);
        assert!(contract.block_number <= head);
    }

    // A second run refuses to overwrite the manifest, like `runs deploy` without --force.
    let again = forge_script(false);
    assert!(!again.status.success(), "the script overwrote an existing manifest");
    assert!(
        text(&again.stdout).contains("DeployManifestExists")
            || text(&again.stderr).contains("DeployManifestExists"),
        "{}\n{}",
        text(&again.stdout),
        text(&again.stderr)
    );
    assert_eq!(DeploymentManifest::load(&path).unwrap(), from_script);

    // The Rust deployer from the same account, with the same (default) settings.
    let from_rust = runs_testkit::deploy_fresh(&anvil).await.manifest;
    assert_eq!(from_rust.parameters, from_script.parameters);
    assert_eq!(from_rust.chain_id, from_script.chain_id);
    let rust_file = scratch.absolute.join("rust.json");
    from_rust.save(&rust_file).unwrap();
    let shape =
        |path: &Path| keys(&serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap());
    assert_eq!(shape(&rust_file), shape(&path), "the two files have different keys");
}

/// Every key path in a JSON document (`contracts.StakeVault.address`, ...).
fn keys(value: &Value) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    fn walk(value: &Value, prefix: &str, out: &mut BTreeSet<String>) {
        if let Value::Object(map) = value {
            for (key, child) in map {
                let path = if prefix.is_empty() { key.clone() } else { format!("{prefix}.{key}") };
                walk(child, &path, out);
                out.insert(path);
            }
        }
    }
    walk(value, "", &mut out);
    out
}
