//! Errors that carry a one-line hint of what to do next: decoded contract reverts
//! ([`ContractRevert`], hinted by [`hint_for`]) and the CLI's own checks ([`HintedError`]).

use std::fmt;

use runs_bindings::DecodedRevert;
use runs_primitives::RunState;

use crate::output::iso8601;

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
    /// Wraps a decoded revert of `call`, looking up its hint.
    pub(crate) fn new(call: String, revert: DecodedRevert) -> Self {
        let hint = hint_for(&revert);
        Self { call, revert, hint }
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

/// One line of advice for a decoded revert, by error name and fields.
pub(crate) fn hint_for(revert: &DecodedRevert) -> Option<String> {
    let field = |name: &str| {
        revert.fields.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str()).unwrap_or("?")
    };
    let time =
        |name: &str| field(name).parse::<u64>().map_or_else(|_| field(name).to_owned(), iso8601);
    let hint = match revert.name.as_str() {
        "RunEscrowRunNotFound" => format!(
            "there is no run {}; check the id (and that --rpc-url is the chain you created it on)",
            field("runId")
        ),
        "RunEscrowInvalidState" => {
            let state = field("state");
            let what = state.parse::<RunState>().map_or("", state_advice);
            format!("the run is {state}; {what}")
        }
        "RunEscrowNotPoster" => format!(
            "only the run's poster may do this; {} is not it (use the poster's key)",
            field("caller")
        ),
        "RunEscrowNotAgent" => format!(
            "only the wallet of the agent holding run {} may do this; {} is not it",
            field("runId"),
            field("caller")
        ),
        "RunEscrowNotAgentWallet" => format!(
            "{} is not the wallet of agent {}; sign with the agent's own key",
            field("caller"),
            field("agentId")
        ),
        "RunEscrowNotClaimable" => {
            let reasons = field("reasons").trim_matches(['[', ']']).to_owned();
            let advice: Vec<&str> =
                reasons.split(", ").filter(|r| !r.is_empty()).map(claim_advice).collect();
            format!("cannot claim because {}", advice.join("; "))
        }
        "RunEscrowZeroReward" => "the reward must be above zero (--reward 12.5)".into(),
        "RunEscrowRewardTooLarge" => format!("the reward is above the maximum {}", field("max")),
        "RunEscrowInvalidDeadline" => format!(
            "the deadline {} is not in the future (chain time {}); pass --deadline 7d or a later unix time",
            time("deadline"),
            time("now")
        ),
        "RunEscrowTooManyRevisions" => {
            format!("--max-revisions may be at most {}", field("max"))
        }
        "RunEscrowEmptyURI" => "the URI must not be empty".into(),
        "RunEscrowRevisionsExhausted" => {
            format!("all {} revisions are used: approve or reject the run", field("maxRevisions"))
        }
        "RunEscrowRevisionsRemaining" => format!(
            "{} of {} revisions used: reject is only possible once they are all used; approve or revise",
            field("revisionCount"),
            field("maxRevisions")
        ),
        "RunEscrowClaimNotTimedOut" => format!(
            "the agent still has time to submit; this caller may slash after {}",
            time("slashableAfter")
        ),
        "RunEscrowReviewNotTimedOut" => format!(
            "the poster's review period ends at {}; approve-timeout works after that",
            time("reviewEndsAt")
        ),
        "RunEscrowDeadlineNotPassed" => {
            format!("the run can expire only after its deadline {}", time("deadline"))
        }
        "RunEscrowNoCredit" => "there is no credit to withdraw for this wallet".into(),
        "StakeVaultAlreadyRegistered" => format!(
            "this wallet already is agent {}; one agent per wallet (see `runs agent show {}`)",
            field("agentId"),
            field("agentId")
        ),
        "StakeVaultNotRegistered" => {
            "this wallet is no agent yet: run `runs agent register METADATA_URI` first".into()
        }
        "StakeVaultAgentNotFound" => format!("there is no agent {}", field("agentId")),
        "StakeVaultZeroAmount" => "the amount must be above zero".into(),
        "StakeVaultInsufficientStake" => {
            format!("only {} base units are staked; unstake at most that", field("staked"))
        }
        "StakeVaultActiveClaims" => format!(
            "the agent holds {} unsettled claim(s); stake cannot leave until they are settled",
            field("activeClaims")
        ),
        "StakeVaultNothingToWithdraw" => {
            "nothing is pending withdrawal: run `runs agent unstake AMOUNT` first".into()
        }
        "StakeVaultCooldownActive" => {
            format!("the unstake cooldown ends at {}; withdraw after that", time("readyAt"))
        }
        "StakeVaultAgentBanned" => "the agent is BANNED and can no longer stake".into(),
        "ERC20InsufficientBalance" => "the wallet does not hold enough USDC".into(),
        "ERC20InsufficientAllowance" => {
            "the USDC allowance is too small; retry (the CLI approves the needed amount)".into()
        }
        "ERC2612ExpiredSignature" | "ERC2612InvalidSigner" => {
            "the permit signature was rejected; retry with --no-permit to approve instead".into()
        }
        "EnforcedPause" => {
            "the owner paused new runs and claims; refunds, approvals and withdrawals still work"
                .into()
        }
        "OwnableUnauthorizedAccount" => "only the contract owner may do this".into(),
        _ => return None,
    };
    Some(hint)
}

