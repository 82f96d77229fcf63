//! `bench-indexer`: how fast the indexer backfills, beside the raw speed of the node it reads.
//!
//! On an Anvil given by `--rpc-url` (bench/indexer.sh starts one with a huge block gas limit),
//! deploys the marketplace, generates `--events` events (runs created and funded, each emitting
//! `RunCreated` and `RunFunded`, `--runs-per-block` per block in one `BulkPoster.post`
//! transaction: see [`bulk`]), then measures over the same fixed block ranges of `--range` blocks:
//!
//! 1. **raw eth_getLogs**: the `eth_getLogs` queries and nothing else (no decoding, no DB): the
//!    floor the targets are measured against;
//! 2. **indexer**, for each backend: `runs index --until <head>` (the `--runs-bin` binary, a
//!    child process) into a fresh, migrated database — the real thing: head and header reads,
//!    `eth_getLogs`, decoding, commits, checkpoints, and the secondary indexes set aside and
//!    rebuilt. Its peak resident memory is read from `/proc` (`VmHWM`) while it runs;
//! 3. **raw insert**, for each backend: [`Store::commit_range`] of the same, already decoded
//!    batches into a fresh database (no RPC, indexes in place): the write path alone.
//!
//! Each measurement runs `--rounds` times (fresh databases each round); every round is shown and
//! the median reported. In the first round each indexer's result is checked against the raw
//! insert's (same snapshot). The markdown report goes to stdout; logs go to stderr (`RUST_LOG`,
//! default `warn`).
//!
//! A benchmark, not a test: it is not part of `script/test`.

use std::{
    collections::HashMap,
    path::{Path, PathBuf},
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use alloy::{
    eips::BlockNumberOrTag,
    providers::{DynProvider, Provider},
    rpc::types::{Filter, Log},
    transports::http::reqwest::Url,
};
use clap::{Parser, ValueEnum};
use eyre::{WrapErr, ensure, eyre};
use futures::{StreamExt, TryStreamExt, stream};
use runs_db::{BlockRef, RangeCommit, Snapshot, Store};
use runs_indexer::{Contracts, decode_log};
use runs_primitives::{ChainEvent, DeploymentManifest};
use runs_testkit::TestDatabase;
use tracing::info;

mod bulk;
mod common;

use common::{Machine, machine};

const TARGET: &str = "runs::bench";

/// Reorg window given to the raw inserts (the indexer's default).
const KEEP_BLOCKS: u64 = 64;

/// Measure the indexer's backfill speed beside raw eth_getLogs and raw bulk inserts.
#[derive(Debug, Parser)]
#[command(name = "bench-indexer", version)]
struct Args {
    /// JSON-RPC URL of a fresh Anvil (its unlocked accounts send the transactions).
    #[arg(long, env = "RPC_URL")]
    rpc_url: Url,

    /// The `runs` binary whose `runs index` is measured (bench/indexer.sh builds it in release).
    #[arg(long)]
    runs_bin: PathBuf,

    /// A Postgres database to connect to for creating (and dropping) the benchmark databases.
    #[arg(long, env = "BENCH_PG_URL", default_value = "postgres://postgres@127.0.0.1:5432/test")]
    pg_url: String,

    /// The backends to measure.
    #[arg(long = "backend", value_enum, default_values_t = [Backend::Postgres, Backend::Sqlite])]
    backends: Vec<Backend>,

    /// Events to generate (two per createAndFund).
    #[arg(long, default_value_t = 100_000)]
    events: u64,

    /// Runs created and funded per block (one `BulkPoster.post` transaction each).
    #[arg(long, default_value_t = 250)]
    runs_per_block: u64,

    /// Empty blocks mined after each block of transactions: real chains spread a contract's
    /// events, and the last `64` blocks (the reorg window) are indexed block by block, so the
    /// chain must be long beside the window for the measurement to be about the backfill.
    #[arg(long, default_value_t = 9)]
    empty_blocks: u64,

    /// Blocks per eth_getLogs range (the indexer's start and max range, so every measurement
    /// uses the same ranges).
    #[arg(long, default_value_t = 200)]
    range: u64,

    /// Rounds of each measurement; every round is shown, the median reported.
    #[arg(long, default_value_t = 3)]
    rounds: usize,

    /// Where to write the deployment manifest `runs index` reads (default: a temporary
    /// directory); keep it to index the same chain again, e.g. from an anvil `--dump-state`.
    #[arg(long, value_name = "DIR")]
    deployments: Option<PathBuf>,
}

/// A database the benchmark measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Backend {
    Postgres,
    Sqlite,
}

impl Backend {
    /// The share of the raw `eth_getLogs` rate the indexer must reach (issue 14).
    const fn target(self) -> f64 {
        match self {
            Self::Postgres => 0.5,
            Self::Sqlite => 0.3,
        }
    }

