//! The marketplace's events as domain values: what the indexer decodes from the contracts' logs,
//! what the store keeps (as JSON) and replays after a reorg, and what the API shows as a run's
//! history.
//!
//! One variant per contract event of `RunEscrow` and `StakeVault` that the read side needs. The
//! JSON form is `{"type": "RunCreated", "runId": 1, ...}` with camelCase fields, amounts as
//! strings of base units and times as unix seconds.

use alloy_primitives::{Address, B256};
use serde::{Deserialize, Serialize};

use crate::{AgentId, AgentStatus, ClaimOutcome, RunId, RunState, Usdc};

/// One decoded marketplace event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all_fields = "camelCase")]
pub enum MarketEvent {
    // ---- RunEscrow ----
    /// A run was created (DRAFT) with every term it keeps for life.
    RunCreated {
        /// The run.
        run_id: RunId,
        /// Who created it.
        poster: Address,
        /// Where the work is described.
        spec_uri: String,
        /// Paid to the agent on approval.
        reward: Usdc,
        /// Paid to the treasury on approval.
        fee: Usdc,
        /// Stake a claim reserves; also the poster's rejection bond.
        required_stake: Usdc,
        /// Last time the run can be claimed (unix seconds).
        deadline: u64,
        /// Revisions the poster may request.
        max_revisions: u8,
        /// The terms version the run was created with.
        terms_version: u64,
        /// Seconds from claim or revision request to submission.
        claim_timeout: u32,
        /// Seconds from submission to the poster's decision.
        review_period: u32,
        /// Seconds from a rejection in which the agent may dispute it.
        dispute_window: u32,
        /// Seconds from a dispute in which the arbitrator may rule.
        ruling_period: u32,
        /// Who rules on a dispute of this run.
        arbitrator: Address,
    },
    /// The run was funded with `amount` (reward + fee) and is OPEN.
    RunFunded {
        /// The run.
        run_id: RunId,
        /// Who paid.
        poster: Address,
        /// Reward + fee.
        amount: Usdc,
    },
    /// The run was cancelled; `refund` went back to the poster.
    RunCancelled {
        /// The run.
        run_id: RunId,
        /// The poster.
        poster: Address,
        /// What was refunded (0 for a DRAFT).
        refund: Usdc,
    },
    /// An agent claimed the run, reserving `reserved` of its stake.
    Claimed {
        /// The run.
        run_id: RunId,
        /// The claiming agent.
        agent_id: AgentId,
        /// The agent's wallet.
        wallet: Address,
        /// Stake reserved for this claim (the run's required stake).
        reserved: Usdc,
    },
    /// The agent started work.
    WorkStarted {
        /// The run.
        run_id: RunId,
        /// The agent.
        agent_id: AgentId,
    },
    /// The agent submitted a deliverable.
    Submitted {
        /// The run.
        run_id: RunId,
        /// The agent.
        agent_id: AgentId,
        /// Where the deliverable is.
        deliverable_uri: String,
        /// Revisions requested before this submission.
        revision_count: u8,
    },
    /// The poster asked for a revision.
    RevisionRequested {
        /// The run.
        run_id: RunId,
        /// The agent.
        agent_id: AgentId,
        /// What to change.
        reason_uri: String,
        /// Revisions used, this one included.
        revision_count: u8,
    },
    /// The run was approved and paid.
    Approved {
        /// The run.
        run_id: RunId,
        /// The agent paid.
        agent_id: AgentId,
        /// The wallet paid.
        wallet: Address,
        /// Paid to the agent.
        reward: Usdc,
        /// Paid to the treasury.
        fee: Usdc,
        /// The rejection bond (0 unless approved from REJECTED, when it goes back to the poster,
        /// or from DISPUTED, when it goes to the agent).
        bond: Usdc,
        /// Approved by anyone after the review period.
        on_timeout: bool,
    },
    /// The poster rejected the run after its last revision, posting `bond`; nothing paid yet.
    Rejected {
        /// The run.
        run_id: RunId,
        /// The agent.
        agent_id: AgentId,
        /// The poster.
        poster: Address,
        /// Why.
        reason_uri: String,
        /// The bond pulled from the poster (the run's required stake).
        bond: Usdc,
    },
    /// The agent disputed the rejection before the run's arbitrator.
    Disputed {
        /// The run.
        run_id: RunId,
        /// The agent.
        agent_id: AgentId,
        /// Who rules.
        arbitrator: Address,
        /// The agent's case.
        evidence_uri: String,
    },
    /// The poster or the agent added evidence to a rejection or dispute.
    EvidenceSubmitted {
        /// The run.
        run_id: RunId,
        /// Who added it.
        by: Address,
        /// The evidence.
        uri: String,
    },
    /// A dispute ended by a ruling, or by default (50/50) after a silent ruling period.
    DisputeResolved {
        /// The run.
        run_id: RunId,
        /// The agent.
        agent_id: AgentId,
        /// The run's arbitrator.
        arbitrator: Address,
        /// The agent's share of reward and fee, in basis points.
        agent_share_bps: u16,
        /// Paid to the agent from the reward.
        to_agent: Usdc,
        /// Paid to the treasury from the fee.
        to_treasury: Usdc,
        /// The rest of reward + fee, to the poster.
        to_poster: Usdc,
        /// The rejection bond: to the agent on a won ruling, else back to the poster.
        bond: Usdc,
        /// The agent's reservation paid to the poster (rulings below 50%), else 0.
        stake_forfeited: Usdc,
        /// Whether a strike was counted against the agent.
        strike: bool,
        /// Whether no ruling came within the ruling period.
        by_default: bool,
    },
    /// The rejection became final: `refund` (reward + fee + bond) to the poster.
    RejectionFinalized {
        /// The run.
        run_id: RunId,
        /// The agent.
        agent_id: AgentId,
        /// The poster.
        poster: Address,
        /// Reward + fee + bond.
        refund: Usdc,
        /// The agent accepted it (else anyone finalized it after the window).
        by_agent: bool,
    },
    /// The agent gave the run back (OPEN again); its reservation went to the poster.
    Abandoned {
        /// The run.
        run_id: RunId,
        /// The agent.
        agent_id: AgentId,
        /// The poster paid.
        poster: Address,
        /// The reservation paid to the poster.
        stake_forfeited: Usdc,
    },
    /// The agent timed out and was slashed.
    Slashed {
        /// The run.
        run_id: RunId,
        /// The slashed agent.
        agent_id: AgentId,
        /// The poster who received the stake.
        poster: Address,
        /// The reservation taken.
        amount: Usdc,
        /// OPEN again, or EXPIRED.
        new_state: RunState,
        /// Reward + fee refunded when EXPIRED, else 0.
        refund: Usdc,
    },
    /// An OPEN run passed its deadline; reward + fee refunded.
    RunExpired {
        /// The run.
        run_id: RunId,
        /// The poster refunded.
        poster: Address,
        /// Reward + fee.
        refund: Usdc,
    },
    /// A payout failed and was kept as a credit.
    CreditAdded {
        /// Who is owed.
        account: Address,
        /// The run whose payout failed.
        run_id: RunId,
        /// The amount.
        amount: Usdc,
    },
    /// Credit was withdrawn.
    CreditWithdrawn {
        /// Who withdrew.
        account: Address,
        /// The amount.
        amount: Usdc,
    },
    /// New runs get new terms (an escrow parameter change or a new vault minimum stake).
    EscrowParametersUpdated {
        /// The terms version.
        version: u64,
        /// Fee in basis points.
        fee_bps: u16,
        /// Claim timeout in seconds.
        claim_timeout: u32,
        /// Review period in seconds.
        review_period: u32,
        /// Dispute window in seconds.
        dispute_window: u32,
        /// Ruling period in seconds.
        ruling_period: u32,
        /// Who rules on disputes.
        arbitrator: Address,
        /// The vault's minimum stake (a run's default required stake).
        min_stake: Usdc,
    },
    /// Fees now go to `treasury`.
    TreasuryUpdated {
        /// The previous treasury (zero at deployment).
        previous: Address,
        /// The new treasury.
        treasury: Address,
    },
    /// New runs, funding and claims were paused.
    Paused {
        /// Who paused.
        account: Address,
    },
    /// The pause was lifted.
    Unpaused {
        /// Who unpaused.
        account: Address,
    },

