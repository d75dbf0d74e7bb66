//! A month's facts in plain words: the report's blocks, in order.

use chrono::{Datelike, NaiveDate};

use crate::{Block, MonthlyReport};

const SEVERITIES: [(&str, &str, &str); 4] = [
    ("critical", "Critical", "#b42318"),
    ("high", "High", "#e8590c"),
    ("medium", "Medium", "#d4a017"),
    ("low", "Low", "#2f6fb0"),
];

/// The report's blocks.
pub fn blocks(r: &MonthlyReport) -> Vec<Block> {
    let month = month_name(&r.month);
    let total: i64 = r.findings_by_severity.values().sum();
    let outcome = |key: &str| r.outcomes.get(key).copied().unwrap_or(0);
    let confirmed = outcome("true_positive");
    let false_alarms = outcome("false_positive") + outcome("benign");
    let pending = outcome("open") + outcome("acknowledged");
    let mut out = vec![
        Block::Title(
            format!("Security report for {}", r.tenant_name),
            format!(
                "{month} · stolen-session monitoring of Microsoft 365 · prepared {}",
                r.generated_at.format("%-d %B %Y")
            ),
        ),
        Block::Paragraph(summary(r, &month, total, confirmed, false_alarms, pending)),
        Block::Figures(vec![
            ("Sessions watched".into(), thousands(r.sessions_watched)),
            ("People active".into(), thousands(r.users_active)),
            ("Alerts raised".into(), thousands(total)),
            ("Confirmed compromises".into(), thousands(confirmed)),
            (
                "Time to detect (median)".into(),
                if r.backfilled {
                    "n/a".into()
                } else {
                    r.minutes_to_detect
                        .map_or("—".into(), |(median, _)| duration(median))
                },
            ),
            (
                "Time to respond (median)".into(),
                r.minutes_to_respond
                    .map_or("—".into(), |(median, _)| duration(median)),
            ),
        ]),
        Block::Heading("Alerts by severity".into()),
    ];
    if total == 0 {
        out.push(Block::Paragraph(
            "No session looked stolen this month.".into(),
        ));
    } else {
        out.push(Block::Bars(
            SEVERITIES
                .iter()
                .map(|(key, label, colour)| {
                    (
                        (*label).to_owned(),
                        r.findings_by_severity.get(*key).copied().unwrap_or(0),
                        (*colour).to_owned(),
                    )
                })
                .collect(),
        ));
        out.push(Block::Paragraph(
            "An alert means a sign-in session kept being used while where and how it was used \
             changed in the way a stolen session's does: new networks or countries, another \
             device or browser, two places at once. Critical and high alerts are the ones most \
             likely to be an attacker."
                .into(),
        ));
        out.push(Block::Heading("What became of them".into()));
        out.push(Block::Table(
            vec!["Outcome".into(), "Alerts".into()],
            [
                ("Confirmed: the account was compromised", confirmed),
                ("False alarm: nothing was wrong", outcome("false_positive")),
                (
                    "Expected: a real change (travel, a new phone, a VPN)",
                    outcome("benign"),
                ),
                ("Still being looked at", pending),
            ]
            .into_iter()
            .filter(|(_, n)| *n > 0)
            .map(|(label, n)| vec![label.to_owned(), n.to_string()])
            .collect(),
        ));
    }
    out.push(Block::Heading("Actions taken on accounts".into()));
    if r.actions.is_empty() {
        out.push(Block::Paragraph(
            "No account needed to be acted on this month.".into(),
        ));
    } else {
        let rows = r
            .actions
            .iter()
            .map(|(kind, results)| {
                let n = |key: &str| results.get(key).copied().unwrap_or(0).to_string();
                vec![
                    action_words(kind).to_owned(),
                    n("succeeded"),
                    n("failed"),
                    n("pending"),
                ]
            })
            .collect();
        out.push(Block::Table(
            vec![
                "Action".into(),
                "Done".into(),
                "Failed".into(),
                "Awaiting approval".into(),
            ],
            rows,
        ));
    }
    if !r.top_users.is_empty() {
        out.push(Block::Heading("People most targeted".into()));
        out.push(Block::Table(
            vec![
                "Person".into(),
                "Alerts".into(),
                "Most severe".into(),
                "Confirmed".into(),
            ],
            r.top_users
                .iter()
                .map(|u| {
                    vec![
                        u.user.clone(),
                        u.findings.to_string(),
                        capitalized(&u.highest),
                        u.confirmed.to_string(),
                    ]
                })
                .collect(),
        ));
    }
    out.push(Block::Heading("Activity watched".into()));
    out.push(Block::Columns(
        format!(
            "Microsoft 365 records read per day ({} in all)",
            thousands(r.records)
        ),
        r.records_per_day
            .iter()
            .map(|(day, n)| (day.day().to_string(), *n))
            .collect(),
    ));
    out.push(Block::Heading("Data health".into()));
    let h = &r.health;
    let mut rows = vec![
        vec![
            "Access to Microsoft 365 (app credentials)".to_owned(),
            yes_no(h.credentials, "in place", "missing"),
        ],
        vec![
            "Audit log (what people did)".to_owned(),
            feed(h.audit_records, h.activity_feed),
        ],
        vec![
            "Sign-in log (where people signed in from)".to_owned(),
            feed(h.signin_records, h.signins),
        ],
    ];
    for source in &h.sources {
        rows.push(vec![
            format!(
                "Last successful collection ({})",
                source_words(&source.source)
            ),
            match (&source.last_success, &source.last_error) {
                (_, Some(error)) => format!("failing: {error}"),
                (Some(at), None) => at.format("%-d %b %Y %H:%M UTC").to_string(),
                (None, None) => "never".into(),
            },
        ]);
    }
    rows.push(vec![
        "Days without any record".into(),
        h.silent_days.to_string(),
    ]);
    rows.push(vec![
        "Malformed records set aside".into(),
        h.quarantined.to_string(),
    ]);
    out.push(Block::Table(vec!["Check".into(), "State".into()], rows));
    if !h.credentials || h.audit_records == 0 || h.signin_records == 0 || h.silent_days > 0 {
        out.push(Block::Paragraph(
            "tokenwatch can only spot what the logs show: a missing log or days without \
             records are blind spots. Your IT provider can fix them."
                .into(),
        ));
    }
    let mut note = String::from(
        "Time to detect runs from the activity that gave a session away to the alert; time to \
         respond from the alert to the first response (an account action or a decision on the \
         alert).",
    );
    if let (Some((_, detect90)), false) = (r.minutes_to_detect, r.backfilled) {
        note.push_str(&format!(
            " Nine alerts in ten came within {}.",
            duration(detect90)
        ));
    }
    if r.backfilled {
        note.push_str(
            " This month's logs were imported after the fact, so detection times are not shown.",
        );
    }
    out.push(Block::Note(note));
    out
}

