use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};
use tokenwatch_auth::Role;
use tokenwatch_config::{AuthConfig, ClientConfig, LogConfig, ServerConfig};
use tokenwatch_server::ServiceName;

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

/// Output of `scan`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum ScanFormat {
    Table,
    Json,
    Jsonl,
}

#[derive(Debug, Args)]
pub(crate) struct ScanArgs {
    /// Export files of any supported format.
    #[arg(required = true)]
    pub(crate) files: Vec<std::path::PathBuf>,

    /// Directory of the IP data (`make ipdb`); enrichment is off without it.
    #[arg(long, env = "TOKENWATCH_IPDB")]
    pub(crate) ipdb: Option<std::path::PathBuf>,

    /// Tenant for records that name none (Graph sign-ins).
    #[arg(long, default_value = "unknown")]
    pub(crate) tenant: String,

    /// Score threshold instead of the default weight set's.
    #[arg(long)]
    pub(crate) threshold: Option<f64>,

    #[arg(long, value_enum, default_value = "table")]
    pub(crate) format: ScanFormat,
}

#[derive(Debug, Args)]
pub(crate) struct SimulateArgs {
    /// Output directory.
    #[arg(long)]
    pub(crate) out: std::path::PathBuf,

    /// Random seed; the same seed writes the same data.
    #[arg(long, default_value_t = 1)]
    pub(crate) seed: u64,

    /// Tenants.
    #[arg(long, default_value_t = 3)]
    pub(crate) tenants: usize,

    /// Users per tenant.
    #[arg(long, default_value_t = 40)]
    pub(crate) users: usize,

    /// Days of activity.
    #[arg(long, default_value_t = 14)]
    pub(crate) days: usize,
}

#[derive(Debug, Args)]
pub(crate) struct EvalArgs {
    /// Labels (labels.jsonl from `simulate`).
    #[arg(long)]
    pub(crate) labels: std::path::PathBuf,

    /// Findings to judge (`scan --format json` output).
    #[arg(conflicts_with = "scan")]
    pub(crate) findings: Option<std::path::PathBuf>,

    /// Scan these files instead, and judge the simple rules on them too.
    #[arg(long, num_args = 1..)]
    pub(crate) scan: Vec<std::path::PathBuf>,

    /// Directory of the IP data.
    #[arg(long, env = "TOKENWATCH_IPDB")]
    pub(crate) ipdb: Option<std::path::PathBuf>,

    /// User-days to divide false positives by (default: counted from the events or meta.json).
    #[arg(long)]
    pub(crate) user_days: Option<f64>,

    /// With --scan: the feedback experiment. Analysts' verdicts (from the labels) on the first
    /// week of findings tune each tenant's weights; the following week is scored with and
    /// without them.
    #[arg(long, requires = "scan")]
    pub(crate) feedback: bool,

    /// Score threshold to run with (default: the weight set's).
    #[arg(long)]
    pub(crate) threshold: Option<f64>,

    #[arg(long, value_enum, default_value = "table")]
    pub(crate) format: Format,
}

/// The layout of the files `ingest` sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum IngestFormat {
    /// Recognize each record's format.
    Auto,
    ManagementActivity,
    PurviewCsv,
    GraphSignins,
    Sentinel,
    AzureMonitor,
}

#[derive(Debug, Args)]
pub(crate) struct IngestArgs {
    /// The tenant the files belong to (Entra tenant id).
    #[arg(long)]
    pub(crate) tenant: String,

    /// Export files: Management Activity JSON, Purview CSV, Graph sign-ins, Sentinel JSON/CSV,
    /// Azure Monitor.
    #[arg(required = true)]
    pub(crate) files: Vec<std::path::PathBuf>,

    /// The files' format; recognized per record when auto.
    #[arg(long, value_enum, default_value = "auto")]
    pub(crate) source_format: IngestFormat,

