//! The web explorer: a few static files (one HTML shell, one script, one stylesheet), embedded in
//! the binary at compile time and served beside the REST API by `runs serve` and `runs devnet`.
//! The pages read everything from the API (`/api/...`) in the browser; this crate only serves
//! files, the chain's configuration the wallet actions need (`/explorer/config.json`), and the
//! decoding of a revert (`POST /explorer/revert`) with the CLI's hints, given by the caller.
//!
//! Every response carries a strict content-security-policy: scripts, styles and connections only
//! from this origin, no inline code, nothing framed.

use std::sync::Arc;

use alloy::{
    primitives::{Address, hex},
    sol_types::SolCall,
};
use axum::{
    Json, Router,
    extract::State,
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
    routing::{get, post},
};
use runs_bindings::{MockUSDC, RunEscrow, StakeVault};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// The page shell: every page route answers it; the script renders the page from the URL.
const INDEX_HTML: &str = include_str!("../assets/index.html");
/// The pages' script.
const APP_JS: &str = include_str!("../assets/app.js");
/// The pages' stylesheet.
const APP_CSS: &str = include_str!("../assets/app.css");

/// The content-security-policy of every response: this origin only, no inline script or style,
/// no plugins, no framing. A wallet extension's injected provider is not affected (it talks to
/// its own background page), but nothing on the page can call a third party.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'self'; \
     frame-ancestors 'none'";

/// The page routes (all answered with the shell).
pub const PAGES: &[&str] = &["/", "/runs", "/runs/{id}", "/agents/{id}", "/market"];

/// A revert decoded for people: the error with its fields and what to do about it.
#[derive(Debug, Clone, Serialize)]
pub struct DecodedError {
    /// e.g. `RunEscrowInvalidState(runId: 3, state: OPEN)`.
    pub error: String,
    /// e.g. `the run is OPEN; claim it first`.
    pub hint: Option<String>,
}

/// Decodes revert data (the caller's decoder: the CLI's, so the page shows the same hints).
pub type RevertDecoder = Arc<dyn Fn(&[u8]) -> Option<DecodedError> + Send + Sync>;

/// The marketplace's contracts on the served chain.
#[derive(Debug, Clone, Copy)]
pub struct Contracts {
    /// RunEscrow.
    pub run_escrow: Address,
    /// StakeVault.
    pub stake_vault: Address,
    /// The USDC token.
    pub usdc: Address,
}

/// What the explorer serves besides its files.
#[derive(Clone)]
pub struct ExplorerConfig {
    /// The chain the API serves.
    pub chain_id: u64,
    /// Its contracts, when the deployment manifest is known (else the pages are read-only).
    pub contracts: Option<Contracts>,
    /// The platform fee at deployment, in basis points: what a new run's approval adds to the
    /// reward (if the owner changed it since, the contract's revert says so).
    pub fee_bps: u16,
    /// The revert decoder.
    pub decode_revert: RevertDecoder,
}

impl std::fmt::Debug for ExplorerConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExplorerConfig")
            .field("chain_id", &self.chain_id)
            .field("contracts", &self.contracts)
            .field("fee_bps", &self.fee_bps)
            .finish_non_exhaustive()
    }
}

/// The explorer's routes: the pages, the assets, the config and the revert decoder. Merge it
/// with the API's router (it has no fallback of its own).
pub fn router(config: ExplorerConfig) -> Router {
    let config = Arc::new(Shared { json: config_json(&config), config });
    let mut router = Router::new();
    for page in PAGES {
        router =
            router.route(page, get(|| async { asset("text/html; charset=utf-8", INDEX_HTML) }));
    }
    router
        .route("/assets/app.js", get(|| async { asset("text/javascript; charset=utf-8", APP_JS) }))
        .route("/assets/app.css", get(|| async { asset("text/css; charset=utf-8", APP_CSS) }))
        .route("/explorer/config.json", get(config_handler))
        .route("/explorer/revert", post(revert_handler))
        .with_state(config)
}

struct Shared {
    config: ExplorerConfig,
    json: Value,
}

/// One embedded file, with the security headers. `no-cache`: the browser revalidates, so a new
/// binary's files are never mixed with an old page.
fn asset(content_type: &'static str, body: &'static str) -> Response {
    with_headers((StatusCode::OK, [(header::CONTENT_TYPE, content_type)], body).into_response())
}

fn with_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers
        .insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CONTENT_SECURITY_POLICY));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}

async fn config_handler(State(shared): State<Arc<Shared>>) -> Response {
    with_headers(Json(shared.json.clone()).into_response())
}

/// `POST /explorer/revert` with `{data: "0x..."}`.
#[derive(Debug, Deserialize)]
struct RevertRequest {
    data: String,
}

