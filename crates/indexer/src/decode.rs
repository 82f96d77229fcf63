//! Turns the contracts' logs into domain events, through the generated event enums of the
//! bindings (never by indexing topics by hand).
//!
//! Each event a reducer needs has its variant; any other event of the contracts (one added later
//! included) is named and decoded from the ABI into [`MarketEvent::Other`], with no code here.
//! Ownership transfers and logs whose first topic is no event of the contract are skipped. A log whose topic names a known event but whose data does
//! not decode is an error: the ABI and the chain disagree, and skipping it would lose state.

use alloy::{
    dyn_abi::DynSolValue,
    primitives::{Address, Log as PrimitiveLog, U256},
    rpc::types::Log,
    sol_types::SolEventInterface,
};
use runs_bindings::{Abi, RunEscrow, StakeVault};
use runs_primitives::{
    AgentId, AgentStatus, ChainEvent, ClaimOutcome, LogPosition, MarketEvent, OtherEvent, RunId,
    RunState, Usdc,
};
use serde_json::Value;

/// The two contracts whose logs are indexed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Contracts {
    /// `RunEscrow`.
    pub run_escrow: Address,
    /// `StakeVault`.
    pub stake_vault: Address,
}

impl Contracts {
    /// Both addresses, for the `eth_getLogs` filter.
    pub fn addresses(&self) -> Vec<Address> {
        vec![self.stake_vault, self.run_escrow]
    }
}

/// Why a log could not be turned into an event.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    /// The log's topic names an event of the contract but its topics or data do not decode.
    #[error("log of {contract} with a known event topic does not decode: {source}")]
    Abi {
        /// Which contract emitted it.
        contract: &'static str,
        /// The ABI decoder's complaint.
        #[source]
        source: alloy::sol_types::Error,
    },
    /// A decoded value does not fit the domain type (an id above `u64`, an unknown enum value).
    #[error("{event} carries an out-of-range value: {source}")]
    Value {
        /// The event.
        event: &'static str,
        /// What did not fit.
        #[source]
        source: runs_primitives::Error,
    },
    /// The generated bindings decoded the log but the ABI-driven decoder did not (cannot happen
    /// while both come from the same ABI file).
    #[error("{event} does not decode from the ABI")]
    Dynamic {
        /// The event.
        event: &'static str,
    },
    /// The node returned a log without a field that a mined log always has.
    #[error("log is missing its {0} (a pending log?)")]
    MissingField(&'static str),
}

/// Decodes one mined log into a [`ChainEvent`] at `block_timestamp`. `Ok(None)` for logs the
/// indexer does not keep (other contracts, ownership transfers, unknown topics).
pub fn decode_log(
    log: &Log,
    contracts: &Contracts,
    block_timestamp: u64,
) -> Result<Option<ChainEvent>, DecodeError> {
    let Some(event) = decode_event(&log.inner, contracts)? else {
        return Ok(None);
    };
    Ok(Some(ChainEvent { position: log_position(log, block_timestamp)?, event }))
}

/// Where a mined log sits.
pub fn log_position(log: &Log, block_timestamp: u64) -> Result<LogPosition, DecodeError> {
    Ok(LogPosition {
        block_number: log.block_number.ok_or(DecodeError::MissingField("block number"))?,
        block_hash: log.block_hash.ok_or(DecodeError::MissingField("block hash"))?,
        block_timestamp,
        tx_hash: log.transaction_hash.ok_or(DecodeError::MissingField("transaction hash"))?,
        log_index: log.log_index.ok_or(DecodeError::MissingField("log index"))?,
        address: log.inner.address,
    })
}

/// Decodes the event of one log by the contract that emitted it.
pub fn decode_event(
    log: &PrimitiveLog,
    contracts: &Contracts,
) -> Result<Option<MarketEvent>, DecodeError> {
    let Some(topic0) = log.topics().first() else {
        return Ok(None);
    };
    if log.address == contracts.run_escrow {
        if RunEscrow::RunEscrowEvents::SELECTORS.binary_search(&topic0.0).is_err() {
            return Ok(None);
        }
        let decoded = RunEscrow::RunEscrowEvents::decode_log(log)
            .map_err(|source| DecodeError::Abi { contract: "RunEscrow", source })?;
        let name = RunEscrow::RunEscrowEvents::name_by_selector(topic0.0).unwrap_or("RunEscrow");
        escrow_event(decoded.data, name, log)
    } else if log.address == contracts.stake_vault {
        if StakeVault::StakeVaultEvents::SELECTORS.binary_search(&topic0.0).is_err() {
            return Ok(None);
        }
        let decoded = StakeVault::StakeVaultEvents::decode_log(log)
            .map_err(|source| DecodeError::Abi { contract: "StakeVault", source })?;
        let name = StakeVault::StakeVaultEvents::name_by_selector(topic0.0).unwrap_or("StakeVault");
        vault_event(decoded.data, name, log)
    } else {
        Ok(None)
    }
}

