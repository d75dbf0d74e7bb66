//! `tokenwatch token issue`: development tokens signed with the configured key.

use std::time::Duration;

use clap::{Args, Subcommand};
use tokenwatch_auth::Role;
use tokenwatch_config::AuthConfig;
use tokenwatch_types::TenantId;

#[derive(Debug, Subcommand)]
pub(crate) enum TokenCommand {
    /// Mint a token and print it (with the development secret, or TOKENWATCH_JWT_PRIVATE_KEY).
    Issue(TokenIssueArgs),
}

#[derive(Debug, Args)]
pub(crate) struct TokenIssueArgs {
    /// Role to grant; repeat for several.
    #[arg(long = "role", required = true)]
    pub(crate) roles: Vec<Role>,

    /// Tenant the token may act for; repeat for several, or "*" for all.
    #[arg(long = "tenant")]
    pub(crate) tenants: Vec<String>,

    /// How long the token is valid (e.g. 30m, 12h, 7d).
    #[arg(long, default_value = "12h", value_parser = humantime::parse_duration)]
    pub(crate) ttl: Duration,

    /// The token's subject, recorded as the actor in audit trails.
    #[arg(long, default_value = "dev@tokenwatch.local")]
    pub(crate) subject: String,

    #[command(flatten)]
    pub(crate) auth: AuthConfig,
}

/// Mints a token and prints it alone on stdout, for `export TOKENWATCH_TOKEN=$(...)`.
pub(crate) fn run(command: TokenCommand) -> anyhow::Result<()> {
    let TokenCommand::Issue(args) = command;
    let tenants = args
        .tenants
        .iter()
        .map(|t| match t.as_str() {
            "*" => Ok("*".to_owned()),
            other => TenantId::parse(other).map(|id| id.to_string()),
        })
        .collect::<Result<Vec<_>, _>>()?;
    let signer = args.auth.signer()?;
    let token = signer.issue(&args.subject, &args.roles, &tenants, args.ttl)?;
    crate::output::line(&token)?;
    Ok(())
}
