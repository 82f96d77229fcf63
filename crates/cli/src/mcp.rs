//! The Model Context Protocol server of `runs mcp`: the market as tools for AI agents.
//!
//! Read tools answer from the REST API (`--api-url`): it has what the chain alone does not —
//! lists with filters and paging, a run's event history, the derived agent status and the
//! eligibility check — and it is the same view people get. Write tools sign with the configured
//! wallet and go through [`crate::market`], the functions behind `runs run` / `runs agent`, so a
//! transaction, its decoded events, and a revert's decoded error and hint are exactly what the
//! CLI shows. Tools that sign are annotated `readOnlyHint: false`; `--read-only` removes every
//! such tool from the router (derived from the annotations, not a second list).

use std::{borrow::Cow, sync::Arc};

use alloy::{primitives::Address, transports::http::reqwest};
use eyre::eyre;
use rmcp::{
    ErrorData as McpError, RoleServer, ServerHandler,
    handler::server::{router::tool::ToolRouter, wrapper::Parameters},
    model::{
        CallToolResult, ContentBlock, Implementation, ListResourceTemplatesResult,
        PaginatedRequestParams, ReadResourceRequestParams, ReadResourceResponse,
        ReadResourceResult, ResourceContents, ResourceTemplate, ServerCapabilities, ServerConfig,
    },
    service::RequestContext,
    tool, tool_handler, tool_router,
};
use runs_primitives::{AgentId, RunId, RunState, Usdc};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Value as Json, json};

use crate::{
    chain::Chain,
    hints::{ContractRevert, HintedError},
    market::{self, Deadline, NewRun, RunAction, TextAction},
    output::{ActionReport, error_text},
};

/// What the server is told to tell the model first.
const INSTRUCTIONS: &str = "\
runs is an on-chain marketplace for paid work done by AI agents, settled in USDC. A poster \
escrows a reward (+ a platform fee) for a run; an agent that has registered and staked claims it \
(the claim reserves the run's required stake), does the work and submits a deliverable URI; the \
poster approves (the agent is paid), asks for a revision, or rejects after the last revision, \
and the agent may dispute a rejection before the run's arbitrator. Typical agent flow: whoami → \
list_runs (state OPEN) → check_claim_eligibility → claim_run → (start_run) → submit_work → \
get_run until APPROVED. Amounts are decimal USDC strings such as \"12.5\" (at most 6 decimals). \
Every write tool returns the transaction hashes, blocks, gas and decoded events; a revert comes \
back as a tool error naming the contract error and what to do about it.";

/// Limits on what the server may sign, checked before anything is signed.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Limits {
    /// The largest reward `create_run` may escrow.
    pub(crate) max_reward: Option<Usdc>,
    /// The largest amount one `stake` call may add.
    pub(crate) max_stake: Option<Usdc>,
}

/// The shared state of every session: the chain (read-only and, with a key, signing), the API
/// and the limits.
#[derive(Debug)]
pub(crate) struct Context {
    /// The chain without a signer, for reads.
    pub(crate) reader: Chain,
    /// The chain with the configured wallet, when there is one.
    pub(crate) signer: Option<Chain>,
    /// The REST API the read tools ask.
    pub(crate) api: ApiClient,
    /// Spending caps.
    pub(crate) limits: Limits,
}

/// The MCP server: one per session, all sharing one [`Context`].
#[derive(Debug, Clone)]
pub(crate) struct Market {
    context: Arc<Context>,
    tool_router: ToolRouter<Self>,
}

impl Market {
    /// A server over `context`; `read_only` leaves out every tool that signs.
    pub(crate) fn new(context: Arc<Context>, read_only: bool) -> Self {
        let mut tool_router = Self::tool_router();
        if read_only {
            for tool in tool_router.list_all() {
                let reads = tool.annotations.as_ref().and_then(|a| a.read_only_hint);
                if reads != Some(true) {
                    tool_router.remove_route(&tool.name);
                }
            }
        }
        Self { context, tool_router }
    }

    /// The signing chain, or the error a write tool answers without a key.
    fn signer(&self) -> eyre::Result<&Chain> {
        self.context.signer.as_ref().ok_or_else(|| {
            HintedError {
                message: "this tool signs a transaction, and the server has no wallet".into(),
                hint: "start `runs mcp` with PRIVATE_KEY (or KEYSTORE and KEYSTORE_PASSWORD) in \
                       its environment"
                    .into(),
            }
            .into()
        })
    }

    /// The configured wallet's agent id, or a tool error that says how to get one.
    async fn own_agent(&self) -> eyre::Result<AgentId> {
        let chain = self.signer()?;
        let id = market::registered_agent(chain).await?;
        u64::try_from(id).map(AgentId::new).map_err(|_| eyre!("agent id {id} out of range"))
    }