    /// Summary format on stdout.
    #[arg(long, value_enum, default_value = "table")]
    pub(crate) format: Format,

    #[command(flatten)]
    pub(crate) client: ClientConfig,
}

#[derive(Debug, Args)]
pub(crate) struct HealthArgs {
    /// Services to check; every tokenwatch service when omitted.
    #[arg(long, value_delimiter = ',')]
    pub(crate) services: Vec<ServiceName>,

    /// Keep trying until healthy or this long has passed (e.g. 30s); once when omitted.
    #[arg(long, value_parser = humantime::parse_duration)]
    pub(crate) wait: Option<Duration>,

    #[command(flatten)]
    pub(crate) client: ClientConfig,
}

#[derive(Debug, Args)]
pub(crate) struct ServeArgs {
    /// Services to host, comma-separated; all when omitted.
    #[arg(long, env = "TOKENWATCH_SERVICES", value_delimiter = ',')]
    pub(crate) services: Vec<ServiceName>,

    #[command(flatten)]
    pub(crate) server: ServerConfig,

    #[command(flatten)]
    pub(crate) auth: AuthConfig,
}

#[derive(Debug, Args)]
pub(crate) struct MigrateArgs {
    #[command(flatten)]
    pub(crate) server: ServerConfig,
}

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

/// Output format of client commands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Format {
    Table,
    Json,
}

#[derive(Debug, Subcommand)]
pub(crate) enum TenantCommand {
    /// Register a tenant by its Entra tenant id.
    Add(TenantAddArgs),
    /// List the tenants the caller may act for.
    List(TenantListArgs),
    /// Show one tenant.
    Show(TenantRefArgs),
    /// Remove a tenant and everything stored for it.
    Remove(TenantRefArgs),
    /// Set or delete the tenant's Microsoft Graph app registration (msp_admin).
    #[command(subcommand)]
    Credentials(CredentialsCommand),
    /// Sign in with the tenant's credentials and call each Microsoft API once: what works,
    /// and which permission or licence is missing (exit 1 if anything is).
    Test(TenantRefArgs),
    /// Which logs the connectors pull for the tenant.
    #[command(subcommand)]
    Sources(SourcesCommand),
}

#[derive(Debug, Subcommand)]
pub(crate) enum SourcesCommand {
    /// Turn sources on or off; those not named stay as they are.
    Set(SourcesSetArgs),
}

/// On or off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Switch {
    On,
    Off,
}

#[derive(Debug, Args)]
pub(crate) struct SourcesSetArgs {
    #[arg(long)]
    pub(crate) tenant: String,

    /// The Office 365 Management Activity API feed (unified audit log).
    #[arg(long, value_enum)]
    pub(crate) activity_feed: Option<Switch>,

    /// Entra sign-in logs (interactive and non-interactive) through Graph.
    #[arg(long, value_enum)]
    pub(crate) signins: Option<Switch>,

    #[arg(long, value_enum, default_value = "table")]
    pub(crate) format: Format,

    #[command(flatten)]
    pub(crate) client: ClientConfig,
}

#[derive(Debug, Subcommand)]
pub(crate) enum CredentialsCommand {
    /// Store the app registration's client id and secret, sealed at rest.
    Set(CredentialsSetArgs),
    /// Delete the stored credentials.
    Delete(CredentialsDeleteArgs),
}

#[derive(Debug, Args)]
pub(crate) struct CredentialsSetArgs {
    /// The tenant's Entra tenant id (GUID).
    #[arg(long)]
    pub(crate) tenant: String,

    /// Application (client) id of the app registration in the tenant.
    #[arg(long)]
    pub(crate) client_id: String,

    /// Name of the environment variable holding the client secret (never the secret itself on
    /// the command line, where process listings and shell history would keep it).
    #[arg(
        long,
        required_unless_present = "certificate_file",
        conflicts_with = "certificate_file"
    )]
    pub(crate) client_secret_env: Option<String>,

    /// Instead of a secret: a PEM file with the app's certificate and its RSA private key
    /// (the identity platform's certificate credentials).
    #[arg(long)]
    pub(crate) certificate_file: Option<std::path::PathBuf>,

    #[command(flatten)]
    pub(crate) client: ClientConfig,
}

