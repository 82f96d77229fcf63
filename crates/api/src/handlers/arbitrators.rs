//! `/api/arbitrators/{address}`: what an arbitrator has ruled, so posters and agents can judge
//! the arbitrator a run's terms name before they take it.

use axum::{
    Json,
    extract::{Path, State},
};
use runs_db::RunRow;

use crate::{
    ApiError, ApiState, ErrorBody,
    dto::Arbitrator,
    extract::{Db, parse_address},
    format::checksum,
};

/// An arbitrator's record: disputes brought before it, rulings, defaults, concessions and the
/// average time it took to rule.
#[utoipa::path(
    get,
    path = "/api/arbitrators/{address}",
    tag = "arbitrators",
    params(("address" = String, Path, description = "The arbitrator's address", pattern = "^0x[0-9a-fA-F]{40}$")),
    responses(
        (status = 200, description = "The arbitrator's record (zeros for an address that never ruled)", body = Arbitrator),
        (status = 400, description = "The address is malformed (INVALID_PARAMETER)", body = ErrorBody),
        (status = 503, description = "Database unavailable", body = ErrorBody),
    )
)]
pub(crate) async fn get_arbitrator(
    State(state): State<ApiState>,
    Path(raw): Path<String>,
    mut db: Db,
) -> Result<Json<Arbitrator>, ApiError> {
    let address = parse_address("address", &raw)?;
    let runs = db.reader.arbitrator_runs(state.chain_id(), address).await?;
    let mut record = record(&runs);
    record.address = checksum(address);
    record.indexed_block = db.head().await?.number();
    Ok(Json(record))
}

/// Folds the disputed runs into the record.
fn record(runs: &[RunRow]) -> Arbitrator {
    let mut record = Arbitrator {
        address: String::new(),
        disputes: runs.len() as u64,
        pending: 0,
        rulings: 0,
        defaults: 0,
        conceded: 0,
        ruled_for_agent: 0,
        average_ruling_delay: None,
        run_ids: runs.iter().map(|r| r.run_id.get()).collect(),
        indexed_block: 0,
    };
    let mut delay_total: u64 = 0;
    for dispute in runs.iter().filter_map(|r| r.dispute.as_ref()) {
        match &dispute.ruling {
            None => record.pending += 1,
            Some(ruling) if ruling.conceded => record.conceded += 1,
            Some(ruling) if ruling.by_default => record.defaults += 1,
            Some(ruling) => {
                record.rulings += 1;
                if runs_primitives::ruling_for_agent(ruling.agent_share_bps) {
                    record.ruled_for_agent += 1;
                }
                delay_total = delay_total
                    .saturating_add(ruling.resolved_at.saturating_sub(dispute.disputed_at));
            }
        }
    }
    record.average_ruling_delay = delay_total.checked_div(record.rulings);
    record
}
