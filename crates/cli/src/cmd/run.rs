//! `runs run ...`: the poster's side of a run (create, fund, cancel, approve, revise, reject),
//! the actions anyone may take once a timer ran out (slash, expire, approve-timeout,
//! finalize-rejection, settle-dispute), and `show`, which reads a run straight from the chain.
//!
//! `--deadline` takes either a unix time in seconds (`1767225600`) or a duration from now
//! (`30d`, `36h`, `90m`, `3600s`, `2w`), where "now" is the chain's latest block time, so that
//! it also means what it says on an Anvil whose clock was moved forward.

use runs_primitives::{RunId, Usdc};

use crate::{
    args::{PullArgs, ReadArgs, SendArgs},
    market::{self, Deadline, NewRun, RunAction, TextAction},
    output::print_record,
};

/// Poster commands, the timeout actions anyone may take, and `show`.
#[derive(Debug, clap::Subcommand)]
pub(crate) enum RunCommand {
    /// Create a run: escrow reward + fee at once (OPEN), or only a DRAFT with --no-fund.
    Create(CreateArgs),
    /// Fund a DRAFT run: escrow its reward + fee (-> OPEN).
    Fund(FundArgs),
    /// Cancel a DRAFT or OPEN run and get the escrow back (poster).
    Cancel(RunArgs),
    /// Approve a SUBMITTED, REJECTED (not yet final) or DISPUTED run: reward to the agent, fee to
    /// the treasury (poster).
    Approve(RunArgs),
    /// Ask for a revision of a SUBMITTED run within the review period while revisions remain
    /// (poster).
    Revise(ReviseArgs),
    /// Reject a SUBMITTED run within the review period once its revisions are used up (poster).
    /// Posts a bond equal to the run's required stake; the agent may dispute within the dispute
    /// window, and the money goes back to the poster only once the rejection is final.
    Reject(RejectArgs),
    /// Make a rejection final after the dispute window passed without a dispute: reward + fee +
    /// bond back to the poster, the agent's reservation released (anyone).
    FinalizeRejection(RunArgs),
    /// Settle a dispute the arbitrator did not rule on within the ruling period: the default
    /// 50/50 split, both stakes returned (anyone).
    SettleDispute(RunArgs),
    /// Slash the agent of a run that got no submission within the claim timeout (poster; anyone
    /// after a further review period). The stake taken goes to the poster; the run reopens.
    Slash(RunArgs),
    /// Expire an OPEN run past its deadline and refund the poster (anyone).
    Expire(RunArgs),
    /// Approve a SUBMITTED run whose review period passed without a decision (anyone).
    ApproveTimeout(RunArgs),
    /// Withdraw the credits of payouts that failed (e.g. a refund to a blacklisted address).
    WithdrawCredit(SendArgs),
    /// Print a run as the chain has it now.
    Show(ShowArgs),
}

/// `runs run create`.
#[derive(Debug, clap::Args)]
pub(crate) struct CreateArgs {
    /// Where the work is described (an IPFS or any content URI).
    #[arg(long, value_name = "URI")]
    spec: String,
    /// Reward for the agent, in USDC (e.g. 12.5); the platform fee is added on top.
    #[arg(long, value_name = "USDC")]
    reward: Usdc,
    /// Last time the run can be claimed: unix seconds, or a duration from now (7d, 36h, 90m).
    #[arg(long, value_name = "TIME", default_value = "30d")]
    deadline: Deadline,
    /// Revisions the poster may request before having to approve or reject (at most 10).
    #[arg(long, value_name = "N", default_value_t = 3)]
    max_revisions: u8,
    /// Stake the claimant must reserve, in USDC, and the bond a rejection costs the poster
    /// [default: the minimum stake].
    #[arg(long, value_name = "USDC")]
    required_stake: Option<Usdc>,
    /// The terms version the poster read and accepts; the call reverts if the owner changed the
    /// terms since [default: 0, whatever is current].
    #[arg(long, value_name = "VERSION", default_value_t = 0)]
    terms_version: u64,
    /// Escrow reward + fee in the same transaction (the default): the run is OPEN at once.
    #[arg(long, overrides_with = "no_fund")]
    fund: bool,
    /// Only create a DRAFT; fund it later with `runs run fund ID`.
    #[arg(long)]
    no_fund: bool,
    #[command(flatten)]
    pull: PullArgs,
    #[command(flatten)]
    tx: SendArgs,
}

/// `runs run fund`.
#[derive(Debug, clap::Args)]
pub(crate) struct FundArgs {
    /// The run's id.
    id: RunId,
    #[command(flatten)]
    pull: PullArgs,
    #[command(flatten)]
    tx: SendArgs,
}

