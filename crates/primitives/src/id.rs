//! Run and agent ids.
//!
//! Both contracts count ids up from 1 as `uint256`; 0 is never assigned and means "none" in
//! contract storage (e.g. the agent of an unclaimed run). A `u64` is ample for ids that count up
//! by one per transaction, and it serializes as a plain JSON number that JavaScript reads exactly
//! (ids stay far below 2^53). Parsing accepts any `u64`, 0 included, so that looking up id 0 is a
//! "not found", not a malformed request.

use std::{fmt, str::FromStr};

use alloy_primitives::U256;
use serde::{Deserialize, Serialize};

use crate::Error;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident, $kind:literal) => {
        $(#[$doc])*
        #[derive(
            Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
        )]
        #[serde(transparent)]
        pub struct $name(pub u64);

        impl $name {
            /// Wraps a raw id.
            pub const fn new(id: u64) -> Self {
                Self(id)
            }

            /// The raw id.
            pub const fn get(self) -> u64 {
                self.0
            }

            /// The id as the contract's `uint256`.
            pub fn to_u256(self) -> U256 {
                U256::from(self.0)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0, f)
            }
        }

        impl FromStr for $name {
            type Err = Error;

            /// Parses a plain decimal id: ASCII digits only, no sign, no whitespace.
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                let invalid = |reason| Error::InvalidId { kind: $kind, input: s.to_owned(), reason };
                if s.is_empty() {
                    return Err(invalid("empty"));
                }
                if !s.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(invalid("expected a non-negative decimal integer"));
                }
                s.parse::<u64>().map(Self).map_err(|_| invalid("too large"))
            }
        }

        impl From<u64> for $name {
            fn from(id: u64) -> Self {
                Self(id)
            }
        }

        impl From<$name> for u64 {
            fn from(id: $name) -> Self {
                id.0
            }
        }

        impl From<$name> for U256 {
            fn from(id: $name) -> Self {
                id.to_u256()
            }
        }

        impl TryFrom<U256> for $name {
            type Error = Error;

            fn try_from(id: U256) -> Result<Self, Self::Error> {
                u64::try_from(id).map(Self).map_err(|_| Error::InvalidId {
                    kind: $kind,
                    input: id.to_string(),
                    reason: "too large",
                })
            }
        }
    };
}

id_type!(
    /// A run's id in `RunEscrow` (the API calls it `bountyId`, as the seed did).
    RunId,
    "run"
);

id_type!(
    /// An agent's id in `StakeVault`.
    AgentId,
    "agent"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_displays() {
        assert_eq!("42".parse::<RunId>().unwrap(), RunId(42));
        assert_eq!("0".parse::<AgentId>().unwrap(), AgentId(0));
        assert_eq!(RunId(7).to_string(), "7");
        assert_eq!(u64::MAX.to_string().parse::<RunId>().unwrap(), RunId(u64::MAX));
    }

    #[test]
    fn rejects_malformed_ids_with_a_reason() {
        for (input, reason) in [
            ("", "empty"),
            ("-1", "expected a non-negative decimal integer"),
            ("+1", "expected a non-negative decimal integer"),
            ("1.5", "expected a non-negative decimal integer"),
            (" 1", "expected a non-negative decimal integer"),
            ("abc", "expected a non-negative decimal integer"),
            ("18446744073709551616", "too large"),
        ] {
            match input.parse::<RunId>() {
                Err(Error::InvalidId { kind: "run", input: got, reason: r }) => {
                    assert_eq!(got, input);
                    assert_eq!(r, reason, "{input:?}");
                }
                other => panic!("{input:?}: unexpected {other:?}"),
            }
        }
        let err = "x".parse::<AgentId>().unwrap_err();
        assert_eq!(
            err.to_string(),
            r#"invalid agent id "x": expected a non-negative decimal integer"#
        );
    }

    #[test]
    fn converts_to_and_from_u256() {
        assert_eq!(RunId(5).to_u256(), U256::from(5));
        assert_eq!(RunId::try_from(U256::from(9)).unwrap(), RunId(9));
        assert!(AgentId::try_from(U256::from(u64::MAX) + U256::from(1)).is_err());
    }

    #[test]
    fn serializes_as_a_plain_number() {
        assert_eq!(serde_json::to_string(&RunId(3)).unwrap(), "3");
        assert_eq!(serde_json::from_str::<AgentId>("12").unwrap(), AgentId(12));
        assert!(serde_json::from_str::<AgentId>("-1").is_err());
    }
}