/// `name` is the event's name, from the generated selector table (for errors). An event no
/// reducer needs has no arm: it is stored as [`MarketEvent::Other`], decoded from the ABI.
fn escrow_event(
    event: RunEscrow::RunEscrowEvents,
    name: &'static str,
    log: &PrimitiveLog,
) -> Result<Option<MarketEvent>, DecodeError> {
    use RunEscrow::RunEscrowEvents as E;
    let value = |source| DecodeError::Value { event: name, source };
    let run = |id: U256| RunId::try_from(id).map_err(value);
    let agent = |id: U256| AgentId::try_from(id).map_err(value);
    let version = |v: U256| {
        u64::try_from(v).map_err(|_| {
            value(runs_primitives::Error::InvalidId {
                kind: "terms version",
                input: v.to_string(),
                reason: "too large",
            })
        })
    };
    Ok(Some(match event {
        E::RunCreated(e) => MarketEvent::RunCreated {
            run_id: run(e.runId)?,
            poster: e.poster,
            spec_uri: text(e.specURI),
            reward: Usdc::from(e.reward),
            fee: Usdc::from(e.fee),
            required_stake: Usdc::from(e.requiredStake),
            deadline: e.deadline,
            max_revisions: e.maxRevisions,
            terms_version: version(e.termsVersion)?,
            claim_timeout: e.terms.claimTimeout,
            review_period: e.terms.reviewPeriod,
            dispute_window: e.terms.disputeWindow,
            ruling_period: e.terms.rulingPeriod,
            arbitrator: e.terms.arbitrator,
        },
        E::RunFunded(e) => MarketEvent::RunFunded {
            run_id: run(e.runId)?,
            poster: e.poster,
            amount: Usdc::from(e.amount),
        },
        E::RunCancelled(e) => MarketEvent::RunCancelled {
            run_id: run(e.runId)?,
            poster: e.poster,
            refund: Usdc::from(e.refund),
        },
        E::Claimed(e) => MarketEvent::Claimed {
            run_id: run(e.runId)?,
            agent_id: agent(e.agentId)?,
            wallet: e.wallet,
            reserved: Usdc::from(e.reserved),
        },
        E::WorkStarted(e) => {
            MarketEvent::WorkStarted { run_id: run(e.runId)?, agent_id: agent(e.agentId)? }
        }
        E::Submitted(e) => MarketEvent::Submitted {
            run_id: run(e.runId)?,
            agent_id: agent(e.agentId)?,
            deliverable_uri: text(e.deliverableURI),
            revision_count: e.revisionCount,
        },
        E::RevisionRequested(e) => MarketEvent::RevisionRequested {
            run_id: run(e.runId)?,
            agent_id: agent(e.agentId)?,
            reason_uri: text(e.reasonURI),
            revision_count: e.revisionCount,
        },
        E::Approved(e) => MarketEvent::Approved {
            run_id: run(e.runId)?,
            agent_id: agent(e.agentId)?,
            wallet: e.wallet,
            reward: Usdc::from(e.reward),
            fee: Usdc::from(e.fee),
            bond: Usdc::from(e.bond),
            on_timeout: e.onTimeout,
        },
        E::Rejected(e) => MarketEvent::Rejected {
            run_id: run(e.runId)?,
            agent_id: agent(e.agentId)?,
            poster: e.poster,
            reason_uri: text(e.reasonURI),
            bond: Usdc::from(e.bond),
        },
        E::Disputed(e) => MarketEvent::Disputed {
            run_id: run(e.runId)?,
            agent_id: agent(e.agentId)?,
            arbitrator: e.arbitrator,
            evidence_uri: text(e.evidenceURI),
        },
        E::EvidenceSubmitted(e) => {
            MarketEvent::EvidenceSubmitted { run_id: run(e.runId)?, by: e.by, uri: text(e.uri) }
        }
        E::DisputeResolved(e) => MarketEvent::DisputeResolved {
            run_id: run(e.runId)?,
            agent_id: agent(e.agentId)?,
            arbitrator: e.arbitrator,
            agent_share_bps: e.ruling.agentShareBps,
            to_agent: Usdc::from(e.ruling.toAgent),
            to_treasury: Usdc::from(e.ruling.toTreasury),
            to_poster: Usdc::from(e.ruling.toPoster),
            bond: Usdc::from(e.ruling.bond),
            stake_forfeited: Usdc::from(e.ruling.stakeForfeited),
            strike: e.ruling.strike,
            by_default: e.ruling.byDefault,
        },
        E::RejectionFinalized(e) => MarketEvent::RejectionFinalized {
            run_id: run(e.runId)?,
            agent_id: agent(e.agentId)?,
            poster: e.poster,
            refund: Usdc::from(e.refund),
            by_agent: e.byAgent,
        },
        E::Abandoned(e) => MarketEvent::Abandoned {
            run_id: run(e.runId)?,
            agent_id: agent(e.agentId)?,
            poster: e.poster,
            stake_forfeited: Usdc::from(e.stakeForfeited),
        },
        E::Slashed(e) => MarketEvent::Slashed {
            run_id: run(e.runId)?,
            agent_id: agent(e.agentId)?,
            poster: e.poster,
            amount: Usdc::from(e.amount),
            new_state: RunState::try_from(e.newState).map_err(value)?,
            refund: Usdc::from(e.refund),
        },
        E::RunExpired(e) => MarketEvent::RunExpired {
            run_id: run(e.runId)?,
            poster: e.poster,
            refund: Usdc::from(e.refund),
        },
        E::CreditAdded(e) => MarketEvent::CreditAdded {
            account: e.account,
            run_id: run(e.runId)?,
            amount: Usdc::from(e.amount),
        },
        E::CreditWithdrawn(e) => {
            MarketEvent::CreditWithdrawn { account: e.account, amount: Usdc::from(e.amount) }
        }
        E::ParametersUpdated(e) => MarketEvent::EscrowParametersUpdated {
            version: version(e.version)?,
            fee_bps: e.terms.feeBps,
            claim_timeout: e.terms.claimTimeout,
            review_period: e.terms.reviewPeriod,
            dispute_window: e.terms.disputeWindow,
            ruling_period: e.terms.rulingPeriod,
            arbitrator: e.terms.arbitrator,
            min_stake: Usdc::from(e.terms.minStake),
        },
        E::TreasuryUpdated(e) => {
            MarketEvent::TreasuryUpdated { previous: e.previous, treasury: e.treasury }
        }
        E::Paused(e) => MarketEvent::Paused { account: e.account },
        E::Unpaused(e) => MarketEvent::Unpaused { account: e.account },
        E::OwnershipTransferStarted(_) | E::OwnershipTransferred(_) => return Ok(None),
        _ => other(Abi::RunEscrow, log, name)?,
    }))
}

