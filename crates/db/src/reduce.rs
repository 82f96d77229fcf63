//! Pure reducers: fold one event into a derived row, exactly as the contracts change their
//! storage. The store applies them in `(block_number, log_index)` order, both to newly indexed
//! events and when rebuilding rows after a reorg, so the two paths end in the same rows.
//!
//! Each reducer ignores events that are not about its row (another run, another agent, or a kind
//! it does not track) and returns the row unchanged. An event about a row that does not exist yet
//! (which the contracts cannot produce) leaves it absent rather than inventing one.

use runs_primitives::{AgentStatus, ChainEvent, MarketEvent, RunState, U256, Usdc};

use crate::{AgentRow, ChainParams, CreditRow, Dispute, Rejection, Ruling, RunRow};

/// The vault stores `volume` as a `uint96` and saturates there instead of overflowing.
fn max_volume() -> Usdc {
    Usdc::from_base_units((U256::from(1u8) << 96) - U256::from(1u8))
}

/// The vault counts a completion only for runs with a reward of at least 1 USDC
/// (`StakeVault.MIN_COMPLETION_REWARD`), so dust runs cannot farm ESTABLISHED.
fn counts_as_completion(reward: Usdc) -> bool {
    reward >= Usdc::whole(1)
}

fn saturating_add_volume(volume: Usdc, earned: Usdc) -> Usdc {
    volume.checked_add(earned).unwrap_or_else(max_volume).min(max_volume())
}

