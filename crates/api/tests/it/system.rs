//! `/health`, `/ready`, `/metrics`, `/api/openapi.json`, the freshness header and CORS.

use axum::{body::Body, http::Request};
use runs_api::{ApiConfig, ChainHead};
use runs_primitives::{AgentStatus, RunState};

use crate::support::*;

async fn readiness_follows_the_lag(db: &TestDb) {
    let head = ChainHead::default();
    let config = ApiConfig { ready_max_lag: 5, ..ApiConfig::new(CHAIN) };
    let app = db.app_with(config, head.clone());
    let r = get(&app, "/ready").await;
    assert_eq!(r.status, 503);
    assert_eq!(r.json["reason"], "nothing indexed yet");
    assert_eq!(r.headers["x-indexed-block"], "0");

    let chain = seed(&db.store).await;
    // Head unknown (no RPC): ready once something is indexed.
    let r = get(&app, "/ready").await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["indexedBlock"], chain.block);
    assert!(r.json["chainHead"].is_null());

    head.set(chain.block + 5);
    let r = get(&app, "/ready").await;
    assert_eq!(r.status, 200);
    assert_eq!(
        (r.json["lag"].as_u64(), r.json["chainHead"].as_u64()),
        (Some(5), Some(chain.block + 5))
    );
    head.set(chain.block + 6);
    let r = get(&app, "/ready").await;
    assert_eq!(r.status, 503);
    assert_eq!(r.json["ready"], false);
    assert!(r.json["reason"].as_str().unwrap().contains("6 blocks behind"));

    let metrics = get(&app, "/metrics").await;
    assert!(metrics.text.contains(&format!("runs_indexed_block {}", chain.block)));
    assert!(metrics.text.contains("runs_indexer_lag_blocks 6"));
}

async fn metrics_count_requests_by_route(db: &TestDb) {
    seed(&db.store).await;
    let app = db.app();
    get(&app, "/api/runs/1").await;
    get(&app, "/api/runs/2").await;
    get(&app, "/api/runs/x").await;
    let r = get(&app, "/metrics").await;
    assert_eq!(r.status, 200);
    assert!(r.headers["content-type"].to_str().unwrap().starts_with("text/plain"));
    assert!(
        r.text.contains(
            r#"runs_http_requests_total{method="GET",route="/api/runs/{id}",status="200"} 2"#
        ),
        "{}",
        r.text
    );
    assert!(r.text.contains(
        r#"runs_http_requests_total{method="GET",route="/api/runs/{id}",status="400"} 1"#
    ));
    assert!(r.text.contains(
        r#"runs_http_request_duration_seconds_count{method="GET",route="/api/runs/{id}",status="200"} 2"#
    ));
    assert!(r.text.contains(r#"le="+Inf""#));
}

async fn health_openapi_header_and_cors(db: &TestDb) {
    let chain = seed(&db.store).await;
    let app = db.app();
    let r = get(&app, "/health").await;
    assert_eq!((r.status.as_u16(), r.json["status"].as_str()), (200, Some("ok")));
    assert_eq!(r.headers["x-indexed-block"], chain.block.to_string().as_str());

    let doc = get(&app, "/api/openapi.json").await;
    assert_eq!(doc.status, 200);
    assert!(doc.json["openapi"].as_str().unwrap().starts_with("3."));
    let paths = doc.json["paths"].as_object().unwrap();
    for path in [
        "/api/runs",
        "/api/runs/{id}",
        "/api/runs/{id}/claim-eligibility",
        "/api/runs/{id}/claim",
        "/api/agents",
        "/api/agents/{id}",
        "/api/agents/{id}/stake",
        "/health",
        "/ready",
        "/metrics",
        "/api/openapi.json",
    ] {
        assert!(paths.contains_key(path), "{path} missing from the OpenAPI document");
    }
    let run = &doc.json["components"]["schemas"]["Run"]["properties"];
    for field in ["bountyId", "posterAddress", "ipfsHash", "claimedByWallet", "deliverableHash"] {
        assert!(run.get(field).is_some(), "{field}");
    }
    // The state and status names are the contract enums' own, from runs_primitives.
    let schemas = &doc.json["components"]["schemas"];
    for (schema, names) in [
        ("RunState", RunState::ALL.iter().map(|s| s.as_str()).collect::<Vec<_>>()),
        ("AgentStatus", AgentStatus::ALL.iter().map(|s| s.as_str()).collect()),
    ] {
        assert_eq!(schemas[schema]["enum"], serde_json::json!(names), "{schema}");
    }
    assert_eq!(run["state"]["$ref"], "#/components/schemas/RunState");

    let preflight = Request::options("/api/runs")
        .header("origin", "https://dash.example")
        .header("access-control-request-method", "GET")
        .header("access-control-request-headers", "if-none-match")
        .body(Body::empty())
        .unwrap();
    let r = send(&app, preflight).await;
    assert_eq!(r.headers["access-control-allow-origin"], "*");
    assert!(r.headers["access-control-allow-headers"].to_str().unwrap().contains("if-none-match"));

    let strict = db.app_with(
        ApiConfig { cors_origins: vec!["https://dash.example".into()], ..ApiConfig::new(CHAIN) },
        ChainHead::default(),
    );
    let ok = send(
        &strict,
        Request::get("/api/runs")
            .header("origin", "https://dash.example")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(ok.headers["access-control-allow-origin"], "https://dash.example");
    // A page on that origin can read the freshness header and the ETag to revalidate with.
    let exposed = ok.headers["access-control-expose-headers"].to_str().unwrap().to_lowercase();
    assert!(exposed.contains("x-indexed-block") && exposed.contains("etag"), "{exposed}");
    let other = send(
        &strict,
        Request::get("/api/runs")
            .header("origin", "https://evil.example")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert!(!other.headers.contains_key("access-control-allow-origin"));
}

backends!(
    readiness_follows_the_lag,
    metrics_count_requests_by_route,
    health_openapi_header_and_cors
);
