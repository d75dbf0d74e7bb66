//! `tokenwatch eval`: session-level precision, recall, false positives per 1,000 user-days,
//! recall per attack kind, flagged look-alikes per kind and detection delay — for the engine's
//! findings and, with `--scan`, for the simple rules people use today.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use anyhow::Context;
use chrono::{DateTime, Utc};
use tokenwatch_core::detect::WeightSet;
use tokenwatch_core::event::NormalizedEvent;
use tokenwatch_simulate::Label;

use crate::cli::{EvalArgs, Format};
use crate::output;

pub(crate) type Key = (String, String);

/// What a detector flagged: session → when it was first flagged.
pub(crate) type Flagged = HashMap<Key, DateTime<Utc>>;

#[derive(Debug, serde::Serialize)]
pub(crate) struct Report {
    detector: String,
    sessions_flagged: usize,
    true_positives: usize,
    false_positives: usize,
    precision: f64,
    recall: f64,
    false_positives_per_1000_user_days: f64,
    recall_by_attack: BTreeMap<String, String>,
    flagged_lookalikes: BTreeMap<String, String>,
    delay_minutes_median: Option<f64>,
    delay_minutes_p95: Option<f64>,
}

fn percentile(sorted: &[f64], p: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    Some(sorted[rank - 1])
}

pub(crate) fn report(name: &str, flagged: &Flagged, labels: &[Label], user_days: f64) -> Report {
    let attacks: HashMap<Key, &Label> = labels
        .iter()
        .filter(|l| l.label == "attack")
        .map(|l| ((l.tenant_id.clone(), l.session_id.clone()), l))
        .collect();
    let lookalikes: HashMap<Key, &Label> = labels
        .iter()
        .filter(|l| l.label != "attack")
        .map(|l| ((l.tenant_id.clone(), l.session_id.clone()), l))
        .collect();
    let tp = flagged.keys().filter(|k| attacks.contains_key(*k)).count();
    let fp = flagged.len() - tp;
    let mut by_attack: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    let mut delays = Vec::new();
    for (key, label) in &attacks {
        let entry = by_attack.entry(label.kind.clone()).or_default();
        entry.1 += 1;
        if let Some(at) = flagged.get(key) {
            entry.0 += 1;
            if let Some(start) = label.attack_start {
                delays.push(((*at - start).num_seconds() as f64 / 60.0).max(0.0));
            }
        }
    }
    let mut by_lookalike: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    for (key, label) in &lookalikes {
        let entry = by_lookalike.entry(label.kind.clone()).or_default();
        entry.1 += 1;
        entry.0 += usize::from(flagged.contains_key(key));
    }
    delays.sort_by(f64::total_cmp);
    let ratio = |(hit, all): (usize, usize)| format!("{hit}/{all}");
    Report {
        detector: name.to_owned(),
        sessions_flagged: flagged.len(),
        true_positives: tp,
        false_positives: fp,
        precision: if flagged.is_empty() {
            0.0
        } else {
            tp as f64 / flagged.len() as f64
        },
        recall: if attacks.is_empty() {
            0.0
        } else {
            tp as f64 / attacks.len() as f64
        },
        false_positives_per_1000_user_days: if user_days > 0.0 {
            fp as f64 * 1000.0 / user_days
        } else {
            0.0
        },
        recall_by_attack: by_attack.into_iter().map(|(k, v)| (k, ratio(v))).collect(),
        flagged_lookalikes: by_lookalike
            .into_iter()
            .map(|(k, v)| (k, ratio(v)))
            .collect(),
        delay_minutes_median: percentile(&delays, 0.5),
        delay_minutes_p95: percentile(&delays, 0.95),
    }
}

/// The two rules analysts run today, over the same events: a session seen from more than one
/// IP; a session seen from more than one ASN or country.
fn rules(events: &[(String, NormalizedEvent)]) -> (Flagged, Flagged) {
    let mut sorted: Vec<&(String, NormalizedEvent)> = events.iter().collect();
    sorted.sort_by_key(|(_, e)| e.event_time);
    let mut ips: HashMap<Key, BTreeSet<String>> = HashMap::new();
    let mut places: HashMap<Key, (BTreeSet<u32>, BTreeSet<String>)> = HashMap::new();
    let (mut many_ips, mut many_places) = (Flagged::new(), Flagged::new());
    for (tenant, event) in sorted {
        let Some(session) = event.session_id.clone() else {
            continue;
        };
        let key = flagged_key(tenant, &session);
        if let Some(ip) = event.ip {
            let seen = ips.entry(key.clone()).or_default();
            seen.insert(ip.to_string());
            if seen.len() > 1 {
                many_ips.entry(key.clone()).or_insert(event.event_time);
            }
        }
        let (asns, countries) = places.entry(key.clone()).or_default();
        asns.extend(event.network.asn);
        countries.extend(event.network.country.clone());
        if asns.len() > 1 || countries.len() > 1 {
            many_places.entry(key).or_insert(event.event_time);
        }
    }
    (many_ips, many_places)
}

