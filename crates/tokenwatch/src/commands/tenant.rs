//! `tokenwatch tenant add|list|show|remove|test|credentials|sources`: the tenant registry and
//! each tenant's onboarding.

use std::path::PathBuf;

use clap::{Args, Subcommand, ValueEnum};
use tokenwatch_config::ClientConfig;
use tokenwatch_grpc::AuthedChannel;
use tokenwatch_proto::tenant::v1::tenant_service_client::TenantServiceClient;
use tokenwatch_proto::tenant::v1::*;

use crate::cli::{Format, Remote, TenantRefArgs};
use crate::output;

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

    #[command(flatten)]
    pub(crate) remote: Remote,
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
    pub(crate) certificate_file: Option<PathBuf>,

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

    #[command(flatten)]
    pub(crate) remote: Remote,
}

#[derive(Debug, Args)]
pub(crate) struct TenantListArgs {
    #[command(flatten)]
    pub(crate) remote: Remote,
}

type Client = TenantServiceClient<AuthedChannel>;

async fn client(config: &ClientConfig) -> anyhow::Result<Client> {
    Ok(TenantServiceClient::new(
        crate::commands::connect(config).await?,
    ))
}

fn to_json(tenant: &Tenant) -> serde_json::Value {
    let time = |t: &Option<tokenwatch_proto::prost_types::Timestamp>| {
        t.as_ref()
            .and_then(tokenwatch_proto::from_timestamp)
            .map(|t| t.to_rfc3339())
    };
    serde_json::json!({
        "tenant_id": tenant.tenant_id,
        "display_name": tenant.display_name,
        "create_time": time(&tenant.create_time),
        "credentials_set": tenant.credentials_set,
        "credentials_update_time": time(&tenant.credentials_update_time),
        "sources": {
            "activity_feed": tenant.sources.is_some_and(|s| s.activity_feed),
            "signins": tenant.sources.is_some_and(|s| s.signins),
        },
    })
}

/// The tenant's warm-up state from the baseline service (`users`, `learning_users`), when the
/// caller may read baselines.
async fn warm_up(config: &ClientConfig, tenant: &str) -> Option<serde_json::Value> {
    use tokenwatch_proto::baseline::v1::GetBaselineStatsRequest;
    use tokenwatch_proto::baseline::v1::baseline_service_client::BaselineServiceClient;
    let channel = crate::commands::connect(config).await.ok()?;
    let stats = BaselineServiceClient::new(channel)
        .get_baseline_stats(GetBaselineStatsRequest {
            tenant_id: tenant.to_owned(),
        })
        .await
        .ok()?
        .into_inner();
    Some(serde_json::json!({
        "users": stats.users,
        "learning_users": stats.cold_start_users,
        "learned_users": stats.users - stats.cold_start_users,
    }))
}

fn print(tenants: &[Tenant], format: Format) -> anyhow::Result<()> {
    match format {
        Format::Json => output::json(&serde_json::Value::Array(
            tenants.iter().map(to_json).collect(),
        ))?,
        Format::Table => {
            let rows: Vec<Vec<String>> = tenants
                .iter()
                .map(|t| {
                    let json = to_json(t);
                    vec![
                        t.tenant_id.clone(),
                        t.display_name.clone(),
                        json["create_time"].as_str().unwrap_or_default().to_owned(),
                        if t.credentials_set { "set" } else { "not set" }.to_owned(),
                        sources_text(t.sources.unwrap_or_default()),
                    ]
                })
                .collect();
            output::table(
                &["TENANT", "NAME", "CREATED", "CREDENTIALS", "SOURCES"],
                &rows,
            )?;
        }
    }
    Ok(())
}

fn sources_text(sources: TenantSources) -> String {
    let on: Vec<&str> = [
        (sources.activity_feed, "activity-feed"),
        (sources.signins, "signins"),
    ]
    .into_iter()
    .filter(|(on, _)| *on)
    .map(|(_, name)| name)
    .collect();
    if on.is_empty() {
        "none".to_owned()
    } else {
        on.join(", ")
    }
}

