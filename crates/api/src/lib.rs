//! The runs marketplace's REST API (SPEC §5): an axum [`router`] over the indexed [`Store`], with
//! one [`ApiError`], an OpenAPI 3 document generated from the handlers ([`openapi`]), Prometheus
//! metrics, CORS, a body limit and an `X-Indexed-Block` header on every response.
//!
//! The API only reads the database the indexer writes; it never talks to the indexer and holds no
//! keys (`POST /api/runs/{id}/claim` returns an unsigned transaction). Time-dependent answers
//! (agent status, claim eligibility) are evaluated at the latest indexed block's timestamp.
//!
//! Public API: [`ApiConfig`], [`ApiState`], [`ChainHead`], [`router`], [`openapi`], [`serve`],
//! [`ApiError`] and the [`dto`] shapes.

mod cache;
mod derive;
pub mod dto;
mod error;
mod extract;
mod fanout;
mod format;
mod handlers;
mod metrics;

use std::{
    collections::HashMap,
    future::Future,
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering},
    },
    time::Instant,
};

use axum::{
    Router,
    extract::{DefaultBodyLimit, MatchedPath, Request, State},
    http::{HeaderName, HeaderValue, Method, header},
    middleware::{self, Next},
    response::{IntoResponse, Response},
    routing::get,
    serve::ListenerExt,
};
pub use error::{ApiError, ErrorBody, ErrorDetail};
/// How a unix time is written on the wire (ISO 8601 UTC), for other faces of the market (the
/// CLI's JSON) to write it the same way.
pub use format::iso as iso8601;
use runs_db::{BlockRef, ChainParams, Store, read::RunFilter};
use runs_primitives::Address;
use tokio::sync::OnceCell;
use tower_http::cors::{AllowOrigin, CorsLayer};
use utoipa::OpenApi;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::{
    extract::{Db, HeadSlot},
    metrics::Metrics,
};

/// The response header carrying the last indexed block.
pub const INDEXED_BLOCK_HEADER: &str = "x-indexed-block";

/// The response cache's default budget.
pub const DEFAULT_CACHE_BYTES: usize = 64 * 1024 * 1024;

/// How the API is set up.
#[derive(Debug, Clone)]
pub struct ApiConfig {
    /// The chain whose index is served.
    pub chain_id: u64,
    /// The RunEscrow address, the `to` of claim transactions (None: the claim endpoint answers
    /// 503 `SERVICE_UNAVAILABLE`).
    pub run_escrow: Option<Address>,
    /// `/ready` is 503 while the indexer is more than this many blocks behind the known head.
    pub ready_max_lag: u64,
    /// Origins allowed by CORS; `*` allows any; empty disables CORS headers.
    pub cors_origins: Vec<String>,
    /// Largest accepted request body, in bytes.
    pub body_limit: usize,
    /// Concurrent `/api/events/stream` connections this process serves; more get 503 with
    /// `Retry-After`.
    pub max_streams: usize,
    /// How often an idle event stream looks for new feed positions (a short poll of the
    /// database, so every replica serves the same stream without shared state).
    pub stream_poll: std::time::Duration,
    /// Bytes of whole responses of the read endpoints kept in memory (0: no response cache, no
    /// `ETag`); see the `cache` module.
    pub cache_bytes: usize,
}

impl ApiConfig {
    /// Defaults for `chain_id`: no escrow, lag 10, CORS for any origin, 16 KiB bodies, 1,000
    /// event streams polling every 100 ms, a 64 MiB response cache.
    pub fn new(chain_id: u64) -> Self {
        Self {
            chain_id,
            run_escrow: None,
            ready_max_lag: 10,
            cors_origins: vec!["*".to_owned()],
            body_limit: 16 * 1024,
            max_streams: 1_000,
            stream_poll: std::time::Duration::from_millis(100),
            cache_bytes: DEFAULT_CACHE_BYTES,
        }
    }
}

/// The chain head as last seen by whoever can see it (`runs serve --rpc-url` polls it); 0 means
/// unknown. Cheap to clone; all clones share the value.
#[derive(Debug, Clone, Default)]
pub struct ChainHead(Arc<AtomicU64>);

impl ChainHead {
    /// Record the head.
    pub fn set(&self, block: u64) {
        self.0.store(block, Ordering::Relaxed);
    }

    /// The head, if known.
    pub fn get(&self) -> Option<u64> {
        Some(self.0.load(Ordering::Relaxed)).filter(|b| *b != 0)
    }
}

/// Shared state of the handlers. Cheap to clone.
#[derive(Debug, Clone)]
pub struct ApiState {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    store: Store,
    config: ApiConfig,
    head: ChainHead,
    metrics: Metrics,
    /// `COUNT(*)` per filter, valid for one indexed block: totals change only when the index
    /// moves, and counting is the one part of a listing that grows with the table. One cell per
    /// filter and block, so concurrent requests wait for one count instead of each running it.
    totals: Mutex<HashMap<RunFilter, TotalCell>>,
    /// The chain parameters as of one indexed block (number and hash, so a reorg misses): they
    /// change only when the index moves, and re-reading them cost every request a round trip.
    params: Mutex<Option<(BlockRef, Option<ChainParams>)>>,
    /// One permit per open event stream.
    streams: Arc<tokio::sync::Semaphore>,
    /// New feed items for every open event stream, from one poll.
    fanout: fanout::Fanout,
    /// Whole responses of the read endpoints (None: `cache_bytes` is 0).
    cache: Option<cache::ResponseCache>,
}