#[derive(Debug, Args)]
pub(crate) struct CredentialsDeleteArgs {
    /// The tenant's Entra tenant id (GUID).
    #[arg(long)]
    pub(crate) tenant: String,

    #[command(flatten)]
    pub(crate) client: ClientConfig,
}

#[derive(Debug, Args)]
pub(crate) struct TenantAddArgs {
    /// The tenant's Entra tenant id (GUID).
    #[arg(long)]
    pub(crate) tenant: String,

    /// A name for the MSP's analysts.
    #[arg(long)]
    pub(crate) name: String,

    #[arg(long, value_enum, default_value = "table")]
    pub(crate) format: Format,

    #[command(flatten)]
    pub(crate) client: ClientConfig,
}

#[derive(Debug, Args)]
pub(crate) struct TenantListArgs {
    #[arg(long, value_enum, default_value = "table")]
    pub(crate) format: Format,

    #[command(flatten)]
    pub(crate) client: ClientConfig,
}

#[derive(Debug, Args)]
pub(crate) struct TenantRefArgs {
    /// The tenant's Entra tenant id (GUID).
    #[arg(required_unless_present = "tenant_flag")]
    pub(crate) tenant: Option<String>,

    /// The same, as a flag.
    #[arg(long = "tenant", id = "tenant_flag", conflicts_with = "tenant")]
    pub(crate) tenant_flag: Option<String>,

    #[arg(long, value_enum, default_value = "table")]
    pub(crate) format: Format,

    #[command(flatten)]
    pub(crate) client: ClientConfig,
}

impl TenantRefArgs {
    pub(crate) fn tenant(&self) -> &str {
        self.tenant
            .as_deref()
            .or(self.tenant_flag.as_deref())
            .unwrap_or_default()
    }
}

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

#[derive(Debug, Args)]
pub(crate) struct VerdictArgs {
    /// The finding's id.
    pub(crate) finding: String,

    /// What the analyst found.
    #[arg(long, value_enum)]
    pub(crate) label: VerdictLabel,

    /// Why.
    #[arg(long, default_value = "")]
    pub(crate) comment: String,

    /// The finding's tenant; looked up among the token's tenants when omitted.
    #[arg(long)]
    pub(crate) tenant: Option<String>,

    #[arg(long, value_enum, default_value = "table")]
    pub(crate) format: Format,

    #[command(flatten)]
    pub(crate) client: ClientConfig,
}

/// A verdict on the command line.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum VerdictLabel {
    /// An attack.
    TruePositive,
    /// Not an attack.
    FalsePositive,
    /// Real but expected (a known trip).
    Benign,
}

#[derive(Debug, Args)]
pub(crate) struct RespondArgs {
    /// The finding whose user to act on.
    pub(crate) finding: String,

    /// What to do.
    #[arg(long, value_enum)]
    pub(crate) action: ActionArg,

    /// Go through policy and approval, but call nothing at Microsoft.
    #[arg(long)]
    pub(crate) dry_run: bool,

    /// Why (kept with the action and in the audit log).
    #[arg(long, default_value = "")]
    pub(crate) reason: String,

    /// Idempotency key: repeating the command with the same key returns the first action
    /// instead of creating another. A fresh one when omitted.
    #[arg(long)]
    pub(crate) request_id: Option<String>,

    /// The finding's tenant; looked up among the token's tenants when omitted.
    #[arg(long)]
    pub(crate) tenant: Option<String>,

    #[arg(long, value_enum, default_value = "table")]
    pub(crate) format: Format,

    #[command(flatten)]
    pub(crate) client: ClientConfig,
}

