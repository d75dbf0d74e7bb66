//! How good a detector is on a labelled set: session-level precision, recall, false positives
//! per 1,000 user-days, recall per attack kind, flagged look-alikes per kind and detection
//! delay; and the two rules analysts run today, scored the same way.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, Utc};
use tokenwatch_core::detect::Finding;
use tokenwatch_core::event::NormalizedEvent;
use tokenwatch_simulate::Label;

use crate::EvalError;

/// A session as labels name it: tenant and session id, lower-cased ([`flagged_key`]).
pub type Key = (String, String);

/// What a detector flagged: session → when it was first flagged.
pub type Flagged = HashMap<Key, DateTime<Utc>>;

/// One detector's quality on a labelled set, as `tokenwatch eval` prints it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Report {
    /// Which detector.
    pub detector: String,
    /// Sessions it flagged.
    pub sessions_flagged: usize,
    /// Flagged sessions that are labelled attacks.
    pub true_positives: usize,
    /// Every other flagged session (look-alikes and unlabelled sessions alike).
    pub false_positives: usize,
    /// True positives / flagged.
    pub precision: f64,
    /// Attacks flagged / attacks.
    pub recall: f64,
    /// False positives per 1,000 user-days of activity.
    pub false_positives_per_1000_user_days: f64,
    /// Per attack kind, `flagged/all`.
    pub recall_by_attack: BTreeMap<String, String>,
    /// Per benign look-alike kind, `flagged/all`.
    pub flagged_lookalikes: BTreeMap<String, String>,
    /// Minutes from an attack's first record to its session being flagged: median.
    pub delay_minutes_median: Option<f64>,
    /// The same, 95th percentile.
    pub delay_minutes_p95: Option<f64>,
}

fn percentile(sorted: &[f64], p: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    Some(sorted[rank - 1])
}

