//! What Postgres does its own way: bulk writes bind one array per column and `UNNEST` them, so a
//! range of any size is one statement per table; amounts and JSON travel as text and are cast to
//! `NUMERIC(78,0)` and `JSON`; key lists are bound as one array (`= ANY($n)`).

use sqlx::{Postgres, QueryBuilder};

use crate::{
    Result,
    columns::{Kind, Table, Value},
    ops::{Dialect, KeyList, runners},
};

impl Dialect for Postgres {
    const POSTGRES: bool = true;

    const SECONDARY_INDEXES: (&'static str, &'static str) = (
        "SELECT i.relname::text AS name, pg_get_indexdef(i.oid) AS definition FROM pg_index x \
         JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid \
         WHERE t.relnamespace = to_regnamespace(current_schema()) AND NOT x.indisunique AND ",
        "t.relname::text",
    );

    fn cast(kind: Kind) -> &'static str {
        match kind {
            Kind::Int | Kind::Text | Kind::Bool => "",
            Kind::Amount => "::numeric",
            Kind::Json => "::json",
        }
    }

    fn push_in(qb: &mut QueryBuilder<Self>, column: &str, keys: KeyList<'_>) -> Result<()> {
        qb.push(column).push(" = ANY(");
        match keys {
            KeyList::Int(keys) => qb.push_bind(keys.to_vec()),
            KeyList::Text(keys) => qb.push_bind(keys.to_vec()),
        };
        qb.push(")");
        Ok(())
    }

    fn rows_per_statement(_columns: usize) -> usize {
        usize::MAX
    }

    /// `SELECT $chain, t.a, t.b::numeric, … FROM UNNEST($2::bigint[], $3::text[], …) AS t(a, b,
    /// …)`: one array per column, zipped by `UNNEST`.
    fn push_rows<R>(qb: &mut QueryBuilder<Self>, chain: i64, table: &Table<R>, rows: &[R]) {
        qb.push("SELECT ").push_bind(chain);
        for column in table.columns {
            qb.push(", t.").push(column.name).push(Self::cast(column.kind));
        }
        qb.push(" FROM UNNEST(");
        for (i, column) in table.columns.iter().enumerate() {
            if i > 0 {
                qb.push(", ");
            }
            let get = column.get;
            match column.kind {
                Kind::Int => {
                    qb.push_bind(rows.iter().map(|r| get(r).into_int()).collect::<Vec<_>>());
                    qb.push("::bigint[]")
                }
                Kind::Text | Kind::Amount | Kind::Json => {
                    qb.push_bind(rows.iter().map(|r| get(r).into_text()).collect::<Vec<_>>());
                    qb.push("::text[]")
                }
                Kind::Bool => {
                    qb.push_bind(rows.iter().map(|r| get(r).into_bool()).collect::<Vec<_>>());
                    qb.push("::bool[]")
                }
            };
        }
        qb.push(") AS t(").push(table.names()).push(")");
    }

    /// `COPY table (chain_id, columns…) FROM STDIN` in the text format: the cheapest way into
    /// Postgres, with no statement to parse and no arrays to unpack.
    async fn copy_in<R>(
        conn: &mut Self::Connection,
        chain: i64,
        table: &Table<R>,
        rows: &[R],
    ) -> Result<bool> {
        let chain = chain.to_string();
        let mut data = Vec::with_capacity(rows.len() * 256);
        for row in rows {
            data.extend_from_slice(chain.as_bytes());
            for column in table.columns {
                data.push(b'\t');
                match (column.get)(row) {
                    Value::Int(Some(v)) => data.extend_from_slice(v.to_string().as_bytes()),
                    Value::Int(None) | Value::Text(None) => data.extend_from_slice(b"\\N"),
                    Value::Text(Some(v)) => copy_text(&mut data, &v),
                    Value::Bool(v) => data.push(if v { b't' } else { b'f' }),
                }
            }
            data.push(b'\n');
        }
        let statement = format!("COPY {} (chain_id, {}) FROM STDIN", table.name, table.names());
        let mut copy = conn.copy_in_raw(&statement).await?;
        if let Err(e) = copy.send(data).await {
            let _ = copy.abort("sending failed").await;
            return Err(e.into());
        }
        copy.finish().await?;
        Ok(true)
    }

    runners!();
}

/// `value` as a field of `COPY`'s text format: backslash, tab, newline and carriage return
/// escaped (`\N` alone would be NULL, so a backslash is always doubled).
fn copy_text(data: &mut Vec<u8>, value: &str) {
    for &byte in value.as_bytes() {
        match byte {
            b'\\' => data.extend_from_slice(b"\\\\"),
            b'\t' => data.extend_from_slice(b"\\t"),
            b'\n' => data.extend_from_slice(b"\\n"),
            b'\r' => data.extend_from_slice(b"\\r"),
            _ => data.push(byte),
        }
    }
}