/// Apply `ev` to a run (`None` before its RunCreated).
pub fn apply_run(row: Option<RunRow>, ev: &ChainEvent) -> Option<RunRow> {
    let pos = &ev.position;
    if let MarketEvent::RunCreated {
        run_id,
        poster,
        spec_uri,
        reward,
        fee,
        required_stake,
        deadline,
        max_revisions,
        terms_version,
        claim_timeout,
        review_period,
        dispute_window,
        ruling_period,
        arbitrator,
    } = &ev.event
    {
        // A run is created once; a second RunCreated for an existing row would be a replay bug,
        // and keeping the first is what the contract's storage would show.
        if row.is_some() {
            return row;
        }
        return Some(RunRow {
            run_id: *run_id,
            poster: *poster,
            spec_uri: spec_uri.clone(),
            reward: *reward,
            fee: *fee,
            deadline: *deadline,
            state: RunState::Draft,
            agent_id: None,
            agent_wallet: None,
            deliverable_uri: None,
            revision_count: 0,
            max_revisions: *max_revisions,
            claim_timeout: *claim_timeout,
            review_period: *review_period,
            dispute_window: *dispute_window,
            ruling_period: *ruling_period,
            arbitrator: *arbitrator,
            required_stake: *required_stake,
            terms_version: *terms_version,
            settled: false,
            rejection: None,
            dispute: None,
            funded: false,
            claimed_at: None,
            submitted_at: None,
            timer_start: None,
            created_at: pos.block_timestamp,
            updated_at: pos.block_timestamp,
            created_block: pos.block_number,
            updated_block: pos.block_number,
        });
    }
    let mut run = row?;
    if ev.event.run_id() != Some(run.run_id) {
        return Some(run);
    }
    let now = pos.block_timestamp;
    match &ev.event {
        MarketEvent::RunFunded { .. } => {
            run.state = RunState::Open;
            run.funded = true;
        }
        MarketEvent::Claimed { agent_id, wallet, .. } => {
            run.state = RunState::Claimed;
            run.agent_id = Some(*agent_id);
            run.agent_wallet = Some(*wallet);
            run.claimed_at = Some(now);
            run.timer_start = Some(now);
        }
        MarketEvent::WorkStarted { .. } => run.state = RunState::InProgress,
        MarketEvent::Submitted { deliverable_uri, revision_count, .. } => {
            run.state = RunState::Submitted;
            run.deliverable_uri = Some(deliverable_uri.clone());
            run.revision_count = *revision_count;
            run.submitted_at = Some(now);
            run.timer_start = Some(now);
        }
        MarketEvent::RevisionRequested { revision_count, .. } => {
            run.state = RunState::RevisionRequested;
            run.revision_count = *revision_count;
            run.timer_start = Some(now);
        }
        MarketEvent::Approved { reward, fee, .. } => {
            // Approving a DISPUTED run concedes the dispute: record it as its end.
            if run.state == RunState::Disputed
                && let Some(dispute) = run.dispute.as_mut()
            {
                dispute.ruling = Some(Ruling {
                    agent_share_bps: Usdc::BPS_DENOMINATOR,
                    to_agent: *reward,
                    to_treasury: *fee,
                    to_poster: Usdc::ZERO,
                    stake_forfeited: Usdc::ZERO,
                    strike: false,
                    by_default: false,
                    resolved_at: now,
                    conceded: true,
                });
            }
            run.state = RunState::Approved;
            run.settled = true;
        }
        MarketEvent::Rejected { reason_uri, bond, .. } => {
            run.state = RunState::Rejected;
            run.timer_start = Some(now);
            run.rejection = Some(Rejection {
                reason_uri: reason_uri.clone(),
                bond: *bond,
                rejected_at: now,
                finalized_at: None,
                accepted_by_agent: false,
            });
        }
        MarketEvent::RejectionFinalized { by_agent, .. } => {
            run.settled = true;
            if let Some(rejection) = run.rejection.as_mut() {
                rejection.finalized_at = Some(now);
                rejection.accepted_by_agent = *by_agent;
            }
        }
        MarketEvent::Disputed { evidence_uri, .. } => {
            run.state = RunState::Disputed;
            run.timer_start = Some(now);
            run.dispute = Some(Dispute {
                evidence_uri: evidence_uri.clone(),
                disputed_at: now,
                ruling: None,
            });
        }
        MarketEvent::DisputeResolved {
            agent_share_bps,
            to_agent,
            to_treasury,
            to_poster,
            stake_forfeited,
            strike,
            by_default,
            ..
        } => {
            run.state = RunState::Resolved;
            run.settled = true;
            if let Some(dispute) = run.dispute.as_mut() {
                dispute.ruling = Some(Ruling {
                    agent_share_bps: *agent_share_bps,
                    to_agent: *to_agent,
                    to_treasury: *to_treasury,
                    to_poster: *to_poster,
                    stake_forfeited: *stake_forfeited,
                    strike: *strike,
                    by_default: *by_default,
                    resolved_at: now,
                    conceded: false,
                });
            }
        }
        MarketEvent::Abandoned { .. } => reopen(&mut run),
        MarketEvent::Slashed { new_state, .. } => {
            run.state = *new_state;
            // Reopened: the contract clears agent, revision count and timer; the claim's own
            // details go with it. EXPIRED keeps the slashed agent on record.
            if *new_state == RunState::Open {
                reopen(&mut run);
            } else {
                run.settled = true;
            }
        }
        MarketEvent::RunExpired { .. } => {
            run.state = RunState::Expired;
            run.settled = true;
        }
        MarketEvent::RunCancelled { .. } => {
            run.state = RunState::Cancelled;
            run.settled = true;
        }
        // StakeForfeited, EvidenceSubmitted and CreditAdded name the run but change nothing the
        // escrow stores for it (evidence is part of the run's event history).
        _ => return Some(run),
    }
    run.updated_at = now;
    run.updated_block = pos.block_number;
    Some(run)
}

/// A claim that ended without settling the run (a slash before the deadline, an abandon): the
/// run is OPEN again and the claim's own details go.
fn reopen(run: &mut RunRow) {
    run.state = RunState::Open;
    run.agent_id = None;
    run.agent_wallet = None;
    run.deliverable_uri = None;
    run.revision_count = 0;
    run.claimed_at = None;
    run.submitted_at = None;
    run.timer_start = None;
}

