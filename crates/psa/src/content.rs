//! What tokenwatch writes in a PSA: a ticket's title and description, each event's note, and
//! the references that let an interrupted delivery find what it already wrote.
//!
//! Events are the notifications outbox's (`finding.created`, `action.succeeded`...), their
//! payloads as webhooks receive them. Text is plain (every PSA takes plain text; not all take
//! HTML) and short enough for the strictest field (ConnectWise's 100-character summary).

use serde_json::Value;
use tokenwatch_core::detect::Feature;

/// The longest title any PSA takes (ConnectWise's ticket summary).
const MAX_TITLE: usize = 100;
/// Reasons listed in a ticket or note.
const TOP_REASONS: usize = 3;

/// The reference in an incident's ticket title: `TW-` and the first 12 hex digits of its id.
pub fn ticket_reference(incident_id: &str) -> String {
    let hex: String = incident_id
        .chars()
        .filter(char::is_ascii_hexdigit)
        .take(12)
        .collect();
    format!("[TW-{}]", hex.to_ascii_uppercase())
}

/// The reference at the end of an event's note.
pub fn note_reference(event_id: &str) -> String {
    format!("(tokenwatch event {event_id})")
}

/// The console's page of a finding.
pub fn finding_link(console_url: &str, tenant_id: &str, finding_id: &str) -> String {
    format!(
        "{}/#/findings/{tenant_id}/{finding_id}",
        console_url.trim_end_matches('/')
    )
}

/// A ticket's title: who, how bad, and the reference, within 100 characters.
pub fn ticket_title(user: &str, severity: &str, reference: &str) -> String {
    let fixed = format!("Suspected session theft ({severity}): ");
    let room = MAX_TITLE.saturating_sub(fixed.chars().count() + reference.chars().count() + 1);
    let user: String = if user.chars().count() > room {
        user.chars()
            .take(room.saturating_sub(1))
            .chain(['…'])
            .collect()
    } else {
        user.to_owned()
    };
    format!("{fixed}{user} {reference}")
}

/// A new ticket's description, from the finding event that opened it.
pub fn ticket_description(finding: &Value, link: Option<&str>) -> String {
    let text = |key: &str| finding[key].as_str().unwrap_or_default();
    let mut out = format!(
        "tokenwatch saw {}'s session {} change its context the way a stolen session does.\n\n\
         Severity: {} (score {:.2}, threshold {:.2})\n\
         First seen: {}\nLast seen: {}\n",
        text("user"),
        text("session_id"),
        text("severity"),
        finding["score"].as_f64().unwrap_or_default(),
        finding["threshold"].as_f64().unwrap_or_default(),
        text("first_seen"),
        text("last_seen"),
    );
    out.push_str(&reasons(finding));
    if let Some(list) = joined(&finding["countries"]) {
        out.push_str(&format!("Countries: {list}\n"));
    }
    if let Some(list) = joined(&finding["networks"]) {
        out.push_str(&format!("Networks: {list}\n"));
    }
    if let Some(link) = link {
        out.push_str(&format!("\nOpen the finding in tokenwatch: {link}\n"));
    }
    out.push_str(
        "\nWhat to do: confirm with the user whether they signed in from these places. If not, \
         revoke their sessions and reset their password (tokenwatch can revoke sessions and \
         disable the user through Microsoft Graph), then record a verdict so tokenwatch learns.\n",
    );
    out
}

/// A note for an event on an incident's ticket, ending with the event's reference.
pub fn note(event: &str, event_id: &str, payload: &Value, link: Option<&str>) -> String {
    let text = |key: &str| payload[key].as_str().unwrap_or_default();
    let mut out = match event {
        "finding.created" => format!(
            "Another suspicious session of {}: {} (score {:.2}, threshold {:.2}).\n{}",
            text("user"),
            text("severity"),
            payload["score"].as_f64().unwrap_or_default(),
            payload["threshold"].as_f64().unwrap_or_default(),
            reasons(payload),
        ),
        "finding.escalated" => format!(
            "Escalated to {}: {}'s session {} (score {:.2}, threshold {:.2}).\n{}",
            text("severity"),
            text("user"),
            text("session_id"),
            payload["score"].as_f64().unwrap_or_default(),
            payload["threshold"].as_f64().unwrap_or_default(),
            reasons(payload),
        ),
        "finding.resolved" => {
            let open = payload["open_findings_in_incident"].as_i64().unwrap_or(0);
            format!(
                "{} marked a finding {}{}. {}",
                text("resolved_by"),
                status_words(text("status")),
                match text("comment") {
                    "" => String::new(),
                    comment => format!(" (\"{comment}\")"),
                },
                if open == 0 {
                    "Every finding of this incident has a verdict: closing the ticket.".to_owned()
                } else {
                    format!("{open} finding(s) of this incident still open.")
                }
            )
        }
        "finding.retracted" => {
            let open = payload["open_findings_in_incident"].as_i64().unwrap_or(0);
            format!(
                "tokenwatch withdrew the finding on {}'s session {}: {}. {}",
                text("user"),
                text("session_id"),
                or(text("reason"), "it no longer scores"),
                if open == 0 {
                    "No finding of this incident is left open: closing the ticket.".to_owned()
                } else {
                    format!("{open} finding(s) of this incident still open.")
                }
            )
        }
        "action.pending" => format!(
            "{} proposed to {} for {}: awaiting a second person's approval.{}",
            text("proposed_by"),
            action_words(text("action")),
            text("user"),
            reason(payload),
        ),
        "action.approved" => format!(
            "{} approved: {} for {}.{}",
            or(text("approved_by"), "The response policy"),
            action_words(text("action")),
            text("user"),
            reason(payload),
        ),
        "action.succeeded" | "action.failed" => format!(
            "{}{} for {} {}. Microsoft Graph answered: {}",
            if payload["dry_run"].as_bool() == Some(true) {
                "Dry run: "
            } else {
                ""
            },
            capitalized(action_words(text("action"))),
            text("user"),
            if event == "action.succeeded" {
                "succeeded"
            } else {
                "failed"
            },
            or(text("result"), "(no message)"),
        ),
        "action.rejected" => format!(
            "{} rejected the proposal to {} for {}.",
            or(text("approved_by"), "The approver"),
            action_words(text("action")),
            text("user"),
        ),
        "action.cancelled" => format!(
            "The proposal to {} for {} was cancelled.",
            action_words(text("action")),
            text("user"),
        ),
        other => format!("{other} for {}.", text("user")),
    };
    if let Some(link) = link {
        out.push_str(&format!("\n{link}"));
    }
    out.push_str(&format!("\n{}", note_reference(event_id)));
    out
}

