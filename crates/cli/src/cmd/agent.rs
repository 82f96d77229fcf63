//! `runs agent ...`: the agent's side (register, stake, unstake, withdraw, claim, start, submit,
//! abandon, and against a rejection dispute or accept-rejection) and `show`, which reads an agent straight from the chain. The signer's wallet is the agent's
//! wallet; commands that need the agent id look it up from the wallet.

use alloy::primitives::{Address, U256};
use eyre::WrapErr;
use runs_primitives::{AgentId, AgentStatus, RunId, Usdc};

use crate::{
    chain::{Chain, Pull, PullArgs, ReadArgs, SendArgs, agent_status, id, run_state},
    cmd::run::{event_field, report_with_state, withdraw_credit},
    hints::HintedError,
    output::{ActionReport, Record, TxReport, Value, print_record},
};

/// Agent commands.
#[derive(Debug, clap::Subcommand)]
pub(crate) enum AgentCommand {
    /// Register the signer's wallet as a new agent (one per wallet).
    Register(RegisterArgs),
    /// Add USDC to the agent's stake (approval or permit handled for you).
    Stake(AmountArgs),
    /// Request to withdraw AMOUNT of free stake (not reserved by a live claim); it can be
    /// withdrawn after the cooldown.
    Unstake(AmountArgs),
    /// Withdraw the stake requested with `unstake`, once the cooldown has passed.
    Withdraw(SendArgs),
    /// Claim an OPEN run for the signer's agent; reserves the run's required stake until the run
    /// settles, so it needs that much free stake.
    Claim(ClaimArgs),
    /// Mark a claimed run IN_PROGRESS (optional signal to the poster).
    Start(RunArgs),
    /// Submit a deliverable for a claimed run (also a revision) within the claim timeout.
    Submit(SubmitArgs),
    /// Hand a CLAIMED or IN_PROGRESS run back within the claim timeout: it is OPEN again, and the
    /// reservation goes to the poster (no strike, no freeze).
    Abandon(RunArgs),
    /// Dispute a rejection within the dispute window: the run's arbitrator rules on it (or, if
    /// it stays silent past the ruling period, the money is split 50/50).
    Dispute(DisputeArgs),
    /// Accept a rejection at once: it becomes final, the poster is refunded, the reservation
    /// released.
    AcceptRejection(RunArgs),
    /// Withdraw the credits of payouts that failed (e.g. to a blacklisted address).
    WithdrawCredit(SendArgs),
    /// Print an agent as the chain has it now (by id, or by its wallet with --address).
    Show(ShowArgs),
}

/// `runs agent register`.
#[derive(Debug, clap::Args)]
pub(crate) struct RegisterArgs {
    /// Where the agent describes itself (an IPFS or any content URI).
    metadata_uri: String,
    #[command(flatten)]
    tx: SendArgs,
}

/// `runs agent stake` / `unstake`.
#[derive(Debug, clap::Args)]
pub(crate) struct AmountArgs {
    /// Amount in USDC, e.g. 20 or 12.5.
    amount: Usdc,
    #[command(flatten)]
    pull: PullArgs,
    #[command(flatten)]
    tx: SendArgs,
}

/// `runs agent claim`.
#[derive(Debug, clap::Args)]
pub(crate) struct ClaimArgs {
    /// The run to claim.
    run_id: RunId,
    /// The agent to claim for (default: the signer's agent).
    #[arg(long)]
    agent_id: Option<AgentId>,
    #[command(flatten)]
    tx: SendArgs,
}

/// An agent action on one run.
#[derive(Debug, clap::Args)]
pub(crate) struct RunArgs {
    /// The run's id.
    run_id: RunId,
    #[command(flatten)]
    tx: SendArgs,
}

/// `runs agent submit`.
#[derive(Debug, clap::Args)]
pub(crate) struct SubmitArgs {
    /// The run's id.
    run_id: RunId,
    /// Where the deliverable is (an IPFS or any content URI).
    deliverable_uri: String,
    #[command(flatten)]
    tx: SendArgs,
}