/// Apply `ev` to an agent (`None` before its AgentRegistered). `params` are the parameters in
/// force just before `ev`, which decide the `staked_since` clock, unfreezing and banning as the
/// vault decides them. `run` is the run `ev` is about as it stood just before `ev`, if any: a
/// claim's reservation is the run's required stake, and an approval of a DISPUTED run concedes
/// the dispute.
///
/// Each settlement is counted once, from the escrow's event (Approved, RejectionFinalized,
/// DisputeResolved, Abandoned, Slashed): it releases the reservation and ends the claim. The
/// vault's StakeForfeited, emitted in the same transaction for forfeits, carries the stake left
/// and the strikes.
pub fn apply_agent(
    row: Option<AgentRow>,
    ev: &ChainEvent,
    params: &ChainParams,
    run: Option<&RunRow>,
) -> Option<AgentRow> {
    let pos = &ev.position;
    if let MarketEvent::AgentRegistered { agent_id, wallet, metadata_uri } = &ev.event {
        if row.is_some() {
            return row;
        }
        return Some(AgentRow {
            agent_id: *agent_id,
            wallet: *wallet,
            metadata_uri: metadata_uri.clone(),
            stake: Usdc::ZERO,
            reserved: Usdc::ZERO,
            pending_unstake: Usdc::ZERO,
            unstake_ready_at: None,
            staked_since: None,
            frozen: false,
            banned: false,
            strikes: 0,
            rejections: 0,
            disputes_won: 0,
            disputes_lost: 0,
            claims: 0,
            completions: 0,
            active_claims: 0,
            volume: Usdc::ZERO,
            last_status: AgentStatus::Unverified,
            registered_at: pos.block_timestamp,
            updated_at: pos.block_timestamp,
            registered_block: pos.block_number,
            updated_block: pos.block_number,
        });
    }
    let mut agent = row?;
    if ev.event.agent_id() != Some(agent.agent_id) {
        return Some(agent);
    }
    let reservation = run.map_or(Usdc::ZERO, |r| r.required_stake);
    let end_claim = |agent: &mut AgentRow| {
        agent.reserved = agent.reserved.saturating_sub(reservation);
        agent.active_claims = agent.active_claims.saturating_sub(1);
    };
    match &ev.event {
        MarketEvent::Staked { amount, total_stake, .. } => {
            agent.stake = *total_stake;
            if *total_stake >= params.min_stake {
                agent.staked_since.get_or_insert(pos.block_timestamp);
                if *amount >= params.min_stake {
                    agent.frozen = false;
                }
            }
        }
        MarketEvent::UnstakeRequested { total_stake, total_pending, ready_at, .. } => {
            agent.stake = *total_stake;
            agent.pending_unstake = *total_pending;
            agent.unstake_ready_at = Some(*ready_at);
            if *total_stake < params.min_stake {
                agent.staked_since = None;
            }
        }
        MarketEvent::StakeWithdrawn { amount, .. } => {
            agent.pending_unstake = agent.pending_unstake.saturating_sub(*amount);
            if agent.pending_unstake.is_zero() {
                agent.unstake_ready_at = None;
            }
        }
        MarketEvent::StakeForfeited { outcome, remaining_stake, strikes, .. } => {
            agent.stake = *remaining_stake;
            if *remaining_stake < params.min_stake {
                agent.staked_since = None;
            }
            if outcome.is_dispute_lost() {
                agent.disputes_lost = agent.disputes_lost.saturating_add(1);
            }
            if outcome.is_strike() {
                agent.strikes = *strikes;
                agent.frozen = true;
                if *strikes >= u32::from(params.strikes_to_ban) {
                    agent.banned = true;
                }
            }
        }
        MarketEvent::Claimed { reserved, .. } => {
            agent.claims = agent.claims.saturating_add(1);
            agent.active_claims = agent.active_claims.saturating_add(1);
            agent.reserved = agent.reserved.checked_add(*reserved).unwrap_or(agent.reserved);
        }
        MarketEvent::Approved { reward, .. } => {
            if counts_as_completion(*reward) {
                agent.completions = agent.completions.saturating_add(1);
            }
            if run.is_some_and(|r| r.state == RunState::Disputed) {
                agent.disputes_won = agent.disputes_won.saturating_add(1);
            }
            agent.volume = saturating_add_volume(agent.volume, *reward);
            end_claim(&mut agent);
        }
        MarketEvent::RejectionFinalized { .. } => {
            agent.rejections = agent.rejections.saturating_add(1);
            end_claim(&mut agent);
        }
        MarketEvent::DisputeResolved { agent_share_bps, to_agent, by_default, .. } => {
            let won = runs_primitives::ruling_for_agent(*agent_share_bps) && !*by_default;
            if won {
                agent.disputes_won = agent.disputes_won.saturating_add(1);
                if run.is_some_and(|r| counts_as_completion(r.reward)) {
                    agent.completions = agent.completions.saturating_add(1);
                }
            }
            agent.volume = saturating_add_volume(agent.volume, *to_agent);
            end_claim(&mut agent);
        }
        MarketEvent::Abandoned { .. } | MarketEvent::Slashed { .. } => end_claim(&mut agent),
        MarketEvent::AgentStatusChanged { current, .. } => agent.last_status = *current,
        // WorkStarted, Submitted, RevisionRequested, Rejected and Disputed leave the vault's
        // record alone.
        _ => return Some(agent),
    }
    agent.updated_at = pos.block_timestamp;
    agent.updated_block = pos.block_number;
    Some(agent)
}

