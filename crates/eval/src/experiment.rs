//! The verdict-feedback experiment (`tokenwatch eval --scan FILES --feedback`): do analysts' verdicts make the following week
//! better? The engine runs over the events with the given weights; every finding of the first
//! week of findings gets the verdict its label implies (an attack: true positive; a benign
//! look-alike or an unlabelled session: false positive). From each tenant's own verdicts, its
//! weights learn (`detect::learn`) and the suppressions they suggest are accepted (30 days,
//! `detect::suppress::suggest`); from the end of that week on the tenant is scored with them.
//! Reported: the following week's findings before verdicts, with the learned weights, with the
//! suppressions, and with both (what the feedback service does online).

use std::collections::{BTreeMap, HashMap};

use chrono::Duration;
use tokenwatch_core::detect::learn::{Judged, Label as Verdict, LearnConfig, update};
use tokenwatch_core::detect::suppress::{self, Suppressions};
use tokenwatch_core::detect::{Feature, Finding, TenantEngine, WeightSet};
use tokenwatch_core::event::NormalizedEvent;
use tokenwatch_simulate::Label;

use crate::EvalError;
use crate::metrics::{Flagged, Key, Report, flagged_key, report, user_days};

/// What the first week's verdicts taught one tenant.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TenantLesson {
    /// The tenant.
    pub tenant: String,
    /// Verdicts given in week one.
    pub verdicts: usize,
    /// Of which false positives.
    pub false_positives: usize,
    /// Weights that moved by more than 0.005: feature, before, after.
    pub weight_changes: Vec<(Feature, f64, f64)>,
    /// Suppressions accepted (30 days): target, value, user (`None`: every user).
    pub suppressions: Vec<(String, String, Option<String>)>,
}

/// The experiment's outcome: four reports of the second week, and what each tenant learned.
#[derive(Debug, Clone, PartialEq)]
pub struct Experiment {
    /// Week two before verdicts, with learned weights, with suppressions, with both.
    pub reports: Vec<Report>,
    /// Per tenant, by tenant id.
    pub lessons: Vec<TenantLesson>,
}

/// Runs the experiment.
pub fn experiment(
    mut events: Vec<(String, NormalizedEvent)>,
    labels: &[Label],
    weights: &WeightSet,
) -> Result<Experiment, EvalError> {
    tokenwatch_core::detect::engine_order(&mut events);

    let none = Suppressions::default();
    let before = run(&events, |_, _| (weights, &none));
    let first = before
        .values()
        .map(|f| f.detected_at)
        .min()
        .ok_or(EvalError::NoFindings)?;
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
    let mut lessons: BTreeMap<String, TenantLesson> = BTreeMap::new();
    {
        let mut judged: HashMap<&str, Vec<suppress::Judged<'_>>> = HashMap::new();
        for finding in &week_one {
            let key = flagged_key(&finding.tenant_id, &finding.session_id);
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
        for (tenant, judged) in judged {
            let accepted: Vec<_> = suppress::suggest(&judged, &none)
                .into_iter()
                .map(|s| suppress::Suppression {
                    expires: Some(split + Duration::days(30)),
                    ..s.suppression
                })
                .collect();
            lessons.entry(tenant.to_owned()).or_default().suppressions = accepted
                .iter()
                .map(|s| (format!("{:?}", s.target), s.value.clone(), s.user.clone()))
                .collect();
            suppressed.insert(tenant.to_owned(), Suppressions { list: accepted });
        }
    }
    for finding in week_one {
        let key = flagged_key(&finding.tenant_id, &finding.session_id);
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
    for (tenant, judged) in &verdicts {
        let fps = judged
            .iter()
            .filter(|j| j.label == Verdict::FalsePositive)
            .count();
        let lesson = lessons.entry(tenant.clone()).or_default();
        lesson.verdicts = judged.len();
        lesson.false_positives = fps;
        if let Some(next) = update(weights, &prior, judged, &LearnConfig::default())? {
            lesson.weight_changes = next
                .weights
                .iter()
                .filter(|(f, w)| (*w - weights.weight(**f)).abs() > 0.005)
                .map(|(f, w)| (*f, weights.weight(*f), *w))
                .collect();
            learned.insert(tenant.clone(), next);
        }
    }
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
    let reports = vec![
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
    ];
    let lessons = lessons
        .into_iter()
        .map(|(tenant, lesson)| TenantLesson { tenant, ..lesson })
        .collect();
    Ok(Experiment { reports, lessons })
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
            findings.insert(flagged_key(tenant, &finding.session_id), finding.clone());
        }
    }
    findings
}