    // ---- StakeVault ----
    /// An agent was registered.
    AgentRegistered {
        /// The new agent.
        agent_id: AgentId,
        /// Its wallet.
        wallet: Address,
        /// Where it describes itself.
        metadata_uri: String,
    },
    /// Stake was added.
    Staked {
        /// The agent.
        agent_id: AgentId,
        /// Its wallet.
        wallet: Address,
        /// Added.
        amount: Usdc,
        /// Stake afterwards.
        total_stake: Usdc,
    },
    /// Free stake moved to pending withdrawal.
    UnstakeRequested {
        /// The agent.
        agent_id: AgentId,
        /// Moved.
        amount: Usdc,
        /// Stake afterwards.
        total_stake: Usdc,
        /// Pending afterwards.
        total_pending: Usdc,
        /// When it can be withdrawn (unix seconds).
        ready_at: u64,
    },
    /// Pending stake was paid out.
    StakeWithdrawn {
        /// The agent.
        agent_id: AgentId,
        /// Its wallet.
        wallet: Address,
        /// Paid.
        amount: Usdc,
    },
    /// A claim's reservation was paid to the escrow (for the poster).
    StakeForfeited {
        /// The agent.
        agent_id: AgentId,
        /// The run.
        run_id: RunId,
        /// The reservation.
        amount: Usdc,
        /// Why: a slash, an abandon or a lost dispute.
        outcome: ClaimOutcome,
        /// Stake left.
        remaining_stake: Usdc,
        /// Strikes afterwards.
        strikes: u32,
    },
    /// The agent's status changed in a transaction.
    AgentStatusChanged {
        /// The agent.
        agent_id: AgentId,
        /// Before.
        previous: AgentStatus,
        /// After.
        current: AgentStatus,
    },
    /// The vault owner changed the vault parameters.
    VaultParametersUpdated {
        /// Minimum stake.
        min_stake: Usdc,
        /// Unstake cooldown in seconds.
        unstake_cooldown: u32,
        /// Strikes that ban.
        strikes_to_ban: u16,
        /// Completions for ESTABLISHED.
        established_completions: u16,
        /// Seconds since `stakedSince` for ESTABLISHED.
        established_age: u32,
    },
    /// The vault owner paused new stake.
    StakingPaused {
        /// Who paused.
        account: Address,
    },
    /// The vault owner lifted the staking pause.
    StakingUnpaused {
        /// Who unpaused.
        account: Address,
    },

