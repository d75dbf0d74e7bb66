//! `tokenwatch psa connect|show|test|companies|map|status`: the MSP's PSA (ConnectWise Manage,
//! Autotask or HaloPSA), each tenant's company in it, and the tickets tokenwatch keeps there.

use clap::{Args, Subcommand, ValueEnum};
use tokenwatch_config::ClientConfig;
use tokenwatch_proto::response::v1::response_service_client::ResponseServiceClient;
use tokenwatch_proto::response::v1::*;

use crate::cli::{Format, Remote, TenantArgs};
use crate::commands::findings::time;
use crate::commands::policy::name;
use crate::output;

#[derive(Debug, Subcommand)]
pub(crate) enum PsaCommand {
    /// Connect the MSP's PSA (replacing an earlier connection); the secret is read from the
    /// environment variable --secret-env names.
    Connect(Box<ConnectArgs>),
    /// Show the connection (never its secret).
    Show(ShowArgs),
    /// Call the PSA once for each thing tokenwatch needs and say what works.
    Test(ShowArgs),
    /// List the PSA's companies (clients), to map tenants to.
    Companies(CompaniesArgs),
    /// Map a tenant to a PSA company: its incidents' tickets open there from now on.
    Map(MapArgs),
    /// A tenant's mapping, delivery backlog, last error and tickets.
    Status(TenantArgs),
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum KindArg {
    Connectwise,
    Autotask,
    Halopsa,
}

#[derive(Debug, Args)]
pub(crate) struct ConnectArgs {
    /// Which PSA.
    #[arg(long, value_enum)]
    pub(crate) kind: KindArg,

    /// The API's base URL: ConnectWise's site (`https://api-na.myconnectwise.net`), Autotask's
    /// zone-discovery host (`https://webservices.autotask.net`), HaloPSA's resource server
    /// (`https://yourcompany.halopsa.com`).
    #[arg(long)]
    pub(crate) url: String,

    /// HaloPSA: the authorisation server (`https://yourcompany.halopsa.com/auth`).
    #[arg(long)]
    pub(crate) auth_url: Option<String>,

    /// ConnectWise: the company id you sign in with.
    #[arg(long)]
    pub(crate) company_id: Option<String>,

    /// ConnectWise: the API member's public key.
    #[arg(long)]
    pub(crate) public_key: Option<String>,

    /// ConnectWise: the integration's clientId; HaloPSA: the API application's client id.
    #[arg(long)]
    pub(crate) client_id: Option<String>,

    /// Autotask: the API user's username.
    #[arg(long)]
    pub(crate) username: Option<String>,

    /// Autotask: the API tracking identifier.
    #[arg(long)]
    pub(crate) integration_code: Option<String>,

    /// Name of the environment variable holding the private key (ConnectWise), secret
    /// (Autotask) or client secret (HaloPSA).
    #[arg(long)]
    pub(crate) secret_env: String,

    /// Incidents below this open no ticket.
    #[arg(long, value_name = "low|medium|high|critical", default_value = "high")]
    pub(crate) min_severity: tokenwatch_types::Severity,

    /// ConnectWise board name, Autotask queue id, HaloPSA team (default: ConnectWise's
    /// "Service Board"; the PSA's default queue or team elsewhere).
    #[arg(long)]
    pub(crate) board: Option<String>,

    /// ConnectWise type name, Autotask ticket type number, HaloPSA ticket type id.
    #[arg(long)]
    pub(crate) ticket_type: Option<String>,

    /// The status of a new ticket (ConnectWise "New", Autotask 1, HaloPSA 1).
    #[arg(long)]
    pub(crate) new_status: Option<String>,

    /// The status set when every finding has its verdict (ConnectWise ">Closed", Autotask 5,
    /// HaloPSA 9).
    #[arg(long)]
    pub(crate) closed_status: Option<String>,

    /// A priority per severity, repeatable: --priority critical="Priority 1 - Emergency
    /// Response" (the PSA's stock priorities by default).
    #[arg(long, value_name = "SEVERITY=PRIORITY")]
    pub(crate) priority: Vec<String>,

    #[command(flatten)]
    pub(crate) remote: Remote,
}

#[derive(Debug, Args)]
pub(crate) struct ShowArgs {
    #[command(flatten)]
    pub(crate) remote: Remote,
}

#[derive(Debug, Args)]
pub(crate) struct CompaniesArgs {
    /// Only companies whose name contains this.
    #[arg(long, default_value = "")]
    pub(crate) search: String,

