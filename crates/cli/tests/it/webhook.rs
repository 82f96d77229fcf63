//! Webhooks end to end: `runs webhook` subscriptions delivered by `runs index` processes from a
//! real anvil and Postgres to an HTTP receiver in Python that verifies every delivery with the
//! README's own `verify` (Python's `hmac`). The receiver is down at first, then up; a worker is
//! SIGKILLed mid-delivery; two workers then deliver side by side; a reorg made with
//! `anvil_reorg` arrives as retractions; a `410` disables its subscription; `replay` sends the
//! history again. Each subscription ends with, deduplicated by `Runs-Event-Id`, exactly its
//! filtered feed, in order.

use std::{
    collections::BTreeSet,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use alloy::{
    providers::{Provider, ext::AnvilApi},
    rpc::types::anvil::ReorgOptions,
    transports::http::reqwest,
};
use runs_db::{
    Store,
    read::{FeedFilter, FeedItem},
};
use runs_primitives::{DeploymentManifest, Usdc};
use runs_seed::Actor;
use runs_testkit::TestDatabase;
use serde_json::{Value, json};

use crate::devnet::{python, python_script};

/// Kills a child process when the test ends, however it ends.
struct Guard(Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

struct Env {
    rpc: String,
    deployments: PathBuf,
    database_url: String,
    chain_id: u64,
}

impl Env {
    /// `runs webhook ARGS… --json`: its parsed stdout, or its stderr when it failed.
    fn webhook(&self, args: &[&str]) -> Result<Value, String> {
        let out = Command::new(env!("CARGO_BIN_EXE_runs"))
            .arg("webhook")
            .args(args)
            .args(["--json", "--database-url", &self.database_url])
            .args(["--chain-id", &self.chain_id.to_string()])
            .env("RUNS_LOG", "warn")
            .output()
            .expect("run runs webhook");
        if out.status.success() {
            Ok(serde_json::from_slice(&out.stdout).expect("JSON on stdout"))
        } else {
            Err(String::from_utf8_lossy(&out.stderr).into_owned())
        }
    }

    /// `runs index` following the head, with its webhook worker tuned for a test.
    fn index(&self) -> Guard {
        let child = Command::new(env!("CARGO_BIN_EXE_runs"))
            .args(["index", "--rpc-url", &self.rpc, "--database-url", &self.database_url])
            .arg("--deployments")
            .arg(&self.deployments)
            .args(["--poll-interval-ms", "50", "--webhook-poll-ms", "50"])
            .args(["--webhook-timeout-ms", "1000", "--webhook-retry-base-ms", "100"])
            // The failed deliveries this test provokes are logged as warnings.
            .env("RUNS_LOG", "error")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn runs index");
        Guard(child)
    }

    fn subscription(&self, id: u64) -> Value {
        let list = self.webhook(&["list"]).unwrap();
        list.as_array().unwrap().iter().find(|w| w["id"] == id).cloned().expect("listed")
    }
}

/// The receiver's log: one JSON object per request.
fn received(log: &Path) -> Vec<Value> {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

fn on_path<'a>(log: &'a [Value], path: &str) -> Vec<&'a Value> {
    log.iter().filter(|r| r["path"] == path).collect()
}

/// The seq of a logged delivery, checked against its `Runs-Event-Id`.
fn seq(record: &Value, chain_id: u64) -> u64 {
    let body: Value = serde_json::from_str(record["body"].as_str().unwrap()).unwrap();
    let seq = body["seq"].as_u64().unwrap();
    assert_eq!(record["headers"]["Runs-Event-Id"], format!("{chain_id}:{seq}"));
    assert_eq!(body["chainId"], chain_id);
    seq
}

/// Every seq, deduplicated by `Runs-Event-Id` in arrival order.
fn dedup(records: &[&Value], chain_id: u64) -> Vec<u64> {
    let mut seen = BTreeSet::new();
    records.iter().map(|r| seq(r, chain_id)).filter(|s| seen.insert(*s)).collect()
}

async fn feed(store: &Store, chain_id: u64, filter: &FeedFilter) -> Vec<FeedItem> {
    let mut reader = store.reader().await.unwrap();
    let mut items = Vec::new();
    loop {
        let after = items.last().map_or(0, |i: &FeedItem| i.seq);
        let page = reader.feed(chain_id, after, 100, filter).await.unwrap();
        if page.is_empty() {
            return items;
        }
        items.extend(page);
    }
}

async fn wait_for(what: &str, within: Duration, mut done: impl AsyncFnMut() -> bool) {
    let deadline = Instant::now() + within;
    while !done().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Waits until `path` has received (deduplicated, in order) exactly `filter`'s feed.
async fn wait_delivered(store: &Store, env: &Env, log: &Path, path: &str, filter: &FeedFilter) {
    let mut last = (Vec::new(), Vec::new());
    let waited = async {
        wait_for(path, Duration::from_secs(60), async || {
            let expected: Vec<u64> =
                feed(store, env.chain_id, filter).await.iter().map(|i| i.seq).collect();
            let got = dedup(&on_path(&received(log), path), env.chain_id);
            let done = !expected.is_empty() && got == expected;
            last = (expected, got);
            done
        })
        .await;
    };
    if tokio::time::timeout(Duration::from_secs(61), waited).await.is_err() {
        panic!("{path}: expected {:?}, got {:?}", last.0, last.1);
    }
}

async fn post_config(port: u16, config: Value) {
    let url = format!("http://127.0.0.1:{port}/_config");
    let status = reqwest::Client::new().post(url).json(&config).send().await.unwrap().status();
    assert_eq!(status, 204);
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Runs the README's Node `verify` over `deliveries` ([secret, headers, body]); how many pass.
fn node_verifies(deliveries: &Value) -> usize {
    let readme = std::fs::read_to_string(runs_testkit::repo_root().join("README.md")).unwrap();
    let start = readme.find("<!-- webhook-verify-node -->\n```js\n").expect("README Node block");
    let code = &readme[start..].split_once("```js\n").unwrap().1;
    let code = &code[..code.find("```").unwrap()];
    let script = format!(
        "{code}\nconst cases = JSON.parse(require('node:fs').readFileSync(0, 'utf8'));\n\
         let ok = 0;\n\
         for (const [secret, headers, body] of cases) {{\n\
           const lower = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));\n\
           if (verify(secret, lower, Buffer.from(body))) ok++;\n\
           if (verify(secret, lower, Buffer.from(body + ' '))) throw new Error('tampered body accepted');\n\
         }}\n\
         console.log(ok);"
    );
    let mut child = Command::new("node")
        .args(["-e", &script])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("node");
    use std::io::Write;
    child.stdin.take().unwrap().write_all(deliveries.to_string().as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "node failed");
    String::from_utf8(out.stdout).unwrap().trim().parse().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhooks_deliver_the_feed_signed_in_order_through_outages_kills_and_reorgs() {
    let anvil = runs_testkit::spawn_anvil();
    let deployment = runs_testkit::deploy_fresh(&anvil).await;
    let manifest = &deployment.manifest;
    let dir = tempfile::tempdir().unwrap();
    let deployments = dir.path().join("deployments");
    manifest.save(DeploymentManifest::path_for(&deployments, manifest.chain_id)).unwrap();
    let db = TestDatabase::postgres("runs_cli_webhooks").await;
    let env = Env {
        rpc: runs_testkit::rpc_url(&anvil),
        deployments,
        database_url: db.url().to_owned(),
        chain_id: manifest.chain_id,
    };
    let store = Store::connect(Some(db.url())).await.unwrap();
    store.migrate().await.unwrap();
    let poster = Actor::new(env.rpc.parse().unwrap(), manifest, runs_testkit::signer(&anvil, 1));
    poster.approve_all().await.unwrap();
    let deadline = runs_seed::chain_time(poster.provider()).await.unwrap() + 90 * 86_400;
    let mut created = 0;
    let mut create = async |n: usize| {
        for _ in 0..n {
            created += 1;
            let spec = format!("ipfs://webhook-{created}");
            poster.create_and_fund(&spec, Usdc::whole(5), deadline, 1).await.unwrap();
        }
    };

    // A private destination is refused without --allow-private.
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let refused = env.webhook(&["add", &format!("{base}/all")]).unwrap_err();
    assert!(refused.contains("is a private address (127.0.0.1)"), "{refused}");
    assert!(env.webhook(&["list"]).unwrap().as_array().unwrap().is_empty());
    let bad = env.webhook(&["add", &format!("{base}/x"), "--events", "Nope", "--allow-private"]);
    assert!(bad.unwrap_err().contains("unknown event type \"Nope\""));

    // Three subscriptions from the feed's beginning: everything, RunCreated only, and one whose
    // receiver answers 410.
    let add = |path: &str, extra: &[&str]| {
        let url = format!("{base}{path}");
        let mut args = vec!["add", url.as_str(), "--allow-private", "--after", "0"];
        args.extend_from_slice(extra);
        env.webhook(&args).unwrap()
    };
    let all = add("/all", &[]);
    let created_only = add("/created", &["--events", "RunCreated"]);
    let gone = add("/gone", &[]);
    let id = |w: &Value| w["id"].as_u64().unwrap();
    let secret = |w: &Value| w["secret"].as_str().unwrap().to_owned();
    assert!(secret(&all).starts_with("whsec_"));
    assert_eq!(created_only["filter"]["types"], json!(["RunCreated"]));
    assert!(env.subscription(id(&all)).get("secret").is_none(), "the secret is shown only once");

    // Events while the receiver is down: retried, shown failing, nothing lost.
    create(3).await;
    let mut index = env.index();
    wait_for("failed attempts", Duration::from_secs(30), async || {
        env.subscription(id(&all))["attempts"].as_u64().unwrap() >= 2
    })
    .await;
    let listed = env.subscription(id(&all));
    assert_eq!(
        (listed["status"].as_str(), listed["failing"].as_bool()),
        (Some("active"), Some(true))
    );
    let attempts = env.webhook(&["deliveries", &id(&all).to_string()]).unwrap();
    let first = &attempts.as_array().unwrap()[0];
    assert_eq!(first["outcome"], "failed");
    assert!(
        first["statusCode"].is_null() && first["error"].as_str().unwrap().contains("onnect"),
        "{first}"
    );

    let log = dir.path().join("received.jsonl");
    let readme = runs_testkit::repo_root().join("README.md");
    let secrets =
        json!({ "/all": secret(&all), "/created": secret(&created_only), "/gone": secret(&gone) });
    let config = json!({ "secrets": secrets, "modes": { "/gone": "gone" } });
    let _receiver = Guard(
        Command::new(python())
            .arg(python_script("webhook_receiver.py"))
            .arg(port.to_string())
            .arg(&log)
            .arg(&readme)
            .arg(config.to_string())
            .stdout(Stdio::null())
            .spawn()
            .expect("start the receiver"),
    );
    let everything = FeedFilter::default();
    let runs_created = FeedFilter { kinds: vec!["RunCreated".into()], ..FeedFilter::default() };
    wait_delivered(&store, &env, &log, "/all", &everything).await;
    wait_delivered(&store, &env, &log, "/created", &runs_created).await;

    // SIGKILL while a delivery is in flight: the item is delivered again, nothing is lost.
    post_config(port, json!({ "modes": { "/all": "slow:3" } })).await;
    let before = on_path(&received(&log), "/all").len();
    create(2).await;
    wait_for("a delivery in flight", Duration::from_secs(30), async || {
        on_path(&received(&log), "/all").len() > before
    })
    .await;
    index.0.kill().unwrap();
    index.0.wait().unwrap();
    post_config(port, json!({ "modes": { "/all": "ok" } })).await;
    // Two workers from now on: they share the subscriptions without delivering one twice.
    let _restarted = env.index();
    let _second = env.index();
    create(2).await;
    wait_delivered(&store, &env, &log, "/all", &everything).await;
    wait_delivered(&store, &env, &log, "/created", &runs_created).await;

    // A reorg that drops the last two blocks arrives as retractions.
    let provider = runs_testkit::read_provider(&anvil);
    let head = provider.get_block_number().await.unwrap();
    provider.anvil_reorg(ReorgOptions { depth: 2, tx_block_pairs: Vec::new() }).await.unwrap();
    provider.evm_mine(None).await.unwrap();
    wait_for("the retractions", Duration::from_secs(30), async || {
        feed(&store, env.chain_id, &everything).await.iter().any(|i| i.removed)
    })
    .await;
    wait_delivered(&store, &env, &log, "/all", &everything).await;
    wait_delivered(&store, &env, &log, "/created", &runs_created).await;

    let log_now = received(&log);
    let all_records = on_path(&log_now, "/all");
    // In order: the seqs only grow, except an item sent again after the kill.
    let seqs: Vec<u64> = all_records.iter().map(|r| seq(r, env.chain_id)).collect();
    assert!(seqs.windows(2).all(|w| w[0] <= w[1]), "out of order: {seqs:?}");
    let repeats = seqs.windows(2).filter(|w| w[0] == w[1]).count();
    assert!(repeats <= 1, "more than the killed delivery was repeated: {seqs:?}");
    // The retractions: the removed events, with the identity they were added under.
    let bodies: Vec<Value> = all_records
        .iter()
        .map(|r| serde_json::from_str(r["body"].as_str().unwrap()).unwrap())
        .collect();
    let retracted: Vec<&Value> = bodies.iter().filter(|b| b["removed"] == true).collect();
    assert!(!retracted.is_empty());
    for r in &retracted {
        assert!(r["blockNumber"].as_u64().unwrap() > head - 2, "{r}");
        let added = bodies.iter().find(|b| {
            b["removed"] == false && b["txHash"] == r["txHash"] && b["logIndex"] == r["logIndex"]
        });
        assert_eq!(added.map(|a| &a["data"]), Some(&r["data"]), "retraction without its event");
    }
    // Every delivery verified with the README's Python verify; none would pass 5 minutes later.
    assert!(log_now.iter().all(|r| r["verified"] == true), "unverified deliveries");
    assert!(log_now.iter().all(|r| r["staleAccepted"] == false));
    // ... and with the README's Node verify.
    let cases: Vec<Value> =
        all_records.iter().map(|r| json!([secret(&all), r["headers"], r["body"]])).collect();
    assert_eq!(node_verifies(&Value::Array(cases.clone())), cases.len());

    // 410 disabled its subscription after the first delivery.
    assert_eq!(on_path(&log_now, "/gone").len(), 1);
    assert_eq!(env.subscription(id(&gone))["status"], "disabled");

    // Replay sends the whole history again, in order.
    let count = all_records.len();
    env.webhook(&["replay", &id(&all).to_string(), "--from", "1"]).unwrap();
    let total = feed(&store, env.chain_id, &everything).await.len();
    wait_for("the replay", Duration::from_secs(60), async || {
        on_path(&received(&log), "/all").len() >= count + total
    })
    .await;
    let replayed: Vec<u64> =
        on_path(&received(&log), "/all")[count..].iter().map(|r| seq(r, env.chain_id)).collect();
    let expected: Vec<u64> =
        feed(&store, env.chain_id, &everything).await.iter().map(|i| i.seq).collect();
    assert_eq!(
        dedup(&on_path(&received(&log), "/all")[count..], env.chain_id),
        expected,
        "{replayed:?}"
    );

    // Removed: gone from the list.
    env.webhook(&["remove", &id(&created_only).to_string()]).unwrap();
    let left: Vec<u64> =
        env.webhook(&["list"]).unwrap().as_array().unwrap().iter().map(id).collect();
    assert_eq!(left, vec![id(&all), id(&gone)]);
    store.close().await;
}
