//! The run state machine and the agent trust ladder, in the contracts' enum order.
//!
//! The discriminants are the values the contracts store and emit (`uint8` in ABI terms), so they
//! must never be reordered. Text forms (`Display`, `FromStr`, serde) are the Solidity names in
//! SCREAMING_SNAKE_CASE, as the REST API reports them; parsing ignores ASCII case so that
//! `state=open` works as well as `state=OPEN`.

use std::{fmt, str::FromStr};

use serde::{Deserialize, Serialize};

use crate::Error;

macro_rules! contract_enum {
    (
        $(#[$doc:meta])*
        $name:ident, $kind:literal, $expected:literal {
            $( $(#[$vdoc:meta])* $variant:ident = $value:literal => $text:literal, )+
        }
    ) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
        #[serde(rename_all = "SCREAMING_SNAKE_CASE")]
        #[repr(u8)]
        pub enum $name {
            $( $(#[$vdoc])* $variant = $value, )+
        }

        impl $name {
            /// Every variant, in discriminant order.
            pub const ALL: &'static [Self] = &[$(Self::$variant),+];

            /// The Solidity name, e.g. `"IN_PROGRESS"`.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $text,)+
                }
            }

            /// The contract's `uint8` value.
            pub const fn as_u8(self) -> u8 {
                self as u8
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = Error;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::ALL
                    .iter()
                    .copied()
                    .find(|v| v.as_str().eq_ignore_ascii_case(s))
                    .ok_or_else(|| Error::UnknownName {
                        kind: $kind,
                        input: s.to_owned(),
                        expected: $expected,
                    })
            }
        }

        impl TryFrom<u8> for $name {
            type Error = Error;

            fn try_from(value: u8) -> Result<Self, Self::Error> {
                Self::ALL.get(usize::from(value)).copied().ok_or(Error::InvalidDiscriminant {
                    kind: $kind,
                    value,
                    max: (Self::ALL.len() - 1) as u8,
                })
            }
        }

        impl From<$name> for u8 {
            fn from(value: $name) -> Self {
                value.as_u8()
            }
        }
    };
}

contract_enum!(
    /// Where a run is in its life (`RunEscrow.RunState`).
    RunState, "run state",
    "DRAFT, OPEN, CLAIMED, IN_PROGRESS, SUBMITTED, APPROVED, REVISION_REQUESTED, REJECTED, CANCELLED, EXPIRED, DISPUTED, RESOLVED" {
        /// Created, not funded yet.
        Draft = 0 => "DRAFT",
        /// Funded and waiting for an agent.
        Open = 1 => "OPEN",
        /// An agent claimed it.
        Claimed = 2 => "CLAIMED",
        /// The agent started work.
        InProgress = 3 => "IN_PROGRESS",
        /// A deliverable awaits the poster's decision.
        Submitted = 4 => "SUBMITTED",
        /// Approved and paid. Terminal.
        Approved = 5 => "APPROVED",
        /// The poster asked for another submission.
        RevisionRequested = 6 => "REVISION_REQUESTED",
        /// Rejected after the revisions ran out, with the poster's bond posted. Final (and the
        /// money refunded) once the agent accepts it or the dispute window passes; the agent may
        /// dispute it until then.
        Rejected = 7 => "REJECTED",
        /// Cancelled by the poster before a claim; refunded. Terminal.
        Cancelled = 8 => "CANCELLED",
        /// Past its deadline without a result; refunded. Terminal.
        Expired = 9 => "EXPIRED",
        /// The agent disputed the rejection; the run's arbitrator rules (or the default applies).
        Disputed = 10 => "DISPUTED",
        /// The dispute ended with a ruling or the default split. Terminal.
        Resolved = 11 => "RESOLVED",
    }
);

impl RunState {
    /// Whether no transition leaves this state (the money has gone to the agent or the poster).
    /// REJECTED is not: until the rejection is final the agent may dispute it and the poster may
    /// still approve; whether its money is paid out is the run's `settled` flag.
    pub const fn is_terminal(self) -> bool {
        matches!(self, Self::Approved | Self::Cancelled | Self::Expired | Self::Resolved)
    }

    /// Whether a claim's stake reservation is held in this state (from the claim until the run
    /// settles). For REJECTED it is held until the rejection is final.
    pub const fn holds_claim(self) -> bool {
        matches!(
            self,
            Self::Claimed
                | Self::InProgress
                | Self::Submitted
                | Self::RevisionRequested
                | Self::Rejected
                | Self::Disputed
        )
    }

    /// Whether an agent holds the run and owes a submission (the states `slash` applies to).
    pub const fn is_awaiting_submission(self) -> bool {
        matches!(self, Self::Claimed | Self::InProgress | Self::RevisionRequested)
    }
}

contract_enum!(
    /// An agent's rung on the trust ladder (`StakeVault.AgentStatus`).
    AgentStatus, "agent status", "UNVERIFIED, PROVISIONAL, ESTABLISHED, FROZEN, BANNED" {
        /// Registered, stake below the minimum, never slashed.
        Unverified = 0 => "UNVERIFIED",
        /// Stake at or above the minimum.
        Provisional = 1 => "PROVISIONAL",
        /// Stake at or above the minimum, enough completions and age.
        Established = 2 => "ESTABLISHED",
        /// Slashed; leaves this state only by staking back to the minimum.
        Frozen = 3 => "FROZEN",
        /// Too many strikes. Permanent.
        Banned = 4 => "BANNED",
    }
);

contract_enum!(
    /// How a claim ended, as the escrow reports it to the vault (`StakeVault.Outcome`).
    ClaimOutcome, "claim outcome",
    "APPROVED, DISPUTE_WON, DISPUTE_SPLIT, REJECTED, SLASHED, ABANDONED, DISPUTE_LOST, DISPUTE_LOST_STRUCK" {
        /// Approved (by the poster or on timeout). Releases the reservation.
        Approved = 0 => "APPROVED",
        /// A ruling of at least 50% for the agent, or a conceded dispute. Releases it.
        DisputeWon = 1 => "DISPUTE_WON",
        /// The default 50/50 split of a silent arbitrator. Releases it.
        DisputeSplit = 2 => "DISPUTE_SPLIT",
        /// A rejection became final. Releases it.
        Rejected = 3 => "REJECTED",
        /// Slashed after the claim timeout. Forfeits it, with a strike.
        Slashed = 4 => "SLASHED",
        /// Given back by the agent. Forfeits it, without a strike.
        Abandoned = 5 => "ABANDONED",
        /// A ruling below 50%. Forfeits it.
        DisputeLost = 6 => "DISPUTE_LOST",
        /// A ruling of 0 with a strike. Forfeits it, with a strike.
        DisputeLostStruck = 7 => "DISPUTE_LOST_STRUCK",
    }
);

/// Whether a ruling of `agent_share_bps` gives the agent the dispute (the bond, its reservation
/// back, a completion): at least half of reward and fee, as `RunEscrow` decides it.
pub const fn ruling_for_agent(agent_share_bps: u16) -> bool {
    agent_share_bps >= crate::Usdc::BPS_DENOMINATOR / 2
}

impl ClaimOutcome {
    /// Whether this outcome counts a strike (and freezes the agent).
    pub const fn is_strike(self) -> bool {
        matches!(self, Self::Slashed | Self::DisputeLostStruck)
    }

    /// Whether this outcome is a lost dispute.
    pub const fn is_dispute_lost(self) -> bool {
        matches!(self, Self::DisputeLost | Self::DisputeLostStruck)
    }
}

impl AgentStatus {
    /// Whether the status itself allows claiming (the stake check is separate).
    pub const fn may_claim(self) -> bool {
        matches!(self, Self::Provisional | Self::Established)
    }

    /// Whether the status can never change again.
    pub const fn is_terminal(self) -> bool {
        matches!(self, Self::Banned)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_state_discriminants_match_the_contract() {
        let expected = [
            "DRAFT",
            "OPEN",
            "CLAIMED",
            "IN_PROGRESS",
            "SUBMITTED",
            "APPROVED",
            "REVISION_REQUESTED",
            "REJECTED",
            "CANCELLED",
            "EXPIRED",
            "DISPUTED",
            "RESOLVED",
        ];
        assert_eq!(RunState::ALL.len(), expected.len());
        for (value, name) in expected.iter().enumerate() {
            let state = RunState::try_from(value as u8).unwrap();
            assert_eq!(state.as_u8() as usize, value);
            assert_eq!(state.to_string(), *name);
            assert_eq!(name.parse::<RunState>().unwrap(), state);
            assert_eq!(serde_json::to_string(&state).unwrap(), format!("\"{name}\""));
            assert_eq!(serde_json::from_str::<RunState>(&format!("\"{name}\"")).unwrap(), state);
        }
    }

    #[test]
    fn run_state_rejects_unknown_values() {
        let err = RunState::try_from(12).unwrap_err();
        assert_eq!(err.to_string(), "run state discriminant 12 is out of range (max 11)");
        let err = "FOO".parse::<RunState>().unwrap_err();
        assert!(
            err.to_string().starts_with(r#"unknown run state "FOO" (expected one of: DRAFT, OPEN"#)
        );
        assert_eq!("in_progress".parse::<RunState>().unwrap(), RunState::InProgress);
        assert!("".parse::<RunState>().is_err());
    }

    #[test]
    fn terminal_states() {
        let terminal: Vec<_> = RunState::ALL.iter().filter(|s| s.is_terminal()).collect();
        assert_eq!(
            terminal,
            [&RunState::Approved, &RunState::Cancelled, &RunState::Expired, &RunState::Resolved]
        );
        assert!(RunState::Rejected.holds_claim());
        assert!(RunState::Disputed.holds_claim());
        assert!(!RunState::Open.holds_claim());
        assert!(RunState::RevisionRequested.is_awaiting_submission());
        assert!(!RunState::Submitted.is_awaiting_submission());
    }

    #[test]
    fn agent_status_discriminants_match_the_contract() {
        for (value, name) in
            ["UNVERIFIED", "PROVISIONAL", "ESTABLISHED", "FROZEN", "BANNED"].iter().enumerate()
        {
            let status = AgentStatus::try_from(value as u8).unwrap();
            assert_eq!(status.to_string(), *name);
            assert_eq!(name.parse::<AgentStatus>().unwrap(), status);
        }
        assert!(AgentStatus::try_from(5).is_err());
        assert!(AgentStatus::Established.may_claim());
        assert!(!AgentStatus::Frozen.may_claim());
        assert!(AgentStatus::Banned.is_terminal());
    }
}
