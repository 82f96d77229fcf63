//! `/api/runs`: listing with filters, sorts, page numbers and keyset cursors; one run with its
//! history; claim eligibility; and the unsigned claim transaction.

// utoipa's `params(...)` expansion names the IntoParams types by qualified path.
#![allow(unused_qualifications)]

use alloy::sol_types::SolCall;
use axum::{Json, extract::State};
use runs_db::read::{PageStart, RunFilter, RunQuery, RunSort, SortOrder};
use runs_primitives::{AgentId, ClaimReason, RunId, U256};
use serde::Deserialize;
use utoipa::IntoParams;

use super::{DEFAULT_LIMIT, MAX_LIMIT, MAX_PAGE, event_dto, pagination, run_dto};
use crate::{
    ApiError, ApiState, ErrorBody, derive,
    dto::{
        ClaimRequest, ClaimResponse, Eligibility, EligibilityAgent, EligibilityRun, RunDetail,
        RunList, UnsignedTransaction,
    },
    extract::{ApiJson, ApiQuery, Db, IdPath, parse_address, parse_id, parse_int, parse_usdc},
    format::{Cursor, checksum, parse_order, parse_sort, units},
};

/// Sort keys of `GET /api/runs` (documentation only; parsed from text).
#[derive(utoipa::ToSchema)]
#[schema(rename_all = "camelCase")]
#[allow(dead_code, missing_docs)]
pub(crate) enum SortName {
    CreatedAt,
    Reward,
    Deadline,
}

/// Sort directions (documentation only).
#[derive(utoipa::ToSchema)]
#[schema(rename_all = "lowercase")]
#[allow(dead_code, missing_docs)]
pub(crate) enum OrderName {
    Asc,
    Desc,
}

/// Query parameters of `GET /api/runs`. Every field is taken as text and validated here, so each
/// bad value gets a 400 naming it.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub(crate) struct ListRunsParams {
    /// 1-based page number (ignored when `cursor` is given).
    #[param(value_type = Option<u64>, minimum = 1, maximum = 1000000000)]
    page: Option<String>,
    /// Rows per page, 1–100 (default 20).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 100)]
    limit: Option<String>,
    /// Only runs in this state.
    #[param(value_type = Option<runs_primitives::RunState>)]
    state: Option<String>,
    /// Minimum reward in whole USDC, up to 6 decimals (`100` = 100000000 base units).
    #[param(value_type = Option<String>, pattern = r"^[0-9]{1,30}(\.[0-9]{1,6})?$", example = "100")]
    min_reward: Option<String>,
    /// Maximum reward in whole USDC, up to 6 decimals.
    #[param(value_type = Option<String>, pattern = r"^[0-9]{1,30}(\.[0-9]{1,6})?$", example = "1000.5")]
    max_reward: Option<String>,
    /// Only runs created by this wallet.
    #[param(value_type = Option<String>, pattern = "^0x[0-9a-fA-F]{40}$")]
    poster: Option<String>,
    /// Only runs held (or last held) by this agent id.
    #[param(value_type = Option<u64>, minimum = 1, maximum = 9223372036854775807_u64)]
    claimed_by: Option<String>,
    /// Sort key (default `createdAt`); ties are broken by run id.
    #[param(value_type = Option<SortName>)]
    sort: Option<String>,
    /// Sort direction (default `desc`).
    #[param(value_type = Option<OrderName>)]
    order: Option<String>,
    /// The `nextCursor` of the previous page (keyset paging; same filters and sort required).
    #[param(value_type = Option<String>)]
    cursor: Option<String>,
}

impl ListRunsParams {
    /// Validate into a query, the cursor (if any) and the page number the result is.
    fn parse(&self) -> Result<(RunQuery, u64), ApiError> {
        let limit = match &self.limit {
            Some(raw) => parse_int("limit", raw, 1, u64::from(MAX_LIMIT))? as u32,
            None => DEFAULT_LIMIT,
        };
        let page = match &self.page {
            Some(raw) => parse_int("page", raw, 1, MAX_PAGE)?,
            None => 1,
        };
        let state = self
            .state
            .as_deref()
            .map(|s| {
                s.parse().map_err(|_| {
                    ApiError::invalid(
                        "state",
                        "must be one of DRAFT, OPEN, CLAIMED, IN_PROGRESS, SUBMITTED, APPROVED, \
                         REVISION_REQUESTED, REJECTED, CANCELLED, EXPIRED, DISPUTED, RESOLVED",
                    )
                })
            })
            .transpose()?;
        let filter = RunFilter {
            state,
            min_reward: self
                .min_reward
                .as_deref()
                .map(|r| parse_usdc("minReward", r))
                .transpose()?,
            max_reward: self
                .max_reward
                .as_deref()
                .map(|r| parse_usdc("maxReward", r))
                .transpose()?,
            poster: self.poster.as_deref().map(|p| parse_address("poster", p)).transpose()?,
            claimed_by: self
                .claimed_by
                .as_deref()
                .map(|a| parse_id("claimedBy", a).map(AgentId))
                .transpose()?,
        };
        let sort = match self.sort.as_deref() {
            Some(s) => parse_sort(s).ok_or_else(|| {
                ApiError::invalid("sort", "must be createdAt, reward or deadline")
            })?,
            None => RunSort::CreatedAt,
        };
        let order = match self.order.as_deref() {
            Some(o) => {
                parse_order(o).ok_or_else(|| ApiError::invalid("order", "must be asc or desc"))?
            }
            None => SortOrder::Desc,
        };
        let (start, page) = match self.cursor.as_deref() {
            Some(token) => {
                let cursor = Cursor::decode(token)
                    .ok_or_else(|| ApiError::invalid("cursor", "not a cursor this API issued"))?;
                if cursor.sort != sort || cursor.order != order {
                    return Err(ApiError::invalid(
                        "cursor",
                        "was issued for another sort or order; repeat the same sort and order",
                    ));
                }
                (PageStart::After(cursor.value, cursor.run_id), cursor.page)
            }
            None => ((PageStart::Offset((page - 1) * u64::from(limit))), page),
        };
        Ok((RunQuery { filter, sort, order, start, limit }, page))
    }
}