/// A response action on the command line.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum ActionArg {
    /// Revoke every refresh token and session cookie of the user.
    RevokeSessions,
    /// Disable the account.
    DisableUser,
    /// Re-enable the account.
    EnableUser,
    /// Confirm the user compromised in Entra ID Protection (user risk high).
    ConfirmCompromised,
}

/// An action's status on the command line (`pending`: awaiting approval).
#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum ActionStatusArg {
    Pending,
    Approved,
    Rejected,
    Executing,
    Succeeded,
    Failed,
    Cancelled,
}

#[derive(Debug, Subcommand)]
pub(crate) enum ActionsCommand {
    /// List actions, newest first.
    List(ActionsListArgs),
    /// Show one action, with what Graph answered.
    Show(ActionArgs),
    /// Approve a pending action (as someone other than its proposer); it executes at once.
    Approve(ActionArgs),
    /// Reject a pending action.
    Reject(ActionArgs),
    /// Cancel an action not yet executed (its proposer, or an approver).
    Cancel(ActionArgs),
    /// Execute again an action that failed (after fixing credentials or permissions).
    Retry(ActionArgs),
}

#[derive(Debug, Args)]
pub(crate) struct ActionsListArgs {
    /// One tenant; every tenant the token may act for when omitted.
    #[arg(long)]
    pub(crate) tenant: Option<String>,

    /// Only actions in these statuses.
    #[arg(long, value_enum)]
    pub(crate) status: Vec<ActionStatusArg>,

    /// Only actions on this user.
    #[arg(long)]
    pub(crate) user: Option<String>,

    /// At most this many actions per tenant.
    #[arg(long)]
    pub(crate) limit: Option<usize>,

    #[arg(long, value_enum, default_value = "table")]
    pub(crate) format: Format,

    #[command(flatten)]
    pub(crate) client: ClientConfig,
}

#[derive(Debug, Args)]
pub(crate) struct ActionArgs {
    /// The action's id.
    pub(crate) action: String,

    /// Why (approve, reject, cancel).
    #[arg(long, default_value = "")]
    pub(crate) comment: String,

    /// The action's tenant; looked up among the token's tenants when omitted.
    #[arg(long)]
    pub(crate) tenant: Option<String>,

    #[arg(long, value_enum, default_value = "table")]
    pub(crate) format: Format,

    #[command(flatten)]
    pub(crate) client: ClientConfig,
}

#[derive(Debug, Subcommand)]
pub(crate) enum FindingsCommand {
    /// List findings, newest activity first, following every page (or up to --limit).
    List(FindingsListArgs),
    /// Show one finding with its evidence and status history.
    Show(FindingsShowArgs),
    /// Follow new, escalated and re-triaged findings live, until interrupted.
    Watch(FindingsWatchArgs),
}

#[derive(Debug, Args)]
pub(crate) struct FindingsListArgs {
    /// One tenant; every tenant the token may act for when omitted.
    #[arg(long)]
    pub(crate) tenant: Option<String>,

    /// One user (user principal name).
    #[arg(long)]
    pub(crate) user: Option<String>,

    /// Only findings at or above this severity.
    #[arg(long, value_enum)]
    pub(crate) min_severity: Option<SeverityArg>,

    /// Only findings in these statuses (repeat for several).
    #[arg(long, value_enum)]
    pub(crate) status: Vec<StatusArg>,

    /// At most this many findings.
    #[arg(long)]
    pub(crate) limit: Option<usize>,

    #[arg(long, value_enum, default_value = "table")]
    pub(crate) format: Format,

    #[command(flatten)]
    pub(crate) client: ClientConfig,
}

#[derive(Debug, Args)]
pub(crate) struct FindingsShowArgs {
    /// The finding's id.
    pub(crate) finding: String,

    /// Its tenant; looked up among the token's tenants when omitted.
    #[arg(long)]
    pub(crate) tenant: Option<String>,

