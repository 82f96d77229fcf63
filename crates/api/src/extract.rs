//! Extractors that turn every malformed input into an [`ApiError`] naming the parameter, instead
//! of axum's plain-text rejections, plus the parsers shared by the query parameters.

use std::sync::{Arc, OnceLock};

use axum::{
    extract::{FromRequest, FromRequestParts, Path, Query, Request},
    http::request::Parts,
};
use runs_db::{
    BlockRef,
    read::{Reader, RunQuery, RunView},
};
use runs_primitives::{Address, RunId, Usdc};
use serde::de::DeserializeOwned;

use crate::{ApiError, ApiState, error::json_rejection};

/// The `{id}` path segment: a run or agent id, 1 ..= 2^63 - 1.
#[derive(Debug, Clone, Copy)]
pub(crate) struct IdPath(pub(crate) u64);

impl<S: Send + Sync> FromRequestParts<S> for IdPath {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Path(raw) = Path::<String>::from_request_parts(parts, state).await?;
        parse_id("id", &raw).map(Self)
    }
}

/// Query parameters deserialized into `T` (whose fields are strings, validated by the handler).
#[derive(Debug, Clone)]
pub(crate) struct ApiQuery<T>(pub(crate) T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Query(value) = Query::<T>::from_request_parts(parts, state).await?;
        Ok(Self(value))
    }
}

/// A JSON body, with the body limit and every rejection mapped to a 400.
#[derive(Debug, Clone)]
pub(crate) struct ApiJson<T>(pub(crate) T);

impl<T: DeserializeOwned> FromRequest<ApiState> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &ApiState) -> Result<Self, Self::Rejection> {
        let limit = state.config().body_limit;
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(value)) => Ok(Self(value)),
            Err(rejection) => Err(json_rejection(rejection, limit)),
        }
    }
}

/// The database side of one request: one connection, and the indexed head the answer is based
/// on (the first one a read returns: the run reads carry it in the same statement, the others
/// ask for it with [`Db::head`]). Taken after the other extractors, so malformed input is
/// rejected before a connection is checked out. The head is also handed to the freshness
/// middleware (through [`HeadSlot`]) for the `X-Indexed-Block` header.
#[derive(Debug)]
pub(crate) struct Db {
    pub(crate) reader: Reader,
    chain_id: u64,
    head: Option<Head>,
    slot: Option<HeadSlot>,
}

impl FromRequestParts<ApiState> for Db {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &ApiState) -> Result<Self, ApiError> {
        Ok(Self {
            reader: state.store().reader().await?,
            chain_id: state.chain_id(),
            head: None,
            slot: parts.extensions.get::<HeadSlot>().cloned(),
        })
    }
}

impl Db {
    /// The indexed head this request answers at, read now if no read returned it yet.
    pub(crate) async fn head(&mut self) -> Result<Head, ApiError> {
        if let Some(head) = self.head {
            return Ok(head);
        }
        let head = self.reader.indexed_head(self.chain_id).await?;
        Ok(self.record(head))
    }

    /// One page of runs (and the head, from the same statement).
    pub(crate) async fn list_runs(&mut self, query: &RunQuery) -> Result<Vec<RunView>, ApiError> {
        let page = self.reader.list_runs(self.chain_id, query).await?;
        self.record(page.head);
        Ok(page.rows)
    }

    /// One run (and the head, from the same statement).
    pub(crate) async fn get_run(&mut self, run_id: RunId) -> Result<Option<RunView>, ApiError> {
        let found = self.reader.get_run(self.chain_id, run_id).await?;
        self.record(found.head);
        Ok(found.rows)
    }

    fn record(&mut self, block: Option<BlockRef>) -> Head {
        *self.head.get_or_insert_with(|| {
            if let Some(slot) = &self.slot {
                slot.record(block);
            }
            Head(block)
        })
    }
}

/// Where [`Db`] leaves the indexed head it read, for the middlewares that stamp the response
/// and cache it.
#[derive(Debug, Clone, Default)]
pub(crate) struct HeadSlot(Arc<OnceLock<Option<BlockRef>>>);

impl HeadSlot {
    fn record(&self, block: Option<BlockRef>) {
        // The first read wins: it is the one the handler's answer is based on.
        let _ = self.0.set(block);
    }

