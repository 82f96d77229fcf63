//! End-to-end tests: a dev chain (Anvil) → the indexer → the REST API over HTTP, on SQLite and on
//! Postgres (a fresh database per test on 127.0.0.1:5432).

mod lifecycle;
mod seeded;
