//! The endpoint handlers, one module per resource, and the conversions from stored rows to the
//! wire shapes of [`crate::dto`].

pub(crate) mod agents;
pub(crate) mod arbitrators;
pub(crate) mod events;
pub(crate) mod runs;
pub(crate) mod system;

use runs_db::{AgentRow, ChainParams, Dispute, RunRow, read::RunView};
use runs_primitives::{AgentId, ChainEvent, MarketEvent, RunId, RunState};

use crate::{
    derive,
    dto::{
        Agent, Evidence, FeedEvent, Pagination, Reputation, Run, RunDispute, RunEvent, RunRejection,
    },
    format::{checksum, iso, units},
};

/// Rows per page unless `limit` says otherwise.
pub(crate) const DEFAULT_LIMIT: u32 = 20;
/// The largest `limit`.
pub(crate) const MAX_LIMIT: u32 = 100;
/// The largest `page` (keeps `OFFSET` far inside `i64`).
pub(crate) const MAX_PAGE: u64 = 1_000_000_000;

pub(crate) fn pagination(page: u64, limit: u32, total: u64) -> Pagination {
    Pagination { page, limit, total, total_pages: total.div_ceil(u64::from(limit)) }
}

/// The wire shape of a run. `events` (the run's history, in chain order) adds every piece of
/// dispute evidence; without it a dispute lists only the agent's case.
pub(crate) fn run_dto(view: &RunView, events: Option<&[ChainEvent]>) -> Run {
    let r = &view.run;
    let awaiting = r.state.is_awaiting_submission();
    let timer_end = |period: u32| r.timer_start.map(|t| iso(t.saturating_add(u64::from(period))));
    Run {
        bounty_id: r.run_id.get(),
        poster_address: checksum(r.poster),
        ipfs_hash: r.spec_uri.clone(),
        reward: units(r.reward),
        fee: units(r.fee),
        deadline: iso(r.deadline),
        state: r.state,
        claimed_by: r.agent_id.map(|a| a.get()),
        claimed_by_wallet: r.agent_wallet.map(checksum),
        stake: units(r.required_stake),
        deliverable_hash: r.deliverable_uri.clone(),
        revision_count: r.revision_count,
        max_revisions: r.max_revisions,
        claimed_at: r.claimed_at.map(iso),
        submitted_at: r.submitted_at.map(iso),
        created_at: iso(r.created_at),
        updated_at: iso(r.updated_at),
        required_stake: units(r.required_stake),
        arbitrator: checksum(r.arbitrator),
        claim_timeout: r.claim_timeout,
        review_period: r.review_period,
        dispute_window: r.dispute_window,
        ruling_period: r.ruling_period,
        terms_version: r.terms_version,
        settled: r.settled,
        claim_timeout_ends_at: if awaiting { timer_end(r.claim_timeout) } else { None },
        review_ends_at: if r.state == RunState::Submitted {
            timer_end(r.review_period)
        } else {
            None
        },
        rejection: r.rejection.as_ref().map(|rej| RunRejection {
            reason_uri: rej.reason_uri.clone(),
            bond: units(rej.bond),
            rejected_at: iso(rej.rejected_at),
            window_ends_at: iso(rej.rejected_at.saturating_add(u64::from(r.dispute_window))),
            finalized_at: rej.finalized_at.map(iso),
            accepted_by_agent: rej.accepted_by_agent,
        }),
        dispute: r.dispute.as_ref().map(|d| dispute_dto(r, d, events)),
    }
}

