//! Integration tests of the `runs` binary: `runs deploy` and the wallet commands, against Anvil.

// Tests print their random seeds and timings so that a failure can be replayed.
#![allow(clippy::print_stderr)]

mod deploy;
mod devnet;
mod explorer;
mod index;
mod mcp;
mod wallet;
mod webhook;