/// List runs, filtered, sorted and paged.
#[utoipa::path(
    get,
    path = "/api/runs",
    tag = "runs",
    params(ListRunsParams),
    responses(
        (status = 200, description = "A page of runs", body = RunList),
        (status = 400, description = "A parameter is invalid (INVALID_PARAMETER)", body = ErrorBody),
        (status = 503, description = "Database unavailable", body = ErrorBody),
    )
)]
pub(crate) async fn list_runs(
    State(state): State<ApiState>,
    ApiQuery(params): ApiQuery<ListRunsParams>,
    mut db: Db,
) -> Result<Json<RunList>, ApiError> {
    let (query, page) = params.parse()?;
    // One extra row tells whether a next page exists without a second query.
    let mut rows = db.list_runs(&RunQuery { limit: query.limit + 1, ..query.clone() }).await?;
    let has_more = rows.len() > query.limit as usize;
    rows.truncate(query.limit as usize);
    let total = state.total_runs(&mut db, &query.filter).await?;
    let next_cursor = rows.last().filter(|_| has_more).map(|last| {
        Cursor {
            sort: query.sort,
            order: query.order,
            value: last.sort_value(query.sort),
            run_id: last.run.run_id,
            page: page + 1,
        }
        .encode()
    });
    Ok(Json(RunList {
        runs: rows.iter().map(|r| run_dto(r, None)).collect(),
        pagination: pagination(page, query.limit, total),
        next_cursor,
        indexed_block: db.head().await?.number(),
    }))
}

/// One run with its event history.
#[utoipa::path(
    get,
    path = "/api/runs/{id}",
    tag = "runs",
    params(("id" = u64, Path, description = "The run id", minimum = 1, maximum = 9223372036854775807_u64)),
    responses(
        (status = 200, description = "The run and its events in chain order", body = RunDetail),
        (status = 400, description = "The id is not a positive integer", body = ErrorBody),
        (status = 404, description = "No such run (RUN_NOT_FOUND)", body = ErrorBody),
        (status = 503, description = "Database unavailable", body = ErrorBody),
    )
)]
pub(crate) async fn get_run(
    State(state): State<ApiState>,
    IdPath(id): IdPath,
    mut db: Db,
) -> Result<Json<RunDetail>, ApiError> {
    let view = db.get_run(RunId(id)).await?.ok_or(ApiError::RunNotFound(id))?;
    let events = db.reader.run_events(state.chain_id(), RunId(id)).await?;
    Ok(Json(RunDetail {
        run: run_dto(&view, Some(&events)),
        events: events.iter().map(event_dto).collect(),
    }))
}

/// `agentId` of the eligibility query.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub(crate) struct EligibilityParams {
    /// The agent that would claim.
    #[param(value_type = u64, required = true, minimum = 1, maximum = 9223372036854775807_u64)]
    agent_id: Option<String>,
}

/// The eligibility of an existing run and agent, plus everything the answer needs.
struct Checked {
    eligibility: Eligibility,
    reasons: Vec<ClaimReason>,
    wallet: runs_primitives::Address,
}

async fn check(
    state: &ApiState,
    db: &mut Db,
    run_id: u64,
    agent_id: u64,
) -> Result<Checked, ApiError> {
    let chain = state.chain_id();
    let view = db.get_run(RunId(run_id)).await?.ok_or(ApiError::RunNotFound(run_id))?;
    let agent = db
        .reader
        .get_agent(chain, AgentId(agent_id))
        .await?
        .ok_or(ApiError::AgentNotFound(agent_id))?;
    let params = state.chain_params(db).await?;
    let slashed_on_run = db.reader.slashed_on_run(chain, RunId(run_id), AgentId(agent_id)).await?;
    let now = db.head().await?.timestamp();
    let reasons = derive::claim_reasons(&derive::ClaimFacts {
        run: &view.run,
        agent: &agent,
        params: params.as_ref(),
        slashed_on_run,
        now,
    });
    let min = derive::min_stake(params.as_ref());
    let eligibility = Eligibility {
        eligible: reasons.is_empty(),
        reasons: reasons.iter().map(|r| r.code().to_owned()).collect(),
        agent: EligibilityAgent {
            id: agent_id,
            status: derive::agent_status(&agent, params.as_ref(), now),
            staked_amount: units(agent.stake),
            has_min_stake: params.is_some() && agent.stake >= min,
            free_stake: units(derive::free_stake(&agent)),
        },
        run: EligibilityRun {
            id: run_id,
            state: view.run.state,
            reward: units(view.run.reward),
            required_stake: units(view.run.required_stake),
        },
    };
    Ok(Checked { eligibility, reasons, wallet: agent.wallet })
}

