//! The wallet commands' view of one chain: the provider, the deployment manifest, handles to the
//! contracts, and where their transactions go out (through [`runs_bindings::send`]), reverts
//! become hinted errors and receipts' events become [`Record`]s. USDC pulls (balance check, then allowance, permit or approve) live
//! here too, since `fund`, `createAndFund` and `stake` share them.

use alloy::{
    contract::{CallBuilder, CallDecoder},
    dyn_abi::DynSolValue,
    eips::BlockId,
    json_abi::InternalType,
    primitives::{Address, B256, U256, keccak256},
    providers::{DynProvider, Provider},
    rpc::types::Log,
    signers::{Signer, local::PrivateKeySigner},
    sol_types::SolStruct,
};
use eyre::{WrapErr, eyre};
use runs_bindings::{Abi, CallFailure, MockUSDC, RECEIPT_TIMEOUT, RunEscrow, StakeVault, TxError};
use runs_primitives::{AgentStatus, DeploymentManifest, RunState, Usdc};
use tracing::{debug, info};

use crate::{
    args::{ManifestArgs, RpcArgs, WalletArgs},
    hints::{ContractRevert, HintedError},
    output::{Record, TxReport, Value},
};

/// How long a permit signature stays valid, in chain seconds.
const PERMIT_VALIDITY: u64 = 3600;

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
        call.call().await.map_err(|err| self.call_error(label, err.into()))
    }

    /// Sends a transaction from the signer, waits for its receipt and decodes its events; a
    /// revert, caught in gas estimation or replayed after mining, becomes a [`ContractRevert`].
    pub(crate) async fn send<D: CallDecoder>(
        &self,
        label: &str,
        call: CallBuilder<&DynProvider, D>,
    ) -> eyre::Result<TxReport> {
        let tx = call.from(self.sender()?).into_transaction_request();
        info!(target: "runs::wallet", call = label, "sending");
        let receipt = runs_bindings::send(&self.provider, tx, RECEIPT_TIMEOUT).await.map_err(
            |err| match err {
                TxError::Refused(failure) | TxError::Reverted { reason: Some(failure), .. } => {
                    self.call_error(label, failure)
                }
                other => eyre!("{label}: {other}"),
            },
        )?;
        let (hash, block) = (receipt.transaction_hash, receipt.block_number.unwrap_or_default());
        info!(target: "runs::wallet", call = label, %hash, block, "mined");
        let events = receipt.inner.logs().iter().filter_map(|log| self.decode_event(log)).collect();
        Ok(TxReport { label: label.to_owned(), hash, block, gas_used: receipt.gas_used, events })
    }

    /// Turns a failed call into the decoded revert (with its hint) when there is one, else a
    /// plain error naming the call and the signer.
    fn call_error(&self, label: &str, failure: CallFailure) -> eyre::Report {
        let call = match self.signer.as_ref() {
            Some(signer) => format!("{label} from {}", signer.address()),
            None => label.to_owned(),
        };
        match failure {
            CallFailure::Reverted { data, revert } => {
                ContractRevert::new(call, &data, revert).into()
            }
            CallFailure::Undecodable { data } => {
                eyre!("{call} reverted with unknown error data {data}")
            }
            CallFailure::NoReason { message } => {
                eyre!("{call} reverted without a reason ({message})")
            }
            CallFailure::Other(err) => eyre::Report::new(err).wrap_err(format!("{call} failed")),
        }
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

    /// Decodes a receipt log of the marketplace (and the token's `Approval`) into a record,
    /// generically from the ABI (see [`render_event`]).
    fn decode_event(&self, log: &Log) -> Option<(String, Record)> {
        let contracts = &self.manifest.contracts;
        let abi = if log.address() == contracts.run_escrow.address {
            Abi::RunEscrow
        } else if log.address() == contracts.stake_vault.address {
            Abi::StakeVault
        } else if log.address() == self.manifest.usdc {
            // Of the token's events only the allowance matters here; transfers are implied by
            // the marketplace's own events.
            Abi::MockUsdc
        } else {
            return None;
        };
        let (name, record) = render_event(abi, log)?;
        let wanted = abi != Abi::MockUsdc || name == "Approval";
        wanted.then_some((name, record))
    }
}