/// The kinds of event that fold into the parameters. [`apply_params`] reads this list, and a
/// rollback replays exactly these kinds to rebuild the parameters, so the two cannot disagree.
pub const PARAM_KINDS: [&str; 7] = [
    "EscrowParametersUpdated",
    "VaultParametersUpdated",
    "TreasuryUpdated",
    "Paused",
    "Unpaused",
    "StakingPaused",
    "StakingUnpaused",
];

/// Apply `ev` to the parameters (`None` before the first parameter event; the first one starts
/// from zeros, which is what the contracts' constructors emit over).
pub fn apply_params(params: Option<ChainParams>, ev: &ChainEvent) -> Option<ChainParams> {
    if !PARAM_KINDS.contains(&ev.event.name()) {
        return params;
    }
    let mut p = params.unwrap_or_default();
    match &ev.event {
        MarketEvent::EscrowParametersUpdated {
            version,
            fee_bps,
            claim_timeout,
            review_period,
            dispute_window,
            ruling_period,
            arbitrator,
            ..
        } => {
            p.terms_version = *version;
            p.fee_bps = *fee_bps;
            p.claim_timeout = *claim_timeout;
            p.review_period = *review_period;
            p.dispute_window = *dispute_window;
            p.ruling_period = *ruling_period;
            p.arbitrator = Some(*arbitrator);
        }
        MarketEvent::VaultParametersUpdated {
            min_stake,
            unstake_cooldown,
            strikes_to_ban,
            established_completions,
            established_age,
        } => {
            p.min_stake = *min_stake;
            p.unstake_cooldown = *unstake_cooldown;
            p.strikes_to_ban = *strikes_to_ban;
            p.established_completions = *established_completions;
            p.established_age = *established_age;
        }
        MarketEvent::TreasuryUpdated { treasury, .. } => p.treasury = Some(*treasury),
        MarketEvent::Paused { .. } => p.paused = true,
        MarketEvent::Unpaused { .. } => p.paused = false,
        MarketEvent::StakingPaused { .. } => p.staking_paused = true,
        MarketEvent::StakingUnpaused { .. } => p.staking_paused = false,
        // Unreachable: the list above names only the kinds matched here.
        _ => return Some(p),
    }
    Some(p)
}

/// The account whose credit `ev` changes, if any.
pub fn credit_account(ev: &MarketEvent) -> Option<runs_primitives::Address> {
    match ev {
        MarketEvent::CreditAdded { account, .. } | MarketEvent::CreditWithdrawn { account, .. } => {
            Some(*account)
        }
        _ => None,
    }
}