/// Whether an agent could claim a run at the indexed block, with the same reason codes as
/// `RunEscrow.canClaim`.
#[utoipa::path(
    get,
    path = "/api/runs/{id}/claim-eligibility",
    tag = "runs",
    params(
        ("id" = u64, Path, description = "The run id", minimum = 1, maximum = 9223372036854775807_u64),
        EligibilityParams,
    ),
    responses(
        (status = 200, description = "The verdict and the failed rules", body = Eligibility),
        (status = 400, description = "A parameter is invalid", body = ErrorBody),
        (status = 404, description = "No such run or agent", body = ErrorBody),
        (status = 503, description = "Database unavailable", body = ErrorBody),
    )
)]
pub(crate) async fn claim_eligibility(
    State(state): State<ApiState>,
    IdPath(id): IdPath,
    ApiQuery(params): ApiQuery<EligibilityParams>,
    mut db: Db,
) -> Result<Json<Eligibility>, ApiError> {
    let raw = params.agent_id.ok_or_else(|| ApiError::invalid("agentId", "is required"))?;
    let agent_id = parse_id("agentId", &raw)?;
    Ok(Json(check(&state, &mut db, id, agent_id).await?.eligibility))
}

/// Check eligibility and return the unsigned `claim(runId, agentId)` transaction for the agent's
/// wallet to sign (the server holds no keys).
#[utoipa::path(
    post,
    path = "/api/runs/{id}/claim",
    tag = "runs",
    params(("id" = u64, Path, description = "The run id", minimum = 1, maximum = 9223372036854775807_u64)),
    request_body = ClaimRequest,
    responses(
        (status = 200, description = "Eligible: the transaction to sign", body = ClaimResponse),
        (status = 400, description = "Invalid input (INVALID_PARAMETER, BODY_TOO_LARGE) or run not available (RUN_NOT_AVAILABLE)", body = ErrorBody),
        (status = 403, description = "AGENT_BANNED, AGENT_FROZEN, INSUFFICIENT_STAKE, INSUFFICIENT_FREE_STAKE, AGENT_IS_POSTER, AGENT_IS_ARBITRATOR, AGENT_SLASHED_ON_RUN or WALLET_MISMATCH", body = ErrorBody),
        (status = 404, description = "No such run or agent", body = ErrorBody),
        (status = 503, description = "Database unavailable or deployment unknown", body = ErrorBody),
    )
)]
pub(crate) async fn claim(
    State(state): State<ApiState>,
    IdPath(id): IdPath,
    mut db: Db,
    ApiJson(body): ApiJson<ClaimRequest>,
) -> Result<Json<ClaimResponse>, ApiError> {
    let agent_id = u64::try_from(i64::try_from(body.agent_id).unwrap_or(0))
        .ok()
        .filter(|a| *a > 0)
        .ok_or_else(|| {
            ApiError::invalid("agentId", "must be an integer from 1 to 9223372036854775807")
        })?;
    let wallet = parse_address("walletAddress", &body.wallet_address)?;
    let checked = check(&state, &mut db, id, agent_id).await?;
    let run_reasons: Vec<&'static str> =
        checked.reasons.iter().filter(|r| derive::is_run_reason(**r)).map(|r| r.code()).collect();
    if !run_reasons.is_empty() {
        return Err(ApiError::RunNotAvailable { run_id: id, reasons: run_reasons });
    }
    let mut agent_reasons: Vec<&'static str> = checked.reasons.iter().map(|r| r.code()).collect();
    if wallet != checked.wallet {
        agent_reasons.push("WALLET_MISMATCH");
    }
    if !agent_reasons.is_empty() {
        return Err(ApiError::ClaimForbidden { run_id: id, agent_id, reasons: agent_reasons });
    }
    let escrow = state.config().run_escrow.ok_or_else(|| {
        ApiError::Unavailable("no deployment manifest: the RunEscrow address is unknown".into())
    })?;
    let data = runs_bindings::RunEscrow::claimCall {
        runId: U256::from(id),
        agentId: U256::from(agent_id),
    }
    .abi_encode();
    Ok(Json(ClaimResponse {
        eligible: true,
        transaction: UnsignedTransaction {
            to: checksum(escrow),
            data: format!("0x{}", alloy::hex::encode(data)),
            value: "0".to_owned(),
            chain_id: state.chain_id(),
        },
    }))
}
