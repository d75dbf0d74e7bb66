//! `tokenwatch findings list|show|watch`: the findings of a running server. JSON output is the
//! object `tokenwatch scan --format json` prints for a finding, plus its `id` and `status`.

use clap::{Args, Subcommand};
use tokenwatch_config::ClientConfig;
use tokenwatch_grpc::AuthedChannel;
use tokenwatch_proto::detection::v1::detection_service_client::DetectionServiceClient;
use tokenwatch_proto::detection::v1::*;
use tokenwatch_types::{FindingStatus, Severity};

use crate::cli::{Format, Remote};
use crate::output;

#[derive(Debug, Subcommand)]
pub(crate) enum FindingsCommand {
    /// List findings, newest activity first, following every page (or up to --limit).
    List(FindingsListArgs),
    /// Show one finding with its evidence and status history.
    Show(FindingsShowArgs),
    /// Follow new, escalated and re-triaged findings live, until interrupted (table: one line
    /// per change; json: one JSON object per line).
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
    #[arg(long, value_name = "low|medium|high|critical")]
    pub(crate) min_severity: Option<Severity>,

    /// Only findings in these statuses (repeat for several).
    #[arg(
        long,
        value_name = "open|acknowledged|true-positive|false-positive|benign"
    )]
    pub(crate) status: Vec<FindingStatus>,

    /// At most this many findings.
    #[arg(long)]
    pub(crate) limit: Option<usize>,

    #[command(flatten)]
    pub(crate) remote: Remote,
}

#[derive(Debug, Args)]
pub(crate) struct FindingsShowArgs {
    /// The finding's id.
    pub(crate) finding: String,

    /// Its tenant; looked up among the token's tenants when omitted.
    #[arg(long)]
    pub(crate) tenant: Option<String>,

    #[command(flatten)]
    pub(crate) remote: Remote,
}

#[derive(Debug, Args)]
pub(crate) struct FindingsWatchArgs {
    /// One tenant; every tenant the token may act for when omitted.
    #[arg(long)]
    pub(crate) tenant: Option<String>,

    /// Only findings at or above this severity.
    #[arg(long, value_name = "low|medium|high|critical")]
    pub(crate) min_severity: Option<Severity>,

    #[command(flatten)]
    pub(crate) remote: Remote,
}

pub(crate) type Client = DetectionServiceClient<AuthedChannel>;

async fn client(config: &ClientConfig) -> anyhow::Result<Client> {
    let channel = crate::commands::connect(config).await?;
    Ok(DetectionServiceClient::new(channel).max_decoding_message_size(64 * 1024 * 1024))
}

/// A minimum severity on the wire: UNSPECIFIED (every severity) when none is given.
fn min_severity(min: Option<Severity>) -> i32 {
    min.map_or(0, |min| tokenwatch_proto::severity_to_proto(min) as i32)
}

fn status_name(status: i32) -> &'static str {
    tokenwatch_proto::finding_status_from_proto(status).map_or("unspecified", FindingStatus::as_str)
}

/// The scan's JSON object for the finding, plus `id` and `status`.
fn to_json(finding: &Finding) -> serde_json::Value {
    let mut value: serde_json::Value =
        serde_json::from_str(&finding.explanation_json).unwrap_or_else(|_| serde_json::json!({}));
    if let Some(object) = value.as_object_mut() {
        object.insert("id".to_owned(), finding.finding_id.clone().into());
        object.insert("status".to_owned(), status_name(finding.status).into());
    }
    value
}

pub(crate) fn time(t: &Option<tokenwatch_proto::prost_types::Timestamp>) -> String {
    t.as_ref()
        .and_then(tokenwatch_proto::from_timestamp)
        .map(|t| t.format("%Y-%m-%d %H:%M").to_string())
        .unwrap_or_default()
}

fn severity_name(finding: &Finding) -> &'static str {
    tokenwatch_proto::severity_from_proto(finding.severity).map_or("unspecified", Severity::as_str)
}

fn row(finding: &Finding) -> Vec<String> {
    let top: Vec<&str> = finding
        .contributions
        .iter()
        .take(3)
        .map(|c| c.feature.as_str())
        .collect();
    vec![
        finding.finding_id.clone(),
        severity_name(finding).to_owned(),
        format!("{:.2}", finding.score),
        status_name(finding.status).to_owned(),
        finding.user_id.clone(),
        time(&finding.last_seen_time),
        top.join(", "),
    ]
}

