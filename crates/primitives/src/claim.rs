//! The reasons an agent may not claim a run, as the bitmask `RunEscrow.canClaim` returns.
//!
//! The REST eligibility endpoint reports the same reasons by their codes, so the two always agree.

use std::{fmt, str::FromStr};

use alloy_primitives::U256;
use serde::{Deserialize, Serialize};

use crate::Error;

/// One failed claim rule; its discriminant is its bit in the `canClaim` mask.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[repr(u16)]
pub enum ClaimReason {
    /// No run has this id.
    RunNotFound = 1 << 0,
    /// The run is not OPEN.
    RunNotOpen = 1 << 1,
    /// The run's deadline has passed.
    RunPastDeadline = 1 << 2,
    /// No agent has this id.
    AgentNotFound = 1 << 3,
    /// The agent is FROZEN.
    AgentFrozen = 1 << 4,
    /// The agent is BANNED.
    AgentBanned = 1 << 5,
    /// The agent's stake is below the minimum (or it is UNVERIFIED).
    InsufficientStake = 1 << 6,
    /// The agent's wallet is the run's poster.
    AgentIsPoster = 1 << 7,
    /// The owner paused new claims.
    ClaimsPaused = 1 << 8,
    /// The agent was slashed on this run before and may never claim it again.
    AgentSlashedOnRun = 1 << 9,
    /// The agent's free stake (stake minus what its live claims reserve) is below the run's
    /// required stake.
    InsufficientFreeStake = 1 << 10,
    /// The agent's wallet is the run's arbitrator.
    AgentIsArbitrator = 1 << 11,
}

impl ClaimReason {
    /// Every reason, in bit order.
    pub const ALL: &'static [Self] = &[
        Self::RunNotFound,
        Self::RunNotOpen,
        Self::RunPastDeadline,
        Self::AgentNotFound,
        Self::AgentFrozen,
        Self::AgentBanned,
        Self::InsufficientStake,
        Self::AgentIsPoster,
        Self::ClaimsPaused,
        Self::AgentSlashedOnRun,
        Self::InsufficientFreeStake,
        Self::AgentIsArbitrator,
    ];

    /// This reason's bit in the mask.
    pub const fn bit(self) -> u16 {
        self as u16
    }

    /// The stable code the API reports, e.g. `"RUN_NOT_OPEN"`.
    pub const fn code(self) -> &'static str {
        match self {
            Self::RunNotFound => "RUN_NOT_FOUND",
            Self::RunNotOpen => "RUN_NOT_OPEN",
            Self::RunPastDeadline => "RUN_PAST_DEADLINE",
            Self::AgentNotFound => "AGENT_NOT_FOUND",
            Self::AgentFrozen => "AGENT_FROZEN",
            Self::AgentBanned => "AGENT_BANNED",
            Self::InsufficientStake => "INSUFFICIENT_STAKE",
            Self::AgentIsPoster => "AGENT_IS_POSTER",
            Self::ClaimsPaused => "CLAIMS_PAUSED",
            Self::AgentSlashedOnRun => "AGENT_SLASHED_ON_RUN",
            Self::InsufficientFreeStake => "INSUFFICIENT_FREE_STAKE",
            Self::AgentIsArbitrator => "AGENT_IS_ARBITRATOR",
        }
    }

    /// The reasons set in `mask`, in bit order. Bits this version does not know are ignored;
    /// [`Self::unknown_bits`] reports them.
    pub fn decode(mask: U256) -> Vec<Self> {
        Self::ALL.iter().copied().filter(|r| !(mask & U256::from(r.bit())).is_zero()).collect()
    }

    /// The bits of `mask` that match no known reason (non-zero means the contract is newer than
    /// this crate).
    pub fn unknown_bits(mask: U256) -> U256 {
        mask & !U256::from(Self::encode(Self::ALL.iter().copied()))
    }

    /// The mask with exactly these reasons set.
    pub fn encode(reasons: impl IntoIterator<Item = Self>) -> u16 {
        reasons.into_iter().fold(0, |mask, r| mask | r.bit())
    }
}

impl fmt::Display for ClaimReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl FromStr for ClaimReason {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL.iter().copied().find(|r| r.code() == s).ok_or_else(|| Error::UnknownName {
            kind: "claim reason",
            input: s.to_owned(),
            expected: "RUN_NOT_FOUND, RUN_NOT_OPEN, RUN_PAST_DEADLINE, AGENT_NOT_FOUND, \
                       AGENT_FROZEN, AGENT_BANNED, INSUFFICIENT_STAKE, AGENT_IS_POSTER, CLAIMS_PAUSED, \
                       AGENT_SLASHED_ON_RUN",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bits_match_the_contract() {
        for (i, reason) in ClaimReason::ALL.iter().enumerate() {
            assert_eq!(reason.bit(), 1 << i);
            assert_eq!(reason.code().parse::<ClaimReason>().unwrap(), *reason);
            assert_eq!(serde_json::to_string(reason).unwrap(), format!("\"{}\"", reason.code()));
        }
        assert_eq!(ClaimReason::AgentIsPoster.bit(), 128);
        assert_eq!(ClaimReason::ClaimsPaused.bit(), 256);
    }

    #[test]
    fn decodes_masks() {
        assert!(ClaimReason::decode(U256::ZERO).is_empty());
        assert_eq!(
            ClaimReason::decode(U256::from(0b1_0100_0010u64)),
            [ClaimReason::RunNotOpen, ClaimReason::InsufficientStake, ClaimReason::ClaimsPaused]
        );
        assert_eq!(ClaimReason::decode(U256::MAX).len(), ClaimReason::ALL.len());
        let codes: Vec<_> =
            ClaimReason::decode(U256::from(0b10)).iter().map(|r| r.code()).collect();
        assert_eq!(codes, ["RUN_NOT_OPEN"]);
    }

    #[test]
    fn round_trips_and_reports_unknown_bits() {
        let reasons = [ClaimReason::AgentFrozen, ClaimReason::AgentIsPoster];
        let mask = ClaimReason::encode(reasons);
        assert_eq!(ClaimReason::decode(U256::from(mask)), reasons);
        assert!(ClaimReason::unknown_bits(U256::from(mask)).is_zero());
        assert_eq!(ClaimReason::unknown_bits(U256::from(1u64 << 12 | 1)), U256::from(1u64 << 12));
        assert!("run_not_open".parse::<ClaimReason>().is_err());
    }
}
