//! `tokenwatch report --tenant T --month YYYY-MM --format pdf|html|json --out FILE`: a
//! tenant's monthly report for its customer.

use std::io::Write as _;

use clap::{Args, ValueEnum};
use tokenwatch_config::ClientConfig;
use tokenwatch_proto::tenant::v1::tenant_service_client::TenantServiceClient;
use tokenwatch_proto::tenant::v1::{GetMonthlyReportRequest, ReportFormat};

use crate::output;

#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum FormatArg {
    Pdf,
    Html,
    Json,
}

#[derive(Debug, Args)]
pub(crate) struct ReportArgs {
    #[arg(long)]
    pub(crate) tenant: String,

    /// The month, YYYY-MM.
    #[arg(long)]
    pub(crate) month: String,

    /// pdf for the customer, html for a browser or e-mail, json for the facts behind them.
    #[arg(long, value_enum, default_value = "pdf")]
    pub(crate) format: FormatArg,

    /// Where to write it ("-": standard output).
    #[arg(long)]
    pub(crate) out: String,

    #[command(flatten)]
    pub(crate) client: ClientConfig,
}

/// `tokenwatch report ...`.
pub(crate) async fn run(args: ReportArgs) -> anyhow::Result<()> {
    let channel = crate::commands::connect(&args.client).await?;
    let report = TenantServiceClient::new(channel)
        .max_decoding_message_size(64 << 20)
        .get_monthly_report(GetMonthlyReportRequest {
            tenant_id: args.tenant.clone(),
            month: args.month.clone(),
            format: match args.format {
                FormatArg::Pdf => ReportFormat::Pdf,
                FormatArg::Html => ReportFormat::Html,
                FormatArg::Json => ReportFormat::Json,
            }
            .into(),
        })
        .await?
        .into_inner();
    if args.out == "-" {
        std::io::stdout().write_all(&report.content)?;
        return Ok(());
    }
    std::fs::write(&args.out, &report.content)
        .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", args.out))?;
    output::line(&format!(
        "{} ({} bytes, {}) written: {}",
        args.out,
        report.content.len(),
        if report.kept {
            "the month's kept report"
        } else {
            "made now; the month is not over"
        },
        report.file_name
    ))?;
    Ok(())
}