fn summary(
    r: &MonthlyReport,
    month: &str,
    total: i64,
    confirmed: i64,
    false_alarms: i64,
    pending: i64,
) -> String {
    let mut text = format!(
        "In {month} tokenwatch watched {} sign-in sessions of {} people ({} records from \
         Microsoft 365). ",
        thousands(r.sessions_watched),
        thousands(r.users_active),
        thousands(r.records)
    );
    if total == 0 {
        text.push_str("None of them looked stolen.");
        return text;
    }
    text.push_str(&format!(
        "It raised {} about sessions that looked stolen: ",
        plural(total, "alert", "alerts")
    ));
    let mut parts = Vec::new();
    if confirmed > 0 {
        parts.push(format!(
            "{} confirmed as {} and dealt with",
            confirmed,
            if confirmed == 1 {
                "a compromise"
            } else {
                "compromises"
            }
        ));
    }
    if false_alarms > 0 {
        parts.push(format!("{} turned out harmless", false_alarms));
    }
    if pending > 0 {
        parts.push(format!("{pending} still being looked at"));
    }
    text.push_str(&join_words(&parts));
    text.push('.');
    text
}

fn join_words(parts: &[String]) -> String {
    match parts {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

fn plural(n: i64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// `1234567` → `1,234,567`.
pub(crate) fn thousands(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 { format!("-{out}") } else { out }
}

/// Minutes in the largest unit that reads naturally.
fn duration(minutes: f64) -> String {
    if minutes < 1.0 {
        "under a minute".into()
    } else if minutes < 120.0 {
        format!("{} min", minutes.round())
    } else if minutes < 48.0 * 60.0 {
        format!("{:.1} hours", minutes / 60.0)
    } else {
        format!("{:.1} days", minutes / 1440.0)
    }
}

fn month_name(month: &str) -> String {
    NaiveDate::parse_from_str(&format!("{month}-01"), "%Y-%m-%d")
        .map(|d| d.format("%B %Y").to_string())
        .unwrap_or_else(|_| month.to_owned())
}

/// A log's state: records received (from the connectors or sent in), or why none.
fn feed(records: i64, collected: bool) -> String {
    match (records, collected) {
        (0, true) => "collected, but NO RECORDS this month".into(),
        (0, false) => "NOT COLLECTED".into(),
        (n, _) => format!("{} records", thousands(n)),
    }
}

fn yes_no(ok: bool, yes: &str, no: &str) -> String {
    if ok {
        yes.to_owned()
    } else {
        no.to_uppercase()
    }
}

fn action_words(kind: &str) -> &str {
    match kind {
        "revoke_sessions" => "Signed the person out everywhere (sessions revoked)",
        "disable_user" => "Blocked the account",
        "enable_user" => "Unblocked the account",
        "confirm_compromised" => "Flagged the account as compromised to Microsoft",
        other => other,
    }
}

fn source_words(source: &str) -> &str {
    match source {
        "activity" => "audit log",
        "signins" => "sign-in log",
        other => other,
    }
}

fn capitalized(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_and_durations_read_naturally() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(1234567), "1,234,567");
        assert_eq!(thousands(-1000), "-1,000");
        assert_eq!(duration(0.4), "under a minute");
        assert_eq!(duration(7.6), "8 min");
        assert_eq!(duration(180.0), "3.0 hours");
        assert_eq!(duration(4320.0), "3.0 days");
        assert_eq!(month_name("2026-11"), "November 2026");
        assert_eq!(
            join_words(&["a".into(), "b".into(), "c".into()]),
            "a, b and c"
        );
    }
}