    #[arg(long, value_enum, default_value = "table")]
    pub(crate) format: Format,

    #[command(flatten)]
    pub(crate) client: ClientConfig,
}

#[derive(Debug, Args)]
pub(crate) struct FindingsWatchArgs {
    /// One tenant; every tenant the token may act for when omitted.
    #[arg(long)]
    pub(crate) tenant: Option<String>,

    /// Only findings at or above this severity.
    #[arg(long, value_enum)]
    pub(crate) min_severity: Option<SeverityArg>,

    /// Table: one line per change; json: one JSON object per line.
    #[arg(long, value_enum, default_value = "table")]
    pub(crate) format: Format,

    #[command(flatten)]
    pub(crate) client: ClientConfig,
}

#[derive(Debug, Subcommand)]
pub(crate) enum PolicyCommand {
    /// Show the policy in force (a new tenant's default until one is set).
    Show(TenantArgs),
    /// Change the parts named; the rest stays as it is.
    Set(PolicySetArgs),
}

/// A tenant, and where to print.
#[derive(Debug, Args)]
pub(crate) struct TenantArgs {
    #[arg(long)]
    pub(crate) tenant: String,

    #[arg(long, value_enum, default_value = "table")]
    pub(crate) format: Format,

    #[command(flatten)]
    pub(crate) client: ClientConfig,
}

/// A response mode on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum ModeArg {
    Notify,
    RequireApproval,
    Automatic,
}

#[derive(Debug, Args)]
pub(crate) struct PolicySetArgs {
    #[arg(long)]
    pub(crate) tenant: String,

    /// The mode at severities without one of their own.
    #[arg(long, value_enum)]
    pub(crate) default_mode: Option<ModeArg>,

    /// A severity's own mode, as SEVERITY=MODE (high=automatic); repeat for several.
    #[arg(long = "mode")]
    pub(crate) modes: Vec<String>,

    /// The actions the policy itself proposes or takes (replaces the list; repeat for
    /// several).
    #[arg(long = "automatic-action", value_enum)]
    pub(crate) automatic_actions: Vec<ActionArg>,

    /// Take no action on the policy's own account (empties the list).
    #[arg(long, conflicts_with = "automatic_actions")]
    pub(crate) no_automatic_actions: bool,

    /// Findings below this prompt nothing on the policy's own account.
    #[arg(long, value_enum)]
    pub(crate) min_severity: Option<SeverityArg>,

    /// Users never acted on without approval (replaces the list; repeat for several).
    #[arg(long = "exclude-user")]
    pub(crate) excluded_users: Vec<String>,

    /// Every action a dry run.
    #[arg(long)]
    pub(crate) dry_run: Option<bool>,

    #[arg(long, value_enum, default_value = "table")]
    pub(crate) format: Format,

    #[command(flatten)]
    pub(crate) client: ClientConfig,
}

#[derive(Debug, Subcommand)]
pub(crate) enum WebhooksCommand {
    /// Add a webhook.
    Add(WebhookAddArgs),
    /// List the tenant's webhooks (URLs by origin only).
    List(TenantArgs),
    /// Delete a webhook.
    Delete(WebhookDeleteArgs),
}

/// A webhook body on the command line.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum PayloadArg {
    Generic,
    Slack,
    Teams,
}

#[derive(Debug, Args)]
pub(crate) struct WebhookAddArgs {
    #[arg(long)]
    pub(crate) tenant: String,

    /// Where to POST.
    #[arg(long)]
    pub(crate) url: String,

    /// The body: the event as JSON, a Slack message, or a Teams Adaptive Card.
    #[arg(long, value_enum, default_value = "generic")]
    pub(crate) payload: PayloadArg,

    /// Name of the environment variable holding the HMAC key (16 characters or more).
    #[arg(long)]
    pub(crate) secret_env: String,

    /// Finding events below this are not sent.
    #[arg(long, value_enum)]
    pub(crate) min_severity: Option<SeverityArg>,