pub(crate) fn user_days(events: &[(String, NormalizedEvent)]) -> f64 {
    let days: BTreeSet<(&str, &str, i64)> = events
        .iter()
        .map(|(t, e)| {
            (
                t.as_str(),
                e.user_id.as_str(),
                e.event_time.timestamp() / 86_400,
            )
        })
        .collect();
    days.len() as f64
}

/// The labels of a labelled set, in either layout: JSON lines as `tokenwatch simulate` writes
/// them, or one object `{"attacks": [...], "benign_tricky": [...], "stats": {"user_days"}}` as
/// the m365-sessions dataset keeps them. Returns the labels and the set's own user-days, if it
/// says. Session ids are compared case-insensitively (Entra writes them in either case), so
/// they are lower-cased here and in [`flagged_key`].
pub(crate) fn parse_labels(text: &str) -> anyhow::Result<(Vec<Label>, Option<f64>)> {
    #[derive(serde::Deserialize)]
    struct Dataset {
        attacks: Vec<DatasetLabel>,
        #[serde(default)]
        benign_tricky: Vec<DatasetLabel>,
        #[serde(default)]
        stats: Option<DatasetStats>,
    }
    #[derive(serde::Deserialize)]
    struct DatasetLabel {
        tenant_id: String,
        user: String,
        session_id: String,
        kind: String,
        #[serde(default)]
        attack_start: Option<DateTime<Utc>>,
    }
    #[derive(serde::Deserialize)]
    struct DatasetStats {
        user_days: Option<f64>,
    }
    let trimmed = text.trim_start();
    let is_dataset = trimmed.starts_with('{')
        && serde_json::from_str::<serde_json::Value>(trimmed)
            .is_ok_and(|v| v.get("attacks").is_some());
    let (mut labels, user_days) = if is_dataset {
        let set: Dataset = serde_json::from_str(trimmed)
            .context("labels.json must hold \"attacks\" and \"benign_tricky\" lists")?;
        let label = |l: DatasetLabel, label: &str| Label {
            tenant_id: l.tenant_id,
            user: l.user,
            session_id: l.session_id,
            label: label.to_owned(),
            kind: l.kind,
            attack_start: l.attack_start,
        };
        let mut labels: Vec<Label> = set
            .attacks
            .into_iter()
            .map(|l| label(l, "attack"))
            .collect();
        labels.extend(set.benign_tricky.into_iter().map(|l| label(l, "benign")));
        (labels, set.stats.and_then(|s| s.user_days))
    } else {
        let labels = text
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(serde_json::from_str)
            .collect::<Result<Vec<Label>, _>>()
            .context("labels must be JSON lines as `tokenwatch simulate` writes them, or a labels.json with \"attacks\"")?;
        (labels, None)
    };
    for label in &mut labels {
        label.tenant_id = label.tenant_id.to_ascii_lowercase();
        label.session_id = label.session_id.to_ascii_lowercase();
    }
    Ok((labels, user_days))
}

/// The key a flagged session is judged under: tenant and session id, lower-cased.
pub(crate) fn flagged_key(tenant_id: &str, session_id: &str) -> Key {
    (
        tenant_id.to_ascii_lowercase(),
        session_id.to_ascii_lowercase(),
    )
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
        let ipdb = crate::commands::scan::load_ipdb(args.ipdb.as_deref())?;
        let (events, _) = crate::commands::scan::load_events(&args.scan, ipdb.as_ref(), "unknown")?;
        let mut weights = WeightSet::default();
        if let Some(threshold) = args.threshold {
            anyhow::ensure!(threshold > 0.0, "--threshold must be above 0");
            weights.threshold = threshold;
        }
        if args.feedback {
            reports = crate::commands::feedback::experiment(events, &labels, &weights)?;
            return print(&reports, args.format);
        }
        let days = args.user_days.unwrap_or_else(|| user_days(&events));
        let (many_ips, many_places) = rules(&events);
        let findings = tokenwatch_core::detect::run(events, weights);
        let flagged: Flagged = findings
            .iter()
            .map(|f| (flagged_key(&f.tenant_id, &f.session_id), f.detected_at))
            .collect();
        reports.push(report("tokenwatch", &flagged, &labels, days));
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
