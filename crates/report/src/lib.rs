//! Monthly customer reports: what tokenwatch watched in a tenant's month, what it found, how
//! fast, what was done, and how healthy the tenant's data feed was — in words an office
//! manager reads, with two charts.
//!
//! One [`MonthlyReport`] (the facts, gathered by storage) becomes a list of [`Block`]s (the
//! words and charts, `content`), which render as self-contained HTML (`html`) or as PDF
//! (`pdf`, written directly with the PDF standard fonts: nothing to install, no browser).

mod content;
mod html;
mod pdf;

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

pub use crate::content::blocks;

/// A tenant's month, as facts.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MonthlyReport {
    /// The tenant's id.
    pub tenant_id: String,
    /// Its name.
    pub tenant_name: String,
    /// `YYYY-MM`.
    pub month: String,
    /// When the report was made.
    pub generated_at: DateTime<Utc>,
    /// People with activity in the month.
    pub users_active: i64,
    /// Sign-in sessions watched.
    pub sessions_watched: i64,
    /// Audit and sign-in records read.
    pub records: i64,
    /// Records per day.
    pub records_per_day: Vec<(NaiveDate, i64)>,
    /// Findings raised in the month, by severity (`critical`...`low`).
    pub findings_by_severity: BTreeMap<String, i64>,
    /// Their outcome: `true_positive`, `false_positive`, `benign`, `open`, `acknowledged`.
    pub outcomes: BTreeMap<String, i64>,
    /// Minutes from the suspicious activity to the finding, median and 90th percentile.
    pub minutes_to_detect: Option<(f64, f64)>,
    /// Most findings came from logs imported after the fact: detection times say nothing.
    pub backfilled: bool,
    /// Minutes from the finding to the first response (an action done or a verdict).
    pub minutes_to_respond: Option<(f64, f64)>,
    /// Actions on users, by kind (`revoke_sessions`...) and result (`succeeded`, `failed`,
    /// `pending`, `rejected`, `cancelled`).
    pub actions: BTreeMap<String, BTreeMap<String, i64>>,
    /// The users with the most findings.
    pub top_users: Vec<TopUser>,
    /// The data feed.
    pub health: Health,
}

/// A user with findings.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TopUser {
    /// Who.
    pub user: String,
    /// How many findings.
    pub findings: i64,
    /// The most severe.
    pub highest: String,
    /// Confirmed compromises among them.
    pub confirmed: i64,
}

/// How well the tenant's logs reached tokenwatch.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Health {
    /// Microsoft Graph credentials are stored.
    pub credentials: bool,
    /// The audit log (Management Activity API) is pulled.
    pub activity_feed: bool,
    /// Entra sign-in logs are pulled.
    pub signins: bool,
    /// Audit records (what people did) received in the month, however they came.
    pub audit_records: i64,
    /// Sign-in records received in the month.
    pub signin_records: i64,
    /// Each source the connectors pull.
    pub sources: Vec<SourceHealth>,
    /// Records refused as malformed in the month (kept in quarantine).
    pub quarantined: i64,
    /// Days of the month with no record at all.
    pub silent_days: i64,
}

/// One log source's state.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceHealth {
    /// `activity` or `signins`.
    pub source: String,
    /// Last successful pull.
    pub last_success: Option<DateTime<Utc>>,
    /// Its last error, if the last pull failed.
    pub last_error: Option<String>,
}

/// One piece of a report, as both renderers draw it.
#[derive(Debug, Clone, PartialEq)]
pub enum Block {
    /// The report's title and the line under it.
    Title(String, String),
    /// A section heading.
    Heading(String),
    /// Running text.
    Paragraph(String),
    /// Big numbers with their labels.
    Figures(Vec<(String, String)>),
    /// Labelled horizontal bars (label, value, colour as `#rrggbb`).
    Bars(Vec<(String, i64, String)>),
    /// A column per day (label, value), with a caption.
    Columns(String, Vec<(String, i64)>),
    /// A table: headers, rows.
    Table(Vec<String>, Vec<Vec<String>>),
    /// A short remark in small print.
    Note(String),
}

impl MonthlyReport {
    /// The report as a self-contained HTML page.
    pub fn to_html(&self) -> String {
        html::render(&blocks(self), &self.footer())
    }

    /// The report as a PDF document.
    pub fn to_pdf(&self) -> Vec<u8> {
        pdf::render(&blocks(self), &self.footer())
    }

    fn footer(&self) -> String {
        format!(
            "tokenwatch monthly report · {} · {}",
            self.tenant_name, self.month
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> MonthlyReport {
        let day = |d| NaiveDate::from_ymd_opt(2026, 11, d).unwrap();
        MonthlyReport {
            tenant_id: "t-1".into(),
            tenant_name: "Contoso Ltd".into(),
            month: "2026-11".into(),
            generated_at: "2026-12-01T06:00:00Z".parse().unwrap(),
            users_active: 42,
            sessions_watched: 1234,
            records: 56789,
            records_per_day: (1..=30).map(|d| (day(d), i64::from(d) * 100)).collect(),
            findings_by_severity: [("high".into(), 2), ("medium".into(), 3)].into(),
            outcomes: [
                ("true_positive".into(), 1),
                ("false_positive".into(), 3),
                ("open".into(), 1),
            ]
            .into(),
            minutes_to_detect: Some((6.0, 14.0)),
            backfilled: false,
            minutes_to_respond: Some((35.0, 90.0)),
            actions: [("revoke_sessions".into(), [("succeeded".into(), 1)].into())].into(),
            top_users: vec![TopUser {
                user: "adele@contoso.com".into(),
                findings: 2,
                highest: "high".into(),
                confirmed: 1,
            }],
            health: Health {
                credentials: true,
                activity_feed: true,
                signins: false,
                audit_records: 50000,
                signin_records: 0,
                sources: vec![],
                quarantined: 3,
                silent_days: 0,
            },
        }
    }

    #[test]
    fn a_month_reads_in_plain_words_in_both_formats() {
        let report = sample();
        let round_trip: MonthlyReport =
            serde_json::from_str(&serde_json::to_string(&report).unwrap()).unwrap();
        assert_eq!(round_trip, report);
        let html = report.to_html();
        assert!(html.contains("<h1>Security report for Contoso Ltd</h1>"));
        assert!(html.contains(
            "In November 2026 tokenwatch watched 1,234 sign-in sessions of 42 people (56,789 \
             records from Microsoft 365). It raised 5 alerts about sessions that looked stolen: \
             1 confirmed as a compromise and dealt with, 3 turned out harmless and 1 still being \
             looked at."
        ));
        assert!(html.contains("Signed the person out everywhere"));
        assert!(
            html.contains("NOT COLLECTED"),
            "the missing sign-in log is called out"
        );
        assert!(!html.contains("<script"));
        let pdf = report.to_pdf();
        let text = String::from_utf8(pdf).unwrap();
        assert!(text.contains("(Security report for Contoso Ltd) Tj"));
        assert!(
            text.contains("/Count 2") || text.contains("/Count 1"),
            "{}",
            &text[..200]
        );
    }
}