/// `runs agent dispute`.
#[derive(Debug, clap::Args)]
pub(crate) struct DisputeArgs {
    /// The rejected run.
    run_id: RunId,
    /// The agent's case (a URI, recorded in the Disputed event for the arbitrator).
    #[arg(long, value_name = "URI")]
    evidence: String,
    #[command(flatten)]
    tx: SendArgs,
}

/// `runs agent show`.
#[derive(Debug, clap::Args)]
pub(crate) struct ShowArgs {
    /// The agent's id.
    #[arg(required_unless_present = "address", conflicts_with = "address")]
    id: Option<AgentId>,
    /// Look the agent up by its wallet instead.
    #[arg(long)]
    address: Option<Address>,
    #[command(flatten)]
    read: ReadArgs,
}

impl AgentCommand {
    pub(crate) async fn run(self) -> eyre::Result<()> {
        match self {
            Self::Register(args) => args.run().await,
            Self::Stake(args) => args.stake().await,
            Self::Unstake(args) => args.unstake().await,
            Self::Withdraw(args) => withdraw(&args).await,
            Self::Claim(args) => args.run().await,
            Self::Start(args) => args.start().await,
            Self::Submit(args) => args.run().await,
            Self::Abandon(args) => args.abandon().await,
            Self::Dispute(args) => args.run().await,
            Self::AcceptRejection(args) => args.accept_rejection().await,
            Self::WithdrawCredit(args) => withdraw_credit(&args).await,
            Self::Show(args) => args.run().await,
        }
    }
}

impl RegisterArgs {
    async fn run(self) -> eyre::Result<()> {
        let chain = self.tx.connect().await?;
        let vault = chain.vault();
        let call = vault.register(self.metadata_uri.clone());
        let tx = chain.send("StakeVault.register", call).await?;
        let agent_id = event_field(std::slice::from_ref(&tx), "AgentRegistered", "agentId");
        let summary = match &agent_id {
            Some(Value::Id(id)) => format!(
                "agent {id} registered for {}; stake at least the minimum to claim runs \
                 (`runs agent stake 20`)",
                chain.sender()?
            ),
            _ => "agent registered".to_owned(),
        };
        let result = Record::new().with("agentId", agent_id.unwrap_or(Value::None));
        let now = chain.now().await?;
        ActionReport { transactions: vec![tx], result, summary, now }.print(self.tx.output.json)?;
        Ok(())
    }
}

impl AmountArgs {
    async fn stake(self) -> eyre::Result<()> {
        let chain = self.tx.connect().await?;
        let vault = chain.vault();
        let amount = self.amount.base_units();
        let agent_id = own_agent(&chain).await?;
        let label = format!("StakeVault.stake({})", self.amount);
        let mut transactions = Vec::new();
        if agent_id.is_zero() {
            // Unregistered: the plain call's decoded revert says so, before any allowance is set.
            transactions.push(chain.send(&label, vault.stake(amount)).await?);
        } else {
            match chain
                .prepare_pull(*vault.address(), self.amount, "stake", !self.pull.no_permit)
                .await?
            {
                Pull::Permit(p) => {
                    let call = vault.stakeWithPermit(amount, p.deadline, p.v, p.r, p.s);
                    let label = format!("StakeVault.stakeWithPermit({})", self.amount);
                    transactions.push(chain.send(&label, call).await?);
                }
                Pull::Approved(approval) => {
                    transactions.push(approval);
                    transactions.push(chain.send(&label, vault.stake(amount)).await?);
                }
                Pull::Ready => transactions.push(chain.send(&label, vault.stake(amount)).await?),
            }
        }
        report_agent(&chain, agent_id, transactions, self.tx.output.json).await
    }

    async fn unstake(self) -> eyre::Result<()> {
        let chain = self.tx.connect().await?;
        let agent_id = own_agent(&chain).await?;
        let vault = chain.vault();
        let call = vault.requestUnstake(self.amount.base_units());
        let tx = chain.send(&format!("StakeVault.requestUnstake({})", self.amount), call).await?;
        report_agent(&chain, agent_id, vec![tx], self.tx.output.json).await
    }
}

async fn withdraw(args: &SendArgs) -> eyre::Result<()> {
    let chain = args.connect().await?;
    let agent_id = own_agent(&chain).await?;
    let tx = chain.send("StakeVault.withdrawStake", chain.vault().withdrawStake()).await?;
    report_agent(&chain, agent_id, vec![tx], args.output.json).await
}

