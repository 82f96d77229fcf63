//! `runs watch`: follow the market's event feed live, from the REST API's Server-Sent Events
//! stream (`/api/events/stream`), one line per item for people or one JSON object per line with
//! `--json`. Starts at the feed's head (only what happens from now) unless `--after SEQ` says
//! where; reconnects on its own, resuming after the last item it printed (`Last-Event-ID`), so
//! nothing is missed or printed twice. A reorg shows as retractions (`removed`) of the events it
//! undid. Ctrl-C stops.

use std::time::Duration;

use alloy::transports::http::reqwest::{self, Url};
use eyre::{WrapErr, bail, eyre};
use serde_json::Value;

use crate::signal::shutdown_signal;

/// How long to wait before reconnecting after the stream broke.
const RECONNECT_DELAY: Duration = Duration::from_secs(1);

/// Follow the market's events live (Ctrl-C stops).
#[derive(Debug, clap::Args)]
pub(crate) struct WatchArgs {
    /// The runs REST API (`runs serve` / `runs devnet`).
    #[arg(long, env = "RUNS_API_URL", default_value = "http://127.0.0.1:3000", value_name = "URL")]
    api_url: Url,
    /// Only these event types, comma-separated (e.g. RunCreated,Claimed,Approved).
    #[arg(long = "type", value_name = "TYPES")]
    types: Option<String>,
    /// Only events about this run.
    #[arg(long = "run", value_name = "ID")]
    run_id: Option<u64>,
    /// Only events about this agent.
    #[arg(long = "agent", value_name = "ID")]
    agent_id: Option<u64>,
    /// Only events about runs this address posted.
    #[arg(long, value_name = "ADDRESS")]
    poster: Option<String>,
    /// Start after this feed position (0: the whole history) [default: the current head].
    #[arg(long, value_name = "SEQ")]
    after: Option<u64>,
    /// One JSON object per line (the feed item as the API serves it).
    #[arg(long)]
    json: bool,
}

impl WatchArgs {
    pub(crate) async fn run(self) -> eyre::Result<()> {
        let client = reqwest::Client::new();
        let mut after = match self.after {
            Some(after) => after,
            None => self.head(&client).await?,
        };
        let stop = shutdown_signal();
        tokio::pin!(stop);
        loop {
            tokio::select! {
                () = &mut stop => return Ok(()),
                result = self.follow(&client, &mut after) => {
                    if let Err(err) = result {
                        // A bad filter will not get better by retrying.
                        if err.downcast_ref::<Refused>().is_some() {
                            return Err(err);
                        }
                        tracing::warn!(target: "runs::watch", error = %err, after, "stream broke; reconnecting");
                    }
                }
            }
            tokio::select! {
                () = &mut stop => return Ok(()),
                () = tokio::time::sleep(RECONNECT_DELAY) => {}
            }
        }
    }

    /// The filters as query parameters.
    fn query(&self, url: &mut Url) {
        let mut pairs = url.query_pairs_mut();
        if let Some(types) = &self.types {
            pairs.append_pair("type", types);
        }
        if let Some(run) = self.run_id {
            pairs.append_pair("runId", &run.to_string());
        }
        if let Some(agent) = self.agent_id {
            pairs.append_pair("agentId", &agent.to_string());
        }
        if let Some(poster) = &self.poster {
            pairs.append_pair("poster", poster);
        }
    }

    /// The feed's newest position now (checking the filters on the way).
    async fn head(&self, client: &reqwest::Client) -> eyre::Result<u64> {
        let mut url = self.api_url.join("/api/events").wrap_err("the API URL")?;
        url.query_pairs_mut().append_pair("limit", "1");
        self.query(&mut url);
        let response =
            client.get(url).send().await.map_err(|err| unreachable_api(&self.api_url, &err))?;
        let status = response.status();
        let body: Value =
            response.json().await.wrap_err("the API answered with something other than JSON")?;
        if !status.is_success() {
            return Err(Refused(api_error(&body)).into());
        }
        body["headSeq"]
            .as_u64()
            .ok_or_else(|| eyre!("the API's /api/events has no headSeq: is it this version?"))
    }

