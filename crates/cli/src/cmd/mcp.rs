//! `runs mcp`: serve the market as Model Context Protocol tools, over stdio (what MCP clients
//! launch) or Streamable HTTP (`--http 127.0.0.1:PORT`, at `/mcp`). The tools are in
//! [`crate::mcp`].
//!
//! Reads go to the REST API (`--api-url`) rather than straight to a database: the API already
//! derives statuses, eligibility and history, it is what a remote agent can reach, and the server
//! then needs no database credentials. Writes sign with `PRIVATE_KEY` / `KEYSTORE` through the
//! same code as `runs run` / `runs agent`. The key is read once at start and never printed.

use std::{net::SocketAddr, sync::Arc};

use alloy::transports::http::reqwest::Url;
use eyre::WrapErr;
use rmcp::{
    ServiceExt,
    transport::{
        StreamableHttpServerConfig, StreamableHttpService, stdio,
        streamable_http_server::session::local::LocalSessionManager,
    },
};
use runs_primitives::Usdc;

use crate::{
    args::{ManifestArgs, RpcArgs, WalletArgs},
    chain::Chain,
    mcp::{ApiClient, Context, Limits, Market},
    signal::shutdown_signal,
};

/// Serve the marketplace as MCP tools for AI agents (stdio, or Streamable HTTP with --http).
#[derive(Debug, clap::Args)]
pub(crate) struct McpArgs {
    /// Serve Streamable HTTP on this address (at /mcp) instead of stdio.
    #[arg(long, env = "RUNS_MCP_HTTP", value_name = "ADDR")]
    http: Option<SocketAddr>,

    /// The runs REST API the read tools ask (`runs serve` / `runs devnet`).
    #[arg(long, env = "RUNS_API_URL", default_value = "http://127.0.0.1:3000", value_name = "URL")]
    api_url: Url,

    /// Offer only the read tools, even when a key is configured.
    #[arg(long, env = "RUNS_MCP_READ_ONLY")]
    read_only: bool,

    /// Refuse `create_run` with a reward above this (USDC), before signing anything.
    #[arg(long, env = "RUNS_MCP_MAX_REWARD", value_name = "USDC")]
    max_reward: Option<Usdc>,

    /// Refuse `stake` of more than this (USDC) in one call, before signing anything.
    #[arg(long, env = "RUNS_MCP_MAX_STAKE", value_name = "USDC")]
    max_stake: Option<Usdc>,

    #[command(flatten)]
    rpc: RpcArgs,

    #[command(flatten)]
    wallet: WalletArgs,

    #[command(flatten)]
    manifest: ManifestArgs,
}

impl McpArgs {
    pub(crate) async fn run(self) -> eyre::Result<()> {
        let reader = Chain::read_only(&self.rpc, &self.manifest).await?;
        // Without a key the write tools are still listed (unless --read-only) and answer with an
        // error saying how to configure one.
        let signer = if self.read_only || !self.wallet.is_configured() {
            None
        } else {
            Some(Chain::signing(&self.rpc, &self.wallet, &self.manifest).await?)
        };
        let context = Arc::new(Context {
            reader,
            signer,
            api: ApiClient::new(self.api_url.clone()),
            limits: Limits { max_reward: self.max_reward, max_stake: self.max_stake },
        });
        let read_only = self.read_only;
        match self.http {
            None => {
                tracing::info!(target: "runs::mcp", read_only, "serving MCP on stdio");
                let service = Market::new(context, read_only)
                    .serve(stdio())
                    .await
                    .wrap_err("starting the MCP server on stdio")?;
                service.waiting().await.wrap_err("the MCP server on stdio failed")?;
            }
            Some(addr) => {
                let service: StreamableHttpService<Market, LocalSessionManager> =
                    StreamableHttpService::new(
                        move || Ok(Market::new(Arc::clone(&context), read_only)),
                        Arc::default(),
                        StreamableHttpServerConfig::default(),
                    );
                let router = axum::Router::new().nest_service("/mcp", service);
                let listener = tokio::net::TcpListener::bind(addr)
                    .await
                    .wrap_err_with(|| format!("binding {addr}"))?;
                let local = listener.local_addr()?;
                // The one line on stdout: where to connect (the port may have been 0).
                println!("http://{local}/mcp");
                tracing::info!(target: "runs::mcp", %local, read_only, "serving MCP over HTTP");
                axum::serve(listener, router)
                    .with_graceful_shutdown(shutdown_signal())
                    .await
                    .wrap_err("the MCP HTTP server failed")?;
            }
        }
        Ok(())
    }
}
