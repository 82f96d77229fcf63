//! Pure reducers: fold one event into a derived row, exactly as the contracts change their
//! storage. The store applies them in `(block_number, log_index)` order, both to newly indexed
//! events and when rebuilding rows after a reorg, so the two paths end in the same rows.
//!
//! Each reducer ignores events that are not about its row (another run, another agent, or a kind
//! it does not track) and returns the row unchanged. An event about a row that does not exist yet
//! (which the contracts cannot produce) leaves it absent rather than inventing one.

use runs_primitives::{AgentStatus, ChainEvent, MarketEvent, RunState, U256, Usdc};

use crate::{AgentRow, ChainParams, CreditRow, RunRow};

/// The vault stores `volume` as a `uint96` and saturates there instead of overflowing.
fn max_volume() -> Usdc {
    Usdc::from_base_units((U256::from(1u8) << 96) - U256::from(1u8))
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
        deadline,
        max_revisions,
        claim_timeout,
        review_period,
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
        MarketEvent::Approved { .. } => run.state = RunState::Approved,
        MarketEvent::Rejected { .. } => run.state = RunState::Rejected,
        MarketEvent::Slashed { new_state, .. } => {
            run.state = *new_state;
            // Reopened: the contract clears agent, revision count and timer; the claim's own
            // details go with it. EXPIRED keeps the slashed agent on record.
            if *new_state == RunState::Open {
                run.agent_id = None;
                run.agent_wallet = None;
                run.deliverable_uri = None;
                run.revision_count = 0;
                run.claimed_at = None;
                run.submitted_at = None;
                run.timer_start = None;
            }
        }
        MarketEvent::RunExpired { .. } => run.state = RunState::Expired,
        MarketEvent::RunCancelled { .. } => run.state = RunState::Cancelled,
        // StakeSlashed and CreditAdded name the run but change nothing the escrow stores for it.
        _ => return Some(run),
    }
    run.updated_at = now;
    run.updated_block = pos.block_number;
    Some(run)
}

/// Apply `ev` to an agent (`None` before its AgentRegistered). `params` are the parameters in
/// force just before `ev`, which decide whether a stake starts the `staked_since` clock.
pub fn apply_agent(
    row: Option<AgentRow>,
    ev: &ChainEvent,
    params: &ChainParams,
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
            pending_unstake: Usdc::ZERO,
            unstake_ready_at: None,
            staked_since: None,
            frozen: false,
            slashes: 0,
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
    match &ev.event {
        MarketEvent::Staked { total_stake, .. } => {
            agent.stake = *total_stake;
            if *total_stake >= params.min_stake {
                agent.staked_since.get_or_insert(pos.block_timestamp);
                agent.frozen = false;
            }
        }
        MarketEvent::UnstakeRequested { total_stake, total_pending, ready_at, .. } => {
            agent.stake = *total_stake;
            agent.pending_unstake = *total_pending;
            agent.unstake_ready_at = Some(*ready_at);
        }
        MarketEvent::StakeWithdrawn { .. } => {
            agent.pending_unstake = Usdc::ZERO;
            agent.unstake_ready_at = None;
        }
        MarketEvent::StakeSlashed { stake_after, pending_after, strikes, .. } => {
            agent.stake = *stake_after;
            agent.pending_unstake = *pending_after;
            agent.slashes = *strikes;
            agent.frozen = true;
            agent.active_claims = agent.active_claims.saturating_sub(1);
        }
        MarketEvent::Claimed { .. } => {
            agent.claims = agent.claims.saturating_add(1);
            agent.active_claims = agent.active_claims.saturating_add(1);
        }
        MarketEvent::Approved { reward, .. } => {
            agent.completions = agent.completions.saturating_add(1);
            let volume = agent.volume.checked_add(*reward).unwrap_or_else(max_volume);
            agent.volume = volume.min(max_volume());
            agent.active_claims = agent.active_claims.saturating_sub(1);
        }
        MarketEvent::Rejected { .. } => {
            agent.active_claims = agent.active_claims.saturating_sub(1);
        }
        MarketEvent::AgentStatusChanged { current, .. } => agent.last_status = *current,
        // WorkStarted, Submitted, RevisionRequested and the escrow's Slashed (the vault's
        // StakeSlashed carries the stake change) leave the vault's record alone.
        _ => return Some(agent),
    }
    agent.updated_at = pos.block_timestamp;
    agent.updated_block = pos.block_number;
    Some(agent)
}

