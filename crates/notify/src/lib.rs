//! What a webhook receives: the body for each format, and the signature header.
//!
//! Every delivery is a POST of JSON with these headers:
//!
//! - `X-Tokenwatch-Event`: `finding.created`, `finding.escalated`, `finding.resolved` (a
//!   verdict), `finding.retracted` (records that arrived late took it back), `action.pending`,
//!   `action.approved`, `action.succeeded`, `action.failed`, `action.rejected`,
//!   `action.cancelled`, `report.monthly`;
//! - `X-Tokenwatch-Event-Id`: the event's id; deliveries are at least once, so a receiver drops
//!   an id it has seen;
//! - `X-Tokenwatch-Signature`: `t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`.
//!   The timestamp is signed with the body, so a receiver that also checks it is recent
//!   refuses replays ([`verify`] does both).
//!
//! The generic body is the event itself ([`Event::envelope`]); Slack's is `text` plus blocks;
//! Teams' is a message with one Adaptive Card (what a Teams Workflows "post to a channel when
//! a webhook request is received" flow and the older incoming webhooks accept).

use hmac::{Hmac, KeyInit, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

/// The header carrying the signature.
pub const SIGNATURE_HEADER: &str = "X-Tokenwatch-Signature";
/// The header naming the event.
pub const EVENT_HEADER: &str = "X-Tokenwatch-Event";
/// The header carrying the event id.
pub const EVENT_ID_HEADER: &str = "X-Tokenwatch-Event-Id";

/// A webhook's payload shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// The event as JSON.
    Generic,
    /// Slack incoming webhooks.
    Slack,
    /// Microsoft Teams (Adaptive Card).
    Teams,
}

impl std::str::FromStr for Format {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "generic" => Ok(Format::Generic),
            "slack" => Ok(Format::Slack),
            "teams" => Ok(Format::Teams),
            other => Err(format!(
                "unknown webhook format {other:?} (generic, slack or teams)"
            )),
        }
    }
}

/// One event.
#[derive(Debug, Clone)]
pub struct Event<'a> {
    /// Its id.
    pub id: &'a str,
    /// `finding.created`...
    pub event: &'a str,
    /// The tenant.
    pub tenant_id: &'a str,
    /// RFC 3339 time it happened.
    pub time: &'a str,
    /// The finding or action.
    pub object: &'a Value,
}

impl Event<'_> {
    /// The generic body.
    pub fn envelope(&self) -> Value {
        let key = match self.event.split('.').next() {
            Some("finding") => "finding",
            Some("report") => "report",
            _ => "action",
        };
        json!({
            "id": self.id,
            "event": self.event,
            "tenant_id": self.tenant_id,
            "time": self.time,
            key: self.object,
        })
    }

    /// One line an analyst reads first.
    pub fn headline(&self) -> String {
        let o = self.object;
        let text = |key: &str| o[key].as_str().unwrap_or_default().to_owned();
        match self.event {
            "report.monthly" => format!(
                "Monthly report for {}, {}: {} sessions watched, {} findings, {} confirmed",
                text("tenant_name"),
                text("month"),
                o["sessions_watched"].as_i64().unwrap_or_default(),
                o["findings"].as_i64().unwrap_or_default(),
                o["confirmed"].as_i64().unwrap_or_default(),
            ),
            "finding.resolved" | "finding.retracted" => format!(
                "Finding {} for {}: {}",
                if self.event == "finding.resolved" {
                    "resolved"
                } else {
                    "withdrawn"
                },
                text("user"),
                match self.event {
                    "finding.resolved" => text("status"),
                    _ => text("reason"),
                }
            ),
            "finding.created" | "finding.escalated" => {
                let features: Vec<&str> = o["reasons"]
                    .as_array()
                    .map(|r| {
                        r.iter()
                            .filter_map(|r| r["feature"].as_str())
                            .take(3)
                            .collect()
                    })
                    .unwrap_or_default();
                format!(
                    "{} {} finding: {} (score {:.2}, threshold {:.2}) — {}",
                    if self.event == "finding.created" {
                        "New"
                    } else {
                        "Escalated"
                    },
                    text("severity"),
                    text("user"),
                    o["score"].as_f64().unwrap_or_default(),
                    o["threshold"].as_f64().unwrap_or_default(),
                    features.join(", ")
                )
            }
            _ => format!(
                "Action {} on {}: {}{}{}",
                text("action"),
                text("user"),
                text("status"),
                if o["dry_run"].as_bool() == Some(true) {
                    " (dry run)"
                } else {
                    ""
                },
                match text("result").as_str() {
                    "" => String::new(),
                    result => format!(" — {result}"),
                }
            ),
        }
    }

    /// The body for `format`.
    pub fn body(&self, format: Format) -> Value {
        let facts = [
            ("Tenant", self.tenant_id.to_owned()),
            ("Event", self.event.to_owned()),
            (
                "Id",
                self.object["id"].as_str().unwrap_or_default().to_owned(),
            ),
            ("Time", self.time.to_owned()),
        ];
        match format {
            Format::Generic => self.envelope(),
            Format::Slack => json!({
                "text": self.headline(),
                "blocks": [
                    {"type": "section", "text": {"type": "mrkdwn", "text": self.headline()}},
                    {"type": "section", "fields": facts.iter().map(|(k, v)| json!({
                        "type": "mrkdwn", "text": format!("*{k}*\n{v}"),
                    })).collect::<Vec<_>>()},
                ],
            }),
            Format::Teams => json!({
                "type": "message",
                "attachments": [{
                    "contentType": "application/vnd.microsoft.card.adaptive",
                    "contentUrl": null,
                    "content": {
                        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                        "type": "AdaptiveCard",
                        "version": "1.4",
                        "body": [
                            {"type": "TextBlock", "text": self.headline(), "wrap": true,
                             "weight": "Bolder"},
                            {"type": "FactSet", "facts": facts.iter().map(|(k, v)| json!({
                                "title": k, "value": v,
                            })).collect::<Vec<_>>()},
                        ],
                    },
                }],
            }),
        }
    }
}