/// Apply `ev` to the credit of one account (`None` before its first CreditAdded).
pub fn apply_credit(row: Option<CreditRow>, ev: &ChainEvent) -> Option<CreditRow> {
    match &ev.event {
        MarketEvent::CreditAdded { account, amount, .. } => {
            let mut credit = row.unwrap_or(CreditRow { account: *account, amount: Usdc::ZERO });
            if credit.account != *account {
                return Some(credit);
            }
            // The escrow's own accounting bounds credits by its balance; saturate rather than
            // panic on a value the contract could not have produced.
            credit.amount =
                credit.amount.checked_add(*amount).unwrap_or(Usdc::from_base_units(U256::MAX));
            Some(credit)
        }
        MarketEvent::CreditWithdrawn { account, amount } => {
            let mut credit = row?;
            if credit.account == *account {
                credit.amount = credit.amount.saturating_sub(*amount);
            }
            Some(credit)
        }
        _ => row,
    }
}

#[cfg(test)]
mod tests {
    use runs_primitives::{Address, AgentId, B256, ClaimOutcome, LogPosition, RunId};

    use super::*;

    fn at(block: u64, event: MarketEvent) -> ChainEvent {
        ChainEvent {
            position: LogPosition {
                block_number: block,
                block_hash: B256::repeat_byte(block as u8),
                block_timestamp: 1_000 + block,
                tx_hash: B256::repeat_byte(0xaa),
                log_index: 0,
                address: Address::ZERO,
            },
            event,
        }
    }

    fn created(run: u64) -> MarketEvent {
        MarketEvent::RunCreated {
            run_id: RunId(run),
            poster: Address::repeat_byte(1),
            spec_uri: "s".into(),
            reward: Usdc::whole(10),
            fee: Usdc::whole(1),
            required_stake: Usdc::whole(20),
            deadline: 5_000,
            max_revisions: 1,
            terms_version: 1,
            claim_timeout: 60,
            review_period: 120,
            dispute_window: 30,
            ruling_period: 90,
            arbitrator: Address::repeat_byte(7),
        }
    }

    fn fold_run(events: &[(u64, MarketEvent)]) -> Option<RunRow> {
        events.iter().fold(None, |row, (block, ev)| apply_run(row, &at(*block, ev.clone())))
    }

    fn agent_events(min_stake: Usdc, events: &[(u64, MarketEvent)]) -> Option<AgentRow> {
        let params = ChainParams { min_stake, strikes_to_ban: 3, ..ChainParams::default() };
        let registered = MarketEvent::AgentRegistered {
            agent_id: AgentId(1),
            wallet: Address::repeat_byte(2),
            metadata_uri: "m".into(),
        };
        let start = apply_agent(None, &at(1, registered), &params, None);
        // The agent's runs, folded alongside, give each event the run as it stood before it.
        let mut runs: std::collections::BTreeMap<RunId, RunRow> = Default::default();
        events.iter().fold(start, |row, (block, ev)| {
            let ev = at(*block, ev.clone());
            let run = ev.event.run_id().and_then(|id| runs.get(&id)).cloned();
            let row = apply_agent(row, &ev, &params, run.as_ref());
            if let Some(id) = ev.event.run_id()
                && let Some(next) = apply_run(run, &ev)
            {
                runs.insert(id, next);
            }
            row
        })
    }

    fn staked_by(amount: u64, total: u64) -> MarketEvent {
        MarketEvent::Staked {
            agent_id: AgentId(1),
            wallet: Address::repeat_byte(2),
            amount: Usdc::whole(amount),
            total_stake: Usdc::whole(total),
        }
    }

    fn staked(total: u64) -> MarketEvent {
        MarketEvent::Staked {
            agent_id: AgentId(1),
            wallet: Address::repeat_byte(2),
            amount: Usdc::whole(total),
            total_stake: Usdc::whole(total),
        }
    }

    #[test]
    fn events_before_creation_or_of_other_runs_change_nothing() {
        let funded =
            MarketEvent::RunFunded { run_id: RunId(1), poster: Address::ZERO, amount: Usdc::ZERO };
        assert_eq!(apply_run(None, &at(1, funded.clone())), None);
        let run = fold_run(&[(1, created(2))]).unwrap();
        assert_eq!(apply_run(Some(run.clone()), &at(2, funded)), Some(run));
    }

