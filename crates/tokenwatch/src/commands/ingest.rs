//! `tokenwatch ingest`: sends export files to a server, in pieces on record boundaries, and
//! prints what became of every record.

use clap::{Args, ValueEnum};
use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};
use std::path::Path;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use tokenwatch_proto::Code;
use tokenwatch_proto::ingest::v1::ingest_service_client::IngestServiceClient;
use tokenwatch_proto::ingest::v1::{Document, IngestBatchRequest, IngestSummary, SourceFormat};

use crate::cli::{Format, Remote};
use crate::output;

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
    pub(crate) files: Vec<PathBuf>,

    /// The files' format; recognized per record when auto.
    #[arg(long, value_enum, default_value = "auto")]
    pub(crate) source_format: IngestFormat,

    #[command(flatten)]
    pub(crate) remote: Remote,
}

/// Largest piece sent at once; the server accepts up to 64 MiB.
const CHUNK_BYTES: usize = 16 * 1024 * 1024;
/// Attempts per piece when the server asks to slow down or is briefly unavailable.
const ATTEMPTS: u32 = 8;

/// Totals across every file.
#[derive(Debug, Default)]
struct Totals {
    accepted: i64,
    duplicates: i64,
    rejected: i64,
    rejected_by_reason: BTreeMap<String, i64>,
}

impl Totals {
    fn add(&mut self, summary: &IngestSummary) {
        self.accepted += summary.accepted;
        self.duplicates += summary.duplicates;
        self.rejected += summary.rejected;
        for (reason, count) in &summary.rejected_by_reason {
            *self.rejected_by_reason.entry(reason.clone()).or_default() += count;
        }
    }
}

fn source_format(format: IngestFormat) -> SourceFormat {
    match format {
        IngestFormat::Auto => SourceFormat::Unspecified,
        IngestFormat::ManagementActivity => SourceFormat::ManagementActivity,
        IngestFormat::PurviewCsv => SourceFormat::PurviewCsv,
        IngestFormat::GraphSignins => SourceFormat::GraphSignins,
        IngestFormat::Sentinel => SourceFormat::Sentinel,
        IngestFormat::AzureMonitor => SourceFormat::AzureMonitor,
    }
}

/// How long the server asked to wait ("retry in 1.5 s"), else an exponential backoff.
fn backoff(message: &str, attempt: u32) -> Duration {
    let asked = message
        .split("retry in ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|seconds| seconds.parse::<f64>().ok());
    match asked {
        Some(seconds) => Duration::from_secs_f64(seconds.clamp(0.1, 60.0)),
        None => Duration::from_millis(250 * 2u64.pow(attempt.min(7))),
    }
}

/// Ingests the files; returns whether any record was rejected.
pub(crate) async fn run(args: IngestArgs) -> anyhow::Result<bool> {
    let channel = crate::commands::connect(&args.remote.client).await?;
    let mut client = IngestServiceClient::new(channel).max_decoding_message_size(64 << 20);
    let format = source_format(args.source_format);
    let interactive = std::io::stderr().is_terminal();
    let mut totals = Totals::default();

    for path in &args.files {
        let content =
            std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
        let chunks = tokenwatch_core::parse::chunk_document(&content, CHUNK_BYTES);
        let mut file = Totals::default();
        for (index, chunk) in chunks.into_iter().enumerate() {
            let summary = send(&mut client, &args.tenant, format, path, chunk).await?;
            file.add(&summary);
            totals.add(&summary);
            if interactive {
                progress(path, index + 1, &file, false)?;
            }
        }
        progress(path, 0, &file, true)?;
    }

    match args.remote.format {
        Format::Json => output::json(&serde_json::json!({
            "accepted": totals.accepted,
            "duplicates": totals.duplicates,
            "rejected": totals.rejected,
            "rejected_by_reason": totals.rejected_by_reason,
        }))?,
        Format::Table => {
            let mut rows = vec![
                vec!["accepted".to_owned(), totals.accepted.to_string()],
                vec!["duplicates".to_owned(), totals.duplicates.to_string()],
                vec!["rejected".to_owned(), totals.rejected.to_string()],
            ];
            rows.extend(
                totals
                    .rejected_by_reason
                    .iter()
                    .map(|(reason, count)| vec![format!("  {reason}"), count.to_string()]),
            );
            output::table(&["RECORDS", "COUNT"], &rows)?;
        }
    }
    Ok(totals.rejected > 0)
}

async fn send(
    client: &mut IngestServiceClient<tokenwatch_grpc::AuthedChannel>,
    tenant: &str,
    format: SourceFormat,
    path: &Path,
    content: Vec<u8>,
) -> anyhow::Result<IngestSummary> {
    let mut attempt = 0;
    loop {
        let request = IngestBatchRequest {
            tenant_id: tenant.to_owned(),
            document: Some(Document {
                format: format.into(),
                content: content.clone(),
                source_name: path.display().to_string(),
            }),
        };
        match client.ingest_batch(request).await {
            Ok(response) => return Ok(response.into_inner().summary.unwrap_or_default()),
            Err(status)
                if matches!(status.code(), Code::ResourceExhausted | Code::Unavailable)
                    && attempt + 1 < ATTEMPTS =>
            {
                // A piece the server refused was not stored; sending it again is safe.
                tokio::time::sleep(backoff(status.message(), attempt)).await;
                attempt += 1;
            }
            Err(status) => return Err(status.into()),
        }
    }
}

/// Progress on stderr: an updating line on a terminal, one line per file otherwise.
fn progress(path: &Path, pieces: usize, file: &Totals, done: bool) -> std::io::Result<()> {
    let mut err = std::io::stderr().lock();
    let counts = format!(
        "{} accepted, {} duplicates, {} rejected",
        file.accepted, file.duplicates, file.rejected
    );
    if done {
        if std::io::stderr().is_terminal() {
            write!(err, "\r\x1b[2K")?;
        }
        writeln!(err, "{}: {counts}", path.display())
    } else {
        write!(err, "\r\x1b[2K{}: piece {pieces}, {counts}", path.display())?;
        err.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_follows_the_server_or_grows() {
        let asked = backoff("tenant x is over its ingest rate; retry in 1.5 s", 0);
        assert_eq!(asked, Duration::from_millis(1500));
        assert_eq!(backoff("unavailable", 0), Duration::from_millis(250));
        assert_eq!(backoff("unavailable", 2), Duration::from_secs(1));
        assert_eq!(backoff("unavailable", 30), Duration::from_millis(250 * 128));
    }
}
