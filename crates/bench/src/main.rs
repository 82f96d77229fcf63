//! `bench-indexer`: how fast the indexer backfills, beside the two raw speeds that bound it.
//!
//! On an Anvil given by `--rpc-url` (bench/indexer.sh starts one with a huge block gas limit),
//! deploys the marketplace, generates `--events` events (`createAndFund` transactions, each
//! emitting `RunCreated` and `RunFunded`, `--txs-per-block` per block, sent as JSON-RPC batches
//! with automine off), then measures over the same fixed block ranges of `--range` blocks:
//!
//! 1. **indexer**: [`Indexer::run_until`] into a fresh Postgres database — the real thing: head
//!    and header reads, `eth_getLogs`, decoding, `commit_range`, checkpoints;
//! 2. **raw eth_getLogs**: the same `eth_getLogs` queries and nothing else (no decoding, no DB);
//! 3. **raw bulk insert**: [`Store::commit_range`] of the same, already decoded batches into a
//!    fresh database (no RPC).
//!
//! Each measurement runs `--rounds` times (fresh databases each round) and the median is
//! reported. The indexer's result is checked against the bulk insert's (same snapshot). The
//! markdown report goes to stdout; logs go to stderr (`RUST_LOG`, default `warn`).
//!
//! A benchmark, not a test: it is not part of `script/test`.

use std::{collections::HashMap, time::Instant};

use alloy::{
    eips::BlockNumberOrTag,
    providers::{DynProvider, Provider},
    rpc::types::{Filter, Log},
    transports::http::reqwest::Url,
};
use clap::Parser;
use eyre::{WrapErr, ensure, eyre};
use futures::{StreamExt, TryStreamExt, stream};
use runs_db::{BlockRef, RangeCommit, Store};
use runs_indexer::{Contracts, Indexer, IndexerConfig, decode_log};
use runs_primitives::{ChainEvent, DeploymentManifest};
use runs_testkit::TestDatabase;
use tracing::info;

mod common;

use common::{Machine, machine};

const TARGET: &str = "runs::bench";

/// The indexer must reach this share of the slower raw speed.
const TARGET_RATIO: f64 = 0.80;

/// Reorg window given to the indexer and to the raw inserts (the indexer's default).
const KEEP_BLOCKS: u64 = 64;

/// Measure the indexer's backfill speed beside raw eth_getLogs and raw bulk inserts.
#[derive(Debug, Parser)]
#[command(name = "bench-indexer", version)]
struct Args {
    /// JSON-RPC URL of a fresh Anvil (its unlocked accounts send the transactions).
    #[arg(long, env = "RPC_URL")]
    rpc_url: Url,

    /// A Postgres database to connect to for creating (and dropping) the benchmark databases.
    #[arg(long, env = "BENCH_PG_URL", default_value = "postgres://postgres@127.0.0.1:5432/test")]
    pg_url: String,

    /// Events to generate (two per createAndFund).
    #[arg(long, default_value_t = 100_000)]
    events: u64,

    /// createAndFund transactions per block.
    #[arg(long, default_value_t = 250)]
    txs_per_block: u64,

    /// Empty blocks mined after each block of transactions: real chains spread a contract's
    /// events, and the last `64` blocks (the reorg window) are indexed block by block, so the
    /// chain must be long beside the window for the measurement to be about the backfill.
    #[arg(long, default_value_t = 9)]
    empty_blocks: u64,

    /// Blocks per eth_getLogs range (the indexer's start and max range, so all three
    /// measurements use the same ranges).
    #[arg(long, default_value_t = 200)]
    range: u64,

    /// Rounds of each measurement; the median is reported.
    #[arg(long, default_value_t = 3)]
    rounds: usize,
}

