//! Errors that carry a one-line hint of what to do next: decoded contract reverts
//! ([`ContractRevert`], hinted by [`hint_for`] from the generated error enums) and the CLI's own checks ([`HintedError`]).

use std::fmt;

use alloy::{primitives::U256, sol_types::SolInterface};
use runs_bindings::{
    DecodedRevert, MockUSDC::MockUSDCErrors, RunEscrow::RunEscrowErrors,
    StakeVault::StakeVaultErrors,
};
use runs_primitives::{ClaimReason, RunState, Usdc};

use crate::output::{self, iso8601};

/// A contract call reverted with a known error. Displays as the decoded error alone
/// (`RunEscrowInvalidState(runId: 7, state: SUBMITTED)`), so that it is the `error:` line.
#[derive(Debug, Clone)]
pub(crate) struct ContractRevert {
    /// The call that reverted, e.g. `RunEscrow.approve(7) from 0xf39F…`.
    pub(crate) call: String,
    /// The decoded error.
    pub(crate) revert: DecodedRevert,
    /// What to do about it, when known.
    pub(crate) hint: Option<String>,
}

impl ContractRevert {
    /// Wraps the decoded revert `revert` of `call`, looking up the hint of its raw `data`.
    pub(crate) fn new(call: String, data: &[u8], revert: DecodedRevert) -> Self {
        Self { call, revert, hint: hint_for(data) }
    }
}

impl fmt::Display for ContractRevert {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.revert, f)
    }
}

impl std::error::Error for ContractRevert {}

/// A failed check of the CLI's own (before anything is sent), with a hint.
#[derive(Debug, Clone)]
pub(crate) struct HintedError {
    /// What is wrong.
    pub(crate) message: String,
    /// What to do about it.
    pub(crate) hint: String,
}

impl fmt::Display for HintedError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for HintedError {}

/// One line of advice for revert data, matched on the bindings' generated error enums (so a
/// renamed or reshaped error fails to compile here rather than silently losing its hint).
pub(crate) fn hint_for(data: &[u8]) -> Option<String> {
    if let Ok(error) = RunEscrowErrors::abi_decode(data) {
        return escrow_hint(error);
    }
    if let Ok(error) = StakeVaultErrors::abi_decode(data) {
        return vault_hint(error);
    }
    MockUSDCErrors::abi_decode(data).ok().as_ref().and_then(token_hint)
}