    const fn name(self) -> &'static str {
        match self {
            Self::Postgres => "Postgres",
            Self::Sqlite => "SQLite",
        }
    }

    async fn fresh(self, pg_url: &str, prefix: &str) -> eyre::Result<TestDatabase> {
        Ok(match self {
            Self::Postgres => {
                TestDatabase::postgres_on(pg_url, prefix).await.wrap_err_with(|| {
                    format!("cannot create a database through Postgres at {pg_url}")
                })?
            }
            Self::Sqlite => TestDatabase::sqlite(),
        })
    }
}

#[tokio::main]
async fn main() -> eyre::Result<()> {
    common::init_tracing();
    let args = Args::parse();
    ensure!(args.rounds > 0 && args.range > 0 && args.runs_per_block > 0, "nothing to measure");
    let started = Instant::now();
    let (provider, accounts, manifest) = common::deploy_market(&args.rpc_url).await?;
    let runs = args.events.div_ceil(2);
    bulk::post_runs(
        &provider,
        &manifest,
        &common::repo_root(),
        (accounts[0], accounts[1]),
        runs,
        (args.runs_per_block, args.empty_blocks),
    )
    .await?;
    let head = provider.get_block_number().await?;
    info!(target: TARGET, runs, head, secs = started.elapsed().as_secs(), "generated the events");

    let start = manifest.start_block();
    let ranges: Vec<(u64, u64)> = (start..=head)
        .step_by(usize::try_from(args.range)?)
        .map(|from| (from, from.saturating_add(args.range - 1).min(head)))
        .collect();
    let contracts = Contracts {
        run_escrow: manifest.contracts.run_escrow.address,
        stake_vault: manifest.contracts.stake_vault.address,
    };
    // The raw reads go through the indexer's provider (rate-limit retries).
    let reader = runs_indexer::connect_http(args.rpc_url.clone());
    let temporary = tempfile::tempdir()?;
    let deployments = args.deployments.clone().unwrap_or_else(|| temporary.path().to_owned());
    manifest.save(DeploymentManifest::path_for(&deployments, manifest.chain_id))?;

    // Inputs of the raw insert, prepared once and untimed: logs, headers, decoded batches.
    let (logs, _) = get_logs(&reader, &contracts, &ranges).await?;
    let headers = headers(&reader, start, head).await?;
    let decode_started = Instant::now();
    let commits = prepare_commits(&logs, &ranges, &headers, &contracts, head)?;
    let decode_secs = decode_started.elapsed().as_secs_f64();
    drop(logs);
    let events: u64 = commits.iter().map(|c| c.events.len() as u64).sum();
    ensure!(
        events >= 2 * runs,
        "only {events} events decoded for {runs} runs posted: some reverted"
    );

    let mut rounds = Vec::new();
    for round in 1..=args.rounds {
        let (_, logs_secs) = get_logs(&reader, &contracts, &ranges).await?;
        let mut backends = Vec::new();
        for &backend in &args.backends {
            let (insert_secs, inserted) =
                bulk_insert(backend, &args.pg_url, manifest.chain_id, &commits).await?;
            let indexed = index(backend, &args, &deployments, manifest.chain_id, head).await?;
            if round == 1 {
                ensure!(
                    inserted.events.len() as u64 == events,
                    "{}: the raw insert stored a different count",
                    backend.name()
                );
                ensure!(
                    indexed.snapshot == inserted,
                    "{}: the indexer's store differs from the raw insert of the same events",
                    backend.name()
                );
            }
            info!(
                target: TARGET,
                round,
                backend = backend.name(),
                index_secs = indexed.secs,
                rss_mib = indexed.peak_rss_kib / 1024,
                insert_secs,
                logs_secs,
                "measured"
            );
            backends.push(Measured {
                backend,
                index_secs: indexed.secs,
                peak_rss_kib: indexed.peak_rss_kib,
                insert_secs,
            });
        }
        rounds.push(Round { logs_secs, backends });
    }

    let machine = machine(&provider, &args.pg_url).await;
    print!(
        "{}",
        report(&Report {
            args: &args,
            events,
            runs,
            blocks: head - start + 1,
            ranges: ranges.len(),
            decode_secs,
            rounds: &rounds,
            machine: &machine
        })
    );
    Ok(())
}

/// One round: the raw read, then each backend's indexer and raw insert.
#[derive(Debug)]
struct Round {
    logs_secs: f64,
    backends: Vec<Measured>,
}

#[derive(Debug, Clone, Copy)]
struct Measured {
    backend: Backend,
    index_secs: f64,
    peak_rss_kib: u64,
    insert_secs: f64,
}

