//! The market's actions as typed functions over a [`Chain`]: create, fund, claim, submit,
//! approve, dispute, stake … each sends its transactions (with the USDC pull they need), and
//! returns an [`ActionReport`] of what was mined and what it changed; the reads return a
//! [`Record`]. The `runs run` / `runs agent` commands and the MCP server (`runs mcp`) both call
//! these, so a rule (which pull, which label, which timers) is written once.

use std::str::FromStr;

use alloy::{
    contract::{CallBuilder, CallDecoder},
    primitives::U256,
    providers::DynProvider,
};
use eyre::WrapErr;
use runs_primitives::{AgentId, AgentStatus, RunId, RunState, Usdc};

use crate::{
    chain::{Chain, PermitSignature, Pull, agent_status, id, run_state},
    hints::HintedError,
    output::{ActionReport, Record, TxReport, Value, iso8601},
};

/// What `create_run` needs.
#[derive(Debug, Clone)]
pub(crate) struct NewRun {
    /// Where the work is described.
    pub(crate) spec: String,
    /// The agent's reward; the fee is added on top.
    pub(crate) reward: Usdc,
    /// Last time the run can be claimed.
    pub(crate) deadline: Deadline,
    /// Revisions the poster may request.
    pub(crate) max_revisions: u8,
    /// Stake the claimant reserves (and the rejection bond); `None` = the minimum stake.
    pub(crate) required_stake: Option<Usdc>,
    /// The terms version the poster accepts; 0 = whatever is current.
    pub(crate) terms_version: u64,
    /// Escrow reward + fee at once (OPEN), else only a DRAFT.
    pub(crate) fund: bool,
}

/// The single-call actions on one run that need no payment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RunAction {
    /// Cancel a DRAFT or OPEN run (poster).
    Cancel,
    /// Approve a SUBMITTED, open REJECTED or DISPUTED run (poster).
    Approve,
    /// Slash the silent agent of a run (poster; anyone later).
    Slash,
    /// Make an undisputed rejection final (anyone).
    FinalizeRejection,
    /// Settle a dispute the arbitrator left unruled (anyone).
    SettleDispute,
    /// Expire an OPEN run past its deadline (anyone).
    Expire,
    /// Approve a SUBMITTED run whose review period passed (anyone).
    ApproveOnTimeout,
    /// Mark a claimed run IN_PROGRESS (agent).
    Start,
    /// Hand a claimed run back within the claim timeout (agent).
    Abandon,
    /// Accept a rejection at once (agent).
    AcceptRejection,
}

impl RunAction {
    /// The contract function, for labels.
    fn function(self) -> &'static str {
        match self {
            Self::Cancel => "cancel",
            Self::Approve => "approve",
            Self::Slash => "slash",
            Self::FinalizeRejection => "finalizeRejection",
            Self::SettleDispute => "settleDispute",
            Self::Expire => "expire",
            Self::ApproveOnTimeout => "approveOnTimeout",
            Self::Start => "start",
            Self::Abandon => "abandon",
            Self::AcceptRejection => "acceptRejection",
        }
    }
}

/// Creates a run, funded (OPEN) unless `run.fund` is false (DRAFT). The fee is that of the terms
/// the run will be created under; the pull of reward + fee is an existing allowance, a permit
/// (`permit`) or an `approve`.
pub(crate) async fn create_run(
    chain: &Chain,
    run: NewRun,
    permit: bool,
) -> eyre::Result<ActionReport> {
    let escrow = chain.escrow();
    let now = chain.now().await?;
    let deadline = U256::from(run.deadline.resolve(now));
    let max_revisions = U256::from(run.max_revisions);
    let reward = run.reward.base_units();
    let spec = run.spec.clone();
    let stake = run.required_stake.map_or(U256::ZERO, Usdc::base_units);
    let terms = U256::from(run.terms_version);

    let mut transactions = Vec::new();
    if run.fund {
        let total = creation_cost(chain, run.reward, run.terms_version).await?;
        let what = format!("reward {} + fee {}", run.reward, total.saturating_sub(run.reward));
        let pull = chain.prepare_pull(*escrow.address(), total, &what, permit).await?;
        let plain =
            escrow.createAndFund(spec.clone(), reward, deadline, max_revisions, stake, terms);
        send_pulling(
            chain,
            &mut transactions,
            Some(pull),
            ("RunEscrow.createAndFund".to_owned(), plain),
            |p| {
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
                ("RunEscrow.createAndFundWithPermit".to_owned(), call)
            },
        )
        .await?;
    } else {
        let call = escrow.createRun(spec, reward, deadline, max_revisions, stake, terms);
        transactions.push(chain.send("RunEscrow.createRun", call).await?);
    }

    let run_id = event_field(&transactions, "RunCreated", "runId");
    let summary = match (&run_id, run.fund) {
        (Some(Value::Id(id)), false) => {
            format!("run {id} created as DRAFT; escrow its reward with `runs run fund {id}`")
        }
        (Some(Value::Id(id)), true) => format!("run {id} created and funded: OPEN"),
        _ => "run created".to_owned(),
    };
    let result = Record::new().with("runId", run_id.unwrap_or(Value::None));
    Ok(ActionReport { transactions, result, summary, now })
}