    /// Follows the stream after `after` until it ends or breaks, advancing `after` per item.
    async fn follow(&self, client: &reqwest::Client, after: &mut u64) -> eyre::Result<()> {
        let mut url = self.api_url.join("/api/events/stream").wrap_err("the API URL")?;
        self.query(&mut url);
        let mut response = client
            .get(url)
            .header("Last-Event-ID", after.to_string())
            .header("Accept", "text/event-stream")
            .send()
            .await
            .map_err(|err| unreachable_api(&self.api_url, &err))?;
        let status = response.status();
        if status.is_client_error() {
            let body: Value = response.json().await.unwrap_or_default();
            return Err(Refused(api_error(&body)).into());
        }
        if !status.is_success() {
            bail!("the API answered {status}");
        }
        tracing::info!(target: "runs::watch", after = *after, "following the event stream");
        let mut buffer = String::new();
        while let Some(chunk) = response.chunk().await.wrap_err("reading the stream")? {
            buffer.push_str(&String::from_utf8_lossy(&chunk));
            while let Some(end) = buffer.find("\n\n") {
                let frame: String = buffer.drain(..end + 2).collect();
                let mut data = String::new();
                let mut kind = String::new();
                for line in frame.lines() {
                    if let Some(value) = line.strip_prefix("data:") {
                        data.push_str(value.trim_start());
                    } else if let Some(value) = line.strip_prefix("event:") {
                        kind = value.trim().to_owned();
                    }
                }
                if data.is_empty() {
                    continue; // a heartbeat
                }
                let item: Value =
                    serde_json::from_str(&data).wrap_err("a stream item is not JSON")?;
                if kind == "lagged" {
                    // The server cut us off for reading too slowly: resume where it says.
                    if let Some(position) = item["after"].as_u64() {
                        *after = position;
                    }
                    bail!("the server dropped the stream (this client read too slowly)");
                }
                println!("{}", if self.json { data } else { line(&item) });
                if let Some(seq) = item["seq"].as_u64() {
                    *after = seq;
                }
            }
        }
        bail!("the stream ended")
    }
}

/// The API refused the request (a bad filter): retrying would not help.
#[derive(Debug)]
struct Refused(String);

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Refused {}

fn api_error(body: &Value) -> String {
    format!(
        "{}: {}",
        body["error"]["code"].as_str().unwrap_or("API_ERROR"),
        body["error"]["message"].as_str().unwrap_or("the API refused the request")
    )
}

fn unreachable_api(url: &Url, err: &reqwest::Error) -> eyre::Report {
    eyre!(
        "cannot reach the runs API at {url}: {err}; start `runs serve` (or `runs devnet`) or point \
         --api-url / RUNS_API_URL at it"
    )
}

/// One item for people: `#SEQ TYPE run R agent A block B tx 0x…  key=value …`.
fn line(item: &Value) -> String {
    let mut out = format!("#{} ", item["seq"]);
    if item["removed"] == true {
        out.push_str("RETRACTED ");
    }
    out.push_str(item["type"].as_str().unwrap_or("?"));
    if let Some(run) = item["runId"].as_u64() {
        out.push_str(&format!(" run {run}"));
    }
    if let Some(agent) = item["agentId"].as_u64() {
        out.push_str(&format!(" agent {agent}"));
    }
    out.push_str(&format!(
        "  block {} {}  tx {}",
        item["blockNumber"],
        item["timestamp"].as_str().unwrap_or(""),
        item["txHash"].as_str().unwrap_or("")
    ));
    if let Some(fields) = item["data"].as_object() {
        for (key, value) in fields {
            if key == "runId" || key == "agentId" {
                continue;
            }
            let value = match value {
                Value::String(text) => text.clone(),
                other => other.to_string(),
            };
            out.push_str(&format!("  {key}={value}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn items_print_on_one_line() {
        let item = json!({
            "seq": 42, "type": "Claimed", "removed": false, "runId": 7, "agentId": 2,
            "blockNumber": 120, "timestamp": "2026-12-30T01:50:32Z", "txHash": "0xabc",
            "data": {"runId": 7, "agentId": 2, "reserved": "20000000", "wallet": "0xW"},
        });
        assert_eq!(
            line(&item),
            "#42 Claimed run 7 agent 2  block 120 2026-12-30T01:50:32Z  tx 0xabc  reserved=20000000  wallet=0xW"
        );
        let retraction = json!({"seq": 43, "type": "Claimed", "removed": true, "data": {}});
        assert!(line(&retraction).starts_with("#43 RETRACTED Claimed"));
    }
}
