//! `runs webhook add|list|remove|deliveries|replay`: manage the subscriptions that `runs index`
//! (and `runs devnet`) deliver as signed POSTs, in the index database. See `runs_webhooks` for
//! the delivery guarantees.

use eyre::{bail, eyre};
use runs_db::{
    Store,
    read::FeedFilter,
    webhooks::{Delivery, NewWebhook, Webhook, WebhookStatus},
};
use runs_primitives::{Address, AgentId, RunId};
use serde_json::{Value, json};

use crate::args::{DatabaseArgs, OutputArgs, only_indexed_chain};

/// Manage webhook subscriptions (delivered by `runs index` and `runs devnet`).
#[derive(Debug, clap::Args)]
// The shared flags go before or after the subcommand.
#[command(
    mut_arg("database_url", |arg| arg.global(true)),
    mut_arg("json", |arg| arg.global(true))
)]
pub(crate) struct WebhookArgs {
    #[command(subcommand)]
    command: WebhookCommand,

    #[command(flatten)]
    database: DatabaseArgs,

    /// The chain whose events are delivered [default: the only chain in the database].
    #[arg(long, env = "RUNS_CHAIN_ID", global = true)]
    chain_id: Option<u64>,

    #[command(flatten)]
    output: OutputArgs,
}

#[derive(Debug, clap::Subcommand)]
enum WebhookCommand {
    /// Subscribe URL to the feed; prints the signing secret (only this once).
    Add(AddArgs),
    /// List the subscriptions, with where each stands.
    List,
    /// Remove a subscription and its delivery record.
    Remove {
        /// The subscription.
        id: u64,
    },
    /// The latest delivery attempts of a subscription, newest first.
    Deliveries {
        /// The subscription.
        id: u64,
        /// How many attempts to show.
        #[arg(long, default_value_t = 20)]
        limit: u32,
    },
    /// Deliver again from a feed position (also resumes a paused or disabled subscription).
    Replay {
        /// The subscription.
        id: u64,
        /// The first feed position to deliver (1: the whole feed).
        #[arg(long, value_name = "SEQ")]
        from: u64,
    },
}

#[derive(Debug, clap::Args)]
struct AddArgs {
    /// Where to POST each item (http or https).
    url: String,
    /// Only these event types, comma-separated (e.g. RunCreated,Claimed,Approved).
    #[arg(long, value_name = "TYPES", value_delimiter = ',')]
    events: Vec<String>,
    /// Only events about this run.
    #[arg(long = "run", value_name = "ID")]
    run_id: Option<u64>,
    /// Only events about this agent.
    #[arg(long = "agent", value_name = "ID")]
    agent_id: Option<u64>,
    /// Only events about runs this address posted.
    #[arg(long, value_name = "ADDRESS")]
    poster: Option<Address>,
    /// Start after this feed position (0: the whole history) [default: only new events].
    #[arg(long, value_name = "SEQ")]
    after: Option<u64>,
    /// Allow a destination on a private, loopback or link-local address (a receiver on this
    /// machine or your network).
    #[arg(long)]
    allow_private: bool,
}

impl WebhookArgs {
    pub(crate) async fn run(self) -> eyre::Result<()> {
        let store = self.database.open().await?;
        let chain_id = match self.chain_id {
            Some(id) => id,
            None => only_indexed_chain(&store).await?,
        };
        let result = self.command(&store, chain_id).await;
        store.close().await;
        result
    }

    async fn command(&self, store: &Store, chain_id: u64) -> eyre::Result<()> {
        let json = self.output.json;
        match &self.command {
            WebhookCommand::Add(add) => {
                let filter = add.filter()?;
                let url = runs_webhooks::destination::check(&add.url, add.allow_private)
                    .await
                    .map_err(|err| eyre!("refused {}: {err}", add.url))?;
                let new = NewWebhook {
                    url: url.to_string(),
                    secret: runs_webhooks::sign::new_secret(),
                    filter,
                    allow_private: add.allow_private,
                    after: add.after,
                    now: runs_webhooks::now_ms(),
                };
                let webhook = store.add_webhook(chain_id, &new).await?;
                if json {
                    let mut value = webhook_json(&webhook);
                    value["secret"] = webhook.secret.into();
                    println!("{value}");
                } else {
                    println!("webhook {} → {}", webhook.id, webhook.url);
                    println!("  events: {}", filter_text(&webhook.filter));
                    println!(
                        "  delivering the feed after position {}",
                        webhook.state.delivered_seq
                    );
                    println!("  signing secret (shown only now): {}", webhook.secret);
                }
            }
            WebhookCommand::List => {
                let webhooks = store.webhooks(chain_id).await?;
                if json {
                    println!("{}", Value::Array(webhooks.iter().map(webhook_json).collect()));
                } else if webhooks.is_empty() {
                    println!(
                        "no webhooks on chain {chain_id} (add one with `runs webhook add URL`)"
                    );
                } else {
                    for w in &webhooks {
                        println!(
                            "{:>4}  {:<40}  {}  delivered to {}  {}",
                            w.id,
                            status_text(w),
                            w.url,
                            w.state.delivered_seq,
                            filter_text(&w.filter)
                        );
                        if let Some(error) = &w.state.last_error {
                            println!("      last error: {error}");
                        }
                    }
                }
            }
            WebhookCommand::Remove { id } => {
                if !store.remove_webhook(chain_id, *id).await? {
                    bail!("no webhook {id} on chain {chain_id}");
                }
                if json {
                    println!("{}", json!({ "id": id, "removed": true }));
                } else {
                    println!("removed webhook {id}");
                }
            }
            WebhookCommand::Deliveries { id, limit } => {
                if store.webhook(chain_id, *id).await?.is_none() {
                    bail!("no webhook {id} on chain {chain_id}");
                }
                let deliveries = store.webhook_deliveries(chain_id, *id, *limit).await?;
                if json {
                    println!("{}", Value::Array(deliveries.iter().map(delivery_json).collect()));
                } else if deliveries.is_empty() {
                    println!("no deliveries yet");
                } else {
                    for d in &deliveries {
                        println!(
                            "{}  seq {:<6} attempt {:<3} {:<9} {:>5} ms  {}{}",
                            runs_api::iso8601(secs(d.at)),
                            d.seq,
                            d.attempt,
                            d.outcome.as_str(),
                            d.duration_ms,
                            d.status_code.map(|c| format!("HTTP {c} ")).unwrap_or_default(),
                            d.error.as_deref().unwrap_or_default()
                        );
                    }
                }
            }
            WebhookCommand::Replay { id, from } => {
                if *from == 0 {
                    bail!("--from is a feed position, 1 or more (1: the whole feed)");
                }
                if !store.replay_webhook(chain_id, *id, *from, runs_webhooks::now_ms()).await? {
                    bail!("no webhook {id} on chain {chain_id}");
                }
                if json {
                    println!("{}", json!({ "id": id, "from": from }));
                } else {
                    println!("webhook {id} delivers again from feed position {from}");
                }
            }
        }
        Ok(())
    }
}

