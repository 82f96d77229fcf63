//! One module per subcommand.

pub(crate) mod agent;
pub(crate) mod arbiter;
pub(crate) mod db;
pub(crate) mod deploy;
pub(crate) mod devnet;
pub(crate) mod evidence;
pub(crate) mod index;
pub(crate) mod mcp;
pub(crate) mod run;
pub(crate) mod serve;
pub(crate) mod watch;
pub(crate) mod webhook;