const HEADER: [&str; 7] = [
    "ID",
    "SEVERITY",
    "SCORE",
    "STATUS",
    "USER",
    "LAST SEEN",
    "TOP REASONS",
];

/// Runs a findings command against the server.
pub(crate) async fn run(command: FindingsCommand) -> anyhow::Result<()> {
    match command {
        FindingsCommand::List(args) => {
            let mut client = client(&args.remote.client).await?;
            let findings = list(
                &mut client,
                ListFindingsRequest {
                    tenant_id: args.tenant.clone().unwrap_or_default(),
                    user_id: args.user.clone().unwrap_or_default(),
                    min_severity: min_severity(args.min_severity),
                    statuses: args
                        .status
                        .iter()
                        .map(|s| tokenwatch_proto::finding_status_to_proto(*s) as i32)
                        .collect(),
                    ..Default::default()
                },
                args.limit,
            )
            .await?;
            match args.remote.format {
                Format::Json => output::json(&serde_json::Value::Array(
                    findings.iter().map(to_json).collect(),
                ))?,
                Format::Table => {
                    output::table(&HEADER, &findings.iter().map(row).collect::<Vec<_>>())?;
                }
            }
            Ok(())
        }
        FindingsCommand::Show(args) => {
            let mut client = client(&args.remote.client).await?;
            let tenant = match args.tenant.clone() {
                Some(tenant) => tenant,
                None => find_tenant(&mut client, &args.finding).await?,
            };
            let shown = client
                .get_finding(GetFindingRequest {
                    tenant_id: tenant,
                    finding_id: args.finding.clone(),
                })
                .await?
                .into_inner();
            let finding = shown
                .finding
                .ok_or_else(|| anyhow::anyhow!("the server answered without a finding"))?;
            match args.remote.format {
                Format::Json => output::json(&to_json(&finding))?,
                Format::Table => show_table(&finding, &shown.history, &shown.evidence)?,
            }
            Ok(())
        }
        FindingsCommand::Watch(args) => {
            let mut client = client(&args.remote.client).await?;
            let request = WatchFindingsRequest {
                tenant_id: args.tenant.clone().unwrap_or_default(),
                min_severity: min_severity(args.min_severity),
            };
            let mut stream = client.watch_findings(request.clone()).await?.into_inner();
            if matches!(args.remote.format, Format::Table) {
                output::line("watching for findings (Ctrl-C to stop)")?;
            }
            let mut retry = WATCH_RETRY_FIRST;
            loop {
                let item = match stream.message().await {
                    Ok(Some(item)) => item,
                    // The server ends every stream at its maximum connection age (30 minutes),
                    // and when it restarts: watch again, as long as the failure is transient.
                    Ok(None) => {
                        stream = rewatch(&mut client, &request, &mut retry).await?;
                        continue;
                    }
                    Err(status) if transient(&status) => {
                        stream = rewatch(&mut client, &request, &mut retry).await?;
                        continue;
                    }
                    Err(status) => return Err(status.into()),
                };
                retry = WATCH_RETRY_FIRST;
                let Some(finding) = &item.finding else {
                    continue;
                };
                let change = format!("{:?}", item.change()).to_lowercase();
                match args.remote.format {
                    Format::Json => {
                        let mut value = to_json(finding);
                        if let Some(object) = value.as_object_mut() {
                            object.insert("change".to_owned(), change.into());
                        }
                        output::line(&value.to_string())?;
                    }
                    Format::Table => {
                        let cells = row(finding);
                        output::line(&format!("{change:<15} {}", cells.join("  ")))?;
                    }
                }
            }
        }
    }
}

/// The first wait before watching again; it doubles up to [`WATCH_RETRY_MAX`] while the server
/// stays away.
const WATCH_RETRY_FIRST: std::time::Duration = std::time::Duration::from_millis(200);
const WATCH_RETRY_MAX: std::time::Duration = std::time::Duration::from_secs(30);

/// Failures a watch outlives: the connection went, or the server is (re)starting.
fn transient(status: &tonic::Status) -> bool {
    matches!(
        status.code(),
        tonic::Code::Unavailable | tonic::Code::Unknown | tonic::Code::Cancelled
    )
}