/// A listing's total at one indexed block, counted by the first request that needs it.
type TotalCell = (Option<BlockRef>, Arc<OnceCell<u64>>);

/// Entries kept in the totals cache before it is cleared.
const TOTALS_CACHE_SIZE: usize = 4_096;

impl ApiState {
    /// State over `store` for `config.chain_id`; `head` is updated by the caller if it can see
    /// the chain.
    pub fn new(store: Store, config: ApiConfig, head: ChainHead) -> Self {
        let config_streams = config.max_streams;
        let cache = (config.cache_bytes > 0).then(|| cache::ResponseCache::new(config.cache_bytes));
        Self {
            inner: Arc::new(Inner {
                store,
                config,
                head,
                metrics: Metrics::default(),
                totals: Mutex::new(HashMap::new()),
                params: Mutex::new(None),
                streams: Arc::new(tokio::sync::Semaphore::new(config_streams)),
                fanout: fanout::Fanout::new(),
                cache,
            }),
        }
    }

    pub(crate) fn store(&self) -> &Store {
        &self.inner.store
    }

    pub(crate) fn config(&self) -> &ApiConfig {
        &self.inner.config
    }

    pub(crate) fn chain_id(&self) -> u64 {
        self.inner.config.chain_id
    }

    pub(crate) fn chain_head(&self) -> Option<u64> {
        self.inner.head.get()
    }

    /// A slot for one more event stream, if the cap allows.
    pub(crate) fn stream_slot(&self) -> Option<tokio::sync::OwnedSemaphorePermit> {
        Arc::clone(&self.inner.streams).try_acquire_owned().ok()
    }

    pub(crate) fn cache(&self) -> Option<&cache::ResponseCache> {
        self.inner.cache.as_ref()
    }

    pub(crate) fn fanout(&self) -> &fanout::Fanout {
        &self.inner.fanout
    }

    pub(crate) fn metrics(&self) -> &Metrics {
        &self.inner.metrics
    }

    /// The chain parameters at the request's indexed block, read once per block.
    pub(crate) async fn chain_params(&self, db: &mut Db) -> Result<Option<ChainParams>, ApiError> {
        let lock = || self.inner.params.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let head = db.head().await?;
        if let Some(block) = head.0
            && let Some((at, params)) = lock().as_ref()
            && *at == block
        {
            return Ok(params.clone());
        }
        let params = db.reader.chain_params(self.chain_id()).await?;
        if let Some(block) = head.0 {
            *lock() = Some((block, params.clone()));
        }
        Ok(params)
    }

    /// How many runs match `filter` at the request's indexed block, counted once per block.
    pub(crate) async fn total_runs(
        &self,
        db: &mut Db,
        filter: &RunFilter,
    ) -> Result<u64, ApiError> {
        let block = db.head().await?.0;
        let cell = {
            let mut totals =
                self.inner.totals.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            match totals.get(filter) {
                Some((at, cell)) if *at == block => Arc::clone(cell),
                _ => {
                    if totals.len() >= TOTALS_CACHE_SIZE {
                        totals.clear();
                    }
                    let cell = Arc::new(OnceCell::new());
                    totals.insert(filter.clone(), (block, Arc::clone(&cell)));
                    cell
                }
            }
        };
        let chain = self.chain_id();
        let total =
            cell.get_or_try_init(|| async { db.reader.count_runs(chain, filter).await }).await?;
        Ok(*total)
    }
}

/// The OpenAPI document's static part; paths and schemas come from the handlers.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "runs marketplace API",
        description = "Read API over the indexed RunEscrow and StakeVault contracts. Amounts are \
strings of USDC base units (6 decimals), times ISO 8601 UTC, addresses EIP-55. Every response \
carries `X-Indexed-Block`. Errors are `{error: {code, message}}`.",
        license(name = "MIT")
    ),
    components(schemas(
        ErrorBody,
        ErrorDetail,
        runs_primitives::RunState,
        handlers::runs::SortName,
        handlers::runs::OrderName
    ))
)]
struct ApiDoc;

fn api_routes() -> OpenApiRouter<ApiState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(handlers::runs::list_runs))
        .routes(routes!(handlers::runs::get_run))
        .routes(routes!(handlers::runs::claim_eligibility))
        .routes(routes!(handlers::runs::claim))
        .routes(routes!(handlers::agents::list_agents))
        .routes(routes!(handlers::agents::get_agent))
        .routes(routes!(handlers::agents::get_stake))
        .routes(routes!(handlers::arbitrators::get_arbitrator))
        .routes(routes!(handlers::events::list_events))
        .routes(routes!(handlers::events::stream_events))
        .routes(routes!(handlers::system::health))
        .routes(routes!(handlers::system::ready))
        .routes(routes!(handlers::system::metrics))
}