    // ---- Any other event of the contracts ----
    /// An event no reducer needs (`FeesWithdrawn`, `RunEscrowSet`, or one added to the contracts
    /// later), named and decoded from the ABI: stored, served and streamed like the others with
    /// no code of its own. The JSON is the same shape: `{"type": name, …arguments}`.
    #[serde(untagged)]
    Other(OtherEvent),
}

/// An event known only from the ABI ([`MarketEvent::Other`]). Never one of the named variants:
/// a stored payload of a named type that does not decode is an error, not an `Other`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "UncheckedOther")]
pub struct OtherEvent {
    /// The event's name in the contract.
    #[serde(rename = "type")]
    pub name: String,
    /// Its arguments by their ABI names: ids (`…Id`) as numbers, other integers as decimal
    /// strings, addresses and bytes as lowercase hex, as the named variants serialise theirs.
    #[serde(flatten)]
    pub fields: serde_json::Map<String, serde_json::Value>,
}

#[derive(Deserialize)]
struct UncheckedOther {
    #[serde(rename = "type")]
    name: String,
    #[serde(flatten)]
    fields: serde_json::Map<String, serde_json::Value>,
}

impl TryFrom<UncheckedOther> for OtherEvent {
    type Error = String;

    fn try_from(raw: UncheckedOther) -> Result<Self, String> {
        if MarketEvent::NAMED.contains(&raw.name.as_str()) {
            return Err(format!("malformed {} event", raw.name));
        }
        Ok(Self { name: raw.name, fields: raw.fields })
    }
}

