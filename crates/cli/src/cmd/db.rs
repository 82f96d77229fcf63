//! `runs db`: manage the index database (Postgres with `DATABASE_URL`, else the embedded SQLite
//! file `.runs/runs.db`).

use runs_db::Backend;

use crate::{
    args::{DatabaseArgs, OutputArgs},
    output::{Record, Value, print_record},
};

/// Database maintenance.
#[derive(Debug, clap::Subcommand)]
pub(crate) enum DbCommand {
    /// Create or upgrade the index tables (safe to run again: applied migrations are skipped).
    Migrate(MigrateArgs),
}

impl DbCommand {
    pub(crate) async fn run(self) -> eyre::Result<()> {
        match self {
            Self::Migrate(args) => args.run().await,
        }
    }
}

/// Apply the storage migrations of the chosen backend.
#[derive(Debug, clap::Args)]
pub(crate) struct MigrateArgs {
    #[command(flatten)]
    database: DatabaseArgs,

    #[command(flatten)]
    output: OutputArgs,
}

impl MigrateArgs {
    pub(crate) async fn run(self) -> eyre::Result<()> {
        let store = self.database.open().await?;
        let record = match store.backend() {
            Backend::Postgres => Record::new().with("backend", Value::Text("postgres".into())),
            Backend::Sqlite => Record::new().with("backend", Value::Text("sqlite".into())).with(
                "path",
                Value::Text(
                    store.sqlite_path().map(|p| p.display().to_string()).unwrap_or_default(),
                ),
            ),
        }
        .with("migrated", Value::Bool(true));
        store.close().await;
        print_record(&record, self.output.json, 0)?;
        Ok(())
    }
}