    #[test]
    fn slash_to_expired_keeps_the_agent_and_slash_to_open_clears_it() {
        let claim = MarketEvent::Claimed {
            run_id: RunId(1),
            agent_id: AgentId(3),
            wallet: Address::repeat_byte(3),
            reserved: Usdc::whole(20),
        };
        let slash = |new_state| MarketEvent::Slashed {
            run_id: RunId(1),
            agent_id: AgentId(3),
            poster: Address::repeat_byte(1),
            amount: Usdc::whole(1),
            new_state,
            refund: Usdc::ZERO,
        };
        let funded =
            MarketEvent::RunFunded { run_id: RunId(1), poster: Address::ZERO, amount: Usdc::ZERO };
        let base = [(1, created(1)), (2, funded), (3, claim)];

        let mut expired = base.to_vec();
        expired.push((9, slash(RunState::Expired)));
        let run = fold_run(&expired).unwrap();
        assert_eq!(run.state, RunState::Expired);
        assert_eq!(
            (run.agent_id, run.timer_start, run.updated_block),
            (Some(AgentId(3)), Some(1_003), 9)
        );

        let mut reopened = base.to_vec();
        reopened.push((9, slash(RunState::Open)));
        let run = fold_run(&reopened).unwrap();
        assert_eq!(run.state, RunState::Open);
        assert_eq!((run.agent_id, run.agent_wallet, run.timer_start), (None, None, None));
        assert_eq!(run.revision_count, 0);
        assert!(run.funded);
    }

    #[test]
    fn staked_since_follows_the_minimum_and_strikes_freeze_until_a_full_stake() {
        // Below the minimum: no clock.
        let agent = agent_events(Usdc::whole(20), &[(2, staked(10))]).unwrap();
        assert_eq!((agent.staked_since, agent.stake), (None, Usdc::whole(10)));
        // Reaching it starts the clock; later stakes keep the first time.
        let agent =
            agent_events(Usdc::whole(20), &[(2, staked(10)), (3, staked(20)), (4, staked(30))])
                .unwrap();
        assert_eq!(agent.staked_since, Some(1_003));
        // A claim reserves the run's required stake; a slash forfeits it with a strike and
        // freezes; only a stake of at least the minimum unfreezes.
        let claim = MarketEvent::Claimed {
            run_id: RunId(1),
            agent_id: AgentId(1),
            wallet: Address::repeat_byte(2),
            reserved: Usdc::whole(20),
        };
        let forfeited = MarketEvent::StakeForfeited {
            agent_id: AgentId(1),
            run_id: RunId(1),
            amount: Usdc::whole(20),
            outcome: ClaimOutcome::Slashed,
            remaining_stake: Usdc::whole(10),
            strikes: 1,
        };
        let slashed = MarketEvent::Slashed {
            run_id: RunId(1),
            agent_id: AgentId(1),
            poster: Address::repeat_byte(1),
            amount: Usdc::whole(20),
            new_state: RunState::Open,
            refund: Usdc::ZERO,
        };
        let funded =
            MarketEvent::RunFunded { run_id: RunId(1), poster: Address::ZERO, amount: Usdc::ZERO };
        let base = [(2, created(1)), (2, funded), (3, staked(30)), (4, claim)];
        let agent = agent_events(Usdc::whole(20), &base).unwrap();
        assert_eq!((agent.reserved, agent.active_claims, agent.claims), (Usdc::whole(20), 1, 1));

        let mut events = base.to_vec();
        events.extend([(5, forfeited.clone()), (5, slashed.clone()), (6, staked_by(15, 25))]);
        let agent = agent_events(Usdc::whole(20), &events).unwrap();
        assert!(agent.frozen && !agent.banned);
        assert_eq!((agent.strikes, agent.active_claims, agent.claims), (1, 0, 1));
        assert_eq!(agent.reserved, Usdc::ZERO);
        // The forfeit took the stake below the minimum: the clock restarts at the next stake
        // that reaches it (block 6 brings 25 >= 20, but 15 < 20 cannot unfreeze).
        assert_eq!(agent.staked_since, Some(1_006));

        let mut events = base.to_vec();
        events.extend([(5, forfeited), (5, slashed), (6, staked_by(20, 30))]);
        let agent = agent_events(Usdc::whole(20), &events).unwrap();
        assert!(!agent.frozen);
    }

