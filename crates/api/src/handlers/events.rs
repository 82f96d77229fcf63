//! `/api/events`: the event feed, paged by position (`after=seq`), and the same as Server-Sent
//! Events with resume (`after=` or `Last-Event-ID`).
//!
//! Every event the indexer commits has a position `seq` that only grows; a reorg appends a
//! retraction (`removed: true`, same identity) of each event it removed, newest first, and the
//! feed never changes behind a position. A consumer that applies the feed (add; remove on a
//! retraction) from any position it reached ends with exactly the indexed events. A stream
//! catches up from the database, then takes new items from one poll of the database per process
//! (`crate::fanout`, every `ApiConfig::stream_poll`), so any number of replicas on one database
//! serve the same stream, and a replica keeps nothing a client could depend on.

// utoipa's `params(...)` expansion names the IntoParams types by qualified path.
#![allow(unused_qualifications)]

use std::{convert::Infallible, sync::LazyLock, time::Duration};

use axum::{
    Json,
    extract::State,
    http::HeaderMap,
    response::{
        IntoResponse, Response,
        sse::{Event, KeepAlive, Sse},
    },
};
use futures::{StreamExt, stream};
use runs_db::read::{FeedFilter, FeedItem};
use runs_primitives::{AgentId, RunId};
use serde::Deserialize;
use tokio::sync::{mpsc, oneshot};
use utoipa::IntoParams;

use super::MAX_LIMIT;
use crate::{
    ApiError, ApiState, ErrorBody,
    dto::{EventList, FeedEvent},
    extract::{ApiQuery, Db, parse_address, parse_id, parse_int},
};

/// The largest `after` (positions are stored as `BIGINT`).
const MAX_SEQ: u64 = i64::MAX as u64;

/// The most event types one filter may name.
const MAX_TYPES: usize = 64;

/// Items a stream holds for a client that is not reading; when they are all unread for
/// [`LAG_TIMEOUT`], the client is disconnected with its position.
const STREAM_BUFFER: usize = 256;

/// How long a stream waits for a client that stopped reading.
const LAG_TIMEOUT: Duration = Duration::from_secs(10);

/// The comment line sent when nothing else was sent for this long.
const HEARTBEAT: Duration = Duration::from_secs(15);

/// Seconds a client refused for the stream cap is told to wait.
const RETRY_AFTER: u64 = 5;

/// Every contract event name (from the ABI, through the bindings).
static EVENT_TYPES: LazyLock<Vec<&'static str>> = LazyLock::new(runs_bindings::event_names);

/// Filters of the feed, taken as text and validated here so each bad value gets a 400 naming it.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub(crate) struct FeedParams {
    /// Only items after this position (default 0: from the beginning).
    #[param(value_type = Option<u64>, minimum = 0, maximum = 9223372036854775807_u64)]
    after: Option<String>,
    /// Comma-separated event types, e.g. `Claimed,Approved`.
    #[param(value_type = Option<String>, example = "Claimed,Approved")]
    r#type: Option<String>,
    /// Only events about this run.
    #[param(value_type = Option<u64>, minimum = 1, maximum = 9223372036854775807_u64)]
    run_id: Option<String>,
    /// Only events about this agent.
    #[param(value_type = Option<u64>, minimum = 1, maximum = 9223372036854775807_u64)]
    agent_id: Option<String>,
    /// Only events about runs this address posted.
    #[param(value_type = Option<String>, pattern = "^0x[0-9a-fA-F]{40}$")]
    poster: Option<String>,
    /// Items per page of `GET /api/events`, 1–100 (default 100); the stream sends every item.
    #[param(value_type = Option<u32>, minimum = 1, maximum = 100)]
    limit: Option<String>,
}