    /// Runs a write tool: the report as the tool's result, an error as a tool error.
    fn report(result: eyre::Result<ActionReport>) -> CallToolResult {
        match result {
            Ok(report) => {
                let mut json = report.to_json();
                if let Json::Object(object) = &mut json {
                    object.insert("summary".into(), json!(report.summary));
                }
                CallToolResult::structured(json)
            }
            Err(err) => tool_error(&err),
        }
    }

    /// Runs a read tool.
    fn answer(result: eyre::Result<Json>) -> CallToolResult {
        match result {
            Ok(json) => CallToolResult::structured(json),
            Err(err) => tool_error(&err),
        }
    }
}

/// A failed tool call: the same text the CLI prints (`error: …`, the call, `hint: …`), and the
/// same as structured content, with the decoded contract error's name and fields when it reverted.
fn tool_error(err: &eyre::Report) -> CallToolResult {
    let mut details = json!({ "error": err.to_string() });
    for cause in err.chain() {
        if let Some(revert) = cause.downcast_ref::<ContractRevert>() {
            let fields: serde_json::Map<String, Json> = revert
                .revert
                .fields
                .iter()
                .map(|(name, value)| (name.clone(), json!(value)))
                .collect();
            details["call"] = json!(revert.call);
            details["contractError"] = json!({ "name": revert.revert.name, "fields": fields });
            if let Some(hint) = &revert.hint {
                details["hint"] = json!(hint);
            }
        }
        if let Some(hinted) = cause.downcast_ref::<HintedError>() {
            details["hint"] = json!(hinted.hint);
        }
    }
    let mut result = CallToolResult::error(vec![ContentBlock::text(error_text(err))]);
    result.structured_content = Some(details);
    result
}

/// A USDC amount as a model writes it: a decimal string (`"12.5"`) or a JSON number, parsed
/// exactly (never through a float) into base units by the tool, so a bad one is a tool error
/// that names it.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub(crate) enum Amount {
    /// `"12.5"`.
    Text(String),
    /// `12.5`, as written in the JSON.
    Number(serde_json::Number),
}

impl Amount {
    /// The amount, or an error naming `what` and the accepted form.
    fn parse(&self, what: &str) -> eyre::Result<Usdc> {
        let text = match self {
            Self::Text(text) => text.trim().to_owned(),
            Self::Number(number) => number.to_string(),
        };
        text.parse::<Usdc>().map_err(|err| {
            eyre!(
                "{what}: {text:?} is not a USDC amount ({err}); write a non-negative decimal with \
                 at most 6 decimals, e.g. \"12.5\""
            )
        })
    }
}

impl JsonSchema for Amount {
    fn schema_name() -> Cow<'static, str> {
        "UsdcAmount".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "pattern": "^[0-9]+(\\.[0-9]{1,6})?$",
            "description": "An amount of USDC in decimal, e.g. \"12.5\" (at most 6 decimals).",
        })
    }
}

/// Parses an address a model wrote, naming the parameter when it is not one.
fn address(what: &str, raw: &str) -> eyre::Result<Address> {
    raw.trim().parse::<Address>().map_err(|_| {
        eyre!("{what}: {raw:?} is not an address (expected 0x followed by 40 hex digits)")
    })
}

/// Checks a run id a model wrote (ids count from 1).
fn run_id(raw: u64) -> eyre::Result<RunId> {
    if raw == 0 {
        return Err(eyre!("runId: 0 is not a run id (ids count from 1)"));
    }
    Ok(RunId::new(raw))
}

/// Checks an agent id a model wrote (ids count from 1).
fn agent_id(raw: u64) -> eyre::Result<AgentId> {
    if raw == 0 {
        return Err(eyre!("agentId: 0 is not an agent id (ids count from 1)"));
    }
    Ok(AgentId::new(raw))
}

/// `list_runs`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct ListRunsParams {
    /// Only runs in this state: DRAFT, OPEN, CLAIMED, IN_PROGRESS, SUBMITTED,
    /// REVISION_REQUESTED, APPROVED, REJECTED, DISPUTED, RESOLVED, CANCELLED or EXPIRED.
    pub state: Option<String>,
    /// Only runs posted by this address.
    pub poster: Option<String>,
    /// Only runs held by this agent id.
    pub claimed_by: Option<u64>,
    /// Only runs whose reward is at least this (decimal USDC).
    pub min_reward: Option<Amount>,
    /// Only runs whose reward is at most this (decimal USDC).
    pub max_reward: Option<Amount>,
    /// Sort by createdAt (newest first, the default), reward or deadline.
    pub sort: Option<String>,
    /// Runs per page, 1-100 (default 20).
    pub limit: Option<u32>,
    /// The `nextCursor` of the previous page, to get the next one.
    pub cursor: Option<String>,
}

/// A tool on one run.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct RunParams {
    /// The run's id.
    pub run_id: u64,
}

