//! The write API against both backends: migrations, exactly-once commits, atomicity, rollbacks,
//! exact amounts, the writer lock and the backfill's indexes set aside.

use std::{collections::BTreeSet, time::Duration};

use runs_db::{
    AgentRow, ChainParams, CreditRow, Dispute, RangeCommit, Rejection, Ruling, RunRow, Snapshot,
    Store,
    read::{FeedFilter, FeedItem},
};
use runs_primitives::{
    Address, AgentId, AgentStatus, ChainEvent, ClaimOutcome, MarketEvent, RunId, RunState, U256,
    Usdc,
};

use crate::support::{CHAIN, TestDb, at, backends, block, column};

const POSTER: Address = Address::repeat_byte(0x11);
const WALLET: Address = Address::repeat_byte(0x22);
const TREASURY: Address = Address::repeat_byte(0x33);
const ARBITRATOR: Address = Address::repeat_byte(0x44);

fn max_u96() -> Usdc {
    Usdc::from_base_units((U256::from(1u8) << 96) - U256::from(1u8))
}

fn created(run: u64, reward: Usdc, fee: Usdc) -> MarketEvent {
    MarketEvent::RunCreated {
        run_id: RunId(run),
        poster: POSTER,
        spec_uri: format!("ipfs://spec-{run}"),
        reward,
        fee,
        required_stake: Usdc::whole(20),
        deadline: 1_800_000_000,
        max_revisions: 2,
        terms_version: 1,
        claim_timeout: 3_600,
        review_period: 7_200,
        dispute_window: 86_400,
        ruling_period: 172_800,
        arbitrator: ARBITRATOR,
    }
}

fn claimed(run: u64) -> MarketEvent {
    MarketEvent::Claimed {
        run_id: RunId(run),
        agent_id: AgentId(1),
        wallet: WALLET,
        reserved: Usdc::whole(20),
    }
}