/// What can happen to a run in `state`.
fn state_advice(state: RunState) -> &'static str {
    match state {
        RunState::Draft => "fund it (`runs run fund ID`) or cancel it",
        RunState::Open => {
            "an agent may claim it; the poster may cancel it; anyone may expire it after the deadline"
        }
        RunState::Claimed | RunState::InProgress => {
            "the agent must submit; after the claim timeout the poster may slash"
        }
        RunState::RevisionRequested => {
            "the agent must submit a revision; after the claim timeout the poster may slash"
        }
        RunState::Submitted => {
            "the poster approves, revises or rejects it (anyone approves after the review period)"
        }
        RunState::Approved | RunState::Rejected | RunState::Cancelled | RunState::Expired => {
            "that is final, nothing more can happen to it"
        }
    }
}

/// What to do about one failed claim rule (a `ClaimReason` code).
fn claim_advice(code: &str) -> &str {
    match code {
        "RUN_NOT_FOUND" => "RUN_NOT_FOUND: there is no such run",
        "RUN_NOT_OPEN" => "RUN_NOT_OPEN: the run is not OPEN (see `runs run show ID`)",
        "RUN_PAST_DEADLINE" => "RUN_PAST_DEADLINE: the run's deadline has passed",
        "AGENT_NOT_FOUND" => "AGENT_NOT_FOUND: there is no such agent (`runs agent register`)",
        "AGENT_FROZEN" => {
            "AGENT_FROZEN: the agent was slashed; stake back to the minimum to unfreeze"
        }
        "AGENT_BANNED" => "AGENT_BANNED: the agent is banned",
        "INSUFFICIENT_STAKE" => {
            "INSUFFICIENT_STAKE: stake at least the minimum first (`runs agent stake 20`)"
        }
        "AGENT_IS_POSTER" => "AGENT_IS_POSTER: an agent cannot claim its own run",
        "CLAIMS_PAUSED" => "CLAIMS_PAUSED: the owner paused new claims",
        "AGENT_SLASHED_ON_RUN" => {
            "AGENT_SLASHED_ON_RUN: this agent was slashed on this run and may never claim it again"
        }
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use alloy::{primitives::U256, sol_types::SolError};
    use runs_bindings::{RunEscrow, decode_revert};

    use super::*;

    #[test]
    fn hints_by_state_and_reason() {
        let data = RunEscrow::RunEscrowInvalidState { runId: U256::from(7), state: 4 }.abi_encode();
        let hint = hint_for(&decode_revert(&data).unwrap()).unwrap();
        assert_eq!(
            hint,
            "the run is SUBMITTED; the poster approves, revises or rejects it (anyone approves after the review period)"
        );

        let data = RunEscrow::RunEscrowNotClaimable {
            runId: U256::from(1),
            agentId: U256::from(1),
            reasons: U256::from(0b1100_0000),
        }
        .abi_encode();
        let hint = hint_for(&decode_revert(&data).unwrap()).unwrap();
        assert!(hint.starts_with("cannot claim because INSUFFICIENT_STAKE: stake"), "{hint}");
        assert!(hint.contains("; AGENT_IS_POSTER: an agent cannot claim its own run"), "{hint}");
    }

    #[test]
    fn hints_times_as_iso() {
        let data = RunEscrow::RunEscrowClaimNotTimedOut {
            runId: U256::from(1),
            slashableAfter: U256::from(86_400),
        }
        .abi_encode();
        let hint = hint_for(&decode_revert(&data).unwrap()).unwrap();
        assert!(hint.ends_with("after 1970-01-02T00:00:00Z"), "{hint}");
    }
}
