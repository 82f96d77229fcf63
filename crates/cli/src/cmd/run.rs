//! `runs run ...`: the poster's side of a run (create, fund, cancel, approve, revise, reject),
//! the actions anyone may take once a timer ran out (slash, expire, approve-timeout,
//! finalize-rejection, settle-dispute), and `show`, which reads a run straight from the chain.
//!
//! `--deadline` takes either a unix time in seconds (`1767225600`) or a duration from now
//! (`30d`, `36h`, `90m`, `3600s`, `2w`), where "now" is the chain's latest block time, so that
//! it also means what it says on an Anvil whose clock was moved forward.

use std::str::FromStr;

use alloy::primitives::U256;
use eyre::WrapErr;
use runs_primitives::{RunId, RunState, Usdc};

use crate::{
    chain::{Chain, Pull, PullArgs, ReadArgs, SendArgs, id, run_state},
    output::{ActionReport, Record, TxReport, Value, iso8601, print_record},
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
            Self::Cancel(args) => args.simple(Action::Cancel).await,
            Self::Approve(args) => args.simple(Action::Approve).await,
            Self::Revise(args) => args.run().await,
            Self::Reject(args) => args.run().await,
            Self::FinalizeRejection(args) => args.simple(Action::FinalizeRejection).await,
            Self::SettleDispute(args) => args.simple(Action::SettleDispute).await,
            Self::Slash(args) => args.simple(Action::Slash).await,
            Self::Expire(args) => args.simple(Action::Expire).await,
            Self::ApproveTimeout(args) => args.simple(Action::ApproveOnTimeout).await,
            Self::WithdrawCredit(args) => withdraw_credit(&args).await,
            Self::Show(args) => args.run().await,
        }
    }
}

impl CreateArgs {
    async fn run(self) -> eyre::Result<()> {
        let chain = self.tx.connect().await?;
        let escrow = chain.escrow();
        let now = chain.now().await?;
        let deadline = U256::from(self.deadline.resolve(now));
        let max_revisions = U256::from(self.max_revisions);
        let reward = self.reward.base_units();
        let spec = self.spec.clone();
        let stake = self.required_stake.map_or(U256::ZERO, Usdc::base_units);
        let terms = U256::from(self.terms_version);

        let mut transactions = Vec::new();
        if self.no_fund {
            let call = escrow.createRun(spec, reward, deadline, max_revisions, stake, terms);
            transactions.push(chain.send("RunEscrow.createRun", call).await?);
        } else {
            // The fee of the terms the run will be created under: those the poster named, else
            // the current ones (a mismatch reverts with RunEscrowTermsChanged anyway).
            let fee_bps = if self.terms_version == 0 {
                chain.view("RunEscrow.parameters", escrow.parameters()).await?.terms.feeBps
            } else {
                chain.view("RunEscrow.termsAt", escrow.termsAt(terms)).await?.feeBps
            };
            let fee = self.reward.fee_for(fee_bps);
            let total = self.reward.checked_add(fee).unwrap_or(self.reward);
            let what = format!("reward {} + fee {fee}", self.reward);
            let pull =
                chain.prepare_pull(*escrow.address(), total, &what, !self.pull.no_permit).await?;
            let tx = match pull {
                Pull::Permit(p) => {
                    let permit = (p.deadline, p.v, p.r, p.s).into();
                    let call = escrow.createAndFundWithPermit(
                        spec,
                        reward,
                        deadline,
                        max_revisions,
                        stake,
                        terms,
                        permit,
                    );
                    chain.send("RunEscrow.createAndFundWithPermit", call).await?
                }
                Pull::Approved(approval) => {
                    transactions.push(approval);
                    let call =
                        escrow.createAndFund(spec, reward, deadline, max_revisions, stake, terms);
                    chain.send("RunEscrow.createAndFund", call).await?
                }
                Pull::Ready => {
                    let call =
                        escrow.createAndFund(spec, reward, deadline, max_revisions, stake, terms);
                    chain.send("RunEscrow.createAndFund", call).await?
                }
            };
            transactions.push(tx);
        }

        let run_id = event_field(&transactions, "RunCreated", "runId");
        let summary = match (&run_id, self.no_fund) {
            (Some(Value::Id(id)), true) => {
                format!("run {id} created as DRAFT; escrow its reward with `runs run fund {id}`")
            }
            (Some(Value::Id(id)), false) => format!("run {id} created and funded: OPEN"),
            _ => "run created".to_owned(),
        };
        let result = Record::new().with("runId", run_id.unwrap_or(Value::None));
        ActionReport { transactions, result, summary, now }.print(self.tx.output.json)?;
        Ok(())
    }
}