/// `check_claim_eligibility`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct EligibilityParams {
    /// The run's id.
    pub run_id: u64,
    /// The agent to check [default: the configured wallet's agent].
    pub agent_id: Option<u64>,
}

/// `get_agent`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct AgentParams {
    /// The agent's id.
    pub agent_id: u64,
}

/// `register_agent`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct RegisterParams {
    /// Where the agent describes itself (an IPFS or any content URI, at most 2 KB).
    pub metadata_uri: String,
}

/// A tool that moves an amount.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct AmountParams {
    /// The amount, in decimal USDC (e.g. "20").
    pub amount: Amount,
}

/// `submit_work`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct SubmitParams {
    /// The run's id.
    pub run_id: u64,
    /// Where the deliverable is (an IPFS or any content URI, at most 2 KB).
    pub deliverable_uri: String,
}

/// `dispute_rejection`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct DisputeParams {
    /// The rejected run's id.
    pub run_id: u64,
    /// The agent's case for the arbitrator (a URI, at most 2 KB).
    pub evidence_uri: String,
}

/// `create_run`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct CreateRunParams {
    /// Where the work is described (an IPFS or any content URI, at most 2 KB).
    pub spec_uri: String,
    /// The agent's reward in decimal USDC; the platform fee (5% by default) is added on top.
    pub reward: Amount,
    /// Last time the run can be claimed: a duration from now (7d, 36h, 90m) or unix seconds
    /// [default: 30d].
    pub deadline: Option<String>,
    /// Revisions the poster may request before approving or rejecting, 0-10 [default: 3].
    pub max_revisions: Option<u8>,
    /// Stake the claimant must reserve, and the bond a rejection costs the poster, in decimal
    /// USDC [default: the minimum stake].
    pub required_stake: Option<Amount>,
    /// Escrow reward + fee now so the run is OPEN at once [default: true]; false creates a DRAFT.
    pub fund: Option<bool>,
}

/// `request_revision`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct ReviseParams {
    /// The run's id.
    pub run_id: u64,
    /// What to change (recorded in the RevisionRequested event).
    pub reason: String,
}

/// `reject_run`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct RejectParams {
    /// The run's id.
    pub run_id: u64,
    /// Why (a URI of the reasons, shown to the arbitrator if the agent disputes).
    pub reason_uri: String,
}

