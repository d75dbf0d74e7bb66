//! `tokenwatch policy show|set`: a tenant's response policy.

use clap::{Args, Subcommand, ValueEnum};
use tokenwatch_proto::response::v1::response_service_client::ResponseServiceClient;
use tokenwatch_proto::response::v1::*;

use crate::cli::{Format, Remote, TenantArgs};
use crate::commands::actions::ActionArg;
use crate::commands::findings::time;
use crate::output;

#[derive(Debug, Subcommand)]
pub(crate) enum PolicyCommand {
    /// Show the policy in force (a new tenant's default until one is set).
    Show(TenantArgs),
    /// Change the parts named; the rest stays as it is.
    Set(PolicySetArgs),
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
    #[arg(long, value_name = "low|medium|high|critical")]
    pub(crate) min_severity: Option<tokenwatch_types::Severity>,

    /// Users never acted on without approval (replaces the list; repeat for several).
    #[arg(long = "exclude-user")]
    pub(crate) excluded_users: Vec<String>,

    /// Every action a dry run.
    #[arg(long)]
    pub(crate) dry_run: Option<bool>,

    #[command(flatten)]
    pub(crate) remote: Remote,
}

fn mode(arg: ModeArg) -> ResponseMode {
    match arg {
        ModeArg::Notify => ResponseMode::Notify,
        ModeArg::RequireApproval => ResponseMode::RequireApproval,
        ModeArg::Automatic => ResponseMode::Automatic,
    }
}

fn action(arg: ActionArg) -> ActionKind {
    match arg {
        ActionArg::RevokeSessions => ActionKind::RevokeSessions,
        ActionArg::DisableUser => ActionKind::DisableUser,
        ActionArg::EnableUser => ActionKind::EnableUser,
        ActionArg::ConfirmCompromised => ActionKind::ConfirmCompromised,
    }
}

pub(crate) fn name<T: std::fmt::Debug>(value: T) -> String {
    // `RequireApproval` → `require-approval`, as the command line spells it.
    let text = format!("{value:?}");
    let mut out = String::new();
    for (i, c) in text.chars().enumerate() {
        if c.is_uppercase() && i > 0 {
            out.push('-');
        }
        out.push(c.to_ascii_lowercase());
    }
    out
}

fn policy_json(p: &ResponsePolicy) -> serde_json::Value {
    serde_json::json!({
        "tenant_id": p.tenant_id,
        "default_mode": name(p.default_mode()),
        "mode_by_severity": p.mode_by_severity.iter().map(|(severity, m)| {
            (severity.clone(), name(ResponseMode::try_from(*m).unwrap_or_default()))
        }).collect::<std::collections::BTreeMap<_, _>>(),
        "automatic_actions": p.automatic_actions().map(name).collect::<Vec<_>>(),
        "min_severity": name(p.min_severity()),
        "excluded_users": p.excluded_users,
        "dry_run": p.dry_run,
        "update_time": time(&p.update_time),
    })
}

fn print_policy(p: &ResponsePolicy, format: Format) -> anyhow::Result<()> {
    let json = policy_json(p);
    match format {
        Format::Json => output::json(&json)?,
        Format::Table => {
            for (key, value) in json.as_object().into_iter().flatten() {
                output::line(&format!("{key:18} {value}"))?;
            }
        }
    }
    Ok(())
}

/// `tokenwatch policy ...`.
pub(crate) async fn run(command: PolicyCommand) -> anyhow::Result<()> {
    match command {
        PolicyCommand::Show(args) => {
            let channel = crate::commands::connect(&args.remote.client).await?;
            let policy = ResponseServiceClient::new(channel)
                .get_response_policy(GetResponsePolicyRequest {
                    tenant_id: args.tenant,
                })
                .await?
                .into_inner()
                .policy
                .unwrap_or_default();
            print_policy(&policy, args.remote.format)
        }
        PolicyCommand::Set(args) => {
            let channel = crate::commands::connect(&args.remote.client).await?;
            let mut client = ResponseServiceClient::new(channel);
            let mut policy = client
                .get_response_policy(GetResponsePolicyRequest {
                    tenant_id: args.tenant.clone(),
                })
                .await?
                .into_inner()
                .policy
                .unwrap_or_default();
            if let Some(default_mode) = args.default_mode {
                policy.default_mode = mode(default_mode).into();
            }
            for entry in &args.modes {
                let (severity, m) = entry
                    .split_once('=')
                    .ok_or_else(|| anyhow::anyhow!("--mode {entry:?}: give SEVERITY=MODE"))?;
                let m = <ModeArg as clap::ValueEnum>::from_str(m, true)
                    .map_err(|_| anyhow::anyhow!("--mode {entry:?}: unknown mode {m:?}"))?;
                policy
                    .mode_by_severity
                    .insert(severity.to_lowercase(), mode(m).into());
            }
            if args.no_automatic_actions {
                policy.automatic_actions.clear();
            } else if !args.automatic_actions.is_empty() {
                policy.automatic_actions = args
                    .automatic_actions
                    .iter()
                    .map(|a| action(*a).into())
                    .collect();
            }
            if let Some(min) = args.min_severity {
                policy.min_severity = tokenwatch_proto::severity_to_proto(min).into();
            }
            if !args.excluded_users.is_empty() {
                policy.excluded_users = args.excluded_users.clone();
            }
            if let Some(dry_run) = args.dry_run {
                policy.dry_run = dry_run;
            }
            let policy = client
                .set_response_policy(SetResponsePolicyRequest {
                    tenant_id: args.tenant,
                    policy: Some(policy),
                })
                .await?
                .into_inner()
                .policy
                .unwrap_or_default();
            print_policy(&policy, args.remote.format)
        }
    }
}
