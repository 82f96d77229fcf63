//! Deploys the compiled contracts through any alloy provider that can sign for the deployer,
//! binds the vault to the escrow and returns the deployment manifest.
//!
//! Order: MockUSDC (dev chain only), StakeVault, RunEscrow, `StakeVault.setRunEscrow`, and, when
//! the owner is not the deployer, `StakeVault.transferOwnership(owner)`.
//!
//! Roles (the same defaults as `script/Deploy.s.sol`, so both write the same manifest): the
//! arbitrator is the deployer on the dev chain and must be named elsewhere (it should be a
//! contract that can rotate its keys); the treasury is the deployer, except where the deployer is
//! also the arbitrator, where it is the keyless [`DEV_TREASURY`] — the escrow refuses a treasury
//! that is, or ever was, an arbitrator. Every transaction is sent
//! one at a time and its receipt awaited and checked; every contract's code is checked afterwards.
//!
//! Ownership: `RunEscrow` is deployed with the final owner directly. `StakeVault` must be owned by
//! the deployer until `setRunEscrow` has bound it, so with a different `owner` it is handed over
//! with `transferOwnership`; both contracts are `Ownable2Step`, so the new owner must then call
//! `acceptOwnership()` on the vault before it can change the vault's parameters. Until then
//! `owner()` is still the deployer and `pendingOwner()` is the new owner.

use alloy::{
    network::TransactionBuilder,
    primitives::{Address, Bytes, address},
    providers::Provider,
    rpc::types::{TransactionReceipt, TransactionRequest},
    sol_types::SolConstructor,
};
use runs_bindings::{MockUSDC, RECEIPT_TIMEOUT, RunEscrow, StakeVault};
use runs_primitives::{DeployedContract, DeployedContracts, DeploymentManifest, Parameters, Usdc};
use tracing::info;

use crate::{CompiledContracts, Error, Result};

/// Anvil's (and Hardhat's) chain id: the only chain where a MockUSDC is deployed by default.
pub const DEV_CHAIN_ID: u64 = 31337;

/// The dev chain's default treasury when the deployer is the arbitrator:
/// `keccak256("runs.devnet.treasury")`, an address no one holds a key for (the same constant as
/// `Deploy.s.sol`'s `DEV_TREASURY`). Fees sent there are burnt, which is fine on a dev chain.
pub const DEV_TREASURY: Address = address!("0x94bDfE1ba7445cfB3B5466A791850F93055205e5");

/// The canonical USDC of the chains the marketplace is meant for (Circle's deployments).
pub fn known_usdc(chain_id: u64) -> Option<Address> {
    let address = match chain_id {
        1 => "0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48",
        8453 => "0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913",
        84532 => "0x036CbD53842c5426634e7929541eC2318f3dCF7e",
        11155111 => "0x1c7D4B196Cb0C7B01d743Fbc6116a902379C7238",
        _ => return None,
    };
    Some(address.parse().expect("valid literal address"))
}

/// Which USDC token the marketplace uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum UsdcSource {
    /// The chain's known USDC ([`known_usdc`]); on the dev chain ([`DEV_CHAIN_ID`]) a fresh
    /// MockUSDC; on any other chain an error asking for an explicit address.
    #[default]
    Auto,
    /// This token, on any chain.
    Explicit(Address),
    /// A fresh MockUSDC owned by the deployer, on any chain (tests, private devnets).
    DeployMock,
}

/// The SPEC §2.1 parameters a deployment starts with (the owner may change them later).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeployParameters {
    /// Platform fee in basis points (at most 1000).
    pub fee_bps: u16,
    /// Minimum stake to claim.
    pub min_stake: Usdc,
    /// Seconds from a claim or revision request to the submission deadline (1 h .. 90 d).
    pub claim_timeout: u64,
    /// Seconds the poster has to decide on a submission (1 h .. 90 d).
    pub review_period: u64,
    /// Seconds from a rejection in which the agent may dispute it (1 d .. 30 d).
    pub dispute_window: u64,
    /// Seconds from a dispute in which the arbitrator may rule (1 d .. 90 d).
    pub ruling_period: u64,
    /// Seconds between `requestUnstake` and `withdrawStake` (never shorter than the claim timeout).
    pub unstake_cooldown: u64,
    /// Slashes that ban an agent.
    pub strikes_to_ban: u32,
    /// Approved runs needed to become ESTABLISHED.
    pub established_completions: u32,
    /// Seconds since first reaching the minimum stake needed to become ESTABLISHED.
    pub established_age: u64,
}

