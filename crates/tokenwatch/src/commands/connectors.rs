//! `tokenwatch connectors status`: where the connectors are with each tenant's sources.

use clap::{Args, Subcommand};
use tokenwatch_proto::ingest::v1::ingest_service_client::IngestServiceClient;
use tokenwatch_proto::ingest::v1::*;

use crate::cli::{Format, Remote};
use crate::commands::findings::time;
use crate::output;

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

    #[command(flatten)]
    pub(crate) remote: Remote,
}

fn lag(source: &ConnectorSourceStatus) -> Option<i64> {
    source.lag.as_ref().map(|lag| lag.seconds)
}

/// `5m`, `3h`, `2d`: how far behind, for people.
fn lag_text(seconds: Option<i64>) -> String {
    match seconds {
        None => "-".to_owned(),
        Some(s) if s < 120 => format!("{s}s"),
        Some(s) if s < 7_200 => format!("{}m", s / 60),
        Some(s) if s < 172_800 => format!("{}h", s / 3_600),
        Some(s) => format!("{}d", s / 86_400),
    }
}

/// A switched-on source that is not working.
fn failing(source: &ConnectorSourceStatus) -> bool {
    let failed_last = match (&source.last_error_time, &source.last_success_time) {
        (Some(error), Some(success)) => {
            (error.seconds, error.nanos) > (success.seconds, success.nanos)
        }
        (Some(_), None) => true,
        _ => false,
    };
    source.enabled && (!source.healthy || failed_last)
}

fn to_json(s: &ConnectorSourceStatus) -> serde_json::Value {
    serde_json::json!({
        "tenant_id": s.tenant_id,
        "source": s.source,
        "enabled": s.enabled,
        "healthy": s.healthy,
        "checkpoint": time(&s.checkpoint),
        "lag_seconds": lag(s),
        "last_success_time": time(&s.last_success_time),
        "last_attempt_time": time(&s.last_attempt_time),
        "records_pulled": s.records_pulled,
        "records_new": s.records_new,
        "records_rejected": s.records_rejected,
        "throttled": s.throttled,
        "last_error": s.last_error,
        "last_error_time": time(&s.last_error_time),
        "tenant_error": s.tenant_error,
        "next_pull_time": time(&s.next_pull_time),
    })
}

/// `tokenwatch connectors ...`.
pub(crate) async fn run(command: ConnectorsCommand) -> anyhow::Result<()> {
    match command {
        ConnectorsCommand::Status(args) => {
            let mut client =
                IngestServiceClient::new(crate::commands::connect(&args.remote.client).await?);
            let sources = client
                .list_connector_status(ListConnectorStatusRequest {
                    tenant_id: args.tenant.clone(),
                })
                .await?
                .into_inner()
                .sources;
            match args.remote.format {
                Format::Json => output::json(&serde_json::Value::Array(
                    sources.iter().map(to_json).collect(),
                ))?,
                Format::Table => {
                    let rows: Vec<Vec<String>> = sources
                        .iter()
                        .map(|s| {
                            let state = match (s.enabled, s.healthy, failing(s)) {
                                (false, _, _) => "off",
                                (true, false, _) => "UNHEALTHY",
                                (true, true, true) => "FAILING",
                                (true, true, false) => "ok",
                            };
                            let error = if s.tenant_error.is_empty() {
                                s.last_error.clone()
                            } else {
                                s.tenant_error.clone()
                            };
                            vec![
                                s.tenant_id.clone(),
                                s.source.clone(),
                                state.to_owned(),
                                time(&s.last_success_time),
                                lag_text(lag(s)),
                                s.records_pulled.to_string(),
                                s.records_new.to_string(),
                                error,
                            ]
                        })
                        .collect();
                    output::table(
                        &[
                            "TENANT",
                            "SOURCE",
                            "STATE",
                            "LAST SUCCESS",
                            "LAG",
                            "PULLED",
                            "NEW",
                            "LAST ERROR",
                        ],
                        &rows,
                    )?;
                }
            }
            if let Some(bad) = sources.iter().find(|s| failing(s)) {
                anyhow::bail!(
                    "tenant {} is not pulling {}: {}",
                    bad.tenant_id,
                    bad.source,
                    if bad.tenant_error.is_empty() {
                        &bad.last_error
                    } else {
                        &bad.tenant_error
                    }
                );
            }
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lag_reads_in_the_unit_that_fits() {
        assert_eq!(lag_text(None), "-");
        assert_eq!(lag_text(Some(42)), "42s");
        assert_eq!(lag_text(Some(600)), "10m");
        assert_eq!(lag_text(Some(3 * 3_600)), "3h");
        assert_eq!(lag_text(Some(5 * 86_400)), "5d");
    }
}