fn dispute_dto(r: &RunRow, d: &Dispute, events: Option<&[ChainEvent]>) -> RunDispute {
    let mut evidence = vec![Evidence {
        by: r.agent_wallet.map(checksum).unwrap_or_default(),
        uri: d.evidence_uri.clone(),
        at: iso(d.disputed_at),
    }];
    for ev in events.unwrap_or_default() {
        if let MarketEvent::EvidenceSubmitted { by, uri, .. } = &ev.event {
            evidence.push(Evidence {
                by: checksum(*by),
                uri: uri.clone(),
                at: iso(ev.position.block_timestamp),
            });
        }
    }
    let ruling = d.ruling.as_ref();
    RunDispute {
        evidence,
        disputed_at: iso(d.disputed_at),
        ruling_deadline: iso(d.disputed_at.saturating_add(u64::from(r.ruling_period))),
        agent_share_bps: ruling.map(|x| x.agent_share_bps),
        strike: ruling.map(|x| x.strike),
        by_default: ruling.map(|x| x.by_default),
        conceded: ruling.map(|x| x.conceded),
        resolved_at: ruling.map(|x| iso(x.resolved_at)),
        to_agent: ruling.map(|x| units(x.to_agent)),
        to_poster: ruling.map(|x| units(x.to_poster)),
        stake_forfeited: ruling.map(|x| units(x.stake_forfeited)),
    }
}

const ADDRESS_KEYS: [&str; 8] =
    ["poster", "wallet", "account", "treasury", "previous", "runEscrow", "arbitrator", "by"];
const TIME_KEYS: [&str; 2] = ["deadline", "readyAt"];

pub(crate) fn event_dto(ev: &ChainEvent) -> RunEvent {
    let mut data = serde_json::to_value(&ev.event).unwrap_or_default();
    if let Some(fields) = data.as_object_mut() {
        fields.remove("type");
        for (key, value) in fields.iter_mut() {
            if ADDRESS_KEYS.contains(&key.as_str())
                && let Some(address) = value.as_str().and_then(|s| s.parse().ok())
            {
                *value = checksum(address).into();
            } else if TIME_KEYS.contains(&key.as_str())
                && let Some(t) = value.as_u64()
            {
                *value = iso(t).into();
            }
        }
    }
    RunEvent {
        kind: ev.event.name().to_owned(),
        block_number: ev.position.block_number,
        tx_hash: format!("{:#x}", ev.position.tx_hash),
        log_index: ev.position.log_index,
        timestamp: iso(ev.position.block_timestamp),
        data,
    }
}

pub(crate) fn agent_dto(a: &AgentRow, params: Option<&ChainParams>, now: u64) -> Agent {
    let status = derive::agent_status(a, params, now);
    Agent {
        id: a.agent_id.get(),
        wallet: checksum(a.wallet),
        metadata_uri: a.metadata_uri.clone(),
        status,
        staked_amount: units(a.stake),
        reserved_stake: units(a.reserved),
        free_stake: units(a.stake.saturating_sub(a.reserved)),
        staked_at: a.staked_since.map(iso),
        pending_unstake: units(a.pending_unstake),
        unstake_ready_at: a.unstake_ready_at.map(iso),
        active_claims: a.active_claims,
        strikes: a.strikes,
        reputation: Reputation {
            score: derive::reputation_score(a, status),
            completions: a.completions,
            total_claimed: a.claims,
            total_volume: units(a.volume),
            rejections: a.rejections,
            disputes_won: a.disputes_won,
            disputes_lost: a.disputes_lost,
        },
        registered_at: iso(a.registered_at),
        updated_at: iso(a.updated_at),
    }
}

impl FeedEvent {
    /// The wire shape of a feed item: the same in `GET /api/events`, the stream and the bodies
    /// of webhook deliveries.
    pub fn new(chain_id: u64, item: &runs_db::read::FeedItem) -> Self {
        let event = event_dto(&item.event);
        Self {
            seq: item.seq,
            kind: event.kind,
            removed: item.removed,
            chain_id,
            block_number: event.block_number,
            block_hash: format!("{:#x}", item.event.position.block_hash),
            tx_hash: event.tx_hash,
            log_index: event.log_index,
            timestamp: event.timestamp,
            run_id: item.event.event.run_id().map(RunId::get),
            agent_id: item.event.event.agent_id().map(AgentId::get),
            data: event.data,
        }
    }
}