const DAY: u64 = 86_400;

impl Default for DeployParameters {
    fn default() -> Self {
        Self {
            fee_bps: 500,
            min_stake: Usdc::whole(20),
            claim_timeout: 7 * DAY,
            review_period: 7 * DAY,
            dispute_window: 3 * DAY,
            ruling_period: 14 * DAY,
            unstake_cooldown: 7 * DAY,
            strikes_to_ban: 3,
            established_completions: 5,
            established_age: 30 * DAY,
        }
    }
}

/// What to deploy and with which settings.
#[derive(Debug, Clone, Default)]
pub struct DeployConfig {
    /// The USDC token.
    pub usdc: UsdcSource,
    /// Owner of both contracts; the deployer when `None`. See the module docs for the
    /// two-step hand-over of the vault.
    pub owner: Option<Address>,
    /// Where fees go; when `None`, the deployer, or [`DEV_TREASURY`] when the deployer is the
    /// arbitrator. Never the arbitrator.
    pub treasury: Option<Address>,
    /// Who rules on disputes of runs created under the initial terms; when `None`, the deployer
    /// on the dev chain ([`DEV_CHAIN_ID`]) and an error on any other chain.
    pub arbitrator: Option<Address>,
    /// Initial parameters.
    pub parameters: DeployParameters,
    /// Recorded in the manifest: the git commit the contracts were built from.
    pub commit: String,
}

/// Deploys the marketplace from `from` (which `provider` must be able to sign for) and returns
/// its manifest. Nothing is written to disk: save the manifest with [`DeploymentManifest::save`].
pub async fn deploy<P: Provider>(
    provider: &P,
    from: Address,
    contracts: &CompiledContracts,
    config: &DeployConfig,
) -> Result<DeploymentManifest> {
    let chain_id = provider
        .get_chain_id()
        .await
        .map_err(|source| Error::Rpc { step: "reading the chain id".into(), source })?;
    let owner = config.owner.unwrap_or(from);
    // Every refusal that needs no transaction comes first, so it costs nothing.
    let existing_usdc = match config.usdc {
        UsdcSource::Explicit(usdc) => Some(usdc),
        UsdcSource::Auto if chain_id != DEV_CHAIN_ID => Some(
            known_usdc(chain_id)
                .ok_or(Error::UnknownUsdc { chain_id, dev_chain_id: DEV_CHAIN_ID })?,
        ),
        UsdcSource::Auto | UsdcSource::DeployMock => None,
    };
    let (arbitrator, treasury) = config.roles(chain_id, from)?;
    let params = &config.parameters;
    let vault_params = vault_parameters(params)?;
    let escrow_params = escrow_parameters(params, arbitrator)?;

    let tx = Sender { provider, from };
    let (usdc, mock_usdc) = match existing_usdc {
        Some(usdc) => (usdc, None),
        None => {
            let args = MockUSDC::constructorCall { owner: from };
            let mock = tx.create("MockUSDC", &contracts.mock_usdc.bytecode, &args).await?;
            (mock.address, Some(mock))
        }
    };
    if mock_usdc.is_none() {
        let code = tx.code("USDC", usdc).await?;
        if code.is_empty() {
            return Err(Error::UsdcNoCode { usdc, chain_id });
        }
    }

    let vault_args = StakeVault::constructorCall {
        usdc_: usdc,
        owner_: from,
        // The bindings keep `IStakeVault.Parameters` private; its tuple converts into it.
        parameters_: vault_params.into(),
    };
    let vault = tx.create("StakeVault", &contracts.stake_vault.bytecode, &vault_args).await?;

    let escrow_args = RunEscrow::constructorCall {
        usdc_: usdc,
        vault_: vault.address,
        owner_: owner,
        treasury_: treasury,
        parameters_: escrow_params.into(),
    };
    let escrow = tx.create("RunEscrow", &contracts.run_escrow.bytecode, &escrow_args).await?;

    let vault_contract = StakeVault::new(vault.address, provider);
    let bind = vault_contract.setRunEscrow(escrow.address).into_transaction_request();
    tx.send("binding StakeVault to RunEscrow (setRunEscrow)", bind).await?;
    if owner != from {
        let hand_over = vault_contract.transferOwnership(owner).into_transaction_request();
        tx.send("handing StakeVault over to the owner (transferOwnership)", hand_over).await?;
        info!(target: "runs::deployer", %owner, vault = %vault.address,
            "the owner must call acceptOwnership() on StakeVault to complete the hand-over");
    }

    Ok(DeploymentManifest {
        chain_id,
        usdc,
        contracts: DeployedContracts { stake_vault: vault, run_escrow: escrow, mock_usdc },
        parameters: Parameters {
            fee_bps: params.fee_bps,
            min_stake: params.min_stake,
            claim_timeout: params.claim_timeout,
            review_period: params.review_period,
            dispute_window: params.dispute_window,
            ruling_period: params.ruling_period,
            arbitrator,
            unstake_cooldown: params.unstake_cooldown,
            strikes_to_ban: params.strikes_to_ban,
            established_completions: params.established_completions,
            established_age: params.established_age,
            treasury,
            owner,
        },
        commit: config.commit.clone(),
    })
}

