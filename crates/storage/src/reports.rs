//! Monthly reports: a tenant's month gathered into [`MonthlyReport`] facts, and the reports
//! made on the first of each month, kept.

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use tokenwatch_report::{Health, MonthlyReport, SourceHealth, TopUser};
use tokenwatch_types::{FindingStatus, Severity};

use crate::error::parse_stored;
use crate::{StorageResult, TenantTx};

/// People listed as most targeted.
const TOP_USERS: usize = 5;
/// When most findings came more than this long after their activity, the logs were imported
/// after the fact.
const BACKFILL_MINUTES: f64 = 24.0 * 60.0;

/// A finding of the month: user, severity, status, when its activity happened, when it was
/// raised, when it was first answered.
type FindingRow = (
    String,
    String,
    String,
    DateTime<Utc>,
    DateTime<Utc>,
    Option<DateTime<Utc>>,
);
/// A log source: its name, last success, last error and when.
type PullRow = (
    String,
    Option<DateTime<Utc>>,
    Option<String>,
    Option<DateTime<Utc>>,
);

/// The first instant of `month` (`YYYY-MM`) and of the month after.
pub fn month_bounds(month: &str) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
    let digits = |part: &str, n: usize| part.len() == n && part.bytes().all(|b| b.is_ascii_digit());
    match month.split_once('-') {
        Some((year, number)) if digits(year, 4) && digits(number, 2) => {}
        _ => return None,
    }
    let first = NaiveDate::parse_from_str(&format!("{month}-01"), "%Y-%m-%d").ok()?;
    let next = if first.month() == 12 {
        NaiveDate::from_ymd_opt(first.year() + 1, 1, 1)?
    } else {
        NaiveDate::from_ymd_opt(first.year(), first.month() + 1, 1)?
    };
    Some((
        first.and_hms_opt(0, 0, 0)?.and_utc(),
        next.and_hms_opt(0, 0, 0)?.and_utc(),
    ))
}

