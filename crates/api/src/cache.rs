//! Whole responses of the read endpoints, from memory, exactly.
//!
//! An answer of `GET /api/runs`, `/api/runs/{id}`, `/api/agents`, … is a function of the request
//! and the indexed head (even time: "now" is the head block's timestamp). So the serialised
//! response is kept under the key (normalised request, head block hash), and its `ETag` is that
//! key: a request with `If-None-Match` and the current key is answered `304` with no query.
//!
//! - **Exact.** Each request first learns the head, through a read that *started after the
//!   request arrived* ([`HeadReads`]); concurrent requests share one such read, so a busy server
//!   pays one primary-key lookup per round trip, not one per request. A response is stored only
//!   when the handler answered at that same head (it reads data and head in one statement), so
//!   an entry never holds an answer from another head. When the head moves or a reorg rolls it
//!   back, its hash changes and every entry of the old head is dropped.
//! - **Single flight.** Requests for a key being computed wait for that computation.
//! - **Bounded.** Entries are evicted least recently used first to stay under a byte budget
//!   (`runs serve --cache-mib`; `--no-cache` turns it all off).
//!
//! `/api/events` (whose answers also depend on the feed, which a rollback extends at an earlier
//! head), the stream, `/ready`, `/health` and `/metrics` are never cached.

use std::{
    collections::hash_map::DefaultHasher,
    hash::{Hash, Hasher},
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering},
    },
};

use axum::{
    body::{Body, Bytes},
    extract::{MatchedPath, Request, State},
    http::{HeaderMap, HeaderValue, Method, StatusCode, header},
    middleware::Next,
    response::{IntoResponse, Response},
};
use lru::LruCache;
use runs_db::BlockRef;
use tokio::sync::{OnceCell, watch};

use crate::{ApiState, INDEXED_BLOCK_HEADER, extract::HeadSlot};

/// The route templates whose answers are a function of the request and the indexed head.
const CACHEABLE: [&str; 7] = [
    "/api/runs",
    "/api/runs/{id}",
    "/api/runs/{id}/claim-eligibility",
    "/api/agents",
    "/api/agents/{id}",
    "/api/agents/{id}/stake",
    "/api/arbitrators/{address}",
];

/// The largest response body kept (a bigger one is served but not stored).
const MAX_BODY: usize = 1024 * 1024;

/// What the cache counted (for `/metrics`).
#[derive(Debug, Default)]
pub(crate) struct CacheStats {
    pub(crate) hits: AtomicU64,
    pub(crate) misses: AtomicU64,
    pub(crate) not_modified: AtomicU64,
    pub(crate) evictions: AtomicU64,
    pub(crate) bytes: AtomicU64,
    /// Keys held (stored answers, and ones being computed).
    pub(crate) entries: AtomicU64,
}

/// The response cache of one API process.
#[derive(Debug)]
pub(crate) struct ResponseCache {
    budget: usize,
    heads: HeadReads,
    entries: Mutex<Entries>,
    pub(crate) stats: CacheStats,
}

#[derive(Debug)]
struct Entries {
    /// The head every entry was computed at.
    head: Option<BlockRef>,
    lru: LruCache<String, Arc<Entry>>,
    bytes: usize,
}

/// One key's answer, computed once.
#[derive(Debug, Default)]
struct Entry {
    cell: OnceCell<Option<Stored>>,
}

#[derive(Debug, Clone)]
struct Stored {
    content_type: Option<HeaderValue>,
    body: Bytes,
}

impl Stored {
    fn size(&self, key: &str) -> usize {
        self.body.len() + key.len() + 128
    }
}