impl FeedParams {
    /// The position to start after, the filter and the page size.
    fn parse(&self) -> Result<(u64, FeedFilter, u32), ApiError> {
        let after = match &self.after {
            Some(raw) => parse_int("after", raw, 0, MAX_SEQ)?,
            None => 0,
        };
        let kinds = match self.r#type.as_deref() {
            None => Vec::new(),
            Some(raw) => {
                let kinds: Vec<String> = raw.split(',').map(|k| k.trim().to_owned()).collect();
                if kinds.len() > MAX_TYPES {
                    return Err(ApiError::invalid("type", format!("at most {MAX_TYPES} types")));
                }
                if let Some(unknown) = kinds.iter().find(|k| !EVENT_TYPES.contains(&k.as_str())) {
                    return Err(ApiError::invalid(
                        "type",
                        format!(
                            "unknown event type {unknown:?}; one of {}",
                            EVENT_TYPES.join(", ")
                        ),
                    ));
                }
                kinds
            }
        };
        let filter = FeedFilter {
            kinds,
            run_id: self.run_id.as_deref().map(|r| parse_id("runId", r).map(RunId)).transpose()?,
            agent_id: self
                .agent_id
                .as_deref()
                .map(|a| parse_id("agentId", a).map(AgentId))
                .transpose()?,
            poster: self.poster.as_deref().map(|p| parse_address("poster", p)).transpose()?,
        };
        let limit = match &self.limit {
            Some(raw) => parse_int("limit", raw, 1, u64::from(MAX_LIMIT))? as u32,
            None => MAX_LIMIT,
        };
        Ok((after, filter, limit))
    }
}

/// The event feed after a position, filtered.
#[utoipa::path(
    get,
    path = "/api/events",
    tag = "events",
    params(FeedParams),
    responses(
        (status = 200, description = "The feed items after `after`, in feed order", body = EventList),
        (status = 400, description = "A parameter is invalid (INVALID_PARAMETER)", body = ErrorBody),
        (status = 503, description = "Database unavailable", body = ErrorBody),
    )
)]
pub(crate) async fn list_events(
    State(state): State<ApiState>,
    ApiQuery(params): ApiQuery<FeedParams>,
    mut db: Db,
) -> Result<Json<EventList>, ApiError> {
    let (after, filter, limit) = params.parse()?;
    // The head first: every item read after it is at least as new.
    let indexed_block = db.head().await?.number();
    let head_seq = db.reader.last_seq(state.chain_id()).await?;
    let items = db.reader.feed(state.chain_id(), after, limit, &filter).await?;
    let next_after = items.last().map_or(after, |item| item.seq);
    let chain_id = state.chain_id();
    Ok(Json(EventList {
        events: items.iter().map(|item| FeedEvent::new(chain_id, item)).collect(),
        next_after,
        head_seq,
        indexed_block,
    }))
}

/// The event feed as Server-Sent Events, live.
///
/// Each item is one event with `id:` its `seq`, `event:` its type and `data:` the JSON of the
/// item (as in `GET /api/events`). Resumes after `Last-Event-ID` when the client sends it (as
/// browsers do on reconnect), else after `after`. A comment line is sent every 15 s of silence.
/// A client that stops reading is sent `event: lagged` with `data: {"after": SEQ}` (its
/// position: reconnect with it) and disconnected, rather than buffered without bound.
#[utoipa::path(
    get,
    path = "/api/events/stream",
    tag = "events",
    params(
        FeedParams,
        ("Last-Event-ID" = Option<u64>, Header, description = "Resume after this position (wins over `after`)"),
    ),
    responses(
        (status = 200, description = "An endless text/event-stream of feed items", content_type = "text/event-stream", body = String),
        (status = 400, description = "A parameter is invalid (INVALID_PARAMETER)", body = ErrorBody),
        (status = 503, description = "Too many streams are open (TOO_MANY_STREAMS, with Retry-After)", body = ErrorBody),
    )
)]
pub(crate) async fn stream_events(
    State(state): State<ApiState>,
    headers: HeaderMap,
    ApiQuery(params): ApiQuery<FeedParams>,
) -> Result<Response, ApiError> {
    let (mut after, filter, _) = params.parse()?;
    if let Some(raw) = headers.get("last-event-id") {
        let raw = raw.to_str().map_err(|_| ApiError::invalid("Last-Event-ID", "not text"))?;
        after = parse_int("Last-Event-ID", raw.trim(), 0, MAX_SEQ)?;
    }
    let slot = state.stream_slot().ok_or(ApiError::TooManyStreams { retry_after: RETRY_AFTER })?;

    let (tx, rx) = mpsc::channel::<Event>(STREAM_BUFFER);
    let (last_tx, last_rx) = oneshot::channel::<Event>();
    tokio::spawn(async move {
        // The slot is held as long as the stream is produced.
        let _slot = slot;
        if let Some(position) = produce(&state, after, &filter, &tx).await {
            let lagged = serde_json::json!({ "after": position });
            let _ = last_tx.send(Event::default().event("lagged").data(lagged.to_string()));
        }
    });
    // The buffered items first, then (if the client lagged) where to resume.
    let events = stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|e| (e, rx)) })
        .chain(stream::once(last_rx).filter_map(|last| async move { last.ok() }))
        .map(Ok::<_, Infallible>);
    Ok(Sse::new(events).keep_alive(KeepAlive::new().interval(HEARTBEAT)).into_response())
}

