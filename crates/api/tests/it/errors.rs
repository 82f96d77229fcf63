//! Bad input gets a 400 naming the parameter, unknown ids a 404, database trouble a 503 without
//! internals; nothing panics or answers 500.

use axum::{body::Body, http::Request};

use crate::support::*;

async fn bad_input_is_400_naming_the_parameter(db: &TestDb) {
    seed(&db.store).await;
    let app = db.app();
    let cases: &[(&str, &str)] = &[
        ("/api/runs/abc", "`id`"),
        ("/api/runs/0", "`id`"),
        ("/api/runs/-1", "`id`"),
        ("/api/runs/1.5", "`id`"),
        ("/api/runs/99999999999999999999", "`id`"),
        ("/api/runs/9223372036854775808", "`id`"),
        ("/api/runs?limit=0", "`limit`"),
        ("/api/runs?limit=101", "`limit`"),
        ("/api/runs?limit=1000000000", "`limit`"),
        ("/api/runs?limit=abc", "`limit`"),
        ("/api/runs?limit=", "`limit`"),
        ("/api/runs?page=0", "`page`"),
        ("/api/runs?page=-3", "`page`"),
        ("/api/runs?page=1000000001", "`page`"),
        ("/api/runs?state=FOO", "`state`"),
        ("/api/runs?minReward=-1", "`minReward`"),
        ("/api/runs?minReward=1.0000001", "`minReward`"),
        ("/api/runs?minReward=1e6", "`minReward`"),
        ("/api/runs?minReward=abc", "`minReward`"),
        ("/api/runs?maxReward=1.", "`maxReward`"),
        (
            "/api/runs?minReward=99999999999999999999999999999999999999999999999999999999999999999999999999999999",
            "`minReward`",
        ),
        ("/api/runs?poster=0x123", "`poster`"),
        ("/api/runs?poster=b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2", "`poster`"),
        ("/api/runs?poster=0xzzb2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2", "`poster`"),
        ("/api/runs?claimedBy=x", "`claimedBy`"),
        ("/api/runs?claimedBy=0", "`claimedBy`"),
        ("/api/runs?sort=price", "`sort`"),
        ("/api/runs?order=up", "`order`"),
        ("/api/runs?cursor=garbage", "`cursor`"),
        ("/api/runs?cursor=", "`cursor`"),
        ("/api/runs?limit=1&limit=2", "limit"),
        ("/api/agents?limit=0", "`limit`"),
        ("/api/agents?page=x", "`page`"),
        ("/api/agents/x", "`id`"),
        ("/api/agents/0/stake", "`id`"),
        ("/api/runs/x/claim-eligibility?agentId=1", "`id`"),
    ];
    for (uri, parameter) in cases {
        let r = get(&app, uri).await;
        assert_eq!(r.status, 400, "{uri}: {}", r.text);
        assert_eq!(r.code(), "INVALID_PARAMETER", "{uri}");
        assert!(r.message().contains(parameter), "{uri}: {}", r.message());
        let keys: Vec<&String> = r.json["error"].as_object().unwrap().keys().collect();
        assert_eq!(keys, ["code", "message"], "{uri}");
        assert!(r.headers.contains_key("x-indexed-block"), "{uri}");
    }
}

