//! Stored findings and engine output → the v1 contract.

use tokenwatch_core::detect::engine::SeenContext;
use tokenwatch_core::detect::{Finding as EngineFinding, Reason};
use tokenwatch_proto::common::v1::{ContextKind, ContextValue, FeatureContribution};
use tokenwatch_proto::detection::v1::{Finding, SessionContext};
use tokenwatch_proto::to_timestamp;
use tokenwatch_storage::findings::StoredFinding;

pub(crate) fn contributions(reasons: &[Reason]) -> Vec<FeatureContribution> {
    reasons
        .iter()
        .map(|r| FeatureContribution {
            feature: r.feature.to_string(),
            value: r.value,
            baseline: r.baseline.clone(),
            weight: r.weight,
            contribution: r.contribution,
            explanation: format!(
                "{} = {:.2} × weight {:.2} = {:.2} ({})",
                r.feature, r.value, r.weight, r.contribution, r.baseline
            ),
        })
        .collect()
}

pub(crate) fn contexts(contexts: &[SeenContext]) -> Vec<SessionContext> {
    contexts
        .iter()
        .map(|c| {
            let kind = match c.kind.as_str() {
                "network" if c.value.starts_with("AS") => ContextKind::Asn,
                "network" | "prefix" => ContextKind::Prefix,
                "country" => ContextKind::Country,
                "client" => ContextKind::Browser,
                "device" => ContextKind::Device,
                _ => ContextKind::Unspecified,
            };
            let mut attributes = std::collections::HashMap::new();
            if !c.note.is_empty() {
                attributes.insert("note".to_owned(), c.note.clone());
            }
            attributes.insert("novelty".to_owned(), format!("{:.2}", c.novelty));
            SessionContext {
                context: Some(ContextValue {
                    kind: kind as i32,
                    value: c.value.clone(),
                }),
                first_seen_time: Some(to_timestamp(c.first_seen)),
                last_seen_time: Some(to_timestamp(c.last_seen)),
                events: i64::try_from(c.events).unwrap_or(i64::MAX),
                new_for_user: c.novelty >= 0.5,
                tenant_prevalence: c.prevalence,
                attributes,
            }
        })
        .collect()
}

/// A one-line summary of an engine finding.
pub(crate) fn summary(finding: &EngineFinding) -> String {
    let top: Vec<&str> = finding
        .reasons
        .iter()
        .take(3)
        .map(|r| r.feature.name())
        .collect();
    format!(
        "{} session of {} scored {:.2} (threshold {:.2}): {}",
        finding.severity,
        finding.user,
        finding.score,
        finding.threshold,
        top.join(", ")
    )
}

/// A stored finding in the contract's shape.
pub(crate) fn finding(stored: &StoredFinding) -> Finding {
    let f = &stored.finding;
    let engine: Option<EngineFinding> = serde_json::from_value(f.explanation.clone()).ok();
    let (contributions, contexts, risky, summary) = match &engine {
        Some(engine) => (
            contributions(&engine.reasons),
            contexts(&engine.evidence.contexts),
            engine.evidence.risky_operations.clone(),
            summary(engine),
        ),
        None => (Vec::new(), Vec::new(), Vec::new(), String::new()),
    };
    Finding {
        finding_id: f.finding_id.to_string(),
        tenant_id: stored.tenant_id.to_string(),
        user_id: f.user_id.clone(),
        session_id: f.session_id.clone(),
        incident_id: f.incident_id.to_string(),
        score: f.score,
        threshold: f.threshold,
        severity: tokenwatch_proto::severity_to_proto(f.severity) as i32,
        status: tokenwatch_proto::finding_status_to_proto(stored.status) as i32,
        first_seen_time: Some(to_timestamp(f.first_seen)),
        last_seen_time: Some(to_timestamp(f.last_seen)),
        detected_at: Some(to_timestamp(f.detected_at)),
        create_time: Some(to_timestamp(stored.create_time)),
        update_time: Some(to_timestamp(stored.update_time)),
        contributions,
        contexts,
        risky_operations: risky,
        summary,
        weight_version: f.weight_version,
        explanation_json: f.explanation.to_string(),
    }
}

/// A finding as a queue needs it ([`FindingView::Basic`](tokenwatch_proto::detection::v1::FindingView)):
/// the contributions' numbers without their words, no contexts, no explanation document.
pub(crate) fn basic(mut finding: Finding) -> Finding {
    for contribution in &mut finding.contributions {
        contribution.explanation.clear();
        contribution.baseline.clear();
    }
    finding.contexts.clear();
    finding.risky_operations.clear();
    finding.explanation_json.clear();
    finding
}
