//! Integration tests of the REST API: every endpoint, filter, sort and error case, driven through
//! the router with `oneshot` on Postgres and on SQLite, over data committed through the db
//! crate's write API as the indexer commits it.

mod agents;
mod cache;
mod errors;
mod events;
mod fixture;
mod runs;
mod support;
mod system;
