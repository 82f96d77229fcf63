//! What SQLite does its own way: bulk writes are multi-row `INSERT ... VALUES` statements in
//! chunks that stay under SQLite's bound-parameter limit, inside the caller's one transaction;
//! key lists are bound as one JSON array and expanded with `json_each`, so a statement's text does
//! not depend on how many keys it has.

use sqlx::{QueryBuilder, Sqlite};

use crate::{
    Result,
    columns::{Kind, Table, Value},
    ops::{Dialect, KeyList, runners},
};

/// SQLite's default limit of bound parameters per statement is 32766 (since 3.32); stay below.
const MAX_PARAMS: usize = 30_000;

impl Dialect for Sqlite {
    const POSTGRES: bool = false;

    /// Automatic indexes (primary keys, `UNIQUE` constraints) have no SQL and stay.
    const SECONDARY_INDEXES: (&'static str, &'static str) = (
        "SELECT name, sql AS definition FROM sqlite_master WHERE type = 'index' \
         AND sql IS NOT NULL AND sql NOT LIKE 'CREATE UNIQUE%' AND ",
        "tbl_name",
    );

    fn cast(_kind: Kind) -> &'static str {
        ""
    }

    fn push_in(qb: &mut QueryBuilder<Self>, column: &str, keys: KeyList<'_>) -> Result<()> {
        let json = match keys {
            KeyList::Int(keys) => serde_json::to_string(keys)?,
            KeyList::Text(keys) => serde_json::to_string(keys)?,
        };
        qb.push(column).push(" IN (SELECT value FROM json_each(").push_bind(json).push("))");
        Ok(())
    }

    fn rows_per_statement(columns: usize) -> usize {
        MAX_PARAMS / columns
    }

    /// `VALUES ($chain, a, b, …), …`.
    fn push_rows<R>(qb: &mut QueryBuilder<Self>, chain: i64, table: &Table<R>, rows: &[R]) {
        qb.push_values(rows, |mut b, row| {
            b.push_bind(chain);
            for column in table.columns {
                match (column.get)(row) {
                    Value::Int(v) => b.push_bind(v),
                    Value::Text(v) => b.push_bind(v),
                    Value::Bool(v) => b.push_bind(v),
                };
            }
        });
    }

    async fn copy_in<R>(
        _conn: &mut Self::Connection,
        _chain: i64,
        _table: &Table<R>,
        _rows: &[R],
    ) -> Result<bool> {
        Ok(false)
    }

    runners!();
}