/// As [`escrow_event`], for `StakeVault`.
fn vault_event(
    event: StakeVault::StakeVaultEvents,
    name: &'static str,
    log: &PrimitiveLog,
) -> Result<Option<MarketEvent>, DecodeError> {
    use StakeVault::StakeVaultEvents as E;
    let value = |source| DecodeError::Value { event: name, source };
    let run = |id: U256| RunId::try_from(id).map_err(value);
    let agent = |id: U256| AgentId::try_from(id).map_err(value);
    let status = |s: u8| AgentStatus::try_from(s).map_err(value);
    Ok(Some(match event {
        E::AgentRegistered(e) => MarketEvent::AgentRegistered {
            agent_id: agent(e.agentId)?,
            wallet: e.wallet,
            metadata_uri: text(e.metadataURI),
        },
        E::Staked(e) => MarketEvent::Staked {
            agent_id: agent(e.agentId)?,
            wallet: e.wallet,
            amount: Usdc::from(e.amount),
            total_stake: Usdc::from(e.totalStake),
        },
        E::UnstakeRequested(e) => MarketEvent::UnstakeRequested {
            agent_id: agent(e.agentId)?,
            amount: Usdc::from(e.amount),
            total_stake: Usdc::from(e.totalStake),
            total_pending: Usdc::from(e.totalPending),
            ready_at: e.readyAt,
        },
        E::StakeWithdrawn(e) => MarketEvent::StakeWithdrawn {
            agent_id: agent(e.agentId)?,
            wallet: e.wallet,
            amount: Usdc::from(e.amount),
        },
        E::StakeForfeited(e) => MarketEvent::StakeForfeited {
            agent_id: agent(e.agentId)?,
            run_id: run(e.runId)?,
            amount: Usdc::from(e.amount),
            outcome: ClaimOutcome::try_from(e.outcome).map_err(value)?,
            remaining_stake: Usdc::from(e.remainingStake),
            strikes: u32::from(e.strikes),
        },
        E::AgentStatusChanged(e) => MarketEvent::AgentStatusChanged {
            agent_id: agent(e.agentId)?,
            previous: status(e.previous)?,
            current: status(e.current)?,
        },
        E::ParametersUpdated(e) => MarketEvent::VaultParametersUpdated {
            min_stake: Usdc::from(e.parameters.minStake),
            unstake_cooldown: e.parameters.unstakeCooldown,
            strikes_to_ban: e.parameters.strikesToBan,
            established_completions: e.parameters.establishedCompletions,
            established_age: e.parameters.establishedAge,
        },
        E::StakingPaused(e) => MarketEvent::StakingPaused { account: e.account },
        E::StakingUnpaused(e) => MarketEvent::StakingUnpaused { account: e.account },
        E::OwnershipTransferStarted(_) | E::OwnershipTransferred(_) => return Ok(None),
        _ => other(Abi::StakeVault, log, name)?,
    }))
}