    #[test]
    fn disputes_count_for_the_agent_as_the_vault_counts_them() {
        let agent = AgentId(1);
        let run = RunId(1);
        let poster = Address::repeat_byte(1);
        let funded = MarketEvent::RunFunded { run_id: run, poster, amount: Usdc::whole(11) };
        let claim = MarketEvent::Claimed {
            run_id: run,
            agent_id: agent,
            wallet: Address::repeat_byte(2),
            reserved: Usdc::whole(20),
        };
        let rejected = MarketEvent::Rejected {
            run_id: run,
            agent_id: agent,
            poster,
            reason_uri: "r".into(),
            bond: Usdc::whole(20),
        };
        let disputed = MarketEvent::Disputed {
            run_id: run,
            agent_id: agent,
            arbitrator: Address::repeat_byte(7),
            evidence_uri: "e".into(),
        };
        let ruling = |bps: u16, by_default: bool| MarketEvent::DisputeResolved {
            run_id: run,
            agent_id: agent,
            arbitrator: Address::repeat_byte(7),
            agent_share_bps: bps,
            to_agent: Usdc::whole(10).fee_for(bps),
            to_treasury: Usdc::whole(1).fee_for(bps),
            to_poster: Usdc::ZERO,
            bond: Usdc::whole(20),
            stake_forfeited: Usdc::ZERO,
            strike: false,
            by_default,
        };
        let base = [
            (2, created(1)),
            (2, funded),
            (3, staked(40)),
            (4, claim),
            (5, rejected),
            (6, disputed),
        ];
        let with = |last: MarketEvent| {
            let mut events = base.to_vec();
            events.push((7, last));
            agent_events(Usdc::whole(20), &events).unwrap()
        };

        let won = with(ruling(7_500, false));
        assert_eq!((won.disputes_won, won.completions, won.reserved), (1, 1, Usdc::ZERO));
        assert_eq!(won.volume, Usdc::from(7_500_000u64));
        let split = with(ruling(5_000, true));
        assert_eq!((split.disputes_won, split.completions, split.active_claims), (0, 0, 0));
        let conceded = with(MarketEvent::Approved {
            run_id: run,
            agent_id: agent,
            wallet: Address::repeat_byte(2),
            reward: Usdc::whole(10),
            fee: Usdc::whole(1),
            bond: Usdc::whole(20),
            on_timeout: false,
        });
        assert_eq!((conceded.disputes_won, conceded.completions), (1, 1));
        assert_eq!(conceded.reserved, Usdc::ZERO);

        // The run records the ruling and is settled.
        let mut events = base.to_vec();
        events.push((7, ruling(0, false)));
        let row = fold_run(&events).unwrap();
        assert_eq!((row.state, row.settled), (RunState::Resolved, true));
        let dispute = row.dispute.unwrap();
        assert_eq!(dispute.disputed_at, 1_006);
        assert_eq!(dispute.ruling.unwrap().agent_share_bps, 0);
        assert_eq!(row.rejection.unwrap().bond, Usdc::whole(20));
    }