    #[arg(long, value_enum, default_value = "table")]
    pub(crate) format: Format,

    #[command(flatten)]
    pub(crate) client: ClientConfig,
}

#[derive(Debug, Args)]
pub(crate) struct WebhookDeleteArgs {
    /// The webhook's id.
    pub(crate) webhook: String,

    #[arg(long)]
    pub(crate) tenant: String,

    #[command(flatten)]
    pub(crate) client: ClientConfig,
}

#[derive(Debug, Subcommand)]
pub(crate) enum ConnectorsCommand {
    /// Per tenant and source: last successful pull, lag behind now, records pulled, last
    /// error (exit 1 if a switched-on source is unhealthy or failing).
    Status(ConnectorsStatusArgs),
}

#[derive(Debug, Args)]
pub(crate) struct ConnectorsStatusArgs {
    /// One tenant; every tenant the token may read when omitted.
    #[arg(long, default_value = "")]
    pub(crate) tenant: String,

    #[arg(long, value_enum, default_value = "table")]
    pub(crate) format: Format,

    #[command(flatten)]
    pub(crate) client: ClientConfig,
}

#[derive(Debug, Subcommand)]
pub(crate) enum SuppressionsCommand {
    /// List the tenant's suppressions, newest first.
    List(SuppressionsListArgs),
    /// Mark a context as expected.
    Add(SuppressionAddArgs),
    /// Delete a suppression.
    Delete(SuppressionDeleteArgs),
    /// Suppressions the last 30 days of false positives argue for.
    Suggest(TenantArgs),
}

#[derive(Debug, Args)]
pub(crate) struct SuppressionsListArgs {
    #[arg(long)]
    pub(crate) tenant: String,

    /// Also the expired ones.
    #[arg(long)]
    pub(crate) all: bool,

    #[arg(long, value_enum, default_value = "table")]
    pub(crate) format: Format,

    #[command(flatten)]
    pub(crate) client: ClientConfig,
}

/// What a suppression matches, on the command line.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum ContextArg {
    /// An ASN (AS8075 or 8075).
    Asn,
    /// An IPv4 /24 or IPv6 /48.
    Prefix,
    /// A two-letter country code.
    Country,
    /// A browser family (Firefox).
    Browser,
    /// An OS family (Linux).
    Os,
    /// A device id.
    Device,
    /// A network with a client (AS3320#Chrome/Windows/browser).
    NetworkClient,
}

#[derive(Debug, Args)]
pub(crate) struct SuppressionAddArgs {
    #[arg(long)]
    pub(crate) tenant: String,

    /// What kind of context.
    #[arg(long, value_enum)]
    pub(crate) kind: ContextArg,

    /// The context.
    #[arg(long)]
    pub(crate) value: String,

    /// Only for this user (UPN); the whole tenant when omitted.
    #[arg(long)]
    pub(crate) user: Option<String>,

    /// How long it lasts (e.g. 14d, 12h); forever when omitted.
    #[arg(long, value_parser = humantime::parse_duration)]
    pub(crate) expires_in: Option<Duration>,

    /// Why.
    #[arg(long, default_value = "")]
    pub(crate) reason: String,

    #[arg(long, value_enum, default_value = "table")]
    pub(crate) format: Format,

    #[command(flatten)]
    pub(crate) client: ClientConfig,
}

#[derive(Debug, Args)]
pub(crate) struct SuppressionDeleteArgs {
    /// The suppression's id.
    pub(crate) suppression: String,

    #[arg(long)]
    pub(crate) tenant: String,

    #[command(flatten)]
    pub(crate) client: ClientConfig,
}

/// A severity on the command line.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum SeverityArg {
    Low,
    Medium,
    High,
    Critical,
}

/// A finding status on the command line.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum StatusArg {
    Open,
    Acknowledged,
    TruePositive,
    FalsePositive,
    Benign,
}