    /// At most this many.
    #[arg(long, default_value_t = 50)]
    pub(crate) limit: i32,

    #[command(flatten)]
    pub(crate) remote: Remote,
}

#[derive(Debug, Args)]
pub(crate) struct MapArgs {
    #[arg(long)]
    pub(crate) tenant: String,

    /// The PSA company's id (`tokenwatch psa companies` lists them).
    #[arg(long)]
    pub(crate) company: String,

    #[command(flatten)]
    pub(crate) remote: Remote,
}

async fn client(
    config: &ClientConfig,
) -> anyhow::Result<ResponseServiceClient<tokenwatch_grpc::AuthedChannel>> {
    Ok(ResponseServiceClient::new(
        crate::commands::connect(config).await?,
    ))
}

/// `tokenwatch psa ...`.
pub(crate) async fn run(command: PsaCommand) -> anyhow::Result<()> {
    match command {
        PsaCommand::Connect(args) => connect(*args).await,
        PsaCommand::Show(args) => {
            let connection = client(&args.remote.client)
                .await?
                .get_psa_connection(GetPsaConnectionRequest {})
                .await?
                .into_inner()
                .connection
                .ok_or_else(|| anyhow::anyhow!("no PSA is connected (tokenwatch psa connect)"))?;
            print_connection(&connection, args.remote.format)
        }
        PsaCommand::Test(args) => {
            let response = client(&args.remote.client)
                .await?
                .test_psa_connection(TestPsaConnectionRequest {})
                .await?
                .into_inner();
            match args.remote.format {
                Format::Json => output::json(&serde_json::json!({
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
                anyhow::bail!("the PSA connection: some checks failed");
            }
            Ok(())
        }
        PsaCommand::Companies(args) => {
            let companies = client(&args.remote.client)
                .await?
                .list_psa_companies(ListPsaCompaniesRequest {
                    search: args.search,
                    page_size: args.limit,
                })
                .await?
                .into_inner()
                .companies;
            match args.remote.format {
                Format::Json => output::json(
                    &companies
                        .iter()
                        .map(|c| serde_json::json!({"id": c.company_id, "name": c.name}))
                        .collect(),
                )?,
                Format::Table => {
                    let rows: Vec<Vec<String>> = companies
                        .iter()
                        .map(|c| vec![c.company_id.clone(), c.name.clone()])
                        .collect();
                    output::table(&["ID", "NAME"], &rows)?;
                }
            }
            Ok(())
        }
        PsaCommand::Map(args) => {
            let mapping = client(&args.remote.client)
                .await?
                .map_psa_company(MapPsaCompanyRequest {
                    tenant_id: args.tenant,
                    company_id: args.company,
                })
                .await?
                .into_inner()
                .mapping
                .unwrap_or_default();
            match args.remote.format {
                Format::Json => output::json(&mapping_json(&mapping))?,
                Format::Table => output::line(&format!(
                    "tenant {} → company {} ({}): tickets open there from now on",
                    mapping.tenant_id, mapping.company_id, mapping.company_name
                ))?,
            }
            Ok(())
        }
        PsaCommand::Status(args) => {
            let status = client(&args.remote.client)
                .await?
                .get_psa_status(GetPsaStatusRequest {
                    tenant_id: args.tenant.clone(),
                })
                .await?
                .into_inner();
            print_status(&args.tenant, &status, args.remote.format)
        }
    }
}

async fn connect(args: ConnectArgs) -> anyhow::Result<()> {
    let secret = std::env::var(&args.secret_env).map_err(|_| {
        anyhow::anyhow!(
            "the environment variable {} (--secret-env) is not set",
            args.secret_env
        )
    })?;
    let mut priorities = std::collections::HashMap::new();
    for pair in &args.priority {
        let (severity, priority) = pair.split_once('=').ok_or_else(|| {
            anyhow::anyhow!("--priority {pair:?}: give SEVERITY=PRIORITY, e.g. high=2")
        })?;
        priorities.insert(severity.trim().to_owned(), priority.trim().to_owned());
    }
    let text = |value: Option<String>| value.unwrap_or_default();
    let connection = PsaConnection {
        kind: match args.kind {
            KindArg::Connectwise => PsaKind::Connectwise,
            KindArg::Autotask => PsaKind::Autotask,
            KindArg::Halopsa => PsaKind::Halopsa,
        }
        .into(),
        url: args.url,
        auth_url: text(args.auth_url),
        company_id: text(args.company_id),
        public_key: text(args.public_key),
        client_id: text(args.client_id),
        username: text(args.username),
        integration_code: text(args.integration_code),
        tickets: Some(PsaTicketSettings {
            min_severity: tokenwatch_proto::severity_to_proto(args.min_severity).into(),
            board: text(args.board),
            ticket_type: text(args.ticket_type),
            new_status: text(args.new_status),
            closed_status: text(args.closed_status),
            priorities,
        }),
        ..PsaConnection::default()
    };
    let connection = client(&args.remote.client)
        .await?
        .set_psa_connection(SetPsaConnectionRequest {
            connection: Some(connection),
            secret,
        })
        .await?
        .into_inner()
        .connection
        .unwrap_or_default();
    print_connection(&connection, args.remote.format)
}

fn connection_json(c: &PsaConnection) -> serde_json::Value {
    let tickets = c.tickets.clone().unwrap_or_default();
    serde_json::json!({
        "kind": name(c.kind()),
        "url": c.url,
        "auth_url": c.auth_url,
        "company_id": c.company_id,
        "public_key": c.public_key,
        "client_id": c.client_id,
        "username": c.username,
        "integration_code": c.integration_code,
        "min_severity": name(tickets.min_severity()),
        "board": tickets.board,
        "ticket_type": tickets.ticket_type,
        "new_status": tickets.new_status,
        "closed_status": tickets.closed_status,
        "priorities": tickets.priorities.iter().collect::<std::collections::BTreeMap<_, _>>(),
        "updated_by": c.updated_by,
        "update_time": time(&c.update_time),
    })
}

fn print_connection(c: &PsaConnection, format: Format) -> anyhow::Result<()> {
    let json = connection_json(c);
    match format {
        Format::Json => Ok(output::json(&json)?),
        Format::Table => {
            let rows: Vec<Vec<String>> = json
                .as_object()
                .into_iter()
                .flatten()
                .filter(|(_, v)| !(v.is_null() || v.as_str() == Some("")))
                .map(|(k, v)| {
                    vec![
                        k.clone(),
                        v.as_str().map_or_else(|| v.to_string(), str::to_owned),
                    ]
                })
                .collect();
            Ok(output::table(&["SETTING", "VALUE"], &rows)?)
        }
    }
}

fn mapping_json(m: &PsaCompanyMapping) -> serde_json::Value {
    serde_json::json!({
        "tenant_id": m.tenant_id,
        "company_id": m.company_id,
        "company_name": m.company_name,
        "mapped_by": m.mapped_by,
        "map_time": time(&m.map_time),
    })
}

fn print_status(tenant: &str, s: &GetPsaStatusResponse, format: Format) -> anyhow::Result<()> {
    let tickets: Vec<serde_json::Value> = s
        .tickets
        .iter()
        .map(|t| {
            serde_json::json!({
                "incident_id": t.incident_id, "ticket_id": t.ticket_id,
                "ticket_number": t.ticket_number, "company_id": t.company_id,
                "state": t.state, "severity": name(t.severity()),
                "create_time": time(&t.create_time), "update_time": time(&t.update_time),
            })
        })
        .collect();
    match format {
        Format::Json => Ok(output::json(&serde_json::json!({
            "tenant_id": tenant,
            "mapping": s.mapping.as_ref().map(mapping_json),
            "backlog": s.backlog,
            "last_error": s.last_error,
            "next_attempt_time": time(&s.next_attempt_time),
            "tickets": tickets,
        }))?),
        Format::Table => {
            match &s.mapping {
                Some(m) => output::line(&format!(
                    "company {} ({}); {} event(s) waiting{}",
                    m.company_id,
                    m.company_name,
                    s.backlog,
                    if s.last_error.is_empty() {
                        String::new()
                    } else {
                        format!("; last error: {}", s.last_error)
                    }
                ))?,
                None => output::line("not mapped to a PSA company (tokenwatch psa map)")?,
            }
            let rows: Vec<Vec<String>> = s
                .tickets
                .iter()
                .map(|t| {
                    vec![
                        t.ticket_number.clone(),
                        t.state.clone(),
                        name(t.severity()),
                        t.incident_id.clone(),
                        time(&t.create_time),
                    ]
                })
                .collect();
            Ok(output::table(
                &["TICKET", "STATE", "SEVERITY", "INCIDENT", "OPENED"],
                &rows,
            )?)
        }
    }
}
