//! A gas-limit filler with headroom, for every provider that signs transactions to the contracts.
//!
//! `eth_estimateGas` runs the call in the pending block, and its answer is exact for that block
//! only. The contracts store `block.timestamp` (`claimedAt`, `timerStart`, ...), and writing a
//! slot with the value it already holds costs 100 gas where changing it costs 2,900: an agent's
//! `submit` estimated within the same second as its `claim` (a dev chain mining on arrival, or a
//! script) got an exact limit that ran out of gas once mined a second later. Wallets add a margin
//! for the same reason; so does this filler.

use alloy::{
    eips::eip1559::Eip1559Estimation,
    network::{Network, TransactionBuilder},
    providers::{
        Provider, SendableTx,
        fillers::{FillerControlFlow, TxFiller},
    },
    transports::TransportResult,
};

/// Fills what alloy's gas filler would (`.with_gas_estimation()`, which it replaces): a missing
/// gas limit, as the node's estimate plus [`with_headroom`]'s margin, and missing EIP-1559 fees
/// from the node. Values set by the caller are kept. (Placed beside alloy's filler instead, both
/// would estimate concurrently and the exact limit would be written last.)
#[derive(Debug, Clone, Copy, Default)]
pub struct GasHeadroom;

/// `estimate` plus a quarter: more than any timestamp-dependent storage write in the contracts
/// can add to their cheapest call (about 40,000 gas).
pub const fn with_headroom(estimate: u64) -> u64 {
    estimate.saturating_add(estimate / 4)
}

fn has_fees<N: Network>(tx: &N::TransactionRequest) -> bool {
    tx.gas_price().is_some()
        || (tx.max_fee_per_gas().is_some() && tx.max_priority_fee_per_gas().is_some())
}

impl<N: Network> TxFiller<N> for GasHeadroom {
    /// The gas limit to set and the fees to set, if missing.
    type Fillable = (Option<u64>, Option<Eip1559Estimation>);

    fn status(&self, tx: &N::TransactionRequest) -> FillerControlFlow {
        if tx.gas_limit().is_some() && has_fees::<N>(tx) {
            FillerControlFlow::Finished
        } else {
            FillerControlFlow::Ready
        }
    }

    fn fill_sync(&self, _tx: &mut SendableTx<N>) {}

    async fn prepare<P: Provider<N>>(
        &self,
        provider: &P,
        tx: &N::TransactionRequest,
    ) -> TransportResult<Self::Fillable> {
        let gas_limit = match tx.gas_limit() {
            Some(_) => None,
            None => Some(with_headroom(provider.estimate_gas(tx.clone()).await?)),
        };
        let fees = match has_fees::<N>(tx) {
            true => None,
            false => Some(provider.estimate_eip1559_fees().await?),
        };
        Ok((gas_limit, fees))
    }

    async fn fill(
        &self,
        (gas_limit, fees): Self::Fillable,
        mut tx: SendableTx<N>,
    ) -> TransportResult<SendableTx<N>> {
        if let Some(builder) = tx.as_mut_builder() {
            if let Some(gas_limit) = gas_limit {
                builder.set_gas_limit(gas_limit);
            }
            if let Some(fees) = fees {
                builder.set_max_fee_per_gas(fees.max_fee_per_gas);
                builder.set_max_priority_fee_per_gas(fees.max_priority_fee_per_gas);
            }
        }
        Ok(tx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headroom_is_a_quarter_and_never_overflows() {
        assert_eq!(with_headroom(39_581), 49_476);
        assert_eq!(with_headroom(0), 0);
        assert_eq!(with_headroom(u64::MAX), u64::MAX);
    }
}
