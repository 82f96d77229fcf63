//! The deployment manifest, `deployments/<chainId>.json`: where the contracts live on one chain,
//! with which parameters, from which commit.
//!
//! `runs deploy` and `script/Deploy.s.sol` both write this shape, and the indexer reads its start
//! block from it. Keys are camelCase, except the contract names, which are the Solidity names.
//! Amounts are decimal strings of base units (a JSON integer is accepted too, since forge's
//! `vm.serializeUint` writes one); durations are JSON integers of seconds; block numbers are JSON
//! integers. Unknown keys are ignored so that an older reader accepts a newer manifest.
//!
//! ```json
//! {
//!   "chainId": 31337,
//!   "usdc": "0x5FbDB2315678afecb367f032d93F642f64180aa3",
//!   "contracts": {
//!     "StakeVault": { "address": "0x…", "txHash": "0x…", "blockNumber": 2 },
//!     "RunEscrow": { "address": "0x…", "txHash": "0x…", "blockNumber": 3 },
//!     "MockUSDC": { "address": "0x…", "txHash": "0x…", "blockNumber": 1 }
//!   },
//!   "parameters": {
//!     "feeBps": 500, "minStake": "20000000", "claimTimeout": 604800, "reviewPeriod": 604800,
//!     "disputeWindow": 259200, "rulingPeriod": 1209600, "arbitrator": "0x…",
//!     "unstakeCooldown": 604800, "strikesToBan": 3, "establishedCompletions": 5,
//!     "establishedAge": 2592000, "treasury": "0x…", "owner": "0x…"
//!   },
//!   "commit": "4f1c2e9"
//! }
//! ```

use std::{
    fs,
    path::{Path, PathBuf},
};

use alloy_primitives::{Address, B256};
use serde::{Deserialize, Serialize};

use crate::{Error, Result, Usdc};

/// The contents of `deployments/<chainId>.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeploymentManifest {
    /// The chain the contracts were deployed to.
    pub chain_id: u64,
    /// The USDC token the contracts use (the MockUSDC on a dev chain).
    #[serde(with = "checksummed")]
    pub usdc: Address,
    /// The deployed contracts.
    pub contracts: DeployedContracts,
    /// The parameters the contracts were deployed with.
    pub parameters: Parameters,
    /// The git commit the contracts were built from (`"unknown"` outside a git checkout).
    pub commit: String,
}

/// The contracts of one deployment, keyed by their Solidity names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeployedContracts {
    /// `StakeVault`.
    #[serde(rename = "StakeVault")]
    pub stake_vault: DeployedContract,
    /// `RunEscrow`.
    #[serde(rename = "RunEscrow")]
    pub run_escrow: DeployedContract,
    /// `MockUSDC`, deployed only on dev chains; absent when a real USDC is used.
    #[serde(rename = "MockUSDC", default, skip_serializing_if = "Option::is_none")]
    pub mock_usdc: Option<DeployedContract>,
}

/// Where and when one contract was deployed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeployedContract {
    /// The contract's address.
    #[serde(with = "checksummed")]
    pub address: Address,
    /// The deployment transaction.
    pub tx_hash: B256,
    /// The block that included the deployment transaction.
    pub block_number: u64,
}

/// The parameters in force at deployment (the owner may change them later; runs snapshot them).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Parameters {
    /// Platform fee in basis points, added on top of the reward.
    pub fee_bps: u16,
    /// Minimum stake to claim, in USDC base units.
    pub min_stake: Usdc,
    /// Seconds from a claim or revision request to the submission deadline.
    pub claim_timeout: u64,
    /// Seconds the poster has to decide on a submission.
    pub review_period: u64,
    /// Seconds from a rejection in which the agent may dispute it.
    pub dispute_window: u64,
    /// Seconds from a dispute in which the arbitrator may rule.
    pub ruling_period: u64,
    /// Who rules on disputes of runs created under these terms.
    #[serde(with = "checksummed")]
    pub arbitrator: Address,
    /// Seconds between `requestUnstake` and `withdrawStake`.
    pub unstake_cooldown: u64,
    /// Slashes that ban an agent.
    pub strikes_to_ban: u32,
    /// Approved runs needed to become ESTABLISHED.
    pub established_completions: u32,
    /// Seconds since first reaching the minimum stake needed to become ESTABLISHED.
    pub established_age: u64,
    /// Where fees go.
    #[serde(with = "checksummed")]
    pub treasury: Address,
    /// The contracts' owner.
    #[serde(with = "checksummed")]
    pub owner: Address,
}