impl AddArgs {
    /// The filter, each value checked (an unknown event type names the known ones).
    fn filter(&self) -> eyre::Result<FeedFilter> {
        let known = runs_bindings::event_names();
        let mut kinds = Vec::new();
        for kind in self.events.iter().map(|k| k.trim()).filter(|k| !k.is_empty()) {
            if !known.contains(&kind) {
                bail!("unknown event type {kind:?} in --events; one of {}", known.join(", "));
            }
            kinds.push(kind.to_owned());
        }
        let positive = |flag: &str, id: Option<u64>| match id {
            Some(0) => Err(eyre!("{flag} must be 1 or more")),
            other => Ok(other),
        };
        Ok(FeedFilter {
            kinds,
            run_id: positive("--run", self.run_id)?.map(RunId),
            agent_id: positive("--agent", self.agent_id)?.map(AgentId),
            poster: self.poster,
        })
    }
}

fn secs(ms: i64) -> u64 {
    u64::try_from(ms / 1_000).unwrap_or(0)
}

fn filter_text(filter: &FeedFilter) -> String {
    let mut parts = Vec::new();
    if !filter.kinds.is_empty() {
        parts.push(filter.kinds.join(","));
    }
    if let Some(run) = filter.run_id {
        parts.push(format!("run {run}"));
    }
    if let Some(agent) = filter.agent_id {
        parts.push(format!("agent {agent}"));
    }
    if let Some(poster) = filter.poster {
        parts.push(format!("poster {poster}"));
    }
    if parts.is_empty() { "every event".to_owned() } else { parts.join("; ") }
}

/// `active`, `failing (N attempts since …, next …)`, `paused (failing since …)` or `disabled`.
fn status_text(w: &Webhook) -> String {
    let s = &w.state;
    let since = s.failing_since.map(|t| runs_api::iso8601(secs(t))).unwrap_or_default();
    match s.status {
        WebhookStatus::Active if s.attempts == 0 => "active".to_owned(),
        WebhookStatus::Active => format!("failing ({} attempts since {since})", s.attempts),
        WebhookStatus::Paused => format!("paused: failing since {since}"),
        WebhookStatus::Disabled => "disabled (the receiver answered 410 Gone)".to_owned(),
    }
}

fn webhook_json(w: &Webhook) -> Value {
    let iso = |t: Option<i64>| t.map(|t| runs_api::iso8601(secs(t)));
    let s = &w.state;
    json!({
        "id": w.id,
        "chainId": w.chain_id,
        "url": w.url,
        "status": s.status.as_str(),
        "failing": s.attempts > 0,
        "deliveredSeq": s.delivered_seq,
        "attempts": s.attempts,
        "failingSince": iso(s.failing_since),
        "nextAttemptAt": iso(Some(s.next_attempt_at)),
        "lastError": s.last_error,
        "allowPrivate": w.allow_private,
        "filter": {
            "types": w.filter.kinds,
            "runId": w.filter.run_id.map(RunId::get),
            "agentId": w.filter.agent_id.map(AgentId::get),
            "poster": w.filter.poster.map(|p| p.to_checksum(None)),
        },
        "createdAt": runs_api::iso8601(secs(w.created_at)),
    })
}

fn delivery_json(d: &Delivery) -> Value {
    json!({
        "seq": d.seq,
        "deliveryId": d.delivery_id,
        "attempt": d.attempt,
        "outcome": d.outcome.as_str(),
        "statusCode": d.status_code,
        "error": d.error,
        "at": runs_api::iso8601(secs(d.at)),
        "durationMs": d.duration_ms,
    })
}