async fn revert_handler(
    State(shared): State<Arc<Shared>>,
    Json(request): Json<RevertRequest>,
) -> Response {
    let decoded =
        hex::decode(request.data.trim()).ok().and_then(|data| (shared.config.decode_revert)(&data));
    let body = match decoded {
        Some(decoded) => json!(decoded),
        None => {
            json!({ "error": format!("reverted with unknown data {}", request.data), "hint": null })
        }
    };
    with_headers(Json(body).into_response())
}

/// The calls the pages encode, by the generated bindings' selectors and signatures: the script
/// checks each signature against the argument types it encodes, so a changed contract fails
/// loudly instead of sending wrong calldata.
fn config_json(config: &ExplorerConfig) -> Value {
    fn call<C: SolCall>() -> Value {
        json!({ "selector": hex::encode_prefixed(C::SELECTOR), "signature": C::SIGNATURE })
    }
    let contracts = config.contracts.map(|c| {
        json!({
            "runEscrow": c.run_escrow.to_checksum(None),
            "stakeVault": c.stake_vault.to_checksum(None),
            "usdc": c.usdc.to_checksum(None),
        })
    });
    json!({
        "chainId": config.chain_id,
        "contracts": contracts,
        "feeBps": config.fee_bps,
        // What the live pages listen for on /api/events/stream (one listener per event type).
        "eventTypes": runs_bindings::event_names(),
        "calls": {
            "createAndFund": call::<RunEscrow::createAndFundCall>(),
            "approve": call::<RunEscrow::approveCall>(),
            "requestRevision": call::<RunEscrow::requestRevisionCall>(),
            "reject": call::<RunEscrow::rejectCall>(),
            "submit": call::<RunEscrow::submitCall>(),
            "cancel": call::<RunEscrow::cancelCall>(),
            "agentIdOf": call::<StakeVault::agentIdOfCall>(),
            "usdcApprove": call::<MockUSDC::approveCall>(),
        },
    })
}

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use tower::ServiceExt;

    use super::*;

    fn config() -> ExplorerConfig {
        ExplorerConfig {
            chain_id: 31337,
            contracts: None,
            fee_bps: 500,
            decode_revert: Arc::new(|data: &[u8]| {
                (data == [1, 2, 3, 4]).then(|| DecodedError { error: "E()".into(), hint: None })
            }),
        }
    }

    async fn get(path: &str) -> Response {
        let request = axum::http::Request::get(path).body(Body::empty()).unwrap();
        router(config()).oneshot(request).await.unwrap()
    }

    #[tokio::test]
    async fn every_page_is_the_shell_with_a_strict_policy() {
        for path in ["/", "/runs", "/runs/7", "/agents/2", "/market"] {
            let response = get(path).await;
            assert_eq!(response.status(), StatusCode::OK, "{path}");
            let headers = response.headers();
            assert_eq!(headers[header::CONTENT_SECURITY_POLICY], CONTENT_SECURITY_POLICY);
            assert_eq!(headers[header::CONTENT_TYPE], "text/html; charset=utf-8");
            let body = axum::body::to_bytes(response.into_body(), usize::MAX).await.unwrap();
            assert_eq!(body, INDEX_HTML.as_bytes());
        }
        assert!(
            !INDEX_HTML.contains("<script>") && !INDEX_HTML.contains("style="),
            "no inline code"
        );
        assert!(
            !INDEX_HTML.contains("http://") && !INDEX_HTML.contains("https://"),
            "no third party"
        );
    }

    #[tokio::test]
    async fn config_names_every_call_by_its_selector() {
        let response = get("/explorer/config.json").await;
        assert!(response.headers().contains_key(header::CONTENT_SECURITY_POLICY));
        let body = axum::body::to_bytes(response.into_body(), usize::MAX).await.unwrap();
        let json: Value = serde_json::from_slice(&body).unwrap();
        let approve = hex::encode_prefixed(RunEscrow::approveCall::SELECTOR);
        assert_eq!(json["calls"]["approve"]["selector"], approve);
        assert_eq!(json["calls"]["submit"]["signature"], "submit(uint256,string)");
        assert_eq!(json["calls"]["usdcApprove"]["signature"], "approve(address,uint256)");
        for (name, call) in json["calls"].as_object().unwrap() {
            let script_knows = APP_JS.contains(&format!("{name}: ["));
            assert!(script_knows, "app.js does not encode {name}");
            assert!(call["signature"].as_str().unwrap().contains('('), "{name}");
        }
    }

    #[tokio::test]
    async fn reverts_are_decoded_by_the_given_decoder() {
        let request = axum::http::Request::post("/explorer/revert")
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(r#"{"data":"0x01020304"}"#))
            .unwrap();
        let response = router(config()).oneshot(request).await.unwrap();
        let body = axum::body::to_bytes(response.into_body(), usize::MAX).await.unwrap();
        let json: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(json["error"], "E()");
    }
}