/// Decodes `log` from the ABI ([`runs_bindings::decode_event`]) into the event's name and a
/// record of its arguments. A new event in the contracts needs no code here.
fn render_event(abi: Abi, log: &Log) -> Option<(String, Record)> {
    let event = runs_bindings::decode_event(abi, &log.inner.data)?;
    let mut record = Record::new();
    for field in &event.fields {
        let value = typed(&field.name, field.internal_type.as_ref(), &field.value);
        record.push(field.name.clone(), value);
    }
    Some((event.name, record))
}

/// How one ABI value prints. The ABI gives the Solidity type (and the enum an `uint8` encodes);
/// what an integer means (an id, a time, a duration, a count or an amount) follows the
/// contracts' naming conventions, which a test checks against every event.
fn typed(name: &str, internal_type: Option<&InternalType>, value: &DynSolValue) -> Value {
    let enum_name = internal_type.and_then(InternalType::as_enum).map(|(_, name)| name);
    match value {
        DynSolValue::Address(address) => Value::Address(*address),
        DynSolValue::Bool(flag) => Value::Bool(*flag),
        DynSolValue::String(text) => Value::Text(text.clone()),
        DynSolValue::Uint(v, _) => match (enum_name, u8::try_from(*v)) {
            (Some("RunState"), Ok(raw)) => run_state(raw),
            (Some("AgentStatus"), Ok(raw)) => agent_status(raw),
            (Some("Outcome"), Ok(raw)) => runs_primitives::ClaimOutcome::try_from(raw)
                .map_or_else(|_| Value::Count(raw.into()), |o| Value::Text(o.as_str().to_owned())),
            _ => match uint_kind(name) {
                UintKind::Id => id(*v),
                UintKind::Time => Value::Time(u64::try_from(*v).unwrap_or(u64::MAX)),
                UintKind::Duration => Value::Duration(u64::try_from(*v).unwrap_or(u64::MAX)),
                UintKind::Count => Value::Count(u64::try_from(*v).unwrap_or(u64::MAX)),
                UintKind::Amount => Value::amount(*v),
            },
        },
        other => Value::Text(format!("{other:?}")),
    }
}

/// What an unsigned integer parameter means, by its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum UintKind {
    Id,
    Time,
    Duration,
    Count,
    Amount,
}