/// A scripted history covering every event kind, one `Vec` per block from block 1.
fn lifecycle() -> Vec<Vec<MarketEvent>> {
    let agent = AgentId(1);
    vec![
        // 1: parameters.
        vec![
            MarketEvent::VaultParametersUpdated {
                min_stake: Usdc::whole(20),
                unstake_cooldown: 86_400,
                strikes_to_ban: 3,
                established_completions: 1,
                established_age: 600,
            },
            MarketEvent::EscrowParametersUpdated {
                version: 1,
                fee_bps: 500,
                claim_timeout: 3_600,
                review_period: 7_200,
                dispute_window: 86_400,
                ruling_period: 172_800,
                arbitrator: ARBITRATOR,
                min_stake: Usdc::whole(20),
            },
            MarketEvent::TreasuryUpdated { previous: Address::ZERO, treasury: TREASURY },
            other(
                serde_json::json!({ "type": "RunEscrowSet", "runEscrow": format!("{:#x}", Address::repeat_byte(0xe5)) }),
            ),
        ],
        // 2: an agent registers and stakes the minimum.
        vec![
            MarketEvent::AgentRegistered {
                agent_id: agent,
                wallet: WALLET,
                metadata_uri: "ipfs://agent".into(),
            },
            MarketEvent::Staked {
                agent_id: agent,
                wallet: WALLET,
                amount: Usdc::whole(20),
                total_stake: Usdc::whole(20),
            },
            MarketEvent::AgentStatusChanged {
                agent_id: agent,
                previous: AgentStatus::Unverified,
                current: AgentStatus::Provisional,
            },
        ],
        // 3: run 1 created and funded.
        vec![
            created(1, Usdc::whole(100), Usdc::whole(5)),
            MarketEvent::RunFunded { run_id: RunId(1), poster: POSTER, amount: Usdc::whole(105) },
        ],
        // 4: claimed.
        vec![claimed(1)],
        // 5: started and submitted; staking is paused meanwhile (a rollback past here must
        // keep that).
        vec![
            MarketEvent::WorkStarted { run_id: RunId(1), agent_id: agent },
            MarketEvent::Submitted {
                run_id: RunId(1),
                agent_id: agent,
                deliverable_uri: "ipfs://v0".into(),
                revision_count: 0,
            },
            MarketEvent::StakingPaused { account: TREASURY },
        ],
        // 6: revision requested.
        vec![MarketEvent::RevisionRequested {
            run_id: RunId(1),
            agent_id: agent,
            reason_uri: "ipfs://more".into(),
            revision_count: 1,
        }],
        // 7: resubmitted.
        vec![MarketEvent::Submitted {
            run_id: RunId(1),
            agent_id: agent,
            deliverable_uri: "ipfs://v1".into(),
            revision_count: 1,
        }],
        // 8: approved; the agent becomes ESTABLISHED.
        vec![
            MarketEvent::Approved {
                run_id: RunId(1),
                agent_id: agent,
                wallet: WALLET,
                reward: Usdc::whole(100),
                fee: Usdc::whole(5),
                bond: Usdc::ZERO,
                on_timeout: false,
            },
            MarketEvent::AgentStatusChanged {
                agent_id: agent,
                previous: AgentStatus::Provisional,
                current: AgentStatus::Established,
            },
        ],
        // 9: run 2 with the largest uint96 reward, claimed.
        vec![
            created(2, max_u96(), Usdc::from_base_units(U256::MAX)),
            MarketEvent::RunFunded { run_id: RunId(2), poster: POSTER, amount: max_u96() },
            claimed(2),
        ],
        // 10: the agent times out: its reservation is forfeited, run 2 reopens.
        vec![
            MarketEvent::StakeForfeited {
                agent_id: agent,
                run_id: RunId(2),
                amount: Usdc::whole(20),
                outcome: ClaimOutcome::Slashed,
                remaining_stake: Usdc::ZERO,
                strikes: 1,
            },
            MarketEvent::AgentStatusChanged {
                agent_id: agent,
                previous: AgentStatus::Established,
                current: AgentStatus::Frozen,
            },
            MarketEvent::Slashed {
                run_id: RunId(2),
                agent_id: agent,
                poster: POSTER,
                amount: Usdc::whole(20),
                new_state: RunState::Open,
                refund: Usdc::ZERO,
            },
        ],
        // 11: run 3 cancelled; a failed payout becomes credit and is withdrawn in part.
        vec![
            created(3, Usdc::whole(9), Usdc::ZERO),
            MarketEvent::RunCancelled { run_id: RunId(3), poster: POSTER, refund: Usdc::ZERO },
            MarketEvent::CreditAdded { account: POSTER, run_id: RunId(3), amount: Usdc::whole(7) },
            MarketEvent::CreditWithdrawn { account: POSTER, amount: Usdc::whole(2) },
        ],
        // 12: pause; the agent restakes (unfreezes), asks to unstake, withdraws; run 2 expires.
        vec![
            MarketEvent::Paused { account: TREASURY },
            MarketEvent::Staked {
                agent_id: agent,
                wallet: WALLET,
                amount: Usdc::whole(30),
                total_stake: Usdc::whole(30),
            },
            MarketEvent::AgentStatusChanged {
                agent_id: agent,
                previous: AgentStatus::Frozen,
                current: AgentStatus::Provisional,
            },
            MarketEvent::UnstakeRequested {
                agent_id: agent,
                amount: Usdc::whole(10),
                total_stake: Usdc::whole(20),
                total_pending: Usdc::whole(10),
                ready_at: 1_700_100_000,
            },
            MarketEvent::StakeWithdrawn {
                agent_id: agent,
                wallet: WALLET,
                amount: Usdc::whole(10),
            },
            MarketEvent::RunExpired { run_id: RunId(2), poster: POSTER, refund: max_u96() },
        ],
        // 13: run 4 (no revisions) claimed with the whole stake and submitted.
        vec![
            created(4, Usdc::whole(100), Usdc::whole(5)),
            MarketEvent::RunFunded { run_id: RunId(4), poster: POSTER, amount: Usdc::whole(105) },
            claimed(4),
            MarketEvent::Submitted {
                run_id: RunId(4),
                agent_id: agent,
                deliverable_uri: "ipfs://v4".into(),
                revision_count: 0,
            },
        ],
        // 14: rejected with a bond, evidence, disputed.
        vec![
            MarketEvent::Rejected {
                run_id: RunId(4),
                agent_id: agent,
                poster: POSTER,
                reason_uri: "ipfs://no".into(),
                bond: Usdc::whole(20),
            },
            MarketEvent::EvidenceSubmitted {
                run_id: RunId(4),
                by: POSTER,
                uri: "ipfs://poster-evidence".into(),
            },
            MarketEvent::Disputed {
                run_id: RunId(4),
                agent_id: agent,
                arbitrator: ARBITRATOR,
                evidence_uri: "ipfs://agent-evidence".into(),
            },
        ],
        // 15: ruled against the agent with a strike: the reservation is forfeited.
        vec![
            MarketEvent::StakeForfeited {
                agent_id: agent,
                run_id: RunId(4),
                amount: Usdc::whole(20),
                outcome: ClaimOutcome::DisputeLostStruck,
                remaining_stake: Usdc::ZERO,
                strikes: 2,
            },
            MarketEvent::AgentStatusChanged {
                agent_id: agent,
                previous: AgentStatus::Provisional,
                current: AgentStatus::Frozen,
            },
            MarketEvent::DisputeResolved {
                run_id: RunId(4),
                agent_id: agent,
                arbitrator: ARBITRATOR,
                agent_share_bps: 0,
                to_agent: Usdc::ZERO,
                to_treasury: Usdc::ZERO,
                to_poster: Usdc::whole(105),
                bond: Usdc::whole(20),
                stake_forfeited: Usdc::whole(20),
                strike: true,
                by_default: false,
            },
        ],
        // 16: fees withdrawn; staking resumes.
        vec![
            other(
                serde_json::json!({ "type": "FeesWithdrawn", "treasury": format!("{TREASURY:#x}"), "amount": "5000000" }),
            ),
            MarketEvent::StakingUnpaused { account: TREASURY },
        ],
    ]
}

/// The events of blocks `from..=to` of `history`, on chain `fork`.
fn events(history: &[Vec<MarketEvent>], from: u64, to: u64, fork: u8) -> Vec<ChainEvent> {
    (from..=to)
        .flat_map(|n| {
            history[(n - 1) as usize]
                .iter()
                .enumerate()
                .map(move |(i, e)| at(n, i as u64, fork, e.clone()))
        })
        .collect()
}

fn range(history: &[Vec<MarketEvent>], from: u64, to: u64, fork: u8) -> RangeCommit {
    RangeCommit {
        events: events(history, from, to, fork),
        blocks: (from..=to).map(|n| block(n, fork)).collect(),
        checkpoint: block(to, fork),
        keep_blocks: 64,
    }
}

/// The canonical chain after a reorg of [`lifecycle`]: blocks 7.. replaced by two blocks in which
/// run 1 gets another revision instead of being approved.
fn fork_of(history: &[Vec<MarketEvent>]) -> Vec<Vec<MarketEvent>> {
    let mut fork = history[..6].to_vec();
    fork.push(vec![MarketEvent::Submitted {
        run_id: RunId(1),
        agent_id: AgentId(1),
        deliverable_uri: "ipfs://fork".into(),
        revision_count: 1,
    }]);
    fork.push(vec![MarketEvent::RevisionRequested {
        run_id: RunId(1),
        agent_id: AgentId(1),
        reason_uri: "ipfs://again".into(),
        revision_count: 2,
    }]);
    fork
}

/// The last block of [`lifecycle`].
const LAST: u64 = 16;

/// Index the whole lifecycle in uneven ranges.
/// An event with no variant of its own (stored as decoded from the ABI).
fn other(json: serde_json::Value) -> MarketEvent {
    serde_json::from_value(json).unwrap()
}

