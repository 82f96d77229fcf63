//! `/api/events` and `/api/events/stream`: paging by position, filters, bad input, the
//! Server-Sent Events stream with `Last-Event-ID` resume, live items, and the stream cap.

use std::{collections::BTreeSet, time::Duration};

use axum::{
    Router,
    body::Body,
    http::{Request, StatusCode},
};
use futures::StreamExt;
use runs_api::{ApiConfig, ChainHead};
use serde_json::Value;
use tower::ServiceExt;

use crate::support::{
    App, CHAIN, POSTER_1, POSTER_2, TestDb, backends, block, claim, create, fund, get, seed, usdc,
};

/// The keys of every feed item.
const ITEM_FIELDS: [&str; 12] = [
    "seq",
    "type",
    "removed",
    "chainId",
    "blockNumber",
    "blockHash",
    "txHash",
    "logIndex",
    "timestamp",
    "runId",
    "agentId",
    "data",
];

/// Every item after `after` through `GET /api/events`, in pages of `limit`.
async fn page_all(app: &Router, query: &str, limit: u32) -> Vec<Value> {
    let mut items = Vec::new();
    let mut after = 0;
    loop {
        let r = get(app, &format!("/api/events?after={after}&limit={limit}{query}")).await;
        assert_eq!(r.status, 200, "{}", r.text);
        let page = r.json["events"].as_array().unwrap().clone();
        let next = r.json["nextAfter"].as_u64().unwrap();
        if page.is_empty() {
            assert_eq!(next, after, "an empty page keeps the position");
            return items;
        }
        assert_eq!(next, page.last().unwrap()["seq"].as_u64().unwrap());
        assert!(page.len() <= limit as usize);
        after = next;
        items.extend(page);
    }
}

async fn feed_pages_in_order_with_filters(db: &TestDb) {
    let chain = seed(&db.store).await;
    let app = db.app();
    let r = get(&app, "/api/events?limit=1").await;
    let keys: BTreeSet<&str> = r.json.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(keys, BTreeSet::from(["events", "nextAfter", "headSeq", "indexedBlock"]));
    assert_eq!(r.json["indexedBlock"], chain.block);

    let all = page_all(&app, "", 7).await;
    let stored =
        db.store.reader().await.unwrap().feed(CHAIN, 0, 10_000, &Default::default()).await.unwrap();
    assert_eq!(all.len(), stored.len());
    assert!(all.len() > 40, "{}", all.len());
    let seqs: Vec<u64> = all.iter().map(|e| e["seq"].as_u64().unwrap()).collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "{seqs:?}");
    assert_eq!(r.json["headSeq"], *seqs.last().unwrap());
    for item in &all {
        let keys: BTreeSet<&str> = item.as_object().unwrap().keys().map(String::as_str).collect();
        // `runId` / `agentId` are absent (never null) when the event is about no run / agent.
        let mut expected: BTreeSet<&str> = ITEM_FIELDS.into_iter().collect();
        for (key, about) in [("runId", "runId"), ("agentId", "agentId")] {
            if item["data"].get(about).is_none() {
                expected.remove(key);
            }
        }
        assert_eq!(keys, expected, "{item}");
        assert_eq!(item["removed"], false);
        assert_eq!(item["chainId"], CHAIN);
        assert!(item["blockHash"].as_str().unwrap().starts_with("0x"));
    }

    let typed = page_all(&app, "&type=Claimed,Approved", 100).await;
    assert!(!typed.is_empty());
    assert!(typed.iter().all(|e| e["type"] == "Claimed" || e["type"] == "Approved"));
    let want = all.iter().filter(|e| e["type"] == "Claimed" || e["type"] == "Approved").count();
    assert_eq!(typed.len(), want);

    let run = page_all(&app, "&runId=26", 100).await;
    assert!(run.len() >= 4 && run.iter().all(|e| e["runId"] == 26), "{run:?}");
    let agent = page_all(&app, "&agentId=1", 100).await;
    assert!(!agent.is_empty() && agent.iter().all(|e| e["agentId"] == 1));
    let poster = page_all(&app, &format!("&poster={POSTER_1}"), 100).await;
    let runs = get(&app, &format!("/api/runs?poster={POSTER_1}&limit=100")).await;
    let posted: BTreeSet<u64> = runs.json["runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["bountyId"].as_u64().unwrap())
        .collect();
    let want: Vec<&Value> =
        all.iter().filter(|e| e["runId"].as_u64().is_some_and(|id| posted.contains(&id))).collect();
    assert!(!want.is_empty());
    assert_eq!(poster.iter().collect::<Vec<_>>(), want);
}