/// Gathers the tenant's month (`YYYY-MM`, running over `bounds` from [`month_bounds`]).
pub async fn gather(
    tx: &mut TenantTx,
    tenant_name: &str,
    (month, bounds): (&str, (DateTime<Utc>, DateTime<Utc>)),
    now: DateTime<Utc>,
) -> StorageResult<MonthlyReport> {
    let (start, end) = bounds;
    let tenant_id: uuid::Uuid = sqlx::query_scalar("SELECT tokenwatch_current_tenant()")
        .fetch_one(&mut **tx)
        .await?;

    let per_day: Vec<(NaiveDate, i64)> = sqlx::query_as(
        "SELECT (event_time AT TIME ZONE 'UTC')::date, count(*) FROM events \
         WHERE tenant_id = tokenwatch_current_tenant() AND event_time >= $1 AND event_time < $2 \
         GROUP BY 1 ORDER BY 1",
    )
    .bind(start)
    .bind(end)
    .fetch_all(&mut **tx)
    .await?;
    let counted: BTreeMap<NaiveDate, i64> = per_day.into_iter().collect();
    let last_day = end.min(now).date_naive();
    let records_per_day: Vec<(NaiveDate, i64)> = start
        .date_naive()
        .iter_days()
        .take_while(|day| *day < end.date_naive())
        .map(|day| (day, counted.get(&day).copied().unwrap_or(0)))
        .collect();
    let silent_days = records_per_day
        .iter()
        .filter(|(day, n)| *n == 0 && *day < last_day)
        .count() as i64;
    let (users_active, sessions_watched, signin_records): (i64, i64, i64) = sqlx::query_as(
        "SELECT count(DISTINCT user_id), \
                count(DISTINCT (user_id, session_id)) FILTER (WHERE session_id IS NOT NULL), \
                count(*) FILTER (WHERE operation = 'SignIn') \
         FROM events \
         WHERE tenant_id = tokenwatch_current_tenant() AND event_time >= $1 AND event_time < $2",
    )
    .bind(start)
    .bind(end)
    .fetch_one(&mut **tx)
    .await?;

    // Findings whose tipping activity fell in the month, with when they were raised and when
    // they were first answered (an action done, or a status set).
    let findings: Vec<FindingRow> = sqlx::query_as(
        "SELECT f.user_id, f.severity, f.status, f.detected_at, f.create_time, \
                    LEAST( \
                      (SELECT min(a.update_time) FROM actions a \
                        WHERE a.tenant_id = f.tenant_id AND a.finding_id = f.finding_id \
                          AND a.state = 'succeeded'), \
                      (SELECT min(l.occurred_at) FROM audit_log l \
                        WHERE l.tenant_id = f.tenant_id AND l.object_kind = 'finding' \
                          AND l.object_id = f.finding_id::text AND l.action = 'finding.status')) \
             FROM findings f \
             WHERE f.tenant_id = tokenwatch_current_tenant() \
               AND f.detected_at >= $1 AND f.detected_at < $2",
    )
    .bind(start)
    .bind(end)
    .fetch_all(&mut **tx)
    .await?;
    let mut findings_by_severity = BTreeMap::new();
    let mut outcomes = BTreeMap::new();
    let mut detect = Vec::new();
    let mut respond = Vec::new();
    let mut users: BTreeMap<String, (i64, Severity, i64)> = BTreeMap::new();
    for (user, severity, status, detected_at, created, answered) in &findings {
        let severity: Severity = parse_stored(severity)?;
        let status: FindingStatus = parse_stored(status)?;
        *findings_by_severity
            .entry(severity.as_str().to_owned())
            .or_insert(0) += 1;
        *outcomes.entry(status.as_str().to_owned()).or_insert(0) += 1;
        detect.push(minutes(*created - *detected_at));
        if let Some(answered) = answered {
            respond.push(minutes(*answered - *created));
        }
        let entry = users.entry(user.clone()).or_insert((0, severity, 0));
        entry.0 += 1;
        entry.1 = entry.1.max(severity);
        if status == FindingStatus::TruePositive {
            entry.2 += 1;
        }
    }
    let minutes_to_detect = median_and_p90(&mut detect);
    let backfilled = minutes_to_detect.is_some_and(|(median, _)| median > BACKFILL_MINUTES);
    let mut top_users: Vec<TopUser> = users
        .into_iter()
        .map(|(user, (findings, highest, confirmed))| TopUser {
            user,
            findings,
            highest: highest.as_str().to_owned(),
            confirmed,
        })
        .collect();
    top_users.sort_by(|a, b| {
        b.findings
            .cmp(&a.findings)
            .then_with(|| {
                let rank = |s: &str| s.parse::<Severity>().unwrap_or(Severity::Info);
                rank(&b.highest).cmp(&rank(&a.highest))
            })
            .then_with(|| a.user.cmp(&b.user))
    });
    top_users.truncate(TOP_USERS);

    // Actions on the month's findings (whenever taken), and those on no finding taken in it.
    let action_rows: Vec<(String, String, i64)> = sqlx::query_as(
        "SELECT a.kind, a.state, count(*) FROM actions a \
         LEFT JOIN findings f ON f.tenant_id = a.tenant_id AND f.finding_id = a.finding_id \
         WHERE a.tenant_id = tokenwatch_current_tenant() AND NOT a.dry_run \
           AND CASE WHEN f.finding_id IS NULL THEN a.create_time >= $1 AND a.create_time < $2 \
                    ELSE f.detected_at >= $1 AND f.detected_at < $2 END \
         GROUP BY a.kind, a.state",
    )
    .bind(start)
    .bind(end)
    .fetch_all(&mut **tx)
    .await?;
    let mut actions: BTreeMap<String, BTreeMap<String, i64>> = BTreeMap::new();
    for (kind, state, n) in action_rows {
        let result = match state.as_str() {
            "proposed" | "approved" | "executing" => "pending",
            other => other,
        };
        *actions
            .entry(kind)
            .or_default()
            .entry(result.to_owned())
            .or_insert(0) += n;
    }

    let credentials: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM graph_credentials \
                        WHERE tenant_id = tokenwatch_current_tenant())",
    )
    .fetch_one(&mut **tx)
    .await?;
    let sources: Option<(bool, bool)> = sqlx::query_as(
        "SELECT activity_feed, signins FROM tenant_sources \
         WHERE tenant_id = tokenwatch_current_tenant()",
    )
    .fetch_optional(&mut **tx)
    .await?;
    let pulls: Vec<PullRow> = sqlx::query_as(
        "SELECT source, last_success_time, last_error, last_error_time FROM connector_sources \
             WHERE tenant_id = tokenwatch_current_tenant() ORDER BY source",
    )
    .fetch_all(&mut **tx)
    .await?;
    let quarantined: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM quarantine WHERE tenant_id = tokenwatch_current_tenant() \
           AND receive_time >= $1 AND receive_time < $2",
    )
    .bind(start)
    .bind(end)
    .fetch_one(&mut **tx)
    .await?;
    let (activity_feed, signins) = sources.unwrap_or((false, false));
    let records: i64 = records_per_day.iter().map(|(_, n)| n).sum();
    Ok(MonthlyReport {
        tenant_id: tenant_id.to_string(),
        tenant_name: tenant_name.to_owned(),
        month: month.to_owned(),
        generated_at: now,
        users_active,
        sessions_watched,
        records,
        records_per_day,
        findings_by_severity,
        outcomes,
        minutes_to_detect,
        backfilled,
        minutes_to_respond: median_and_p90(&mut respond),
        actions,
        top_users,
        health: Health {
            credentials,
            activity_feed,
            signins,
            audit_records: records - signin_records,
            signin_records,
            sources: pulls
                .into_iter()
                .map(|(source, last_success, error, error_time)| SourceHealth {
                    source,
                    // An error older than the last success is over.
                    last_error: error.filter(|_| error_time > last_success),
                    last_success,
                })
                .collect(),
            quarantined,
            silent_days,
        },
    })
}

