//! The wallet commands' view of one chain: the provider, the deployment manifest, handles to the
//! contracts, and the one place where transactions are sent, reverts decoded and receipts' events
//! turned into [`Record`]s. USDC pulls (balance check, then allowance, permit or approve) live
//! here too, since `fund`, `createAndFund` and `stake` share them.

use std::time::Duration;

use alloy::{
    contract::{CallBuilder, CallDecoder, Error as ContractError},
    eips::BlockId,
    primitives::{Address, B256, U256, keccak256},
    providers::{DynProvider, Provider},
    rpc::types::Log,
    signers::{Signer, local::PrivateKeySigner},
    sol_types::{SolEventInterface, SolStruct},
};
use eyre::{WrapErr, eyre};
use runs_bindings::{MockUSDC, RunEscrow, StakeVault, decode_revert};
use runs_primitives::{AgentStatus, DeploymentManifest, RunState, Usdc};
use tracing::{debug, info};

use crate::{
    args::{ManifestArgs, OutputArgs, RpcArgs, WalletArgs},
    hints::{ContractRevert, HintedError},
    output::{Record, TxReport, Value},
};

/// How long to wait for a receipt before giving up (the transaction may still be mined later).
const RECEIPT_TIMEOUT: Duration = Duration::from_secs(300);

/// How long a permit signature stays valid, in chain seconds.
const PERMIT_VALIDITY: u64 = 3600;

/// The flags of a command that sends transactions: chain, signer, manifests, output.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct SendArgs {
    #[command(flatten)]
    pub(crate) rpc: RpcArgs,
    #[command(flatten)]
    pub(crate) wallet: WalletArgs,
    #[command(flatten)]
    pub(crate) manifest: ManifestArgs,
    #[command(flatten)]
    pub(crate) output: OutputArgs,
}

impl SendArgs {
    /// Connects with the signer and loads the chain's manifest.
    pub(crate) async fn connect(&self) -> eyre::Result<Chain> {
        Chain::signing(&self.rpc, &self.wallet, &self.manifest).await
    }
}

/// The flags of a command that only reads: chain, manifests, output.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct ReadArgs {
    #[command(flatten)]
    pub(crate) rpc: RpcArgs,
    #[command(flatten)]
    pub(crate) manifest: ManifestArgs,
    #[command(flatten)]
    pub(crate) output: OutputArgs,
}

impl ReadArgs {
    /// Connects and loads the chain's manifest.
    pub(crate) async fn connect(&self) -> eyre::Result<Chain> {
        Chain::read_only(&self.rpc, &self.manifest).await
    }
}

/// How a command pays for a USDC pull.
#[derive(Debug, Clone, Copy, clap::Args)]
pub(crate) struct PullArgs {
    /// Send an `approve` transaction instead of signing an EIP-2612 permit when the allowance is
    /// short (the permit saves a transaction; use this for tokens or signers without it).
    #[arg(long, env = "RUNS_NO_PERMIT")]
    pub(crate) no_permit: bool,
}

/// One chain with the marketplace deployed on it, and optionally a signer.
#[derive(Debug, Clone)]
pub(crate) struct Chain {
    /// The provider (signing when the chain was opened with a wallet).
    pub(crate) provider: DynProvider,
    /// The manifest of this chain's deployment.
    pub(crate) manifest: DeploymentManifest,
    signer: Option<PrivateKeySigner>,
}

/// How a pull of USDC by a contract will be paid for.
#[derive(Debug, Clone)]
pub(crate) enum Pull {
    /// The allowance already covers it.
    Ready,
    /// An `approve` of exactly the amount was sent first.
    Approved(TxReport),
    /// A permit of exactly the amount was signed, for the `...WithPermit` variant.
    Permit(PermitSignature),
}

/// An EIP-2612 permit signature.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PermitSignature {
    /// Last second the permit is valid.
    pub(crate) deadline: U256,
    /// Recovery id, 27 or 28.
    pub(crate) v: u8,
    /// Signature `r`.
    pub(crate) r: B256,
    /// Signature `s`.
    pub(crate) s: B256,
}

alloy::sol! {
    /// The EIP-2612 typed-data struct a permit signs.
    #[derive(Debug)]
    struct Permit {
        address owner;
        address spender;
        uint256 value;
        uint256 nonce;
        uint256 deadline;
    }
}