/// Sends a call that pulls USDC and appends what was sent: with a permit, the `...WithPermit`
/// variant `with_permit` builds; else (after the approval, if one was just sent) the plain call.
/// `pull` is `None` when the plain call is sent as is, for its decoded revert.
async fn send_pulling<'a, D: CallDecoder, P: CallDecoder>(
    chain: &Chain,
    transactions: &mut Vec<TxReport>,
    pull: Option<Pull>,
    (label, call): (String, CallBuilder<&'a DynProvider, D>),
    with_permit: impl FnOnce(PermitSignature) -> (String, CallBuilder<&'a DynProvider, P>),
) -> eyre::Result<()> {
    let tx = match pull {
        Some(Pull::Permit(signature)) => {
            let (label, call) = with_permit(signature);
            chain.send(&label, call).await?
        }
        Some(Pull::Approved(approval)) => {
            transactions.push(approval);
            chain.send(&label, call).await?
        }
        Some(Pull::Ready) | None => chain.send(&label, call).await?,
    };
    transactions.push(tx);
    Ok(())
}

/// Reward + the fee of the terms a new run would be created under (`terms_version`, or the
/// current terms for 0): what creating and funding it pulls from the poster.
pub(crate) async fn creation_cost(
    chain: &Chain,
    reward: Usdc,
    terms_version: u64,
) -> eyre::Result<Usdc> {
    let escrow = chain.escrow();
    // A mismatch of the named version reverts with RunEscrowTermsChanged anyway.
    let fee_bps = if terms_version == 0 {
        chain.view("RunEscrow.parameters", escrow.parameters()).await?.terms.feeBps
    } else {
        chain.view("RunEscrow.termsAt", escrow.termsAt(U256::from(terms_version))).await?.feeBps
    };
    let fee = reward.fee_for(fee_bps);
    Ok(reward.checked_add(fee).unwrap_or(reward))
}

/// Funds a DRAFT: escrows its reward + fee (-> OPEN).
pub(crate) async fn fund_run(
    chain: &Chain,
    run_id: RunId,
    permit: bool,
) -> eyre::Result<ActionReport> {
    let escrow = chain.escrow();
    let id = run_id.to_u256();
    let label = format!("RunEscrow.fund({run_id})");
    let run = chain.view(&format!("RunEscrow.getRun({run_id})"), escrow.getRun(id)).await?;

    let mut transactions = Vec::new();
    // Only a DRAFT of the signer's can be funded: otherwise send the plain call, whose revert
    // (decoded) says exactly what is wrong, before touching any allowance.
    let pull = if run.state == RunState::Draft.as_u8() && run.poster == chain.sender()? {
        let total = Usdc::from_base_units(run.reward.saturating_add(run.fee));
        let what = format!(
            "reward {} + fee {}",
            Usdc::from_base_units(run.reward),
            Usdc::from_base_units(run.fee)
        );
        Some(chain.prepare_pull(*escrow.address(), total, &what, permit).await?)
    } else {
        None
    };
    send_pulling(chain, &mut transactions, pull, (label, escrow.fund(id)), |p| {
        let permit = (p.deadline, p.v, p.r, p.s).into();
        (format!("RunEscrow.fundWithPermit({run_id})"), escrow.fundWithPermit(id, permit))
    })
    .await?;
    let now = chain.now().await?;
    let summary = format!("run {run_id} funded: OPEN");
    let result = Record::new().with("runId", Value::Id(run_id.get()));
    Ok(ActionReport { transactions, result, summary, now })
}

/// One of the single-call actions on a run, reported with the run's state after it.
pub(crate) async fn run_action(
    chain: &Chain,
    run_id: RunId,
    action: RunAction,
) -> eyre::Result<ActionReport> {
    let escrow = chain.escrow();
    let id = run_id.to_u256();
    let label = format!("RunEscrow.{}({run_id})", action.function());
    let tx = match action {
        RunAction::Cancel => chain.send(&label, escrow.cancel(id)).await?,
        RunAction::Approve => chain.send(&label, escrow.approve(id)).await?,
        RunAction::FinalizeRejection => chain.send(&label, escrow.finalizeRejection(id)).await?,
        RunAction::SettleDispute => chain.send(&label, escrow.settleDispute(id)).await?,
        RunAction::Slash => chain.send(&label, escrow.slash(id)).await?,
        RunAction::Expire => chain.send(&label, escrow.expire(id)).await?,
        RunAction::ApproveOnTimeout => chain.send(&label, escrow.approveOnTimeout(id)).await?,
        RunAction::Start => chain.send(&label, escrow.start(id)).await?,
        RunAction::Abandon => chain.send(&label, escrow.abandon(id)).await?,
        RunAction::AcceptRejection => chain.send(&label, escrow.acceptRejection(id)).await?,
    };
    match action {
        // The agent's own progress: remind it of the submission deadline.
        RunAction::Start => run_report(chain, run_id, vec![tx], Audience::Agent).await,
        _ => run_report(chain, run_id, vec![tx], Audience::Anyone).await,
    }
}

/// The single-call actions on a run that carry a text: a URI or a reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TextAction {
    /// Ask for a revision of a SUBMITTED run, saying what to change (poster).
    RequestRevision,
    /// Add evidence to an open rejection or a dispute (poster or agent).
    SubmitEvidence,
    /// Submit a deliverable, also a revision (agent).
    Submit,
    /// Dispute a rejection before the run's arbitrator, with the agent's case (agent).
    Dispute,
}