pub(crate) async fn index_lifecycle(store: &Store) {
    let history = lifecycle();
    for (from, to) in [(1, 1), (2, 4), (5, 5), (6, 9), (10, 12), (13, LAST)] {
        store.commit_range(CHAIN, &range(&history, from, to, 0)).await.unwrap();
    }
}

fn run(snapshot: &Snapshot, id: u64) -> &RunRow {
    snapshot.runs.iter().find(|r| r.run_id == RunId(id)).unwrap()
}

async fn migrate_twice_is_a_noop(db: &TestDb) {
    db.store.migrate().await.unwrap();
    db.store.migrate().await.unwrap();
    assert_eq!(db.store.snapshot(CHAIN).await.unwrap(), Snapshot::default());
    assert_eq!(db.store.checkpoint(CHAIN).await.unwrap(), None);
    assert!(db.store.recent_blocks(CHAIN).await.unwrap().is_empty());
}

async fn commit_applies_every_event_kind(db: &TestDb) {
    index_lifecycle(&db.store).await;
    let snap = db.store.snapshot(CHAIN).await.unwrap();
    assert_eq!(snap.events.len(), lifecycle().iter().map(Vec::len).sum::<usize>());
    assert_eq!(snap.events, events(&lifecycle(), 1, LAST, 0));

    let t = |n: u64| block(n, 0).timestamp;
    assert_eq!(
        *run(&snap, 1),
        RunRow {
            run_id: RunId(1),
            poster: POSTER,
            spec_uri: "ipfs://spec-1".into(),
            reward: Usdc::whole(100),
            fee: Usdc::whole(5),
            deadline: 1_800_000_000,
            state: RunState::Approved,
            agent_id: Some(AgentId(1)),
            agent_wallet: Some(WALLET),
            deliverable_uri: Some("ipfs://v1".into()),
            revision_count: 1,
            max_revisions: 2,
            claim_timeout: 3_600,
            review_period: 7_200,
            dispute_window: 86_400,
            ruling_period: 172_800,
            arbitrator: ARBITRATOR,
            required_stake: Usdc::whole(20),
            terms_version: 1,
            settled: true,
            rejection: None,
            dispute: None,
            funded: true,
            claimed_at: Some(t(4)),
            submitted_at: Some(t(7)),
            timer_start: Some(t(7)),
            created_at: t(3),
            updated_at: t(8),
            created_block: 3,
            updated_block: 8,
        }
    );
    let run2 = run(&snap, 2);
    assert_eq!((run2.state, run2.settled), (RunState::Expired, true));
    assert_eq!((run2.agent_id, run2.revision_count, run2.timer_start), (None, 0, None));
    assert_eq!(run2.reward, max_u96());
    assert_eq!(run2.fee, Usdc::from_base_units(U256::MAX));
    assert_eq!(run(&snap, 3).state, RunState::Cancelled);
    assert!(!run(&snap, 3).funded);
    let run4 = run(&snap, 4);
    assert_eq!(
        (run4.state, run4.settled, run4.timer_start),
        (RunState::Resolved, true, Some(t(14)))
    );
    assert_eq!(
        run4.rejection,
        Some(Rejection {
            reason_uri: "ipfs://no".into(),
            bond: Usdc::whole(20),
            rejected_at: t(14),
            finalized_at: None,
            accepted_by_agent: false,
        })
    );
    assert_eq!(
        run4.dispute,
        Some(Dispute {
            evidence_uri: "ipfs://agent-evidence".into(),
            disputed_at: t(14),
            ruling: Some(Ruling {
                agent_share_bps: 0,
                to_agent: Usdc::ZERO,
                to_treasury: Usdc::ZERO,
                to_poster: Usdc::whole(105),
                stake_forfeited: Usdc::whole(20),
                strike: true,
                by_default: false,
                resolved_at: t(15),
                conceded: false,
            }),
        })
    );

    assert_eq!(
        snap.agents,
        [AgentRow {
            agent_id: AgentId(1),
            wallet: WALLET,
            metadata_uri: "ipfs://agent".into(),
            stake: Usdc::ZERO,
            reserved: Usdc::ZERO,
            pending_unstake: Usdc::ZERO,
            unstake_ready_at: None,
            // The last forfeit took the stake below the minimum.
            staked_since: None,
            frozen: true,
            banned: false,
            strikes: 2,
            rejections: 0,
            disputes_won: 0,
            disputes_lost: 1,
            claims: 3,
            completions: 1,
            active_claims: 0,
            volume: Usdc::whole(100),
            last_status: AgentStatus::Frozen,
            registered_at: t(2),
            updated_at: t(15),
            registered_block: 2,
            updated_block: 15,
        }]
    );
    assert_eq!(
        snap.params,
        Some(ChainParams {
            fee_bps: 500,
            claim_timeout: 3_600,
            review_period: 7_200,
            dispute_window: 86_400,
            ruling_period: 172_800,
            arbitrator: Some(ARBITRATOR),
            terms_version: 1,
            min_stake: Usdc::whole(20),
            unstake_cooldown: 86_400,
            strikes_to_ban: 3,
            established_completions: 1,
            established_age: 600,
            treasury: Some(TREASURY),
            paused: true,
            staking_paused: false,
        })
    );
    assert_eq!(snap.credits, [CreditRow { account: POSTER, amount: Usdc::whole(5) }]);
    assert_eq!(db.store.checkpoint(CHAIN).await.unwrap(), Some(block(LAST, 0)));
    let window = db.store.recent_blocks(CHAIN).await.unwrap();
    assert_eq!(window, (1..=LAST).rev().map(|n| block(n, 0)).collect::<Vec<_>>());
}

