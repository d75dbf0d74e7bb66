//! `tokenwatch policy show|set` and `tokenwatch webhooks add|list|delete`: a tenant's response
//! policy and its webhooks.

use tokenwatch_proto::common::v1::Severity;
use tokenwatch_proto::response::v1::response_service_client::ResponseServiceClient;
use tokenwatch_proto::response::v1::*;

use crate::cli::{
    ActionArg, Format, ModeArg, PayloadArg, PolicyCommand, SeverityArg, WebhooksCommand,
};
use crate::commands::findings::time;
use crate::output;

fn severity(arg: SeverityArg) -> Severity {
    match arg {
        SeverityArg::Low => Severity::Low,
        SeverityArg::Medium => Severity::Medium,
        SeverityArg::High => Severity::High,
        SeverityArg::Critical => Severity::Critical,
    }
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

fn name<T: std::fmt::Debug>(value: T) -> String {
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
            let channel = crate::commands::connect(&args.client).await?;
            let policy = ResponseServiceClient::new(channel)
                .get_response_policy(GetResponsePolicyRequest {
                    tenant_id: args.tenant,
                })
                .await?
                .into_inner()
                .policy
                .unwrap_or_default();
            print_policy(&policy, args.format)
        }
        PolicyCommand::Set(args) => {
            let channel = crate::commands::connect(&args.client).await?;
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
                policy.min_severity = severity(min).into();
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
            print_policy(&policy, args.format)
        }
    }
}

fn webhook_json(w: &Webhook) -> serde_json::Value {
    serde_json::json!({
        "id": w.webhook_id,
        "tenant_id": w.tenant_id,
        "url": w.url,
        "payload": name(w.format()),
        "min_severity": name(w.min_severity()),
        "created_by": w.created_by,
        "create_time": time(&w.create_time),
    })
}

fn print_webhooks(webhooks: &[Webhook], format: Format) -> anyhow::Result<()> {
    match format {
        Format::Json => output::json(&webhooks.iter().map(webhook_json).collect())?,
        Format::Table => {
            let rows: Vec<Vec<String>> = webhooks
                .iter()
                .map(|w| {
                    vec![
                        w.webhook_id.clone(),
                        w.url.clone(),
                        name(w.format()),
                        name(w.min_severity()),
                        w.created_by.clone(),
                    ]
                })
                .collect();
            output::table(&["ID", "URL", "PAYLOAD", "MIN SEVERITY", "ADDED BY"], &rows)?;
        }
    }
    Ok(())
}

/// `tokenwatch webhooks ...`.
pub(crate) async fn webhooks(command: WebhooksCommand) -> anyhow::Result<()> {
    match command {
        WebhooksCommand::Add(args) => {
            let secret = std::env::var(&args.secret_env).map_err(|_| {
                anyhow::anyhow!(
                    "the environment variable {} (--secret-env) is not set",
                    args.secret_env
                )
            })?;
            let format = match args.payload {
                PayloadArg::Generic => WebhookFormat::Generic,
                PayloadArg::Slack => WebhookFormat::Slack,
                PayloadArg::Teams => WebhookFormat::Teams,
            };
            let channel = crate::commands::connect(&args.client).await?;
            let webhook = ResponseServiceClient::new(channel)
                .add_webhook(AddWebhookRequest {
                    tenant_id: args.tenant,
                    url: args.url,
                    format: format.into(),
                    secret,
                    min_severity: args
                        .min_severity
                        .map_or(Severity::Unspecified, severity)
                        .into(),
                })
                .await?
                .into_inner()
                .webhook
                .unwrap_or_default();
            print_webhooks(std::slice::from_ref(&webhook), args.format)
        }
        WebhooksCommand::List(args) => {
            let channel = crate::commands::connect(&args.client).await?;
            let webhooks = ResponseServiceClient::new(channel)
                .list_webhooks(ListWebhooksRequest {
                    tenant_id: args.tenant,
                })
                .await?
                .into_inner()
                .webhooks;
            print_webhooks(&webhooks, args.format)
        }
        WebhooksCommand::Delete(args) => {
            let channel = crate::commands::connect(&args.client).await?;
            ResponseServiceClient::new(channel)
                .delete_webhook(DeleteWebhookRequest {
                    tenant_id: args.tenant,
                    webhook_id: args.webhook.clone(),
                })
                .await?;
            output::line(&format!("webhook {} deleted", args.webhook))?;
            Ok(())
        }
    }
}