fn escrow_hint(error: RunEscrowErrors) -> Option<String> {
    use RunEscrowErrors as E;
    let hint = match error {
        E::RunEscrowRunNotFound(e) => format!(
            "there is no run {}; check the id (and that --rpc-url is the chain you created it on)",
            e.runId
        ),
        E::RunEscrowInvalidState(e) => match RunState::try_from(e.state) {
            Ok(state) => format!("the run is {state}; {}", state_advice(state)),
            Err(_) => return None,
        },
        E::RunEscrowAlreadySettled(e) => format!(
            "the rejection of run {} is already final (settled): nothing more can happen to it",
            e.runId
        ),
        E::RunEscrowNotPoster(e) => format!(
            "only the run's poster may do this; {} is not it (use the poster's key)",
            e.caller
        ),
        E::RunEscrowNotAgent(e) => format!(
            "only the wallet of the agent holding run {} may do this; {} is not it",
            e.runId, e.caller
        ),
        E::RunEscrowNotParty(e) => format!(
            "only the poster or the agent of run {} may add evidence; {} is neither",
            e.runId, e.caller
        ),
        E::RunEscrowNotArbitrator(e) => format!(
            "only the arbitrator in run {}'s terms may rule on it (`runs run show {}` shows it); \
             {} is not it",
            e.runId, e.runId, e.caller
        ),
        E::RunEscrowNotAgentWallet(e) => format!(
            "{} is not the wallet of agent {}; sign with the agent's own key",
            e.caller, e.agentId
        ),
        E::RunEscrowNotClaimable(e) => {
            let advice: Vec<&str> =
                ClaimReason::decode(e.reasons).into_iter().map(claim_advice).collect();
            format!("cannot claim because {}", advice.join("; "))
        }
        E::RunEscrowPosterIsArbitrator(e) => format!(
            "{} is the market's arbitrator, and an arbitrator may not post runs; post from \
             another wallet",
            e.poster
        ),
        E::RunEscrowTermsChanged(e) => format!(
            "the owner changed the market's terms: version {} is in force, you accepted version \
             {}; review them and pass --terms-version {} (or 0 to accept the current terms)",
            e.current, e.expected, e.current
        ),
        E::RunEscrowUnknownTerms(e) => format!(
            "there is no terms version {}; pass --terms-version 0 for the current terms",
            e.version
        ),
        E::RunEscrowZeroReward(_) => "the reward must be above zero (--reward 12.5)".into(),
        E::RunEscrowAmountTooLarge(e) => {
            format!("the amount {} is above the maximum {}", usdc(e.amount), usdc(e.max))
        }
        E::RunEscrowStakeBelowMinimum(e) => format!(
            "--required-stake {} is below the minimum stake {}; pass at least that, or 0 for the \
             minimum",
            usdc(e.requiredStake),
            usdc(e.minStake)
        ),
        E::RunEscrowInvalidDeadline(e) => format!(
            "the deadline {} must be between {} and {} (chain time); pass e.g. --deadline 7d",
            time(e.deadline),
            time(e.earliest),
            time(e.latest)
        ),
        E::RunEscrowDeadlinePassed(e) => format!(
            "run {}'s deadline {} has passed: it can no longer be claimed; anyone may expire it \
             (`runs run expire {}`)",
            e.runId,
            time(e.deadline),
            e.runId
        ),
        E::RunEscrowLockTooLong(e) => format!(
            "the run could lock its money for {} ((max revisions + 1) × (claim timeout + review \
             period) + dispute window + ruling period), over the {} allowed: lower --max-revisions",
            duration(e.lock),
            duration(e.max)
        ),
        E::RunEscrowTooManyRevisions(e) => format!("--max-revisions may be at most {}", e.max),
        E::RunEscrowEmptyURI(_) => "the URI must not be empty".into(),
        E::RunEscrowURITooLong(e) => {
            format!(
                "the URI is {} bytes, over the {} allowed: store the text elsewhere and pass its URI",
                e.length, e.max
            )
        }
        E::RunEscrowRevisionsExhausted(e) => {
            format!("all {} revisions are used: approve or reject the run", e.maxRevisions)
        }
        E::RunEscrowRevisionsRemaining(e) => format!(
            "{} of {} revisions used: reject is only possible once they are all used; approve or \
             revise",
            e.revisionCount, e.maxRevisions
        ),
        E::RunEscrowClaimNotTimedOut(e) => format!(
            "the agent still has time to submit; this caller may slash after {}",
            time(e.slashableAfter)
        ),
        E::RunEscrowClaimTimedOut(e) => format!(
            "the claim timeout ended at {}: it is too late to submit or abandon; the run can only \
             be slashed now",
            time(e.endedAt)
        ),
        E::RunEscrowReviewNotTimedOut(e) => format!(
            "the poster's review period ends at {}; approve-timeout works after that",
            time(e.reviewEndsAt)
        ),
        E::RunEscrowReviewPeriodOver(e) => format!(
            "the review period ended at {}: only approve (or anyone's approve-on-timeout) is left",
            time(e.reviewEndedAt)
        ),
        E::RunEscrowDisputeWindowOver(e) => format!(
            "the dispute window closed at {}: the rejection can only be made final (anyone: `runs \
             run finalize-rejection {}`) or approved by the poster",
            time(e.windowEndedAt),
            e.runId
        ),
        E::RunEscrowDisputeWindowOpen(e) => format!(
            "the agent may dispute until {}; finalize-rejection works after that (the agent may \
             `runs agent accept-rejection {}` sooner)",
            time(e.windowEndsAt),
            e.runId
        ),
        E::RunEscrowRulingPeriodOver(e) => format!(
            "the ruling period ended at {}: the arbitrator can no longer rule; anyone settles the \
             default 50/50 split with `runs run settle-dispute {}`",
            time(e.rulingEndedAt),
            e.runId
        ),
        E::RunEscrowRulingPeriodOpen(e) => format!(
            "the arbitrator may rule until {}; settle-dispute works after that",
            time(e.rulingEndsAt)
        ),
        E::RunEscrowInvalidRuling(e) => format!(
            "the ruling was {} basis points with strike {}: --agent-share is 0 to 100 (percent), \
             and --strike goes only with --agent-share 0",
            e.agentShareBps, e.strike
        ),
        E::RunEscrowDeadlineNotPassed(e) => {
            format!("the run can expire only after its deadline {}", time(e.deadline))
        }
        E::RunEscrowNoCredit(_) => "there is no credit to withdraw for this wallet".into(),
        E::RunEscrowPaused(_) => {
            "the owner paused new runs and claims; every other action (refunds, approvals, \
             disputes, withdrawals) still works"
                .into()
        }
        E::OwnableUnauthorizedAccount(_) => "only the contract owner may do this".into(),
        _ => return None,
    };
    Some(hint)
}

