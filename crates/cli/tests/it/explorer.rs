//! The web explorer in a real browser: headless Chromium (Debian's `chromium` and
//! `chromium-driver`, installed by `script/setup` when it runs as root on Debian) driven through
//! WebDriver by Selenium against `runs devnet`. The checks are in
//! `crates/cli/tests/python/explorer_browser.py`; this test starts the devnet, hands it the chain
//! and the dev accounts, and keeps a screenshot of every page under
//! `$CARGO_TARGET_DIR/explorer-screenshots` (or the system temp dir).

use std::process::Command;

use crate::devnet::{Devnet, printed, python, python_script};

#[tokio::test(flavor = "multi_thread")]
async fn the_explorer_works_in_headless_chromium() {
    let dir = tempfile::tempdir().unwrap();
    let mut devnet = Devnet::start(&dir);
    let lines = devnet.wait_ready();
    let manifest =
        runs_primitives::DeploymentManifest::load(dir.path().join("deployments/31337.json"))
            .expect("the devnet's manifest");
    let signers = runs_seed::dev_signers();
    let account = |i: usize| signers[i].address().to_checksum(None);
    let shots = std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(std::env::temp_dir, std::path::PathBuf::from)
        .join("explorer-screenshots");

    let output = Command::new(python())
        .arg(python_script("explorer_browser.py"))
        .env("RUNS_API_URL", printed(&lines, "API"))
        .env("RPC_URL", printed(&lines, "RPC"))
        .env("USDC", manifest.usdc.to_checksum(None))
        // alice and bob post, atlas (agent 1) works: the seed's roles.
        .env("POSTER", account(1))
        .env("OTHER_POSTER", account(2))
        .env("AGENT", account(4))
        .env("SCREENSHOT_DIR", &shots)
        .output()
        .expect("running the browser test");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "the browser test failed:\n{stdout}\n{stderr}");
    assert!(stdout.contains("all checks passed"), "{stdout}\n{stderr}");
    for page in ["runs", "run", "agent", "market"] {
        let shot = shots.join(format!("{page}.png"));
        let bytes = std::fs::read(&shot).unwrap_or_else(|err| panic!("{}: {err}", shot.display()));
        assert!(
            bytes.starts_with(b"\x89PNG") && bytes.len() > 10_000,
            "{} is a screenshot",
            shot.display()
        );
    }
}
