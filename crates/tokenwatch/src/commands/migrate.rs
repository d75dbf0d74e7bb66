//! `tokenwatch migrate`: create the database if needed and apply pending migrations.

use anyhow::Context;
use clap::Args;
use tokenwatch_config::ServerConfig;
use tokenwatch_storage::Database;

#[derive(Debug, Args)]
pub(crate) struct MigrateArgs {
    #[command(flatten)]
    pub(crate) server: ServerConfig,
}

/// Creates the database if needed and applies pending migrations.
pub(crate) async fn run(args: MigrateArgs) -> anyhow::Result<()> {
    let database = Database::connect(args.server.database_url()?, 2)
        .await
        .context("cannot connect to postgres")?;
    database.migrate().await.context("cannot migrate")?;
    let applied = tokenwatch_storage::MIGRATOR.iter().count();
    database.close().await;
    crate::output::line(&format!("database is up to date ({applied} migrations)"))?;
    Ok(())
}