/// What became of one item sent to a client.
enum Sent {
    Yes,
    /// The client went away.
    Gone,
    /// The client stopped reading.
    Lagged,
}

/// Sends `item`, whose JSON is `data`.
async fn send(tx: &mpsc::Sender<Event>, item: &FeedItem, data: &str) -> Sent {
    let event = Event::default().id(item.seq.to_string()).event(item.event.event.name()).data(data);
    match tokio::time::timeout(LAG_TIMEOUT, tx.send(event)).await {
        Ok(Ok(())) => Sent::Yes,
        Ok(Err(_)) => Sent::Gone,
        Err(_) => Sent::Lagged,
    }
}

/// Sends the feed after `after` into `tx` until the client goes away (`None`) or stops reading
/// (`Some(position)`: the last position it was sent). Catches up from the database with the
/// client's filter, then follows the process's broadcast of new items (`crate::fanout`), and
/// goes back to the database whenever the broadcast does not continue from what it covered.
async fn produce(
    state: &ApiState,
    mut after: u64,
    filter: &FeedFilter,
    tx: &mpsc::Sender<Event>,
) -> Option<u64> {
    let chain_id = state.chain_id();
    let poll = state.config().stream_poll;
    let mut live = state.fanout().subscribe(state.store(), chain_id, poll);
    loop {
        // Every item up to `covered` has been sent, or does not match.
        let mut covered = loop {
            match catch_up(state, &mut after, filter, tx).await {
                Ok(Ok(covered)) => break covered,
                Ok(Err(stop)) => return stop,
                Err(err) => {
                    tracing::warn!(target: "runs::api", error = %err, "event stream: reading the feed failed; retrying");
                    tokio::select! {
                        () = tokio::time::sleep(poll) => {}
                        () = tx.closed() => return None,
                    }
                }
            }
        };
        loop {
            let batch = tokio::select! {
                batch = live.recv() => batch,
                () = tx.closed() => return None,
            };
            // Fell behind the broadcast: back to the database.
            let Ok(batch) = batch else { break };
            if batch.after > covered {
                break;
            }
            let seen = after;
            for (item, data) in batch.items.iter().filter(|(item, _)| item.seq > seen) {
                if filter.matches(item) {
                    match send(tx, item, data).await {
                        Sent::Yes => {}
                        Sent::Gone => return None,
                        Sent::Lagged => return Some(after),
                    }
                }
                after = item.seq;
            }
            covered = covered.max(after);
        }
    }
}

/// Sends the items after `after` the database has, page by page; `Ok(covered)`: every item up
/// to `covered` was sent or does not match; `Err(stop)`: as [`produce`] returns.
async fn catch_up(
    state: &ApiState,
    after: &mut u64,
    filter: &FeedFilter,
    tx: &mpsc::Sender<Event>,
) -> runs_db::Result<Result<u64, Option<u64>>> {
    let chain_id = state.chain_id();
    loop {
        // The head first: every item up to it is in the page read after it, unless it is full.
        let (head, items) = {
            let mut reader = state.store().reader().await?;
            let head = reader.last_seq(chain_id).await?;
            (head, reader.feed(chain_id, *after, MAX_LIMIT, filter).await?)
        };
        for item in &items {
            let data = serde_json::to_string(&FeedEvent::new(chain_id, item)).unwrap_or_default();
            match send(tx, item, &data).await {
                Sent::Yes => *after = item.seq,
                Sent::Gone => return Ok(Err(None)),
                Sent::Lagged => return Ok(Err(Some(*after))),
            }
        }
        if items.len() < MAX_LIMIT as usize {
            return Ok(Ok(head.max(*after)));
        }
    }
}
