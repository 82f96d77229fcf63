//! `runs`: the command line of the runs marketplace — deploy the contracts and act on them as a
//! poster or an agent. Results go to stdout (JSON with `--json`), logs and errors to stderr.

mod args;
mod chain;
mod cmd;
mod hints;
mod market;
mod mcp;
mod output;
mod signal;
mod web;

use clap::{Parser, Subcommand};
use tracing_subscriber::EnvFilter;

// The API allocates per request (rows, JSON); glibc's malloc was a tenth of the server's CPU
// under load (bench/api.sh), mimalloc a fraction of that.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The `runs` command line.
#[derive(Debug, Parser)]
#[command(name = "runs", version, about, long_about = None, arg_required_else_help = true)]
struct Cli {
    /// Log filter, in `tracing_subscriber::EnvFilter` syntax (e.g. `info,runs=debug`).
    #[arg(long, global = true, env = "RUNS_LOG", default_value = "warn")]
    log: String,

    #[command(subcommand)]
    command: Command,
}

/// The subcommands, one file each under `cmd/`.
#[derive(Debug, Subcommand)]
enum Command {
    /// Deploy StakeVault and RunEscrow (and MockUSDC on a dev chain) and write deployments/<chainId>.json.
    Deploy(cmd::deploy::DeployArgs),
    /// Act on runs as a poster (create, fund, approve, ...) or read one.
    #[command(subcommand)]
    Run(cmd::run::RunCommand),
    /// Act as an agent (register, stake, claim, submit, dispute, ...) or read one.
    #[command(subcommand)]
    Agent(cmd::agent::AgentCommand),
    /// Add evidence to an open rejection or a dispute (the run's poster or agent).
    Evidence(cmd::evidence::EvidenceArgs),
    /// Act as a run's arbitrator (resolve a dispute).
    #[command(subcommand)]
    Arbiter(cmd::arbiter::ArbiterCommand),
    /// Index every contract event into Postgres or SQLite, then follow the head (Ctrl-C stops).
    Index(cmd::index::IndexArgs),
    /// Serve the REST API over the indexed database (Ctrl-C stops).
    Serve(cmd::serve::ServeArgs),
    /// Manage the index database (`runs db migrate`).
    #[command(subcommand)]
    Db(cmd::db::DbCommand),
    /// Follow the market's events live from the API's stream (text, or --json lines; Ctrl-C stops).
    Watch(cmd::watch::WatchArgs),
    /// Manage webhook subscriptions: signed POSTs of the feed, delivered by `runs index`.
    Webhook(cmd::webhook::WebhookArgs),
    /// Serve the market as Model Context Protocol tools for AI agents (stdio, or --http).
    Mcp(cmd::mcp::McpArgs),
    /// Start anvil, deploy, seed agents and runs in every state, and run the indexer and the API together (Ctrl-C stops).
    Devnet(cmd::devnet::DevnetArgs),
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    // Errors are printed here, not by eyre's handler, so that a decoded revert reads
    // `error: RunEscrowInvalidState(...)` followed by a hint of what to do.
    match run().await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            output::print_error(&err);
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run() -> eyre::Result<()> {
    // A missing `.env` is normal; any other problem reading it is worth a warning once logging is up.
    let dotenv = dotenvy::dotenv();
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_new(&cli.log)?)
        .with_writer(std::io::stderr)
        .init();
    if let Err(err) = dotenv
        && !err.not_found()
    {
        tracing::warn!(%err, "could not read .env");
    }
    match cli.command {
        Command::Deploy(args) => args.run().await,
        Command::Run(command) => command.run().await,
        Command::Agent(command) => command.run().await,
        Command::Evidence(args) => args.run().await,
        Command::Arbiter(command) => command.run().await,
        Command::Index(args) => args.run().await,
        Command::Serve(args) => args.run().await,
        Command::Db(command) => command.run().await,
        Command::Devnet(args) => args.run().await,
        Command::Mcp(args) => args.run().await,
        Command::Watch(args) => args.run().await,
        Command::Webhook(args) => args.run().await,
    }
}
