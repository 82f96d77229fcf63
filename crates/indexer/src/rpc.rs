//! The node, as the indexer uses it: the head, block headers and logs, each request bounded by a
//! timeout. Header and head reads are retried with backoff until they answer; `eth_getLogs` is
//! tried once so that the caller can tell a "range too large" error from a transient one.

use std::{collections::HashMap, time::Duration};

use alloy::{
    eips::BlockNumberOrTag,
    providers::{DynProvider, Provider, ProviderBuilder},
    rpc::{
        client::ClientBuilder,
        types::{Filter, Log},
    },
    transports::{
        TransportError,
        http::reqwest::Url,
        layers::{RateLimitRetryPolicy, RetryBackoffLayer, RetryPolicy},
    },
};
use futures::{StreamExt, stream};
use runs_db::BlockRef;

use crate::{
    range::is_range_too_large,
    retry::{Backoff, retry},
};

/// A read-only provider over HTTP for the indexer: alloy's [`RetryBackoffLayer`] retries rate
/// limits (HTTP 429 and the providers' "rate limited" errors) below our own retry loop, which
/// handles transport errors and timeouts.
pub fn connect_http(url: Url) -> DynProvider {
    let layer = RetryBackoffLayer::new_with_policy(10, 250, 1_000, RateLimitsNotRanges);
    let client = ClientBuilder::default().layer(layer).http(url);
    ProviderBuilder::new().connect_client(client).erased()
}

/// alloy's rate-limit policy, except for "range too large" answers: some providers use the
/// rate-limit code -32005 for "query returned more than 10000 results", which retrying unchanged
/// can never fix — the indexer must see it and halve the range.
#[derive(Debug, Clone, Copy)]
struct RateLimitsNotRanges;

impl RetryPolicy for RateLimitsNotRanges {
    fn should_retry(&self, error: &TransportError) -> bool {
        !is_range_too_large(&error.to_string())
            && RateLimitRetryPolicy::default().should_retry(error)
    }

    fn backoff_hint(&self, error: &TransportError) -> Option<Duration> {
        RateLimitRetryPolicy::default().backoff_hint(error)
    }
}

/// One failed request.
#[derive(Debug, thiserror::Error)]
pub enum RpcError {
    /// The node did not answer within the per-request timeout.
    #[error("timed out after {0:?}")]
    Timeout(Duration),
    /// The transport or the node returned an error.
    #[error("{0}")]
    Node(#[from] TransportError),
}

/// The node with timeouts, retries and bounded concurrency.
#[derive(Debug, Clone)]
pub(crate) struct Rpc {
    provider: DynProvider,
    timeout: Duration,
    backoff: Backoff,
    concurrency: usize,
}

impl Rpc {
    pub(crate) fn new(
        provider: DynProvider,
        timeout: Duration,
        backoff: Backoff,
        concurrency: usize,
    ) -> Self {
        Self { provider, timeout, backoff, concurrency: concurrency.max(1) }
    }

    async fn timed<T>(
        &self,
        call: impl Future<Output = alloy::transports::TransportResult<T>>,
    ) -> Result<T, RpcError> {
        tokio::time::timeout(self.timeout, call)
            .await
            .map_err(|_| RpcError::Timeout(self.timeout))?
            .map_err(RpcError::Node)
    }

    /// The node's latest block number, retried until it answers.
    pub(crate) async fn head(&self) -> u64 {
        retry("eth_blockNumber", self.backoff, || self.timed(self.provider.get_block_number()))
            .await
    }

    /// The header of block `number`, or `None` when the node does not have it (yet); retried until
    /// the node answers.
    pub(crate) async fn header(&self, number: u64) -> Option<BlockRef> {
        let block = retry("eth_getBlockByNumber", self.backoff, || {
            self.timed(
                self.provider.get_block_by_number(BlockNumberOrTag::Number(number)).into_future(),
            )
        })
        .await?;
        let header = &block.header;
        Some(BlockRef {
            number: header.number,
            hash: header.hash,
            parent_hash: header.parent_hash,
            timestamp: header.timestamp,
        })
    }

    /// The headers of `numbers`, fetched with bounded concurrency; missing blocks are absent.
    pub(crate) async fn headers(
        &self,
        numbers: impl IntoIterator<Item = u64>,
    ) -> HashMap<u64, Option<BlockRef>> {
        // Owned futures (a clone of the cheap provider handle each): a stream of closures that
        // borrow `self` is not provably `Send` to the compiler.
        let calls: Vec<_> = numbers
            .into_iter()
            .map(|number| {
                let rpc = self.clone();
                async move { (number, rpc.header(number).await) }
            })
            .collect();
        stream::iter(calls).buffer_unordered(self.concurrency).collect().await
    }

    /// One `eth_getLogs` attempt over `[from, to]` for `addresses`.
    pub(crate) async fn logs(
        &self,
        addresses: Vec<alloy::primitives::Address>,
        from: u64,
        to: u64,
    ) -> Result<Vec<Log>, RpcError> {
        let filter = Filter::new().address(addresses).from_block(from).to_block(to);
        self.timed(self.provider.get_logs(&filter)).await
    }
}