async fn recommitting_a_range_changes_nothing(db: &TestDb) {
    index_lifecycle(&db.store).await;
    let before = db.store.snapshot(CHAIN).await.unwrap();
    let history = lifecycle();
    // Again, in other ranges, and one range twice in one batch.
    for (from, to) in [(1, 6), (7, LAST), (3, 3)] {
        let stats = db.store.commit_range(CHAIN, &range(&history, from, to, 0)).await.unwrap();
        assert_eq!(stats.events_inserted, 0, "{from}..={to}");
        assert_eq!(stats.runs_written + stats.agents_written, 0);
    }
    let mut doubled = range(&history, 1, LAST, 0);
    doubled.events.extend(events(&history, 1, LAST, 0));
    assert_eq!(db.store.commit_range(CHAIN, &doubled).await.unwrap().events_inserted, 0);
    assert_eq!(db.store.snapshot(CHAIN).await.unwrap(), before);
    // An old range never moves the checkpoint back.
    assert_eq!(db.store.checkpoint(CHAIN).await.unwrap(), Some(block(LAST, 0)));

    // A batch holding the same log twice applies it once.
    let other = TestDb::sqlite().await;
    let mut twice = range(&history, 1, LAST, 0);
    twice.events.extend(events(&history, 1, LAST, 0));
    other.store.commit_range(CHAIN, &twice).await.unwrap();
    assert_eq!(other.store.snapshot(CHAIN).await.unwrap(), before);
}

async fn a_failed_commit_leaves_nothing(db: &TestDb) {
    index_lifecycle(&db.store).await;
    let before = db.store.snapshot(CHAIN).await.unwrap();
    // A second agent with the first one's wallet violates UNIQUE (chain_id, wallet) after the
    // events were inserted: the whole transaction must roll back.
    let bad = RangeCommit {
        events: vec![
            at(LAST + 1, 0, 0, created(5, Usdc::whole(1), Usdc::ZERO)),
            at(
                LAST + 1,
                1,
                0,
                MarketEvent::AgentRegistered {
                    agent_id: AgentId(2),
                    wallet: WALLET,
                    metadata_uri: String::new(),
                },
            ),
        ],
        blocks: vec![block(LAST + 1, 0)],
        checkpoint: block(LAST + 1, 0),
        keep_blocks: 64,
    };
    let err = db.store.commit_range(CHAIN, &bad).await.unwrap_err();
    // The same commit would fail the same way again: the indexer stops on it instead of
    // retrying forever.
    assert!(!err.is_transient(), "{err}");
    assert_eq!(db.store.snapshot(CHAIN).await.unwrap(), before);
    assert_eq!(db.store.checkpoint(CHAIN).await.unwrap(), Some(block(LAST, 0)));
    assert_eq!(db.store.recent_blocks(CHAIN).await.unwrap()[0], block(LAST, 0));
}

async fn rollback_equals_never_seeing_the_orphans(db: &TestDb) {
    let history = lifecycle();
    // The canonical chain replaces blocks 7.. with a fork where run 1 gets another revision.
    let fork = fork_of(&history);

    index_lifecycle(&db.store).await;
    let stats = db.store.rollback_to(CHAIN, &block(6, 0)).await.unwrap();
    assert_eq!(stats.events_deleted, history[6..].iter().map(Vec::len).sum::<usize>() as u64);
    assert_eq!(stats.blocks_deleted, LAST - 6);
    assert_eq!(db.store.checkpoint(CHAIN).await.unwrap(), Some(block(6, 0)));

    // A store that only ever saw blocks 1..=6.
    let fresh = TestDb::sqlite().await;
    fresh.store.commit_range(CHAIN, &range(&history, 1, 6, 0)).await.unwrap();
    assert_eq!(db.store.snapshot(CHAIN).await.unwrap(), fresh.store.snapshot(CHAIN).await.unwrap());
    assert_eq!(
        db.store.recent_blocks(CHAIN).await.unwrap(),
        fresh.store.recent_blocks(CHAIN).await.unwrap()
    );

    // Both continue on the fork and still agree.
    for store in [&db.store, &fresh.store] {
        store.commit_range(CHAIN, &range(&fork, 7, 8, 1)).await.unwrap();
    }
    let snap = db.store.snapshot(CHAIN).await.unwrap();
    assert_eq!(snap, fresh.store.snapshot(CHAIN).await.unwrap());
    assert_eq!(run(&snap, 1).state, RunState::RevisionRequested);
    assert_eq!(run(&snap, 1).revision_count, 2);
    assert!(snap.runs.iter().all(|r| r.run_id != RunId(2)));
    assert_eq!(snap.agents[0].completions, 0);
    assert_eq!(snap.agents[0].active_claims, 1);
    assert_eq!(snap.credits, []);
    // Staking was paused at block 5 and never resumed on the fork.
    assert!(snap.params.as_ref().unwrap().staking_paused);

    // Rolling back to before the parameters resets them and the agent entirely.
    db.store.rollback_to(CHAIN, &block(0, 0)).await.unwrap();
    assert_eq!(db.store.snapshot(CHAIN).await.unwrap(), Snapshot::default());
}

async fn amounts_round_trip_and_sort_numerically(db: &TestDb) {
    let amounts = [
        Usdc::from(10u64),
        Usdc::from(9u64),
        max_u96(),
        Usdc::from_base_units(U256::MAX),
        Usdc::ZERO,
        Usdc::whole(1_000_000_000),
    ];
    let events: Vec<ChainEvent> = amounts
        .iter()
        .enumerate()
        .map(|(i, amount)| at(1, i as u64, 0, created(i as u64 + 1, *amount, *amount)))
        .collect();
    let commit = RangeCommit { events, blocks: vec![], checkpoint: block(1, 0), keep_blocks: 64 };
    db.store.commit_range(CHAIN, &commit).await.unwrap();
    let snap = db.store.snapshot(CHAIN).await.unwrap();
    for (i, amount) in amounts.iter().enumerate() {
        assert_eq!(run(&snap, i as u64 + 1).reward, *amount);
        assert_eq!(run(&snap, i as u64 + 1).fee, *amount);
    }
    // ORDER BY reward is numeric order on both backends (text padding on SQLite).
    let order = column(db, "SELECT CAST(run_id AS TEXT) FROM runs ORDER BY reward, run_id").await;
    assert_eq!(order, ["5", "2", "1", "6", "3", "4"]);
    // And the events' JSON payload keeps the exact value.
    let max = snap.events.iter().find(|e| e.event.run_id() == Some(RunId(4))).unwrap();
    assert_eq!(
        max.event,
        created(4, Usdc::from_base_units(U256::MAX), Usdc::from_base_units(U256::MAX))
    );
}

