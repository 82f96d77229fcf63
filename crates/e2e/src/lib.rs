//! The end-to-end harness: a fresh database ([`TestDb`], SQLite or Postgres), and a [`Stack`]
//! running the indexer and the REST API (on a real socket, 127.0.0.1 with a free port) over it for
//! a dev chain, with an HTTP client that polls until the API shows what the chain did
//! ([`Stack::wait_run`]).

use std::time::{Duration, Instant};

use alloy::{providers::Provider, transports::http::reqwest};
use runs_api::{ApiConfig, ApiState, ChainHead};
use runs_db::Store;
use runs_indexer::{Backoff, Indexer, IndexerConfig};
use runs_primitives::DeploymentManifest;
use runs_testkit::AnvilInstance;
use serde_json::Value;
use tokio::{sync::watch, task::JoinHandle};

/// How long the API may take to show a change made on chain.
pub const WAIT: Duration = Duration::from_secs(20);

pub use runs_testkit::{Backend, TestDb};

/// The indexer and the REST API running in this process for one chain, the API on a real
/// socket.
#[derive(Debug)]
pub struct Stack {
    /// The API's base URL (`http://127.0.0.1:PORT`).
    pub api: String,
    store: Store,
    chain_id: u64,
    http: reqwest::Client,
    stop: watch::Sender<bool>,
    indexer: JoinHandle<runs_indexer::Result<()>>,
    server: JoinHandle<std::io::Result<()>>,
}

impl Stack {
    /// Starts the indexer of `manifest`'s contracts on `anvil` into `store`, and the API over
    /// `store`.
    ///
    /// # Panics
    /// When the API cannot listen.
    pub async fn start(anvil: &AnvilInstance, manifest: &DeploymentManifest, store: Store) -> Self {
        let (stop, stopped) = watch::channel(false);
        let config = IndexerConfig {
            poll_interval: Duration::from_millis(50),
            request_timeout: Duration::from_secs(5),
            backoff: Backoff {
                initial: Duration::from_millis(20),
                max: Duration::from_millis(500),
            },
            ..IndexerConfig::default()
        };
        let provider = runs_indexer::connect_http(anvil.endpoint_url());
        let indexer = Indexer::new(provider, store.clone(), manifest, config);
        let indexer = tokio::spawn(indexer.run(wait_for_stop(stopped.clone())));

        let mut api_config = ApiConfig::new(manifest.chain_id);
        api_config.run_escrow = Some(manifest.contracts.run_escrow.address);
        let router =
            runs_api::router(ApiState::new(store.clone(), api_config, ChainHead::default()));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("listen");
        let api = format!("http://{}", listener.local_addr().unwrap());
        let server = tokio::spawn(runs_api::serve(listener, router, wait_for_stop(stopped)));
        Self {
            api,
            store,
            chain_id: manifest.chain_id,
            http: reqwest::Client::new(),
            stop,
            indexer,
            server,
        }
    }

    /// `GET path` (e.g. `/api/runs/1`): the status and the JSON body.
    ///
    /// # Panics
    /// When the request fails or the body is not JSON.
    pub async fn get(&self, path: &str) -> (u16, Value) {
        let url = format!("{}{path}", self.api);
        let response =
            self.http.get(&url).send().await.unwrap_or_else(|err| panic!("GET {url}: {err}"));
        let status = response.status().as_u16();
        let body = response.text().await.expect("body");
        let json = serde_json::from_str(&body)
            .unwrap_or_else(|err| panic!("GET {url}: not JSON ({err}): {body}"));
        (status, json)
    }

    /// Polls `GET path` until it answers 200 with a body that satisfies `done` (within [`WAIT`]).
    ///
    /// # Panics
    /// On timeout, with the last body.
    pub async fn wait_for(&self, path: &str, what: &str, done: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + WAIT;
        loop {
            let (status, body) = self.get(path).await;
            if status == 200 && done(&body) {
                return body;
            }
            assert!(
                Instant::now() < deadline,
                "GET {path} did not show {what} within {WAIT:?}; last answer {status}: {body:#}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Polls `GET /api/runs/{id}` until the run is in `state`; the run.
    pub async fn wait_run(&self, id: u64, state: &str) -> Value {
        self.wait_for(&format!("/api/runs/{id}"), state, |run| run["state"] == state).await
    }

    /// Waits until the index has reached the node's current head.
    ///
    /// # Panics
    /// On timeout.
    pub async fn wait_indexed(&self, anvil: &AnvilInstance) {
        let head = runs_testkit::read_provider(anvil).get_block_number().await.unwrap();
        let deadline = Instant::now() + WAIT;
        loop {
            if let Ok(Some(checkpoint)) = self.store.checkpoint(self.chain_id).await
                && checkpoint.number >= head
            {
                return;
            }
            assert!(Instant::now() < deadline, "the indexer did not reach block {head}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Stops the API (gracefully) and the indexer, and checks neither failed.
    ///
    /// # Panics
    /// When either failed or does not stop within [`WAIT`].
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        let server = tokio::time::timeout(WAIT, self.server).await.expect("the API stops");
        server.expect("API task").expect("API server");
        let indexer = tokio::time::timeout(WAIT, self.indexer).await.expect("the indexer stops");
        indexer.expect("indexer task").expect("indexer");
    }
}

async fn wait_for_stop(mut stopped: watch::Receiver<bool>) {
    let _ = stopped.wait_for(|stop| *stop).await;
}
