//! What a finding is, how bad it is, and how it is built from a scored session.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tokenwatch_types::{IncidentId, Severity};

use crate::detect::baseline::UserBaseline;
use crate::detect::feature::Feature;
use crate::detect::features::{FeatureValue, describe};
use crate::detect::session::SessionState;
use crate::detect::weights::WeightSet;

/// One feature's part in a finding's score.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reason {
    /// The feature.
    pub feature: Feature,
    /// Its value, 0..1.
    pub value: f64,
    /// What it was compared to.
    pub baseline: String,
    /// Its weight.
    pub weight: f64,
    /// value × weight.
    pub contribution: f64,
}

/// What a finding shows of its session.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evidence {
    /// Networks (ASN or prefix) with novelty and notes.
    pub networks: Vec<String>,
    /// Countries.
    pub countries: Vec<String>,
    /// Clients.
    pub clients: Vec<String>,
    /// Device ids.
    pub devices: Vec<String>,
    /// IP addresses.
    pub ips: Vec<String>,
    /// IPv6 /64 subnets.
    pub subnets64: Vec<String>,
    /// Events per operation.
    pub operations: std::collections::BTreeMap<String, u64>,
    /// Risky operations.
    pub risky_operations: Vec<String>,
    /// Every context value of the session with how new it was, for APIs.
    pub contexts: Vec<SeenContext>,
}

/// One context value a session showed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SeenContext {
    /// network, prefix, country, client or device.
    pub kind: String,
    /// The value.
    pub value: String,
    /// AS organisation, "hosting".
    pub note: String,
    /// How new it was for the user when first seen in the session, 0..1.
    pub novelty: f64,
    /// Share of the tenant's users who know it, 0..1.
    pub prevalence: f64,
    /// First seen in the session.
    #[serde(with = "crate::time::compact")]
    pub first_seen: DateTime<Utc>,
    /// Last seen in the session.
    #[serde(with = "crate::time::compact")]
    pub last_seen: DateTime<Utc>,
    /// Events with it.
    pub events: u64,
}

/// A session that deviates significantly from its user's normal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    /// Tenant.
    pub tenant_id: String,
    /// User principal name.
    pub user: String,
    /// Session id.
    pub session_id: String,
    /// The user incident the finding belongs to: one per tenant and user.
    pub incident_id: IncidentId,
    /// Score.
    pub score: f64,
    /// Threshold in force.
    pub threshold: f64,
    /// Low, medium, high or critical.
    pub severity: Severity,
    /// First event of the session.
    #[serde(with = "crate::time::compact")]
    pub first_seen: DateTime<Utc>,
    /// Last event of the session.
    #[serde(with = "crate::time::compact")]
    pub last_seen: DateTime<Utc>,
    /// Event time of the record that took the session over the threshold.
    #[serde(with = "crate::time::compact")]
    pub detected_at: DateTime<Utc>,
    /// Contributing features, largest first.
    pub reasons: Vec<Reason>,
    /// The session's contexts.
    pub evidence: Evidence,
    /// Weight-set version.
    pub weight_version: i64,
    /// Whether the user's baseline was still learning (see `UserBaseline::learning`): only
    /// evidence that needs no baseline can have raised it.
    #[serde(default)]
    pub user_learning: bool,
}

/// critical: risky operations after a change and twice the threshold; high: either; medium:
/// from 1.3× the threshold; else low.
fn severity(score: f64, threshold: f64, reasons: &[Reason]) -> Severity {
    let ratio = score / threshold;
    let risky_after = reasons
        .iter()
        .any(|r| r.feature == Feature::RiskyAfterChange);
    if risky_after && ratio >= 2.0 {
        Severity::Critical
    } else if risky_after || ratio >= 2.0 {
        Severity::High
    } else if ratio >= 1.3 {
        Severity::Medium
    } else {
        Severity::Low
    }
}