impl FundArgs {
    async fn run(self) -> eyre::Result<()> {
        let chain = self.tx.connect().await?;
        let escrow = chain.escrow();
        let run_id = self.id.to_u256();
        let label = format!("RunEscrow.fund({})", self.id);
        let run =
            chain.view(&format!("RunEscrow.getRun({})", self.id), escrow.getRun(run_id)).await?;

        let mut transactions = Vec::new();
        // Only a DRAFT of the signer's can be funded: otherwise send the plain call, whose
        // revert (decoded) says exactly what is wrong, before touching any allowance.
        if run.state == RunState::Draft.as_u8() && run.poster == chain.sender()? {
            let total = Usdc::from_base_units(run.reward.saturating_add(run.fee));
            let what = format!(
                "reward {} + fee {}",
                Usdc::from_base_units(run.reward),
                Usdc::from_base_units(run.fee)
            );
            match chain.prepare_pull(*escrow.address(), total, &what, !self.pull.no_permit).await? {
                Pull::Permit(p) => {
                    let permit = (p.deadline, p.v, p.r, p.s).into();
                    let call = escrow.fundWithPermit(run_id, permit);
                    transactions.push(
                        chain.send(&format!("RunEscrow.fundWithPermit({})", self.id), call).await?,
                    );
                }
                Pull::Approved(approval) => {
                    transactions.push(approval);
                    transactions.push(chain.send(&label, escrow.fund(run_id)).await?);
                }
                Pull::Ready => {
                    transactions.push(chain.send(&label, escrow.fund(run_id)).await?);
                }
            }
        } else {
            transactions.push(chain.send(&label, escrow.fund(run_id)).await?);
        }
        let now = chain.now().await?;
        let summary = format!("run {} funded: OPEN", self.id);
        let result = Record::new().with("runId", Value::Id(self.id.get()));
        ActionReport { transactions, result, summary, now }.print(self.tx.output.json)?;
        Ok(())
    }
}

/// The single-call actions on one run.
#[derive(Debug, Clone, Copy)]
enum Action {
    Cancel,
    Approve,
    Slash,
    FinalizeRejection,
    SettleDispute,
    Expire,
    ApproveOnTimeout,
}

impl RunArgs {
    async fn simple(self, action: Action) -> eyre::Result<()> {
        let chain = self.tx.connect().await?;
        let escrow = chain.escrow();
        let run_id = self.id.to_u256();
        let id = self.id;
        let tx = match action {
            Action::Cancel => {
                chain.send(&format!("RunEscrow.cancel({id})"), escrow.cancel(run_id)).await?
            }
            Action::Approve => {
                chain.send(&format!("RunEscrow.approve({id})"), escrow.approve(run_id)).await?
            }
            Action::FinalizeRejection => {
                let call = escrow.finalizeRejection(run_id);
                chain.send(&format!("RunEscrow.finalizeRejection({id})"), call).await?
            }
            Action::SettleDispute => {
                let call = escrow.settleDispute(run_id);
                chain.send(&format!("RunEscrow.settleDispute({id})"), call).await?
            }
            Action::Slash => {
                chain.send(&format!("RunEscrow.slash({id})"), escrow.slash(run_id)).await?
            }
            Action::Expire => {
                chain.send(&format!("RunEscrow.expire({id})"), escrow.expire(run_id)).await?
            }
            Action::ApproveOnTimeout => {
                let call = escrow.approveOnTimeout(run_id);
                chain.send(&format!("RunEscrow.approveOnTimeout({id})"), call).await?
            }
        };
        report_with_state(&chain, self.id, vec![tx], self.tx.output.json).await
    }
}

impl RejectArgs {
    async fn run(self) -> eyre::Result<()> {
        let chain = self.tx.connect().await?;
        let escrow = chain.escrow();
        let run_id = self.id.to_u256();
        let label = format!("RunEscrow.reject({})", self.id);
        let reject = || escrow.reject(run_id, self.reason.clone());
        let run =
            chain.view(&format!("RunEscrow.getRun({})", self.id), escrow.getRun(run_id)).await?;

        let mut transactions = Vec::new();
        // Only the poster of a SUBMITTED run can reject: otherwise send the plain call, whose
        // revert (decoded) says exactly what is wrong, before touching any allowance.
        if run.state == RunState::Submitted.as_u8() && run.poster == chain.sender()? {
            let bond = Usdc::from_base_units(run.requiredStake);
            let what = format!("the rejection bond, run {}'s required stake", self.id);
            match chain.prepare_pull(*escrow.address(), bond, &what, !self.pull.no_permit).await? {
                Pull::Permit(p) => {
                    let permit = (p.deadline, p.v, p.r, p.s).into();
                    let call = escrow.rejectWithPermit(run_id, self.reason.clone(), permit);
                    let label = format!("RunEscrow.rejectWithPermit({})", self.id);
                    transactions.push(chain.send(&label, call).await?);
                }
                Pull::Approved(approval) => {
                    transactions.push(approval);
                    transactions.push(chain.send(&label, reject()).await?);
                }
                Pull::Ready => transactions.push(chain.send(&label, reject()).await?),
            }
        } else {
            transactions.push(chain.send(&label, reject()).await?);
        }
        report_with_state(&chain, self.id, transactions, self.tx.output.json).await
    }
}