impl ClaimArgs {
    async fn run(self) -> eyre::Result<()> {
        let chain = self.tx.connect().await?;
        let agent_id = match self.agent_id {
            Some(id) => id.to_u256(),
            None => {
                let id = own_agent(&chain).await?;
                if id.is_zero() {
                    return Err(HintedError {
                        message: format!("{} is not registered as an agent", chain.sender()?),
                        hint: "register first: `runs agent register METADATA_URI`, then stake \
                               (`runs agent stake 20`)"
                            .into(),
                    }
                    .into());
                }
                id
            }
        };
        let escrow = chain.escrow();
        let call = escrow.claim(self.run_id.to_u256(), agent_id);
        let tx = chain.send(&format!("RunEscrow.claim({}, {agent_id})", self.run_id), call).await?;
        report_run(&chain, self.run_id, vec![tx], self.tx.output.json).await
    }
}

impl RunArgs {
    async fn start(self) -> eyre::Result<()> {
        let chain = self.tx.connect().await?;
        let escrow = chain.escrow();
        let call = escrow.start(self.run_id.to_u256());
        let tx = chain.send(&format!("RunEscrow.start({})", self.run_id), call).await?;
        report_run(&chain, self.run_id, vec![tx], self.tx.output.json).await
    }

    async fn abandon(self) -> eyre::Result<()> {
        let chain = self.tx.connect().await?;
        let escrow = chain.escrow();
        let call = escrow.abandon(self.run_id.to_u256());
        let tx = chain.send(&format!("RunEscrow.abandon({})", self.run_id), call).await?;
        report_with_state(&chain, self.run_id, vec![tx], self.tx.output.json).await
    }

    async fn accept_rejection(self) -> eyre::Result<()> {
        let chain = self.tx.connect().await?;
        let escrow = chain.escrow();
        let call = escrow.acceptRejection(self.run_id.to_u256());
        let tx = chain.send(&format!("RunEscrow.acceptRejection({})", self.run_id), call).await?;
        report_with_state(&chain, self.run_id, vec![tx], self.tx.output.json).await
    }
}

impl DisputeArgs {
    async fn run(self) -> eyre::Result<()> {
        let chain = self.tx.connect().await?;
        let escrow = chain.escrow();
        let call = escrow.dispute(self.run_id.to_u256(), self.evidence.clone());
        let tx = chain.send(&format!("RunEscrow.dispute({})", self.run_id), call).await?;
        report_with_state(&chain, self.run_id, vec![tx], self.tx.output.json).await
    }
}

impl SubmitArgs {
    async fn run(self) -> eyre::Result<()> {
        let chain = self.tx.connect().await?;
        let escrow = chain.escrow();
        let call = escrow.submit(self.run_id.to_u256(), self.deliverable_uri.clone());
        let tx = chain.send(&format!("RunEscrow.submit({})", self.run_id), call).await?;
        report_run(&chain, self.run_id, vec![tx], self.tx.output.json).await
    }
}