/// Opens the watch again once the stream has ended, after a wait that doubles while streams
/// keep ending without a finding (a server draining for shutdown ends each at once). Findings
/// committed between two streams are not replayed: `list` shows them.
async fn rewatch(
    client: &mut Client,
    request: &WatchFindingsRequest,
    retry: &mut std::time::Duration,
) -> anyhow::Result<tonic::Streaming<tokenwatch_proto::detection::v1::WatchFindingsResponse>> {
    loop {
        tracing::warn!(retry_in = ?retry, "the findings stream ended; watching again");
        tokio::time::sleep(*retry).await;
        *retry = (*retry * 2).min(WATCH_RETRY_MAX);
        match client.watch_findings(request.clone()).await {
            Ok(stream) => return Ok(stream.into_inner()),
            Err(status) if transient(&status) => continue,
            Err(status) => return Err(status.into()),
        }
    }
}

/// Every page, or the first `limit` findings.
async fn list(
    client: &mut Client,
    request: ListFindingsRequest,
    limit: Option<usize>,
) -> anyhow::Result<Vec<Finding>> {
    let mut findings = Vec::new();
    let mut request = request;
    loop {
        let wanted = limit.map(|l| l.saturating_sub(findings.len()));
        request.page_size = wanted.map_or(0, |w| i32::try_from(w.min(500)).unwrap_or(500));
        let page = client.list_findings(request.clone()).await?.into_inner();
        findings.extend(page.findings);
        if let Some(limit) = limit
            && findings.len() >= limit
        {
            findings.truncate(limit);
            return Ok(findings);
        }
        if page.next_page_token.is_empty() {
            return Ok(findings);
        }
        request.page_token = page.next_page_token;
    }
}

/// The tenant of a finding, among the token's tenants.
pub(crate) async fn find_tenant(client: &mut Client, finding_id: &str) -> anyhow::Result<String> {
    let all = list(client, ListFindingsRequest::default(), None).await?;
    all.into_iter()
        .find(|f| f.finding_id == finding_id)
        .map(|f| f.tenant_id)
        .ok_or_else(|| {
            anyhow::anyhow!("no finding {finding_id} in the tenants this token may act for")
        })
}

fn show_table(
    finding: &Finding,
    history: &[FindingStatusChange],
    evidence: &[EvidenceEvent],
) -> anyhow::Result<()> {
    output::line(&format!(
        "finding {}  tenant {}\nuser {}  session {}\n{} score {:.2} (threshold {:.2}), {}\nactive {} .. {}, detected at {}\n{}",
        finding.finding_id,
        finding.tenant_id,
        finding.user_id,
        finding.session_id,
        severity_name(finding).to_owned(),
        finding.score,
        finding.threshold,
        status_name(finding.status),
        time(&finding.first_seen_time),
        time(&finding.last_seen_time),
        time(&finding.detected_at),
        finding.summary,
    ))?;
    let learning = serde_json::from_str::<serde_json::Value>(&finding.explanation_json)
        .is_ok_and(|explanation| explanation["user_learning"] == true);
    if learning {
        output::line(
            "the user's baseline was still learning: raised on evidence that needs no baseline",
        )?;
    }
    output::line("")?;
    let reasons: Vec<Vec<String>> = finding
        .contributions
        .iter()
        .map(|c| {
            vec![
                c.feature.clone(),
                format!("{:.2}", c.value),
                format!("{:.2}", c.weight),
                format!("{:.2}", c.contribution),
                c.baseline.clone(),
            ]
        })
        .collect();
    output::table(
        &["FEATURE", "VALUE", "WEIGHT", "CONTRIBUTION", "BASELINE"],
        &reasons,
    )?;
    output::line("")?;
    let events: Vec<Vec<String>> = evidence
        .iter()
        .take(20)
        .map(|e| {
            vec![
                time(&e.event_time),
                e.operation.clone(),
                e.ip_address.clone(),
                if e.asn > 0 {
                    format!("AS{}", e.asn)
                } else {
                    String::new()
                },
                e.country.clone(),
            ]
        })
        .collect();
    output::table(&["TIME", "OPERATION", "IP", "ASN", "COUNTRY"], &events)?;
    if !history.is_empty() {
        output::line("")?;
        let changes: Vec<Vec<String>> = history
            .iter()
            .map(|h| {
                vec![
                    time(&h.change_time),
                    format!(
                        "{} -> {}",
                        status_name(h.from_status),
                        status_name(h.to_status)
                    ),
                    h.actor.clone(),
                    h.comment.clone(),
                ]
            })
            .collect();
        output::table(&["WHEN", "CHANGE", "WHO", "COMMENT"], &changes)?;
    }
    Ok(())
}