/// A string from the chain as the read side keeps it: a NUL becomes U+FFFD. The contracts accept
/// any bytes in a URI, but Postgres `TEXT` (a run's URIs) cannot hold a NUL, so one stored as is
/// would fail its range's commit on every retry and stall the indexer; the ABI decoder already
/// replaces invalid UTF-8 the same way.
fn text(s: String) -> String {
    if s.contains('\0') { s.replace('\0', "\u{FFFD}") } else { s }
}

/// An event without a variant, from the ABI: its name and its arguments as JSON (see
/// [`OtherEvent`] for how values are written).
fn other(abi: Abi, log: &PrimitiveLog, name: &'static str) -> Result<MarketEvent, DecodeError> {
    let decoded =
        runs_bindings::decode_event(abi, &log.data).ok_or(DecodeError::Dynamic { event: name })?;
    let fields = decoded
        .fields
        .iter()
        .map(|field| (field.name.clone(), json(&field.name, &field.value)))
        .collect();
    Ok(MarketEvent::Other(OtherEvent { name: decoded.name, fields }))
}

/// One ABI value as JSON: an id (`…Id`) that fits `u64` as a number, other integers as decimal
/// strings (amounts are larger than JSON numbers hold exactly), addresses and bytes as
/// lowercase hex.
fn json(name: &str, value: &DynSolValue) -> Value {
    match value {
        DynSolValue::Uint(v, _) if name.ends_with("Id") && *v <= U256::from(u64::MAX) => {
            Value::from(v.to::<u64>())
        }
        DynSolValue::Uint(v, _) => Value::from(v.to_string()),
        DynSolValue::Int(v, _) => Value::from(v.to_string()),
        DynSolValue::Bool(b) => Value::from(*b),
        DynSolValue::Address(a) => Value::from(format!("{a:#x}")),
        DynSolValue::String(s) => Value::from(text(s.clone())),
        DynSolValue::Bytes(bytes) => {
            Value::from(format!("0x{}", alloy::primitives::hex::encode(bytes)))
        }
        DynSolValue::FixedBytes(word, size) => {
            Value::from(format!("0x{}", alloy::primitives::hex::encode(&word[..*size])))
        }
        DynSolValue::Array(items) | DynSolValue::FixedArray(items) | DynSolValue::Tuple(items) => {
            Value::Array(items.iter().map(|item| json(name, item)).collect())
        }
        DynSolValue::Function(f) => Value::from(format!("{f:#x}")),
    }
}

#[cfg(test)]
mod tests {
    use alloy::{
        primitives::{B256, address, b256},
        sol_types::SolEvent,
    };

    use runs_bindings::{IRunEscrow, IStakeVault};

    use super::*;

    const ESCROW: Address = address!("0x00000000000000000000000000000000000000e5");
    const VAULT: Address = address!("0x00000000000000000000000000000000000000a5");
    const POSTER: Address = address!("0x70997970C51812dc3A010C7d01b50e0d17dc79C8");
    const WALLET: Address = address!("0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC");
    const ARBITRATOR: Address = address!("0x90F79bf6EB2c4f870365E785982E1f101E93b906");
    const CONTRACTS: Contracts = Contracts { run_escrow: ESCROW, stake_vault: VAULT };

    fn terms() -> IRunEscrow::Terms {
        IRunEscrow::Terms {
            feeBps: 250,
            claimTimeout: 3_600,
            reviewPeriod: 7_200,
            disputeWindow: 86_400,
            rulingPeriod: 172_800,
            arbitrator: ARBITRATOR,
            minStake: 20_000_000,
        }
    }