async fn bad_bodies(db: &TestDb) {
    seed(&db.store).await;
    let app = db.app();
    let cases: &[(&str, &str, &str)] = &[
        (
            r#"{"agentId": "one", "walletAddress": "0xa1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1"}"#,
            "INVALID_PARAMETER",
            "agentId",
        ),
        (
            r#"{"agentId": -1, "walletAddress": "0xa1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1"}"#,
            "INVALID_PARAMETER",
            "agentId",
        ),
        (
            r#"{"agentId": 1.5, "walletAddress": "0xa1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1"}"#,
            "INVALID_PARAMETER",
            "agentId",
        ),
        (
            r#"{"agentId": 0, "walletAddress": "0xa1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1"}"#,
            "INVALID_PARAMETER",
            "agentId",
        ),
        (
            r#"{"agentId": 18446744073709551615, "walletAddress": "0xa1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1"}"#,
            "INVALID_PARAMETER",
            "agentId",
        ),
        (
            r#"{"walletAddress": "0xa1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1"}"#,
            "INVALID_PARAMETER",
            "agentId",
        ),
        (r#"{"agentId": 1}"#, "INVALID_PARAMETER", "walletAddress"),
        (r#"{"agentId": 1, "walletAddress": "0x12"}"#, "INVALID_PARAMETER", "walletAddress"),
        (r#"{"agentId": 1, "walletAddress": 7}"#, "INVALID_PARAMETER", "walletAddress"),
        (r#"{"agentId": 1,"#, "INVALID_PARAMETER", "body"),
        (r#"[]"#, "INVALID_PARAMETER", "body"),
        ("", "INVALID_PARAMETER", "body"),
    ];
    for (body, code, parameter) in cases {
        let r = post_json(&app, "/api/runs/1/claim", body).await;
        assert_eq!((r.status.as_u16(), r.code()), (400, *code), "{body}: {}", r.text);
        assert!(r.message().contains(parameter), "{body}: {}", r.message());
    }
    // Not JSON at all.
    let req = Request::post("/api/runs/1/claim").body(Body::from("agentId=1")).unwrap();
    let r = send(&app, req).await;
    assert_eq!((r.status.as_u16(), r.code()), (400, "INVALID_PARAMETER"));
    assert!(r.message().contains("Content-Type"), "{}", r.message());
    // Oversized: rejected before it is parsed.
    let big = format!(r#"{{"agentId": 1, "walletAddress": "{}"}}"#, "a".repeat(64 * 1024));
    let r = post_json(&app, "/api/runs/1/claim", &big).await;
    assert_eq!((r.status.as_u16(), r.code()), (400, "BODY_TOO_LARGE"), "{}", r.text);
    assert!(r.message().contains("body"), "{}", r.message());
    // A bad id is reported before the body is read.
    let r = post_json(&app, "/api/runs/zz/claim", "{}").await;
    assert_eq!((r.status.as_u16(), r.code()), (400, "INVALID_PARAMETER"));
    assert!(r.message().contains("`id`"));
}

async fn unknown_ids_routes_and_methods(db: &TestDb) {
    seed(&db.store).await;
    let app = db.app();
    for uri in ["/api/runs/999", "/api/runs/9223372036854775807"] {
        let r = get(&app, uri).await;
        assert_eq!((r.status.as_u16(), r.code()), (404, "RUN_NOT_FOUND"), "{uri}");
    }
    let r = get(&app, "/api/nothing").await;
    assert_eq!((r.status.as_u16(), r.code()), (404, "NOT_FOUND"));
    let r = send(&app, Request::delete("/api/runs/1").body(Body::empty()).unwrap()).await;
    assert_eq!((r.status.as_u16(), r.code()), (405, "METHOD_NOT_ALLOWED"));
    let r = send(&app, Request::post("/api/runs").body(Body::empty()).unwrap()).await;
    assert_eq!(r.status, 405);
}

/// With the database gone every data endpoint answers 503 with a stable code and no internals;
/// liveness stays up.
async fn database_failure_is_503_without_internals(db: &TestDb) {
    seed(&db.store).await;
    let app = db.app();
    db.store.close().await;
    for uri in [
        "/api/runs",
        "/api/runs/1",
        "/api/agents",
        "/api/agents/1",
        "/api/agents/1/stake",
        "/api/runs/1/claim-eligibility?agentId=1",
    ] {
        let r = get(&app, uri).await;
        assert_eq!(
            (r.status.as_u16(), r.code()),
            (503, "SERVICE_UNAVAILABLE"),
            "{uri}: {}",
            r.text
        );
        let lower = r.text.to_lowercase();
        for leak in ["pool", "sqlx", "database error", "closed", "postgres", "sqlite"] {
            assert!(!lower.contains(leak), "{uri} leaks {leak}: {}", r.text);
        }
    }
    assert_eq!(get(&app, "/health").await.status, 200);
    let ready = get(&app, "/ready").await;
    assert_eq!(ready.status, 503);
    assert_eq!(ready.json["reason"], "database unavailable");
}

backends!(
    bad_input_is_400_naming_the_parameter,
    bad_bodies,
    unknown_ids_routes_and_methods,
    database_failure_is_503_without_internals,
);