impl Chain {
    /// Connects without a signer, for reads.
    pub(crate) async fn read_only(rpc: &RpcArgs, manifests: &ManifestArgs) -> eyre::Result<Self> {
        let (provider, chain_id) = rpc.connect().await?;
        let manifest = manifests.load(chain_id)?;
        Ok(Self { provider, manifest, signer: None })
    }

    /// Connects with the wallet's signer, for transactions.
    pub(crate) async fn signing(
        rpc: &RpcArgs,
        wallet: &WalletArgs,
        manifests: &ManifestArgs,
    ) -> eyre::Result<Self> {
        let signer = wallet.signer()?;
        let (provider, chain_id) = rpc.connect_signing(signer.clone()).await?;
        let manifest = manifests.load(chain_id)?;
        Ok(Self { provider, manifest, signer: Some(signer) })
    }

    /// The signing wallet's address.
    pub(crate) fn sender(&self) -> eyre::Result<Address> {
        self.signer.as_ref().map(Signer::address).ok_or_else(|| eyre!("no signer"))
    }

    /// The RunEscrow contract.
    pub(crate) fn escrow(&self) -> RunEscrow::RunEscrowInstance<DynProvider> {
        RunEscrow::new(self.manifest.contracts.run_escrow.address, self.provider.clone())
    }

    /// The StakeVault contract.
    pub(crate) fn vault(&self) -> StakeVault::StakeVaultInstance<DynProvider> {
        StakeVault::new(self.manifest.contracts.stake_vault.address, self.provider.clone())
    }

    /// The USDC token, through the MockUSDC bindings (a superset of the ERC-20 + EIP-2612
    /// surface real USDC has).
    pub(crate) fn usdc(&self) -> MockUSDC::MockUSDCInstance<DynProvider> {
        MockUSDC::new(self.manifest.usdc, self.provider.clone())
    }

    /// The chain's clock: the latest block's timestamp (Anvil's may run ahead of the wall clock).
    pub(crate) async fn now(&self) -> eyre::Result<u64> {
        let block = self
            .provider
            .get_block(BlockId::latest())
            .await
            .wrap_err("reading the latest block")?
            .ok_or_else(|| eyre!("the node returned no latest block"))?;
        Ok(block.header.timestamp)
    }

    /// Runs a view call; a revert becomes a [`ContractRevert`].
    pub(crate) async fn view<D: CallDecoder>(
        &self,
        label: &str,
        call: CallBuilder<&DynProvider, D>,
    ) -> eyre::Result<D::CallOutput> {
        call.call().await.map_err(|err| self.call_error(label, err))
    }

    /// Sends a transaction from the signer, waits for its receipt and decodes its events.
    ///
    /// Gas estimation runs the call first, so a revert is nearly always caught before anything
    /// is sent; one that happens on-chain anyway is replayed at the parent block to decode it.
    pub(crate) async fn send<D: CallDecoder>(
        &self,
        label: &str,
        call: CallBuilder<&DynProvider, D>,
    ) -> eyre::Result<TxReport> {
        let call = call.from(self.sender()?);
        debug!(target: "runs::wallet", call = label, "sending");
        let pending = call.send().await.map_err(|err| self.call_error(label, err))?;
        let hash = *pending.tx_hash();
        info!(target: "runs::wallet", call = label, %hash, "sent, waiting for the receipt");
        let receipt = pending
            .with_timeout(Some(RECEIPT_TIMEOUT))
            .get_receipt()
            .await
            .wrap_err_with(|| format!("{label}: waiting for the receipt of {hash}"))?;
        let block = receipt.block_number.unwrap_or_default();
        if !receipt.status() {
            let replay = call.call_raw().block(BlockId::number(block.saturating_sub(1))).await;
            return Err(match replay {
                Err(err) => self.call_error(label, err),
                Ok(_) => eyre!("{label}: transaction {hash} reverted in block {block}"),
            });
        }
        let events = receipt.inner.logs().iter().filter_map(|log| self.decode_event(log)).collect();
        Ok(TxReport { label: label.to_owned(), hash, block, gas_used: receipt.gas_used, events })
    }

    /// Turns a failed call into the decoded revert when there is one, else a plain error.
    fn call_error(&self, label: &str, err: ContractError) -> eyre::Report {
        let call = match self.signer.as_ref() {
            Some(signer) => format!("{label} from {}", signer.address()),
            None => label.to_owned(),
        };
        if let Some(data) = err.as_revert_data() {
            return match decode_revert(&data) {
                Some(revert) => ContractRevert::new(call, revert).into(),
                None => eyre!("{call} reverted with unknown error data {data}"),
            };
        }
        if let ContractError::TransportError(transport) = &err
            && let Some(resp) = transport.as_error_resp()
            && resp.message.contains("revert")
        {
            return eyre!("{call} reverted without a reason ({})", resp.message);
        }
        eyre::Report::new(err).wrap_err(format!("{call} failed"))
    }