    fn rpc_log(address: Address, event: &impl SolEvent) -> Log {
        Log {
            inner: PrimitiveLog { address, data: event.encode_log_data() },
            block_hash: Some(b256!(
                "0x1111111111111111111111111111111111111111111111111111111111111111"
            )),
            block_number: Some(42),
            block_timestamp: None,
            transaction_hash: Some(B256::repeat_byte(0x22)),
            transaction_index: Some(0),
            log_index: Some(3),
            removed: false,
        }
    }

    fn decoded(address: Address, event: &impl SolEvent) -> MarketEvent {
        let chain_event = decode_log(&rpc_log(address, event), &CONTRACTS, 1_700_000_000)
            .expect("decodes")
            .expect("kept");
        assert_eq!(chain_event.position.block_number, 42);
        assert_eq!(chain_event.position.log_index, 3);
        assert_eq!(chain_event.position.block_timestamp, 1_700_000_000);
        assert_eq!(chain_event.position.address, address);
        let event = chain_event.event;
        // Every named variant is listed as named (so no stored one is ever read back as Other),
        // and an Other is never a named variant's name.
        let named = MarketEvent::NAMED.contains(&event.name());
        assert_eq!(named, !matches!(event, MarketEvent::Other(_)), "{}", event.name());
        // The stored form reads back as the same event.
        let json = serde_json::to_string(&event).unwrap();
        assert_eq!(serde_json::from_str::<MarketEvent>(&json).unwrap(), event);
        event
    }

    /// The [`MarketEvent::Other`] with this JSON.
    fn other(json: Value) -> MarketEvent {
        let event: MarketEvent = serde_json::from_value(json).unwrap();
        assert!(matches!(event, MarketEvent::Other(_)));
        event
    }

    fn u(value: u64) -> U256 {
        U256::from(value)
    }