impl DeploymentManifest {
    /// The manifest's path for `chain_id` under `dir`: `<dir>/<chainId>.json`.
    pub fn path_for(dir: impl AsRef<Path>, chain_id: u64) -> PathBuf {
        dir.as_ref().join(format!("{chain_id}.json"))
    }

    /// Reads and parses a manifest.
    pub fn load(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let text = fs::read_to_string(path)
            .map_err(|source| Error::ManifestIo { path: path.to_owned(), source })?;
        serde_json::from_str(&text)
            .map_err(|source| Error::ManifestJson { path: path.to_owned(), source })
    }

    /// Writes the manifest as pretty JSON with a trailing newline, creating the directory if
    /// needed. The file is written beside its final name and renamed over it, so a reader never
    /// sees half a manifest.
    pub fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        let io_err = |source| Error::ManifestIo { path: path.to_owned(), source };
        if let Some(dir) = path.parent().filter(|dir| !dir.as_os_str().is_empty()) {
            fs::create_dir_all(dir).map_err(io_err)?;
        }
        let mut text = self.to_json_pretty();
        text.push('\n');
        let mut tmp = path.as_os_str().to_owned();
        tmp.push(".tmp");
        let tmp = PathBuf::from(tmp);
        fs::write(&tmp, text).map_err(io_err)?;
        fs::rename(&tmp, path).map_err(io_err)
    }

    /// The manifest as pretty JSON, without a trailing newline.
    pub fn to_json_pretty(&self) -> String {
        // Serializing plain structs of strings and integers into a String cannot fail.
        serde_json::to_string_pretty(self).expect("manifest serializes")
    }

    /// The first block the indexer must read: the earlier of the two marketplace deployments.
    pub fn start_block(&self) -> u64 {
        self.contracts.stake_vault.block_number.min(self.contracts.run_escrow.block_number)
    }
}

/// Addresses in EIP-55 checksummed form, as forge's `vm.serializeAddress` writes them (alloy's
/// own serde writes lowercase); any case is accepted on reading.
mod checksummed {
    use alloy_primitives::Address;
    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(address: &Address, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&address.to_checksum(None))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Address, D::Error> {
        Address::deserialize(d)
    }
}

#[cfg(test)]
mod tests {
    use alloy_primitives::{address, b256};

    use super::*;