    /// Checks the signer holds `amount` USDC and makes sure `spender` may pull it: nothing when
    /// the allowance suffices, else a permit signature (`use_permit` and the token supports
    /// EIP-2612) or an `approve` of exactly `amount`. `what` explains the amount in the
    /// insufficient-balance message, e.g. `reward 100 + fee 5`.
    pub(crate) async fn prepare_pull(
        &self,
        spender: Address,
        amount: Usdc,
        what: &str,
        use_permit: bool,
    ) -> eyre::Result<Pull> {
        let owner = self.sender()?;
        let usdc = self.usdc();
        let balance = self.view("USDC.balanceOf", usdc.balanceOf(owner)).await?;
        if balance < amount.base_units() {
            return Err(self.insufficient_usdc(owner, balance, amount, what).into());
        }
        let allowance = self.view("USDC.allowance", usdc.allowance(owner, spender)).await?;
        if allowance >= amount.base_units() {
            return Ok(Pull::Ready);
        }
        if use_permit && let Some(signature) = self.sign_permit(spender, amount).await? {
            return Ok(Pull::Permit(signature));
        }
        let tx = self
            .send(
                &format!("USDC.approve({spender}, {amount})"),
                usdc.approve(spender, amount.base_units()),
            )
            .await?;
        Ok(Pull::Approved(tx))
    }

    fn insufficient_usdc(&self, owner: Address, have: U256, need: Usdc, what: &str) -> HintedError {
        let have = Usdc::from_base_units(have);
        let hint = match &self.manifest.contracts.mock_usdc {
            Some(mock) => format!(
                "this is a dev chain with MockUSDC at {}: its owner ({}) can mint, e.g. `cast send {} \
                 'mint(address,uint256)' {owner} {} --private-key <owner key> --rpc-url <url>`",
                mock.address,
                self.manifest.parameters.owner,
                mock.address,
                need.saturating_sub(have).base_units(),
            ),
            None => format!(
                "send at least {} USDC ({}) to {owner}",
                need.saturating_sub(have),
                self.manifest.usdc
            ),
        };
        HintedError {
            message: format!("insufficient USDC: have {have}, need {need} ({what})"),
            hint,
        }
    }

    /// Signs an EIP-2612 permit of exactly `amount` for `spender`, or `None` when the token has
    /// no permit (no `DOMAIN_SEPARATOR()` / `nonces()`), so the caller falls back to `approve`.
    async fn sign_permit(
        &self,
        spender: Address,
        amount: Usdc,
    ) -> eyre::Result<Option<PermitSignature>> {
        let signer = self.signer.as_ref().ok_or_else(|| eyre!("no signer"))?;
        let owner = signer.address();
        let usdc = self.usdc();
        // The token's own domain separator, so its name and version need not be known here.
        let (Ok(domain_separator), Ok(nonce)) =
            (usdc.DOMAIN_SEPARATOR().call().await, usdc.nonces(owner).call().await)
        else {
            debug!(target: "runs::wallet", "token has no EIP-2612 permit, approving instead");
            return Ok(None);
        };
        let deadline = U256::from(self.now().await? + PERMIT_VALIDITY);
        let permit = Permit { owner, spender, value: amount.base_units(), nonce, deadline };
        let mut preimage = Vec::with_capacity(66);
        preimage.extend_from_slice(b"\x19\x01");
        preimage.extend_from_slice(domain_separator.as_slice());
        preimage.extend_from_slice(permit.eip712_hash_struct().as_slice());
        let signature =
            signer.sign_hash(&keccak256(preimage)).await.wrap_err("signing the USDC permit")?;
        Ok(Some(PermitSignature {
            deadline,
            v: 27 + u8::from(signature.v()),
            r: signature.r().into(),
            s: signature.s().into(),
        }))
    }

