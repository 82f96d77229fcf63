//! The one way a transaction reaches the contracts: a signing provider ([`signing_provider`]),
//! then send → receipt within a timeout → on a revert, the contract's error decoded
//! ([`send`]). The CLI, the deployer, the seed and the benchmark all go through here, each
//! adding only what it reports around it.

use std::time::{Duration, Instant};

use alloy::{
    contract::Error as ContractError,
    eips::BlockId,
    network::EthereumWallet,
    primitives::{B256, Bytes},
    providers::{DynProvider, Provider, ProviderBuilder},
    rpc::types::{TransactionReceipt, TransactionRequest},
    signers::local::PrivateKeySigner,
    transports::{TransportError, http::reqwest::Url},
};

use crate::{DecodedRevert, GasHeadroom, decode_revert};

/// How long to wait for a receipt before giving up (the transaction may still be mined later).
pub const RECEIPT_TIMEOUT: Duration = Duration::from_secs(300);

/// The first pause between receipt polls: short, because a dev node mines on arrival (alloy's
/// own watcher waits 250 ms or more, which would make a 100-transaction seed crawl). The pause
/// doubles up to the provider's poll interval, so a slow chain is not flooded.
const FIRST_POLL: Duration = Duration::from_millis(10);

/// A provider on `rpc_url` that signs as `signer`, fills a gas limit with [`GasHeadroom`] and
/// asks the node for the nonce of every transaction: alloy's default nonce cache would keep a
/// nonce burnt by a transaction that failed gas estimation, stalling every later one.
pub fn signing_provider(rpc_url: Url, signer: PrivateKeySigner) -> DynProvider {
    ProviderBuilder::new()
        .disable_recommended_fillers()
        .filler(GasHeadroom)
        .with_simple_nonce_management()
        .fetch_chain_id()
        .wallet(EthereumWallet::from(signer))
        .connect_http(rpc_url)
        .erased()
}

/// Why the node refused a call (or a transaction in gas estimation), with a revert decoded into
/// the contract's error when there is one.
#[derive(Debug, thiserror::Error)]
pub enum CallFailure {
    /// The call reverted with the error of one of the contracts (or the token, or Solidity's
    /// `Error` / `Panic`).
    #[error("reverted with {revert}")]
    Reverted {
        /// The raw revert data.
        data: Bytes,
        /// The decoded error.
        revert: DecodedRevert,
    },
    /// The call reverted with data no contract here declares.
    #[error("reverted with undecodable data {data}")]
    Undecodable {
        /// The raw revert data.
        data: Bytes,
    },
    /// The node says the call reverted but returned no data.
    #[error("reverted without a reason ({message})")]
    NoReason {
        /// The node's message.
        message: String,
    },
    /// Anything else (the node unreachable, signing, ABI decoding of the result).
    #[error(transparent)]
    Other(ContractError),
}

impl From<ContractError> for CallFailure {
    fn from(err: ContractError) -> Self {
        if let Some(data) = err.as_revert_data() {
            return match decode_revert(&data) {
                Some(revert) => Self::Reverted { data, revert },
                None => Self::Undecodable { data },
            };
        }
        if let ContractError::TransportError(transport) = &err
            && let Some(resp) = transport.as_error_resp()
            && resp.message.contains("revert")
        {
            return Self::NoReason { message: resp.message.to_string() };
        }
        Self::Other(err)
    }
}

impl From<TransportError> for CallFailure {
    fn from(err: TransportError) -> Self {
        ContractError::TransportError(err).into()
    }
}

