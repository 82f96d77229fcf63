//! The contracts compiled by foundry-compilers are exactly the ones `forge build` produces and the
//! bindings describe, so `runs deploy`, the Solidity tests and the Rust bindings cannot drift.

use std::{path::Path, process::Command};

use alloy::{json_abi::JsonAbi, primitives::Bytes};
use runs_bindings::{MOCK_USDC_ABI, RUN_ESCROW_ABI, STAKE_VAULT_ABI};
use runs_deployer::CompiledContract;

const SOURCES: [&str; 3] =
    ["contracts/StakeVault.sol", "contracts/RunEscrow.sol", "contracts/mocks/MockUSDC.sol"];

#[test]
fn bytecode_equals_forge_build() {
    let root = runs_testkit::repo_root();
    let out = tempfile::tempdir().unwrap();
    // A private out/ and cache, so the test neither depends on nor disturbs the checkout's build.
    let status = Command::new(runs_testkit::forge_binary())
        .current_dir(&root)
        .arg("build")
        .args(SOURCES)
        .arg("--out")
        .arg(out.path().join("out"))
        .arg("--cache-path")
        .arg(out.path().join("cache"))
        .arg("--quiet")
        .status()
        .expect("run forge (script/setup installs it)");
    assert!(status.success(), "forge build failed");

    let compiled = runs_testkit::compiled();
    for (name, ours) in [
        ("StakeVault", &compiled.stake_vault),
        ("RunEscrow", &compiled.run_escrow),
        ("MockUSDC", &compiled.mock_usdc),
    ] {
        let forge = forge_bytecode(&out.path().join("out"), name);
        assert!(ours.bytecode.len() > 1000, "{name}: suspiciously short bytecode");
        assert!(ours.bytecode == forge, "{name}: foundry-compilers and forge build disagree");
    }
}

#[test]
fn abis_equal_the_bindings() {
    let compiled = runs_testkit::compiled();
    for (name, ours, bindings) in [
        ("StakeVault", &compiled.stake_vault, STAKE_VAULT_ABI),
        ("RunEscrow", &compiled.run_escrow, RUN_ESCROW_ABI),
        ("MockUSDC", &compiled.mock_usdc, MOCK_USDC_ABI),
    ] {
        let bindings: JsonAbi = serde_json::from_str(bindings).unwrap();
        assert_selectors_equal(name, ours, &bindings);
        assert_eq!(
            ours.abi, bindings,
            "{name}: ABI differs from crates/bindings (run script/bindings)"
        );
    }
}

fn assert_selectors_equal(name: &str, ours: &CompiledContract, bindings: &JsonAbi) {
    let functions = |abi: &JsonAbi| abi.functions().map(|f| f.selector()).collect::<Vec<_>>();
    let errors = |abi: &JsonAbi| abi.errors().map(|e| e.selector()).collect::<Vec<_>>();
    let events = |abi: &JsonAbi| abi.events().map(|e| e.selector()).collect::<Vec<_>>();
    assert!(!functions(&ours.abi).is_empty(), "{name}: no functions");
    assert_eq!(functions(&ours.abi), functions(bindings), "{name}: function selectors");
    assert_eq!(errors(&ours.abi), errors(bindings), "{name}: error selectors");
    assert_eq!(events(&ours.abi), events(bindings), "{name}: event selectors");
}

fn forge_bytecode(out: &Path, name: &str) -> Bytes {
    let artifact = out.join(format!("{name}.sol/{name}.json"));
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&artifact).unwrap()).unwrap();
    json["bytecode"]["object"].as_str().unwrap().parse().unwrap()
}