fn uint_kind(name: &str) -> UintKind {
    let ends = |suffixes: &[&str]| suffixes.iter().any(|suffix| name.ends_with(suffix));
    if ends(&["Id", "ersion"]) {
        UintKind::Id
    } else if name == "deadline" || ends(&["At"]) {
        UintKind::Time
    } else if ends(&["Timeout", "Period", "Window", "Cooldown", "Age"]) {
        UintKind::Duration
    } else if ends(&["Bps", "Count", "Revisions", "Completions", "strikes", "Ban", "outcome"]) {
        UintKind::Count
    } else {
        UintKind::Amount
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

#[cfg(test)]
mod tests {
    use alloy::{
        primitives::{Address, LogData},
        rpc::types::Log,
        sol_types::SolEvent,
    };

    use super::*;

    fn log(data: LogData) -> Log {
        Log { inner: alloy::primitives::Log { address: Address::ZERO, data }, ..Log::default() }
    }

    #[test]
    fn renders_any_event_from_the_abi_with_structs_flattened() {
        let ruling = RunEscrow::DisputeResolved {
            runId: U256::from(7),
            agentId: U256::from(2),
            arbitrator: Address::repeat_byte(9),
            ruling: runs_bindings::IRunEscrow::Ruling {
                agentShareBps: 6_000,
                toAgent: U256::from(60_000_000),
                toTreasury: U256::from(3_000_000),
                toPoster: U256::from(40_000_000),
                bond: U256::from(20_000_000),
                stakeForfeited: U256::ZERO,
                strike: false,
                byDefault: false,
            },
        };
        let (name, record) = render_event(Abi::RunEscrow, &log(ruling.encode_log_data())).unwrap();
        assert_eq!(name, "DisputeResolved");
        assert_eq!(
            record.inline(0),
            format!(
                "runId: 7, agentId: 2, arbitrator: {}, agentShareBps: 6000, toAgent: 60 USDC, \
                 toTreasury: 3 USDC, toPoster: 40 USDC, bond: 20 USDC, stakeForfeited: 0 USDC, \
                 strike: false, byDefault: false",
                Address::repeat_byte(9)
            )
        );

        let slashed = RunEscrow::Slashed {
            runId: U256::from(3),
            agentId: U256::from(1),
            poster: Address::ZERO,
            amount: U256::from(20_000_000),
            newState: RunState::Expired.as_u8(),
            refund: U256::from(105_000_000),
        };
        let (_, record) = render_event(Abi::RunEscrow, &log(slashed.encode_log_data())).unwrap();
        assert!(matches!(record.get("newState"), Some(Value::RunState(RunState::Expired))));

        let forfeited = StakeVault::StakeForfeited {
            agentId: U256::from(1),
            runId: U256::from(3),
            amount: U256::from(20_000_000),
            outcome: runs_primitives::ClaimOutcome::Abandoned.as_u8(),
            remainingStake: U256::ZERO,
            strikes: 0,
        };
        let (_, record) = render_event(Abi::StakeVault, &log(forfeited.encode_log_data())).unwrap();
        assert!(
            matches!(record.get("outcome"), Some(Value::Text(t)) if t == "ABANDONED"),
            "{:?}",
            record.get("outcome")
        );
    }

    #[test]
    fn every_event_parameter_has_an_intended_kind() {
        use UintKind::*;
        let expected = |name: &str| match name {
            "runId" | "agentId" | "version" | "termsVersion" => Id,
            "deadline" | "readyAt" => Time,
            "claimTimeout" | "reviewPeriod" | "disputeWindow" | "rulingPeriod"
            | "unstakeCooldown" | "establishedAge" => Duration,
            "feeBps"
            | "agentShareBps"
            | "revisionCount"
            | "maxRevisions"
            | "strikes"
            | "strikesToBan"
            | "establishedCompletions"
            | "outcome" => Count,
            _ => Amount,
        };
        let amounts = [
            "amount",
            "reward",
            "fee",
            "requiredStake",
            "refund",
            "reserved",
            "bond",
            "stakeForfeited",
            "toAgent",
            "toTreasury",
            "toPoster",
            "totalStake",
            "totalPending",
            "remainingStake",
            "minStake",
            "value",
        ];
        for json in [runs_bindings::RUN_ESCROW_ABI, runs_bindings::STAKE_VAULT_ABI] {
            let abi: alloy::json_abi::JsonAbi = serde_json::from_str(json).unwrap();
            for event in abi.events() {
                let params = event.inputs.iter().flat_map(|p| {
                    if p.components.is_empty() {
                        vec![(p.name.clone(), p.ty.clone(), p.internal_type.clone())]
                    } else {
                        p.components
                            .iter()
                            .map(|c| (c.name.clone(), c.ty.clone(), c.internal_type.clone()))
                            .collect()
                    }
                });
                for (name, ty, internal_type) in params {
                    let named_enum = internal_type
                        .as_ref()
                        .and_then(InternalType::as_enum)
                        .is_some_and(|(_, e)| e == "RunState" || e == "AgentStatus");
                    if !ty.starts_with("uint") || named_enum {
                        continue;
                    }
                    let kind = uint_kind(&name);
                    assert_eq!(kind, expected(&name), "{}.{name}", event.name);
                    if kind == Amount {
                        assert!(
                            amounts.contains(&name.as_str()),
                            "{}.{name}: an amount?",
                            event.name
                        );
                    }
                }
            }
        }
    }
}
