//! `tokenwatch respond FINDING --action ...` and `tokenwatch actions list|show|approve|reject|
//! cancel|retry`. With `--format json` every action prints as one object with `id`, `status`,
//! `action`, `user` and `finding_id` (and the rest of what the server keeps); `status` is
//! `pending` while an action awaits approval.

use clap::{Args, Subcommand, ValueEnum};
use tokenwatch_grpc::AuthedChannel;
use tokenwatch_proto::detection::v1::detection_service_client::DetectionServiceClient;
use tokenwatch_proto::response::v1::response_service_client::ResponseServiceClient;
use tokenwatch_proto::response::v1::*;
use tokenwatch_proto::tenant::v1::ListTenantsRequest;
use tokenwatch_proto::tenant::v1::tenant_service_client::TenantServiceClient;
use tokenwatch_proto::tonic::Code;

use crate::cli::{Format, Remote};
use crate::commands::findings::{find_tenant, time};
use crate::output;

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

    #[command(flatten)]
    pub(crate) remote: Remote,
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

    #[command(flatten)]
    pub(crate) remote: Remote,
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

    #[command(flatten)]
    pub(crate) remote: Remote,
}

type Client = ResponseServiceClient<AuthedChannel>;

fn status_name(state: ActionState) -> &'static str {
    match state {
        ActionState::Proposed => "pending",
        ActionState::Approved => "approved",
        ActionState::Rejected => "rejected",
        ActionState::Executing => "executing",
        ActionState::Succeeded => "succeeded",
        ActionState::Failed => "failed",
        ActionState::Cancelled => "cancelled",
        ActionState::Unspecified => "unspecified",
    }
}

fn action_name(kind: ActionKind) -> &'static str {
    match kind {
        ActionKind::RevokeSessions => "revoke-sessions",
        ActionKind::DisableUser => "disable-user",
        ActionKind::EnableUser => "enable-user",
        ActionKind::ConfirmCompromised => "confirm-compromised",
        ActionKind::Unspecified => "unspecified",
    }
}

fn state_of(arg: ActionStatusArg) -> ActionState {
    match arg {
        ActionStatusArg::Pending => ActionState::Proposed,
        ActionStatusArg::Approved => ActionState::Approved,
        ActionStatusArg::Rejected => ActionState::Rejected,
        ActionStatusArg::Executing => ActionState::Executing,
        ActionStatusArg::Succeeded => ActionState::Succeeded,
        ActionStatusArg::Failed => ActionState::Failed,
        ActionStatusArg::Cancelled => ActionState::Cancelled,
    }
}

/// An action as the JSON output shows it.
fn to_json(a: &Action) -> serde_json::Value {
    let outcome: serde_json::Value = serde_json::from_str(&a.outcome_json).unwrap_or_default();
    serde_json::json!({
        "id": a.action_id,
        "status": status_name(a.state()),
        "action": action_name(a.kind()),
        "user": a.user_id,
        "finding_id": a.finding_id,
        "tenant_id": a.tenant_id,
        "severity": format!("{:?}", a.severity()).to_lowercase(),
        "dry_run": a.dry_run,
        "reason": a.reason,
        "proposed_by": a.proposed_by,
        "approved_by": a.approved_by,
        "result": a.result,
        "outcome": outcome,
        "attempts": a.attempts,
        "create_time": time(&a.create_time),
        "update_time": time(&a.update_time),
    })
}

fn print(actions: &[Action], format: Format) -> anyhow::Result<()> {
    match format {
        Format::Json if actions.len() == 1 => output::json(&to_json(&actions[0]))?,
        Format::Json => output::json(&actions.iter().map(to_json).collect())?,
        Format::Table => {
            let rows: Vec<Vec<String>> = actions
                .iter()
                .map(|a| {
                    vec![
                        a.action_id.clone(),
                        format!(
                            "{}{}",
                            status_name(a.state()),
                            if a.dry_run { " (dry run)" } else { "" }
                        ),
                        action_name(a.kind()).to_owned(),
                        a.user_id.clone(),
                        a.proposed_by.clone(),
                        a.approved_by.clone(),
                        a.result.clone(),
                    ]
                })
                .collect();
            output::table(
                &[
                    "ID",
                    "STATUS",
                    "ACTION",
                    "USER",
                    "PROPOSED BY",
                    "APPROVED BY",
                    "RESULT",
                ],
                &rows,
            )?;
        }
    }
    Ok(())
}

/// `tokenwatch respond`.
pub(crate) async fn respond(args: RespondArgs) -> anyhow::Result<()> {
    let channel = crate::commands::connect(&args.remote.client).await?;
    let tenant = match args.tenant.clone() {
        Some(tenant) => tenant,
        None => {
            let mut findings = DetectionServiceClient::new(channel.clone());
            find_tenant(&mut findings, &args.finding).await?
        }
    };
    let kind = match args.action {
        ActionArg::RevokeSessions => ActionKind::RevokeSessions,
        ActionArg::DisableUser => ActionKind::DisableUser,
        ActionArg::EnableUser => ActionKind::EnableUser,
        ActionArg::ConfirmCompromised => ActionKind::ConfirmCompromised,
    };
    let action = Client::new(channel)
        .propose_action(ProposeActionRequest {
            tenant_id: tenant,
            kind: kind.into(),
            user_id: String::new(),
            finding_id: args.finding,
            reason: args.reason,
            request_id: args.request_id.unwrap_or_default(),
            dry_run: args.dry_run,
        })
        .await?
        .into_inner()
        .action
        .unwrap_or_default();
    print(std::slice::from_ref(&action), args.remote.format)?;
    if args.remote.format == Format::Table && action.state() == ActionState::Proposed {
        output::line(&format!(
            "awaiting approval by someone other than {}: tokenwatch actions approve {}",
            action.proposed_by, action.action_id
        ))?;
    }
    Ok(())
}

