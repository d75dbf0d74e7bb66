//! `tokenwatch verdict FINDING --label ...`: an analyst's judgement of a finding. Its status
//! moves, and the tenant's weights learn from it (unless pinned).

use clap::{Args, ValueEnum};
use tokenwatch_proto::common::v1::VerdictKind;
use tokenwatch_proto::detection::v1::detection_service_client::DetectionServiceClient;
use tokenwatch_proto::feedback::v1::SubmitVerdictRequest;
use tokenwatch_proto::feedback::v1::feedback_service_client::FeedbackServiceClient;

use crate::cli::{Format, Remote};
use crate::output;

#[derive(Debug, Args)]
pub(crate) struct VerdictArgs {
    /// The finding's id.
    pub(crate) finding: String,

    /// What the analyst found.
    #[arg(long, value_enum)]
    pub(crate) label: VerdictLabel,

    /// Why.
    #[arg(long, default_value = "")]
    pub(crate) comment: String,

    /// The finding's tenant; looked up among the token's tenants when omitted.
    #[arg(long)]
    pub(crate) tenant: Option<String>,

    #[command(flatten)]
    pub(crate) remote: Remote,
}

/// A verdict on the command line.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum VerdictLabel {
    /// An attack.
    TruePositive,
    /// Not an attack.
    FalsePositive,
    /// Real but expected (a known trip).
    Benign,
}

/// `tokenwatch verdict FINDING --label ...`.
pub(crate) async fn run(args: VerdictArgs) -> anyhow::Result<()> {
    let channel = crate::commands::connect(&args.remote.client).await?;
    let tenant = match args.tenant.clone() {
        Some(tenant) => tenant,
        None => {
            let mut findings = DetectionServiceClient::new(channel.clone());
            crate::commands::findings::find_tenant(&mut findings, &args.finding).await?
        }
    };
    let kind = match args.label {
        VerdictLabel::TruePositive => VerdictKind::TruePositive,
        VerdictLabel::FalsePositive => VerdictKind::FalsePositive,
        VerdictLabel::Benign => VerdictKind::BenignTruePositive,
    };
    let response = FeedbackServiceClient::new(channel)
        .submit_verdict(SubmitVerdictRequest {
            tenant_id: tenant,
            finding_id: args.finding.clone(),
            kind: kind.into(),
            comment: args.comment,
        })
        .await?
        .into_inner();
    let verdict = response.verdict.unwrap_or_default();
    let weights = response.weight_set.unwrap_or_default();
    match args.remote.format {
        Format::Json => output::json(&serde_json::json!({
            "verdict_id": verdict.verdict_id,
            "finding_id": verdict.finding_id,
            "label": format!("{:?}", verdict.kind()).to_lowercase(),
            "weight_version": weights.version,
            "findings_changed": response.findings_changed,
        }))?,
        Format::Table => output::line(&format!(
            "verdict {} recorded on finding {}; weights now version {} ({} open findings would change)",
            verdict.verdict_id, verdict.finding_id, weights.version, response.findings_changed
        ))?,
    }
    Ok(())
}
