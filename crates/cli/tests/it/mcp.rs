//! `runs mcp` driven by the official Python MCP client (`mcp` on PyPI, installed by
//! `script/python-env` into its own virtualenv) over stdio and Streamable HTTP, against `runs
//! devnet`. The checks are in `crates/cli/tests/python/mcp_client.py`; this test starts the devnet
//! and hands it the chain.

use std::process::Command;

use alloy::signers::local::PrivateKeySigner;

use crate::devnet::{Devnet, printed, python, python_script};

#[tokio::test(flavor = "multi_thread")]
async fn the_official_python_client_uses_every_tool_over_stdio_and_http() {
    let dir = tempfile::tempdir().unwrap();
    let mut devnet = Devnet::start(&dir);
    let lines = devnet.wait_ready();
    let deployments = dir.path().join("deployments");
    let manifest = runs_primitives::DeploymentManifest::load(deployments.join("31337.json"))
        .expect("the devnet's manifest");
    let signers = runs_seed::dev_signers();
    // alice, a seeded poster with MockUSDC; the agent is a wallet no one has used.
    let poster = &signers[1];
    let agent = PrivateKeySigner::random();
    let key = |signer: &PrivateKeySigner| format!("0x{}", alloy::hex::encode(signer.to_bytes()));

    let output = Command::new(python())
        .arg(python_script("mcp_client.py"))
        .env("RUNS_BIN", env!("CARGO_BIN_EXE_runs"))
        .env("RPC_URL", printed(&lines, "RPC"))
        .env("RUNS_API_URL", printed(&lines, "API"))
        .env("RUNS_DEPLOYMENTS", &deployments)
        .env("USDC", manifest.usdc.to_checksum(None))
        .env("RUN_ESCROW", manifest.contracts.run_escrow.address.to_checksum(None))
        .env("POSTER_KEY", key(poster))
        .env("POSTER_ADDRESS", poster.address().to_checksum(None))
        .env("AGENT_KEY", key(&agent))
        .env("AGENT_ADDRESS", agent.address().to_checksum(None))
        .output()
        .expect("running the Python MCP client");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "the MCP client failed:\n{stdout}\n{stderr}");
    assert!(stdout.contains("all checks passed"), "{stdout}\n{stderr}");
    // The keys were in the servers' environment; they must not surface in anything printed.
    for signer in [poster, &agent] {
        let hex = alloy::hex::encode(signer.to_bytes());
        assert!(!stdout.contains(&hex) && !stderr.contains(&hex), "a private key was printed");
    }
}