/// Mints MockUSDC to each recipient, signed by `from` (the MockUSDC's owner, i.e. the deployer).
/// Only for a deployment with a MockUSDC; a real USDC has no public mint.
pub async fn mint_mock_usdc<P: Provider>(
    provider: &P,
    from: Address,
    mock_usdc: Address,
    recipients: &[(Address, Usdc)],
) -> Result<()> {
    let tx = Sender { provider, from };
    let token = MockUSDC::new(mock_usdc, provider);
    for &(to, amount) in recipients {
        let mint = token.mint(to, amount.base_units()).into_transaction_request();
        tx.send(&format!("minting {amount} MockUSDC to {to}"), mint).await?;
    }
    Ok(())
}

impl DeployConfig {
    /// The `(arbitrator, treasury)` a deployment from `from` on `chain_id` gets: the defaults of
    /// the module docs, or the refusal (no arbitrator off the dev chain, the zero arbitrator, a
    /// treasury that is the arbitrator). Needs no transaction: [`deploy`] checks it first, and a
    /// caller may check it before compiling.
    pub fn roles(&self, chain_id: u64, from: Address) -> Result<(Address, Address)> {
        roles(chain_id, from, self)
    }
}

fn roles(chain_id: u64, from: Address, config: &DeployConfig) -> Result<(Address, Address)> {
    let arbitrator = match config.arbitrator {
        Some(arbitrator) => arbitrator,
        None if chain_id == DEV_CHAIN_ID => from,
        None => return Err(Error::ArbitratorRequired { chain_id, dev_chain_id: DEV_CHAIN_ID }),
    };
    if arbitrator.is_zero() {
        return Err(Error::InvalidParameter {
            name: "arbitrator",
            value: arbitrator.to_string(),
            reason: "the zero address can never rule".into(),
        });
    }
    let treasury = config.treasury.unwrap_or(if arbitrator == from { DEV_TREASURY } else { from });
    if treasury == arbitrator {
        return Err(Error::TreasuryIsArbitrator(treasury));
    }
    Ok((arbitrator, treasury))
}

/// The escrow's `Parameters` struct as its tuple (`feeBps, claimTimeout, reviewPeriod,
/// disputeWindow, rulingPeriod, arbitrator`), checking each value fits the width the contract
/// stores it in (the ranges are the contract's to check: its revert names them).
fn escrow_parameters(
    params: &DeployParameters,
    arbitrator: Address,
) -> Result<(u16, u32, u32, u32, u32, Address)> {
    Ok((
        params.fee_bps,
        fit("claimTimeout", params.claim_timeout)?,
        fit("reviewPeriod", params.review_period)?,
        fit("disputeWindow", params.dispute_window)?,
        fit("rulingPeriod", params.ruling_period)?,
        arbitrator,
    ))
}