async fn feed_rejects_bad_input(db: &TestDb) {
    seed(&db.store).await;
    let app = db.app();
    let many = vec!["Claimed"; 65].join(",");
    let cases = [
        ("/api/events?type=Nope".to_owned(), "type"),
        ("/api/events?type=Claimed,,".to_owned(), "type"),
        (format!("/api/events?type={many}"), "type"),
        ("/api/events?after=-1".to_owned(), "after"),
        ("/api/events?after=abc".to_owned(), "after"),
        ("/api/events?after=99999999999999999999".to_owned(), "after"),
        ("/api/events?limit=0".to_owned(), "limit"),
        ("/api/events?limit=101".to_owned(), "limit"),
        ("/api/events?runId=0".to_owned(), "runId"),
        ("/api/events?agentId=x".to_owned(), "agentId"),
        ("/api/events?poster=0x12".to_owned(), "poster"),
        ("/api/events/stream?type=Nope".to_owned(), "type"),
        ("/api/events/stream?after=abc".to_owned(), "after"),
    ];
    for (uri, parameter) in cases {
        let r = get(&app, &uri).await;
        assert_eq!(r.status, 400, "{uri}: {}", r.text);
        assert_eq!(r.code(), "INVALID_PARAMETER", "{uri}");
        assert!(r.message().contains(&format!("`{parameter}`")), "{uri}: {}", r.message());
    }
    let request = Request::get("/api/events/stream")
        .header("last-event-id", "x1")
        .body(Body::empty())
        .unwrap();
    let response = app.clone().oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
}

/// One parsed Server-Sent Event.
#[derive(Debug)]
struct Sse {
    id: u64,
    event: String,
    data: Value,
}

/// Reads events from an open stream until `n` arrived (comments skipped), within 10 s.
async fn read_events(
    body: &mut axum::body::BodyDataStream,
    buffer: &mut String,
    n: usize,
) -> Vec<Sse> {
    let mut events = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while events.len() < n {
        while let Some(end) = buffer.find("\n\n") {
            let frame: String = buffer.drain(..end + 2).collect();
            let (mut id, mut event, mut data) = (None, String::new(), String::new());
            for line in frame.lines() {
                if let Some(v) = line.strip_prefix("id:") {
                    id = v.trim().parse().ok();
                } else if let Some(v) = line.strip_prefix("event:") {
                    event = v.trim().to_owned();
                } else if let Some(v) = line.strip_prefix("data:") {
                    data.push_str(v.trim());
                }
            }
            if let Some(id) = id {
                events.push(Sse { id, event, data: serde_json::from_str(&data).unwrap() });
            }
        }
        if events.len() >= n {
            break;
        }
        let chunk = tokio::time::timeout_at(deadline, body.next())
            .await
            .unwrap_or_else(|_| panic!("only {} of {n} events arrived", events.len()))
            .expect("the stream ended")
            .unwrap();
        buffer.push_str(std::str::from_utf8(&chunk).unwrap());
    }
    events
}

async fn open(app: &Router, uri: &str, last_event_id: Option<u64>) -> axum::response::Response {
    let mut request = Request::get(uri);
    if let Some(id) = last_event_id {
        request = request.header("last-event-id", id.to_string());
    }
    app.clone().oneshot(request.body(Body::empty()).unwrap()).await.unwrap()
}

