//! `runs devnet` as a user runs it: the real binary on free ports with the default SQLite file,
//! answering the seeded data over HTTP, then stopping cleanly on SIGINT and taking anvil with it.

use std::{
    collections::BTreeSet,
    io::{BufRead, BufReader, Read},
    process::{Child, Command, ExitStatus, Stdio},
    sync::mpsc,
    time::{Duration, Instant},
};

use alloy::transports::http::reqwest;
use serde_json::Value;

/// The first start compiles the contracts with solc-js: allow for it.
const START_TIMEOUT: Duration = Duration::from_secs(300);

/// `runs devnet` running in the background; SIGTERM (then SIGKILL) if a test fails midway.
pub(crate) struct Devnet {
    child: Child,
    lines: mpsc::Receiver<String>,
    stderr: std::thread::JoinHandle<String>,
}

impl Devnet {
    pub(crate) fn start(dir: &tempfile::TempDir) -> Self {
        let mut command = Command::new(env!("CARGO_BIN_EXE_runs"));
        command.env_clear().current_dir(dir.path());
        for name in ["HOME", "PATH"] {
            if let Some(value) = std::env::var_os(name) {
                command.env(name, value);
            }
        }
        let mut child = command
            .args(["devnet", "--port", "0", "--api-listen", "127.0.0.1:0"])
            .arg("--anvil")
            .arg(runs_testkit::anvil_binary())
            .arg("--project")
            .arg(runs_testkit::repo_root())
            .arg("--deployments")
            .arg(dir.path().join("deployments"))
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("starting runs devnet");
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut stderr = child.stderr.take().unwrap();
        let stderr = std::thread::spawn(move || {
            let mut text = String::new();
            let _ = stderr.read_to_string(&mut text);
            text
        });
        Self { child, lines, stderr }
    }

    /// Reads stdout until the closing line; the printed lines.
    pub(crate) fn wait_ready(&mut self) -> Vec<String> {
        let deadline = Instant::now() + START_TIMEOUT;
        let mut out = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left.max(Duration::from_millis(1))) {
                Ok(line) => {
                    let done = line.starts_with("Ctrl-C stops");
                    out.push(line);
                    if done {
                        return out;
                    }
                }
                Err(_) => {
                    let status = self.child.try_wait().ok().flatten();
                    panic!(
                        "runs devnet did not come up (exit: {status:?}); stdout so far: {out:#?}"
                    );
                }
            }
        }
    }

    fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .args([format!("-{name}"), self.child.id().to_string()])
            .status()
            .expect("kill");
        assert!(status.success(), "kill -{name}");
    }

    /// Waits for the process to exit, up to `within`.
    fn wait_exit(&mut self, within: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + within;
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().unwrap() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        None
    }
}

impl Drop for Devnet {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            // SIGTERM first, so that devnet stops its anvil too.
            self.signal("TERM");
            if self.wait_exit(Duration::from_secs(15)).is_none() {
                let _ = self.child.kill();
                let _ = self.child.wait();
            }
        }
    }
}

/// The Python with the tests' packages (the MCP client, Selenium): `RUNS_TEST_PYTHON`, else the
/// virtualenv `script/python-env` makes.
pub(crate) fn python() -> std::path::PathBuf {
    if let Some(path) = std::env::var_os("RUNS_TEST_PYTHON") {
        return path.into();
    }
    let home = std::env::var_os("HOME").expect("HOME is set");
    let venv = std::path::PathBuf::from(home).join(".cache/runs-test-venv/bin/python");
    assert!(venv.is_file(), "{} is missing: run script/python-env", venv.display());
    venv
}

/// A script of `crates/cli/tests/python/`.
pub(crate) fn python_script(name: &str) -> std::path::PathBuf {
    runs_testkit::repo_root().join("crates/cli/tests/python").join(name)
}

/// The value printed after `label` in the human output (`  API         http://...`).
pub(crate) fn printed(lines: &[String], label: &str) -> String {
    lines
        .iter()
        .find_map(|line| line.trim_start().strip_prefix(label).map(|rest| rest.trim().to_owned()))
        .unwrap_or_else(|| panic!("no {label} line in {lines:#?}"))
}