fn minutes(duration: chrono::Duration) -> f64 {
    (duration.num_milliseconds() as f64 / 60_000.0).max(0.0)
}

fn median_and_p90(values: &mut [f64]) -> Option<(f64, f64)> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    let at = |q: f64| values[((values.len() - 1) as f64 * q).round() as usize];
    Some((at(0.5), at(0.9)))
}

/// A kept report.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct StoredReport {
    /// `YYYY-MM`.
    pub month: String,
    /// The facts it was made from.
    pub facts: serde_json::Value,
    /// As HTML.
    pub html: String,
    /// As PDF.
    pub pdf: Vec<u8>,
    /// When it was made.
    pub create_time: DateTime<Utc>,
}

/// Keeps a report; false when the month's was already kept (by another replica, say).
pub async fn keep(tx: &mut TenantTx, report: &StoredReport) -> StorageResult<bool> {
    Ok(sqlx::query(
        "INSERT INTO reports (tenant_id, month, facts, html, pdf) \
         VALUES (tokenwatch_current_tenant(), $1, $2, $3, $4) \
         ON CONFLICT (tenant_id, month) DO NOTHING",
    )
    .bind(&report.month)
    .bind(&report.facts)
    .bind(&report.html)
    .bind(&report.pdf)
    .execute(&mut **tx)
    .await?
    .rows_affected()
        > 0)
}

/// The month's kept report, if any.
pub async fn kept(tx: &mut TenantTx, month: &str) -> StorageResult<Option<StoredReport>> {
    Ok(sqlx::query_as(
        "SELECT month, facts, html, pdf, create_time FROM reports \
         WHERE tenant_id = tokenwatch_current_tenant() AND month = $1",
    )
    .bind(month)
    .fetch_optional(&mut **tx)
    .await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_run_from_their_first_instant_to_the_next_months() {
        let (start, end) = month_bounds("2026-12").unwrap();
        assert_eq!(start.to_rfc3339(), "2026-12-01T00:00:00+00:00");
        assert_eq!(end.to_rfc3339(), "2027-01-01T00:00:00+00:00");
        assert!(month_bounds("2026-13").is_none());
        assert!(month_bounds("26-1").is_none());
        let mut values = vec![5.0, 1.0, 3.0, 2.0, 4.0];
        assert_eq!(median_and_p90(&mut values), Some((3.0, 5.0)));
        assert_eq!(median_and_p90(&mut []), None);
    }
}