    /// A manifest as `script/Deploy.s.sol` would write it on Anvil (forge writes `minStake` as a
    /// JSON integer and addresses in lowercase here, to check both are accepted).
    const FIXTURE: &str = r#"{
  "chainId": 31337,
  "usdc": "0x5fbdb2315678afecb367f032d93f642f64180aa3",
  "contracts": {
    "MockUSDC": {
      "address": "0x5FbDB2315678afecb367f032d93F642f64180aa3",
      "txHash": "0x1111111111111111111111111111111111111111111111111111111111111111",
      "blockNumber": 1
    },
    "StakeVault": {
      "address": "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512",
      "txHash": "0x2222222222222222222222222222222222222222222222222222222222222222",
      "blockNumber": 2
    },
    "RunEscrow": {
      "address": "0x9fE46736679d2D9a65F0992F2272dE9f3c7fa6e0",
      "txHash": "0x3333333333333333333333333333333333333333333333333333333333333333",
      "blockNumber": 3
    }
  },
  "parameters": {
    "feeBps": 500,
    "minStake": 20000000,
    "claimTimeout": 604800,
    "reviewPeriod": 604800,
    "disputeWindow": 259200,
    "rulingPeriod": 1209600,
    "arbitrator": "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC",
    "unstakeCooldown": 604800,
    "strikesToBan": 3,
    "establishedCompletions": 5,
    "establishedAge": 2592000,
    "treasury": "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
    "owner": "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
  },
  "commit": "4f1c2e9",
  "deployedBy": "a future field this version ignores"
}"#;

    fn sample() -> DeploymentManifest {
        DeploymentManifest {
            chain_id: 31337,
            usdc: address!("0x5FbDB2315678afecb367f032d93F642f64180aa3"),
            contracts: DeployedContracts {
                stake_vault: DeployedContract {
                    address: address!("0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512"),
                    tx_hash: b256!(
                        "0x2222222222222222222222222222222222222222222222222222222222222222"
                    ),
                    block_number: 2,
                },
                run_escrow: DeployedContract {
                    address: address!("0x9fE46736679d2D9a65F0992F2272dE9f3c7fa6e0"),
                    tx_hash: b256!(
                        "0x3333333333333333333333333333333333333333333333333333333333333333"
                    ),
                    block_number: 3,
                },
                mock_usdc: Some(DeployedContract {
                    address: address!("0x5FbDB2315678afecb367f032d93F642f64180aa3"),
                    tx_hash: b256!(
                        "0x1111111111111111111111111111111111111111111111111111111111111111"
                    ),
                    block_number: 1,
                }),
            },
            parameters: Parameters {
                fee_bps: 500,
                min_stake: Usdc::whole(20),
                claim_timeout: 7 * 86_400,
                review_period: 7 * 86_400,
                dispute_window: 3 * 86_400,
                ruling_period: 14 * 86_400,
                arbitrator: address!("0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC"),
                unstake_cooldown: 7 * 86_400,
                strikes_to_ban: 3,
                established_completions: 5,
                established_age: 30 * 86_400,
                treasury: address!("0x70997970C51812dc3A010C7d01b50e0d17dc79C8"),
                owner: address!("0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"),
            },
            commit: "4f1c2e9".into(),
        }
    }

    #[test]
    fn parses_the_fixture() {
        let manifest: DeploymentManifest = serde_json::from_str(FIXTURE).unwrap();
        assert_eq!(manifest, sample());
        assert_eq!(manifest.start_block(), 2);
    }

    #[test]
    fn writes_camel_case_checksummed_and_string_amounts() {
        let json = sample().to_json_pretty();
        assert!(json.contains(r#""chainId": 31337"#), "{json}");
        assert!(json.contains(r#""usdc": "0x5FbDB2315678afecb367f032d93F642f64180aa3""#), "{json}");
        assert!(json.contains(r#""minStake": "20000000""#), "{json}");
        assert!(json.contains(r#""blockNumber": 3"#), "{json}");
        assert!(json.contains(r#""StakeVault": {"#), "{json}");

        let mut without_mock = sample();
        without_mock.contracts.mock_usdc = None;
        assert!(!without_mock.to_json_pretty().contains("MockUSDC"));
    }

    #[test]
    fn save_and_load_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let path = DeploymentManifest::path_for(dir.path().join("deployments"), 31337);
        assert!(path.ends_with("deployments/31337.json"));

        let manifest = sample();
        manifest.save(&path).unwrap();
        let text = fs::read_to_string(&path).unwrap();
        assert!(text.ends_with("}\n"));
        assert_eq!(DeploymentManifest::load(&path).unwrap(), manifest);

        let mut without_mock = sample();
        without_mock.contracts.mock_usdc = None;
        without_mock.save(&path).unwrap();
        assert_eq!(DeploymentManifest::load(&path).unwrap(), without_mock);
    }

    #[test]
    fn load_errors_name_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("1.json");
        let err = DeploymentManifest::load(&missing).unwrap_err();
        assert!(matches!(err, Error::ManifestIo { .. }));
        assert!(err.to_string().contains("1.json"), "{err}");

        fs::write(&missing, r#"{"chainId": "one"}"#).unwrap();
        let err = DeploymentManifest::load(&missing).unwrap_err();
        assert!(matches!(err, Error::ManifestJson { .. }));
        assert!(err.to_string().contains("1.json"), "{err}");
    }
}