#[tool_router]
impl Market {
    /// List runs, newest first, with the API's filters and keyset paging.
    #[tool(
        description = "List runs of the marketplace with filters (state, poster, claimedBy, \
                       reward range), sorting and paging. Returns {runs, pagination, nextCursor}; \
                       each run has its id (bountyId), state, reward and fee (base units, 6 \
                       decimals), deadline, required stake and terms. To find work: state=OPEN. \
                       Pass nextCursor back as cursor for the next page.",
        annotations(title = "List runs", read_only_hint = true, open_world_hint = false)
    )]
    async fn list_runs(
        &self,
        Parameters(p): Parameters<ListRunsParams>,
    ) -> Result<CallToolResult, McpError> {
        let result = async {
            let mut query = Vec::new();
            if let Some(state) = p.state {
                query.push(("state", state));
            }
            if let Some(poster) = p.poster {
                query.push(("poster", address("poster", &poster)?.to_checksum(None)));
            }
            if let Some(agent) = p.claimed_by {
                query.push(("claimedBy", agent_id(agent)?.to_string()));
            }
            if let Some(min) = p.min_reward {
                query.push(("minReward", min.parse("minReward")?.to_string()));
            }
            if let Some(max) = p.max_reward {
                query.push(("maxReward", max.parse("maxReward")?.to_string()));
            }
            if let Some(sort) = p.sort {
                query.push(("sort", sort));
            }
            if let Some(limit) = p.limit {
                query.push(("limit", limit.to_string()));
            }
            if let Some(cursor) = p.cursor {
                query.push(("cursor", cursor));
            }
            self.context.api.get("/api/runs", &query).await
        };
        Ok(Self::answer(result.await))
    }

    /// One run with its history and its timers.
    #[tool(
        description = "Get one run: every field, its event history, and `timers` read from the \
                       chain now — when a submission is due (submissionDueAt), when the poster \
                       (slashableByPosterAfter) or anyone (slashableByAnyoneAfter) may slash a \
                       silent agent, when anyone may approve on timeout (approvableOnTimeoutAfter) \
                       or expire it (expirableAfter), when the dispute window ends \
                       (disputeWindowEndsAt) and the ruling deadline (rulingDeadline). Times are \
                       ISO 8601 UTC; null means the step does not apply in this state.",
        annotations(title = "Get a run", read_only_hint = true, open_world_hint = false)
    )]
    async fn get_run(
        &self,
        Parameters(p): Parameters<RunParams>,
    ) -> Result<CallToolResult, McpError> {
        let result = async {
            let id = run_id(p.run_id)?;
            let mut run = self.context.api.get(&format!("/api/runs/{id}"), &[]).await?;
            let (timers, _) = market::show_run(&self.context.reader, id).await?;
            run["timers"] = Json::Object(timers.to_json());
            Ok(run)
        };
        Ok(Self::answer(result.await))
    }

    /// May an agent claim a run now, and if not, why not.
    #[tool(
        description = "Check whether an agent may claim a run now. Returns {eligible, reasons, \
                       agent, run}; each reason is a code such as RUN_NOT_OPEN, RUN_PAST_DEADLINE, \
                       AGENT_FROZEN, AGENT_BANNED, INSUFFICIENT_STAKE, INSUFFICIENT_FREE_STAKE (the \
                       claim reserves the run's required stake of the agent's free stake) or \
                       AGENT_IS_ARBITRATOR. agentId defaults to the configured wallet's agent.",
        annotations(
            title = "Check claim eligibility",
            read_only_hint = true,
            open_world_hint = false
        )
    )]
    async fn check_claim_eligibility(
        &self,
        Parameters(p): Parameters<EligibilityParams>,
    ) -> Result<CallToolResult, McpError> {
        let result = async {
            let run = run_id(p.run_id)?;
            let agent = match p.agent_id {
                Some(raw) => agent_id(raw)?,
                None => self.own_agent().await?,
            };
            let path = format!("/api/runs/{run}/claim-eligibility");
            self.context.api.get(&path, &[("agentId", agent.to_string())]).await
        };
        Ok(Self::answer(result.await))
    }

    /// One agent.
    #[tool(
        description = "Get an agent: status on the trust ladder (UNVERIFIED, PROVISIONAL, \
                       ESTABLISHED, FROZEN, BANNED), stake, reserved and free stake, pending \
                       unstake, reputation counters and slash history.",
        annotations(title = "Get an agent", read_only_hint = true, open_world_hint = false)
    )]
    async fn get_agent(
        &self,
        Parameters(p): Parameters<AgentParams>,
    ) -> Result<CallToolResult, McpError> {
        let result = async {
            let id = agent_id(p.agent_id)?;
            self.context.api.get(&format!("/api/agents/{id}"), &[]).await
        };
        Ok(Self::answer(result.await))
    }

    /// The configured wallet: balance, agent, stake, open claims, credits.
    #[tool(
        description = "Who am I: the configured wallet's address, USDC balance, credit (failed \
                       payouts to withdraw), and its agent as the chain has it now (id, status, \
                       stake, reserved and free stake, pending unstake, counters) with its open \
                       claims (runs it holds that have not settled). agent is null when the \
                       wallet has not registered (register_agent).",
        annotations(title = "Who am I", read_only_hint = true, open_world_hint = false)
    )]
    async fn whoami(&self) -> Result<CallToolResult, McpError> {
        let result = async {
            let chain = self.signer()?;
            let wallet = chain.sender()?;
            let balance = chain.view("USDC.balanceOf", chain.usdc().balanceOf(wallet)).await?;
            let credit = chain.view("RunEscrow.creditOf", chain.escrow().creditOf(wallet)).await?;
            let id = market::own_agent(chain).await?;
            let agent = if id.is_zero() {
                Json::Null
            } else {
                let (record, _) = market::show_agent(chain, id).await?;
                let mut agent = Json::Object(record.to_json());
                let query = [("claimedBy", id.to_string()), ("limit", "100".to_owned())];
                let runs = self.context.api.get("/api/runs", &query).await?;
                let open: Vec<Json> = runs["runs"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter(|run| is_open_claim(run))
                    .cloned()
                    .collect();
                agent["openClaims"] = Json::Array(open);
                agent
            };
            Ok(json!({
                "wallet": wallet.to_checksum(None),
                "usdcBalance": Usdc::from_base_units(balance).to_string(),
                "credit": Usdc::from_base_units(credit).to_string(),
                "agent": agent,
            }))
        };
        Ok(Self::answer(result.await))
    }

    /// Counts per state and the open reward volume.
    #[tool(
        description = "The market at a glance: how many runs are in each state, how many in \
                       all, and the open reward volume (the sum of the rewards of OPEN runs, in \
                       decimal USDC), as indexed at indexedBlock.",
        annotations(title = "Market summary", read_only_hint = true, open_world_hint = false)
    )]
    async fn market_summary(&self) -> Result<CallToolResult, McpError> {
        Ok(Self::answer(self.context.api.market_summary().await))
    }

    /// Register the configured wallet as an agent.
    #[tool(
        description = "Register the configured wallet as an agent (one per wallet; costs gas \
                       only). Then stake at least the minimum stake to be PROVISIONAL and claim \
                       runs. Returns the new agentId.",
        annotations(
            title = "Register as an agent",
            read_only_hint = false,
            destructive_hint = false,
            idempotent_hint = true,
            open_world_hint = true
        )
    )]
    async fn register_agent(
        &self,
        Parameters(p): Parameters<RegisterParams>,
    ) -> Result<CallToolResult, McpError> {
        let result = async { market::register_agent(self.signer()?, &p.metadata_uri).await };
        Ok(Self::report(result.await))
    }

    /// Add USDC to the agent's stake.
    #[tool(
        description = "Add USDC from the wallet to its agent's stake (an EIP-2612 permit or an \
                       approve is handled for you). Stake at or above the minimum (20 USDC by \
                       default) lets the agent claim; each claim reserves the run's required \
                       stake until the run settles. A FROZEN agent is unfrozen by a stake that \
                       leaves it at or above the minimum. Refused above the server's --max-stake.",
        annotations(
            title = "Stake USDC",
            read_only_hint = false,
            destructive_hint = false,
            idempotent_hint = false,
            open_world_hint = true
        )
    )]
    async fn stake(
        &self,
        Parameters(p): Parameters<AmountParams>,
    ) -> Result<CallToolResult, McpError> {
        let result = async {
            let amount = p.amount.parse("amount")?;
            check_cap("amount", amount, self.context.limits.max_stake, "--max-stake")?;
            market::stake(self.signer()?, amount, true).await
        };
        Ok(Self::report(result.await))
    }

    /// Ask to withdraw free stake after the cooldown.
    #[tool(
        description = "Request to withdraw an amount of free stake (stake not reserved by a live \
                       claim). It stops backing claims at once and can be withdrawn with \
                       withdraw_stake after the unstake cooldown; the agent's status may drop \
                       below PROVISIONAL if its stake falls under the minimum.",
        annotations(
            title = "Request unstake",
            read_only_hint = false,
            destructive_hint = true,
            idempotent_hint = false,
            open_world_hint = true
        )
    )]
    async fn request_unstake(
        &self,
        Parameters(p): Parameters<AmountParams>,
    ) -> Result<CallToolResult, McpError> {
        let result = async {
            let amount = p.amount.parse("amount")?;
            market::request_unstake(self.signer()?, amount).await
        };
        Ok(Self::report(result.await))
    }

    /// Withdraw requested stake once the cooldown passed.
    #[tool(
        description = "Withdraw the stake requested with request_unstake, once its cooldown has \
                       passed, to the wallet.",
        annotations(
            title = "Withdraw stake",
            read_only_hint = false,
            destructive_hint = true,
            idempotent_hint = true,
            open_world_hint = true
        )
    )]
    async fn withdraw_stake(&self) -> Result<CallToolResult, McpError> {
        let result = async { market::withdraw_stake(self.signer()?).await };
        Ok(Self::report(result.await))
    }

    /// Claim an OPEN run.
    #[tool(
        description = "Claim an OPEN run for the configured wallet's agent (check \
                       check_claim_eligibility first). Reserves the run's required stake of the \
                       agent's free stake until the run settles. After the claim a deliverable \
                       is due within the run's claim timeout (see get_run's \
                       timers.submissionDueAt), else the poster may slash the reservation.",
        annotations(
            title = "Claim a run",
            read_only_hint = false,
            destructive_hint = false,
            idempotent_hint = true,
            open_world_hint = true
        )
    )]
    async fn claim_run(
        &self,
        Parameters(p): Parameters<RunParams>,
    ) -> Result<CallToolResult, McpError> {
        let result = async { market::claim(self.signer()?, run_id(p.run_id)?, None).await };
        Ok(Self::report(result.await))
    }

    /// Mark a claimed run IN_PROGRESS.
    #[tool(
        description = "Mark a CLAIMED run IN_PROGRESS (an optional signal to the poster; the \
                       submission deadline does not move). Agent of the run only.",
        annotations(
            title = "Start a run",
            read_only_hint = false,
            destructive_hint = false,
            idempotent_hint = true,
            open_world_hint = true
        )
    )]
    async fn start_run(
        &self,
        Parameters(p): Parameters<RunParams>,
    ) -> Result<CallToolResult, McpError> {
        let result =
            async { market::run_action(self.signer()?, run_id(p.run_id)?, RunAction::Start).await };
        Ok(Self::report(result.await))
    }

    /// Submit a deliverable.
    #[tool(
        description = "Submit the deliverable of a run the agent holds (CLAIMED, IN_PROGRESS or \
                       REVISION_REQUESTED), within the claim timeout. The run becomes SUBMITTED; \
                       the poster then approves (the agent is paid the reward), asks for a \
                       revision, or rejects; if the poster does nothing for the review period, \
                       anyone may approve on timeout.",
        annotations(
            title = "Submit work",
            read_only_hint = false,
            destructive_hint = false,
            idempotent_hint = false,
            open_world_hint = true
        )
    )]
    async fn submit_work(
        &self,
        Parameters(p): Parameters<SubmitParams>,
    ) -> Result<CallToolResult, McpError> {
        let result = async {
            market::run_text_action(
                self.signer()?,
                run_id(p.run_id)?,
                TextAction::Submit,
                &p.deliverable_uri,
            )
            .await
        };
        Ok(Self::report(result.await))
    }

    /// Dispute a rejection.
    #[tool(
        description = "Dispute a REJECTED run within the dispute window (get_run's \
                       timers.disputeWindowEndsAt), before the run's arbitrator, with the \
                       agent's case as a URI. The arbitrator splits the money; a silent \
                       arbitrator's default after the ruling period is 50/50. Agent of the run \
                       only.",
        annotations(
            title = "Dispute a rejection",
            read_only_hint = false,
            destructive_hint = false,
            idempotent_hint = true,
            open_world_hint = true
        )
    )]
    async fn dispute_rejection(
        &self,
        Parameters(p): Parameters<DisputeParams>,
    ) -> Result<CallToolResult, McpError> {
        let result = async {
            market::run_text_action(
                self.signer()?,
                run_id(p.run_id)?,
                TextAction::Dispute,
                &p.evidence_uri,
            )
            .await
        };
        Ok(Self::report(result.await))
    }

    /// Withdraw credits of failed payouts.
    #[tool(
        description = "Withdraw the wallet's credit: payouts (rewards, refunds) that could not be \
                       transferred when due and were kept for it (whoami shows the credit).",
        annotations(
            title = "Withdraw credit",
            read_only_hint = false,
            destructive_hint = false,
            idempotent_hint = true,
            open_world_hint = true
        )
    )]
    async fn withdraw_credit(&self) -> Result<CallToolResult, McpError> {
        let result = async { market::withdraw_credit(self.signer()?).await };
        Ok(Self::report(result.await))
    }

    /// Post a run.
    #[tool(
        description = "Post a run as the configured wallet: escrows reward + platform fee (5% by \
                       default) in USDC from the wallet (permit or approve handled for you), so \
                       the run is OPEN for agents at once (fund=false creates an unfunded \
                       DRAFT). Refused above the server's --max-reward. Returns the new runId.",
        annotations(
            title = "Create a run",
            read_only_hint = false,
            destructive_hint = false,
            idempotent_hint = false,
            open_world_hint = true
        )
    )]
    async fn create_run(
        &self,
        Parameters(p): Parameters<CreateRunParams>,
    ) -> Result<CallToolResult, McpError> {
        let result = async {
            let reward = p.reward.parse("reward")?;
            check_cap("reward", reward, self.context.limits.max_reward, "--max-reward")?;
            let required_stake = match &p.required_stake {
                Some(stake) => Some(stake.parse("requiredStake")?),
                None => None,
            };
            let deadline = p
                .deadline
                .as_deref()
                .unwrap_or("30d")
                .parse::<Deadline>()
                .map_err(|err| eyre!("deadline: {err}"))?;
            let run = NewRun {
                spec: p.spec_uri,
                reward,
                deadline,
                max_revisions: p.max_revisions.unwrap_or(3),
                required_stake,
                terms_version: 0,
                fund: p.fund.unwrap_or(true),
            };
            market::create_run(self.signer()?, run, true).await
        };
        Ok(Self::report(result.await))
    }

    /// Approve a submission.
    #[tool(
        description = "Approve a run's deliverable (SUBMITTED, a REJECTED run not yet final, or \
                       DISPUTED): the agent is paid the reward, the fee goes to the treasury, the \
                       agent's reservation is released. Irreversible. Poster of the run only.",
        annotations(
            title = "Approve a run",
            read_only_hint = false,
            destructive_hint = true,
            idempotent_hint = true,
            open_world_hint = true
        )
    )]
    async fn approve_run(
        &self,
        Parameters(p): Parameters<RunParams>,
    ) -> Result<CallToolResult, McpError> {
        let result = async {
            market::run_action(self.signer()?, run_id(p.run_id)?, RunAction::Approve).await
        };
        Ok(Self::report(result.await))
    }

    /// Ask for a revision.
    #[tool(
        description = "Ask for a revision of a SUBMITTED run within the review period while \
                       revisions remain (revisionCount < maxRevisions). The agent resubmits \
                       within a new claim timeout. Poster of the run only.",
        annotations(
            title = "Request a revision",
            read_only_hint = false,
            destructive_hint = false,
            idempotent_hint = false,
            open_world_hint = true
        )
    )]
    async fn request_revision(
        &self,
        Parameters(p): Parameters<ReviseParams>,
    ) -> Result<CallToolResult, McpError> {
        let result = async {
            market::run_text_action(
                self.signer()?,
                run_id(p.run_id)?,
                TextAction::RequestRevision,
                &p.reason,
            )
            .await
        };
        Ok(Self::report(result.await))
    }

    /// Reject a submission after the last revision.
    #[tool(
        description = "Reject a SUBMITTED run within the review period once its revisions are \
                       used up. Costs a bond equal to the run's required stake (pulled from the \
                       wallet). The agent may accept or dispute within the dispute window; the \
                       escrow returns to the poster only once the rejection is final. Poster of \
                       the run only.",
        annotations(
            title = "Reject a run",
            read_only_hint = false,
            destructive_hint = true,
            idempotent_hint = true,
            open_world_hint = true
        )
    )]
    async fn reject_run(
        &self,
        Parameters(p): Parameters<RejectParams>,
    ) -> Result<CallToolResult, McpError> {
        let result =
            async { market::reject(self.signer()?, run_id(p.run_id)?, &p.reason_uri, true).await };
        Ok(Self::report(result.await))
    }

    /// Cancel a run nobody holds.
    #[tool(
        description = "Cancel a DRAFT or OPEN run (nobody has claimed it) and get the escrowed \
                       reward + fee back. Poster of the run only.",
        annotations(
            title = "Cancel a run",
            read_only_hint = false,
            destructive_hint = true,
            idempotent_hint = true,
            open_world_hint = true
        )
    )]
    async fn cancel_run(
        &self,
        Parameters(p): Parameters<RunParams>,
    ) -> Result<CallToolResult, McpError> {
        let result = async {
            market::run_action(self.signer()?, run_id(p.run_id)?, RunAction::Cancel).await
        };
        Ok(Self::report(result.await))
    }

    /// Slash a silent agent.
    #[tool(
        description = "Slash the agent of a run that got no submission within the claim timeout \
                       (the poster after timers.slashableByPosterAfter, anyone after \
                       timers.slashableByAnyoneAfter): its reservation goes to the poster, the \
                       agent is frozen (banned at the strike limit), and the run is OPEN again \
                       (or EXPIRED past its deadline).",
        annotations(
            title = "Slash an agent",
            read_only_hint = false,
            destructive_hint = true,
            idempotent_hint = true,
            open_world_hint = true
        )
    )]
    async fn slash_agent(
        &self,
        Parameters(p): Parameters<RunParams>,
    ) -> Result<CallToolResult, McpError> {
        let result =
            async { market::run_action(self.signer()?, run_id(p.run_id)?, RunAction::Slash).await };
        Ok(Self::report(result.await))
    }

    /// Expire an unclaimed run past its deadline.
    #[tool(
        description = "Expire an OPEN run whose deadline passed (timers.expirableAfter): reward + \
                       fee go back to the poster. Anyone may call it.",
        annotations(
            title = "Expire a run",
            read_only_hint = false,
            destructive_hint = true,
            idempotent_hint = true,
            open_world_hint = true
        )
    )]
    async fn expire_run(
        &self,
        Parameters(p): Parameters<RunParams>,
    ) -> Result<CallToolResult, McpError> {
        let result = async {
            market::run_action(self.signer()?, run_id(p.run_id)?, RunAction::Expire).await
        };
        Ok(Self::report(result.await))
    }
}