    #[test]
    fn every_escrow_event_round_trips() {
        let max = Usdc::from(U256::from(u128::MAX));
        let cases: Vec<(MarketEvent, MarketEvent)> = vec![
            (
                decoded(
                    ESCROW,
                    &RunEscrow::RunCreated {
                        runId: u(1),
                        poster: POSTER,
                        specURI: "ipfs://spec".into(),
                        reward: u(100_000_000),
                        fee: u(5_000_000),
                        requiredStake: u(20_000_000),
                        deadline: 1_800_000_000,
                        maxRevisions: 3,
                        termsVersion: u(2),
                        terms: terms(),
                    },
                ),
                MarketEvent::RunCreated {
                    run_id: RunId(1),
                    poster: POSTER,
                    spec_uri: "ipfs://spec".into(),
                    reward: Usdc::from(100_000_000u64),
                    fee: Usdc::from(5_000_000u64),
                    required_stake: Usdc::from(20_000_000u64),
                    deadline: 1_800_000_000,
                    max_revisions: 3,
                    terms_version: 2,
                    claim_timeout: 3_600,
                    review_period: 7_200,
                    dispute_window: 86_400,
                    ruling_period: 172_800,
                    arbitrator: ARBITRATOR,
                },
            ),
            (
                decoded(
                    ESCROW,
                    &RunEscrow::RunFunded {
                        runId: u(1),
                        poster: POSTER,
                        amount: U256::from(u128::MAX),
                    },
                ),
                MarketEvent::RunFunded { run_id: RunId(1), poster: POSTER, amount: max },
            ),
            (
                decoded(
                    ESCROW,
                    &RunEscrow::RunCancelled { runId: u(2), poster: POSTER, refund: u(0) },
                ),
                MarketEvent::RunCancelled { run_id: RunId(2), poster: POSTER, refund: Usdc::ZERO },
            ),
            (
                decoded(
                    ESCROW,
                    &RunEscrow::Claimed {
                        runId: u(1),
                        agentId: u(7),
                        wallet: WALLET,
                        reserved: u(20),
                    },
                ),
                MarketEvent::Claimed {
                    run_id: RunId(1),
                    agent_id: AgentId(7),
                    wallet: WALLET,
                    reserved: Usdc::from(20u64),
                },
            ),
            (
                decoded(ESCROW, &RunEscrow::WorkStarted { runId: u(1), agentId: u(7) }),
                MarketEvent::WorkStarted { run_id: RunId(1), agent_id: AgentId(7) },
            ),
            (
                decoded(
                    ESCROW,
                    &RunEscrow::Submitted {
                        runId: u(1),
                        agentId: u(7),
                        deliverableURI: "ipfs://out".into(),
                        revisionCount: 1,
                    },
                ),
                MarketEvent::Submitted {
                    run_id: RunId(1),
                    agent_id: AgentId(7),
                    deliverable_uri: "ipfs://out".into(),
                    revision_count: 1,
                },
            ),
            (
                decoded(
                    ESCROW,
                    &RunEscrow::RevisionRequested {
                        runId: u(1),
                        agentId: u(7),
                        reasonURI: "more tests".into(),
                        revisionCount: 2,
                    },
                ),
                MarketEvent::RevisionRequested {
                    run_id: RunId(1),
                    agent_id: AgentId(7),
                    reason_uri: "more tests".into(),
                    revision_count: 2,
                },
            ),
            (
                decoded(
                    ESCROW,
                    &RunEscrow::Approved {
                        runId: u(1),
                        agentId: u(7),
                        wallet: WALLET,
                        reward: u(100),
                        fee: u(5),
                        bond: u(20),
                        onTimeout: true,
                    },
                ),
                MarketEvent::Approved {
                    run_id: RunId(1),
                    agent_id: AgentId(7),
                    wallet: WALLET,
                    reward: Usdc::from(100u64),
                    fee: Usdc::from(5u64),
                    bond: Usdc::from(20u64),
                    on_timeout: true,
                },
            ),
            (
                decoded(
                    ESCROW,
                    &RunEscrow::Rejected {
                        runId: u(1),
                        agentId: u(7),
                        poster: POSTER,
                        reasonURI: "ipfs://why".into(),
                        bond: u(20),
                    },
                ),
                MarketEvent::Rejected {
                    run_id: RunId(1),
                    agent_id: AgentId(7),
                    poster: POSTER,
                    reason_uri: "ipfs://why".into(),
                    bond: Usdc::from(20u64),
                },
            ),
            (
                decoded(
                    ESCROW,
                    &RunEscrow::Disputed {
                        runId: u(1),
                        agentId: u(7),
                        arbitrator: ARBITRATOR,
                        evidenceURI: "ipfs://case".into(),
                    },
                ),
                MarketEvent::Disputed {
                    run_id: RunId(1),
                    agent_id: AgentId(7),
                    arbitrator: ARBITRATOR,
                    evidence_uri: "ipfs://case".into(),
                },
            ),
            (
                decoded(
                    ESCROW,
                    &RunEscrow::EvidenceSubmitted {
                        runId: u(1),
                        by: POSTER,
                        uri: "ipfs://e".into(),
                    },
                ),
                MarketEvent::EvidenceSubmitted {
                    run_id: RunId(1),
                    by: POSTER,
                    uri: "ipfs://e".into(),
                },
            ),
            (
                decoded(
                    ESCROW,
                    &RunEscrow::DisputeResolved {
                        runId: u(1),
                        agentId: u(7),
                        arbitrator: ARBITRATOR,
                        ruling: IRunEscrow::Ruling {
                            agentShareBps: 2_500,
                            toAgent: u(25),
                            toTreasury: u(1),
                            toPoster: u(79),
                            bond: u(20),
                            stakeForfeited: u(20),
                            strike: false,
                            byDefault: false,
                        },
                    },
                ),
                MarketEvent::DisputeResolved {
                    run_id: RunId(1),
                    agent_id: AgentId(7),
                    arbitrator: ARBITRATOR,
                    agent_share_bps: 2_500,
                    to_agent: Usdc::from(25u64),
                    to_treasury: Usdc::from(1u64),
                    to_poster: Usdc::from(79u64),
                    bond: Usdc::from(20u64),
                    stake_forfeited: Usdc::from(20u64),
                    strike: false,
                    by_default: false,
                },
            ),
            (
                decoded(
                    ESCROW,
                    &RunEscrow::RejectionFinalized {
                        runId: u(1),
                        agentId: u(7),
                        poster: POSTER,
                        refund: u(125),
                        byAgent: true,
                    },
                ),
                MarketEvent::RejectionFinalized {
                    run_id: RunId(1),
                    agent_id: AgentId(7),
                    poster: POSTER,
                    refund: Usdc::from(125u64),
                    by_agent: true,
                },
            ),
            (
                decoded(
                    ESCROW,
                    &RunEscrow::Abandoned {
                        runId: u(1),
                        agentId: u(7),
                        poster: POSTER,
                        stakeForfeited: u(20),
                    },
                ),
                MarketEvent::Abandoned {
                    run_id: RunId(1),
                    agent_id: AgentId(7),
                    poster: POSTER,
                    stake_forfeited: Usdc::from(20u64),
                },
            ),
            (
                decoded(ESCROW, &RunEscrow::FeesWithdrawn { treasury: POSTER, amount: u(6) }),
                // No variant: named and decoded from the ABI.
                other(serde_json::json!({
                    "type": "FeesWithdrawn", "treasury": format!("{POSTER:#x}"), "amount": "6"
                })),
            ),
            (
                decoded(
                    ESCROW,
                    &RunEscrow::Slashed {
                        runId: u(1),
                        agentId: u(7),
                        poster: POSTER,
                        amount: u(20),
                        newState: RunState::Expired.as_u8(),
                        refund: u(105),
                    },
                ),
                MarketEvent::Slashed {
                    run_id: RunId(1),
                    agent_id: AgentId(7),
                    poster: POSTER,
                    amount: Usdc::from(20u64),
                    new_state: RunState::Expired,
                    refund: Usdc::from(105u64),
                },
            ),
            (
                decoded(
                    ESCROW,
                    &RunEscrow::RunExpired { runId: u(3), poster: POSTER, refund: u(9) },
                ),
                MarketEvent::RunExpired {
                    run_id: RunId(3),
                    poster: POSTER,
                    refund: Usdc::from(9u64),
                },
            ),
            (
                decoded(
                    ESCROW,
                    &RunEscrow::CreditAdded { account: WALLET, runId: u(3), amount: u(9) },
                ),
                MarketEvent::CreditAdded {
                    account: WALLET,
                    run_id: RunId(3),
                    amount: Usdc::from(9u64),
                },
            ),
            (
                decoded(ESCROW, &RunEscrow::CreditWithdrawn { account: WALLET, amount: u(9) }),
                MarketEvent::CreditWithdrawn { account: WALLET, amount: Usdc::from(9u64) },
            ),
            (
                decoded(ESCROW, &RunEscrow::ParametersUpdated { version: u(2), terms: terms() }),
                MarketEvent::EscrowParametersUpdated {
                    version: 2,
                    fee_bps: 250,
                    claim_timeout: 3_600,
                    review_period: 7_200,
                    dispute_window: 86_400,
                    ruling_period: 172_800,
                    arbitrator: ARBITRATOR,
                    min_stake: Usdc::from(20_000_000u64),
                },
            ),
            (
                decoded(ESCROW, &RunEscrow::TreasuryUpdated { previous: POSTER, treasury: WALLET }),
                MarketEvent::TreasuryUpdated { previous: POSTER, treasury: WALLET },
            ),
            (
                decoded(ESCROW, &RunEscrow::Paused { account: POSTER }),
                MarketEvent::Paused { account: POSTER },
            ),
            (
                decoded(ESCROW, &RunEscrow::Unpaused { account: POSTER }),
                MarketEvent::Unpaused { account: POSTER },
            ),
        ];
        for (got, want) in cases {
            assert_eq!(got, want);
        }
    }

