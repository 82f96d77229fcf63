//! Integration tests of the indexer against a real anvil and real Postgres and SQLite stores.

mod common;
mod faults;
mod hostile;
mod lifecycle;
mod read_ahead;
mod reorg;
mod writers;