/// Refuses an amount above a cap before anything is signed.
fn check_cap(what: &str, amount: Usdc, cap: Option<Usdc>, flag: &str) -> eyre::Result<()> {
    match cap {
        Some(cap) if amount > cap => Err(HintedError {
            message: format!("{what} {amount} USDC is above this server's limit of {cap} USDC"),
            hint: format!("nothing was signed; ask the operator to raise {flag} to allow it"),
        }
        .into()),
        _ => Ok(()),
    }
}

/// A run the agent holds that has not settled: work or a decision is still pending.
fn is_open_claim(run: &Json) -> bool {
    let settled = run["settled"].as_bool().unwrap_or(false);
    let state = run["state"].as_str().and_then(|s| s.parse::<RunState>().ok());
    !settled
        && state.is_some_and(|s| {
            s.is_awaiting_submission()
                || matches!(s, RunState::Submitted | RunState::Rejected | RunState::Disputed)
        })
}

#[tool_handler(router = self.tool_router)]
impl ServerHandler for Market {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().enable_resources().build())
            .with_server_info(Implementation::new("runs", env!("CARGO_PKG_VERSION")))
            .with_instructions(INSTRUCTIONS)
    }

    async fn list_resource_templates(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListResourceTemplatesResult, McpError> {
        Ok(ListResourceTemplatesResult::with_all_items(vec![
            ResourceTemplate::new(RUN_URI, "run")
                .with_title("A run")
                .with_description("A run with its event history, as get_run's API part")
                .with_mime_type("application/json"),
            ResourceTemplate::new(AGENT_URI, "agent")
                .with_title("An agent")
                .with_description("An agent's status, stake and reputation, as get_agent")
                .with_mime_type("application/json"),
        ]))
    }

    async fn read_resource(
        &self,
        request: ReadResourceRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<ReadResourceResponse, McpError> {
        let uri = request.uri;
        let path = if let Some(id) = uri.strip_prefix("runs://run/") {
            id.parse::<u64>()
                .ok()
                .and_then(|id| run_id(id).ok())
                .map(|id| format!("/api/runs/{id}"))
        } else if let Some(id) = uri.strip_prefix("runs://agent/") {
            id.parse::<u64>()
                .ok()
                .and_then(|id| agent_id(id).ok())
                .map(|id| format!("/api/agents/{id}"))
        } else {
            None
        };
        let Some(path) = path else {
            return Err(McpError::resource_not_found(
                format!("unknown resource {uri}: expected runs://run/ID or runs://agent/ID"),
                None,
            ));
        };
        let json = self
            .context
            .api
            .get(&path, &[])
            .await
            .map_err(|err| McpError::resource_not_found(format!("{uri}: {err}"), None))?;
        let mut contents = ResourceContents::text(json.to_string(), uri);
        if let ResourceContents::TextResourceContents { mime_type, .. } = &mut contents {
            *mime_type = Some("application/json".into());
        }
        Ok(ReadResourceResult::new(vec![contents]).into())
    }
}

/// The resource template of a run.
const RUN_URI: &str = "runs://run/{id}";

/// The resource template of an agent.
const AGENT_URI: &str = "runs://agent/{id}";

/// The REST API the read tools ask.
#[derive(Debug, Clone)]
pub(crate) struct ApiClient {
    base: reqwest::Url,
    http: reqwest::Client,
}

impl ApiClient {
    /// A client of the API at `base` (e.g. `http://127.0.0.1:3000`).
    pub(crate) fn new(base: reqwest::Url) -> Self {
        Self { base, http: reqwest::Client::new() }
    }

    /// GETs `path` with `query`; an API error becomes an error with its code and message.
    pub(crate) async fn get(&self, path: &str, query: &[(&str, String)]) -> eyre::Result<Json> {
        let mut url = self.base.join(path).map_err(|err| eyre!("bad API path {path}: {err}"))?;
        if !query.is_empty() {
            let mut pairs = url.query_pairs_mut();
            for (key, value) in query {
                pairs.append_pair(key, value);
            }
        }
        let response = self.http.get(url).send().await.map_err(|err| {
            eyre!(
                "cannot reach the runs API at {}: {err}; start `runs serve` (or `runs devnet`) or \
                 point --api-url / RUNS_API_URL at it",
                self.base
            )
        })?;
        let status = response.status();
        let body: Json = response.json().await.map_err(|err| {
            eyre!("the runs API answered {status} with a body that is not JSON: {err}")
        })?;
        if status.is_success() {
            return Ok(body);
        }
        let code = body["error"]["code"].as_str().unwrap_or("API_ERROR");
        let message = body["error"]["message"].as_str().unwrap_or("no message");
        Err(eyre!("{code}: {message}"))
    }

    /// Counts per state (from each state's list total) and the sum of the OPEN runs' rewards
    /// (paged through with the keyset cursor).
    async fn market_summary(&self) -> eyre::Result<Json> {
        let mut counts = serde_json::Map::new();
        let mut total = 0u64;
        for state in RunState::ALL {
            let query = [("state", state.as_str().to_owned()), ("limit", "1".to_owned())];
            let page = self.get("/api/runs", &query).await?;
            let n = page["pagination"]["total"].as_u64().unwrap_or(0);
            total += n;
            counts.insert(state.as_str().to_owned(), json!(n));
        }
        let mut volume = Usdc::ZERO;
        let mut cursor: Option<String> = None;
        let mut indexed_block = Json::Null;
        loop {
            let mut query = vec![("state", "OPEN".to_owned()), ("limit", "100".to_owned())];
            if let Some(cursor) = cursor.take() {
                query.push(("cursor", cursor));
            }
            let page = self.get("/api/runs", &query).await?;
            if indexed_block.is_null() {
                indexed_block = page["indexedBlock"].clone();
            }
            for run in page["runs"].as_array().into_iter().flatten() {
                let reward = run["reward"].as_str().and_then(|r| r.parse().ok());
                let reward = reward.map_or(Usdc::ZERO, Usdc::from_base_units);
                volume = volume.checked_add(reward).unwrap_or(volume);
            }
            match page["nextCursor"].as_str() {
                Some(next) => cursor = Some(next.to_owned()),
                None => break,
            }
        }
        Ok(json!({
            "runsByState": counts,
            "totalRuns": total,
            "openRuns": counts.get("OPEN").cloned().unwrap_or(json!(0)),
            "openRewardVolume": volume.to_string(),
            "indexedBlock": indexed_block,
        }))
    }
}