fn vault_hint(error: StakeVaultErrors) -> Option<String> {
    use StakeVaultErrors as E;
    let hint = match error {
        E::StakeVaultAlreadyRegistered(e) => format!(
            "this wallet already is agent {}; one agent per wallet (see `runs agent show {}`)",
            e.agentId, e.agentId
        ),
        E::StakeVaultNotRegistered(_) => {
            "this wallet is no agent yet: run `runs agent register METADATA_URI` first".into()
        }
        E::StakeVaultAgentNotFound(e) => format!("there is no agent {}", e.agentId),
        E::StakeVaultZeroAmount(_) => "the amount must be above zero".into(),
        E::StakeVaultInsufficientFreeStake(e) => format!(
            "only {} of agent {}'s stake is free; the rest is reserved by its live claims until \
             they settle (or already pending withdrawal): ask for at most that (`runs agent show \
             {}`)",
            usdc(e.free),
            e.agentId,
            e.agentId
        ),
        E::StakeVaultNothingToWithdraw(_) => {
            "nothing is pending withdrawal: run `runs agent unstake AMOUNT` first".into()
        }
        E::StakeVaultCooldownActive(e) => {
            format!(
                "the unstake cooldown ends at {}; withdraw after that",
                time(U256::from(e.readyAt))
            )
        }
        E::StakeVaultAgentBanned(_) => "the agent is BANNED and can no longer stake".into(),
        E::StakeVaultPaused(_) => {
            "the owner paused new stake; unstaking and withdrawing still work".into()
        }
        E::OwnableUnauthorizedAccount(_) => "only the contract owner may do this".into(),
        _ => return None,
    };
    Some(hint)
}

fn token_hint(error: &MockUSDCErrors) -> Option<String> {
    use MockUSDCErrors as E;
    let hint = match error {
        E::ERC20InsufficientBalance(_) => "the wallet does not hold enough USDC".into(),
        E::ERC20InsufficientAllowance(_) => {
            "the USDC allowance is too small; retry (the CLI approves the needed amount)".into()
        }
        E::ERC2612ExpiredSignature(_) | E::ERC2612InvalidSigner(_) => {
            "the permit signature was rejected; retry with --no-permit to approve instead".into()
        }
        _ => return None,
    };
    Some(hint)
}

/// A USDC amount in base units, for people.
fn usdc(units: U256) -> String {
    format!("{} USDC", Usdc::from_base_units(units))
}

/// A unix time from the contract, ISO 8601.
fn time(unix: U256) -> String {
    u64::try_from(unix).map_or_else(|_| unix.to_string(), iso8601)
}

/// A span of seconds from the contract, e.g. `1d 12h`.
fn duration(secs: U256) -> String {
    u64::try_from(secs).map_or_else(|_| format!("{secs} s"), output::duration)
}

/// What can happen to a run in `state`.
fn state_advice(state: RunState) -> &'static str {
    match state {
        RunState::Draft => "fund it (`runs run fund ID`) or cancel it",
        RunState::Open => {
            "an agent may claim it; the poster may cancel it; anyone may expire it after the deadline"
        }
        RunState::Claimed | RunState::InProgress => {
            "the agent must submit (or abandon it); after the claim timeout the poster may slash"
        }
        RunState::RevisionRequested => {
            "the agent must submit a revision; after the claim timeout the poster may slash"
        }
        RunState::Submitted => {
            "the poster approves it, or within the review period revises or rejects it (anyone \
             approves after the review period)"
        }
        RunState::Rejected => {
            "the agent may dispute or accept the rejection within the dispute window, the poster \
             may still approve, and anyone makes it final after the window"
        }
        RunState::Disputed => {
            "the arbitrator rules within the ruling period, the poster may still approve, and \
             anyone settles it (50/50) after the period"
        }
        RunState::Approved | RunState::Cancelled | RunState::Expired | RunState::Resolved => {
            "that is final, nothing more can happen to it"
        }
    }
}