impl ResponseCache {
    /// A cache of at most `budget` bytes of responses.
    pub(crate) fn new(budget: usize) -> Self {
        Self {
            budget,
            heads: HeadReads::new(),
            entries: Mutex::new(Entries { head: None, lru: LruCache::unbounded(), bytes: 0 }),
            stats: CacheStats::default(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Entries> {
        self.entries.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The entry of `key` at `head`, created if missing; drops every entry of another head.
    fn entry(&self, head: BlockRef, key: &str) -> Arc<Entry> {
        let mut entries = self.lock();
        if entries.head != Some(head) {
            entries.lru.clear();
            entries.bytes = 0;
            entries.head = Some(head);
            self.stats.bytes.store(0, Ordering::Relaxed);
        }
        if let Some(entry) = entries.lru.get(key) {
            return Arc::clone(entry);
        }
        let entry = Arc::new(Entry::default());
        entries.lru.put(key.to_owned(), Arc::clone(&entry));
        self.stats.entries.store(entries.lru.len() as u64, Ordering::Relaxed);
        entry
    }

    /// Drops `key`'s entry if it is still `entry` (an answer that could not be stored keeps no
    /// slot, so questions that are never stored cannot grow the cache).
    fn forget(&self, head: BlockRef, key: &str, entry: &Arc<Entry>) {
        let mut entries = self.lock();
        if entries.head == Some(head)
            && entries.lru.peek(key).is_some_and(|e| Arc::ptr_eq(e, entry))
        {
            entries.lru.pop(key);
        }
        self.stats.entries.store(entries.lru.len() as u64, Ordering::Relaxed);
    }

    /// Accounts for `stored` under `key` (if its entry is still there) and evicts the least
    /// recently used entries beyond the budget.
    fn account(&self, head: BlockRef, key: &str, stored: &Stored) {
        let mut entries = self.lock();
        if entries.head != Some(head) || entries.lru.peek(key).is_none() {
            return;
        }
        entries.bytes += stored.size(key);
        while entries.bytes > self.budget {
            let Some((old_key, old)) = entries.lru.pop_lru() else { break };
            if let Some(Some(stored)) = old.cell.get() {
                entries.bytes = entries.bytes.saturating_sub(stored.size(&old_key));
            }
            self.stats.evictions.fetch_add(1, Ordering::Relaxed);
        }
        self.stats.bytes.store(entries.bytes as u64, Ordering::Relaxed);
        self.stats.entries.store(entries.lru.len() as u64, Ordering::Relaxed);
    }
}

/// Reads of the indexed head shared by concurrent requests: a request waits for a read that
/// started after it arrived (so it sees every commit made before it arrived), starting one if
/// none is running.
#[derive(Debug)]
struct HeadReads {
    /// Reads started so far.
    started: AtomicU64,
    /// Whether a read is running.
    running: Mutex<bool>,
    /// The latest finished read: (its number in `started`, what it saw).
    done: watch::Sender<(u64, Option<BlockRef>)>,
}

impl HeadReads {
    fn new() -> Self {
        Self {
            started: AtomicU64::new(0),
            running: Mutex::new(false),
            done: watch::channel((0, None)).0,
        }
    }

    async fn read(&self, state: &ApiState) -> runs_db::Result<Option<BlockRef>> {
        self.read_with(|| async {
            state.store().reader().await?.indexed_head(state.chain_id()).await
        })
        .await
    }

    /// [`HeadReads::read`] with the database read given (tests fail and delay it).
    async fn read_with<F, Fut>(&self, read_head: F) -> runs_db::Result<Option<BlockRef>>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = runs_db::Result<Option<BlockRef>>>,
    {
        let arrived = self.started.load(Ordering::SeqCst);
        let mut done = self.done.subscribe();
        loop {
            {
                let (number, head) = *done.borrow_and_update();
                if number > arrived {
                    return Ok(head);
                }
            }
            let mine = {
                let mut running = self.running.lock().unwrap_or_else(|e| e.into_inner());
                !std::mem::replace(&mut *running, true)
            };
            if mine {
                let number = self.started.fetch_add(1, Ordering::SeqCst) + 1;
                // Ends the read when dropped: after it finished, or when this request is dropped
                // in the middle of it (its client went away).
                let _running = Running(self);
                let head = read_head().await?;
                self.done.send_modify(|done| {
                    if number > done.0 {
                        *done = (number, head);
                    }
                });
                return Ok(head);
            }
            // Another request's read is running; it may have started before this one arrived.
            if done.changed().await.is_err() {
                return read_head().await;
            }
        }
    }
}

/// The read of [`HeadReads`] in progress; dropping it ends the read and wakes the requests
/// waiting for it. Those that need a newer read than the last finished one (the read failed, or
/// was dropped with its request) each try one of their own.
struct Running<'a>(&'a HeadReads);

impl Drop for Running<'_> {
    fn drop(&mut self) {
        *self.0.running.lock().unwrap_or_else(|e| e.into_inner()) = false;
        self.0.done.send_modify(|_| ());
    }
}

/// Adds what the cache answers to the OpenAPI operations it serves: the `If-None-Match` header
/// and the `304` (written here, from [`CACHEABLE`], not on each handler).
pub(crate) fn document(doc: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::{
        ResponseBuilder, Type,
        path::{ParameterBuilder, ParameterIn},
        schema::ObjectBuilder,
    };
    for path in CACHEABLE {
        let Some(get) = doc.paths.paths.get_mut(path).and_then(|item| item.get.as_mut()) else {
            continue;
        };
        let header = ParameterBuilder::new()
            .name("If-None-Match")
            .parameter_in(ParameterIn::Header)
            .description(Some(
                "An ETag of an earlier answer: 304 while the index has not moved since",
            ))
            .schema(Some(ObjectBuilder::new().schema_type(Type::String)))
            .build();
        get.parameters.get_or_insert_with(Vec::new).push(header.into());
        get.responses.responses.insert(
            "304".to_owned(),
            ResponseBuilder::new()
                .description("Not modified: the If-None-Match tag is current (no body)")
                .build()
                .into(),
        );
    }
}

/// The request with its query pairs sorted: the same question asked in another order is the
/// same key.
fn key(req: &Request) -> String {
    let path = req.uri().path();
    let Some(query) = req.uri().query().filter(|q| !q.is_empty()) else {
        return path.to_owned();
    };
    let mut pairs: Vec<&str> = query.split('&').filter(|p| !p.is_empty()).collect();
    pairs.sort_unstable();
    format!("{path}?{}", pairs.join("&"))
}

/// `"<head hash>-<key hash>"`: changes with the head and with the question.
fn etag(head: &BlockRef, key: &str) -> HeaderValue {
    let mut hasher = DefaultHasher::new();
    key.hash(&mut hasher);
    let tag = format!("\"{:x}-{:016x}\"", head.hash, hasher.finish());
    HeaderValue::from_str(&tag).unwrap_or_else(|_| HeaderValue::from_static("\"\""))
}

fn matches(headers: &HeaderMap, etag: &HeaderValue) -> bool {
    headers.get_all(header::IF_NONE_MATCH).iter().any(|value| {
        value.to_str().is_ok_and(|v| {
            v.split(',').map(str::trim).any(|t| t == "*" || t.trim_start_matches("W/") == etag)
        })
    })
}

/// The middleware: answers cacheable `GET`s from memory, or `304` to a matching
/// `If-None-Match`; everything else passes through.
pub(crate) async fn cached(State(state): State<ApiState>, req: Request, next: Next) -> Response {
    let Some(cache) = state.cache() else { return next.run(req).await };
    let route = req.extensions().get::<MatchedPath>().map(MatchedPath::as_str);
    if req.method() != Method::GET || !route.is_some_and(|r| CACHEABLE.contains(&r)) {
        return next.run(req).await;
    }
    let head = match cache.heads.read(&state).await {
        Ok(Some(head)) => head,
        // Nothing indexed yet, or the database is down: the handler answers (or fails) as usual.
        _ => return next.run(req).await,
    };
    let key = key(&req);
    let etag = etag(&head, &key);
    let stamp = |mut response: Response, cache_status: &'static str| {
        let headers = response.headers_mut();
        headers.insert(header::ETAG, etag.clone());
        // Clients may keep the answer but must ask again (a 304 is cheap).
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
        headers.insert(INDEXED_BLOCK_HEADER, HeaderValue::from(head.number));
        headers.insert("x-cache", HeaderValue::from_static(cache_status));
        response
    };
    // A 304 only for an answer that would be a 200 (RFC 9110 §13.1.2): a current tag names a
    // stored answer, or the answer computed below is a 200 with that tag.
    let conditional = matches(req.headers(), &etag);
    let not_modified = || {
        cache.stats.not_modified.fetch_add(1, Ordering::Relaxed);
        stamp(StatusCode::NOT_MODIFIED.into_response(), "hit")
    };
    let entry = cache.entry(head, &key);
    if conditional && matches!(entry.cell.get(), Some(Some(_))) {
        return not_modified();
    }
    let (parts, _) = req.into_parts();
    let mut computed: Option<Response> = None;
    let stored = entry
        .cell
        .get_or_init(|| async {
            let mut req = Request::from_parts(parts.clone(), Body::empty());
            let slot = HeadSlot::default();
            req.extensions_mut().insert(slot.clone());
            let mut response = next.clone().run(req).await;
            // Stored only when the handler answered 200 at the head the key names.
            if response.status() != StatusCode::OK || slot.block() != Some(head) {
                if let Some(block) = slot.get() {
                    response.headers_mut().insert(INDEXED_BLOCK_HEADER, HeaderValue::from(block));
                }
                computed = Some(response);
                return None;
            }
            let (response_parts, body) = response.into_parts();
            // The handlers' bodies are in memory already; reading one fails only if it broke.
            let Ok(body) = axum::body::to_bytes(body, usize::MAX).await else {
                computed = Some(StatusCode::INTERNAL_SERVER_ERROR.into_response());
                return None;
            };
            if body.len() > MAX_BODY {
                // Served, not stored.
                let mut response = Response::from_parts(response_parts, Body::from(body));
                response.headers_mut().insert(INDEXED_BLOCK_HEADER, HeaderValue::from(head.number));
                computed = Some(response);
                return None;
            }
            let stored = Stored {
                content_type: response_parts.headers.get(header::CONTENT_TYPE).cloned(),
                body,
            };
            computed = Some(Response::from_parts(response_parts, Body::from(stored.body.clone())));
            Some(stored)
        })
        .await
        .clone();
    let Some(stored) = stored else {
        // Not storable (not a 200, or answered at another head): the entry goes, and the
        // condition is ignored.
        cache.forget(head, &key, &entry);
        cache.stats.misses.fetch_add(1, Ordering::Relaxed);
        return match computed {
            Some(response) => response,
            // Another request computed it: answer this one on its own.
            None => next.run(Request::from_parts(parts, Body::empty())).await,
        };
    };
    if let Some(response) = computed {
        // This request computed it.
        cache.stats.misses.fetch_add(1, Ordering::Relaxed);
        cache.account(head, &key, &stored);
        return if conditional { not_modified() } else { stamp(response, "miss") };
    }
    if conditional {
        return not_modified();
    }
    cache.stats.hits.fetch_add(1, Ordering::Relaxed);
    let mut response = Response::new(Body::from(stored.body));
    if let Some(content_type) = stored.content_type {
        response.headers_mut().insert(header::CONTENT_TYPE, content_type);
    }
    stamp(response, "hit")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(number: u64) -> BlockRef {
        BlockRef {
            number,
            hash: runs_primitives::B256::repeat_byte(number as u8),
            parent_hash: runs_primitives::B256::ZERO,
            timestamp: number,
        }
    }

    #[tokio::test]
    async fn concurrent_requests_share_one_read_and_a_failed_read_wakes_them() {
        let reads = HeadReads::new();
        let count = AtomicU64::new(0);
        let slow = || async {
            count.fetch_add(1, Ordering::SeqCst);
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            Ok(Some(head(7)))
        };
        let all = futures::future::join_all((0..16).map(|_| reads.read_with(slow))).await;
        assert!(all.iter().all(|r| matches!(r, Ok(Some(h)) if h.number == 7)));
        // Requests that arrive while a read runs take the next one: at most two reads serve
        // sixteen requests.
        assert!(count.load(Ordering::SeqCst) <= 2, "{}", count.load(Ordering::SeqCst));

        let failing = || async {
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            Err(runs_db::Error::Corrupt { table: "t", column: "c", reason: "down".into() })
        };
        let all = tokio::time::timeout(
            std::time::Duration::from_secs(5),
            futures::future::join_all((0..8).map(|_| reads.read_with(failing))),
        )
        .await
        .expect("waiters hung on a failed read");
        assert!(all.iter().all(Result::is_err));
    }

    /// A client that goes away drops its request while that request is reading the head for
    /// everyone (oha aborts its in-flight requests at the end of a timed run): the requests
    /// waiting for that read, and those after it, must not wait forever.
    #[tokio::test]
    async fn a_dropped_head_read_leaves_no_request_waiting() {
        let reads = HeadReads::new();
        let mut first = Box::pin(reads.read_with(std::future::pending));
        assert!(futures::poll!(&mut first).is_pending(), "the first request reads the head");
        let mut waiting = Box::pin(reads.read_with(|| async { Ok(Some(head(3))) }));
        assert!(futures::poll!(&mut waiting).is_pending(), "the second waits for that read");
        drop(first);
        let limit = std::time::Duration::from_secs(5);
        let got = tokio::time::timeout(limit, waiting).await.expect("the waiting request hung");
        assert_eq!(got.unwrap().map(|h| h.number), Some(3));
        let later = reads.read_with(|| async { Ok(Some(head(4))) });
        let got = tokio::time::timeout(limit, later).await.expect("a later request hung");
        assert_eq!(got.unwrap().map(|h| h.number), Some(4));
    }

    #[test]
    fn keys_ignore_the_order_of_parameters() {
        let a = Request::get("/api/runs?state=OPEN&limit=5").body(Body::empty()).unwrap();
        let b = Request::get("/api/runs?limit=5&state=OPEN").body(Body::empty()).unwrap();
        assert_eq!(key(&a), key(&b));
        let c = Request::get("/api/runs?limit=6&state=OPEN").body(Body::empty()).unwrap();
        assert_ne!(key(&a), key(&c));
    }

    #[test]
    fn if_none_match_takes_lists_weak_tags_and_star() {
        let tag = HeaderValue::from_static("\"abc-1\"");
        let with = |v: &'static str| {
            let mut h = HeaderMap::new();
            h.insert(header::IF_NONE_MATCH, HeaderValue::from_static(v));
            h
        };
        assert!(matches(&with("\"abc-1\""), &tag));
        assert!(matches(&with("\"x\", W/\"abc-1\""), &tag));
        assert!(matches(&with("*"), &tag));
        assert!(!matches(&with("\"abc-2\""), &tag));
        assert!(!matches(&HeaderMap::new(), &tag));
    }
}
