//! `runs index` killed with SIGKILL at random moments during a backfill of thousands of events:
//! after a restart the store equals a clean run (nothing lost, nothing duplicated), on Postgres
//! and on SQLite.

use std::{
    path::Path,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use alloy::providers::Provider;
use rand::{Rng, SeedableRng, rngs::StdRng};
use runs_db::Store;
use runs_indexer::{Indexer, IndexerConfig};
use runs_primitives::DeploymentManifest;
use runs_testkit::TestDatabase;

const POSTERS: [usize; 4] = [1, 2, 3, 4];
const BLOCKS: usize = 60;
const TXS_PER_BLOCK: usize = 25;

/// `BLOCKS` blocks of `TXS_PER_BLOCK` `createAndFund`s from four posters, an empty block after
/// each: `BLOCKS * TXS_PER_BLOCK * 2` events, fast.
async fn generate_events(anvil: &runs_testkit::AnvilInstance, manifest: &DeploymentManifest) {
    let posters: Vec<_> = POSTERS.iter().map(|&i| runs_testkit::address(anvil, i)).collect();
    let runs = (BLOCKS * TXS_PER_BLOCK) as u64;
    let provider = runs_testkit::read_provider(anvil);
    runs_testkit::create_and_fund_bulk(
        &provider,
        manifest,
        &posters,
        runs,
        (TXS_PER_BLOCK as u64, 1),
    )
    .await
    .expect("generating the events");
}

fn spawn_index(rpc: &str, deployments: &Path, database_url: &str, until: u64) -> Child {
    Command::new(env!("CARGO_BIN_EXE_runs"))
        .args(["index", "--rpc-url", rpc, "--database-url", database_url])
        .arg("--deployments")
        .arg(deployments)
        .args(["--start-range", "1", "--max-range", "2", "--poll-interval-ms", "50"])
        .args(["--until", &until.to_string()])
        .env("RUNS_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn runs index")
}

/// Starts `runs index` and SIGKILLs it at `kills` random moments of the backfill (once the
/// checkpoint passes a random block, plus a random few milliseconds, so that kills land both
/// between and inside commits); then lets one run finish. Returns how many kills landed before
/// the backfill was done.
async fn kill_and_restart(
    rng: &mut StdRng,
    kills: usize,
    rpc: &str,
    deployments: &Path,
    database_url: &str,
    chain_id: u64,
    head: u64,
) -> usize {
    let store = Store::connect(Some(database_url)).await.unwrap();
    store.migrate().await.unwrap();
    let mut targets: Vec<u64> = (0..kills).map(|_| rng.random_range(1..head)).collect();
    targets.sort_unstable();
    let mut mid_backfill = 0;
    for (round, target) in targets.into_iter().enumerate() {
        let mut child = spawn_index(rpc, deployments, database_url, head);
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            let checkpoint = store.checkpoint(chain_id).await.ok().flatten();
            if checkpoint.is_some_and(|c| c.number >= target) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        tokio::time::sleep(Duration::from_millis(rng.random_range(0..25))).await;
        child.kill().expect("SIGKILL");
        child.wait().unwrap();
        let checkpoint = store.checkpoint(chain_id).await.unwrap().map(|c| c.number);
        if checkpoint.is_some_and(|n| n < head) {
            mid_backfill += 1;
        }
        eprintln!("kill {round} (target {target}): checkpoint {checkpoint:?} of {head}");
    }
    let started = Instant::now();
    let status = spawn_index(rpc, deployments, database_url, head).wait().unwrap();
    assert!(status.success(), "the final run failed: {status}");
    eprintln!("final run: {:?}", started.elapsed());
    store.close().await;
    mid_backfill
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_during_backfill_loses_and_duplicates_nothing() {
    let seed = std::env::var("RUNS_TEST_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(0x9_u64);
    eprintln!("seed {seed} (set RUNS_TEST_SEED to replay)");
    let mut rng = StdRng::seed_from_u64(seed);
    let anvil = runs_testkit::spawn_anvil();
    let deployment = runs_testkit::deploy_fresh(&anvil).await;
    let manifest = &deployment.manifest;
    let started = Instant::now();
    generate_events(&anvil, manifest).await;
    eprintln!("generated events in {:?}", started.elapsed());
    let provider = runs_testkit::read_provider(&anvil);
    let head = provider.get_block_number().await.unwrap();
    let rpc = runs_testkit::rpc_url(&anvil);
    let dir = tempfile::tempdir().unwrap();
    let deployments = dir.path().join("deployments");
    manifest.save(DeploymentManifest::path_for(&deployments, manifest.chain_id)).unwrap();

    // The clean run, in process.
    let clean_db = TestDatabase::postgres("runs_cli_clean").await;
    let clean = Store::connect(Some(clean_db.url())).await.unwrap();
    clean.migrate().await.unwrap();
    Indexer::new(provider.clone(), clean.clone(), manifest, IndexerConfig::default())
        .run_until(head)
        .await
        .unwrap();
    let expected = clean.snapshot(manifest.chain_id).await.unwrap();
    let bulk_runs = BLOCKS * TXS_PER_BLOCK;
    assert!(expected.events.len() >= 2 * bulk_runs, "{} events", expected.events.len());
    assert_eq!(expected.runs.len(), bulk_runs);

    let pg = TestDatabase::postgres("runs_cli_killed").await;
    let sqlite_url = format!("sqlite://{}", dir.path().join("runs.db").display());
    for url in [pg.url(), sqlite_url.as_str()] {
        let landed =
            kill_and_restart(&mut rng, 10, &rpc, &deployments, url, manifest.chain_id, head).await;
        assert!(
            landed >= 5,
            "only {landed} of 10 kills landed mid-backfill: the backfill is too fast"
        );
        let store = Store::connect(Some(url)).await.unwrap();
        let got = store.snapshot(manifest.chain_id).await.unwrap();
        assert_eq!(got.events.len(), expected.events.len(), "{url}: event count");
        assert_eq!(got.runs.len(), expected.runs.len(), "{url}: run count");
        assert!(got == expected, "{url}: the killed-and-restarted store differs from a clean run");
        store.close().await;
    }
}
