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
    if agent.slashes >= u32::from(p.strikes_to_ban) {
        return AgentStatus::Banned;
    }
    if agent.frozen {
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

/// The reputation score, 0–100: the share of claimed runs that were approved, halved for every
/// slash, and 0 for a banned agent or one that never claimed.
///
/// `score = floor(100 × completions / claims / 2^slashes)`.
pub(crate) fn reputation_score(agent: &AgentRow, status: AgentStatus) -> u8 {
    if status == AgentStatus::Banned || agent.claims == 0 {
        return 0;
    }
    let completions = u64::from(agent.completions.min(agent.claims));
    let base = 100 * completions / u64::from(agent.claims);
    let score = base.checked_shr(agent.slashes).unwrap_or(0);
    u8::try_from(score.min(100)).unwrap_or(100)
}

/// The minimum stake to claim (zero before any parameter event is indexed).
pub(crate) fn min_stake(params: Option<&ChainParams>) -> Usdc {
    params.map_or(Usdc::ZERO, |p| p.min_stake)
}

/// The `stake` field of a run: what backs it. While an agent is on record it is what a slash
/// would take from that agent now (the minimum stake capped at its active plus pending stake);
/// otherwise the minimum stake an agent must hold to claim it.
pub(crate) fn run_stake(
    run: &RunRow,
    agent_stake: Option<Usdc>,
    agent_pending: Option<Usdc>,
    params: Option<&ChainParams>,
) -> Usdc {
    let min = min_stake(params);
    match (run.agent_id, agent_stake) {
        (Some(_), Some(stake)) => {
            let held = stake.checked_add(agent_pending.unwrap_or(Usdc::ZERO)).unwrap_or(stake);
            min.min(held)
        }
        _ => min,
    }
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
    if let Some(p) = f.params {
        if f.agent.slashes >= u32::from(p.strikes_to_ban) {
            reasons.push(ClaimReason::AgentBanned);
        } else if f.agent.frozen {
            reasons.push(ClaimReason::AgentFrozen);
        }
    } else if f.agent.frozen {
        reasons.push(ClaimReason::AgentFrozen);
    }
    if f.agent.stake < min_stake(f.params) || f.params.is_none() {
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
        }
    }

    fn agent() -> AgentRow {
        AgentRow {
            agent_id: AgentId(1),
            wallet: Address::repeat_byte(0xa1),
            metadata_uri: "ipfs://agent".into(),
            stake: Usdc::whole(20),
            pending_unstake: Usdc::ZERO,
            unstake_ready_at: None,
            staked_since: Some(1_000),
            frozen: false,
            slashes: 0,
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
        let banned = AgentRow { slashes: 3, frozen: true, ..a.clone() };
        assert_eq!(agent_status(&banned, Some(&p), 0), AgentStatus::Banned);
        assert_eq!(agent_status(&a, None, 0), AgentStatus::Provisional);
    }

    #[test]
    fn score_formula() {
        let a = agent();
        assert_eq!(reputation_score(&a, AgentStatus::Established), 100);
        let half = AgentRow { claims: 4, completions: 2, ..a.clone() };
        assert_eq!(reputation_score(&half, AgentStatus::Provisional), 50);
        let slashed = AgentRow { claims: 4, completions: 3, slashes: 1, ..a.clone() };
        assert_eq!(reputation_score(&slashed, AgentStatus::Frozen), 37);
        let never = AgentRow { claims: 0, completions: 0, ..a.clone() };
        assert_eq!(reputation_score(&never, AgentStatus::Provisional), 0);
        assert_eq!(reputation_score(&a, AgentStatus::Banned), 0);
        let many = AgentRow { slashes: 200, ..a };
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
        let banned = AgentRow { slashes: 3, frozen: true, stake: Usdc::ZERO, ..a.clone() };
        assert_eq!(
            facts(&claimed, &banned, true, 0),
            [
                ClaimReason::RunNotOpen,
                ClaimReason::AgentBanned,
                ClaimReason::InsufficientStake,
                ClaimReason::AgentSlashedOnRun
            ]
        );
        let poster = AgentRow { wallet: run.poster, frozen: true, ..a };
        assert_eq!(
            facts(&run, &poster, false, 0),
            [ClaimReason::AgentFrozen, ClaimReason::AgentIsPoster]
        );
        let stake = run_stake(
            &RunRow { agent_id: Some(AgentId(1)), ..run.clone() },
            Some(Usdc::whole(5)),
            Some(Usdc::whole(3)),
            Some(&p),
        );
        assert_eq!(stake, Usdc::whole(8));
        assert_eq!(run_stake(&run, None, None, Some(&p)), Usdc::whole(20));
    }
}
