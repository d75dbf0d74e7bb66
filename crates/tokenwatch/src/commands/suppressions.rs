//! `tokenwatch suppressions list|add|delete|suggest`: contexts marked as expected.

use std::time::Duration;

use clap::{Args, Subcommand, ValueEnum};
use tokenwatch_config::ClientConfig;
use tokenwatch_proto::common::v1::{ContextKind, ContextValue};
use tokenwatch_proto::feedback::v1::feedback_service_client::FeedbackServiceClient;
use tokenwatch_proto::feedback::v1::*;

use crate::cli::{Format, Remote, TenantArgs};
use crate::commands::findings::time;
use crate::output;

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

    #[command(flatten)]
    pub(crate) remote: Remote,
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

    #[command(flatten)]
    pub(crate) remote: Remote,
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

fn kind_name(kind: ContextKind) -> &'static str {
    match kind {
        ContextKind::Asn => "asn",
        ContextKind::Prefix => "prefix",
        ContextKind::Country => "country",
        ContextKind::Browser => "browser",
        ContextKind::Os => "os",
        ContextKind::Device => "device",
        ContextKind::NetworkClient => "network-client",
        ContextKind::Ip => "ip",
        ContextKind::UserAgent => "user-agent",
        ContextKind::Unspecified => "unspecified",
    }
}

fn to_json(s: &Suppression) -> serde_json::Value {
    let context = s.context.clone().unwrap_or_default();
    serde_json::json!({
        "id": s.suppression_id,
        "tenant_id": s.tenant_id,
        "user": s.user_id,
        "kind": kind_name(context.kind()),
        "value": context.value,
        "reason": s.reason,
        "created_by": s.created_by,
        "create_time": time(&s.create_time),
        "expire_time": time(&s.expire_time),
    })
}

fn row(s: &Suppression) -> Vec<String> {
    let context = s.context.clone().unwrap_or_default();
    vec![
        s.suppression_id.clone(),
        kind_name(context.kind()).to_owned(),
        context.value,
        if s.user_id.is_empty() {
            "(every user)".to_owned()
        } else {
            s.user_id.clone()
        },
        time(&s.expire_time),
        s.reason.clone(),
    ]
}

const HEADER: [&str; 6] = ["ID", "KIND", "VALUE", "USER", "EXPIRES", "REASON"];

/// `tokenwatch suppressions ...`.
pub(crate) async fn run(command: SuppressionsCommand) -> anyhow::Result<()> {
    match command {
        SuppressionsCommand::List(args) => {
            let mut client =
                FeedbackServiceClient::new(crate::commands::connect(&args.remote.client).await?);
            let mut all = Vec::new();
            let mut page_token = String::new();
            loop {
                let page = client
                    .list_suppressions(ListSuppressionsRequest {
                        tenant_id: args.tenant.clone(),
                        include_expired: args.all,
                        page_size: 500,
                        page_token,
                    })
                    .await?
                    .into_inner();
                all.extend(page.suppressions);
                if page.next_page_token.is_empty() {
                    break;
                }
                page_token = page.next_page_token;
            }
            match args.remote.format {
                Format::Json => output::json(&all.iter().map(to_json).collect())?,
                Format::Table => output::table(&HEADER, &all.iter().map(row).collect::<Vec<_>>())?,
            }
        }
        SuppressionsCommand::Add(args) => {
            let kind = match args.kind {
                ContextArg::Asn => ContextKind::Asn,
                ContextArg::Prefix => ContextKind::Prefix,
                ContextArg::Country => ContextKind::Country,
                ContextArg::Browser => ContextKind::Browser,
                ContextArg::Os => ContextKind::Os,
                ContextArg::Device => ContextKind::Device,
                ContextArg::NetworkClient => ContextKind::NetworkClient,
            };
            let expire_time = args
                .expires_in
                .map(|d| chrono::Utc::now() + chrono::Duration::from_std(d).unwrap_or_default())
                .map(tokenwatch_proto::to_timestamp);
            let created =
                FeedbackServiceClient::new(crate::commands::connect(&args.remote.client).await?)
                    .create_suppression(CreateSuppressionRequest {
                        tenant_id: args.tenant,
                        user_id: args.user.unwrap_or_default(),
                        context: Some(ContextValue {
                            kind: kind.into(),
                            value: args.value,
                        }),
                        reason: args.reason,
                        expire_time,
                    })
                    .await?
                    .into_inner()
                    .suppression
                    .unwrap_or_default();
            match args.remote.format {
                Format::Json => output::json(&to_json(&created))?,
                Format::Table => output::table(&HEADER, &[row(&created)])?,
            }
        }
        SuppressionsCommand::Delete(args) => {
            FeedbackServiceClient::new(crate::commands::connect(&args.client).await?)
                .delete_suppression(DeleteSuppressionRequest {
                    tenant_id: args.tenant,
                    suppression_id: args.suppression.clone(),
                })
                .await?;
            output::line(&format!("suppression {} deleted", args.suppression))?;
        }
        SuppressionsCommand::Suggest(args) => {
            let suggestions =
                FeedbackServiceClient::new(crate::commands::connect(&args.remote.client).await?)
                    .list_suppression_suggestions(ListSuppressionSuggestionsRequest {
                        tenant_id: args.tenant,
                    })
                    .await?
                    .into_inner()
                    .suggestions;
            match args.remote.format {
                Format::Json => output::json(
                    &suggestions
                        .iter()
                        .map(|s| {
                            let mut json = to_json(&s.suppression.clone().unwrap_or_default());
                            json["false_positives"] = s.false_positives.into();
                            json["finding_ids"] = s.finding_ids.clone().into();
                            json
                        })
                        .collect(),
                )?,
                Format::Table => {
                    let rows: Vec<Vec<String>> = suggestions
                        .iter()
                        .map(|s| {
                            let mut cells = row(&s.suppression.clone().unwrap_or_default());
                            cells.remove(0);
                            cells.push(s.false_positives.to_string());
                            cells
                        })
                        .collect();
                    output::table(
                        &[
                            "KIND",
                            "VALUE",
                            "USER",
                            "EXPIRES",
                            "REASON",
                            "FALSE POSITIVES",
                        ],
                        &rows,
                    )?;
                }
            }
        }
    }
    Ok(())
}
