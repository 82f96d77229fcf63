//! A scripted protocol v2 lifecycle through every transition (claims, a rejection accepted and one
//! finalized, disputes ruled for and against the agent, a default, a concession, an abandon,
//! slashes, a ban) lands every event type, and the derived rows equal what the contracts report
//! through their view functions, on both backends; the two backends end with identical snapshots.

use std::collections::BTreeSet;

use alloy::{primitives::U256, providers::Provider, rpc::types::Filter, sol_types::SolEvent};
use runs_bindings::{RunEscrow, StakeVault};
use runs_db::{RunRow, Snapshot};
use runs_primitives::{AgentStatus, RunState, Usdc};

use crate::common::{Backend, TestDb, index_to_head, lifecycle};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lifecycle_rows_equal_the_contracts_on_both_backends() {
    let anvil = runs_testkit::spawn_anvil();
    let deployment = runs_testkit::deploy_fresh(&anvil).await;
    let manifest = &deployment.manifest;
    let script = lifecycle(&anvil, &deployment).await;
    let provider = runs_testkit::read_provider(&anvil);

    let (pg, lite) = tokio::join!(TestDb::new(Backend::Postgres), TestDb::new(Backend::Sqlite));
    let (pg_snapshot, lite_snapshot) = tokio::join!(
        index_to_head(&provider, &pg.store, manifest),
        index_to_head(&provider, &lite.store, manifest)
    );

    let escrow = RunEscrow::new(manifest.contracts.run_escrow.address, provider.clone());
    let vault = StakeVault::new(manifest.contracts.stake_vault.address, provider.clone());
    for (name, snapshot) in [("postgres", &pg_snapshot), ("sqlite", &lite_snapshot)] {
        assert_every_event_type(name, snapshot);
        assert_eq!(snapshot.runs.len(), script.runs.len(), "{name}: runs");
        assert_eq!(snapshot.agents.len(), script.agents.len(), "{name}: agents");
        for row in &snapshot.runs {
            let run = escrow.getRun(U256::from(row.run_id.get())).call().await.unwrap();
            let what = format!("{name}: run {}", row.run_id);
            assert_eq!(row.poster, run.poster, "{what} poster");
            assert_eq!(row.state, RunState::try_from(run.state).unwrap(), "{what} state");
            assert_eq!(row.settled, run.settled, "{what} settled");
            assert_eq!(
                U256::from(row.agent_id.map_or(0, |a| a.get())),
                run.agentId,
                "{what} agent"
            );
            assert_eq!(row.reward.base_units(), run.reward, "{what} reward");
            assert_eq!(row.fee.base_units(), run.fee, "{what} fee");
            assert_eq!(row.required_stake.base_units(), run.requiredStake, "{what} stake");
            assert_eq!(row.deadline, run.deadline, "{what} deadline");
            assert_eq!(row.revision_count, run.revisionCount, "{what} revisions");
            assert_eq!(row.max_revisions, run.maxRevisions, "{what} max revisions");
            assert_eq!(U256::from(row.terms_version), run.termsVersion, "{what} terms version");
            assert_eq!(row.claim_timeout, run.terms.claimTimeout, "{what} claim timeout");
            assert_eq!(row.review_period, run.terms.reviewPeriod, "{what} review period");
            assert_eq!(row.dispute_window, run.terms.disputeWindow, "{what} dispute window");
            assert_eq!(row.ruling_period, run.terms.rulingPeriod, "{what} ruling period");
            assert_eq!(row.arbitrator, run.terms.arbitrator, "{what} arbitrator");
            assert_eq!(row.timer_start.unwrap_or(0), run.timerStart, "{what} timer start");
        }
        for row in &snapshot.agents {
            let id = U256::from(row.agent_id.get());
            let agent = vault.getAgent(id).call().await.unwrap();
            let what = format!("{name}: agent {}", row.agent_id);
            assert_eq!(row.wallet, agent.wallet, "{what} wallet");
            assert_eq!(row.stake.base_units(), agent.stake, "{what} stake");
            assert_eq!(row.reserved.base_units(), agent.reserved, "{what} reserved");
            assert_eq!(row.pending_unstake.base_units(), agent.pendingUnstake, "{what} pending");
            assert_eq!(row.unstake_ready_at.unwrap_or(0), agent.unstakeReadyAt, "{what} ready at");
            assert_eq!(row.staked_since.unwrap_or(0), agent.stakedSince, "{what} staked since");
            assert_eq!(row.claims, agent.claims, "{what} claims");
            assert_eq!(row.completions, agent.completions, "{what} completions");
            assert_eq!(row.strikes, u32::from(agent.strikes), "{what} strikes");
            assert_eq!(row.rejections, u32::from(agent.rejections), "{what} rejections");
            assert_eq!(row.disputes_won, u32::from(agent.disputesWon), "{what} disputes won");
            assert_eq!(row.disputes_lost, u32::from(agent.disputesLost), "{what} disputes lost");
            assert_eq!(row.volume.base_units(), agent.volume, "{what} volume");
            assert_eq!(row.frozen, agent.frozen, "{what} frozen");
            assert_eq!(row.banned, agent.banned, "{what} banned");
            // No agent reaches ESTABLISHED's five completions, so time alone changes no status.
            assert_eq!(
                row.last_status,
                AgentStatus::try_from(agent.status).unwrap(),
                "{what} status"
            );
        }
        // Every claim still held is a reservation.
        let live = |r: &&RunRow| {
            matches!(
                r.state,
                RunState::Claimed
                    | RunState::InProgress
                    | RunState::Submitted
                    | RunState::RevisionRequested
                    | RunState::Disputed
            ) || (r.state == RunState::Rejected && !r.settled)
        };
        for agent in &snapshot.agents {
            let held: Usdc = snapshot
                .runs
                .iter()
                .filter(live)
                .filter(|r| r.agent_id == Some(agent.agent_id))
                .fold(Usdc::ZERO, |sum, r| sum.checked_add(r.required_stake).unwrap());
            assert_eq!(agent.reserved, held, "{name}: agent {} reservations", agent.agent_id);
        }
    }
    // The script leaves every kind of end state behind, and the ladder's every rung but
    // ESTABLISHED.
    let states: BTreeSet<_> = pg_snapshot.runs.iter().map(|r| r.state).collect();
    for state in [
        RunState::Approved,
        RunState::Rejected,
        RunState::Cancelled,
        RunState::Expired,
        RunState::Open,
        RunState::Claimed,
        RunState::Disputed,
        RunState::Resolved,
    ] {
        assert!(states.contains(&state), "no run ended {state}");
    }
    let run =
        |id: U256| pg_snapshot.runs.iter().find(|r| U256::from(r.run_id.get()) == id).unwrap();
    let rulings: Vec<_> = pg_snapshot
        .runs
        .iter()
        .filter_map(|r| r.dispute.as_ref()?.ruling.as_ref())
        .map(|r| (r.agent_share_bps, r.strike, r.by_default, r.conceded))
        .collect();
    assert_eq!(
        rulings,
        [
            (7_500, false, false, false),
            (0, true, false, false),
            (5_000, false, true, false),
            (10_000, false, false, true),
            (3_000, false, false, false),
        ]
    );
    let rejections: Vec<_> = pg_snapshot
        .runs
        .iter()
        .filter_map(|r| Some((r.run_id.get(), r.rejection.as_ref()?.finalized_at.is_some())))
        .filter(|(_, finalized)| *finalized)
        .map(|(id, _)| id)
        .collect();
    assert_eq!(rejections, [2, 14], "the accepted and the finalized rejection");
    assert!(run(script.disputed).dispute.as_ref().unwrap().ruling.is_none());
    let banned = pg_snapshot.agents.iter().find(|a| a.banned).expect("a banned agent");
    assert_eq!((banned.strikes, banned.last_status), (2, AgentStatus::Banned));
    let statuses: BTreeSet<_> = pg_snapshot.agents.iter().map(|a| a.last_status).collect();
    assert!(statuses.contains(&AgentStatus::Provisional), "{statuses:?}");
    let params = pg_snapshot.params.as_ref().expect("chain params");
    assert_eq!(
        (params.fee_bps, params.claim_timeout, params.review_period, params.dispute_window),
        (250, 86_400, 172_800, 86_400)
    );
    assert_eq!((params.strikes_to_ban, params.paused, params.staking_paused), (2, false, true));

    // Every log of the two contracts but the ownership transfers was stored, once.
    let logs = provider
        .get_logs(
            &Filter::new()
                .address(vec![
                    manifest.contracts.run_escrow.address,
                    manifest.contracts.stake_vault.address,
                ])
                .from_block(manifest.start_block()),
        )
        .await
        .unwrap();
    let ownership = [
        RunEscrow::OwnershipTransferred::SIGNATURE_HASH,
        RunEscrow::OwnershipTransferStarted::SIGNATURE_HASH,
    ];
    let expected = logs
        .iter()
        .filter(|l| !ownership.contains(&l.topic0().copied().unwrap_or_default()))
        .count();
    assert_eq!(pg_snapshot.events.len(), expected);

    assert_eq!(pg_snapshot, lite_snapshot, "Postgres and SQLite differ");
}