    #[test]
    fn every_vault_event_round_trips() {
        let cases: Vec<(MarketEvent, MarketEvent)> = vec![
            (
                decoded(
                    VAULT,
                    &StakeVault::AgentRegistered {
                        agentId: u(7),
                        wallet: WALLET,
                        metadataURI: "ipfs://agent".into(),
                    },
                ),
                MarketEvent::AgentRegistered {
                    agent_id: AgentId(7),
                    wallet: WALLET,
                    metadata_uri: "ipfs://agent".into(),
                },
            ),
            (
                decoded(
                    VAULT,
                    &StakeVault::Staked {
                        agentId: u(7),
                        wallet: WALLET,
                        amount: u(20),
                        totalStake: u(40),
                    },
                ),
                MarketEvent::Staked {
                    agent_id: AgentId(7),
                    wallet: WALLET,
                    amount: Usdc::from(20u64),
                    total_stake: Usdc::from(40u64),
                },
            ),
            (
                decoded(
                    VAULT,
                    &StakeVault::UnstakeRequested {
                        agentId: u(7),
                        amount: u(10),
                        totalStake: u(30),
                        totalPending: u(10),
                        readyAt: 1_800_000_000,
                    },
                ),
                MarketEvent::UnstakeRequested {
                    agent_id: AgentId(7),
                    amount: Usdc::from(10u64),
                    total_stake: Usdc::from(30u64),
                    total_pending: Usdc::from(10u64),
                    ready_at: 1_800_000_000,
                },
            ),
            (
                decoded(
                    VAULT,
                    &StakeVault::StakeWithdrawn { agentId: u(7), wallet: WALLET, amount: u(10) },
                ),
                MarketEvent::StakeWithdrawn {
                    agent_id: AgentId(7),
                    wallet: WALLET,
                    amount: Usdc::from(10u64),
                },
            ),
            (
                decoded(
                    VAULT,
                    &StakeVault::StakeForfeited {
                        agentId: u(7),
                        runId: u(1),
                        amount: u(20),
                        outcome: ClaimOutcome::DisputeLostStruck.as_u8(),
                        remainingStake: u(10),
                        strikes: 2,
                    },
                ),
                MarketEvent::StakeForfeited {
                    agent_id: AgentId(7),
                    run_id: RunId(1),
                    amount: Usdc::from(20u64),
                    outcome: ClaimOutcome::DisputeLostStruck,
                    remaining_stake: Usdc::from(10u64),
                    strikes: 2,
                },
            ),
            (
                decoded(
                    VAULT,
                    &StakeVault::AgentStatusChanged {
                        agentId: u(7),
                        previous: AgentStatus::Provisional.as_u8(),
                        current: AgentStatus::Frozen.as_u8(),
                    },
                ),
                MarketEvent::AgentStatusChanged {
                    agent_id: AgentId(7),
                    previous: AgentStatus::Provisional,
                    current: AgentStatus::Frozen,
                },
            ),
            (
                decoded(
                    VAULT,
                    &StakeVault::ParametersUpdated {
                        parameters: IStakeVault::Parameters {
                            minStake: 20_000_000,
                            unstakeCooldown: 604_800,
                            strikesToBan: 3,
                            establishedCompletions: 5,
                            establishedAge: 2_592_000,
                        },
                    },
                ),
                MarketEvent::VaultParametersUpdated {
                    min_stake: Usdc::from(20_000_000u64),
                    unstake_cooldown: 604_800,
                    strikes_to_ban: 3,
                    established_completions: 5,
                    established_age: 2_592_000,
                },
            ),
            (
                decoded(VAULT, &StakeVault::RunEscrowSet { runEscrow: ESCROW }),
                other(
                    serde_json::json!({ "type": "RunEscrowSet", "runEscrow": format!("{ESCROW:#x}") }),
                ),
            ),
            (
                decoded(VAULT, &StakeVault::StakingPaused { account: POSTER }),
                MarketEvent::StakingPaused { account: POSTER },
            ),
        ];
        for (got, want) in cases {
            assert_eq!(got, want);
        }
    }

