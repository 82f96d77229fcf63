//! What Postgres does its own way: bulk writes bind one array per column and `UNNEST` them, so a
//! range of any size is one statement per table; amounts and JSON travel as text and are cast to
//! `NUMERIC(78,0)` and `JSONB`; key lists are bound as one array (`= ANY($n)`).

use sqlx::{Postgres, QueryBuilder};

use crate::{
    Result,
    columns::{Kind, Table},
    ops::{Dialect, KeyList, runners},
};

impl Dialect for Postgres {
    const POSTGRES: bool = true;

    fn cast(kind: Kind) -> &'static str {
        match kind {
            Kind::Int | Kind::Text | Kind::Bool => "",
            Kind::Amount => "::numeric",
            Kind::Json => "::jsonb",
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

    runners!();
}