/// One of the single-call actions with a text, reported with the run's state after it.
pub(crate) async fn run_text_action(
    chain: &Chain,
    run_id: RunId,
    action: TextAction,
    text: &str,
) -> eyre::Result<ActionReport> {
    let escrow = chain.escrow();
    let (id, text) = (run_id.to_u256(), text.to_owned());
    let tx = match action {
        TextAction::RequestRevision => {
            let label = format!("RunEscrow.requestRevision({run_id})");
            chain.send(&label, escrow.requestRevision(id, text)).await?
        }
        TextAction::SubmitEvidence => {
            let label = format!("RunEscrow.submitEvidence({run_id})");
            chain.send(&label, escrow.submitEvidence(id, text)).await?
        }
        TextAction::Submit => {
            chain.send(&format!("RunEscrow.submit({run_id})"), escrow.submit(id, text)).await?
        }
        TextAction::Dispute => {
            chain.send(&format!("RunEscrow.dispute({run_id})"), escrow.dispute(id, text)).await?
        }
    };
    match action {
        // The agent's own deliverable: remind it of the submission deadline (a revision's).
        TextAction::Submit => run_report(chain, run_id, vec![tx], Audience::Agent).await,
        _ => run_report(chain, run_id, vec![tx], Audience::Anyone).await,
    }
}

/// Rejects a SUBMITTED run, posting the bond (the run's required stake) by allowance, permit or
/// approve.
pub(crate) async fn reject(
    chain: &Chain,
    run_id: RunId,
    reason: &str,
    permit: bool,
) -> eyre::Result<ActionReport> {
    let escrow = chain.escrow();
    let id = run_id.to_u256();
    let label = format!("RunEscrow.reject({run_id})");
    let reject = || escrow.reject(id, reason.to_owned());
    let run = chain.view(&format!("RunEscrow.getRun({run_id})"), escrow.getRun(id)).await?;

    let mut transactions = Vec::new();
    // Only the poster of a SUBMITTED run can reject: otherwise send the plain call, whose revert
    // (decoded) says exactly what is wrong, before touching any allowance.
    let pull = if run.state == RunState::Submitted.as_u8() && run.poster == chain.sender()? {
        let bond = Usdc::from_base_units(run.requiredStake);
        let what = format!("the rejection bond, run {run_id}'s required stake");
        Some(chain.prepare_pull(*escrow.address(), bond, &what, permit).await?)
    } else {
        None
    };
    send_pulling(chain, &mut transactions, pull, (label, reject()), |p| {
        let permit = (p.deadline, p.v, p.r, p.s).into();
        let call = escrow.rejectWithPermit(id, reason.to_owned(), permit);
        (format!("RunEscrow.rejectWithPermit({run_id})"), call)
    })
    .await?;
    run_report(chain, run_id, transactions, Audience::Anyone).await
}