    #[test]
    fn skips_ownership_foreign_and_unknown_logs() {
        let transfer = RunEscrow::OwnershipTransferred { previousOwner: POSTER, newOwner: WALLET };
        assert!(decode_log(&rpc_log(ESCROW, &transfer), &CONTRACTS, 0).unwrap().is_none());
        let transfer =
            StakeVault::OwnershipTransferStarted { previousOwner: POSTER, newOwner: WALLET };
        assert!(decode_log(&rpc_log(VAULT, &transfer), &CONTRACTS, 0).unwrap().is_none());
        // The same event from a contract we do not index.
        let created = RunEscrow::RunFunded { runId: u(1), poster: POSTER, amount: u(1) };
        assert!(decode_log(&rpc_log(POSTER, &created), &CONTRACTS, 0).unwrap().is_none());
        // A vault event's topic at the escrow's address is not an escrow event.
        let staked = StakeVault::RunEscrowSet { runEscrow: ESCROW };
        assert!(decode_log(&rpc_log(ESCROW, &staked), &CONTRACTS, 0).unwrap().is_none());
    }

    #[test]
    fn rejects_garbled_and_out_of_range_logs() {
        let mut log =
            rpc_log(ESCROW, &RunEscrow::RunFunded { runId: u(1), poster: POSTER, amount: u(1) });
        log.inner.data = alloy::primitives::LogData::new_unchecked(
            log.inner.data.topics().to_vec(),
            alloy::primitives::Bytes::from_static(&[1, 2, 3]),
        );
        assert!(matches!(
            decode_log(&log, &CONTRACTS, 0),
            Err(DecodeError::Abi { contract: "RunEscrow", .. })
        ));

        let huge = RunEscrow::WorkStarted { runId: U256::MAX, agentId: u(1) };
        let err = decode_log(&rpc_log(ESCROW, &huge), &CONTRACTS, 0).unwrap_err();
        assert!(matches!(err, DecodeError::Value { event: "WorkStarted", .. }), "{err}");

        let bad_state = RunEscrow::Slashed {
            runId: u(1),
            agentId: u(1),
            poster: POSTER,
            amount: u(1),
            newState: 200,
            refund: u(0),
        };
        assert!(decode_log(&rpc_log(ESCROW, &bad_state), &CONTRACTS, 0).is_err());

        let mut pending = rpc_log(ESCROW, &RunEscrow::Paused { account: POSTER });
        pending.block_hash = None;
        assert!(matches!(
            decode_log(&pending, &CONTRACTS, 0),
            Err(DecodeError::MissingField("block hash"))
        ));
    }
}