    /// Decodes a receipt log of the marketplace (and the token's `Approval`) into a record.
    fn decode_event(&self, log: &Log) -> Option<(&'static str, Record)> {
        let contracts = &self.manifest.contracts;
        if log.address() == contracts.run_escrow.address {
            let event = RunEscrow::RunEscrowEvents::decode_log(&log.inner).ok()?.data;
            Some(escrow_event(event))
        } else if log.address() == contracts.stake_vault.address {
            let event = StakeVault::StakeVaultEvents::decode_log(&log.inner).ok()?.data;
            Some(vault_event(event))
        } else if log.address() == self.manifest.usdc {
            match MockUSDC::MockUSDCEvents::decode_log(&log.inner).ok()?.data {
                MockUSDC::MockUSDCEvents::Approval(e) => Some((
                    "Approval",
                    Record::new()
                        .with("owner", Value::Address(e.owner))
                        .with("spender", Value::Address(e.spender))
                        .with("value", Value::amount(e.value)),
                )),
                _ => None,
            }
        } else {
            None
        }
    }
}

/// An id from a `uint256` (ids count up by one, so they fit a `u64`).
pub(crate) fn id(value: U256) -> Value {
    u64::try_from(value).map_or_else(|_| Value::Text(value.to_string()), Value::Id)
}

/// A run state from the contract's `uint8`.
pub(crate) fn run_state(value: u8) -> Value {
    RunState::try_from(value).map_or_else(|_| Value::Count(value.into()), Value::RunState)
}

/// An agent status from the contract's `uint8`.
pub(crate) fn agent_status(value: u8) -> Value {
    AgentStatus::try_from(value).map_or_else(|_| Value::Count(value.into()), Value::AgentStatus)
}

fn escrow_event(event: RunEscrow::RunEscrowEvents) -> (&'static str, Record) {
    use RunEscrow::RunEscrowEvents as E;
    let r = Record::new();
    match event {
        E::RunCreated(e) => (
            "RunCreated",
            r.with("runId", id(e.runId))
                .with("poster", Value::Address(e.poster))
                .with("specURI", Value::Text(e.specURI))
                .with("reward", Value::amount(e.reward))
                .with("fee", Value::amount(e.fee))
                .with("deadline", Value::Time(e.deadline))
                .with("maxRevisions", Value::Count(e.maxRevisions.into()))
                .with("claimTimeout", Value::Duration(e.claimTimeout.into()))
                .with("reviewPeriod", Value::Duration(e.reviewPeriod.into())),
        ),
        E::RunFunded(e) => (
            "RunFunded",
            r.with("runId", id(e.runId))
                .with("poster", Value::Address(e.poster))
                .with("amount", Value::amount(e.amount)),
        ),
        E::RunCancelled(e) => (
            "RunCancelled",
            r.with("runId", id(e.runId))
                .with("poster", Value::Address(e.poster))
                .with("refund", Value::amount(e.refund)),
        ),
        E::Claimed(e) => (
            "Claimed",
            r.with("runId", id(e.runId))
                .with("agentId", id(e.agentId))
                .with("wallet", Value::Address(e.wallet)),
        ),
        E::WorkStarted(e) => {
            ("WorkStarted", r.with("runId", id(e.runId)).with("agentId", id(e.agentId)))
        }
        E::Submitted(e) => (
            "Submitted",
            r.with("runId", id(e.runId))
                .with("agentId", id(e.agentId))
                .with("deliverableURI", Value::Text(e.deliverableURI))
                .with("revisionCount", Value::Count(e.revisionCount.into())),
        ),
        E::RevisionRequested(e) => (
            "RevisionRequested",
            r.with("runId", id(e.runId))
                .with("agentId", id(e.agentId))
                .with("reason", Value::Text(e.reason))
                .with("revisionCount", Value::Count(e.revisionCount.into())),
        ),
        E::Approved(e) => (
            "Approved",
            r.with("runId", id(e.runId))
                .with("agentId", id(e.agentId))
                .with("wallet", Value::Address(e.wallet))
                .with("reward", Value::amount(e.reward))
                .with("fee", Value::amount(e.fee))
                .with("onTimeout", Value::Bool(e.onTimeout)),
        ),
        E::Rejected(e) => (
            "Rejected",
            r.with("runId", id(e.runId))
                .with("agentId", id(e.agentId))
                .with("poster", Value::Address(e.poster))
                .with("refund", Value::amount(e.refund)),
        ),
        E::Slashed(e) => (
            "Slashed",
            r.with("runId", id(e.runId))
                .with("agentId", id(e.agentId))
                .with("poster", Value::Address(e.poster))
                .with("amount", Value::amount(e.amount))
                .with("newState", run_state(e.newState))
                .with("refund", Value::amount(e.refund)),
        ),
        E::RunExpired(e) => (
            "RunExpired",
            r.with("runId", id(e.runId))
                .with("poster", Value::Address(e.poster))
                .with("refund", Value::amount(e.refund)),
        ),
        E::CreditAdded(e) => (
            "CreditAdded",
            r.with("account", Value::Address(e.account))
                .with("runId", id(e.runId))
                .with("amount", Value::amount(e.amount)),
        ),
        E::CreditWithdrawn(e) => (
            "CreditWithdrawn",
            r.with("account", Value::Address(e.account)).with("amount", Value::amount(e.amount)),
        ),
        E::ParametersUpdated(e) => (
            "ParametersUpdated",
            r.with("version", id(e.version))
                .with("feeBps", Value::Count(e.feeBps.into()))
                .with("claimTimeout", Value::Duration(e.claimTimeout.into()))
                .with("reviewPeriod", Value::Duration(e.reviewPeriod.into())),
        ),
        E::TreasuryUpdated(e) => (
            "TreasuryUpdated",
            r.with("previous", Value::Address(e.previous))
                .with("treasury", Value::Address(e.treasury)),
        ),
        E::Paused(e) => ("Paused", r.with("account", Value::Address(e.account))),
        E::Unpaused(e) => ("Unpaused", r.with("account", Value::Address(e.account))),
        E::OwnershipTransferStarted(e) => (
            "OwnershipTransferStarted",
            r.with("previousOwner", Value::Address(e.previousOwner))
                .with("newOwner", Value::Address(e.newOwner)),
        ),
        E::OwnershipTransferred(e) => (
            "OwnershipTransferred",
            r.with("previousOwner", Value::Address(e.previousOwner))
                .with("newOwner", Value::Address(e.newOwner)),
        ),
    }
}