/// What to do about one failed claim rule.
fn claim_advice(reason: ClaimReason) -> &'static str {
    match reason {
        ClaimReason::RunNotFound => "RUN_NOT_FOUND: there is no such run",
        ClaimReason::RunNotOpen => "RUN_NOT_OPEN: the run is not OPEN (see `runs run show ID`)",
        ClaimReason::RunPastDeadline => "RUN_PAST_DEADLINE: the run's deadline has passed",
        ClaimReason::AgentNotFound => {
            "AGENT_NOT_FOUND: there is no such agent (`runs agent register`)"
        }
        ClaimReason::AgentFrozen => {
            "AGENT_FROZEN: the agent was slashed; stake back to the minimum to unfreeze"
        }
        ClaimReason::AgentBanned => "AGENT_BANNED: the agent is banned",
        ClaimReason::InsufficientStake => {
            "INSUFFICIENT_STAKE: stake at least the minimum first (`runs agent stake 20`)"
        }
        ClaimReason::AgentIsPoster => "AGENT_IS_POSTER: an agent cannot claim its own run",
        ClaimReason::ClaimsPaused => "CLAIMS_PAUSED: the owner paused new claims",
        ClaimReason::AgentSlashedOnRun => {
            "AGENT_SLASHED_ON_RUN: this agent was slashed on this run and may never claim it again"
        }
        ClaimReason::InsufficientFreeStake => {
            "INSUFFICIENT_FREE_STAKE: the stake not reserved by the agent's live claims is below \
             the run's required stake; stake more or finish a claim first (`runs agent show`)"
        }
        ClaimReason::AgentIsArbitrator => {
            "AGENT_IS_ARBITRATOR: the run's arbitrator may not work on it"
        }
    }
}

#[cfg(test)]
mod tests {
    use alloy::{primitives::U256, sol_types::SolError};
    use runs_bindings::{RunEscrow, StakeVault};

    use super::*;

    #[test]
    fn hints_by_state_and_reason() {
        let data = RunEscrow::RunEscrowInvalidState { runId: U256::from(7), state: 4 }.abi_encode();
        let hint = hint_for(&data).unwrap();
        assert!(hint.starts_with("the run is SUBMITTED; the poster approves it"), "{hint}");

        let data = RunEscrow::RunEscrowNotClaimable {
            runId: U256::from(1),
            agentId: U256::from(1),
            reasons: U256::from(0b100_1100_0000),
        }
        .abi_encode();
        let hint = hint_for(&data).unwrap();
        assert!(hint.starts_with("cannot claim because INSUFFICIENT_STAKE: stake"), "{hint}");
        assert!(hint.contains("; AGENT_IS_POSTER: an agent cannot claim its own run"), "{hint}");
        assert!(hint.contains("; INSUFFICIENT_FREE_STAKE: the stake not reserved"), "{hint}");
    }

    #[test]
    fn hints_times_as_iso() {
        let data = RunEscrow::RunEscrowClaimNotTimedOut {
            runId: U256::from(1),
            slashableAfter: U256::from(86_400),
        }
        .abi_encode();
        let hint = hint_for(&data).unwrap();
        assert!(hint.ends_with("after 1970-01-02T00:00:00Z"), "{hint}");
    }

    #[test]
    fn hints_the_v2_timers_with_the_way_out() {
        let at = U256::from(86_400);
        let over = |data: Vec<u8>| hint_for(&data).unwrap();
        let hint = over(
            RunEscrow::RunEscrowReviewPeriodOver { runId: U256::from(3), reviewEndedAt: at }
                .abi_encode(),
        );
        assert_eq!(
            hint,
            "the review period ended at 1970-01-02T00:00:00Z: only approve (or anyone's \
             approve-on-timeout) is left"
        );
        let hint = over(
            RunEscrow::RunEscrowRulingPeriodOver { runId: U256::from(3), rulingEndedAt: at }
                .abi_encode(),
        );
        assert!(hint.ends_with("`runs run settle-dispute 3`"), "{hint}");
        let hint = over(
            RunEscrow::RunEscrowDisputeWindowOver { runId: U256::from(3), windowEndedAt: at }
                .abi_encode(),
        );
        assert!(hint.contains("`runs run finalize-rejection 3`"), "{hint}");
        let hint = over(
            RunEscrow::RunEscrowTermsChanged { expected: U256::from(1), current: U256::from(2) }
                .abi_encode(),
        );
        assert!(hint.contains("--terms-version 2"), "{hint}");
        let hint = over(
            StakeVault::StakeVaultInsufficientFreeStake {
                agentId: U256::from(4),
                free: U256::from(5_000_000),
                requested: U256::from(20_000_000),
            }
            .abi_encode(),
        );
        assert!(hint.starts_with("only 5 USDC of agent 4's stake is free"), "{hint}");
    }

    #[test]
    fn unknown_data_has_no_hint() {
        assert_eq!(hint_for(&[]), None);
        assert_eq!(hint_for(&[0xde, 0xad, 0xbe, 0xef]), None);
    }
}