/// The raw read: one `eth_getLogs` per range, nothing else. Returns the logs and the seconds.
async fn get_logs(
    reader: &DynProvider,
    contracts: &Contracts,
    ranges: &[(u64, u64)],
) -> eyre::Result<(Vec<Vec<Log>>, f64)> {
    let started = Instant::now();
    let mut out = Vec::with_capacity(ranges.len());
    for &(from, to) in ranges {
        let filter = Filter::new().address(contracts.addresses()).from_block(from).to_block(to);
        out.push(reader.get_logs(&filter).await?);
    }
    Ok((out, started.elapsed().as_secs_f64()))
}

/// Every header of `[from, to]` (untimed set-up of the raw insert).
async fn headers(reader: &DynProvider, from: u64, to: u64) -> eyre::Result<HashMap<u64, BlockRef>> {
    stream::iter(from..=to)
        .map(|number| async move {
            let block = reader
                .get_block_by_number(BlockNumberOrTag::Number(number))
                .await?
                .ok_or_else(|| eyre!("block {number} missing"))?;
            let h = block.header;
            Ok::<_, eyre::Report>((
                number,
                BlockRef {
                    number,
                    hash: h.hash,
                    parent_hash: h.parent_hash,
                    timestamp: h.timestamp,
                },
            ))
        })
        .buffer_unordered(16)
        .try_collect()
        .await
}

/// The batches the indexer commits for these ranges: the decoded events, the range's end blocks
/// (every block near the head, as the indexer keeps them for the reorg window) and the
/// checkpoint.
fn prepare_commits(
    logs: &[Vec<Log>],
    ranges: &[(u64, u64)],
    headers: &HashMap<u64, BlockRef>,
    contracts: &Contracts,
    head: u64,
) -> eyre::Result<Vec<RangeCommit>> {
    let header = |n: u64| headers.get(&n).copied().ok_or_else(|| eyre!("no header {n}"));
    let mut commits = Vec::with_capacity(ranges.len());
    for (logs, &(from, to)) in logs.iter().zip(ranges) {
        let mut events: Vec<ChainEvent> = Vec::with_capacity(logs.len());
        for log in logs {
            let block = log.block_number.ok_or_else(|| eyre!("log without a block number"))?;
            let timestamp = match log.block_timestamp {
                Some(timestamp) => timestamp,
                None => header(block)?.timestamp,
            };
            events.extend(decode_log(log, contracts, timestamp)?);
        }
        let blocks = if to + KEEP_BLOCKS >= head {
            (from..=to).map(header).collect::<eyre::Result<_>>()?
        } else {
            vec![header(from)?, header(to)?]
        };
        commits.push(RangeCommit {
            events,
            blocks,
            checkpoint: header(to)?,
            keep_blocks: KEEP_BLOCKS,
        });
    }
    Ok(commits)
}

/// The raw write: `commit_range` of every batch into a fresh database. Returns the seconds and
/// what was stored.
async fn bulk_insert(
    backend: Backend,
    pg_url: &str,
    chain_id: u64,
    commits: &[RangeCommit],
) -> eyre::Result<(f64, Snapshot)> {
    let db = backend.fresh(pg_url, "runs_bench_insert").await?;
    let store = Store::connect(Some(db.url())).await?;
    store.migrate().await?;
    let started = Instant::now();
    for commit in commits {
        store.commit_range(chain_id, commit).await?;
    }
    let secs = started.elapsed().as_secs_f64();
    let snapshot = store.snapshot(chain_id).await?;
    store.close().await;
    Ok((secs, snapshot))
}

/// What one `runs index` backfill took.
struct Indexed {
    secs: f64,
    peak_rss_kib: u64,
    snapshot: Snapshot,
}

/// The real thing: `runs index --until <head>` into a fresh, migrated database, timed from
/// start to exit, its peak resident memory sampled from `/proc` while it runs.
async fn index(
    backend: Backend,
    args: &Args,
    deployments: &Path,
    chain_id: u64,
    head: u64,
) -> eyre::Result<Indexed> {
    let db = backend.fresh(&args.pg_url, "runs_bench_index").await?;
    let store = Store::connect(Some(db.url())).await?;
    store.migrate().await?;
    let range = args.range.to_string();
    let started = Instant::now();
    let mut child = Command::new(&args.runs_bin)
        .args(["index", "--rpc-url", args.rpc_url.as_str(), "--database-url", db.url()])
        .arg("--deployments")
        .arg(deployments)
        .args(["--start-range", &range, "--max-range", &range, "--no-webhooks"])
        .args(["--until", &head.to_string()])
        .env("RUNS_LOG", std::env::var("RUNS_LOG").unwrap_or_else(|_| "warn".into()))
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .wrap_err_with(|| format!("starting {}", args.runs_bin.display()))?;
    let mut peak_rss_kib = 0;
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        peak_rss_kib = peak_rss_kib.max(common::proc_status_kib(child.id(), "VmHWM").unwrap_or(0));
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    let secs = started.elapsed().as_secs_f64();
    ensure!(status.success(), "runs index failed: {status}");
    let snapshot = store.snapshot(chain_id).await?;
    ensure!(store.deferred_indexes().await? == 0, "runs index left indexes set aside");
    store.close().await;
    Ok(Indexed { secs, peak_rss_kib, snapshot })
}