async fn window_is_pruned_to_keep_blocks(db: &TestDb) {
    for n in 1..=20 {
        let commit = RangeCommit {
            events: vec![],
            blocks: vec![block(n, 0)],
            checkpoint: block(n, 0),
            keep_blocks: 5,
        };
        db.store.commit_range(CHAIN, &commit).await.unwrap();
    }
    let window = db.store.recent_blocks(CHAIN).await.unwrap();
    assert_eq!(window, (15..=20).rev().map(|n| block(n, 0)).collect::<Vec<_>>());
    // Chains are independent.
    assert_eq!(db.store.checkpoint(CHAIN + 1).await.unwrap(), None);
}

async fn large_ranges_commit_in_one_transaction(db: &TestDb) {
    // More rows than one SQLite statement can bind, with each run touched twice.
    let n = 4_000u64;
    let mut events = Vec::new();
    for id in 1..=n {
        events.push(at(id / 100 + 1, id * 2, 0, created(id, Usdc::from(id), Usdc::from(1u64))));
        events.push(at(
            id / 100 + 1,
            id * 2 + 1,
            0,
            MarketEvent::RunFunded {
                run_id: RunId(id),
                poster: POSTER,
                amount: Usdc::from(id + 1),
            },
        ));
    }
    let last = n / 100 + 1;
    let commit = RangeCommit {
        events,
        blocks: (1..=last).map(|b| block(b, 0)).collect(),
        checkpoint: block(last, 0),
        keep_blocks: 64,
    };
    let stats = db.store.commit_range(CHAIN, &commit).await.unwrap();
    assert_eq!((stats.events_inserted, stats.runs_written), (2 * n, n));
    let snap = db.store.snapshot(CHAIN).await.unwrap();
    assert_eq!(snap.events.len() as u64, 2 * n);
    assert_eq!(snap.runs.len() as u64, n);
    assert!(snap.runs.iter().all(|r| r.state == RunState::Open && r.funded));
    let stats = db.store.commit_range(CHAIN, &commit).await.unwrap();
    assert_eq!((stats.events_inserted, stats.events_skipped), (0, 2 * n));
}

async fn writer_lock_excludes_a_second_holder(db: &TestDb) {
    let other = db.connect_again().await;
    let mut held = db.store.lock_writer(CHAIN).await.unwrap();
    assert!(held.is_held().await);
    assert!(other.try_lock_writer(CHAIN).await.unwrap().is_none());
    // Another chain has its own lock.
    let elsewhere = other.try_lock_writer(CHAIN + 1).await.unwrap();
    assert!(elsewhere.is_some());

    let waiter =
        tokio::spawn(async move { other.lock_writer(CHAIN).await.map(|lock| (lock, other)) });
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!waiter.is_finished(), "the second writer must wait");
    drop(held);
    let (second, other) = tokio::time::timeout(Duration::from_secs(10), waiter)
        .await
        .expect("the waiter takes over once the lock is dropped")
        .unwrap()
        .unwrap();
    assert!(db.store.try_lock_writer(CHAIN).await.unwrap().is_none());
    second.release().await.unwrap();
    let again = db.store.try_lock_writer(CHAIN).await.unwrap();
    assert!(again.is_some(), "released explicitly");
    drop(elsewhere);
    other.close().await;
}

/// Everything the feed holds after `after`, read in pages of `page` (each page a reconnect).
async fn read_feed(store: &Store, after: u64, page: u32, filter: &FeedFilter) -> Vec<FeedItem> {
    let mut items = Vec::new();
    let mut position = after;
    loop {
        let mut reader = store.reader().await.unwrap();
        let batch = reader.feed(CHAIN, position, page, filter).await.unwrap();
        let Some(last) = batch.last() else { return items };
        position = last.seq;
        items.extend(batch);
    }
}

/// An event's identity in the store: `(tx_hash, log_index)`.
fn identity(event: &ChainEvent) -> String {
    format!("{}:{}", event.position.tx_hash, event.position.log_index)
}

/// The events table's identities.
async fn stored(db: &TestDb) -> BTreeSet<String> {
    column(db, "SELECT tx_hash || ':' || CAST(log_index AS TEXT) FROM events")
        .await
        .into_iter()
        .collect()
}

/// Applies feed items: add each event, remove it on a retraction.
fn apply(state: &mut BTreeSet<String>, items: &[FeedItem]) {
    for item in items {
        if item.removed {
            assert!(state.remove(&identity(&item.event)), "retraction of an unknown event");
        } else {
            assert!(state.insert(identity(&item.event)), "event added twice");
        }
    }
}