async fn get(url: &str) -> (u16, Value) {
    let response = reqwest::get(url).await.unwrap_or_else(|err| panic!("GET {url}: {err}"));
    let status = response.status().as_u16();
    let body = response.text().await.unwrap();
    (status, serde_json::from_str(&body).unwrap_or_else(|err| panic!("{url}: {err}: {body}")))
}

/// `runs watch` against the devnet's API: `--after 0 --json` prints the whole feed, one item per
/// line, exactly as `/api/events` pages it; a filter prints only its items; a bad filter is an
/// error, not a retry loop.
async fn watch_prints_the_feed(api: &str) {
    let mut feed = Vec::new();
    let mut after = 0;
    loop {
        let (status, page) = get(&format!("{api}/api/events?after={after}")).await;
        assert_eq!(status, 200, "{page}");
        let items = page["events"].as_array().unwrap().clone();
        if items.is_empty() {
            break;
        }
        after = page["nextAfter"].as_u64().unwrap();
        feed.extend(items);
    }
    assert!(feed.len() > 100, "{} feed items", feed.len());
    let watch = |args: &[&str]| {
        let mut child = Command::new(env!("CARGO_BIN_EXE_runs"))
            .args(["watch", "--api-url", api])
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("runs watch");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        (child, rx)
    };
    let (mut child, lines) = watch(&["--after", "0", "--json"]);
    let mut printed = Vec::new();
    while printed.len() < feed.len() {
        let line =
            lines.recv_timeout(Duration::from_secs(20)).expect("runs watch printed the feed");
        printed.push(serde_json::from_str::<Value>(&line).unwrap());
    }
    assert_eq!(printed, feed, "runs watch --json prints the feed items as the API serves them");
    assert!(lines.recv_timeout(Duration::from_millis(300)).is_err(), "nothing more");
    let _ = child.kill();
    let _ = child.wait();

    let created = feed.iter().filter(|item| item["type"] == "RunCreated").count();
    let (mut child, lines) = watch(&["--after", "0", "--type", "RunCreated"]);
    for _ in 0..created {
        let line = lines.recv_timeout(Duration::from_secs(20)).expect("runs watch --type");
        assert!(line.contains(" RunCreated run "), "{line}");
    }
    assert!(lines.recv_timeout(Duration::from_millis(300)).is_err(), "only RunCreated");
    let _ = child.kill();
    let _ = child.wait();

    let output = Command::new(env!("CARGO_BIN_EXE_runs"))
        .args(["watch", "--api-url", api, "--type", "Nope"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("INVALID_PARAMETER") && stderr.contains("Nope"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread")]
async fn devnet_serves_seeded_runs_and_stops_cleanly_on_ctrl_c() {
    let dir = tempfile::tempdir().unwrap();
    let mut devnet = Devnet::start(&dir);
    let lines = devnet.wait_ready();
    let api = printed(&lines, "API");
    let rpc = printed(&lines, "RPC");
    assert!(api.starts_with("http://127.0.0.1:"), "{api}");
    assert!(rpc.starts_with("http://127.0.0.1:"), "{rpc}");
    assert!(lines.iter().any(|l| l.contains(&format!("curl {api}/health"))), "{lines:#?}");

    // The manifest and the default SQLite file, where they were asked for.
    let manifest_path = dir.path().join("deployments/31337.json");
    let manifest = runs_primitives::DeploymentManifest::load(&manifest_path).expect("manifest");
    assert_eq!(manifest.chain_id, 31337);
    assert!(manifest.contracts.mock_usdc.is_some());
    assert!(dir.path().join(".runs/devnet-31337.db").is_file(), "default SQLite database");
    // The dev chain's arbitrator is the deployer, and the summary says so.
    let arbitrator = printed(&lines, "arbitrator");
    let arbitrator = arbitrator.split_whitespace().next().unwrap_or_default();
    assert_eq!(arbitrator, manifest.parameters.arbitrator.to_checksum(None), "{lines:#?}");
    assert_eq!(manifest.parameters.arbitrator, runs_seed::dev_signers()[0].address());

    // The explorer is the link to open, at / of the same server, under its policy.
    assert_eq!(printed(&lines, "explorer").split_whitespace().next(), Some(&*format!("{api}/")));
    let page = reqwest::get(format!("{api}/")).await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.headers().contains_key("content-security-policy"), "{:?}", page.headers());
    assert!(page.text().await.unwrap().contains("/assets/app.js"));

    let (status, health) = get(&format!("{api}/health")).await;
    assert_eq!(status, 200);
    assert_eq!(health["status"], "ok");

    // Every run state is seeded, and the listing says how fresh it is.
    let (status, list) = get(&format!("{api}/api/runs?limit=100")).await;
    assert_eq!(status, 200, "{list}");
    let runs = list["runs"].as_array().unwrap();
    assert!(runs.len() >= 20, "{} runs", runs.len());
    assert_eq!(list["pagination"]["total"].as_u64().unwrap(), runs.len() as u64);
    assert!(list["indexedBlock"].as_u64().unwrap() > 0);
    let states: BTreeSet<&str> = runs.iter().map(|r| r["state"].as_str().unwrap()).collect();
    let every: BTreeSet<&str> = runs_primitives::RunState::ALL.iter().map(|s| s.as_str()).collect();
    assert_eq!(states, every, "seeded states");
    // Protocol v2: a rejection still open and final ones; a dispute awaiting its ruling; one
    // ruled dispute and one settled by default.
    let in_state = |state: &'static str| runs.iter().filter(move |r| r["state"] == state);
    let settled: BTreeSet<bool> =
        in_state("REJECTED").map(|r| r["settled"].as_bool().unwrap()).collect();
    assert_eq!(settled, [false, true].into(), "REJECTED runs' settled flags");
    let disputed = in_state("DISPUTED").next().unwrap();
    assert!(disputed["dispute"].is_object(), "{disputed:#}");
    assert!(disputed["dispute"]["resolvedAt"].is_null(), "{disputed:#}");
    let defaults: BTreeSet<bool> =
        in_state("RESOLVED").map(|r| r["dispute"]["byDefault"].as_bool().unwrap()).collect();
    assert_eq!(defaults, [false, true].into(), "a ruling and a default");
    let (_, open) = get(&format!("{api}/api/runs?state=OPEN&minReward=100")).await;
    assert!(
        open["runs"].as_array().unwrap().iter().all(|r| r["state"] == "OPEN"),
        "filtered listing: {open}"
    );

    // Agents on every rung of the ladder.
    let (status, agents) = get(&format!("{api}/api/agents")).await;
    assert_eq!(status, 200, "{agents}");
    let statuses: BTreeSet<&str> = agents["agents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["status"].as_str().unwrap())
        .collect();
    let ladder: BTreeSet<&str> =
        ["UNVERIFIED", "PROVISIONAL", "ESTABLISHED", "FROZEN", "BANNED"].into();
    assert_eq!(statuses, ladder);

    watch_prints_the_feed(&api).await;

    // Ctrl-C: a clean exit, and the node is gone with it.
    devnet.signal("INT");
    let status = devnet.wait_exit(Duration::from_secs(20)).expect("devnet exits after SIGINT");
    let stderr =
        std::mem::replace(&mut devnet.stderr, std::thread::spawn(String::new)).join().unwrap();
    assert!(status.success(), "exit {status:?}; stderr:\n{stderr}");
    assert!(stderr.contains("devnet: stopped"), "{stderr}");
    let client = reqwest::Client::new();
    let probe = client
        .post(&rpc)
        .header("content-type", "application/json")
        .body(r#"{"jsonrpc":"2.0","id":1,"method":"eth_chainId","params":[]}"#)
        .timeout(Duration::from_secs(2))
        .send()
        .await;
    assert!(probe.is_err(), "anvil still answers at {rpc}");
}
