//! `tokenwatch eval --scan FILES --feedback`: do analysts' verdicts make the following week
//! better? The engine runs over the events with the given weights; every finding of the first
//! week of findings gets the verdict its label implies (an attack: true positive; a benign
//! look-alike or an unlabelled session: false positive). From each tenant's own verdicts, its
//! weights learn (`detect::learn`) and the suppressions they suggest are accepted (30 days,
//! `detect::suppress::suggest`); from the end of that week on the tenant is scored with them.
//! Reported: the following week's findings before verdicts, with the learned weights, with the
//! suppressions, and with both (what the feedback service does online).

use std::collections::HashMap;
use std::io::Write;

use chrono::Duration;
use tokenwatch_core::detect::learn::{Judged, Label as Verdict, LearnConfig, update};
use tokenwatch_core::detect::suppress::{self, Suppressions};
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

    let none = Suppressions::default();
    let before = run(&events, |_, _| (weights, &none));
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
    let mut suppressed: HashMap<String, Suppressions> = HashMap::new();
    {
        let mut judged: HashMap<&str, Vec<suppress::Judged<'_>>> = HashMap::new();
        for finding in &week_one {
            let key = crate::commands::eval::flagged_key(&finding.tenant_id, &finding.session_id);
            judged
                .entry(finding.tenant_id.as_str())
                .or_default()
                .push(suppress::Judged {
                    finding_id: &finding.session_id,
                    user: &finding.user,
                    attack: attacks.contains_key(&key),
                    contexts: finding
                        .evidence
                        .contexts
                        .iter()
                        .map(|c| (c.kind.as_str(), c.value.as_str(), c.novelty))
                        .collect(),
                });
        }
        let mut err = std::io::stderr().lock();
        for (tenant, judged) in judged {
            let accepted: Vec<_> = suppress::suggest(&judged, &none)
                .into_iter()
                .map(|s| suppress::Suppression {
                    expires: Some(split + Duration::days(30)),
                    ..s.suppression
                })
                .collect();
            for s in &accepted {
                writeln!(
                    err,
                    "tenant {tenant}: suppress {:?} {} for {} (30 days)",
                    s.target,
                    s.value,
                    s.user.as_deref().unwrap_or("every user")
                )?;
            }
            suppressed.insert(tenant.to_owned(), Suppressions { list: accepted });
        }
    }
    for finding in week_one {
        let key = crate::commands::eval::flagged_key(&finding.tenant_id, &finding.session_id);
        verdicts
            .entry(finding.tenant_id.clone())
            .or_default()
            .push(Judged {
                values: finding
                    .reasons
                    .iter()
                    .map(|r| (r.feature, r.value))
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
                .filter(|(f, w)| (*w - weights.weight(**f)).abs() > 0.005)
                .map(|(f, w)| format!("{f} {:.2}→{w:.2}", weights.weight(*f)))
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
    let tuned = |learn: bool, suppress: bool| {
        run(&events, |tenant, event| {
            if event.event_time < split {
                return (weights, &none);
            }
            (
                learned.get(tenant).filter(|_| learn).unwrap_or(weights),
                suppressed.get(tenant).filter(|_| suppress).unwrap_or(&none),
            )
        })
    };
    let (learned_only, suppressed_only, both) =
        (tuned(true, false), tuned(false, true), tuned(true, true));

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
            &flagged(&learned_only),
            &week_two_labels,
            days,
        ),
        report(
            "week 2, suggested suppressions",
            &flagged(&suppressed_only),
            &week_two_labels,
            days,
        ),
        report(
            "week 2, learned weights + suppressions",
            &flagged(&both),
            &week_two_labels,
            days,
        ),
    ])
}

/// The engine over sorted events with the weights and suppressions `tuning_for` picks per
/// event; findings by (tenant, session).
fn run<'w>(
    events: &[(String, NormalizedEvent)],
    tuning_for: impl Fn(&str, &NormalizedEvent) -> (&'w WeightSet, &'w Suppressions),
) -> HashMap<Key, Finding> {
    let mut tenants: HashMap<&str, TenantEngine> = HashMap::new();
    let mut findings = HashMap::new();
    for (tenant, event) in events {
        let engine = tenants.entry(tenant.as_str()).or_default();
        let (weights, suppressions) = tuning_for(tenant, event);
        if let Some(finding) = engine.observe(tenant, weights, suppressions, event) {
            findings.insert(
                crate::commands::eval::flagged_key(tenant, &finding.session_id),
                finding.clone(),
            );
        }
    }
    findings
}
