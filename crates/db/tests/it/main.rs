//! Integration tests of the store: every test body runs against Postgres (a fresh database per
//! test on 127.0.0.1:5432) and against SQLite (a file in a tempdir).

mod store;
mod support;
mod webhooks;
