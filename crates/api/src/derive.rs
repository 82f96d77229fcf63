//! Values the API derives from the indexed facts, by the contracts' own rules evaluated at the
//! latest indexed block's timestamp (never the wall clock), so they match what `statusOf` and
//! `canClaim` would return at that block.

use runs_db::{AgentRow, ChainParams, RunRow};
use runs_primitives::{AgentStatus, ClaimReason, RunState, Usdc};

/// `StakeVault._status` at time `now`. Without indexed parameters (nothing to evaluate the rule
/// with) the status of the last `AgentStatusChanged` is the best fact there is.
pub(crate) fn agent_status(
    agent: &AgentRow,
    params: Option<&ChainParams>,
    now: u64,
) -> AgentStatus {
    let Some(p) = params else { return agent.last_status };
    if agent.banned {
        return AgentStatus::Banned;
    }
    if is_frozen(agent, p.min_stake) {
        return AgentStatus::Frozen;
    }
    if agent.stake < p.min_stake {
        return AgentStatus::Unverified;
    }
    match agent.staked_since {
        Some(since)
            if agent.completions >= u32::from(p.established_completions)
                && now >= since.saturating_add(u64::from(p.established_age)) =>
        {
            AgentStatus::Established
        }
        _ => AgentStatus::Provisional,
    }
}

/// `StakeVault._isFrozen`: frozen by a strike, or struck once and now below the minimum.
fn is_frozen(agent: &AgentRow, min_stake: Usdc) -> bool {
    agent.frozen || (agent.strikes != 0 && agent.stake < min_stake)
}

/// The reputation score, 0–100: the share of claimed runs that were completed, halved for every
/// strike, and 0 for a banned agent or one that never claimed.
///
/// `score = floor(100 × completions / claims / 2^strikes)`.
pub(crate) fn reputation_score(agent: &AgentRow, status: AgentStatus) -> u8 {
    if status == AgentStatus::Banned || agent.claims == 0 {
        return 0;
    }
    let completions = u64::from(agent.completions.min(agent.claims));
    let base = 100 * completions / u64::from(agent.claims);
    let score = base.checked_shr(agent.strikes).unwrap_or(0);
    u8::try_from(score.min(100)).unwrap_or(100)
}

/// The minimum stake to claim (zero before any parameter event is indexed).
pub(crate) fn min_stake(params: Option<&ChainParams>) -> Usdc {
    params.map_or(Usdc::ZERO, |p| p.min_stake)
}

/// The agent's free stake: stake minus what its live claims reserve.
pub(crate) fn free_stake(agent: &AgentRow) -> Usdc {
    agent.stake.saturating_sub(agent.reserved)
}

/// The facts `canClaim` looks at, as indexed.
pub(crate) struct ClaimFacts<'a> {
    pub(crate) run: &'a RunRow,
    pub(crate) agent: &'a AgentRow,
    pub(crate) params: Option<&'a ChainParams>,
    pub(crate) slashed_on_run: bool,
    pub(crate) now: u64,
}

/// `RunEscrow.canClaim` for a run and an agent that both exist, in bit order.
pub(crate) fn claim_reasons(f: &ClaimFacts<'_>) -> Vec<ClaimReason> {
    let mut reasons = Vec::new();
    if f.run.state != RunState::Open {
        reasons.push(ClaimReason::RunNotOpen);
    }
    if f.now > f.run.deadline {
        reasons.push(ClaimReason::RunPastDeadline);
    }
    let min = min_stake(f.params);
    if f.agent.banned {
        reasons.push(ClaimReason::AgentBanned);
    } else if is_frozen(f.agent, min) {
        reasons.push(ClaimReason::AgentFrozen);
    }
    if f.agent.stake < min || f.params.is_none() {
        reasons.push(ClaimReason::InsufficientStake);
    }
    if f.agent.wallet == f.run.poster {
        reasons.push(ClaimReason::AgentIsPoster);
    }
    if f.params.is_some_and(|p| p.paused) {
        reasons.push(ClaimReason::ClaimsPaused);
    }
    if f.slashed_on_run {
        reasons.push(ClaimReason::AgentSlashedOnRun);
    }
    if free_stake(f.agent) < f.run.required_stake {
        reasons.push(ClaimReason::InsufficientFreeStake);
    }
    if f.agent.wallet == f.run.arbitrator {
        reasons.push(ClaimReason::AgentIsArbitrator);
    }
    reasons.sort();
    reasons
}

/// Whether a reason is about the run rather than the agent (decides 400 vs 403 on POST claim).
pub(crate) const fn is_run_reason(reason: ClaimReason) -> bool {
    matches!(
        reason,
        ClaimReason::RunNotFound
            | ClaimReason::RunNotOpen
            | ClaimReason::RunPastDeadline
            | ClaimReason::ClaimsPaused
    )
}

#[cfg(test)]
mod tests {
    use runs_primitives::{Address, AgentId, RunId};

    use super::*;

    fn params() -> ChainParams {
        ChainParams {
            fee_bps: 500,
            claim_timeout: 604_800,
            review_period: 604_800,
            min_stake: Usdc::whole(20),
            unstake_cooldown: 604_800,
            strikes_to_ban: 3,
            established_completions: 5,
            established_age: 30 * 86_400,
            treasury: None,
            paused: false,
            dispute_window: 3 * 86_400,
            ruling_period: 14 * 86_400,
            arbitrator: Some(Address::repeat_byte(0xab)),
            terms_version: 1,
            staking_paused: false,
        }
    }