/// Runs a tenant command against the server.
pub(crate) async fn run(command: TenantCommand) -> anyhow::Result<()> {
    match command {
        TenantCommand::Add(args) => {
            let response = client(&args.remote.client)
                .await?
                .create_tenant(CreateTenantRequest {
                    tenant_id: args.tenant,
                    display_name: args.name,
                })
                .await?
                .into_inner();
            print(response.tenant.as_slice(), args.remote.format)
        }
        TenantCommand::List(args) => {
            let mut client = client(&args.remote.client).await?;
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
                tenants.extend(page.tenants);
                if page.next_page_token.is_empty() {
                    break;
                }
                page_token = page.next_page_token;
            }
            print(&tenants, args.remote.format)
        }
        TenantCommand::Show(args) => {
            let response = client(&args.remote.client)
                .await?
                .get_tenant(GetTenantRequest {
                    tenant_id: args.tenant().to_owned(),
                })
                .await?
                .into_inner();
            let warm_up = warm_up(&args.remote.client, args.tenant()).await;
            match (args.remote.format, warm_up) {
                (Format::Json, Some(warm_up)) => {
                    let mut tenants: Vec<serde_json::Value> =
                        response.tenant.iter().map(to_json).collect();
                    for tenant in &mut tenants {
                        tenant["warm_up"] = warm_up.clone();
                    }
                    Ok(output::json(&serde_json::Value::Array(tenants))?)
                }
                (Format::Table, Some(warm_up)) => {
                    print(response.tenant.as_slice(), args.remote.format)?;
                    Ok(output::line(&format!(
                        "warm-up: {} of {} users still learning (a user's baseline learns for at least {} active days over {} days before routine deviation can raise a finding)",
                        warm_up["learning_users"],
                        warm_up["users"],
                        tokenwatch_core::detect::baseline::LEARNING_ACTIVE_DAYS,
                        tokenwatch_core::detect::baseline::LEARNING_SPAN_DAYS,
                    ))?)
                }
                (format, None) => print(response.tenant.as_slice(), format),
            }
        }
        TenantCommand::Remove(args) => {
            client(&args.remote.client)
                .await?
                .delete_tenant(DeleteTenantRequest {
                    tenant_id: args.tenant().to_owned(),
                })
                .await?;
            output::line(&format!("removed tenant {}", args.tenant()))?;
            Ok(())
        }
        TenantCommand::Credentials(command) => credentials(command).await,
        TenantCommand::Sources(SourcesCommand::Set(args)) => {
            let on = |switch: Option<Switch>| switch.map(|s| s == Switch::On);
            let sources = client(&args.remote.client)
                .await?
                .set_tenant_sources(SetTenantSourcesRequest {
                    tenant_id: args.tenant.clone(),
                    activity_feed: on(args.activity_feed),
                    signins: on(args.signins),
                })
                .await?
                .into_inner()
                .sources
                .unwrap_or_default();
            match args.remote.format {
                Format::Json => output::json(&serde_json::json!({
                    "tenant_id": args.tenant,
                    "activity_feed": sources.activity_feed,
                    "signins": sources.signins,
                }))?,
                Format::Table => output::line(&format!(
                    "tenant {}: pulling {}",
                    args.tenant,
                    sources_text(sources)
                ))?,
            }
            Ok(())
        }
        TenantCommand::Test(args) => {
            let response = client(&args.remote.client)
                .await?
                .test_tenant_connection(TestTenantConnectionRequest {
                    tenant_id: args.tenant().to_owned(),
                })
                .await?
                .into_inner();
            match args.remote.format {
                Format::Json => output::json(&serde_json::json!({
                    "tenant_id": args.tenant(),
                    "ok": response.ok,
                    "checks": response.checks.iter().map(|c| serde_json::json!({
                        "name": c.name, "ok": c.ok, "detail": c.detail,
                    })).collect::<Vec<_>>(),
                }))?,
                Format::Table => {
                    let rows: Vec<Vec<String>> = response
                        .checks
                        .iter()
                        .map(|c| {
                            vec![
                                c.name.clone(),
                                if c.ok { "ok" } else { "FAILED" }.to_owned(),
                                c.detail.clone(),
                            ]
                        })
                        .collect();
                    output::table(&["CHECK", "RESULT", "DETAIL"], &rows)?;
                }
            }
            if !response.ok {
                anyhow::bail!("tenant {}: some checks failed", args.tenant());
            }
            Ok(())
        }
    }
}

async fn credentials(command: CredentialsCommand) -> anyhow::Result<()> {
    use tokenwatch_proto::response::v1::response_service_client::ResponseServiceClient;
    use tokenwatch_proto::response::v1::{
        DeleteGraphCredentialsRequest, SetGraphCredentialsRequest, set_graph_credentials_request,
    };
    let connect = async |config: &ClientConfig| {
        anyhow::Ok(ResponseServiceClient::new(
            crate::commands::connect(config).await?,
        ))
    };
    match command {
        CredentialsCommand::Set(args) => {
            let secret = match (&args.client_secret_env, &args.certificate_file) {
                (Some(variable), _) => set_graph_credentials_request::Secret::ClientSecret(
                    std::env::var(variable).map_err(|_| {
                        anyhow::anyhow!(
                            "the environment variable {variable} (--client-secret-env) is not set"
                        )
                    })?,
                ),
                (None, Some(path)) => set_graph_credentials_request::Secret::CertificatePem(
                    std::fs::read_to_string(path).map_err(|e| {
                        anyhow::anyhow!("cannot read {} (--certificate-file): {e}", path.display())
                    })?,
                ),
                (None, None) => anyhow::bail!("give --client-secret-env or --certificate-file"),
            };
            let response = connect(&args.client)
                .await?
                .set_graph_credentials(SetGraphCredentialsRequest {
                    tenant_id: args.tenant.clone(),
                    client_id: args.client_id,
                    secret: Some(secret),
                })
                .await?
                .into_inner();
            let time = response
                .update_time
                .as_ref()
                .and_then(tokenwatch_proto::from_timestamp)
                .map(|t| t.to_rfc3339())
                .unwrap_or_default();
            output::line(&format!(
                "credentials set for tenant {} at {time}",
                args.tenant
            ))?;
        }
        CredentialsCommand::Delete(args) => {
            connect(&args.client)
                .await?
                .delete_graph_credentials(DeleteGraphCredentialsRequest {
                    tenant_id: args.tenant.clone(),
                })
                .await?;
            output::line(&format!("credentials deleted for tenant {}", args.tenant))?;
        }
    }
    Ok(())
}