fn assert_every_event_type(name: &str, snapshot: &Snapshot) {
    let kinds: BTreeSet<&str> = snapshot.events.iter().map(|e| e.event.name()).collect();
    for kind in [
        "RunCreated",
        "RunFunded",
        "RunCancelled",
        "Claimed",
        "WorkStarted",
        "Submitted",
        "RevisionRequested",
        "Approved",
        "Rejected",
        "Disputed",
        "EvidenceSubmitted",
        "DisputeResolved",
        "RejectionFinalized",
        "Abandoned",
        "Slashed",
        "RunExpired",
        "FeesWithdrawn",
        "EscrowParametersUpdated",
        "TreasuryUpdated",
        "Paused",
        "Unpaused",
        "AgentRegistered",
        "Staked",
        "UnstakeRequested",
        "StakeWithdrawn",
        "StakeForfeited",
        "AgentStatusChanged",
        "VaultParametersUpdated",
        "RunEscrowSet",
        "StakingPaused",
        "StakingUnpaused",
    ] {
        assert!(kinds.contains(kind), "{name}: no {kind} event indexed (got {kinds:?})");
    }
    // Events come sorted and unique by position.
    let positions: Vec<_> =
        snapshot.events.iter().map(|e| (e.position.block_number, e.position.log_index)).collect();
    assert!(positions.windows(2).all(|w| w[0] < w[1]), "{name}: events not unique and sorted");
}