/// The OpenAPI 3 document of every endpoint, generated from the handlers' types.
pub fn openapi() -> utoipa::openapi::OpenApi {
    let (_, mut doc) = api_routes().split_for_parts();
    doc.paths.paths.insert(
        "/api/openapi.json".to_owned(),
        utoipa::openapi::path::PathItem::new(
            utoipa::openapi::HttpMethod::Get,
            utoipa::openapi::path::OperationBuilder::new()
                .operation_id(Some("openapi"))
                .summary(Some("This OpenAPI document"))
                .response(
                    "200",
                    utoipa::openapi::ResponseBuilder::new()
                        .description("The OpenAPI 3 document")
                        .content(
                            "application/json",
                            utoipa::openapi::ContentBuilder::new()
                                .schema(Some(utoipa::openapi::ObjectBuilder::new()))
                                .build(),
                        ),
                )
                .build(),
        ),
    );
    cache::document(&mut doc);
    doc
}

/// The application: every endpoint, with metrics, the `X-Indexed-Block` header, CORS and the
/// body limit.
pub fn router(state: ApiState) -> Router {
    let doc: Arc<str> = openapi().to_json().unwrap_or_default().into();
    let (routes, _) = api_routes().split_for_parts();
    let cors = cors_layer(&state.config().cors_origins);
    let body_limit = state.config().body_limit;
    routes
        .route(
            "/api/openapi.json",
            get(move || {
                let doc = Arc::clone(&doc);
                async move { ([(header::CONTENT_TYPE, "application/json")], doc.to_string()) }
            }),
        )
        .fallback(|| async { ApiError::NoRoute })
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(middleware::from_fn_with_state(state.clone(), cache::cached))
        .layer(middleware::from_fn_with_state(state.clone(), freshness))
        .layer(middleware::from_fn_with_state(state.clone(), observe))
        .layer(cors)
        .with_state(state)
}

fn cors_layer(origins: &[String]) -> CorsLayer {
    let layer = CorsLayer::new()
        .allow_methods([Method::GET, Method::POST, Method::OPTIONS])
        // A page on another origin revalidates with `If-None-Match` and reads the `ETag`.
        .allow_headers([header::CONTENT_TYPE, header::IF_NONE_MATCH])
        .expose_headers([HeaderName::from_static(INDEXED_BLOCK_HEADER), header::ETAG]);
    if origins.iter().any(|o| o == "*") {
        layer.allow_origin(AllowOrigin::any())
    } else {
        let list: Vec<HeaderValue> =
            origins.iter().filter_map(|o| HeaderValue::from_str(o).ok()).collect();
        layer.allow_origin(AllowOrigin::list(list))
    }
}

/// Stamps every response with the indexed block its answer is based on: the one the handler
/// read through [`Db`], or, for a response that did not read the index (health, metrics, a
/// rejected parameter), the current one.
async fn freshness(State(state): State<ApiState>, mut req: Request, next: Next) -> Response {
    let slot = HeadSlot::default();
    req.extensions_mut().insert(slot.clone());
    let mut response = next.run(req).await;
    // Stamped already (by the response cache, from the head it answered at).
    if response.headers().contains_key(INDEXED_BLOCK_HEADER) {
        return response;
    }
    let block = match slot.get() {
        Some(block) => Some(block),
        None => match current_head(&state).await {
            Ok(head) => Some(head.map_or(0, |b| b.number)),
            Err(err) => {
                tracing::warn!(target: "runs::api", error = %err, "cannot read the indexed head");
                None
            }
        },
    };
    if let Some(block) = block {
        response.headers_mut().insert(INDEXED_BLOCK_HEADER, HeaderValue::from(block));
    }
    response
}

/// The indexed head, on a connection of its own.
async fn current_head(state: &ApiState) -> runs_db::Result<Option<BlockRef>> {
    state.store().reader().await?.indexed_head(state.chain_id()).await
}

/// Counts and times every request by its route template (not the raw path, which would make
/// one series per id).
async fn observe(State(state): State<ApiState>, req: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = req.method().to_string();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let response = next.run(req).await;
    let elapsed = started.elapsed();
    let status = response.status().as_u16();
    state.metrics().observe(&method, &route, status, elapsed);
    tracing::debug!(
        target: "runs::api",
        %method,
        route,
        status,
        micros = elapsed.as_micros() as u64,
        "request"
    );
    response.into_response()
}

/// Serve `router` on `listener` until `shutdown` resolves, then let in-flight requests finish.
/// Accepted connections get `TCP_NODELAY`: a response is written as soon as it is ready, never
/// held back waiting for the client's acknowledgement of the previous one.
pub async fn serve(
    listener: tokio::net::TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let listener = listener.tap_io(|stream| {
        if let Err(err) = stream.set_nodelay(true) {
            tracing::debug!(target: "runs::api", error = %err, "cannot set TCP_NODELAY");
        }
    });
    axum::serve(listener, router).with_graceful_shutdown(shutdown).await
}
