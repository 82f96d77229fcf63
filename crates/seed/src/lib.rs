//! Seeds a dev chain (Anvil) with a realistic marketplace for `runs devnet` and the end-to-end
//! tests: six agents on every rung of the trust ladder (UNVERIFIED, PROVISIONAL, ESTABLISHED,
//! FROZEN, BANNED) and runs in every state (DRAFT, OPEN, CLAIMED, IN_PROGRESS, SUBMITTED,
//! REVISION_REQUESTED, APPROVED, REJECTED both open and final, CANCELLED, EXPIRED, DISPUTED,
//! RESOLVED by a ruling and by default), with slashes, revisions, an abandoned claim, evidence
//! and an approval on timeout in their histories.
//!
//! Everything goes through the generated bindings as real transactions from Anvil's dev accounts
//! ([`dev_signers`]), and the clock is moved with `evm_increaseTime` (about 31 days in all), so
//! the indexer and the API see exactly what a live chain would produce.
//!
//! Public API: [`seed`] → [`SeedReport`]; [`Actor`] (one account acting on the marketplace, also
//! used by the end-to-end tests); [`chain_time`] / [`advance_time`]; [`dev_signers`] /
//! [`DEV_PRIVATE_KEYS`].

mod actor;
mod error;
mod plan;

use alloy::signers::local::PrivateKeySigner;

pub use actor::{Actor, advance_time, chain_time};
pub use error::{Error, Result};
pub use plan::{Roles, SeedReport, SeededAgent, SeededRun, seed};

/// The private keys of Anvil's (and Hardhat's) ten default accounts, derived from the public test
/// mnemonic `test test ... junk`. Public knowledge: never send real funds to them.
pub const DEV_PRIVATE_KEYS: [&str; 10] = [
    "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
    "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
    "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a",
    "0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6",
    "0x47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a",
    "0x8b3a350cf5c34c9194ca85829a2df0ec3153be0318b5e2d3348e872092edffba",
    "0x92db14e403b83dfe3df233f83dfa3a0d7096f21ca9b0d6d6b8d88b2b4ec1564e",
    "0x4bbbf85ce3377467afe5d46f804f221813b2bb87f24d81f60f1fcdbf7cbf4356",
    "0xdbda1821b80551c9d65939329250298aa3472ba22feea921c0cf5d620ea67b97",
    "0x2a871d0798f97d79848a013d4936a73bf4cc922c825d33c1cf7073dff6d409c6",
];

/// Anvil's ten default accounts as signers (account 0 first).
pub fn dev_signers() -> Vec<PrivateKeySigner> {
    DEV_PRIVATE_KEYS
        .iter()
        .map(|key| key.parse().expect("the dev keys are valid secp256k1 keys"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dev_keys_are_anvils_default_accounts() {
        let signers = dev_signers();
        assert_eq!(signers.len(), 10);
        assert_eq!(
            signers[0].address().to_checksum(None),
            "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
        );
        assert_eq!(
            signers[9].address().to_checksum(None),
            "0xa0Ee7A142d267C1f36714E4a8F75612F20a79720"
        );
    }
}
