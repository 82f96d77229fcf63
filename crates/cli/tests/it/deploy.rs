//! `runs deploy` as the real binary against a fresh Anvil: the manifest it writes describes the
//! chain, a second deploy needs --force, and bad input gets a clear message and a non-zero exit.

use std::process::{Command, Output};

use alloy::primitives::U256;
use runs_bindings::StakeVault;
use runs_primitives::{DeploymentManifest, Usdc};
use runs_testkit::AnvilInstance;
use tempfile::TempDir;

/// Runs `runs deploy ARGS` from an empty directory, signing as Anvil's account 0, with a clean
/// environment (the RPC and key come from the variables the README uses) but for HOME and PATH,
/// where the compiler (~/.svm, and node for solc-js) and git are found.
fn deploy(anvil: &AnvilInstance, dir: &TempDir, args: &[&str]) -> Output {
    runs(dir)
        .arg("deploy")
        .args(args)
        .env("RPC_URL", runs_testkit::rpc_url(anvil))
        .env("PRIVATE_KEY", runs_testkit::key_hex(anvil, 0))
        .output()
        .expect("running the runs binary")
}

/// The binary, run from `dir` with only HOME and PATH from this environment.
fn runs(dir: &TempDir) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_runs"));
    command.env_clear().current_dir(dir.path());
    for name in ["HOME", "PATH"] {
        if let Some(value) = std::env::var_os(name) {
            command.env(name, value);
        }
    }
    command
}

fn texts(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test]
async fn deploys_writes_the_manifest_and_needs_force_to_redeploy() {
    let anvil = runs_testkit::spawn_anvil();
    let dir = tempfile::tempdir().unwrap();
    let key = runs_testkit::key_hex(&anvil, 0);

    let out = deploy(&anvil, &dir, &["--json"]);
    let (stdout, stderr) = texts(&out);
    assert!(out.status.success(), "runs deploy failed:\n{stderr}");
    let path = dir.path().join("deployments/31337.json");
    let written = DeploymentManifest::load(&path).expect("deployments/31337.json");
    let printed: DeploymentManifest =
        serde_json::from_str(&stdout).expect("--json prints the manifest");
    assert_eq!(printed, written);
    runs_testkit::assert_manifest_matches_chain(&anvil, &written).await;
    assert!(written.contracts.mock_usdc.is_some());
    assert_eq!(written.parameters.owner, runs_testkit::address(&anvil, 0));
    assert_eq!(written.parameters.arbitrator, runs_testkit::address(&anvil, 0));
    assert_eq!(written.parameters.treasury, runs_deployer::DEV_TREASURY);
    assert_eq!(written.parameters.min_stake, Usdc::whole(20));
    assert!(!written.commit.is_empty());
    for text in [&stdout, &stderr] {
        assert!(!text.contains(&key[2..]), "the private key was printed");
    }

    // Again without --force: refused, nothing sent, the manifest untouched.
    let block = alloy::providers::Provider::get_block_number(&runs_testkit::read_provider(&anvil))
        .await
        .unwrap();
    let out = deploy(&anvil, &dir, &[]);
    let (_, stderr) = texts(&out);
    assert!(!out.status.success(), "a second deploy without --force succeeded");
    assert!(stderr.contains("already exists") && stderr.contains("--force"), "{stderr}");
    assert_eq!(DeploymentManifest::load(&path).unwrap(), written);
    let after = alloy::providers::Provider::get_block_number(&runs_testkit::read_provider(&anvil))
        .await
        .unwrap();
    assert_eq!(after, block, "a refused deploy sent transactions");

    // With --force: a new deployment replaces the manifest.
    let out = deploy(&anvil, &dir, &["--force"]);
    let (stdout, stderr) = texts(&out);
    assert!(out.status.success(), "runs deploy --force failed:\n{stderr}");
    let replaced = DeploymentManifest::load(&path).unwrap();
    assert_ne!(replaced.contracts.run_escrow.address, written.contracts.run_escrow.address);
    assert!(stdout.contains(&replaced.contracts.run_escrow.address.to_checksum(None)), "{stdout}");
    assert!(stdout.contains("31337.json"), "{stdout}");
    runs_testkit::assert_manifest_matches_chain(&anvil, &replaced).await;
}