impl OtherEvent {
    fn id(&self, key: &str) -> Option<u64> {
        self.fields.get(key).and_then(serde_json::Value::as_u64)
    }
}

/// The named variants' names, written once: [`MarketEvent::NAMED`] and [`MarketEvent::name`].
macro_rules! names {
    ($($variant:ident),+ $(,)?) => {
        /// The names of the named variants (every variant but [`MarketEvent::Other`]); the
        /// decoder's tests check every decoded variant is here.
        pub const NAMED: [&'static str; [$(stringify!($variant)),+].len()] =
            [$(stringify!($variant)),+];

        /// The event's name, as in the contract (`"RunCreated"`, ...; the two parameter events
        /// are `EscrowParametersUpdated` and `VaultParametersUpdated`).
        pub fn name(&self) -> &str {
            match self {
                $(Self::$variant { .. } => stringify!($variant),)+
                Self::Other(other) => &other.name,
            }
        }
    };
}

impl MarketEvent {
    names! {
        RunCreated,
        RunFunded,
        RunCancelled,
        Claimed,
        WorkStarted,
        Submitted,
        RevisionRequested,
        Approved,
        Rejected,
        Disputed,
        EvidenceSubmitted,
        DisputeResolved,
        RejectionFinalized,
        Abandoned,
        Slashed,
        RunExpired,
        CreditAdded,
        CreditWithdrawn,
        EscrowParametersUpdated,
        TreasuryUpdated,
        Paused,
        Unpaused,
        AgentRegistered,
        Staked,
        UnstakeRequested,
        StakeWithdrawn,
        StakeForfeited,
        AgentStatusChanged,
        VaultParametersUpdated,
        StakingPaused,
        StakingUnpaused
    }

    /// The run this event is about, if any (an [`OtherEvent`]'s `runId` argument).
    pub fn run_id(&self) -> Option<RunId> {
        match self {
            Self::RunCreated { run_id, .. }
            | Self::RunFunded { run_id, .. }
            | Self::RunCancelled { run_id, .. }
            | Self::Claimed { run_id, .. }
            | Self::WorkStarted { run_id, .. }
            | Self::Submitted { run_id, .. }
            | Self::RevisionRequested { run_id, .. }
            | Self::Approved { run_id, .. }
            | Self::Rejected { run_id, .. }
            | Self::Disputed { run_id, .. }
            | Self::EvidenceSubmitted { run_id, .. }
            | Self::DisputeResolved { run_id, .. }
            | Self::RejectionFinalized { run_id, .. }
            | Self::Abandoned { run_id, .. }
            | Self::Slashed { run_id, .. }
            | Self::RunExpired { run_id, .. }
            | Self::CreditAdded { run_id, .. }
            | Self::StakeForfeited { run_id, .. } => Some(*run_id),
            Self::Other(other) => other.id("runId").map(RunId),
            _ => None,
        }
    }

    /// The agent this event is about, if any (an [`OtherEvent`]'s `agentId` argument).
    pub fn agent_id(&self) -> Option<AgentId> {
        match self {
            Self::Claimed { agent_id, .. }
            | Self::WorkStarted { agent_id, .. }
            | Self::Submitted { agent_id, .. }
            | Self::RevisionRequested { agent_id, .. }
            | Self::Approved { agent_id, .. }
            | Self::Rejected { agent_id, .. }
            | Self::Disputed { agent_id, .. }
            | Self::DisputeResolved { agent_id, .. }
            | Self::RejectionFinalized { agent_id, .. }
            | Self::Abandoned { agent_id, .. }
            | Self::Slashed { agent_id, .. }
            | Self::AgentRegistered { agent_id, .. }
            | Self::Staked { agent_id, .. }
            | Self::UnstakeRequested { agent_id, .. }
            | Self::StakeWithdrawn { agent_id, .. }
            | Self::StakeForfeited { agent_id, .. }
            | Self::AgentStatusChanged { agent_id, .. } => Some(*agent_id),
            Self::Other(other) => other.id("agentId").map(AgentId),
            _ => None,
        }
    }
}

/// Where a log sits on the chain: enough to key it exactly once and to undo it on a reorg.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LogPosition {
    /// The block's number.
    pub block_number: u64,
    /// The block's hash.
    pub block_hash: B256,
    /// The block's timestamp (unix seconds).
    pub block_timestamp: u64,
    /// The transaction.
    pub tx_hash: B256,
    /// The log's index in the block.
    pub log_index: u64,
    /// The emitting contract.
    pub address: Address,
}

