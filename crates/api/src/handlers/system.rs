//! Operational endpoints: liveness, readiness (database reachable, something indexed, and the
//! indexer within the allowed lag of the known head) and Prometheus metrics.

use axum::{
    Json,
    extract::State,
    http::{StatusCode, header},
    response::IntoResponse,
};

use crate::{
    ApiState,
    dto::{Health, Ready},
};

/// Liveness: 200 while the process serves.
#[utoipa::path(
    get,
    path = "/health",
    tag = "system",
    responses((status = 200, description = "Alive", body = Health))
)]
pub(crate) async fn health() -> Json<Health> {
    Json(Health { status: "ok".to_owned() })
}

/// Readiness: 503 until the database answers, something is indexed and the indexer is within
/// `ready_max_lag` blocks of the chain head (when the server knows the head).
#[utoipa::path(
    get,
    path = "/ready",
    tag = "system",
    responses(
        (status = 200, description = "Ready", body = Ready),
        (status = 503, description = "Not ready; `reason` says why", body = Ready),
    )
)]
pub(crate) async fn ready(State(state): State<ApiState>) -> (StatusCode, Json<Ready>) {
    let max_lag = state.config().ready_max_lag;
    let chain_head = state.chain_head();
    let indexed = crate::current_head(&state).await;
    let head = indexed.as_ref().ok().and_then(Option::as_ref);
    let indexed_block = head.map_or(0, |b| b.number);
    let indexed_block_time = head.map(|b| crate::format::iso(b.timestamp));
    let lag = chain_head.map(|head| head.saturating_sub(indexed_block));
    let reason = match &indexed {
        Err(err) => {
            tracing::warn!(target: "runs::api", error = %err, "not ready: database");
            Some("database unavailable".to_owned())
        }
        Ok(None) => Some("nothing indexed yet".to_owned()),
        Ok(Some(_)) => match lag {
            Some(lag) if lag > max_lag => {
                Some(format!("indexer is {lag} blocks behind the head (max {max_lag})"))
            }
            _ => None,
        },
    };
    let status = if reason.is_none() { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    let body = Ready {
        ready: reason.is_none(),
        indexed_block,
        indexed_block_time,
        chain_head,
        lag,
        max_lag,
        reason,
    };
    (status, Json(body))
}

/// Prometheus metrics (text exposition format 0.0.4).
#[utoipa::path(
    get,
    path = "/metrics",
    tag = "system",
    responses((status = 200, description = "Metrics", body = String, content_type = "text/plain"))
)]
pub(crate) async fn metrics(State(state): State<ApiState>) -> impl IntoResponse {
    let indexed = crate::current_head(&state).await.ok().flatten().map(|b| b.number);
    let cache = state.cache().map(|c| &c.stats);
    let text = state.metrics().render(indexed, state.chain_head(), cache);
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], text)
}