/// The vault's `Parameters` struct as its tuple (`minStake, unstakeCooldown, strikesToBan,
/// establishedCompletions, establishedAge`), checking each value fits the width the contract
/// stores it in.
fn vault_parameters(params: &DeployParameters) -> Result<(u64, u32, u16, u16, u32)> {
    let min_stake =
        u64::try_from(params.min_stake.base_units()).map_err(|_| Error::InvalidParameter {
            name: "minStake",
            value: params.min_stake.to_string(),
            reason: "at most 64 bits of base units".into(),
        })?;
    Ok((
        min_stake,
        fit("unstakeCooldown", params.unstake_cooldown)?,
        fit("strikesToBan", params.strikes_to_ban.into())?,
        fit("establishedCompletions", params.established_completions.into())?,
        fit("establishedAge", params.established_age)?,
    ))
}

/// `value` narrowed to the width `T` the contract stores parameter `name` in.
fn fit<T: TryFrom<u64>>(name: &'static str, value: u64) -> Result<T> {
    T::try_from(value).map_err(|_| Error::InvalidParameter {
        name,
        value: value.to_string(),
        reason: format!("at most {} bits", size_of::<T>() * 8),
    })
}

/// Sends transactions from one account, one at a time, turning every failure into an [`Error`]
/// that names the step.
struct Sender<'a, P> {
    provider: &'a P,
    from: Address,
}

