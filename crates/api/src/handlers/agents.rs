//! `/api/agents`: the agent list, one agent with its slash history, and its stake.

// utoipa's `params(...)` expansion names the IntoParams types by qualified path.
#![allow(unused_qualifications)]

use axum::{Json, extract::State};
use runs_db::read::AgentEventKind;
use runs_primitives::{AgentId, MarketEvent};
use serde::Deserialize;
use utoipa::IntoParams;

use super::{DEFAULT_LIMIT, MAX_LIMIT, MAX_PAGE, agent_dto, pagination};
use crate::{
    ApiError, ApiState, ErrorBody, derive,
    dto::{AgentDetail, AgentList, Slash, Stake},
    extract::{ApiQuery, Db, IdPath, parse_int},
    format::{iso, units},
};

/// Query parameters of `GET /api/agents`.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct ListAgentsParams {
    /// 1-based page number.
    #[param(value_type = Option<u64>, minimum = 1, maximum = 1000000000)]
    page: Option<String>,
    /// Rows per page, 1–100 (default 20).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 100)]
    limit: Option<String>,
}

/// List agents by id.
#[utoipa::path(
    get,
    path = "/api/agents",
    tag = "agents",
    params(ListAgentsParams),
    responses(
        (status = 200, description = "A page of agents", body = AgentList),
        (status = 400, description = "A parameter is invalid", body = ErrorBody),
        (status = 503, description = "Database unavailable", body = ErrorBody),
    )
)]
pub(crate) async fn list_agents(
    State(state): State<ApiState>,
    ApiQuery(params): ApiQuery<ListAgentsParams>,
    mut db: Db,
) -> Result<Json<AgentList>, ApiError> {
    let limit = match &params.limit {
        Some(raw) => parse_int("limit", raw, 1, u64::from(MAX_LIMIT))? as u32,
        None => DEFAULT_LIMIT,
    };
    let page = match &params.page {
        Some(raw) => parse_int("page", raw, 1, MAX_PAGE)?,
        None => 1,
    };
    let chain = state.chain_id();
    let head = db.head().await?;
    let chain_params = state.chain_params(&mut db).await?;
    let rows = db.reader.list_agents(chain, (page - 1) * u64::from(limit), limit).await?;
    let total = db.reader.count_agents(chain).await?;
    Ok(Json(AgentList {
        agents: rows
            .iter()
            .map(|a| agent_dto(a, chain_params.as_ref(), head.timestamp()))
            .collect(),
        pagination: pagination(page, limit, total),
        indexed_block: head.number(),
    }))
}

/// One agent: status, stake, reputation and slash history.
#[utoipa::path(
    get,
    path = "/api/agents/{id}",
    tag = "agents",
    params(("id" = u64, Path, description = "The agent id", minimum = 1, maximum = 9223372036854775807_u64)),
    responses(
        (status = 200, description = "The agent", body = AgentDetail),
        (status = 400, description = "The id is not a positive integer", body = ErrorBody),
        (status = 404, description = "No such agent (AGENT_NOT_FOUND)", body = ErrorBody),
        (status = 503, description = "Database unavailable", body = ErrorBody),
    )
)]
pub(crate) async fn get_agent(
    State(state): State<ApiState>,
    IdPath(id): IdPath,
    mut db: Db,
) -> Result<Json<AgentDetail>, ApiError> {
    let chain = state.chain_id();
    let head = db.head().await?;
    let agent =
        db.reader.get_agent(chain, AgentId(id)).await?.ok_or(ApiError::AgentNotFound(id))?;
    let chain_params = state.chain_params(&mut db).await?;
    let slashes =
        db.reader.agent_events(chain, AgentId(id), AgentEventKind::StakeForfeited).await?;
    let slash_history = slashes
        .iter()
        .filter_map(|ev| match &ev.event {
            MarketEvent::StakeForfeited {
                run_id,
                amount,
                outcome,
                remaining_stake,
                strikes,
                ..
            } => Some(Slash {
                run_id: run_id.get(),
                amount: units(*amount),
                outcome: outcome.as_str().to_owned(),
                stake_after: units(*remaining_stake),
                strikes: *strikes,
                block_number: ev.position.block_number,
                tx_hash: format!("{:#x}", ev.position.tx_hash),
                timestamp: iso(ev.position.block_timestamp),
            }),
            _ => None,
        })
        .collect();
    Ok(Json(AgentDetail {
        agent: agent_dto(&agent, chain_params.as_ref(), head.timestamp()),
        slash_history,
    }))
}

/// An agent's stake: reserved by live claims, free, pending withdrawal, and the minimum.
#[utoipa::path(
    get,
    path = "/api/agents/{id}/stake",
    tag = "agents",
    params(("id" = u64, Path, description = "The agent id", minimum = 1, maximum = 9223372036854775807_u64)),
    responses(
        (status = 200, description = "The agent's stake", body = Stake),
        (status = 400, description = "The id is not a positive integer", body = ErrorBody),
        (status = 404, description = "No such agent (AGENT_NOT_FOUND)", body = ErrorBody),
        (status = 503, description = "Database unavailable", body = ErrorBody),
    )
)]
pub(crate) async fn get_stake(
    State(state): State<ApiState>,
    IdPath(id): IdPath,
    mut db: Db,
) -> Result<Json<Stake>, ApiError> {
    let chain = state.chain_id();
    let head = db.head().await?;
    let agent =
        db.reader.get_agent(chain, AgentId(id)).await?.ok_or(ApiError::AgentNotFound(id))?;
    let params = state.chain_params(&mut db).await?;
    let min = derive::min_stake(params.as_ref());
    Ok(Json(Stake {
        agent_id: id,
        status: derive::agent_status(&agent, params.as_ref(), head.timestamp()),
        staked_amount: units(agent.stake),
        reserved_stake: units(agent.reserved),
        free_stake: units(derive::free_stake(&agent)),
        pending_unstake: units(agent.pending_unstake),
        unstake_ready_at: agent.unstake_ready_at.map(iso),
        min_stake: units(min),
        has_min_stake: params.is_some() && agent.stake >= min,
        staked_at: agent.staked_since.map(iso),
        active_claims: agent.active_claims,
        slashable: units(agent.reserved),
    }))
}