/// Scores what a detector flagged against the labels.
pub fn report(name: &str, flagged: &Flagged, labels: &[Label], user_days: f64) -> Report {
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
pub fn rules(events: &[(String, NormalizedEvent)]) -> (Flagged, Flagged) {
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

/// Distinct (tenant, user, UTC day) with activity.
pub fn user_days(events: &[(String, NormalizedEvent)]) -> f64 {
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
pub fn parse_labels(text: &str) -> Result<(Vec<Label>, Option<f64>), EvalError> {
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
        let set: Dataset = serde_json::from_str(trimmed).map_err(EvalError::DatasetLabels)?;
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
            .map_err(EvalError::LineLabels)?;
        (labels, None)
    };
    for label in &mut labels {
        label.tenant_id = label.tenant_id.to_ascii_lowercase();
        label.session_id = label.session_id.to_ascii_lowercase();
    }
    Ok((labels, user_days))
}

/// The key a flagged session is judged under: tenant and session id, lower-cased.
pub fn flagged_key(tenant_id: &str, session_id: &str) -> Key {
    (
        tenant_id.to_ascii_lowercase(),
        session_id.to_ascii_lowercase(),
    )
}

/// What a set of findings flagged: each session at its finding's detection time.
pub fn flagged_by(findings: &[Finding]) -> Flagged {
    findings
        .iter()
        .map(|f| (flagged_key(&f.tenant_id, &f.session_id), f.detected_at))
        .collect()
}

#[cfg(test)]
mod tests {
    use chrono::Duration;
    use tokenwatch_core::event::{Network, SourceFormat};
    use tokenwatch_core::useragent::ClientInfo;

    use super::*;

    fn time(minute: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_780_000_000, 0).unwrap() + Duration::minutes(minute)
    }

    fn label(session: &str, label: &str, kind: &str, start: Option<i64>) -> Label {
        Label {
            tenant_id: "t".to_owned(),
            user: "adele@contoso.com".to_owned(),
            session_id: session.to_owned(),
            label: label.to_owned(),
            kind: kind.to_owned(),
            attack_start: start.map(time),
        }
    }

    #[test]
    fn a_report_counts_sessions_against_their_labels() {
        let labels = [
            label("a1", "attack", "aitm", Some(0)),
            label("a2", "attack", "token_replay", Some(0)),
            label("b1", "benign", "travel", None),
            label("b2", "benign", "travel", None),
        ];
        let flagged: Flagged = [
            (flagged_key("t", "A1"), time(30)),
            (flagged_key("t", "b1"), time(5)),
            (flagged_key("t", "unlabelled"), time(5)),
        ]
        .into();
        let report = report("engine", &flagged, &labels, 100.0);
        assert_eq!((report.true_positives, report.false_positives), (1, 2));
        assert!((report.precision - 1.0 / 3.0).abs() < 1e-9);
        assert_eq!(report.recall, 0.5);
        assert_eq!(report.false_positives_per_1000_user_days, 20.0);
        assert_eq!(report.recall_by_attack["aitm"], "1/1");
        assert_eq!(report.recall_by_attack["token_replay"], "0/1");
        assert_eq!(report.flagged_lookalikes["travel"], "1/2");
        assert_eq!(report.delay_minutes_median, Some(30.0));
        let nothing = super::report("none", &Flagged::new(), &labels, 0.0);
        assert_eq!((nothing.precision, nothing.recall), (0.0, 0.0));
        assert_eq!(nothing.delay_minutes_p95, None);
    }

    #[test]
    fn labels_read_in_both_layouts_with_ids_lower_cased() {
        let dataset = r#"{"attacks": [{"tenant_id": "T", "user": "u", "session_id": "S1",
            "kind": "aitm", "attack_start": "2026-11-01T08:00:00Z"}],
            "benign_tricky": [{"tenant_id": "T", "user": "u", "session_id": "S2",
            "kind": "travel"}], "stats": {"user_days": 2520}}"#;
        let (labels, days) = parse_labels(dataset).unwrap();
        assert_eq!(days, Some(2520.0));
        assert_eq!(labels.len(), 2);
        assert_eq!(
            (labels[0].label.as_str(), labels[0].session_id.as_str()),
            ("attack", "s1")
        );
        assert_eq!(
            (labels[1].label.as_str(), labels[1].tenant_id.as_str()),
            ("benign", "t")
        );

        let lines = serde_json::to_string(&label("S3", "attack", "aitm", Some(0))).unwrap();
        let (labels, days) = parse_labels(&format!("{lines}\n\n{lines}\n")).unwrap();
        assert_eq!((labels.len(), days), (2, None));
        assert_eq!(labels[0].session_id, "s3");

        assert!(matches!(
            parse_labels("{\"attacks\": 3}"),
            Err(EvalError::DatasetLabels(_))
        ));
        assert!(matches!(
            parse_labels("nope"),
            Err(EvalError::LineLabels(_))
        ));
    }

    fn event(
        session: &str,
        minute: i64,
        ip: &str,
        asn: u32,
        country: &str,
    ) -> (String, NormalizedEvent) {
        let event = NormalizedEvent {
            record_id: format!("{session}-{minute}"),
            source_format: SourceFormat::GraphSignIns,
            event_time: time(minute),
            tenant_hint: None,
            user_id: "adele@contoso.com".to_owned(),
            user_object_id: None,
            session_id: Some(session.to_owned()),
            session_id_source: None,
            token_id: None,
            ip: ip.parse().ok(),
            user_agent: None,
            device_id: None,
            client: ClientInfo::default(),
            operation: "SignIn".to_owned(),
            workload: None,
            result_status: None,
            app_id: None,
            interactive: None,
            network: Network {
                asn: Some(asn),
                as_org: None,
                country: Some(country.to_owned()),
                hosting: false,
            },
        };
        ("t".to_owned(), event)
    }

    #[test]
    fn the_rules_flag_a_second_address_or_a_second_network_when_it_appears() {
        let events = [
            event("home", 0, "198.51.100.7", 3320, "DE"),
            event("home", 60, "198.51.100.9", 3320, "DE"),
            event("trip", 0, "198.51.100.7", 3320, "DE"),
            event("trip", 90, "203.0.113.5", 2856, "GB"),
        ];
        let (many_ips, many_places) = rules(&events);
        assert_eq!(many_ips.len(), 2);
        assert_eq!(many_ips[&flagged_key("t", "home")], time(60));
        assert_eq!(many_places.len(), 1);
        assert_eq!(many_places[&flagged_key("t", "trip")], time(90));
        // One user active on one day.
        assert_eq!(user_days(&events), 1.0);
    }
}
