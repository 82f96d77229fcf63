//! The response cache: repeats come from memory with an `ETag` and `304`s, and no answer or `304`
//! outlives the head it was computed at — a new event or a reorg is seen by the very next
//! request; one computation per key however many ask at once; the byte budget evicts the least
//! recently used; `cache_bytes: 0` turns it all off.

use axum::{
    Router,
    body::Body,
    http::{Request, StatusCode},
};
use runs_api::{ApiConfig, ChainHead};

use crate::support::{
    App, CHAIN, POSTER_1, Reply, TestDb, backends, block, create, create_with_spec, fund, get,
    seed, send, usdc,
};

async fn get_if_none_match(app: &Router, uri: &str, etag: &str) -> Reply {
    let req = Request::get(uri).header("if-none-match", etag).body(Body::empty()).unwrap();
    send(app, req).await
}

fn header<'a>(reply: &'a Reply, name: &str) -> &'a str {
    reply.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default()
}

fn metric(text: &str, name: &str) -> u64 {
    text.lines()
        .find_map(|l| l.strip_prefix(name).and_then(|v| v.trim().parse::<f64>().ok()))
        .unwrap_or(0.0) as u64
}

async fn repeats_come_from_memory_and_never_outlive_the_head(db: &TestDb) {
    let mut chain = seed(&db.store).await;
    let app = db.app();
    let uri = "/api/runs?state=OPEN&limit=100";
    let first = get(&app, uri).await;
    assert_eq!(first.status, 200);
    assert_eq!(header(&first, "x-cache"), "miss");
    let etag = header(&first, "etag").to_owned();
    assert!(etag.starts_with('"') && etag.len() > 20, "{etag}");
    assert_eq!(header(&first, "cache-control"), "no-cache");
    let head = header(&first, "x-indexed-block").to_owned();

    // The same question, parameters in another order: from memory, byte for byte.
    let again = get(&app, "/api/runs?limit=100&state=OPEN").await;
    assert_eq!((header(&again, "x-cache"), again.text.as_str()), ("hit", first.text.as_str()));
    assert_eq!(header(&again, "etag"), etag);
    let not_modified = get_if_none_match(&app, uri, &etag).await;
    assert_eq!(not_modified.status, StatusCode::NOT_MODIFIED);
    assert!(not_modified.text.is_empty());
    assert_eq!(header(&not_modified, "x-indexed-block"), head);

    // A new block with a new open run: the next request sees it, and the old tag is no match.
    let deadline = chain.now() + 86_400;
    chain.mine();
    create(&mut chain, 900, POSTER_1, usdc(42), deadline);
    fund(&mut chain, 900, POSTER_1, usdc(42));
    chain.commit(&db.store).await;
    let moved = get_if_none_match(&app, uri, &etag).await;
    assert_eq!(moved.status, 200, "a 304 from the old head");
    assert_eq!(header(&moved, "x-cache"), "miss");
    assert_ne!(header(&moved, "etag"), etag);
    assert_eq!(header(&moved, "x-indexed-block"), chain.block.to_string());
    let ids = |r: &Reply| -> Vec<u64> {
        r.json["runs"].as_array().unwrap().iter().map(|r| r["bountyId"].as_u64().unwrap()).collect()
    };
    assert!(ids(&moved).contains(&900));
    let run = get(&app, "/api/runs/900").await;
    assert_eq!(run.status, 200);

    // A reorg back to the first head: the run is gone from the very next answers.
    let moved_tag = header(&moved, "etag").to_owned();
    db.store.rollback_to(CHAIN, &block(head.parse().unwrap())).await.unwrap();
    let back = get_if_none_match(&app, uri, &moved_tag).await;
    assert_eq!(back.status, 200, "a 304 from the orphaned head");
    assert!(!ids(&back).contains(&900));
    assert_eq!(back.text, first.text, "the same head gives the same answer");
    assert_eq!(get(&app, "/api/runs/900").await.status, 404);
    // Not-found answers are not cached: the run is found once the fork brings it back.
    chain.block = head.parse().unwrap();
    chain.mine();
    create(&mut chain, 900, POSTER_1, usdc(43), deadline);
    chain.commit(&db.store).await;
    let refound = get(&app, "/api/runs/900").await;
    assert_eq!((refound.status.as_u16(), refound.json["reward"].as_str()), (200, Some("43000000")));

    let metrics = get(&app, "/metrics").await.text;
    assert!(metric(&metrics, "runs_api_cache_hits_total") >= 1, "{metrics}");
    assert!(metric(&metrics, "runs_api_cache_misses_total") >= 3, "{metrics}");
    assert_eq!(metric(&metrics, "runs_api_cache_not_modified_total"), 1, "{metrics}");
    assert!(metric(&metrics, "runs_api_cache_bytes") > 0, "{metrics}");
}

async fn concurrent_requests_for_one_key_compute_it_once(db: &TestDb) {
    seed(&db.store).await;
    let app = db.app();
    let replies =
        futures::future::join_all((0..16).map(|_| get(&app, "/api/agents?limit=100"))).await;
    let misses = replies.iter().filter(|r| header(r, "x-cache") == "miss").count();
    assert_eq!(misses, 1, "{:?}", replies.iter().map(|r| header(r, "x-cache")).collect::<Vec<_>>());
    assert!(replies.iter().all(|r| r.status == 200 && r.text == replies[0].text));
}

