//! `tokenwatch webhooks add|list|delete`: a tenant's webhooks for findings and actions, signed
//! with HMAC-SHA256.

use clap::{Args, Subcommand, ValueEnum};
use tokenwatch_config::ClientConfig;
use tokenwatch_proto::common::v1::Severity;
use tokenwatch_proto::response::v1::response_service_client::ResponseServiceClient;
use tokenwatch_proto::response::v1::*;

use crate::cli::{Format, Remote, TenantArgs};
use crate::commands::findings::time;
use crate::commands::policy::name;
use crate::output;

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
    #[arg(long, value_name = "low|medium|high|critical")]
    pub(crate) min_severity: Option<tokenwatch_types::Severity>,

    #[command(flatten)]
    pub(crate) remote: Remote,
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
pub(crate) async fn run(command: WebhooksCommand) -> anyhow::Result<()> {
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
            let channel = crate::commands::connect(&args.remote.client).await?;
            let webhook = ResponseServiceClient::new(channel)
                .add_webhook(AddWebhookRequest {
                    tenant_id: args.tenant,
                    url: args.url,
                    format: format.into(),
                    secret,
                    min_severity: args
                        .min_severity
                        .map_or(Severity::Unspecified, tokenwatch_proto::severity_to_proto)
                        .into(),
                })
                .await?
                .into_inner()
                .webhook
                .unwrap_or_default();
            print_webhooks(std::slice::from_ref(&webhook), args.remote.format)
        }
        WebhooksCommand::List(args) => {
            let channel = crate::commands::connect(&args.remote.client).await?;
            let webhooks = ResponseServiceClient::new(channel)
                .list_webhooks(ListWebhooksRequest {
                    tenant_id: args.tenant,
                })
                .await?
                .into_inner()
                .webhooks;
            print_webhooks(&webhooks, args.remote.format)
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