/// Withdraws the signer's credits of failed payouts.
pub(crate) async fn withdraw_credit(chain: &Chain) -> eyre::Result<ActionReport> {
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
    Ok(ActionReport { transactions: vec![tx], result, summary, now })
}

/// Registers the signer's wallet as an agent.
pub(crate) async fn register_agent(
    chain: &Chain,
    metadata_uri: &str,
) -> eyre::Result<ActionReport> {
    let vault = chain.vault();
    let call = vault.register(metadata_uri.to_owned());
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
    Ok(ActionReport { transactions: vec![tx], result, summary, now })
}

/// Adds `amount` to the signer's agent's stake (allowance, permit or approve).
pub(crate) async fn stake(chain: &Chain, amount: Usdc, permit: bool) -> eyre::Result<ActionReport> {
    let vault = chain.vault();
    let units = amount.base_units();
    let agent_id = own_agent(chain).await?;
    let label = format!("StakeVault.stake({amount})");
    let mut transactions = Vec::new();
    // Unregistered: the plain call's decoded revert says so, before any allowance is set.
    let pull = if agent_id.is_zero() {
        None
    } else {
        Some(chain.prepare_pull(*vault.address(), amount, "stake", permit).await?)
    };
    send_pulling(chain, &mut transactions, pull, (label, vault.stake(units)), |p| {
        let call = vault.stakeWithPermit(units, p.deadline, p.v, p.r, p.s);
        (format!("StakeVault.stakeWithPermit({amount})"), call)
    })
    .await?;
    agent_report(chain, agent_id, transactions).await
}

/// Requests to withdraw `amount` of free stake after the cooldown.
pub(crate) async fn request_unstake(chain: &Chain, amount: Usdc) -> eyre::Result<ActionReport> {
    let agent_id = own_agent(chain).await?;
    let vault = chain.vault();
    let call = vault.requestUnstake(amount.base_units());
    let tx = chain.send(&format!("StakeVault.requestUnstake({amount})"), call).await?;
    agent_report(chain, agent_id, vec![tx]).await
}

/// Withdraws the stake requested earlier, once the cooldown passed.
pub(crate) async fn withdraw_stake(chain: &Chain) -> eyre::Result<ActionReport> {
    let agent_id = own_agent(chain).await?;
    let tx = chain.send("StakeVault.withdrawStake", chain.vault().withdrawStake()).await?;
    agent_report(chain, agent_id, vec![tx]).await
}

/// Claims an OPEN run for `agent_id`, or for the signer's own agent.
pub(crate) async fn claim(
    chain: &Chain,
    run_id: RunId,
    agent_id: Option<AgentId>,
) -> eyre::Result<ActionReport> {
    let agent_id = match agent_id {
        Some(id) => id.to_u256(),
        None => registered_agent(chain).await?,
    };
    let escrow = chain.escrow();
    let call = escrow.claim(run_id.to_u256(), agent_id);
    let tx = chain.send(&format!("RunEscrow.claim({run_id}, {agent_id})"), call).await?;
    run_report(chain, run_id, vec![tx], Audience::Agent).await
}

/// The signer's agent id, 0 when the wallet has none.
pub(crate) async fn own_agent(chain: &Chain) -> eyre::Result<U256> {
    let vault = chain.vault();
    chain.view("StakeVault.agentIdOf", vault.agentIdOf(chain.sender()?)).await
}

/// The signer's agent id, or an error that says how to register.
pub(crate) async fn registered_agent(chain: &Chain) -> eyre::Result<U256> {
    let id = own_agent(chain).await?;
    if id.is_zero() {
        return Err(HintedError {
            message: format!("{} is not registered as an agent", chain.sender()?),
            hint: "register first: `runs agent register METADATA_URI`, then stake \
                   (`runs agent stake 20`)"
                .into(),
        }
        .into());
    }
    Ok(id)
}