struct Report<'a> {
    args: &'a Args,
    events: u64,
    runs: u64,
    blocks: u64,
    ranges: usize,
    decode_secs: f64,
    rounds: &'a [Round],
    machine: &'a Machine,
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    if values.len().is_multiple_of(2) { (values[mid - 1] + values[mid]) / 2.0 } else { values[mid] }
}

/// The markdown report. Floats only for timings and rates, never for amounts.
fn report(r: &Report<'_>) -> String {
    use std::fmt::Write as _;
    let events = r.events as f64;
    let logs = median(r.rounds.iter().map(|x| x.logs_secs).collect());
    let per_range = r.events / r.ranges.max(1) as u64;
    let m = r.machine;
    let mut out = String::new();
    let _ = writeln!(out, "## Indexer backfill benchmark\n");
    let _ = writeln!(
        out,
        "- {} events ({} runs created and funded: `RunCreated` + `RunFunded`, plus the \
         deployment's) in {} blocks ({} runs in a block, then {} empty blocks); {} `eth_getLogs` ranges \
         of {} blocks (~{} events each), the same ranges in every measurement",
        r.events,
        r.runs,
        r.blocks,
        r.args.runs_per_block,
        r.args.empty_blocks,
        r.ranges,
        r.args.range,
        per_range
    );
    let _ = writeln!(
        out,
        "- machine: {} ({} cores, shared by anvil, Postgres and the benchmark); node {}; \
         PostgreSQL {}",
        m.cpu, m.cores, m.node, m.postgres
    );
    let _ = writeln!(
        out,
        "- indexer: `runs index --until <head>` as a child process into a fresh database \
         (peak RSS = its `VmHWM`); raw insert: `Store::commit_range` of the decoded batches, no \
         RPC; median of {} rounds, fresh databases each round\n",
        r.rounds.len()
    );
    let _ = writeln!(out, "| measurement | seconds | events/s | × raw `eth_getLogs` | peak RSS |");
    let _ = writeln!(out, "|---|---:|---:|---:|---:|");
    let _ = writeln!(
        out,
        "| raw `eth_getLogs`, same ranges (no decoding, no DB) | {logs:.2} | {:.0} | 1.00 | |",
        events / logs
    );
    let mut verdicts = Vec::new();
    for (i, backend) in r.args.backends.iter().enumerate() {
        let pick =
            |f: fn(&Measured) -> f64| median(r.rounds.iter().map(|x| f(&x.backends[i])).collect());
        let index = pick(|m| m.index_secs);
        let insert = pick(|m| m.insert_secs);
        let rss = r.rounds.iter().map(|x| x.backends[i].peak_rss_kib).max().unwrap_or(0);
        let name = backend.name();
        let _ = writeln!(
            out,
            "| indexer into {name} | {index:.2} | {:.0} | **{:.2}** | {:.0} MiB |",
            events / index,
            logs / index,
            rss as f64 / 1024.0
        );
        let _ = writeln!(
            out,
            "| raw insert into {name} (`commit_range`, no RPC) | {insert:.2} | {:.0} | {:.2} | |",
            events / insert,
            logs / insert
        );
        let ratio = logs / index;
        let verdict = if ratio >= backend.target() { "met" } else { "not met" };
        verdicts.push(format!(
            "- {name}: indexer at {ratio:.2}× raw `eth_getLogs` (target ≥ {:.1}×): **{verdict}**",
            backend.target()
        ));
    }
    let _ = writeln!(
        out,
        "| (decoding alone: bindings → `ChainEvent`) | {:.2} | {:.0} | | |",
        r.decode_secs,
        events / r.decode_secs
    );
    let _ = writeln!(out);
    for verdict in verdicts {
        let _ = writeln!(out, "{verdict}");
    }
    let _ = writeln!(out, "\nRounds (seconds; peak RSS of `runs index`):");
    for (i, x) in r.rounds.iter().enumerate() {
        let each: Vec<String> = x
            .backends
            .iter()
            .map(|m| {
                format!(
                    "{} indexer {:.2} ({} MiB) / raw insert {:.2}",
                    m.backend.name(),
                    m.index_secs,
                    m.peak_rss_kib / 1024,
                    m.insert_secs
                )
            })
            .collect();
        let _ = writeln!(out, "- {}: getLogs {:.2}; {}", i + 1, x.logs_secs, each.join("; "));
    }
    out
}