#[tokio::main]
async fn main() -> eyre::Result<()> {
    common::init_tracing();
    let args = Args::parse();
    ensure!(args.rounds > 0 && args.range > 0 && args.txs_per_block > 0, "nothing to measure");
    let started = Instant::now();
    let (provider, accounts, manifest) = common::deploy_market(&args.rpc_url).await?;
    let posters = &accounts[1..];
    let runs = args.events.div_ceil(2);
    runs_testkit::create_and_fund_bulk(
        &provider,
        &manifest,
        posters,
        runs,
        (args.txs_per_block, args.empty_blocks),
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
    // The indexer reads through this provider (rate-limit retries); so do the raw reads.
    let reader = runs_indexer::connect_http(args.rpc_url.clone());

    // Inputs of the raw insert, prepared once and untimed: logs, headers, decoded batches.
    let (logs, _) = get_logs(&reader, &contracts, &ranges).await?;
    let headers = headers(&reader, start, head).await?;
    let decode_started = Instant::now();
    let commits = prepare_commits(&logs, &ranges, &headers, &contracts, head)?;
    let decode_secs = decode_started.elapsed().as_secs_f64();
    let events: u64 = commits.iter().map(|c| c.events.len() as u64).sum();
    ensure!(
        events >= 2 * runs,
        "only {events} events decoded for {runs} createAndFund transactions: some reverted"
    );

    let mut rounds = Vec::new();
    for round in 1..=args.rounds {
        let (_, logs_secs) = get_logs(&reader, &contracts, &ranges).await?;
        let (insert_secs, inserted) =
            bulk_insert(&args.pg_url, manifest.chain_id, &commits).await?;
        let (index_secs, indexed) =
            index(&args.pg_url, &reader, &manifest, args.range, head).await?;
        if round == 1 {
            ensure!(inserted.events.len() as u64 == events, "bulk insert stored a different count");
            ensure!(
                indexed == inserted,
                "the indexer's store differs from the bulk insert of the same events"
            );
        }
        let r = Round { index_secs, logs_secs, insert_secs };
        info!(target: TARGET, round, index_secs, logs_secs, insert_secs, "round done");
        rounds.push(r);
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

/// Seconds of each measurement in one round.
#[derive(Debug, Clone, Copy)]
struct Round {
    index_secs: f64,
    logs_secs: f64,
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
    pg_url: &str,
    chain_id: u64,
    commits: &[RangeCommit],
) -> eyre::Result<(f64, runs_db::Snapshot)> {
    let db = TestDatabase::postgres_on(pg_url, "runs_bench_insert")
        .await
        .wrap_err_with(|| format!("cannot create a database through Postgres at {pg_url}"))?;
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

/// The real thing: a full backfill by the indexer into a fresh database.
async fn index(
    pg_url: &str,
    reader: &DynProvider,
    manifest: &DeploymentManifest,
    range: u64,
    head: u64,
) -> eyre::Result<(f64, runs_db::Snapshot)> {
    let db = TestDatabase::postgres_on(pg_url, "runs_bench_index")
        .await
        .wrap_err_with(|| format!("cannot create a database through Postgres at {pg_url}"))?;
    let store = Store::connect(Some(db.url())).await?;
    store.migrate().await?;
    let config = IndexerConfig { start_range: range, max_range: range, ..IndexerConfig::default() };
    let indexer = Indexer::new(reader.clone(), store.clone(), manifest, config);
    let started = Instant::now();
    indexer.run_until(head).await?;
    let secs = started.elapsed().as_secs_f64();
    let snapshot = store.snapshot(manifest.chain_id).await?;
    store.close().await;
    Ok((secs, snapshot))
}

/// The repository root (for compiling the contracts): the directory of `foundry.toml` above the
/// working directory, else the one this crate was built in.
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
    let index = median(r.rounds.iter().map(|x| x.index_secs).collect());
    let logs = median(r.rounds.iter().map(|x| x.logs_secs).collect());
    let insert = median(r.rounds.iter().map(|x| x.insert_secs).collect());
    let events = r.events as f64;
    let rate = |secs: f64| events / secs;
    let slower = rate(logs).min(rate(insert));
    let ratio = rate(index) / slower;
    let verdict = if ratio >= TARGET_RATIO { "PASS" } else { "FAIL" };
    let per_range = r.events / r.ranges.max(1) as u64;
    let m = r.machine;
    let mut out = String::new();
    let _ = writeln!(out, "## Indexer backfill benchmark\n");
    let _ = writeln!(
        out,
        "- {} events ({} `createAndFund`: `RunCreated` + `RunFunded`, plus the deployment's) in \
         {} blocks ({} transactions in a block, then {} empty blocks); {} `eth_getLogs` ranges \
         of {} blocks (~{} events each), the same ranges and batches in all three measurements",
        r.events,
        r.runs,
        r.blocks,
        r.args.txs_per_block,
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
    let _ = writeln!(out, "- median of {} rounds, fresh database each round\n", r.rounds.len());
    let _ = writeln!(out, "| measurement | events | seconds | events/s |");
    let _ = writeln!(out, "|---|---:|---:|---:|");
    for (name, secs) in [
        ("indexer: full backfill into Postgres (`Indexer::run_until`)", index),
        ("raw `eth_getLogs`, same ranges (no decoding, no DB)", logs),
        ("raw bulk insert, same batches (`Store::commit_range`, no RPC)", insert),
        ("(decoding alone: bindings → `ChainEvent`)", r.decode_secs),
    ] {
        let _ = writeln!(out, "| {name} | {} | {secs:.2} | {:.0} |", r.events, rate(secs));
    }
    let _ = writeln!(out);
    let _ = writeln!(out, "| ratio | value |");
    let _ = writeln!(out, "|---|---:|");
    let _ =
        writeln!(out, "| indexer / raw `eth_getLogs` | {:.0}% |", 100.0 * rate(index) / rate(logs));
    let _ =
        writeln!(out, "| indexer / raw bulk insert | {:.0}% |", 100.0 * rate(index) / rate(insert));
    let _ = writeln!(
        out,
        "| indexer / slower raw speed (target ≥ {:.0}%) | **{:.0}% {verdict}** |",
        100.0 * TARGET_RATIO,
        100.0 * ratio
    );
    let _ = writeln!(out, "\nRounds (seconds: indexer / getLogs / insert):");
    for (i, x) in r.rounds.iter().enumerate() {
        let _ = writeln!(
            out,
            "- {}: {:.2} / {:.2} / {:.2}",
            i + 1,
            x.index_secs,
            x.logs_secs,
            x.insert_secs
        );
    }
    out
}