/// A poster or timeout action on one run.
#[derive(Debug, clap::Args)]
pub(crate) struct RunArgs {
    /// The run's id.
    id: RunId,
    #[command(flatten)]
    tx: SendArgs,
}

/// `runs run reject`.
#[derive(Debug, clap::Args)]
pub(crate) struct RejectArgs {
    /// The run's id.
    id: RunId,
    /// Why (a URI of the reasons, recorded in the Rejected event and shown to the arbitrator).
    #[arg(long, value_name = "URI")]
    reason: String,
    #[command(flatten)]
    pull: PullArgs,
    #[command(flatten)]
    tx: SendArgs,
}

/// `runs run revise`.
#[derive(Debug, clap::Args)]
pub(crate) struct ReviseArgs {
    /// The run's id.
    id: RunId,
    /// What to change (recorded in the RevisionRequested event).
    #[arg(long)]
    reason: String,
    #[command(flatten)]
    tx: SendArgs,
}

/// `runs run show`.
#[derive(Debug, clap::Args)]
pub(crate) struct ShowArgs {
    /// The run's id.
    id: RunId,
    #[command(flatten)]
    read: ReadArgs,
}

impl RunCommand {
    pub(crate) async fn run(self) -> eyre::Result<()> {
        match self {
            Self::Create(args) => args.run().await,
            Self::Fund(args) => args.run().await,
            Self::Cancel(args) => args.simple(RunAction::Cancel).await,
            Self::Approve(args) => args.simple(RunAction::Approve).await,
            Self::Revise(args) => args.run().await,
            Self::Reject(args) => args.run().await,
            Self::FinalizeRejection(args) => args.simple(RunAction::FinalizeRejection).await,
            Self::SettleDispute(args) => args.simple(RunAction::SettleDispute).await,
            Self::Slash(args) => args.simple(RunAction::Slash).await,
            Self::Expire(args) => args.simple(RunAction::Expire).await,
            Self::ApproveTimeout(args) => args.simple(RunAction::ApproveOnTimeout).await,
            Self::WithdrawCredit(args) => withdraw_credit(&args).await,
            Self::Show(args) => args.run().await,
        }
    }
}

impl CreateArgs {
    async fn run(self) -> eyre::Result<()> {
        let chain = self.tx.connect().await?;
        let run = NewRun {
            spec: self.spec,
            reward: self.reward,
            deadline: self.deadline,
            max_revisions: self.max_revisions,
            required_stake: self.required_stake,
            terms_version: self.terms_version,
            fund: !self.no_fund,
        };
        market::create_run(&chain, run, !self.pull.no_permit).await?.print(self.tx.output.json)?;
        Ok(())
    }
}

impl FundArgs {
    async fn run(self) -> eyre::Result<()> {
        let chain = self.tx.connect().await?;
        market::fund_run(&chain, self.id, !self.pull.no_permit)
            .await?
            .print(self.tx.output.json)?;
        Ok(())
    }
}

impl RunArgs {
    /// One of the single-call actions on a run (also the agent's `start`, `abandon`, ...).
    pub(crate) async fn simple(self, action: RunAction) -> eyre::Result<()> {
        let chain = self.tx.connect().await?;
        market::run_action(&chain, self.id, action).await?.print(self.tx.output.json)?;
        Ok(())
    }
}

impl RejectArgs {
    async fn run(self) -> eyre::Result<()> {
        let chain = self.tx.connect().await?;
        let report = market::reject(&chain, self.id, &self.reason, !self.pull.no_permit).await?;
        report.print(self.tx.output.json)?;
        Ok(())
    }
}

impl ReviseArgs {
    async fn run(self) -> eyre::Result<()> {
        let chain = self.tx.connect().await?;
        market::run_text_action(&chain, self.id, TextAction::RequestRevision, &self.reason)
            .await?
            .print(self.tx.output.json)?;
        Ok(())
    }
}

/// `runs run withdraw-credit` and `runs agent withdraw-credit`: the same escrow call.
pub(crate) async fn withdraw_credit(args: &SendArgs) -> eyre::Result<()> {
    let chain = args.connect().await?;
    market::withdraw_credit(&chain).await?.print(args.output.json)?;
    Ok(())
}

impl ShowArgs {
    async fn run(self) -> eyre::Result<()> {
        let chain = self.read.connect().await?;
        let (record, now) = market::show_run(&chain, self.id).await?;
        print_record(&record, self.read.output.json, now)?;
        Ok(())
    }
}
