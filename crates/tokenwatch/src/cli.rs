//! The command line: the top-level commands, and the flags several commands share. Each
//! command's own arguments live beside it, in `commands/<command>.rs` (`serve.rs` for serve).

use clap::{Args, Parser, Subcommand, ValueEnum};
use tokenwatch_config::{ClientConfig, LogConfig};

use crate::commands::actions::{ActionsCommand, RespondArgs};
use crate::commands::config::ConfigCommand;
use crate::commands::connectors::ConnectorsCommand;
use crate::commands::eval::EvalArgs;
use crate::commands::findings::FindingsCommand;
use crate::commands::health::HealthArgs;
use crate::commands::ingest::IngestArgs;
use crate::commands::migrate::MigrateArgs;
use crate::commands::policy::PolicyCommand;
use crate::commands::psa::PsaCommand;
use crate::commands::report::ReportArgs;
use crate::commands::scan::ScanArgs;
use crate::commands::simulate::SimulateArgs;
use crate::commands::suppressions::SuppressionsCommand;
use crate::commands::tenant::TenantCommand;
use crate::commands::token::TokenCommand;
use crate::commands::verdict::VerdictArgs;
use crate::commands::webhooks::WebhooksCommand;
use crate::serve::ServeArgs;

/// Catches stolen Microsoft 365 sessions across an MSP's customer tenants.
#[derive(Debug, Parser)]
#[command(name = "tokenwatch", version, about)]
pub(crate) struct Cli {
    #[command(flatten)]
    pub(crate) log: LogConfig,

    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Run services: all of them, or those named with --services.
    Serve(ServeArgs),
    /// Create the database if needed and apply pending migrations.
    Migrate(MigrateArgs),
    /// Development tokens.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Register, list, show and remove customer tenants (msp_admin for changes).
    #[command(subcommand)]
    Tenant(TenantCommand),
    /// Inspect the configuration.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Check that a server answers health for every service it hosts (exit 1 if not).
    Health(HealthArgs),
    /// Send export files for a tenant and report every record's fate (exit 3 if any was
    /// rejected).
    Ingest(IngestArgs),
    /// List, show and follow the findings of a running server.
    #[command(subcommand)]
    Findings(FindingsCommand),
    /// Judge a finding: its status moves, and the tenant's weights learn from it (unless pinned).
    Verdict(VerdictArgs),
    /// Act on a finding's user through Microsoft Graph, under the tenant's response policy
    /// (a new tenant's: a second person approves with `actions approve`).
    Respond(RespondArgs),
    /// List, show, approve, reject, cancel or retry response actions.
    #[command(subcommand)]
    Actions(ActionsCommand),
    /// A tenant's response policy: show it, or change parts of it.
    #[command(subcommand)]
    Policy(PolicyCommand),
    /// A tenant's webhooks for findings and actions (signed with HMAC-SHA256).
    #[command(subcommand)]
    Webhooks(WebhooksCommand),
    /// The MSP's PSA (ConnectWise Manage, Autotask, HaloPSA): connect it, map tenants to its
    /// companies, see the tickets tokenwatch keeps there.
    #[command(subcommand)]
    Psa(PsaCommand),
    /// A tenant's monthly report for its customer, as PDF (no browser needed), HTML or JSON.
    Report(ReportArgs),
    /// Contexts marked as expected (they count for less in scores), and suggestions of them
    /// from repeated false positives.
    #[command(subcommand)]
    Suppressions(SuppressionsCommand),
    /// Where the connectors are with each tenant's activity feed and sign-in logs.
    #[command(subcommand)]
    Connectors(ConnectorsCommand),
    /// Run the detection over exported files, with no servers, and print the findings.
    Scan(ScanArgs),
    /// Write realistic labelled activity (UAL JSON, Graph sign-ins) and a labels file.
    Simulate(SimulateArgs),
    /// Measure findings (or a scan) against labels, beside the simple rules in use today.
    Eval(EvalArgs),
}

/// Output format of client commands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Format {
    Table,
    Json,
}

#[derive(Debug, Args)]
pub(crate) struct TenantRefArgs {
    /// The tenant's Entra tenant id (GUID).
    #[arg(required_unless_present = "tenant_flag")]
    pub(crate) tenant: Option<String>,

    /// The same, as a flag.
    #[arg(long = "tenant", id = "tenant_flag", conflicts_with = "tenant")]
    pub(crate) tenant_flag: Option<String>,

    #[command(flatten)]
    pub(crate) remote: Remote,
}

impl TenantRefArgs {
    pub(crate) fn tenant(&self) -> &str {
        self.tenant
            .as_deref()
            .or(self.tenant_flag.as_deref())
            .unwrap_or_default()
    }
}

/// Where a client command talks to, and how it prints: the flags every such command shares.
#[derive(Debug, Args)]
pub(crate) struct Remote {
    /// table for people, json for scripts.
    #[arg(long, value_enum, default_value = "table")]
    pub(crate) format: Format,

    #[command(flatten)]
    pub(crate) client: ClientConfig,
}

/// A tenant, and where to print.
#[derive(Debug, Args)]
pub(crate) struct TenantArgs {
    #[arg(long)]
    pub(crate) tenant: String,

    #[command(flatten)]
    pub(crate) remote: Remote,
}