/// A transaction that did not succeed.
#[derive(Debug, thiserror::Error)]
pub enum TxError {
    /// The node refused it before it was mined (gas estimation, signing, sending).
    #[error(transparent)]
    Refused(CallFailure),
    /// Reading its receipt failed.
    #[error("waiting for the receipt of {tx_hash}: {source}")]
    Receipt {
        /// The transaction.
        tx_hash: B256,
        /// The node's error.
        #[source]
        source: TransportError,
    },
    /// It was not mined in time (it may still be, later).
    #[error("transaction {tx_hash} was not mined within {} s", .timeout.as_secs())]
    NotMined {
        /// The transaction.
        tx_hash: B256,
        /// How long we waited.
        timeout: Duration,
    },
    /// It was mined and reverted; `reason` is its replay at the parent block, when that reverts
    /// too.
    #[error(
        "transaction {tx_hash} reverted in block {block_number}{}",
        .reason.as_ref().map(|reason| format!(": {reason}")).unwrap_or_default()
    )]
    Reverted {
        /// The transaction.
        tx_hash: B256,
        /// The block it was mined in.
        block_number: u64,
        /// Why, from the replay.
        reason: Option<CallFailure>,
    },
}

/// Sends `tx` (whose `from` the provider must sign for or the node must hold unlocked), waits
/// up to `timeout` for its receipt and checks it succeeded.
///
/// Gas estimation runs the call first, so a revert is nearly always caught before anything is
/// sent ([`TxError::Refused`]); one that happens on-chain anyway is replayed at the parent block
/// to decode it ([`TxError::Reverted`]).
pub async fn send<P: Provider>(
    provider: &P,
    tx: TransactionRequest,
    timeout: Duration,
) -> Result<TransactionReceipt, TxError> {
    let pending =
        provider.send_transaction(tx.clone()).await.map_err(|err| TxError::Refused(err.into()))?;
    let tx_hash = *pending.tx_hash();
    tracing::info!(target: "runs::tx", %tx_hash, "sent, waiting for the receipt");
    let receipt = wait_for_receipt(provider, tx_hash, timeout).await?;
    if receipt.status() {
        return Ok(receipt);
    }
    let block_number = receipt.block_number.unwrap_or_default();
    // The nonce was used up by the mined transaction; the replay is a call, not a transaction.
    let replay = TransactionRequest { nonce: None, ..tx };
    let reason = provider
        .call(replay)
        .block(BlockId::number(block_number.saturating_sub(1)))
        .await
        .err()
        .map(CallFailure::from);
    Err(TxError::Reverted { tx_hash, block_number, reason })
}

/// Polls for the receipt of `tx_hash` until it is mined or `timeout` passes.
async fn wait_for_receipt<P: Provider>(
    provider: &P,
    tx_hash: B256,
    timeout: Duration,
) -> Result<TransactionReceipt, TxError> {
    let started = Instant::now();
    let slowest = provider.client().poll_interval().max(FIRST_POLL);
    let mut pause = FIRST_POLL;
    loop {
        let receipt = provider
            .get_transaction_receipt(tx_hash)
            .await
            .map_err(|source| TxError::Receipt { tx_hash, source })?;
        if let Some(receipt) = receipt {
            return Ok(receipt);
        }
        if started.elapsed() > timeout {
            return Err(TxError::NotMined { tx_hash, timeout });
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(slowest);
    }
}

#[cfg(test)]
mod tests {
    use alloy::{
        primitives::U256,
        sol_types::SolError,
        transports::{RpcError, TransportErrorKind},
    };

    use super::*;
    use crate::RunEscrow;

    #[test]
    fn a_mined_revert_names_the_decoded_error() {
        let data: Bytes =
            RunEscrow::RunEscrowRunNotFound { runId: U256::from(9) }.abi_encode().into();
        let revert = decode_revert(&data).unwrap();
        let err = TxError::Reverted {
            tx_hash: B256::ZERO,
            block_number: 12,
            reason: Some(CallFailure::Reverted { data, revert }),
        };
        assert_eq!(
            err.to_string(),
            format!(
                "transaction {} reverted in block 12: reverted with RunEscrowRunNotFound(runId: 9)",
                B256::ZERO
            )
        );
    }

    #[test]
    fn other_node_errors_pass_through() {
        let err: TransportError = RpcError::Transport(TransportErrorKind::BackendGone);
        let failure = CallFailure::from(err);
        assert!(matches!(failure, CallFailure::Other(_)), "{failure}");
        assert_eq!(failure.to_string(), TransportErrorKind::BackendGone.to_string());
    }
}