impl<P: Provider> Sender<'_, P> {
    /// Deploys `bytecode` with ABI-encoded constructor `args`, checks code exists at the new
    /// address and returns where and when it landed.
    async fn create<C: SolConstructor>(
        &self,
        name: &str,
        bytecode: &Bytes,
        args: &C,
    ) -> Result<DeployedContract> {
        let step = format!("deploying {name}");
        let mut code = bytecode.to_vec();
        code.extend_from_slice(&args.abi_encode());
        let receipt =
            self.send(&step, TransactionRequest::default().with_deploy_code(code)).await?;
        let tx_hash = receipt.transaction_hash;
        let address = receipt.contract_address.ok_or_else(|| Error::NoCode {
            step: step.clone(),
            address: Address::ZERO,
            tx_hash,
        })?;
        if self.code(&step, address).await?.is_empty() {
            return Err(Error::NoCode { step, address, tx_hash });
        }
        let block_number = receipt.block_number.unwrap_or_default();
        info!(target: "runs::deployer", contract = name, %address, %tx_hash, block_number, "deployed");
        Ok(DeployedContract { address, tx_hash, block_number })
    }

    /// Sends `tx` from the deployer, waits for its receipt and checks it succeeded.
    async fn send(&self, step: &str, tx: TransactionRequest) -> Result<TransactionReceipt> {
        // The nonce comes from the node, not the provider's nonce cache: alloy's default cache
        // hands out a nonce even to a transaction that then fails estimation, and the gap would
        // stall every later transaction from this account. Transactions go one at a time, each
        // mined before the next, so the pending count is exact.
        let nonce =
            self.provider.get_transaction_count(self.from).pending().await.map_err(|source| {
                Error::Rpc { step: format!("{step}: reading the nonce of {}", self.from), source }
            })?;
        let tx = tx.with_from(self.from).with_nonce(nonce);
        runs_bindings::send(self.provider, tx, RECEIPT_TIMEOUT)
            .await
            .map_err(|source| Error::Send { step: step.to_owned(), source: Box::new(source) })
    }

    async fn code(&self, step: &str, address: Address) -> Result<Bytes> {
        self.provider.get_code_at(address).await.map_err(|source| Error::Rpc {
            step: format!("{step}: reading code at {address}"),
            source,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn knows_the_usdc_of_the_target_chains() {
        assert_eq!(
            known_usdc(84532).unwrap().to_checksum(None),
            "0x036CbD53842c5426634e7929541eC2318f3dCF7e"
        );
        assert_eq!(
            known_usdc(11155111).unwrap().to_checksum(None),
            "0x1c7D4B196Cb0C7B01d743Fbc6116a902379C7238"
        );
        assert!(known_usdc(1).is_some() && known_usdc(8453).is_some());
        assert_eq!(known_usdc(DEV_CHAIN_ID), None);
        assert_eq!(known_usdc(10), None);
    }

    #[test]
    fn defaults_are_the_spec_parameters() {
        let params = DeployParameters::default();
        assert_eq!(params.fee_bps, 500);
        assert_eq!(params.min_stake.to_string(), "20");
        assert_eq!(params.claim_timeout, 604_800);
        assert_eq!(params.unstake_cooldown, 604_800);
        assert_eq!(params.established_age, 2_592_000);
        assert_eq!(params.dispute_window, 259_200);
        assert_eq!(params.ruling_period, 1_209_600);
        let vault = vault_parameters(&params).unwrap();
        assert_eq!(vault, (20_000_000, 604_800, 3, 5, 2_592_000));
        let arbitrator = Address::repeat_byte(7);
        let escrow = escrow_parameters(&params, arbitrator).unwrap();
        assert_eq!(escrow, (500, 604_800, 604_800, 259_200, 1_209_600, arbitrator));
    }

    #[test]
    fn the_dev_treasury_is_the_scripts_keyless_address() {
        let hash = alloy::primitives::keccak256("runs.devnet.treasury");
        assert_eq!(DEV_TREASURY, Address::from_slice(&hash[12..]));
    }

    #[test]
    fn roles_default_like_the_forge_script() {
        let deployer = Address::repeat_byte(1);
        let other = Address::repeat_byte(2);
        let config = DeployConfig::default();
        // Dev chain: the deployer rules, so fees go to the keyless treasury.
        assert_eq!(roles(DEV_CHAIN_ID, deployer, &config).unwrap(), (deployer, DEV_TREASURY));
        // Elsewhere an arbitrator must be named; the deployer is then the treasury.
        let err = roles(84532, deployer, &config).unwrap_err();
        assert!(matches!(err, Error::ArbitratorRequired { chain_id: 84532, .. }), "{err}");
        assert!(err.to_string().contains("--arbitrator"), "{err}");
        let config = DeployConfig { arbitrator: Some(other), ..Default::default() };
        assert_eq!(roles(84532, deployer, &config).unwrap(), (other, deployer));
    }

    #[test]
    fn the_treasury_is_never_the_arbitrator() {
        let deployer = Address::repeat_byte(1);
        let config = DeployConfig { treasury: Some(deployer), ..Default::default() };
        let err = roles(DEV_CHAIN_ID, deployer, &config).unwrap_err();
        assert!(matches!(err, Error::TreasuryIsArbitrator(t) if t == deployer), "{err}");
        assert!(err.to_string().contains("--treasury"), "{err}");
        let config = DeployConfig { arbitrator: Some(Address::ZERO), ..Default::default() };
        let err = roles(DEV_CHAIN_ID, deployer, &config).unwrap_err();
        assert!(err.to_string().contains("arbitrator"), "{err}");
    }

    #[test]
    fn parameters_too_wide_for_the_contract_are_refused() {
        let params =
            DeployParameters { unstake_cooldown: u64::from(u32::MAX) + 1, ..Default::default() };
        let err = vault_parameters(&params).unwrap_err();
        assert!(err.to_string().contains("unstakeCooldown"), "{err}");
        let params = DeployParameters { strikes_to_ban: 70_000, ..Default::default() };
        assert!(vault_parameters(&params).unwrap_err().to_string().contains("strikesToBan"));
        let params =
            DeployParameters { ruling_period: u64::from(u32::MAX) + 1, ..Default::default() };
        let err = escrow_parameters(&params, Address::repeat_byte(7)).unwrap_err();
        assert!(err.to_string().contains("rulingPeriod"), "{err}");
    }
}