impl ReviseArgs {
    async fn run(self) -> eyre::Result<()> {
        let chain = self.tx.connect().await?;
        let escrow = chain.escrow();
        let call = escrow.requestRevision(self.id.to_u256(), self.reason.clone());
        let tx = chain.send(&format!("RunEscrow.requestRevision({})", self.id), call).await?;
        report_with_state(&chain, self.id, vec![tx], self.tx.output.json).await
    }
}

/// Prints the transactions and the run's state after them.
pub(crate) async fn report_with_state(
    chain: &Chain,
    id: RunId,
    transactions: Vec<TxReport>,
    json: bool,
) -> eyre::Result<()> {
    let run = chain.view("RunEscrow.getRun", chain.escrow().getRun(id.to_u256())).await?;
    let state = run_state(run.state);
    let summary = match &state {
        Value::RunState(RunState::Rejected) if run.settled => {
            format!("run {id} is REJECTED, final: the poster is refunded")
        }
        Value::RunState(RunState::Rejected) => format!(
            "run {id} is REJECTED; the agent may dispute until {}, then anyone makes it final",
            iso8601(run.timerStart + u64::from(run.terms.disputeWindow))
        ),
        Value::RunState(RunState::Disputed) => format!(
            "run {id} is DISPUTED; the arbitrator {} rules by {}",
            run.terms.arbitrator,
            iso8601(run.timerStart + u64::from(run.terms.rulingPeriod))
        ),
        Value::RunState(state) => format!("run {id} is {state}"),
        _ => format!("run {id} updated"),
    };
    let result = Record::new()
        .with("runId", Value::Id(id.get()))
        .with("state", state)
        .with("settled", Value::Bool(run.settled));
    let now = chain.now().await?;
    ActionReport { transactions, result, summary, now }.print(json)?;
    Ok(())
}

/// `runs run withdraw-credit` and `runs agent withdraw-credit`: the same escrow call.
pub(crate) async fn withdraw_credit(args: &SendArgs) -> eyre::Result<()> {
    let chain = args.connect().await?;
    let tx = chain.send("RunEscrow.withdrawCredit", chain.escrow().withdrawCredit()).await?;
    let amount = event_field(std::slice::from_ref(&tx), "CreditWithdrawn", "amount");
    let summary = match &amount {
        Some(Value::Amount(units)) => {
            format!("withdrew {} USDC of credit", Usdc::from_base_units(*units))
        }
        _ => "credit withdrawn".to_owned(),
    };
    let result = Record::new().with("amount", amount.unwrap_or(Value::None));
    let now = chain.now().await?;
    ActionReport { transactions: vec![tx], result, summary, now }.print(args.output.json)?;
    Ok(())
}