/// A decoded event and where it was emitted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChainEvent {
    /// Where.
    #[serde(flatten)]
    pub position: LogPosition,
    /// What.
    pub event: MarketEvent,
}

#[cfg(test)]
mod tests {
    use alloy_primitives::address;

    use super::*;

    #[test]
    fn json_is_tagged_camel_case_with_string_amounts() {
        let event = MarketEvent::RunCreated {
            run_id: RunId(7),
            poster: address!("0x70997970C51812dc3A010C7d01b50e0d17dc79C8"),
            spec_uri: "ipfs://spec".into(),
            reward: Usdc::from(100_000_000u64),
            fee: Usdc::from(5_000_000u64),
            required_stake: Usdc::from(20_000_000u64),
            deadline: 1_800_000_000,
            max_revisions: 3,
            terms_version: 1,
            claim_timeout: 604_800,
            review_period: 604_800,
            dispute_window: 259_200,
            ruling_period: 1_209_600,
            arbitrator: address!("0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC"),
        };
        let json = serde_json::to_value(&event).unwrap();
        assert_eq!(json["type"], "RunCreated");
        assert_eq!(json["runId"], 7);
        assert_eq!(json["specUri"], "ipfs://spec");
        assert_eq!(json["reward"], "100000000");
        assert_eq!(json["maxRevisions"], 3);
        assert_eq!(json["requiredStake"], "20000000");
        assert_eq!(json["arbitrator"], "0x3c44cdddb6a900fa2b585dd299e03d12fa4293bc");
        let back: MarketEvent = serde_json::from_value(json).unwrap();
        assert_eq!(back, event);
        assert_eq!(back.name(), "RunCreated");
        assert_eq!(back.run_id(), Some(RunId(7)));
        assert_eq!(back.agent_id(), None);
    }

    #[test]
    fn an_event_without_a_variant_keeps_its_name_fields_and_ids() {
        let json = serde_json::json!({
            "type": "EvidenceLinked", "runId": 4, "agentId": 2, "uri": "ipfs://x", "amount": "7"
        });
        let event: MarketEvent = serde_json::from_value(json.clone()).unwrap();
        let MarketEvent::Other(other) = &event else { panic!("{event:?}") };
        assert_eq!(other.name, "EvidenceLinked");
        assert_eq!(event.name(), "EvidenceLinked");
        assert_eq!((event.run_id(), event.agent_id()), (Some(RunId(4)), Some(AgentId(2))));
        assert_eq!(serde_json::to_value(&event).unwrap(), json, "the same shape back");
        // A named variant is never read as Other, and a malformed one is an error, not Other.
        let named: MarketEvent = serde_json::from_str(
            r#"{"type":"Paused","account":"0x0000000000000000000000000000000000000001"}"#,
        )
        .unwrap();
        assert!(matches!(named, MarketEvent::Paused { .. }));
        for name in MarketEvent::NAMED {
            let malformed = serde_json::json!({ "type": name, "runId": "not a number" });
            assert!(serde_json::from_value::<MarketEvent>(malformed).is_err(), "{name}");
        }
    }

    #[test]
    fn slash_touches_run_and_agent() {
        let event = MarketEvent::StakeForfeited {
            agent_id: AgentId(2),
            run_id: RunId(9),
            amount: Usdc::from(20_000_000u64),
            outcome: ClaimOutcome::Slashed,
            remaining_stake: Usdc::from(0u64),
            strikes: 1,
        };
        assert_eq!((event.run_id(), event.agent_id()), (Some(RunId(9)), Some(AgentId(2))));
        let json = serde_json::to_string(&event).unwrap();
        assert_eq!(serde_json::from_str::<MarketEvent>(&json).unwrap(), event);
    }
}