#[cfg(test)]
mod tests {
    use tokenwatch_core::parse::{Limits, parse_document};
    use tokenwatch_simulate::{Config, simulate};

    use super::*;

    /// Events by tenant, and their labels.
    type LabelledEvents = (Vec<(String, NormalizedEvent)>, Vec<Label>);

    /// Two tenants' simulated twelve days, parsed and enriched as `scan` does; `None` (the
    /// test says so and skips) without the IP data, which `make test` fetches: without ASNs
    /// the simulated attacks and look-alikes are not what they are.
    fn simulated() -> Option<LabelledEvents> {
        let Some(dir) = std::env::var_os("TOKENWATCH_IPDB") else {
            #[allow(clippy::print_stderr)]
            {
                eprintln!("skipped: TOKENWATCH_IPDB is not set (make ipdb fetches the IP data)");
            }
            return None;
        };
        let ipdb = tokenwatch_core::enrich::IpDb::load(std::path::Path::new(&dir)).unwrap();
        let simulation = simulate(Config {
            seed: 11,
            tenants: 2,
            users: 15,
            days: 12,
        });
        let mut events = Vec::new();
        for (name, content) in &simulation.files {
            if !name.ends_with(".json") || name.ends_with("meta.json") {
                continue;
            }
            for record in parse_document(content, None, &Limits::default()) {
                if let Ok(mut event) = record.outcome {
                    ipdb.enrich(&mut event);
                    let tenant = tokenwatch_core::detect::tenant_of(&event, "unknown");
                    events.push((tenant, event));
                }
            }
        }
        Some((events, simulation.labels))
    }

    #[test]
    fn week_one_verdicts_teach_each_tenant_and_week_two_is_scored_four_ways() {
        let Some((events, labels)) = simulated() else {
            return;
        };
        let weights = WeightSet {
            threshold: 1.5,
            ..WeightSet::default()
        };
        let outcome = experiment(events.clone(), &labels, &weights).unwrap();
        let names: Vec<&str> = outcome
            .reports
            .iter()
            .map(|r| r.detector.as_str())
            .collect();
        assert_eq!(
            names,
            [
                "week 2, weights before verdicts",
                "week 2, weights learned from week 1",
                "week 2, suggested suppressions",
                "week 2, learned weights + suppressions",
            ]
        );
        // A low threshold gives false positives to learn from; learning never adds any.
        let (before, both) = (&outcome.reports[0], &outcome.reports[3]);
        assert!(before.false_positives > 0, "{before:?}");
        assert!(both.false_positives <= before.false_positives, "{both:?}");
        assert!(!outcome.lessons.is_empty());
        for lesson in &outcome.lessons {
            assert!(lesson.false_positives <= lesson.verdicts, "{lesson:?}");
            for (feature, old, new) in &lesson.weight_changes {
                assert_eq!(*old, weights.weight(*feature));
                assert!((new - old).abs() > 0.005, "{lesson:?}");
            }
        }
        // The same inputs give the same experiment.
        assert_eq!(experiment(events, &labels, &weights).unwrap(), outcome);
    }

    #[test]
    fn without_findings_there_is_nothing_to_give_verdicts_on() {
        assert!(matches!(
            experiment(Vec::new(), &[], &WeightSet::default()),
            Err(EvalError::NoFindings)
        ));
    }
}
