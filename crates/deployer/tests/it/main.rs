//! Integration tests of runs-deployer: each test deploys on its own Anvil.

mod compile;
mod deploy;
mod script;
