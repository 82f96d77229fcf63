//! The endpoint handlers, one module per resource, and the conversions from stored rows to the
//! wire shapes of [`crate::dto`].

pub(crate) mod agents;
pub(crate) mod runs;
pub(crate) mod system;

use runs_db::{AgentRow, ChainParams, read::RunView};
use runs_primitives::{ChainEvent, Usdc};

use crate::{
    derive,
    dto::{Agent, Pagination, Reputation, Run, RunEvent},
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

pub(crate) fn run_dto(view: &RunView, params: Option<&ChainParams>) -> Run {
    let r = &view.run;
    Run {
        bounty_id: r.run_id.get(),
        poster_address: checksum(r.poster),
        ipfs_hash: r.spec_uri.clone(),
        reward: units(r.reward),
        fee: units(r.fee),
        deadline: iso(r.deadline),
        state: r.state.into(),
        claimed_by: r.agent_id.map(|a| a.get()),
        claimed_by_wallet: r.agent_wallet.map(checksum),
        stake: units(derive::run_stake(r, view.agent_stake, view.agent_pending, params)),
        deliverable_hash: r.deliverable_uri.clone(),
        revision_count: r.revision_count,
        max_revisions: r.max_revisions,
        claimed_at: r.claimed_at.map(iso),
        submitted_at: r.submitted_at.map(iso),
        created_at: iso(r.created_at),
        updated_at: iso(r.updated_at),
    }
}

/// Keys of event fields that hold addresses (checksummed on the way out) or unix times (ISO).
const ADDRESS_KEYS: [&str; 6] =
    ["poster", "wallet", "account", "treasury", "previous", "runEscrow"];
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
        status: status.into(),
        staked_amount: units(a.stake),
        staked_at: a.staked_since.map(iso),
        pending_unstake: units(a.pending_unstake),
        unstake_ready_at: a.unstake_ready_at.map(iso),
        active_claims: a.active_claims,
        strikes: a.slashes,
        reputation: Reputation {
            score: derive::reputation_score(a, status),
            completions: a.completions,
            total_claimed: a.claims,
            total_volume: units(a.volume),
        },
        registered_at: iso(a.registered_at),
        updated_at: iso(a.updated_at),
    }
}

/// What one slash would take from `a` now: the minimum stake capped at active + pending stake.
pub(crate) fn slashable(a: &AgentRow, params: Option<&ChainParams>) -> Usdc {
    let held = a.stake.checked_add(a.pending_unstake).unwrap_or(a.stake);
    derive::min_stake(params).min(held)
}