impl Finding {
    /// The finding scored again with other weights, from the feature values it recorded
    /// (its evidence and times unchanged): what a weight change does to an open finding.
    pub fn rescored(&self, weights: &WeightSet) -> Finding {
        let mut reasons: Vec<Reason> = self
            .reasons
            .iter()
            .map(|r| Reason {
                weight: weights.weight(r.feature),
                contribution: round(r.value * weights.weight(r.feature)),
                ..r.clone()
            })
            .collect();
        reasons.sort_by(|a, b| b.contribution.total_cmp(&a.contribution));
        let score = round(reasons.iter().map(|r| r.value * r.weight).sum());
        Finding {
            score,
            threshold: weights.threshold,
            severity: severity(score, weights.threshold, &reasons),
            weight_version: weights.version,
            reasons,
            ..self.clone()
        }
    }
}

#[allow(clippy::too_many_arguments)]
pub(super) fn build_finding(
    tenant_id: &str,
    user: &str,
    state: &SessionState,
    baseline: &UserBaseline,
    scored: &[FeatureValue],
    score: f64,
    weights: &WeightSet,
    now: DateTime<Utc>,
) -> Finding {
    let mut reasons: Vec<Reason> = scored
        .iter()
        .filter(|f| f.value > 0.0 && weights.weight(f.feature) > 0.0)
        .map(|f| Reason {
            feature: f.feature,
            value: round(f.value),
            baseline: describe(f.feature, state, baseline),
            weight: weights.weight(f.feature),
            contribution: round(f.value * weights.weight(f.feature)),
        })
        .collect();
    reasons.sort_by(|a, b| b.contribution.total_cmp(&a.contribution));
    let severity = severity(score, weights.threshold, &reasons);
    let describe = |list: &[crate::detect::session::Seen]| -> Vec<String> {
        list.iter()
            .map(|s| {
                let note = if s.note.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", s.note)
                };
                format!("{}{note} new={:.2}", s.value, s.novelty)
            })
            .collect()
    };
    Finding {
        tenant_id: tenant_id.to_owned(),
        user: user.to_owned(),
        session_id: state.session_id.clone(),
        incident_id: IncidentId::of_user(tenant_id, user),
        score: round(score),
        threshold: weights.threshold,
        severity,
        first_seen: state.first_seen,
        last_seen: state.last_seen,
        detected_at: now,
        reasons,
        evidence: Evidence {
            networks: describe(&state.networks),
            countries: describe(&state.countries),
            clients: describe(&state.clients),
            devices: describe(&state.devices),
            ips: state.ips.iter().map(ToString::to_string).collect(),
            subnets64: state.subnets64.clone(),
            operations: state.operations.clone(),
            risky_operations: state.risky.iter().map(|r| r.operation.clone()).collect(),
            contexts: [
                ("network", &state.networks),
                ("prefix", &state.prefixes),
                ("country", &state.countries),
                ("client", &state.clients),
                ("device", &state.devices),
            ]
            .into_iter()
            .flat_map(|(kind, list)| {
                list.iter().map(move |seen| SeenContext {
                    kind: kind.to_owned(),
                    value: seen.value.clone(),
                    note: seen.note.clone(),
                    novelty: round(f64::from(seen.novelty).max(seen.tenant_novelty)),
                    prevalence: round(f64::from(seen.prevalence)),
                    first_seen: seen.first,
                    last_seen: seen.last,
                    events: seen.events,
                })
            })
            // The ASNs behind each network, so that a suppression can name one.
            .chain(state.networks.iter().flat_map(|seen| {
                seen.asns.iter().map(move |asn| SeenContext {
                    kind: "asn".to_owned(),
                    value: format!("AS{asn}"),
                    note: seen.value.clone(),
                    novelty: round(f64::from(seen.novelty).max(seen.tenant_novelty)),
                    prevalence: round(f64::from(seen.prevalence)),
                    first_seen: seen.first,
                    last_seen: seen.last,
                    events: seen.events,
                })
            }))
            .collect(),
        },
        weight_version: weights.version,
        user_learning: baseline.learning(now.timestamp()),
    }
}

fn round(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}