    fn agent() -> AgentRow {
        AgentRow {
            agent_id: AgentId(1),
            wallet: Address::repeat_byte(0xa1),
            metadata_uri: "ipfs://agent".into(),
            stake: Usdc::whole(20),
            reserved: Usdc::ZERO,
            pending_unstake: Usdc::ZERO,
            unstake_ready_at: None,
            staked_since: Some(1_000),
            frozen: false,
            banned: false,
            strikes: 0,
            rejections: 0,
            disputes_won: 0,
            disputes_lost: 0,
            claims: 5,
            completions: 5,
            active_claims: 0,
            volume: Usdc::ZERO,
            last_status: AgentStatus::Provisional,
            registered_at: 1_000,
            updated_at: 1_000,
            registered_block: 1,
            updated_block: 1,
        }
    }

    #[test]
    fn status_follows_the_vault_ladder() {
        let p = params();
        let a = agent();
        assert_eq!(agent_status(&a, Some(&p), 1_000), AgentStatus::Provisional);
        assert_eq!(agent_status(&a, Some(&p), 1_000 + 30 * 86_400), AgentStatus::Established);
        let few = AgentRow { completions: 4, ..a.clone() };
        assert_eq!(agent_status(&few, Some(&p), u64::MAX), AgentStatus::Provisional);
        let poor = AgentRow { stake: Usdc::whole(19), ..a.clone() };
        assert_eq!(agent_status(&poor, Some(&p), 0), AgentStatus::Unverified);
        let frozen = AgentRow { frozen: true, ..a.clone() };
        assert_eq!(agent_status(&frozen, Some(&p), 0), AgentStatus::Frozen);
        let banned = AgentRow { strikes: 3, frozen: true, banned: true, ..a.clone() };
        assert_eq!(agent_status(&banned, Some(&p), 0), AgentStatus::Banned);
        // Struck once and now under the minimum: FROZEN, not UNVERIFIED (the vault's rule).
        let struck_poor = AgentRow { strikes: 1, stake: Usdc::whole(19), ..a.clone() };
        assert_eq!(agent_status(&struck_poor, Some(&p), 0), AgentStatus::Frozen);
        assert_eq!(agent_status(&a, None, 0), AgentStatus::Provisional);
    }

    #[test]
    fn score_formula() {
        let a = agent();
        assert_eq!(reputation_score(&a, AgentStatus::Established), 100);
        let half = AgentRow { claims: 4, completions: 2, ..a.clone() };
        assert_eq!(reputation_score(&half, AgentStatus::Provisional), 50);
        let slashed = AgentRow { claims: 4, completions: 3, strikes: 1, ..a.clone() };
        assert_eq!(reputation_score(&slashed, AgentStatus::Frozen), 37);
        let never = AgentRow { claims: 0, completions: 0, ..a.clone() };
        assert_eq!(reputation_score(&never, AgentStatus::Provisional), 0);
        assert_eq!(reputation_score(&a, AgentStatus::Banned), 0);
        let many = AgentRow { strikes: 200, ..a };
        assert_eq!(reputation_score(&many, AgentStatus::Frozen), 0);
    }

    #[test]
    fn claim_reasons_match_can_claim() {
        let p = params();
        let a = agent();
        let run = RunRow {
            run_id: RunId(1),
            poster: Address::repeat_byte(0xb0),
            spec_uri: "ipfs://spec".into(),
            reward: Usdc::whole(100),
            fee: Usdc::whole(5),
            deadline: 10_000,
            state: RunState::Open,
            agent_id: None,
            agent_wallet: None,
            deliverable_uri: None,
            revision_count: 0,
            max_revisions: 3,
            claim_timeout: 1,
            review_period: 1,
            dispute_window: 1,
            ruling_period: 1,
            arbitrator: Address::repeat_byte(0xab),
            required_stake: Usdc::whole(20),
            terms_version: 1,
            settled: false,
            rejection: None,
            dispute: None,
            funded: true,
            claimed_at: None,
            submitted_at: None,
            timer_start: None,
            created_at: 1,
            updated_at: 1,
            created_block: 1,
            updated_block: 1,
        };
        let facts = |run: &RunRow, agent: &AgentRow, slashed: bool, now: u64| {
            claim_reasons(&ClaimFacts {
                run,
                agent,
                params: Some(&p),
                slashed_on_run: slashed,
                now,
            })
        };
        assert!(facts(&run, &a, false, 10_000).is_empty());
        assert_eq!(facts(&run, &a, false, 10_001), [ClaimReason::RunPastDeadline]);
        let claimed = RunRow { state: RunState::Claimed, ..run.clone() };
        let banned =
            AgentRow { strikes: 3, frozen: true, banned: true, stake: Usdc::ZERO, ..a.clone() };
        assert_eq!(
            facts(&claimed, &banned, true, 0),
            [
                ClaimReason::RunNotOpen,
                ClaimReason::AgentBanned,
                ClaimReason::InsufficientStake,
                ClaimReason::AgentSlashedOnRun,
                ClaimReason::InsufficientFreeStake,
            ]
        );
        // One 20 USDC stake backs one 20 USDC claim at a time; the arbitrator may not claim.
        let busy = AgentRow { stake: Usdc::whole(30), reserved: Usdc::whole(20), ..a.clone() };
        assert_eq!(facts(&run, &busy, false, 0), [ClaimReason::InsufficientFreeStake]);
        let judge = AgentRow { wallet: run.arbitrator, ..a.clone() };
        assert_eq!(facts(&run, &judge, false, 0), [ClaimReason::AgentIsArbitrator]);
        let poster = AgentRow { wallet: run.poster, frozen: true, ..a };
        assert_eq!(
            facts(&run, &poster, false, 0),
            [ClaimReason::AgentFrozen, ClaimReason::AgentIsPoster]
        );
    }
}