async fn the_budget_evicts_the_least_recently_used(db: &TestDb) {
    seed(&db.store).await;
    let probe = db.app();
    let size = get(&probe, "/api/runs/1").await.text.len();
    // Room for about three run answers.
    let config = ApiConfig { cache_bytes: 3 * (size + 400), ..ApiConfig::new(CHAIN) };
    let app = db.app_with(config.clone(), ChainHead::default());
    let cache =
        async |id: u64| header(&get(&app, &format!("/api/runs/{id}")).await, "x-cache").to_owned();
    for id in 1..=3 {
        assert_eq!(cache(id).await, "miss");
    }
    // 1 is used again, so 2 is now the least recently used: the fourth answer evicts 2, not 1.
    assert_eq!(cache(1).await, "hit");
    assert_eq!(cache(4).await, "miss");
    assert_eq!(cache(1).await, "hit", "recently used: kept");
    assert_eq!(cache(3).await, "hit");
    assert_eq!(cache(2).await, "miss", "least recently used: evicted");
    let metrics = get(&app, "/metrics").await.text;
    assert!(metric(&metrics, "runs_api_cache_evictions_total") >= 2, "{metrics}");
    assert!(metric(&metrics, "runs_api_cache_bytes") as usize <= config.cache_bytes, "{metrics}");
}

async fn no_cache_answers_every_request_itself(db: &TestDb) {
    seed(&db.store).await;
    let app =
        db.app_with(ApiConfig { cache_bytes: 0, ..ApiConfig::new(CHAIN) }, ChainHead::default());
    let first = get(&app, "/api/runs?limit=5").await;
    assert_eq!(first.status, 200);
    assert!(first.headers.get("etag").is_none() && first.headers.get("x-cache").is_none());
    let again = get_if_none_match(&app, "/api/runs?limit=5", "*").await;
    assert_eq!((again.status.as_u16(), again.text.as_str()), (200, first.text.as_str()));
    assert!(!get(&app, "/metrics").await.text.contains("runs_api_cache_hits_total"));
}

async fn with_the_database_down_cached_routes_answer_503(db: &TestDb) {
    seed(&db.store).await;
    let app = db.app();
    db.store.close().await;
    let replies = futures::future::join_all((0..8).map(|_| get(&app, "/api/agents")));
    let replies = tokio::time::timeout(std::time::Duration::from_secs(20), replies)
        .await
        .expect("requests hung with the database down");
    assert!(
        replies.iter().all(|r| r.status == StatusCode::SERVICE_UNAVAILABLE),
        "{:?}",
        replies.iter().map(|r| r.status).collect::<Vec<_>>()
    );
}

/// A 304 only stands for a 200: with `If-None-Match: *` a bad request is still a 400 and a
/// missing run a 404; and answers that are not stored keep no slot, so a flood of distinct bad or
/// missing ids cannot grow the cache.
async fn conditions_never_hide_an_error_and_errors_take_no_room(db: &TestDb) {
    seed(&db.store).await;
    let app = db.app();
    assert_eq!(get_if_none_match(&app, "/api/runs?limit=abc", "*").await.status, 400);
    assert_eq!(get_if_none_match(&app, "/api/runs/999999", "*").await.status, 404);
    assert_eq!(get_if_none_match(&app, "/api/runs/1", "*").await.status, 304, "1 exists");
    for id in 0..50 {
        assert_eq!(get(&app, &format!("/api/runs/{}", 500_000 + id)).await.status, 404);
        assert_eq!(get(&app, &format!("/api/runs?limit=x{id}")).await.status, 400);
    }
    let metrics = get(&app, "/metrics").await.text;
    assert_eq!(metric(&metrics, "runs_api_cache_entries"), 1, "{metrics}");
}

/// An answer above the 1 MiB a stored answer may take is served whole, and not stored.
async fn a_huge_answer_is_served_and_not_stored(db: &TestDb) {
    let mut chain = seed(&db.store).await;
    let deadline = chain.now() + 86_400;
    chain.mine();
    for id in 700..760 {
        let spec = format!("ipfs://{}", "x".repeat(20_000));
        create_with_spec(&mut chain, id, POSTER_1, usdc(5), deadline, spec);
    }
    chain.commit(&db.store).await;
    let app = db.app();
    let uri = "/api/runs?state=DRAFT&limit=100";
    for _ in 0..2 {
        let reply = get(&app, uri).await;
        assert_eq!(reply.status, 200);
        assert!(reply.text.len() > 1024 * 1024, "{}", reply.text.len());
        assert_eq!(reply.json["runs"].as_array().unwrap().len(), 61, "the 60 and the seed's draft");
        assert!(reply.headers.get("etag").is_none(), "not stored, so no tag");
        assert_eq!(header(&reply, "x-indexed-block"), chain.block.to_string());
    }
}

backends!(
    a_huge_answer_is_served_and_not_stored,
    conditions_never_hide_an_error_and_errors_take_no_room,
    with_the_database_down_cached_routes_answer_503,
    repeats_come_from_memory_and_never_outlive_the_head,
    concurrent_requests_for_one_key_compute_it_once,
    the_budget_evicts_the_least_recently_used,
    no_cache_answers_every_request_itself,
);