/// Apply `ev` to the parameters (`None` before the first parameter event; the first one starts
/// from zeros, which is what the contracts' constructors emit over).
pub fn apply_params(params: Option<ChainParams>, ev: &ChainEvent) -> Option<ChainParams> {
    let is_param_event = matches!(
        ev.event,
        MarketEvent::EscrowParametersUpdated { .. }
            | MarketEvent::VaultParametersUpdated { .. }
            | MarketEvent::TreasuryUpdated { .. }
            | MarketEvent::Paused { .. }
            | MarketEvent::Unpaused { .. }
    );
    if !is_param_event {
        return params;
    }
    let mut p = params.unwrap_or_default();
    match &ev.event {
        MarketEvent::EscrowParametersUpdated { fee_bps, claim_timeout, review_period, .. } => {
            p.fee_bps = *fee_bps;
            p.claim_timeout = *claim_timeout;
            p.review_period = *review_period;
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
        _ => {}
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
    use runs_primitives::{Address, AgentId, B256, LogPosition, RunId};

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
            deadline: 5_000,
            max_revisions: 1,
            claim_timeout: 60,
            review_period: 120,
        }
    }

    fn fold_run(events: &[(u64, MarketEvent)]) -> Option<RunRow> {
        events.iter().fold(None, |row, (block, ev)| apply_run(row, &at(*block, ev.clone())))
    }

    fn agent_events(min_stake: Usdc, events: &[(u64, MarketEvent)]) -> Option<AgentRow> {
        let params = ChainParams { min_stake, ..ChainParams::default() };
        let registered = MarketEvent::AgentRegistered {
            agent_id: AgentId(1),
            wallet: Address::repeat_byte(2),
            metadata_uri: "m".into(),
        };
        let start = apply_agent(None, &at(1, registered), &params);
        events
            .iter()
            .fold(start, |row, (block, ev)| apply_agent(row, &at(*block, ev.clone()), &params))
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
    fn staked_since_starts_at_the_minimum_in_force_and_is_never_reset() {
        // Below the minimum: no clock.
        let agent = agent_events(Usdc::whole(20), &[(2, staked(10))]).unwrap();
        assert_eq!((agent.staked_since, agent.stake), (None, Usdc::whole(10)));
        // Reaching it starts the clock; later stakes keep the first time.
        let agent =
            agent_events(Usdc::whole(20), &[(2, staked(10)), (3, staked(20)), (4, staked(30))])
                .unwrap();
        assert_eq!(agent.staked_since, Some(1_003));
        // A slash freezes; a stake back to the minimum unfreezes, a smaller one does not.
        let slashed = MarketEvent::StakeSlashed {
            agent_id: AgentId(1),
            run_id: RunId(1),
            amount: Usdc::whole(20),
            stake_after: Usdc::whole(10),
            pending_after: Usdc::ZERO,
            strikes: 1,
        };
        let claim = MarketEvent::Claimed {
            run_id: RunId(1),
            agent_id: AgentId(1),
            wallet: Address::repeat_byte(2),
        };
        let agent = agent_events(
            Usdc::whole(20),
            &[(3, staked(30)), (4, claim), (5, slashed.clone()), (6, staked(15))],
        )
        .unwrap();
        assert!(agent.frozen);
        assert_eq!((agent.slashes, agent.active_claims, agent.claims), (1, 0, 1));
        assert_eq!(agent.staked_since, Some(1_003));
        let agent =
            agent_events(Usdc::whole(20), &[(3, staked(30)), (5, slashed), (6, staked(25))])
                .unwrap();
        assert!(!agent.frozen);
    }

    #[test]
    fn volume_saturates_like_the_vaults_uint96() {
        let approved = |reward| MarketEvent::Approved {
            run_id: RunId(1),
            agent_id: AgentId(1),
            wallet: Address::repeat_byte(2),
            reward,
            fee: Usdc::ZERO,
            on_timeout: true,
        };
        let agent = agent_events(
            Usdc::whole(1),
            &[(2, approved(max_volume())), (3, approved(Usdc::from(5u64)))],
        )
        .unwrap();
        assert_eq!(agent.volume, max_volume());
        assert_eq!(agent.completions, 2);
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
        let agent = apply_agent(Some(agent), &at(4, withdraw), &ChainParams::default()).unwrap();
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
        assert!(!p.unwrap().paused);

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