fn reasons(finding: &Value) -> String {
    let Some(list) = finding["reasons"].as_array() else {
        return String::new();
    };
    let mut out = String::new();
    for reason in list.iter().take(TOP_REASONS) {
        let name = reason["feature"].as_str().unwrap_or_default();
        let meaning = name
            .parse::<Feature>()
            .map(Feature::meaning)
            .unwrap_or(name);
        if out.is_empty() {
            out.push_str("Why:\n");
        }
        out.push_str(&format!(
            "- {meaning} (+{:.2})\n",
            reason["contribution"].as_f64().unwrap_or_default()
        ));
    }
    out
}

fn joined(list: &Value) -> Option<String> {
    let items: Vec<String> = list
        .as_array()?
        .iter()
        .filter_map(|v| match v {
            Value::String(s) => Some(s.clone()),
            Value::Object(o) => o
                .get("name")
                .or_else(|| o.get("asn"))
                .map(|v| v.to_string().trim_matches('"').to_owned()),
            _ => None,
        })
        .take(6)
        .collect();
    (!items.is_empty()).then(|| items.join(", "))
}

fn reason(payload: &Value) -> String {
    match payload["reason"].as_str() {
        Some(reason) if !reason.is_empty() => format!(" Reason: {reason}"),
        _ => String::new(),
    }
}

fn action_words(action: &str) -> &str {
    match action {
        "revoke-sessions" => "revoke the user's sessions",
        "disable-user" => "disable the user",
        "enable-user" => "enable the user again",
        "confirm-compromised" => "confirm the user compromised",
        other => other,
    }
}

fn status_words(status: &str) -> &str {
    match status {
        "true_positive" => "a compromise (true positive)",
        "false_positive" => "a false positive",
        "benign" => "benign (real but expected)",
        other => other,
    }
}

fn or<'a>(text: &'a str, fallback: &'a str) -> &'a str {
    if text.is_empty() { fallback } else { text }
}

fn capitalized(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn titles_fit_the_strictest_psa_and_keep_their_reference() {
        let reference = ticket_reference("0b9c1a2e-77f0-4c3b-9d1e-5a6b7c8d9e0f");
        assert_eq!(reference, "[TW-0B9C1A2E77F0]");
        let title = ticket_title("adele@contoso.com", "high", &reference);
        assert_eq!(
            title,
            "Suspected session theft (high): adele@contoso.com [TW-0B9C1A2E77F0]"
        );
        let long = ticket_title(&"x".repeat(200), "critical", &reference);
        assert_eq!(long.chars().count(), MAX_TITLE);
        assert!(long.ends_with(" [TW-0B9C1A2E77F0]"));
    }

    #[test]
    fn a_ticket_says_why_in_words_and_links_to_the_finding() {
        let finding = json!({
            "user": "adele@contoso.com", "session_id": "s-1", "severity": "high",
            "score": 6.5, "threshold": 3.0, "first_seen": "2026-12-01T09:00:00Z",
            "last_seen": "2026-12-01T10:00:00Z",
            "reasons": [
                {"feature": "interleaving", "contribution": 2.5},
                {"feature": "new_country", "contribution": 0.8},
            ],
            "countries": ["NL", "US"],
        });
        let link = finding_link("https://tw.example.com/", "t-1", "f-1");
        assert_eq!(link, "https://tw.example.com/#/findings/t-1/f-1");
        let text = ticket_description(&finding, Some(&link));
        assert!(text.contains("Severity: high (score 6.50, threshold 3.00)"));
        assert!(text.contains("- two networks alternated within an hour"));
        assert!(text.contains("- a country new for the user (+0.80)"));
        assert!(text.contains("Countries: NL, US"));
        assert!(text.contains(&link));
    }

    #[test]
    fn notes_say_what_happened_and_end_with_their_reference() {
        let executed = json!({
            "action": "revoke-sessions", "user": "adele@contoso.com", "status": "succeeded",
            "result": "sessions revoked", "dry_run": false,
        });
        let text = note("action.succeeded", "e-1", &executed, None);
        assert_eq!(
            text,
            "Revoke the user's sessions for adele@contoso.com succeeded. Microsoft Graph \
             answered: sessions revoked\n(tokenwatch event e-1)"
        );
        let resolved = json!({
            "status": "true_positive", "resolved_by": "ana", "comment": "",
            "open_findings_in_incident": 0,
        });
        assert!(
            note("finding.resolved", "e-2", &resolved, None)
                .starts_with("ana marked a finding a compromise (true positive). Every finding")
        );
        let approved = json!({"action": "disable-user", "user": "b@c.d", "approved_by": ""});
        assert!(
            note("action.approved", "e-3", &approved, None)
                .starts_with("The response policy approved: disable the user for b@c.d.")
        );
    }
}
