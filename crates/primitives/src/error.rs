//! The crate's error type and `Result` alias.

use std::path::PathBuf;

/// Result alias for this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong while parsing or loading a domain value.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A USDC amount could not be parsed.
    #[error(transparent)]
    Amount(#[from] AmountError),
    /// An id (`RunId`, `AgentId`) could not be parsed or does not fit.
    #[error("invalid {kind} id {input:?}: {reason}")]
    InvalidId {
        /// Which id: `"run"` or `"agent"`.
        kind: &'static str,
        /// The rejected input, as given.
        input: String,
        /// Why it was rejected.
        reason: &'static str,
    },
    /// A name that is not one of an enum's variants (e.g. `state=FOO`).
    #[error("unknown {kind} {input:?} (expected one of: {expected})")]
    UnknownName {
        /// The enum: `"run state"`, `"agent status"`, `"claim reason"`.
        kind: &'static str,
        /// The rejected input, as given.
        input: String,
        /// The accepted names, comma separated.
        expected: &'static str,
    },
    /// A numeric discriminant that the contract never produces.
    #[error("{kind} discriminant {value} is out of range (max {max})")]
    InvalidDiscriminant {
        /// The enum: `"run state"` or `"agent status"`.
        kind: &'static str,
        /// The rejected value.
        value: u8,
        /// The largest valid value.
        max: u8,
    },
    /// The deployment manifest could not be read or written.
    #[error("deployment manifest {}: {source}", path.display())]
    ManifestIo {
        /// The manifest file.
        path: PathBuf,
        /// The I/O failure.
        #[source]
        source: std::io::Error,
    },
    /// The deployment manifest is not valid JSON of the expected shape.
    #[error("deployment manifest {}: {source}", path.display())]
    ManifestJson {
        /// The manifest file.
        path: PathBuf,
        /// The JSON failure, with line and column.
        #[source]
        source: serde_json::Error,
    },
}

/// Why a decimal USDC amount was rejected. Each variant names the offending input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AmountError {
    /// The input was empty.
    #[error("amount is empty")]
    Empty,
    /// The input had a minus sign; amounts are never negative.
    #[error("amount {0:?} is negative")]
    Negative(String),
    /// The input is not digits with at most one decimal point.
    #[error(
        "amount {0:?} is not a decimal number (expected digits, optionally `.` and up to 6 more digits)"
    )]
    Invalid(String),
    /// More fractional digits than USDC's 6 decimals; rounding would silently change the amount.
    #[error("amount {input:?} has {decimals} decimal places, USDC has at most 6")]
    TooPrecise {
        /// The rejected input.
        input: String,
        /// How many fractional digits it had.
        decimals: usize,
    },
    /// The amount does not fit in a `uint256` of base units.
    #[error("amount {0:?} is too large")]
    Overflow(String),
}