async fn the_feed_replays_to_exactly_the_events_table(db: &TestDb) {
    let history = lifecycle();
    index_lifecycle(&db.store).await;
    let all = FeedFilter::default();
    let first = read_feed(&db.store, 0, 4, &all).await;
    let total: usize = history.iter().map(Vec::len).sum();
    assert_eq!(first.len(), total);
    assert!(first.iter().all(|item| !item.removed));
    // Positions only grow, and follow chain order.
    assert!(first.windows(2).all(|w| w[0].seq < w[1].seq));
    let order: Vec<(u64, u64)> =
        first.iter().map(|i| (i.event.position.block_number, i.event.position.log_index)).collect();
    assert!(order.windows(2).all(|w| w[0] < w[1]), "{order:?}");
    let mut state = BTreeSet::new();
    apply(&mut state, &first);
    assert_eq!(state, stored(db).await);
    // Committing the same range again gives out no position.
    let head = first.last().unwrap().seq;
    db.store.commit_range(CHAIN, &range(&history, 13, LAST, 0)).await.unwrap();
    assert!(read_feed(&db.store, head, 100, &all).await.is_empty());
    assert_eq!(db.store.reader().await.unwrap().last_seq(CHAIN).await.unwrap(), head);

    // A reorg: blocks 7.. replaced by a fork of two blocks.
    let fork = fork_of(&history);
    db.store.rollback_to(CHAIN, &block(6, 0)).await.unwrap();
    db.store.commit_range(CHAIN, &range(&fork, 7, 8, 1)).await.unwrap();

    let after = read_feed(&db.store, head, 3, &all).await;
    let removed: usize = history[6..].iter().map(Vec::len).sum();
    assert_eq!(after.len(), removed + 2);
    // First every removed event, newest first, with the identity it was added under ...
    let retractions: Vec<&FeedItem> = after.iter().take_while(|i| i.removed).collect();
    assert_eq!(retractions.len(), removed);
    let mut expected: Vec<&FeedItem> =
        first.iter().filter(|i| i.event.position.block_number > 6).collect();
    expected.reverse();
    assert_eq!(
        retractions.iter().map(|i| &i.event).collect::<Vec<_>>(),
        expected.iter().map(|i| &i.event).collect::<Vec<_>>()
    );
    // ... then the fork's events, after every earlier position.
    assert!(after[removed..].iter().all(|i| !i.removed && i.event.position.block_number > 6));
    assert!(after.iter().all(|i| i.seq > head) && after.windows(2).all(|w| w[0].seq < w[1].seq));

    // A consumer that read up to `head` and resumes, and one that starts over, both end with
    // exactly the events table.
    apply(&mut state, &after);
    assert_eq!(state, stored(db).await);
    // The feed is append-only: what was read before the reorg is still its beginning.
    let again = read_feed(&db.store, 0, 7, &all).await;
    assert_eq!(again[..first.len()], first[..]);
    assert_eq!(again[first.len()..], after[..]);
    let mut replayed = BTreeSet::new();
    apply(&mut replayed, &again);
    assert_eq!(replayed, stored(db).await);

    // Filters select the same items as filtering the whole feed.
    let everything = read_feed(&db.store, 0, 1000, &all).await;
    let filters = [
        FeedFilter { kinds: vec!["Claimed".into(), "Submitted".into()], ..FeedFilter::default() },
        FeedFilter { run_id: Some(RunId(1)), ..FeedFilter::default() },
        FeedFilter { agent_id: Some(AgentId(1)), ..FeedFilter::default() },
        FeedFilter { poster: Some(POSTER), ..FeedFilter::default() },
    ];
    for filter in &filters {
        let got = read_feed(&db.store, 0, 2, filter).await;
        let want: Vec<&FeedItem> = everything
            .iter()
            .filter(|i| {
                (filter.kinds.is_empty() || filter.kinds.iter().any(|k| k == i.event.event.name()))
                    && filter.run_id.is_none_or(|r| i.event.event.run_id() == Some(r))
                    && filter.agent_id.is_none_or(|a| i.event.event.agent_id() == Some(a))
            })
            .collect();
        assert!(!got.is_empty(), "{filter:?}");
        // The in-memory predicate (the stream's fan-out) selects exactly what the SQL does.
        let matched: Vec<&FeedItem> = everything.iter().filter(|i| filter.matches(i)).collect();
        assert_eq!(got.iter().collect::<Vec<_>>(), matched, "{filter:?}");
        if filter.poster.is_none() {
            assert_eq!(got.iter().collect::<Vec<_>>(), want, "{filter:?}");
        } else {
            // Every run of the lifecycle is POSTER's: the poster filter keeps every run's event.
            let runs: Vec<&FeedItem> =
                everything.iter().filter(|i| i.event.event.run_id().is_some()).collect();
            assert_eq!(got.iter().collect::<Vec<_>>(), runs);
        }
    }
    let nobody = FeedFilter { poster: Some(WALLET), ..FeedFilter::default() };
    assert!(read_feed(&db.store, 0, 10, &nobody).await.is_empty());
    assert!(!everything.iter().any(|i| nobody.matches(i)));
}

/// The definitions of the secondary (non-unique) indexes of the tables a backfill writes.
async fn secondary_indexes(db: &TestDb) -> Vec<String> {
    column(
        db,
        match db.store.backend() {
            runs_db::Backend::Postgres => {
                "SELECT pg_get_indexdef(x.indexrelid) FROM pg_index x \
             JOIN pg_class t ON t.oid = x.indrelid \
             WHERE t.relname IN ('events', 'runs', 'agents') AND NOT x.indisunique ORDER BY 1"
            }
            runs_db::Backend::Sqlite => {
                "SELECT sql FROM sqlite_master WHERE type = 'index' \
             AND tbl_name IN ('events', 'runs', 'agents') AND sql IS NOT NULL \
             AND sql NOT LIKE 'CREATE UNIQUE%' ORDER BY 1"
            }
        },
    )
    .await
}