async fn stream_resumes_goes_live_and_is_capped(db: &TestDb) {
    let mut chain = seed(&db.store).await;
    let config = ApiConfig {
        max_streams: 1,
        stream_poll: Duration::from_millis(20),
        ..ApiConfig::new(CHAIN)
    };
    let app = db.app_with(config, ChainHead::default());
    let all = page_all(&app, "", 100).await;
    let seqs: Vec<u64> = all.iter().map(|e| e["seq"].as_u64().unwrap()).collect();

    let response = open(&app, "/api/events/stream", None).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    let mut body = response.into_body().into_data_stream();
    let mut buffer = String::new();
    let events = read_events(&mut body, &mut buffer, all.len()).await;
    assert_eq!(events.iter().map(|e| e.id).collect::<Vec<_>>(), seqs);
    for (event, item) in events.iter().zip(&all) {
        assert_eq!(event.event, item["type"].as_str().unwrap());
        assert_eq!(&event.data, item, "the data is the feed item");
    }

    // The cap: a second stream is refused while the first is open.
    let refused = open(&app, "/api/events/stream", None).await;
    assert_eq!(refused.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(refused.headers()["retry-after"], "5");

    // New events reach the open stream.
    let deadline = chain.now() + 86_400;
    create(&mut chain, 100, POSTER_1, usdc(10), deadline);
    fund(&mut chain, 100, POSTER_1, usdc(10));
    claim(&mut chain, 100, 4);
    chain.mine();
    chain.commit(&db.store).await;
    let live = read_events(&mut body, &mut buffer, 3).await;
    assert_eq!(
        live.iter().map(|e| e.event.as_str()).collect::<Vec<_>>(),
        ["RunCreated", "RunFunded", "Claimed"]
    );
    assert!(live[0].id > *seqs.last().unwrap());
    assert_eq!(live[2].data["runId"], 100);
    assert_eq!(live[2].data["agentId"], 4);
    drop(body);

    // The slot comes back once the first stream is gone; Last-Event-ID resumes after it.
    let resumed = loop {
        let response = open(&app, "/api/events/stream?after=0", Some(seqs[9])).await;
        if response.status() == 200 {
            break response;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let mut body = resumed.into_body().into_data_stream();
    let mut buffer = String::new();
    let rest = read_events(&mut body, &mut buffer, seqs.len() - 10 + 3).await;
    assert_eq!(rest[0].id, seqs[10], "resumes right after Last-Event-ID, over `after`");
    assert_eq!(rest.last().unwrap().id, live[2].id);

    // Filters apply to the stream too.
    drop(body);
    let filtered = loop {
        let response = open(&app, "/api/events/stream?type=Claimed&runId=100", None).await;
        if response.status() == 200 {
            break response;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let mut body = filtered.into_body().into_data_stream();
    let mut buffer = String::new();
    let only = read_events(&mut body, &mut buffer, 1).await;
    assert_eq!(only[0].id, live[2].id);
    assert_eq!(only[0].data["type"], "Claimed");
}

/// The events table's identities (`txHash:logIndex`).
async fn events_table(db: &TestDb) -> BTreeSet<String> {
    let sql = "SELECT tx_hash || ':' || CAST(log_index AS TEXT) FROM events";
    let rows: Vec<String> = match (db.store.pg_pool(), db.store.sqlite_pool()) {
        (Some(pool), _) => sqlx::query_scalar(sql).fetch_all(pool).await.unwrap(),
        (_, Some(pool)) => sqlx::query_scalar(sql).fetch_all(pool).await.unwrap(),
        _ => unreachable!(),
    };
    rows.into_iter().collect()
}

/// A consumer of the stream: applies each item (add; remove on a retraction) and remembers the
/// last position, to resume from after a disconnect.
#[derive(Default)]
struct Consumer {
    state: BTreeSet<String>,
    last: Option<u64>,
    consumed: usize,
}

impl Consumer {
    /// Connects (resuming after the last position), applies `n` items, disconnects.
    async fn session(&mut self, app: &Router, n: usize) {
        let response = loop {
            let response = open(app, "/api/events/stream", self.last).await;
            if response.status() == 200 {
                break response;
            }
            // The previous connection's slot is released once its producer notices.
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        let mut body = response.into_body().into_data_stream();
        let mut buffer = String::new();
        for event in read_events(&mut body, &mut buffer, n).await.into_iter().take(n) {
            let id =
                format!("{}:{}", event.data["txHash"].as_str().unwrap(), event.data["logIndex"]);
            if event.data["removed"] == true {
                assert!(self.state.remove(&id), "a retraction of an event never received: {id}");
            } else {
                assert!(self.state.insert(id.clone()), "an event received twice: {id}");
            }
            assert!(self.last.is_none_or(|last| event.id > last), "positions only grow");
            self.last = Some(event.id);
            self.consumed += 1;
        }
    }
}

async fn a_consumer_across_a_reorg_and_disconnects_ends_with_the_events_table(db: &TestDb) {
    let mut chain = seed(&db.store).await;
    let deadline = chain.now() + 86_400;
    for i in 0..5 {
        chain.mine();
        create(&mut chain, 200 + i, POSTER_1, usdc(5), deadline);
        fund(&mut chain, 200 + i, POSTER_1, usdc(5));
    }
    chain.mine();
    chain.commit(&db.store).await;
    let config = ApiConfig { stream_poll: Duration::from_millis(20), ..ApiConfig::new(CHAIN) };
    let app = db.app_with(config, ChainHead::default());

    let mut consumer = Consumer::default();
    consumer.session(&app, 10).await; // disconnect 1
    consumer.session(&app, 10).await; // disconnect 2

    // A reorg of depth 5 (the blocks above the ancestor replaced by a fork with other runs), as
    // the indexer commits one: roll back, then the fork's range.
    let ancestor = chain.block - 5;
    db.store.rollback_to(CHAIN, &block(ancestor)).await.unwrap();
    chain.block = ancestor;
    for i in 0..5 {
        chain.mine();
        create(&mut chain, 300 + i, POSTER_2, usdc(7), deadline);
    }
    chain.commit(&db.store).await;

    consumer.session(&app, 15).await; // disconnect 3
    let total = page_all(&app, "", 100).await.len();
    assert!(total > consumer.consumed, "items left after three sessions");
    let rest = total - consumer.consumed;
    consumer.session(&app, rest).await;
    assert_eq!(consumer.state, events_table(db).await);
    // The reorg is in what the consumer saw: the fork's runs, and the orphans retracted.
    let created = page_all(&app, "&type=RunCreated", 100).await;
    let live: BTreeSet<u64> = created
        .iter()
        .filter(|e| e["removed"] == false)
        .map(|e| e["runId"].as_u64().unwrap())
        .collect();
    assert!((300..305).all(|id| live.contains(&id)), "{live:?}");
    let retracted: BTreeSet<u64> = created
        .iter()
        .filter(|e| e["removed"] == true)
        .map(|e| e["runId"].as_u64().unwrap())
        .collect();
    // Runs 201..=204 were created in the four blocks above the ancestor (the fifth is empty).
    assert_eq!(retracted, (201..205).collect(), "the orphaned runs are retracted");
}

/// Streams with different filters stay open while events and a reorg are committed: each one
/// gets exactly its filtered feed, through the one broadcast of new items per process.
async fn open_streams_each_get_exactly_their_filtered_feed(db: &TestDb) {
    let mut chain = seed(&db.store).await;
    let config = ApiConfig { stream_poll: Duration::from_millis(20), ..ApiConfig::new(CHAIN) };
    let app = db.app_with(config, ChainHead::default());
    let poster_2 = format!("{POSTER_2:#x}");
    let queries = [
        String::new(),
        "type=RunCreated,Claimed".to_owned(),
        "runId=401".to_owned(),
        format!("poster={poster_2}"),
        "agentId=4".to_owned(),
        "type=Claimed&runId=400".to_owned(),
    ];
    let mut streams = Vec::new();
    for query in &queries {
        let response = open(&app, &format!("/api/events/stream?{query}"), None).await;
        assert_eq!(response.status(), 200);
        streams.push((response.into_body().into_data_stream(), String::new()));
    }
    // Live: new runs, claims, then a reorg of depth 2 replaced by a fork.
    let deadline = chain.now() + 86_400;
    for (i, poster) in [(400, POSTER_1), (401, POSTER_2), (402, POSTER_2)] {
        chain.mine();
        create(&mut chain, i, poster, usdc(5), deadline);
        fund(&mut chain, i, poster, usdc(5));
        chain.commit(&db.store).await;
    }
    chain.mine();
    claim(&mut chain, 400, 4);
    claim(&mut chain, 401, 4);
    chain.commit(&db.store).await;
    let ancestor = chain.block - 2;
    db.store.rollback_to(CHAIN, &block(ancestor)).await.unwrap();
    chain.block = ancestor;
    chain.mine();
    create(&mut chain, 403, POSTER_2, usdc(6), deadline);
    claim(&mut chain, 400, 4);
    chain.commit(&db.store).await;

    for (query, (body, buffer)) in queries.iter().zip(&mut streams) {
        let separator = if query.is_empty() { "" } else { "&" };
        let want: Vec<u64> = page_all(&app, &format!("{separator}{query}"), 100)
            .await
            .iter()
            .map(|e| e["seq"].as_u64().unwrap())
            .collect();
        assert!(want.len() > 1, "{query}: {want:?}");
        let got: Vec<u64> =
            read_events(body, buffer, want.len()).await.iter().map(|e| e.id).collect();
        assert_eq!(got, want, "{query}");
        // Nothing more (the next heartbeat is 15 s away).
        let more = tokio::time::timeout(Duration::from_millis(200), body.next()).await;
        assert!(more.is_err() && buffer.is_empty(), "{query}: more than its feed");
    }
}

backends!(
    open_streams_each_get_exactly_their_filtered_feed,
    feed_pages_in_order_with_filters,
    feed_rejects_bad_input,
    stream_resumes_goes_live_and_is_capped,
    a_consumer_across_a_reorg_and_disconnects_ends_with_the_events_table,
);
