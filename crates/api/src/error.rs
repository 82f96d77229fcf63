//! [`ApiError`]: the one error type every handler returns. The body is
//! `{"error": {"code", "message"}}` with a stable machine code and a human message; causes
//! (database errors) go to the log, never to the client.

use axum::{
    Json,
    extract::rejection::{JsonRejection, PathRejection, QueryRejection},
    http::StatusCode,
    response::{IntoResponse, Response},
};
use serde::Serialize;
use utoipa::ToSchema;

/// Everything a request can fail with.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// A path, query or body parameter is missing or malformed (400 `INVALID_PARAMETER`).
    #[error("invalid parameter `{parameter}`: {reason}")]
    InvalidParameter {
        /// The parameter, as the client spells it (`limit`, `minReward`, `body`, ...).
        parameter: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// The request body exceeds the limit (400 `BODY_TOO_LARGE`).
    #[error("request body is larger than {limit} bytes")]
    BodyTooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// No run has this id (404 `RUN_NOT_FOUND`).
    #[error("run {0} not found")]
    RunNotFound(u64),
    /// No agent has this id (404 `AGENT_NOT_FOUND`).
    #[error("agent {0} not found")]
    AgentNotFound(u64),
    /// No route matches (404 `NOT_FOUND`).
    #[error("no such endpoint")]
    NoRoute,
    /// The route exists but not for this method (405 `METHOD_NOT_ALLOWED`).
    #[error("method not allowed")]
    MethodNotAllowed,
    /// The run cannot be claimed now (400 `RUN_NOT_AVAILABLE`); the reasons are claim codes.
    #[error("run {run_id} is not available to claim: {}", reasons.join(", "))]
    RunNotAvailable {
        /// The run.
        run_id: u64,
        /// The failed rules (`RUN_NOT_OPEN`, `RUN_PAST_DEADLINE`, `CLAIMS_PAUSED`).
        reasons: Vec<&'static str>,
    },
    /// The agent may not claim this run (403, `code` = the first failed rule: `AGENT_BANNED`,
    /// `AGENT_FROZEN`, `INSUFFICIENT_STAKE`, `AGENT_IS_POSTER`, `AGENT_SLASHED_ON_RUN` or
    /// `WALLET_MISMATCH`).
    #[error("agent {agent_id} may not claim run {run_id}: {}", reasons.join(", "))]
    ClaimForbidden {
        /// The run.
        run_id: u64,
        /// The agent.
        agent_id: u64,
        /// The failed rules, most important first.
        reasons: Vec<&'static str>,
    },
    /// The server cannot answer now (503 `SERVICE_UNAVAILABLE`): the database failed or the
    /// deployment is unknown. The cause is logged, not returned.
    #[error("service unavailable")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// Nothing indexed yet for the chain (503 `NOT_INDEXED`).
    #[error("nothing is indexed yet for this chain")]
    NotIndexed,
    /// Every event-stream slot of this server is taken.
    #[error("too many event streams are open; retry in {retry_after} s")]
    TooManyStreams {
        /// Seconds after which to retry (the `Retry-After` header).
        retry_after: u64,
    },
}

/// The JSON error body.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// The error.
    pub error: ErrorDetail,
}

/// A stable code and a message for people.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// Stable machine-readable code, e.g. `RUN_NOT_FOUND`, `INVALID_PARAMETER`, `AGENT_FROZEN`.
    #[schema(example = "INVALID_PARAMETER")]
    pub code: String,
    /// What went wrong, naming the offending parameter when there is one.
    #[schema(example = "invalid parameter `limit`: must be an integer from 1 to 100")]
    pub message: String,
}

impl ApiError {
    /// Shorthand for [`ApiError::InvalidParameter`].
    pub fn invalid(parameter: &'static str, reason: impl Into<String>) -> Self {
        Self::InvalidParameter { parameter, reason: reason.into() }
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::InvalidParameter { .. } | Self::BodyTooLarge { .. } => StatusCode::BAD_REQUEST,
            Self::RunNotAvailable { .. } => StatusCode::BAD_REQUEST,
            Self::RunNotFound(_) | Self::AgentNotFound(_) | Self::NoRoute => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::ClaimForbidden { .. } => StatusCode::FORBIDDEN,
            Self::Unavailable(_) | Self::NotIndexed | Self::TooManyStreams { .. } => {
                StatusCode::SERVICE_UNAVAILABLE
            }
        }
    }

    /// The stable code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::InvalidParameter { .. } => "INVALID_PARAMETER",
            Self::BodyTooLarge { .. } => "BODY_TOO_LARGE",
            Self::RunNotFound(_) => "RUN_NOT_FOUND",
            Self::AgentNotFound(_) => "AGENT_NOT_FOUND",
            Self::NoRoute => "NOT_FOUND",
            Self::MethodNotAllowed => "METHOD_NOT_ALLOWED",
            Self::RunNotAvailable { .. } => "RUN_NOT_AVAILABLE",
            Self::ClaimForbidden { reasons, .. } => reasons.first().copied().unwrap_or("FORBIDDEN"),
            Self::Unavailable(_) => "SERVICE_UNAVAILABLE",
            Self::NotIndexed => "NOT_INDEXED",
            Self::TooManyStreams { .. } => "TOO_MANY_STREAMS",
        }
    }
}

impl From<runs_db::Error> for ApiError {
    fn from(err: runs_db::Error) -> Self {
        Self::Unavailable(Box::new(err))
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        if let Self::Unavailable(cause) = &self {
            tracing::error!(target: "runs::api", error = %cause, "request failed");
        }
        let body = ErrorBody {
            error: ErrorDetail { code: self.code().to_owned(), message: self.to_string() },
        };
        let mut response = (status, Json(body)).into_response();
        if let Self::TooManyStreams { retry_after } = self {
            response.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from(retry_after),
            );
        }
        response
    }
}

impl From<PathRejection> for ApiError {
    fn from(rejection: PathRejection) -> Self {
        Self::invalid("path", rejection.body_text())
    }
}

impl From<QueryRejection> for ApiError {
    fn from(rejection: QueryRejection) -> Self {
        Self::invalid("query", rejection.body_text())
    }
}

/// Turns axum's JSON rejections into 400s, naming the field serde reports where it can.
pub(crate) fn json_rejection(rejection: JsonRejection, limit: usize) -> ApiError {
    match rejection {
        JsonRejection::BytesRejection(_) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            ApiError::BodyTooLarge { limit }
        }
        JsonRejection::MissingJsonContentType(_) => {
            ApiError::invalid("Content-Type", "expected `application/json`")
        }
        JsonRejection::JsonDataError(err) => ApiError::invalid("body", err.body_text()),
        JsonRejection::JsonSyntaxError(err) => ApiError::invalid("body", err.body_text()),
        other => ApiError::invalid("body", other.body_text()),
    }
}