/// `tokenwatch actions ...`.
pub(crate) async fn run(command: ActionsCommand) -> anyhow::Result<()> {
    match command {
        ActionsCommand::List(args) => list(args).await,
        ActionsCommand::Show(args) => one(args, Step::Show).await,
        ActionsCommand::Approve(args) => one(args, Step::Approve).await,
        ActionsCommand::Reject(args) => one(args, Step::Reject).await,
        ActionsCommand::Cancel(args) => one(args, Step::Cancel).await,
        ActionsCommand::Retry(args) => one(args, Step::Retry).await,
    }
}

/// The tenants the token may act for.
async fn tenants(channel: &AuthedChannel) -> anyhow::Result<Vec<String>> {
    let mut client = TenantServiceClient::new(channel.clone());
    let mut tenants = Vec::new();
    let mut page_token = String::new();
    loop {
        let page = client
            .list_tenants(ListTenantsRequest {
                page_size: 0,
                page_token,
            })
            .await?
            .into_inner();
        tenants.extend(page.tenants.into_iter().map(|t| t.tenant_id));
        if page.next_page_token.is_empty() {
            return Ok(tenants);
        }
        page_token = page.next_page_token;
    }
}

async fn list(args: ActionsListArgs) -> anyhow::Result<()> {
    let channel = crate::commands::connect(&args.remote.client).await?;
    let tenants = match &args.tenant {
        Some(tenant) => vec![tenant.clone()],
        None => tenants(&channel).await?,
    };
    let mut client = Client::new(channel);
    let states: Vec<i32> = args.status.iter().map(|s| state_of(*s).into()).collect();
    let mut actions = Vec::new();
    for tenant in tenants {
        let mut page_token = String::new();
        let mut taken = 0;
        loop {
            let page = client
                .list_actions(ListActionsRequest {
                    tenant_id: tenant.clone(),
                    user_id: args.user.clone().unwrap_or_default(),
                    states: states.clone(),
                    page_size: 500,
                    page_token,
                })
                .await?
                .into_inner();
            for action in page.actions {
                if args.limit.is_some_and(|limit| taken >= limit) {
                    break;
                }
                taken += 1;
                actions.push(action);
            }
            if page.next_page_token.is_empty() || args.limit.is_some_and(|limit| taken >= limit) {
                break;
            }
            page_token = page.next_page_token;
        }
    }
    let newest = |a: &Action| a.create_time.as_ref().map(|t| (t.seconds, t.nanos));
    actions.sort_by_key(|a| std::cmp::Reverse(newest(a)));
    match args.remote.format {
        // A list stays a list, even of one.
        Format::Json => output::json(&actions.iter().map(to_json).collect())?,
        Format::Table => print(&actions, Format::Table)?,
    }
    Ok(())
}

#[derive(Debug, Clone, Copy)]
enum Step {
    Show,
    Approve,
    Reject,
    Cancel,
    Retry,
}

async fn one(args: ActionArgs, step: Step) -> anyhow::Result<()> {
    let channel = crate::commands::connect(&args.remote.client).await?;
    let mut client = Client::new(channel.clone());
    let tenant = match args.tenant.clone() {
        Some(tenant) => tenant,
        None => find_action_tenant(&mut client, &channel, &args.action).await?,
    };
    let (tenant_id, action_id, comment) = (tenant, args.action.clone(), args.comment.clone());
    let action = match step {
        Step::Show => {
            client
                .get_action(GetActionRequest {
                    tenant_id,
                    action_id,
                })
                .await?
                .into_inner()
                .action
        }
        Step::Approve | Step::Reject => {
            client
                .approve_action(ApproveActionRequest {
                    tenant_id,
                    action_id,
                    approve: matches!(step, Step::Approve),
                    comment,
                })
                .await?
                .into_inner()
                .action
        }
        Step::Cancel => {
            client
                .cancel_action(CancelActionRequest {
                    tenant_id,
                    action_id,
                    comment,
                })
                .await?
                .into_inner()
                .action
        }
        Step::Retry => {
            client
                .execute_action(ExecuteActionRequest {
                    tenant_id,
                    action_id,
                })
                .await?
                .into_inner()
                .action
        }
    }
    .unwrap_or_default();
    print(std::slice::from_ref(&action), args.remote.format)?;
    if matches!(step, Step::Show)
        && args.remote.format == Format::Table
        && !action.outcome_json.is_empty()
    {
        output::line(&format!("graph: {}", action.outcome_json))?;
    }
    Ok(())
}

/// The tenant holding an action, among the token's tenants.
async fn find_action_tenant(
    client: &mut Client,
    channel: &AuthedChannel,
    action_id: &str,
) -> anyhow::Result<String> {
    for tenant in tenants(channel).await? {
        let found = client
            .get_action(GetActionRequest {
                tenant_id: tenant.clone(),
                action_id: action_id.to_owned(),
            })
            .await;
        match found {
            Ok(_) => return Ok(tenant),
            Err(status) if matches!(status.code(), Code::NotFound | Code::PermissionDenied) => {}
            Err(status) => return Err(status.into()),
        }
    }
    anyhow::bail!("no action {action_id} in the tenants this token may act for")
}