async fn indexes_set_aside_for_a_backfill_come_back_the_same(db: &TestDb) {
    let before = secondary_indexes(db).await;
    assert!(before.len() >= 15, "{before:?}");
    assert_eq!(db.store.defer_indexes().await.unwrap(), before.len() as u64);
    assert!(secondary_indexes(db).await.is_empty());
    assert_eq!(db.store.deferred_indexes().await.unwrap(), before.len() as u64);
    // Nothing is left to set aside, and what was set aside stays recorded.
    assert_eq!(db.store.defer_indexes().await.unwrap(), 0);
    assert_eq!(db.store.deferred_indexes().await.unwrap(), before.len() as u64);

    // Without them the store is the same: commits, exactly once, and a rollback.
    index_lifecycle(&db.store).await;
    let history = lifecycle();
    let stats = db.store.commit_range(CHAIN, &range(&history, 1, LAST, 0)).await.unwrap();
    assert_eq!(stats.events_inserted, 0);
    db.store.rollback_to(CHAIN, &block(6, 0)).await.unwrap();
    let forked = fork_of(&history);
    db.store.commit_range(CHAIN, &range(&forked, 7, 8, 1)).await.unwrap();
    let reference = TestDb::sqlite().await;
    index_lifecycle(&reference.store).await;
    reference.store.rollback_to(CHAIN, &block(6, 0)).await.unwrap();
    reference.store.commit_range(CHAIN, &range(&forked, 7, 8, 1)).await.unwrap();
    assert_eq!(
        db.store.snapshot(CHAIN).await.unwrap(),
        reference.store.snapshot(CHAIN).await.unwrap()
    );

    assert_eq!(db.store.restore_indexes().await.unwrap(), before.len() as u64);
    assert_eq!(secondary_indexes(db).await, before);
    assert_eq!(db.store.deferred_indexes().await.unwrap(), 0);
    assert_eq!(db.store.restore_indexes().await.unwrap(), 0);
}

async fn a_stored_event_above_the_checkpoint_is_still_stored_once(db: &TestDb) {
    // A commit whose events lie above its own checkpoint is the one way to store an event above
    // the checkpoint; the next range then expects only new events and must fall back to the
    // checked insert when one is not.
    let early = RangeCommit {
        events: vec![at(3, 0, 0, created(1, Usdc::whole(10), Usdc::ZERO))],
        blocks: vec![block(1, 0)],
        checkpoint: block(1, 0),
        keep_blocks: 64,
    };
    assert_eq!(db.store.commit_range(CHAIN, &early).await.unwrap().events_inserted, 1);
    let next = RangeCommit {
        events: vec![
            at(3, 0, 0, created(1, Usdc::whole(10), Usdc::ZERO)),
            at(3, 1, 0, created(2, Usdc::whole(20), Usdc::ZERO)),
        ],
        blocks: vec![block(2, 0), block(3, 0)],
        checkpoint: block(3, 0),
        keep_blocks: 64,
    };
    let stats = db.store.commit_range(CHAIN, &next).await.unwrap();
    assert_eq!((stats.events_inserted, stats.events_skipped), (1, 1));
    let snapshot = db.store.snapshot(CHAIN).await.unwrap();
    assert_eq!(snapshot.events.len(), 2);
    assert_eq!(snapshot.runs.iter().map(|r| r.run_id).collect::<Vec<_>>(), [RunId(1), RunId(2)]);
    assert_eq!(db.store.checkpoint(CHAIN).await.unwrap(), Some(block(3, 0)));
}

async fn a_created_run_already_stored_is_replaced_not_refused(db: &TestDb) {
    // The runs a range creates go in as new rows; should one be stored already (a second
    // `RunCreated` for the same id, which the escrow never emits), the commit still succeeds
    // and the run is replaced from this range's events, as an upsert always did.
    let first = RangeCommit {
        events: vec![at(1, 0, 0, created(1, Usdc::whole(10), Usdc::ZERO))],
        blocks: vec![block(1, 0)],
        checkpoint: block(1, 0),
        keep_blocks: 64,
    };
    db.store.commit_range(CHAIN, &first).await.unwrap();
    let again = RangeCommit {
        events: vec![
            at(2, 0, 0, created(1, Usdc::whole(20), Usdc::ZERO)),
            at(2, 1, 0, created(2, Usdc::whole(30), Usdc::ZERO)),
        ],
        blocks: vec![block(2, 0)],
        checkpoint: block(2, 0),
        keep_blocks: 64,
    };
    let stats = db.store.commit_range(CHAIN, &again).await.unwrap();
    assert_eq!((stats.events_inserted, stats.runs_written), (2, 2));
    let snapshot = db.store.snapshot(CHAIN).await.unwrap();
    let rewards: Vec<_> = snapshot.runs.iter().map(|r| (r.run_id, r.reward)).collect();
    assert_eq!(rewards, [(RunId(1), Usdc::whole(20)), (RunId(2), Usdc::whole(30))]);
    assert_eq!(snapshot.events.len(), 3);
}

async fn text_with_escapes_round_trips(db: &TestDb) {
    // Every byte Postgres' COPY text format escapes, and the sequence it reads as NULL.
    let awkward = "tab\there\nnew line\r\\N \\ back\\slash \"quoted\" ünïcödé";
    let mut event = created(1, Usdc::whole(10), Usdc::ZERO);
    if let MarketEvent::RunCreated { spec_uri, .. } = &mut event {
        *spec_uri = awkward.into();
    }
    let commit = RangeCommit {
        events: vec![at(1, 0, 0, event.clone())],
        blocks: vec![block(1, 0)],
        checkpoint: block(1, 0),
        keep_blocks: 64,
    };
    db.store.commit_range(CHAIN, &commit).await.unwrap();
    let snapshot = db.store.snapshot(CHAIN).await.unwrap();
    assert_eq!(snapshot.events[0].event, event);
    assert_eq!(snapshot.runs[0].spec_uri, awkward);
}