    /// The block number read by the handler (0 before anything was indexed), if it read one.
    pub(crate) fn get(&self) -> Option<u64> {
        self.0.get().map(|block| block.map_or(0, |b| b.number))
    }

    /// The head read by the handler, if it read one and something was indexed.
    pub(crate) fn block(&self) -> Option<BlockRef> {
        self.0.get().copied().flatten()
    }
}

/// The last indexed block (None before anything is indexed).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Head(pub(crate) Option<BlockRef>);

impl Head {
    /// The indexed block number (0 before anything is indexed).
    pub(crate) fn number(&self) -> u64 {
        self.0.map_or(0, |b| b.number)
    }

    /// The indexed block's timestamp: "now" for every time-dependent rule.
    pub(crate) fn timestamp(&self) -> u64 {
        self.0.map_or(0, |b| b.timestamp)
    }
}

/// An id: decimal digits, 1 ..= 2^63 - 1 (what the database can hold).
pub(crate) fn parse_id(parameter: &'static str, raw: &str) -> Result<u64, ApiError> {
    let bad = || ApiError::invalid(parameter, "must be an integer from 1 to 9223372036854775807");
    if raw.is_empty() || raw.len() > 19 || !raw.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let id: u64 = raw.parse().map_err(|_| bad())?;
    if id == 0 || i64::try_from(id).is_err() {
        return Err(bad());
    }
    Ok(id)
}

/// An integer in `min ..= max`.
pub(crate) fn parse_int(
    parameter: &'static str,
    raw: &str,
    min: u64,
    max: u64,
) -> Result<u64, ApiError> {
    let bad = || ApiError::invalid(parameter, format!("must be an integer from {min} to {max}"));
    if raw.is_empty() || raw.len() > 20 || !raw.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let value: u64 = raw.parse().map_err(|_| bad())?;
    if value < min || value > max {
        return Err(bad());
    }
    Ok(value)
}

/// Whole USDC with up to 6 decimals (`100`, `12.5`), as `minReward` / `maxReward` take it.
pub(crate) fn parse_usdc(parameter: &'static str, raw: &str) -> Result<Usdc, ApiError> {
    raw.parse::<Usdc>().map_err(|err| {
        ApiError::invalid(parameter, format!("{err}; expected whole USDC with at most 6 decimals"))
    })
}

/// A 20-byte hex address with `0x`, any letter case.
pub(crate) fn parse_address(parameter: &'static str, raw: &str) -> Result<Address, ApiError> {
    let hex = raw.strip_prefix("0x").or_else(|| raw.strip_prefix("0X"));
    match hex {
        Some(hex) if hex.len() == 40 && hex.bytes().all(|b| b.is_ascii_hexdigit()) => {
            raw.parse::<Address>().map_err(|_| ApiError::invalid(parameter, "not an address"))
        }
        _ => Err(ApiError::invalid(parameter, "must be a 0x-prefixed 20-byte hex address")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids() {
        assert_eq!(parse_id("id", "1").unwrap(), 1);
        assert_eq!(parse_id("id", "9223372036854775807").unwrap(), i64::MAX as u64);
        for bad in
            ["", "0", "-1", "abc", "1.0", " 1", "9223372036854775808", "99999999999999999999"]
        {
            let err = parse_id("id", bad).unwrap_err();
            assert!(err.to_string().contains("`id`"), "{bad}: {err}");
        }
    }

    #[test]
    fn amounts_and_addresses() {
        assert_eq!(parse_usdc("minReward", "100").unwrap(), Usdc::whole(100));
        assert_eq!(parse_usdc("minReward", "0.000001").unwrap(), Usdc::from(1u64));
        for bad in ["-1", "1.0000001", "", "1e3", "abc"] {
            assert!(parse_usdc("minReward", bad).unwrap_err().to_string().contains("minReward"));
        }
        assert!(parse_address("poster", "0x70997970c51812dc3a010c7d01b50e0d17dc79c8").is_ok());
        assert!(parse_address("poster", "0x70997970C51812dc3A010C7d01b50e0d17dc79C8").is_ok());
        for bad in [
            "",
            "0x",
            "0x1234",
            "70997970c51812dc3a010c7d01b50e0d17dc79c8",
            "0xzz997970c51812dc3a010c7d01b50e0d17dc79c8",
        ] {
            assert!(parse_address("poster", bad).is_err(), "{bad}");
        }
    }
}
