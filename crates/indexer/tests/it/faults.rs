//! A flaky RPC (HTTP 500s, dropped connections, slow and timed-out answers, "too many results"
//! for wide `eth_getLogs` ranges) and a database that drops its connections: the indexer retries
//! through all of it and ends with the same store as a clean run.

use std::{
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::Duration,
};

use alloy::{
    primitives::U256,
    transports::http::reqwest::{self, Url},
};
use axum::{
    body::{Body, Bytes},
    extract::State,
    http::StatusCode,
    response::{IntoResponse, Response},
};
use rand::{Rng, SeedableRng, rngs::StdRng};
use sqlx::Connection;

use crate::common::{
    Backend, PG_ADMIN_URL, Running, TestDb, index_to_head, lifecycle, test_config, wait_synced,
};

/// What the proxy did, for asserting that faults really happened.
#[derive(Debug, Default, Clone, Copy)]
struct Injected {
    errors: u32,
    resets: u32,
    delays: u32,
    timeouts: u32,
    too_large: u32,
}

struct Proxy {
    upstream: Url,
    client: reqwest::Client,
    rng: Mutex<StdRng>,
    injected: Mutex<Injected>,
}

enum Fault {
    Error,
    Reset,
    Delay(Duration),
    Timeout,
    None,
}

async fn handle(State(proxy): State<Arc<Proxy>>, body: Bytes) -> Response {
    let request: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
    // Providers cap eth_getLogs: refuse spans over 20 blocks the way geth/Infura do.
    if request["method"] == "eth_getLogs" {
        let block = |key: &str| {
            request["params"][0][key]
                .as_str()
                .and_then(|hex| u64::from_str_radix(hex.trim_start_matches("0x"), 16).ok())
        };
        if let (Some(from), Some(to)) = (block("fromBlock"), block("toBlock"))
            && to.saturating_sub(from) > 20
        {
            proxy.injected.lock().unwrap().too_large += 1;
            let reply = serde_json::json!({
                "jsonrpc": "2.0",
                "id": request["id"],
                "error": {"code": -32005, "message": "query returned more than 10000 results"},
            });
            return axum::Json(reply).into_response();
        }
    }
    let fault = {
        let mut rng = proxy.rng.lock().unwrap();
        match rng.random_range(0..100) {
            0..15 => Fault::Error,
            15..23 => Fault::Reset,
            23..38 => Fault::Delay(Duration::from_millis(rng.random_range(10..200))),
            38..41 => Fault::Timeout,
            _ => Fault::None,
        }
    };
    {
        let mut injected = proxy.injected.lock().unwrap();
        match fault {
            Fault::Error => injected.errors += 1,
            Fault::Reset => injected.resets += 1,
            Fault::Delay(_) => injected.delays += 1,
            Fault::Timeout => injected.timeouts += 1,
            Fault::None => {}
        }
    }
    match fault {
        Fault::Error => {
            return (StatusCode::INTERNAL_SERVER_ERROR, "injected failure").into_response();
        }
        Fault::Reset => {
            // Headers go out, then the body fails: the client sees the connection cut mid-answer.
            let stream = futures::stream::once(async {
                Err::<Bytes, std::io::Error>(std::io::Error::new(
                    std::io::ErrorKind::ConnectionReset,
                    "injected reset",
                ))
            });
            return Response::new(Body::from_stream(stream));
        }
        // Longer than the indexer's request timeout.
        Fault::Timeout => tokio::time::sleep(Duration::from_millis(1_500)).await,
        Fault::Delay(delay) => tokio::time::sleep(delay).await,
        Fault::None => {}
    }
    let upstream = proxy
        .client
        .post(proxy.upstream.clone())
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await;
    match upstream {
        Ok(response) => {
            let status =
                StatusCode::from_u16(response.status().as_u16()).unwrap_or(StatusCode::BAD_GATEWAY);
            let bytes = response.bytes().await.unwrap_or_default();
            (status, [("content-type", "application/json")], bytes).into_response()
        }
        Err(err) => (StatusCode::BAD_GATEWAY, err.to_string()).into_response(),
    }
}

async fn spawn_proxy(upstream: Url, seed: u64) -> (Url, Arc<Proxy>) {
    let proxy = Arc::new(Proxy {
        upstream,
        client: reqwest::Client::new(),
        rng: Mutex::new(StdRng::seed_from_u64(seed)),
        injected: Mutex::default(),
    });
    let app = axum::Router::new().fallback(handle).with_state(proxy.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr: SocketAddr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{addr}").parse().unwrap(), proxy)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flaky_rpc_and_database_give_the_same_store_as_a_clean_run() {
    let anvil = runs_testkit::spawn_anvil();
    let deployment = runs_testkit::deploy_fresh(&anvil).await;
    let manifest = &deployment.manifest;
    lifecycle(&anvil, &deployment).await;
    let provider = runs_testkit::read_provider(&anvil);

    let (proxy_url, proxy) = spawn_proxy(anvil.endpoint_url(), 0x5eed).await;
    let flaky = runs_indexer::connect_http(proxy_url);
    let db = TestDb::new(Backend::Postgres).await;
    let config = runs_indexer::IndexerConfig {
        request_timeout: Duration::from_secs(1),
        start_range: 500,
        ..test_config()
    };
    let indexer = Running::spawn(flaky, db.store.clone(), manifest, config);

    // Meanwhile the database drops every connection of the indexer, a few times.
    let db_name = db.url().rsplit('/').next().unwrap().to_owned();
    let mut admin = sqlx::PgConnection::connect(PG_ADMIN_URL).await.unwrap();
    let mut terminated = 0i64;
    for _ in 0..4 {
        tokio::time::sleep(Duration::from_millis(400)).await;
        let killed: Vec<bool> = sqlx::query_scalar(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
        )
        .bind(&db_name)
        .fetch_all(&mut admin)
        .await
        .unwrap();
        terminated += killed.iter().filter(|k| **k).count() as i64;
    }
    // More activity while faults go on.
    let poster = crate::common::Actor::new(&anvil, manifest, 1);
    let deadline = crate::common::now(&provider).await + 30 * 86_400;
    for i in 0..5 {
        crate::send!(poster.escrow.createAndFund(
            format!("ipfs://late-{i}"),
            U256::from(1_000_000),
            U256::from(deadline),
            U256::ZERO,
            U256::ZERO,
            U256::ZERO
        ));
    }
    wait_synced(&db.store, &provider, manifest.chain_id, Duration::from_secs(120)).await;
    indexer.stop().await.expect("indexer");

    let injected = *proxy.injected.lock().unwrap();
    assert!(injected.errors > 0 && injected.resets > 0 && injected.delays > 0, "{injected:?}");
    assert!(injected.too_large > 0, "the range never had to shrink: {injected:?}");
    assert!(terminated > 0, "no database connection was dropped");

    let clean = TestDb::new(Backend::Postgres).await;
    let expected = index_to_head(&provider, &clean.store, manifest).await;
    assert_eq!(db.store.snapshot(manifest.chain_id).await.unwrap(), expected);
}
