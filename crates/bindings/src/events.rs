//! Any log of the contracts decoded from the ABI alone: the event's name and its arguments by
//! name, in declaration order, struct arguments flattened into their fields. What renders
//! receipts in the CLI and names the events the indexer has no variant for, so a new event in
//! the contracts needs no code to be shown or stored.

use std::sync::LazyLock;

use alloy::{
    dyn_abi::{DynSolValue, EventExt},
    json_abi::{InternalType, JsonAbi},
    primitives::LogData,
};

use crate::{MOCK_USDC_ABI, RUN_ESCROW_ABI, STAKE_VAULT_ABI, revert::serde_json_from_str};

/// Which contract's ABI describes a log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Abi {
    /// `RunEscrow`.
    RunEscrow,
    /// `StakeVault`.
    StakeVault,
    /// `MockUSDC` (the USDC surface).
    MockUsdc,
}

/// One argument of a decoded event.
#[derive(Debug, Clone, PartialEq)]
pub struct DecodedField {
    /// The parameter's name (a struct field's name for a flattened struct argument).
    pub name: String,
    /// Its value.
    pub value: DynSolValue,
    /// The Solidity type behind it (tells an enum from an integer).
    pub internal_type: Option<InternalType>,
}

/// A decoded event.
#[derive(Debug, Clone, PartialEq)]
pub struct DecodedEvent {
    /// The event's name, e.g. `RunCreated`.
    pub name: String,
    /// Its arguments, in declaration order.
    pub fields: Vec<DecodedField>,
}

static ABIS: LazyLock<[JsonAbi; 3]> =
    LazyLock::new(|| [RUN_ESCROW_ABI, STAKE_VAULT_ABI, MOCK_USDC_ABI].map(serde_json_from_str));

/// Decodes `log` with the event of `abi` its first topic names; `None` for an unknown topic or
/// data that does not decode.
pub fn decode_event(abi: Abi, log: &LogData) -> Option<DecodedEvent> {
    let abi = &ABIS[abi as usize];
    let topic0 = *log.topics().first()?;
    let event = abi.events().find(|event| event.selector() == topic0)?;
    let decoded = event.decode_log(log).ok()?;
    let (mut indexed, mut body) = (decoded.indexed.into_iter(), decoded.body.into_iter());
    let mut fields = Vec::with_capacity(event.inputs.len());
    for param in &event.inputs {
        let value = if param.indexed { indexed.next()? } else { body.next()? };
        match (value, param.components.is_empty()) {
            (DynSolValue::Tuple(values), false) => {
                for (component, value) in param.components.iter().zip(values) {
                    fields.push(DecodedField {
                        name: component.name.clone(),
                        value,
                        internal_type: component.internal_type.clone(),
                    });
                }
            }
            (value, _) => fields.push(DecodedField {
                name: param.name.clone(),
                value,
                internal_type: param.internal_type.clone(),
            }),
        }
    }
    Some(DecodedEvent { name: event.name.clone(), fields })
}