impl ShowArgs {
    async fn run(self) -> eyre::Result<()> {
        let chain = self.read.connect().await?;
        let vault = chain.vault();
        let agent_id = match (self.id, self.address) {
            (Some(id), _) => id.to_u256(),
            (None, Some(address)) => {
                let id = chain.view("StakeVault.agentIdOf", vault.agentIdOf(address)).await?;
                if id.is_zero() {
                    return Err(HintedError {
                        message: format!("{address} is not registered as an agent"),
                        hint: "register with `runs agent register METADATA_URI`".into(),
                    }
                    .into());
                }
                id
            }
            (None, None) => unreachable!("clap requires an id or --address"),
        };
        let agent = chain
            .view(&format!("StakeVault.getAgent({agent_id})"), vault.getAgent(agent_id))
            .await?;
        let min_stake = chain.view("StakeVault.parameters", vault.parameters()).await?.minStake;
        let free = agent.stake.saturating_sub(agent.reserved);
        let credit =
            chain.view("RunEscrow.creditOf", chain.escrow().creditOf(agent.wallet)).await?;
        let now = chain.now().await?;
        let status = AgentStatus::try_from(agent.status)
            .wrap_err("the contract returned an unknown agent status")?;
        let record = Record::new()
            .with("agentId", id(agent_id))
            .with("wallet", Value::Address(agent.wallet))
            .with("status", Value::AgentStatus(status))
            .with("stake", Value::amount(agent.stake))
            // Reserved by live claims until they settle; only free stake backs a new claim or
            // can be unstaked.
            .with("reservedStake", Value::amount(agent.reserved))
            .with("freeStake", Value::amount(free))
            .with("minStake", Value::amount(U256::from(min_stake)))
            .with("hasMinStake", Value::Bool(agent.stake >= U256::from(min_stake)))
            .with("pendingUnstake", Value::amount(agent.pendingUnstake))
            .with("unstakeReadyAt", Value::Time(agent.unstakeReadyAt))
            .with("stakedSince", Value::Time(agent.stakedSince))
            .with("claims", Value::Count(agent.claims.into()))
            .with("completions", Value::Count(agent.completions.into()))
            .with("strikes", Value::Count(agent.strikes.into()))
            .with("rejections", Value::Count(agent.rejections.into()))
            .with("disputesWon", Value::Count(agent.disputesWon.into()))
            .with("disputesLost", Value::Count(agent.disputesLost.into()))
            .with("volume", Value::amount(agent.volume))
            .with("frozen", Value::Bool(agent.frozen))
            .with("banned", Value::Bool(agent.banned))
            .with("credit", Value::amount(credit))
            .with("chainTime", Value::Time(now));
        print_record(&record, self.read.output.json, now)?;
        Ok(())
    }
}

/// The signer's agent id, 0 when the wallet has none.
async fn own_agent(chain: &Chain) -> eyre::Result<U256> {
    let vault = chain.vault();
    chain.view("StakeVault.agentIdOf", vault.agentIdOf(chain.sender()?)).await
}

/// Prints the transactions and the agent's stake and status after them.
async fn report_agent(
    chain: &Chain,
    agent_id: U256,
    transactions: Vec<TxReport>,
    json: bool,
) -> eyre::Result<()> {
    let agent = chain.view("StakeVault.getAgent", chain.vault().getAgent(agent_id)).await?;
    let status = agent_status(agent.status);
    let summary = format!(
        "agent {agent_id}: stake {} USDC ({} reserved), pending {} USDC, {}",
        Usdc::from_base_units(agent.stake),
        Usdc::from_base_units(agent.reserved),
        Usdc::from_base_units(agent.pendingUnstake),
        match &status {
            Value::AgentStatus(s) => s.as_str(),
            _ => "unknown status",
        }
    );
    let result = Record::new()
        .with("agentId", id(agent_id))
        .with("stake", Value::amount(agent.stake))
        .with("reservedStake", Value::amount(agent.reserved))
        .with("freeStake", Value::amount(agent.stake.saturating_sub(agent.reserved)))
        .with("pendingUnstake", Value::amount(agent.pendingUnstake))
        .with("status", status);
    let now = chain.now().await?;
    ActionReport { transactions, result, summary, now }.print(json)?;
    Ok(())
}

/// Prints the transactions and the run's state after them.
async fn report_run(
    chain: &Chain,
    run_id: RunId,
    transactions: Vec<TxReport>,
    json: bool,
) -> eyre::Result<()> {
    let run = chain.view("RunEscrow.getRun", chain.escrow().getRun(run_id.to_u256())).await?;
    let state = run_state(run.state);
    let due = u64::from(run.terms.claimTimeout) + run.timerStart;
    let summary = match &state {
        Value::RunState(s) if s.is_awaiting_submission() => format!(
            "run {run_id} is {s}; submit by {} or risk a slash",
            crate::output::iso8601(due)
        ),
        Value::RunState(s) => format!("run {run_id} is {s}"),
        _ => format!("run {run_id} updated"),
    };
    let result = Record::new().with("runId", Value::Id(run_id.get())).with("state", state);
    let now = chain.now().await?;
    ActionReport { transactions, result, summary, now }.print(json)?;
    Ok(())
}