/// The signature header's value for `body` sent at `timestamp` (unix seconds).
pub fn sign(secret: &[u8], timestamp: i64, body: &[u8]) -> String {
    format!(
        "t={timestamp},v1={}",
        hex::encode(mac(secret, timestamp, body))
    )
}

fn mac(secret: &[u8], timestamp: i64, body: &[u8]) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes a key of any length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac.finalize().into_bytes().to_vec()
}

/// Why a signature was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VerifyError {
    /// Not `t=...,v1=...`.
    Malformed,
    /// Older or newer than the tolerance allows.
    Stale,
    /// The MAC does not match.
    Mismatch,
}

/// Checks a signature header against `body`, and that it was made within `tolerance_seconds`
/// of `now` (unix seconds). For receivers, and for our tests.
pub fn verify(
    secret: &[u8],
    header: &str,
    body: &[u8],
    now: i64,
    tolerance_seconds: i64,
) -> Result<(), VerifyError> {
    let mut timestamp = None;
    let mut signature = None;
    for part in header.split(',') {
        match part.split_once('=') {
            Some(("t", t)) => timestamp = t.parse::<i64>().ok(),
            Some(("v1", v)) => signature = hex::decode(v).ok(),
            _ => {}
        }
    }
    let (Some(timestamp), Some(signature)) = (timestamp, signature) else {
        return Err(VerifyError::Malformed);
    };
    if (now - timestamp).abs() > tolerance_seconds {
        return Err(VerifyError::Stale);
    }
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes a key of any length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    // Constant-time comparison.
    mac.verify_slice(&signature)
        .map_err(|_| VerifyError::Mismatch)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_matches_rfc_4231_test_case_2() {
        // Key "Jefe", data "what do ya want for nothing?": here the data is "<t>.<body>".
        let mut mac = Hmac::<Sha256>::new_from_slice(b"Jefe").unwrap();
        mac.update(b"what do ya want for nothing?");
        assert_eq!(
            hex::encode(mac.finalize().into_bytes()),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn signatures_verify_and_refuse_tampering_staleness_and_other_keys() {
        let body = br#"{"event":"finding.created"}"#;
        let header = sign(b"s3cret", 1_700_000_000, body);
        assert!(header.starts_with("t=1700000000,v1="));
        assert_eq!(verify(b"s3cret", &header, body, 1_700_000_100, 300), Ok(()));
        assert_eq!(
            verify(b"s3cret", &header, b"{}", 1_700_000_100, 300),
            Err(VerifyError::Mismatch)
        );
        assert_eq!(
            verify(b"other", &header, body, 1_700_000_100, 300),
            Err(VerifyError::Mismatch)
        );
        assert_eq!(
            verify(b"s3cret", &header, body, 1_700_009_000, 300),
            Err(VerifyError::Stale)
        );
        assert_eq!(
            verify(b"s3cret", "v1=00", body, 1_700_000_000, 300),
            Err(VerifyError::Malformed)
        );
    }

    fn finding() -> Value {
        json!({
            "id": "f-1", "user": "adele@contoso.com", "severity": "high", "score": 7.25,
            "threshold": 3.0,
            "reasons": [{"feature": "new_asn"}, {"feature": "new_country"}],
        })
    }

    #[test]
    fn each_format_has_its_receivers_shape() {
        let object = finding();
        let event = Event {
            id: "e-1",
            event: "finding.created",
            tenant_id: "t-1",
            time: "2026-11-28T10:00:00Z",
            object: &object,
        };
        let generic = event.body(Format::Generic);
        assert_eq!(generic["event"], "finding.created");
        assert_eq!(generic["finding"]["user"], "adele@contoso.com");
        let headline = event.headline();
        assert_eq!(
            headline,
            "New high finding: adele@contoso.com (score 7.25, threshold 3.00) — new_asn, new_country"
        );
        let slack = event.body(Format::Slack);
        assert_eq!(slack["text"], headline);
        assert_eq!(slack["blocks"][0]["type"], "section");
        let teams = event.body(Format::Teams);
        assert_eq!(teams["type"], "message");
        let card = &teams["attachments"][0];
        assert_eq!(
            card["contentType"],
            "application/vnd.microsoft.card.adaptive"
        );
        assert_eq!(card["content"]["type"], "AdaptiveCard");
        assert_eq!(card["content"]["body"][0]["text"], headline);
    }
}