impl ShowArgs {
    async fn run(self) -> eyre::Result<()> {
        let chain = self.read.connect().await?;
        let escrow = chain.escrow();
        let run = chain
            .view(&format!("RunEscrow.getRun({})", self.id), escrow.getRun(self.id.to_u256()))
            .await?;
        let now = chain.now().await?;
        let agent_wallet = if run.agentId.is_zero() {
            Value::None
        } else {
            let wallet =
                chain.view("StakeVault.walletOf", chain.vault().walletOf(run.agentId)).await?;
            Value::Address(wallet)
        };
        let state =
            RunState::try_from(run.state).wrap_err("the contract returned an unknown run state")?;
        let timer = run.timerStart;
        let terms = &run.terms;
        let claim_due = timer + u64::from(terms.claimTimeout);
        let review_end = timer + u64::from(terms.reviewPeriod);
        let window_end = timer + u64::from(terms.disputeWindow);
        let ruling_end = timer + u64::from(terms.rulingPeriod);
        let when = |applies: bool, t: u64| if applies { Value::Time(t) } else { Value::None };
        let awaiting = state.is_awaiting_submission();
        let submitted = state == RunState::Submitted;
        let open_rejection = state == RunState::Rejected && !run.settled;
        let disputed = state == RunState::Disputed;

        let record = Record::new()
            .with("runId", Value::Id(self.id.get()))
            .with("state", Value::RunState(state))
            .with("poster", Value::Address(run.poster))
            .with("agentId", if run.agentId.is_zero() { Value::None } else { id(run.agentId) })
            .with("agentWallet", agent_wallet)
            .with("settled", Value::Bool(run.settled))
            .with("reward", Value::amount(run.reward))
            .with("fee", Value::amount(run.fee))
            // What the claimant reserves, and what a rejection costs the poster as a bond.
            .with("requiredStake", Value::amount(run.requiredStake))
            .with("deadline", Value::Time(run.deadline))
            .with("revisionCount", Value::Count(run.revisionCount.into()))
            .with("maxRevisions", Value::Count(run.maxRevisions.into()))
            .with("timerStart", Value::Time(timer))
            .with("termsVersion", id(run.termsVersion))
            .with("feeBps", Value::Count(terms.feeBps.into()))
            .with("claimTimeout", Value::Duration(terms.claimTimeout.into()))
            .with("reviewPeriod", Value::Duration(terms.reviewPeriod.into()))
            .with("disputeWindow", Value::Duration(terms.disputeWindow.into()))
            .with("rulingPeriod", Value::Duration(terms.rulingPeriod.into()))
            .with("arbitrator", Value::Address(terms.arbitrator))
            // A submission is due by then; after it the poster may slash ...
            .with("submissionDueAt", when(awaiting, claim_due))
            .with("slashableByPosterAfter", when(awaiting, claim_due))
            // ... and anyone a further review period later.
            .with(
                "slashableByAnyoneAfter",
                when(awaiting, claim_due + u64::from(terms.reviewPeriod)),
            )
            .with("reviewEndsAt", when(submitted, review_end))
            .with("approvableOnTimeoutAfter", when(submitted, review_end))
            .with("disputeWindowEndsAt", when(open_rejection, window_end))
            .with("rulingDeadline", when(disputed, ruling_end))
            .with("expirableAfter", when(state == RunState::Open, run.deadline))
            .with("chainTime", Value::Time(now));
        print_record(&record, self.read.output.json, now)?;
        Ok(())
    }
}

/// The first `key` of the first `event` among the transactions.
pub(crate) fn event_field(txs: &[TxReport], event: &str, key: &str) -> Option<Value> {
    txs.iter()
        .flat_map(|tx| &tx.events)
        .find(|(name, _)| *name == event)
        .and_then(|(_, args)| args.get(key).cloned())
}

/// `--deadline`: an absolute unix time or a duration from the chain's now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Deadline {
    /// Unix seconds.
    At(u64),
    /// Seconds from now.
    In(u64),
}

impl Deadline {
    /// The unix time this deadline means at chain time `now`.
    fn resolve(self, now: u64) -> u64 {
        match self {
            Self::At(t) => t,
            Self::In(secs) => now.saturating_add(secs),
        }
    }
}

impl FromStr for Deadline {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || {
            format!(
                "invalid deadline {s:?}: expected unix seconds (1767225600) or a duration from now \
                 (30d, 36h, 90m, 3600s, 2w)"
            )
        };
        let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
        let (digits, unit) = s.split_at(split);
        if digits.is_empty() {
            return Err(bad());
        }
        let n: u64 = digits.parse().map_err(|_| bad())?;
        let scale = match unit {
            "" => return Ok(Self::At(n)),
            "s" => 1,
            "m" => 60,
            "h" => 3600,
            "d" => 86_400,
            "w" => 7 * 86_400,
            _ => return Err(bad()),
        };
        n.checked_mul(scale).map(Self::In).ok_or_else(bad)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_deadlines() {
        assert_eq!("1767225600".parse::<Deadline>().unwrap(), Deadline::At(1_767_225_600));
        assert_eq!("7d".parse::<Deadline>().unwrap(), Deadline::In(604_800));
        assert_eq!("36h".parse::<Deadline>().unwrap(), Deadline::In(129_600));
        assert_eq!("90m".parse::<Deadline>().unwrap(), Deadline::In(5400));
        assert_eq!("2w".parse::<Deadline>().unwrap(), Deadline::In(1_209_600));
        assert_eq!("3600s".parse::<Deadline>().unwrap(), Deadline::In(3600));
        for bad in ["", "d", "7x", "-1", "1.5d", "7 d", "99999999999999999999d"] {
            assert!(bad.parse::<Deadline>().is_err(), "{bad:?}");
        }
        assert_eq!(Deadline::In(60).resolve(1000), 1060);
        assert_eq!(Deadline::At(5).resolve(1000), 5);
    }
}
