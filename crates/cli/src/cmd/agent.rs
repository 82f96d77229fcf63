//! `runs agent ...`: the agent's side (register, stake, unstake, withdraw, claim, start, submit,
//! abandon, and against a rejection dispute or accept-rejection) and `show`, which reads an agent straight from the chain. The signer's wallet is the agent's
//! wallet; commands that need the agent id look it up from the wallet.

use alloy::primitives::Address;
use runs_primitives::{AgentId, RunId, Usdc};

use crate::{
    args::{PullArgs, ReadArgs, SendArgs},
    cmd::run::withdraw_credit,
    hints::HintedError,
    market::{self, RunAction, TextAction},
    output::print_record,
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
            Self::Start(args) => args.simple(RunAction::Start).await,
            Self::Submit(args) => args.run().await,
            Self::Abandon(args) => args.simple(RunAction::Abandon).await,
            Self::Dispute(args) => args.run().await,
            Self::AcceptRejection(args) => args.simple(RunAction::AcceptRejection).await,
            Self::WithdrawCredit(args) => withdraw_credit(&args).await,
            Self::Show(args) => args.run().await,
        }
    }
}

impl RegisterArgs {
    async fn run(self) -> eyre::Result<()> {
        let chain = self.tx.connect().await?;
        market::register_agent(&chain, &self.metadata_uri).await?.print(self.tx.output.json)?;
        Ok(())
    }
}

impl AmountArgs {
    async fn stake(self) -> eyre::Result<()> {
        let chain = self.tx.connect().await?;
        let report = market::stake(&chain, self.amount, !self.pull.no_permit).await?;
        report.print(self.tx.output.json)?;
        Ok(())
    }

    async fn unstake(self) -> eyre::Result<()> {
        let chain = self.tx.connect().await?;
        market::request_unstake(&chain, self.amount).await?.print(self.tx.output.json)?;
        Ok(())
    }
}

async fn withdraw(args: &SendArgs) -> eyre::Result<()> {
    let chain = args.connect().await?;
    market::withdraw_stake(&chain).await?.print(args.output.json)?;
    Ok(())
}

impl ClaimArgs {
    async fn run(self) -> eyre::Result<()> {
        let chain = self.tx.connect().await?;
        market::claim(&chain, self.run_id, self.agent_id).await?.print(self.tx.output.json)?;
        Ok(())
    }
}

impl RunArgs {
    async fn simple(self, action: RunAction) -> eyre::Result<()> {
        let chain = self.tx.connect().await?;
        market::run_action(&chain, self.run_id, action).await?.print(self.tx.output.json)?;
        Ok(())
    }
}

impl DisputeArgs {
    async fn run(self) -> eyre::Result<()> {
        let chain = self.tx.connect().await?;
        market::run_text_action(&chain, self.run_id, TextAction::Dispute, &self.evidence)
            .await?
            .print(self.tx.output.json)?;
        Ok(())
    }
}

impl SubmitArgs {
    async fn run(self) -> eyre::Result<()> {
        let chain = self.tx.connect().await?;
        let report =
            market::run_text_action(&chain, self.run_id, TextAction::Submit, &self.deliverable_uri)
                .await?;
        report.print(self.tx.output.json)?;
        Ok(())
    }
}

impl ShowArgs {
    async fn run(self) -> eyre::Result<()> {
        let chain = self.read.connect().await?;
        let agent_id = match (self.id, self.address) {
            (Some(id), _) => id.to_u256(),
            (None, Some(address)) => {
                let vault = chain.vault();
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
        let (record, now) = market::show_agent(&chain, agent_id).await?;
        print_record(&record, self.read.output.json, now)?;
        Ok(())
    }
}