#[tokio::test]
async fn flags_set_the_parameters_owner_and_mints() {
    let anvil = runs_testkit::spawn_anvil();
    let dir = tempfile::tempdir().unwrap();
    let owner = runs_testkit::address(&anvil, 3).to_string();
    let treasury = runs_testkit::address(&anvil, 4).to_string();
    let arbitrator = runs_testkit::address(&anvil, 5).to_string();
    let poster = runs_testkit::address(&anvil, 1);
    let out = deploy(
        &anvil,
        &dir,
        &[
            "--json",
            "--owner",
            &owner,
            "--treasury",
            &treasury,
            "--arbitrator",
            &arbitrator,
            "--dispute-window",
            "2d",
            "--ruling-period",
            "10d",
            "--fee-bps",
            "250",
            "--min-stake",
            "12.5",
            "--claim-timeout",
            "2d",
            "--review-period",
            "36h",
            "--unstake-cooldown",
            "259200",
            "--strikes-to-ban",
            "2",
            "--established-completions",
            "7",
            "--established-age",
            "2w",
            "--mint-to",
            &poster.to_string(),
            "--mint-amount",
            "500",
        ],
    );
    let (stdout, stderr) = texts(&out);
    assert!(out.status.success(), "runs deploy failed:\n{stderr}");
    let m: DeploymentManifest = serde_json::from_str(&stdout).unwrap();
    let p = &m.parameters;
    assert_eq!(
        (p.fee_bps, p.claim_timeout, p.review_period, p.unstake_cooldown),
        (250, 172_800, 129_600, 259_200)
    );
    assert_eq!((p.strikes_to_ban, p.established_completions, p.established_age), (2, 7, 1_209_600));
    assert_eq!(p.min_stake.base_units(), U256::from(12_500_000));
    assert_eq!(p.owner.to_string(), owner);
    assert_eq!(p.treasury.to_string(), treasury);
    assert_eq!(p.arbitrator.to_string(), arbitrator);
    assert_eq!((p.dispute_window, p.ruling_period), (172_800, 864_000));
    runs_testkit::assert_manifest_matches_chain(&anvil, &m).await;

    let provider = runs_testkit::read_provider(&anvil);
    let vault = StakeVault::new(m.contracts.stake_vault.address, &provider);
    assert_eq!(vault.pendingOwner().call().await.unwrap().to_string(), owner, "vault handed over");
    let token = runs_bindings::MockUSDC::new(m.usdc, &provider);
    assert_eq!(token.balanceOf(poster).call().await.unwrap(), U256::from(500_000_000));
}

#[test]
fn a_wrong_rpc_url_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let out = runs(&dir)
        .args(["deploy", "--rpc-url", "http://127.0.0.1:9"])
        .env("PRIVATE_KEY", "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80")
        .output()
        .unwrap();
    let (_, stderr) = texts(&out);
    assert!(!out.status.success());
    assert!(stderr.contains("cannot reach the RPC endpoint at http://127.0.0.1:9"), "{stderr}");
    assert!(!dir.path().join("deployments").exists());
}

#[test]
fn a_missing_signer_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let out = runs(&dir).args(["deploy", "--rpc-url", "http://127.0.0.1:9"]).output().unwrap();
    let (_, stderr) = texts(&out);
    assert!(!out.status.success());
    assert!(stderr.contains("--private-key") && stderr.contains("--keystore"), "{stderr}");
}

#[tokio::test]
async fn an_unknown_chain_needs_usdc() {
    let anvil = runs_testkit::spawn_anvil_with_chain_id(4242);
    let dir = tempfile::tempdir().unwrap();
    let out = deploy(&anvil, &dir, &[]);
    let (_, stderr) = texts(&out);
    assert!(!out.status.success(), "deployed on an unknown chain without --usdc");
    assert!(
        stderr.contains("chain 4242 has no known USDC") && stderr.contains("--usdc"),
        "{stderr}"
    );
    assert!(!dir.path().join("deployments/4242.json").exists());

    // With --mock-usdc it still needs an arbitrator: only the dev chain defaults to the deployer.
    let out = deploy(&anvil, &dir, &["--mock-usdc"]);
    let (_, stderr) = texts(&out);
    assert!(!out.status.success(), "deployed on chain 4242 without an arbitrator");
    assert!(
        stderr.contains("chain 4242 needs an arbitrator") && stderr.contains("--arbitrator"),
        "{stderr}"
    );
    assert!(!dir.path().join("deployments/4242.json").exists());

    // With both it deploys, and the manifest is named after the chain.
    let arbitrator = runs_testkit::address(&anvil, 5).to_string();
    let out = deploy(&anvil, &dir, &["--mock-usdc", "--arbitrator", &arbitrator]);
    let (_, stderr) = texts(&out);
    assert!(out.status.success(), "{stderr}");
    let m = DeploymentManifest::load(dir.path().join("deployments/4242.json")).unwrap();
    assert_eq!(m.chain_id, 4242);
    assert_eq!(m.parameters.treasury, runs_testkit::address(&anvil, 0), "the deployer");
    runs_testkit::assert_manifest_matches_chain(&anvil, &m).await;
}

#[tokio::test]
async fn the_treasury_may_not_be_the_arbitrator() {
    let anvil = runs_testkit::spawn_anvil();
    let dir = tempfile::tempdir().unwrap();
    // On the dev chain the deployer (account 0) is the default arbitrator.
    let deployer = runs_testkit::address(&anvil, 0).to_string();
    let out = deploy(&anvil, &dir, &["--treasury", &deployer]);
    let (_, stderr) = texts(&out);
    assert!(!out.status.success(), "deployed with the arbitrator as treasury");
    assert!(stderr.contains("is also the arbitrator"), "{stderr}");
    assert!(stderr.contains("--treasury") && stderr.contains("--arbitrator"), "{stderr}");
    assert!(!dir.path().join("deployments").exists());
}