/// A run as the chain has it now, with the times at which each next step opens up.
pub(crate) async fn show_run(chain: &Chain, run_id: RunId) -> eyre::Result<(Record, u64)> {
    let escrow = chain.escrow();
    let run =
        chain.view(&format!("RunEscrow.getRun({run_id})"), escrow.getRun(run_id.to_u256())).await?;
    let now = chain.now().await?;
    let agent_wallet = if run.agentId.is_zero() {
        Value::None
    } else {
        let wallet = chain.view("StakeVault.walletOf", chain.vault().walletOf(run.agentId)).await?;
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
        .with("runId", Value::Id(run_id.get()))
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
        .with("slashableByAnyoneAfter", when(awaiting, claim_due + u64::from(terms.reviewPeriod)))
        .with("reviewEndsAt", when(submitted, review_end))
        .with("approvableOnTimeoutAfter", when(submitted, review_end))
        .with("disputeWindowEndsAt", when(open_rejection, window_end))
        .with("rulingDeadline", when(disputed, ruling_end))
        .with("expirableAfter", when(state == RunState::Open, run.deadline))
        .with("chainTime", Value::Time(now));
    Ok((record, now))
}

/// An agent as the chain has it now: stake, reservations, status, counters, credit.
pub(crate) async fn show_agent(chain: &Chain, agent_id: U256) -> eyre::Result<(Record, u64)> {
    let vault = chain.vault();
    let agent =
        chain.view(&format!("StakeVault.getAgent({agent_id})"), vault.getAgent(agent_id)).await?;
    let min_stake = chain.view("StakeVault.parameters", vault.parameters()).await?.minStake;
    let free = agent.stake.saturating_sub(agent.reserved);
    let credit = chain.view("RunEscrow.creditOf", chain.escrow().creditOf(agent.wallet)).await?;
    let now = chain.now().await?;
    let status = AgentStatus::try_from(agent.status)
        .wrap_err("the contract returned an unknown agent status")?;
    let record = Record::new()
        .with("agentId", id(agent_id))
        .with("wallet", Value::Address(agent.wallet))
        .with("status", Value::AgentStatus(status))
        .with("stake", Value::amount(agent.stake))
        // Reserved by live claims until they settle; only free stake backs a new claim or can be
        // unstaked.
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
    Ok((record, now))
}

/// Whom a run report's closing line speaks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Audience {
    /// Anyone: the state, what comes next after a rejection or a dispute, and `settled`.
    Anyone,
    /// The run's agent: when a submission is due.
    Agent,
}

/// The transactions and the run's state after them, with a closing line for `audience`.
pub(crate) async fn run_report(
    chain: &Chain,
    run_id: RunId,
    transactions: Vec<TxReport>,
    audience: Audience,
) -> eyre::Result<ActionReport> {
    let run = chain.view("RunEscrow.getRun", chain.escrow().getRun(run_id.to_u256())).await?;
    let state = run_state(run.state);
    let at = |period: u32| iso8601(run.timerStart + u64::from(period));
    let summary = match (&state, audience) {
        (Value::RunState(s), Audience::Agent) if s.is_awaiting_submission() => {
            format!("run {run_id} is {s}; submit by {} or risk a slash", at(run.terms.claimTimeout))
        }
        (Value::RunState(RunState::Rejected), Audience::Anyone) if run.settled => {
            format!("run {run_id} is REJECTED, final: the poster is refunded")
        }
        (Value::RunState(RunState::Rejected), Audience::Anyone) => format!(
            "run {run_id} is REJECTED; the agent may dispute until {}, then anyone makes it final",
            at(run.terms.disputeWindow)
        ),
        (Value::RunState(RunState::Disputed), Audience::Anyone) => format!(
            "run {run_id} is DISPUTED; the arbitrator {} rules by {}",
            run.terms.arbitrator,
            at(run.terms.rulingPeriod)
        ),
        (Value::RunState(state), _) => format!("run {run_id} is {state}"),
        _ => format!("run {run_id} updated"),
    };
    let mut result = Record::new().with("runId", Value::Id(run_id.get())).with("state", state);
    if audience == Audience::Anyone {
        result.push("settled", Value::Bool(run.settled));
    }
    let now = chain.now().await?;
    Ok(ActionReport { transactions, result, summary, now })
}

/// The transactions and the agent's stake and status after them.
async fn agent_report(
    chain: &Chain,
    agent_id: U256,
    transactions: Vec<TxReport>,
) -> eyre::Result<ActionReport> {
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
    Ok(ActionReport { transactions, result, summary, now })
}

/// The first `key` of the first `event` among the transactions.
pub(crate) fn event_field(txs: &[TxReport], event: &str, key: &str) -> Option<Value> {
    txs.iter()
        .flat_map(|tx| &tx.events)
        .find(|(name, _)| *name == event)
        .and_then(|(_, args)| args.get(key).cloned())
}

/// A run's deadline: an absolute unix time or a duration from the chain's now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Deadline {
    /// Unix seconds.
    At(u64),
    /// Seconds from now.
    In(u64),
}

impl Deadline {
    /// The unix time this deadline means at chain time `now`.
    pub(crate) fn resolve(self, now: u64) -> u64 {
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