/// Setting the indexes aside is only a speed-up, and needs the tables' owner: a role that may
/// write rows but does not own them cannot, and its attempt changes nothing (the indexer then
/// backfills with the indexes in place).
#[tokio::test]
async fn a_role_that_cannot_drop_indexes_changes_nothing() {
    let db = TestDb::postgres().await;
    let before = secondary_indexes(&db).await;
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap();
    let role = format!("runs_writer_{}_{}", std::process::id(), nanos.subsec_nanos());
    let admin = db.store.pg_pool().unwrap();
    let sql = |sql: String| sqlx::raw_sql(sqlx::AssertSqlSafe(sql));
    sql(format!(
        "CREATE ROLE {role} LOGIN; \
         GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {role}"
    ))
    .execute(admin)
    .await
    .unwrap();
    let writer = Store::connect(Some(&db.url().replacen("postgres@", &format!("{role}@"), 1)))
        .await
        .unwrap();
    let refused = writer.defer_indexes().await;
    let recorded = writer.deferred_indexes().await;
    writer.close().await;
    sql(format!("DROP OWNED BY {role}; DROP ROLE {role}")).execute(admin).await.unwrap();
    assert!(
        refused.as_ref().is_err_and(|e| e.to_string().contains("must be owner")),
        "{refused:?}"
    );
    assert_eq!(recorded.unwrap(), 0);
    assert_eq!(secondary_indexes(&db).await, before);
}

/// Every SQLite connection gets the larger page cache (see `Store::connect_sqlite`).
#[tokio::test]
async fn sqlite_connections_have_a_32_mib_page_cache() {
    let db = TestDb::sqlite().await;
    let pool = db.store.sqlite_pool().unwrap();
    for _ in 0..3 {
        let kib: i64 = sqlx::query_scalar("PRAGMA cache_size").fetch_one(pool).await.unwrap();
        assert_eq!(kib, -32_768);
    }
    db.store.close().await;
}

backends!(
    text_with_escapes_round_trips,
    indexes_set_aside_for_a_backfill_come_back_the_same,
    a_stored_event_above_the_checkpoint_is_still_stored_once,
    a_created_run_already_stored_is_replaced_not_refused,
    the_feed_replays_to_exactly_the_events_table,
    migrate_twice_is_a_noop,
    commit_applies_every_event_kind,
    recommitting_a_range_changes_nothing,
    a_failed_commit_leaves_nothing,
    rollback_equals_never_seeing_the_orphans,
    amounts_round_trip_and_sort_numerically,
    window_is_pruned_to_keep_blocks,
    large_ranges_commit_in_one_transaction,
    writer_lock_excludes_a_second_holder,
    errors_tell_a_retry_from_a_stop,
);

async fn errors_tell_a_retry_from_a_stop(db: &TestDb) {
    use sqlx::Connection;
    // The database was in the way, not the statement: Postgres ends the session (57P01, as on a
    // restart), or another writer holds SQLite's lock (SQLITE_BUSY, with no busy wait).
    let in_the_way: runs_db::Error = match (db.store.pg_pool(), db.store.sqlite_path()) {
        (Some(pool), _) => sqlx::query("SELECT pg_terminate_backend(pg_backend_pid())")
            .execute(pool)
            .await
            .unwrap_err()
            .into(),
        (_, Some(path)) => {
            let options = sqlx::sqlite::SqliteConnectOptions::new()
                .filename(path)
                .busy_timeout(Duration::ZERO);
            let mut holder = sqlx::SqliteConnection::connect_with(&options).await.unwrap();
            sqlx::query("BEGIN IMMEDIATE").execute(&mut holder).await.unwrap();
            let mut other = sqlx::SqliteConnection::connect_with(&options).await.unwrap();
            let err = sqlx::query("BEGIN IMMEDIATE").execute(&mut other).await.unwrap_err();
            sqlx::query("ROLLBACK").execute(&mut holder).await.unwrap();
            err.into()
        }
        _ => unreachable!(),
    };
    assert!(in_the_way.is_transient(), "{in_the_way}");
    // Nothing listening: refused until the server is back.
    let refused: runs_db::Error =
        sqlx::PgConnection::connect("postgres://postgres@127.0.0.1:1/none")
            .await
            .unwrap_err()
            .into();
    assert!(refused.is_transient(), "{refused}");
    // A statement the schema does not support fails the same way every time.
    let wrong: runs_db::Error = match (db.store.pg_pool(), db.store.sqlite_pool()) {
        (Some(pool), _) => {
            sqlx::query("SELECT * FROM no_such_table").execute(pool).await.unwrap_err()
        }
        (_, Some(pool)) => {
            sqlx::query("SELECT * FROM no_such_table").execute(pool).await.unwrap_err()
        }
        _ => unreachable!(),
    }
    .into();
    assert!(!wrong.is_transient(), "{wrong}");
}

/// How many generic and custom plans the session's prepared statements containing `marker` used.
async fn plans_used(conn: &mut sqlx::PgConnection, marker: &str) -> (i64, i64) {
    sqlx::query_as(
        "SELECT COALESCE(SUM(generic_plans), 0)::bigint, COALESCE(SUM(custom_plans), 0)::bigint \
         FROM pg_prepared_statements WHERE statement LIKE '%' || $1 || '%' \
         AND statement NOT LIKE '%pg_prepared_statements%'",
    )
    .bind(marker)
    .fetch_one(conn)
    .await
    .unwrap()
}

/// The reader's connections reuse one generic plan per prepared statement from the first
/// execution (the API's listings would otherwise be planned again on every request); the
/// writer's keep Postgres's default, which plans the first executions for their values.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reader_uses_generic_plans_on_postgres() {
    let db = TestDb::postgres().await;
    let reader = db.connect_reader().await;
    let listing = "SELECT run_id FROM runs WHERE chain_id = $1 AND state = $2 \
                   ORDER BY created_at DESC, run_id DESC LIMIT $3 /* plan-probe */";
    for (store, expected) in [(&reader, (3, 0)), (&db.store, (0, 3))] {
        let mut conn = store.pg_pool().unwrap().acquire().await.unwrap();
        for _ in 0..3 {
            let rows: Vec<i64> = sqlx::query_scalar(listing)
                .bind(i64::try_from(CHAIN).unwrap())
                .bind("OPEN")
                .bind(21_i64)
                .fetch_all(&mut *conn)
                .await
                .unwrap();
            assert!(rows.is_empty());
        }
        assert_eq!(plans_used(&mut conn, "plan-probe").await, expected);
    }
    reader.close().await;
    db.store.close().await;
}
