//! `tokenwatch eval --scan FILES --feedback`: do analysts' verdicts make the following week
//! better? The engine runs over the events with the given weights; every finding of the first
//! week of findings gets the verdict its label implies (an attack: true positive; a benign
//! look-alike or an unlabelled session: false positive); each tenant's weights learn from its
//! own verdicts (`detect::learn`), and from the end of that week on the tenant is scored with
//! them. Reported: the following week's findings with and without the learned weights.

use std::collections::HashMap;
use std::io::Write;

use chrono::Duration;
use tokenwatch_core::detect::learn::{Judged, Label as Verdict, LearnConfig, update};
use tokenwatch_core::detect::{Finding, TenantEngine, WeightSet};
use tokenwatch_core::event::NormalizedEvent;
use tokenwatch_simulate::Label;

use crate::commands::eval::{Flagged, Key, Report, report, user_days};

/// Runs the experiment; returns the two reports of the second week.
pub(crate) fn experiment(
    mut events: Vec<(String, NormalizedEvent)>,
    labels: &[Label],
    weights: &WeightSet,
) -> anyhow::Result<Vec<Report>> {
    tokenwatch_core::detect::engine_order(&mut events);

    let before = run(&events, |_, _| weights);
    let first = before
        .values()
        .map(|f| f.detected_at)
        .min()
        .ok_or_else(|| anyhow::anyhow!("no findings to give verdicts on"))?;
    let split = first + Duration::days(7);

    let attacks: HashMap<Key, &Label> = labels
        .iter()
        .filter(|l| l.label == "attack")
        .map(|l| ((l.tenant_id.clone(), l.session_id.clone()), l))
        .collect();
    let mut verdicts: HashMap<String, Vec<Judged>> = HashMap::new();
    let mut week_one: Vec<&Finding> = before.values().filter(|f| f.detected_at < split).collect();
    week_one.sort_by_key(|f| f.detected_at);
    for finding in week_one {
        let key = (finding.tenant_id.clone(), finding.session_id.clone());
        verdicts
            .entry(finding.tenant_id.clone())
            .or_default()
            .push(Judged {
                values: finding
                    .reasons
                    .iter()
                    .map(|r| (r.feature.clone(), r.value))
                    .collect(),
                label: if attacks.contains_key(&key) {
                    Verdict::TruePositive
                } else {
                    Verdict::FalsePositive
                },
            });
    }
    let prior = WeightSet {
        threshold: weights.threshold,
        ..WeightSet::default()
    };
    let mut learned: HashMap<String, WeightSet> = HashMap::new();
    let mut err = std::io::stderr().lock();
    for (tenant, judged) in &verdicts {
        let fps = judged
            .iter()
            .filter(|j| j.label == Verdict::FalsePositive)
            .count();
        if let Some(next) = update(weights, &prior, judged, &LearnConfig::default())? {
            let changes: Vec<String> = next
                .weights
                .iter()
                .filter(|(f, w)| (*w - weights.weight(f)).abs() > 0.005)
                .map(|(f, w)| format!("{f} {:.2}→{w:.2}", weights.weight(f)))
                .collect();
            writeln!(
                err,
                "tenant {tenant}: {} verdicts ({fps} false positives) in week 1 → {}",
                judged.len(),
                changes.join(", ")
            )?;
            learned.insert(tenant.clone(), next);
        }
    }
    drop(err);
    let after = run(&events, |tenant, event| {
        if event.event_time >= split {
            learned.get(tenant).unwrap_or(weights)
        } else {
            weights
        }
    });

    // Week two: sessions flagged from the split on, attacks that started from it.
    let week_two_labels: Vec<Label> = labels
        .iter()
        .filter(|l| l.label != "attack" || l.attack_start.is_some_and(|t| t >= split))
        .cloned()
        .collect();
    let week_two_events: Vec<(String, NormalizedEvent)> = events
        .iter()
        .filter(|(_, e)| e.event_time >= split && e.event_time < split + Duration::days(7))
        .cloned()
        .collect();
    let days = user_days(&week_two_events);
    let flagged = |findings: &HashMap<Key, Finding>| -> Flagged {
        findings
            .iter()
            .filter(|(_, f)| f.detected_at >= split && f.detected_at < split + Duration::days(7))
            .map(|(key, f)| (key.clone(), f.detected_at))
            .collect()
    };
    Ok(vec![
        report(
            "week 2, weights before verdicts",
            &flagged(&before),
            &week_two_labels,
            days,
        ),
        report(
            "week 2, weights learned from week 1",
            &flagged(&after),
            &week_two_labels,
            days,
        ),
    ])
}

/// The engine over sorted events with the weights `weights_for` picks per event; findings by
/// (tenant, session).
fn run<'w>(
    events: &[(String, NormalizedEvent)],
    weights_for: impl Fn(&str, &NormalizedEvent) -> &'w WeightSet,
) -> HashMap<Key, Finding> {
    let mut tenants: HashMap<&str, TenantEngine> = HashMap::new();
    let mut findings = HashMap::new();
    for (tenant, event) in events {
        let engine = tenants.entry(tenant.as_str()).or_default();
        if let Some(finding) = engine.observe(
            tenant,
            weights_for(tenant, event),
            tokenwatch_core::detect::Suppressions::none(),
            event,
        ) {
            findings.insert(
                (tenant.clone(), finding.session_id.clone()),
                finding.clone(),
            );
        }
    }
    findings
}
