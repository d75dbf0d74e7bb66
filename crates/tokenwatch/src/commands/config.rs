//! `tokenwatch config print`: the configuration in force, secrets redacted.

use clap::{Args, Subcommand};
use tokenwatch_config::{AuthConfig, ServerConfig};

#[derive(Debug, Subcommand)]
pub(crate) enum ConfigCommand {
    /// Print the effective server configuration as JSON, secrets hidden.
    Print(ConfigPrintArgs),
}

#[derive(Debug, Args)]
pub(crate) struct ConfigPrintArgs {
    #[command(flatten)]
    pub(crate) server: ServerConfig,

    #[command(flatten)]
    pub(crate) auth: AuthConfig,
}

/// Prints the effective configuration, secrets hidden, and whether it would start.
pub(crate) fn run(command: ConfigCommand) -> anyhow::Result<()> {
    let ConfigCommand::Print(args) = command;
    let problems: Vec<String> = [
        args.server.validate_for_serve().err(),
        args.auth.verifier().err(),
    ]
    .into_iter()
    .flatten()
    .flat_map(|e| e.problems)
    .collect();
    crate::output::json(&serde_json::json!({
        "server": args.server,
        "auth": args.auth,
        "problems": problems,
    }))?;
    Ok(())
}