fn vault_event(event: StakeVault::StakeVaultEvents) -> (&'static str, Record) {
    use StakeVault::StakeVaultEvents as E;
    let r = Record::new();
    match event {
        E::AgentRegistered(e) => (
            "AgentRegistered",
            r.with("agentId", id(e.agentId))
                .with("wallet", Value::Address(e.wallet))
                .with("metadataURI", Value::Text(e.metadataURI)),
        ),
        E::Staked(e) => (
            "Staked",
            r.with("agentId", id(e.agentId))
                .with("wallet", Value::Address(e.wallet))
                .with("amount", Value::amount(e.amount))
                .with("totalStake", Value::amount(e.totalStake)),
        ),
        E::UnstakeRequested(e) => (
            "UnstakeRequested",
            r.with("agentId", id(e.agentId))
                .with("amount", Value::amount(e.amount))
                .with("totalStake", Value::amount(e.totalStake))
                .with("totalPending", Value::amount(e.totalPending))
                .with("readyAt", Value::Time(e.readyAt)),
        ),
        E::StakeWithdrawn(e) => (
            "StakeWithdrawn",
            r.with("agentId", id(e.agentId))
                .with("wallet", Value::Address(e.wallet))
                .with("amount", Value::amount(e.amount)),
        ),
        E::StakeSlashed(e) => (
            "StakeSlashed",
            r.with("agentId", id(e.agentId))
                .with("runId", id(e.runId))
                .with("amount", Value::amount(e.amount))
                .with("stakeAfter", Value::amount(e.stakeAfter))
                .with("pendingAfter", Value::amount(e.pendingAfter))
                .with("strikes", Value::Count(e.strikes.into())),
        ),
        E::AgentStatusChanged(e) => (
            "AgentStatusChanged",
            r.with("agentId", id(e.agentId))
                .with("previous", agent_status(e.previous))
                .with("current", agent_status(e.current)),
        ),
        E::RunEscrowSet(e) => ("RunEscrowSet", r.with("runEscrow", Value::Address(e.runEscrow))),
        E::ParametersUpdated(e) => (
            "ParametersUpdated",
            r.with("minStake", Value::amount(U256::from(e.minStake)))
                .with("unstakeCooldown", Value::Duration(e.unstakeCooldown.into()))
                .with("strikesToBan", Value::Count(e.strikesToBan.into()))
                .with("establishedCompletions", Value::Count(e.establishedCompletions.into()))
                .with("establishedAge", Value::Duration(e.establishedAge.into())),
        ),
        E::OwnershipTransferStarted(e) => (
            "OwnershipTransferStarted",
            r.with("previousOwner", Value::Address(e.previousOwner))
                .with("newOwner", Value::Address(e.newOwner)),
        ),
        E::OwnershipTransferred(e) => (
            "OwnershipTransferred",
            r.with("previousOwner", Value::Address(e.previousOwner))
                .with("newOwner", Value::Address(e.newOwner)),
        ),
    }
}