    #[test]
    fn a_strike_at_the_threshold_in_force_bans_for_good() {
        let params =
            ChainParams { min_stake: Usdc::whole(20), strikes_to_ban: 1, ..ChainParams::default() };
        let registered = MarketEvent::AgentRegistered {
            agent_id: AgentId(1),
            wallet: Address::repeat_byte(2),
            metadata_uri: "m".into(),
        };
        let agent = apply_agent(None, &at(1, registered), &params, None);
        let forfeited = MarketEvent::StakeForfeited {
            agent_id: AgentId(1),
            run_id: RunId(1),
            amount: Usdc::whole(20),
            outcome: ClaimOutcome::DisputeLostStruck,
            remaining_stake: Usdc::whole(20),
            strikes: 1,
        };
        let agent = apply_agent(agent, &at(2, forfeited), &params, None).unwrap();
        assert!(agent.banned && agent.frozen);
        assert_eq!((agent.strikes, agent.disputes_lost), (1, 1));
        // Raising the threshold later unbans no one.
        let lenient = ChainParams { strikes_to_ban: 5, ..params };
        let agent = apply_agent(Some(agent), &at(3, staked(40)), &lenient, None).unwrap();
        assert!(agent.banned);
    }

    #[test]
    fn volume_saturates_like_the_vaults_uint96() {
        let approved = |reward| MarketEvent::Approved {
            run_id: RunId(1),
            agent_id: AgentId(1),
            wallet: Address::repeat_byte(2),
            reward,
            fee: Usdc::ZERO,
            bond: Usdc::ZERO,
            on_timeout: true,
        };
        let agent = agent_events(
            Usdc::whole(1),
            &[(2, approved(max_volume())), (3, approved(Usdc::from(5u64)))],
        )
        .unwrap();
        assert_eq!(agent.volume, max_volume());
        // A reward under 1 USDC earns volume but no completion (no farming with dust runs).
        assert_eq!(agent.completions, 1);
    }

    #[test]
    fn unstake_and_withdraw_follow_the_event_totals() {
        let request = MarketEvent::UnstakeRequested {
            agent_id: AgentId(1),
            amount: Usdc::whole(5),
            total_stake: Usdc::whole(15),
            total_pending: Usdc::whole(5),
            ready_at: 9_999,
        };
        let withdraw = MarketEvent::StakeWithdrawn {
            agent_id: AgentId(1),
            wallet: Address::repeat_byte(2),
            amount: Usdc::whole(5),
        };
        let agent = agent_events(Usdc::whole(1), &[(2, staked(20)), (3, request)]).unwrap();
        assert_eq!((agent.stake, agent.pending_unstake), (Usdc::whole(15), Usdc::whole(5)));
        assert_eq!(agent.unstake_ready_at, Some(9_999));
        let agent =
            apply_agent(Some(agent), &at(4, withdraw), &ChainParams::default(), None).unwrap();
        assert_eq!((agent.pending_unstake, agent.unstake_ready_at), (Usdc::ZERO, None));
        assert_eq!(agent.stake, Usdc::whole(15));
    }

    #[test]
    fn params_and_credits_fold() {
        let p = apply_params(None, &at(1, created(1)));
        assert_eq!(p, None, "not a parameter event");
        let p = apply_params(p, &at(1, MarketEvent::Paused { account: Address::ZERO }));
        assert_eq!(p, Some(ChainParams { paused: true, ..ChainParams::default() }));
        let p = apply_params(p, &at(2, MarketEvent::Unpaused { account: Address::ZERO }));
        assert!(!p.as_ref().unwrap().paused);
        let p = apply_params(p, &at(3, MarketEvent::StakingPaused { account: Address::ZERO }));
        assert!(p.as_ref().unwrap().staking_paused);
        let p = apply_params(p, &at(4, MarketEvent::StakingUnpaused { account: Address::ZERO }));
        assert!(!p.unwrap().staking_paused);

        let account = Address::repeat_byte(9);
        let added = MarketEvent::CreditAdded { account, run_id: RunId(1), amount: Usdc::whole(4) };
        let withdrawn = MarketEvent::CreditWithdrawn { account, amount: Usdc::whole(4) };
        let credit = apply_credit(None, &at(1, added.clone()));
        let credit = apply_credit(credit, &at(2, added));
        assert_eq!(credit.as_ref().unwrap().amount, Usdc::whole(8));
        let credit = apply_credit(credit, &at(3, withdrawn));
        assert_eq!(credit.unwrap().amount, Usdc::whole(4));
    }
}
