//! `tokenwatch eval`: session-level precision, recall, false positives per 1,000 user-days,
//! recall per attack kind, flagged look-alikes per kind and detection delay — for the engine's
//! findings and, with `--scan`, for the simple rules people use today.

//!
//! The measures and the experiment are `tokenwatch-eval`'s; this command reads the files and
//! prints.

use clap::Args;
use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use chrono::{DateTime, Utc};
use tokenwatch_core::detect::WeightSet;
use tokenwatch_eval::{
    Experiment, Flagged, Report, flagged_by, flagged_key, parse_labels, report, rules, user_days,
};

use crate::cli::Format;
use crate::output;

#[derive(Debug, Args)]
pub(crate) struct EvalArgs {
    /// Labels (labels.jsonl from `simulate`).
    #[arg(long)]
    pub(crate) labels: PathBuf,

    /// Findings to judge (`scan --format json` output).
    #[arg(conflicts_with = "scan")]
    pub(crate) findings: Option<PathBuf>,

    /// Scan these files instead, and judge the simple rules on them too.
    #[arg(long, num_args = 1..)]
    pub(crate) scan: Vec<PathBuf>,

    /// Directory of the IP data.
    #[arg(long, env = "TOKENWATCH_IPDB")]
    pub(crate) ipdb: Option<PathBuf>,

    /// User-days to divide false positives by (default: counted from the events or meta.json).
    #[arg(long)]
    pub(crate) user_days: Option<f64>,

    /// With --scan: the feedback experiment. Analysts' verdicts (from the labels) on the first
    /// week of findings tune each tenant's weights; the following week is scored with and
    /// without them.
    #[arg(long, requires = "scan")]
    pub(crate) feedback: bool,

    /// Score threshold to run with (default: the weight set's).
    #[arg(long)]
    pub(crate) threshold: Option<f64>,

    #[arg(long, value_enum, default_value = "table")]
    pub(crate) format: Format,
}

/// Evaluates and prints.
pub(crate) fn run(args: EvalArgs) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(&args.labels)
        .with_context(|| format!("cannot read {}", args.labels.display()))?;
    let (labels, labelled_user_days) = parse_labels(&text)?;
    let args = EvalArgs {
        user_days: args.user_days.or(labelled_user_days),
        ..args
    };

    let mut reports = Vec::new();
    if args.scan.is_empty() {
        let path = args
            .findings
            .context("give a findings file (scan --format json) or --scan FILES")?;
        let findings: Vec<serde_json::Value> = serde_json::from_slice(&std::fs::read(&path)?)?;
        let mut flagged = Flagged::new();
        for f in &findings {
            let key = flagged_key(
                f["tenant_id"].as_str().unwrap_or_default(),
                f["session_id"].as_str().unwrap_or_default(),
            );
            let at = f["detected_at"]
                .as_str()
                .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
                .map(|t| t.with_timezone(&Utc))
                .unwrap_or_default();
            flagged.insert(key, at);
        }
        let meta_days = args
            .labels
            .parent()
            .map(|dir| dir.join("meta.json"))
            .and_then(|p| std::fs::read(p).ok())
            .and_then(|m| serde_json::from_slice::<tokenwatch_simulate::Meta>(&m).ok())
            .map_or(0.0, |m| (m.users * m.days) as f64);
        reports.push(report(
            "tokenwatch",
            &flagged,
            &labels,
            args.user_days.unwrap_or(meta_days),
        ));
    } else {
        let (events, _) =
            crate::commands::scan::load_events(&args.scan, args.ipdb.as_deref(), "unknown")?;
        let mut weights = WeightSet::default();
        if let Some(threshold) = args.threshold {
            anyhow::ensure!(threshold > 0.0, "--threshold must be above 0");
            weights.threshold = threshold;
        }
        if args.feedback {
            let Experiment { reports, lessons } =
                tokenwatch_eval::experiment(events, &labels, &weights)?;
            let mut err = std::io::stderr().lock();
            for lesson in &lessons {
                for (target, value, user) in &lesson.suppressions {
                    writeln!(
                        err,
                        "tenant {}: suppress {target} {value} for {} (30 days)",
                        lesson.tenant,
                        user.as_deref().unwrap_or("every user")
                    )?;
                }
                if !lesson.weight_changes.is_empty() {
                    let changes: Vec<String> = lesson
                        .weight_changes
                        .iter()
                        .map(|(feature, before, after)| format!("{feature} {before:.2}→{after:.2}"))
                        .collect();
                    writeln!(
                        err,
                        "tenant {}: {} verdicts ({} false positives) in week 1 → {}",
                        lesson.tenant,
                        lesson.verdicts,
                        lesson.false_positives,
                        changes.join(", ")
                    )?;
                }
            }
            drop(err);
            return print(&reports, args.format);
        }
        let days = args.user_days.unwrap_or_else(|| user_days(&events));
        let (many_ips, many_places) = rules(&events);
        let findings = tokenwatch_core::detect::run(events, weights);
        reports.push(report("tokenwatch", &flagged_by(&findings), &labels, days));
        reports.push(report("rule: session from >1 IP", &many_ips, &labels, days));
        reports.push(report(
            "rule: session from >1 ASN or country",
            &many_places,
            &labels,
            days,
        ));
    }

    print(&reports, args.format)
}

fn print(reports: &[Report], format: Format) -> anyhow::Result<()> {
    match format {
        Format::Json => output::json(&serde_json::to_value(reports)?)?,
        Format::Table => {
            let rows: Vec<Vec<String>> = reports
                .iter()
                .map(|r| {
                    let minutes = |m: Option<f64>| m.map_or("-".to_owned(), |m| format!("{m:.0}"));
                    vec![
                        r.detector.clone(),
                        format!("{:.3}", r.precision),
                        format!("{:.3}", r.recall),
                        format!("{:.2}", r.false_positives_per_1000_user_days),
                        format!(
                            "{} / {}",
                            minutes(r.delay_minutes_median),
                            minutes(r.delay_minutes_p95)
                        ),
                        r.recall_by_attack
                            .iter()
                            .map(|(k, v)| format!("{k} {v}"))
                            .collect::<Vec<_>>()
                            .join(", "),
                        r.flagged_lookalikes
                            .iter()
                            .map(|(k, v)| format!("{k} {v}"))
                            .collect::<Vec<_>>()
                            .join(", "),
                    ]
                })
                .collect();
            output::table(
                &[
                    "DETECTOR",
                    "PRECISION",
                    "RECALL",
                    "FP/1000 USER-DAYS",
                    "DELAY MIN MED/P95",
                    "RECALL BY ATTACK",
                    "FLAGGED LOOK-ALIKES",
                ],
                &rows,
            )?;
        }
    }
    Ok(())
}
