//! Findings (one per tenant, user and session), their incidents, status workflow and history.
//!
//! Every change that subscribers should hear about is announced with `pg_notify` on
//! [`FINDINGS_CHANNEL`] inside the transaction that makes it, so a notification is sent exactly
//! when the change commits, and never for one that rolled back.

use chrono::{DateTime, Utc};
use sqlx::postgres::PgRow;
use sqlx::{AssertSqlSafe, Row};
use tokenwatch_types::{FindingId, FindingStatus, IncidentId, Severity, TenantId};
use uuid::Uuid;

use crate::error::parse_stored;
use crate::{StorageError, StorageResult, TenantTx, page};

/// The Postgres channel finding changes are announced on, as `tenant finding change`.
pub const FINDINGS_CHANNEL: &str = "tokenwatch_findings";

/// A finding as the pipeline writes it.
#[derive(Debug, Clone)]
pub struct FindingWrite {
    /// Stable id (derived from tenant, user and session).
    pub finding_id: FindingId,
    /// Stable id of the user's incident.
    pub incident_id: IncidentId,
    /// User.
    pub user_id: String,
    /// Session.
    pub session_id: String,
    /// Score.
    pub score: f64,
    /// Threshold in force.
    pub threshold: f64,
    /// How bad it is.
    pub severity: Severity,
    /// Session window.
    pub first_seen: DateTime<Utc>,
    /// Session window.
    pub last_seen: DateTime<Utc>,
    /// Event time of the record that made it a finding.
    pub detected_at: DateTime<Utc>,
    /// Weight-set version.
    pub weight_version: i64,
    /// Reasons and evidence, as the engine explains them.
    pub explanation: serde_json::Value,
}

/// A stored finding.
#[derive(Debug, Clone)]
pub struct StoredFinding {
    /// Tenant.
    pub tenant_id: TenantId,
    /// What the pipeline wrote.
    pub finding: FindingWrite,
    /// Where it is in triage.
    pub status: FindingStatus,
    /// When it was first stored.
    pub create_time: DateTime<Utc>,
    /// When it last changed.
    pub update_time: DateTime<Utc>,
}

/// What an upsert did, and what subscribers hear.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Upserted {
    /// A new finding.
    Created,
    /// Its severity rose.
    Escalated,
    /// Score, window or evidence changed.
    Updated,
    /// Nothing changed (a replay wrote what was there).
    Unchanged,
}

impl Upserted {
    /// The name subscribers see.
    pub fn as_str(self) -> &'static str {
        match self {
            Upserted::Created => "created",
            Upserted::Escalated => "escalated",
            Upserted::Updated => "updated",
            Upserted::Unchanged => "unchanged",
        }
    }
}

/// One status change, from the audit trail.
#[derive(Debug, Clone)]
pub struct StatusChange {
    /// Before.
    pub from: FindingStatus,
    /// After.
    pub to: FindingStatus,
    /// Who.
    pub actor: String,
    /// Why.
    pub comment: String,
    /// When.
    pub time: DateTime<Utc>,
}

const COLUMNS: &str = "tenant_id, finding_id, incident_id, user_id, session_id, score, \
    threshold, severity, status, first_seen_time, last_seen_time, detected_at, weight_version, \
    explanation, create_time, update_time";

/// Writes a finding and its incident; tells subscribers when it is new or escalated.
pub async fn upsert_finding(
    tx: &mut TenantTx,
    tenant: TenantId,
    finding: &FindingWrite,
) -> StorageResult<Upserted> {
    let previous: Option<(f64, String, DateTime<Utc>, serde_json::Value)> = sqlx::query_as(
        "SELECT score, severity, last_seen_time, explanation FROM findings \
         WHERE tenant_id = $1 AND user_id = $2 AND session_id = $3 FOR UPDATE",
    )
    .bind(tenant.as_uuid())
    .bind(&finding.user_id)
    .bind(&finding.session_id)
    .fetch_optional(&mut **tx)
    .await?;
    let change = match &previous {
        None => Upserted::Created,
        Some((score, severity, last_seen, explanation)) => {
            if finding.severity > parse_stored::<Severity>(severity)? {
                Upserted::Escalated
            } else if *score == finding.score
                && *last_seen == finding.last_seen
                && *explanation == finding.explanation
            {
                return Ok(Upserted::Unchanged);
            } else {
                Upserted::Updated
            }
        }
    };
    crate::incidents::note_finding(tx, tenant, finding).await?;
    sqlx::query(
        "INSERT INTO findings (tenant_id, finding_id, incident_id, user_id, session_id, score, \
                               threshold, severity, first_seen_time, last_seen_time, \
                               detected_at, weight_version, explanation) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) \
         ON CONFLICT (tenant_id, user_id, session_id) DO UPDATE SET \
           score = excluded.score, threshold = excluded.threshold, \
           severity = excluded.severity, first_seen_time = excluded.first_seen_time, \
           last_seen_time = excluded.last_seen_time, detected_at = excluded.detected_at, \
           weight_version = excluded.weight_version, explanation = excluded.explanation, \
           update_time = now()",
    )
    .bind(tenant.as_uuid())
    .bind(finding.finding_id.as_uuid())
    .bind(finding.incident_id.as_uuid())
    .bind(&finding.user_id)
    .bind(&finding.session_id)
    .bind(finding.score)
    .bind(finding.threshold)
    .bind(finding.severity.as_str())
    .bind(finding.first_seen)
    .bind(finding.last_seen)
    .bind(finding.detected_at)
    .bind(finding.weight_version)
    .bind(&finding.explanation)
    .execute(&mut **tx)
    .await?;
    crate::incidents::refresh_severity(tx, tenant, finding.incident_id).await?;
    if matches!(change, Upserted::Created | Upserted::Escalated) {
        notify(tx, tenant, finding.finding_id, change.as_str()).await?;
        // A creation happens once per life of the row: after a retraction the finding found
        // again is news again. An escalation to a severity is news once.
        let key = match change {
            Upserted::Created => {
                format!("finding:{}:created:{}", finding.finding_id, Uuid::new_v4())
            }
            _ => format!(
                "finding:{}:{}:{}",
                finding.finding_id,
                change.as_str(),
                finding.severity
            ),
        };
        crate::notifications::enqueue(
            tx,
            &key,
            &format!("finding.{}", change.as_str()),
            finding.severity.as_str(),
            &finding_event(tenant, finding),
        )
        .await?;
    }
    Ok(change)
}

/// A finding as webhooks receive it: what an analyst needs to decide, not the whole evidence.
fn finding_event(tenant: TenantId, finding: &FindingWrite) -> serde_json::Value {
    let explanation = &finding.explanation;
    let reasons: Vec<serde_json::Value> = explanation["reasons"]
        .as_array()
        .map(|reasons| {
            reasons
                .iter()
                .take(5)
                .map(|r| {
                    serde_json::json!({
                        "feature": r["feature"], "contribution": r["contribution"],
                        "baseline": r["baseline"],
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    serde_json::json!({
        "id": finding.finding_id,
        "tenant_id": tenant.to_string(),
        "incident_id": finding.incident_id,
        "user": finding.user_id,
        "session_id": finding.session_id,
        "severity": finding.severity,
        "score": finding.score,
        "threshold": finding.threshold,
        "first_seen": finding.first_seen,
        "last_seen": finding.last_seen,
        "detected_at": finding.detected_at,
        "reasons": reasons,
        "networks": explanation["evidence"]["networks"],
        "countries": explanation["evidence"]["countries"],
    })
}

async fn notify(
    tx: &mut TenantTx,
    tenant: TenantId,
    finding_id: FindingId,
    change: &str,
) -> StorageResult<()> {
    sqlx::query("SELECT pg_notify($1, $2)")
        .bind(FINDINGS_CHANNEL)
        .bind(format!("{tenant} {finding_id} {change}"))
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Removes the open, untouched findings detected after `after` that a replay no longer
/// produces (`kept`); returns how many. Findings an analyst has moved are kept.
pub async fn retract_findings(
    tx: &mut TenantTx,
    tenant: TenantId,
    after: DateTime<Utc>,
    kept: &[FindingId],
) -> StorageResult<u64> {
    let kept: Vec<Uuid> = kept.iter().map(FindingId::as_uuid).collect();
    let retracted: Vec<(Uuid, Uuid, String, String, String)> = sqlx::query_as(
        "DELETE FROM findings WHERE tenant_id = $1 AND detected_at > $2 AND status = 'open' \
           AND NOT finding_id = ANY($3) \
         RETURNING finding_id, incident_id, user_id, session_id, severity",
    )
    .bind(tenant.as_uuid())
    .bind(after)
    .bind(&kept)
    .fetch_all(&mut **tx)
    .await?;
    for (finding_id, incident_id, user, session, severity) in &retracted {
        audit(
            tx,
            "tokenwatch-pipeline",
            "finding.retracted",
            FindingId::from_uuid(*finding_id),
            serde_json::json!({"reason": "late records replayed; the session no longer scores"}),
        )
        .await?;
        crate::incidents::remove_if_empty(tx, tenant, IncidentId::from_uuid(*incident_id)).await?;
        // Told, so whoever heard of the finding (a webhook, a PSA ticket) hears it is gone.
        let open: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM findings WHERE tenant_id = $1 AND incident_id = $2 \
               AND status IN ('open', 'acknowledged')",
        )
        .bind(tenant.as_uuid())
        .bind(incident_id)
        .fetch_one(&mut **tx)
        .await?;
        crate::notifications::enqueue(
            tx,
            &format!("finding:{finding_id}:retracted:{}", Uuid::new_v4()),
            "finding.retracted",
            severity,
            &serde_json::json!({
                "id": finding_id,
                "tenant_id": tenant.to_string(),
                "incident_id": incident_id,
                "user": user,
                "session_id": session,
                "severity": severity,
                "reason": "records that arrived late were replayed; the session no longer scores",
                "open_findings_in_incident": open,
            }),
        )
        .await?;
    }
    Ok(retracted.len() as u64)
}

async fn audit(
    tx: &mut TenantTx,
    actor: &str,
    action: &str,
    finding_id: FindingId,
    details: serde_json::Value,
) -> StorageResult<()> {
    crate::audit::record(
        tx,
        actor,
        action,
        ("finding", &finding_id.to_string()),
        details,
    )
    .await
}

/// One finding.
pub async fn get_finding(tx: &mut TenantTx, finding_id: FindingId) -> StorageResult<StoredFinding> {
    let row = sqlx::query(AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM findings \
         WHERE tenant_id = tokenwatch_current_tenant() AND finding_id = $1"
    )))
    .bind(finding_id.as_uuid())
    .fetch_optional(&mut **tx)
    .await?
    .ok_or_else(|| StorageError::NotFound {
        kind: "finding",
        id: finding_id.to_string(),
    })?;
    finding_of_row(&row)
}

/// The open findings changed since `since`, oldest change first (at most 1,000).
pub async fn open_since(
    tx: &mut TenantTx,
    since: DateTime<Utc>,
) -> StorageResult<Vec<StoredFinding>> {
    let rows = sqlx::query(AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM findings WHERE tenant_id = tokenwatch_current_tenant() \
           AND status = 'open' AND update_time >= $1 ORDER BY update_time LIMIT 1000"
    )))
    .bind(since)
    .fetch_all(&mut **tx)
    .await?;
    rows.iter().map(finding_of_row).collect()
}

/// One finding of any of the transaction's readable tenants (for the findings stream).
pub async fn get_finding_in(
    tx: &mut TenantTx,
    tenant: TenantId,
    finding_id: FindingId,
) -> StorageResult<Option<StoredFinding>> {
    let row = sqlx::query(AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM findings WHERE tenant_id = $1 AND finding_id = $2"
    )))
    .bind(tenant.as_uuid())
    .bind(finding_id.as_uuid())
    .fetch_optional(&mut **tx)
    .await?;
    row.as_ref().map(finding_of_row).transpose()
}

/// Moves a finding to `status`, audited and announced; returns the finding after the change.
pub async fn update_status(
    tx: &mut TenantTx,
    tenant: TenantId,
    finding_id: FindingId,
    status: FindingStatus,
    actor: &str,
    comment: &str,
) -> StorageResult<StoredFinding> {
    let status_kind = status;
    let status = status.as_str();
    let from: String = sqlx::query_scalar(
        "SELECT status FROM findings WHERE tenant_id = $1 AND finding_id = $2 FOR UPDATE",
    )
    .bind(tenant.as_uuid())
    .bind(finding_id.as_uuid())
    .fetch_optional(&mut **tx)
    .await?
    .ok_or_else(|| StorageError::NotFound {
        kind: "finding",
        id: finding_id.to_string(),
    })?;
    if from != status {
        sqlx::query(
            "UPDATE findings SET status = $3, update_time = now() \
             WHERE tenant_id = $1 AND finding_id = $2",
        )
        .bind(tenant.as_uuid())
        .bind(finding_id.as_uuid())
        .bind(status)
        .execute(&mut **tx)
        .await?;
        audit(
            tx,
            actor,
            "finding.status",
            finding_id,
            serde_json::json!({"from": from, "to": status, "comment": comment}),
        )
        .await?;
        notify(tx, tenant, finding_id, "status_changed").await?;
        let was_resolved = parse_stored::<FindingStatus>(&from)?.is_resolved();
        if !was_resolved && status_kind.is_resolved() {
            enqueue_resolved(tx, tenant, finding_id, actor, comment).await?;
        }
    }
    get_finding(tx, finding_id).await
}

/// Tells webhooks and the PSA that a verdict resolved a finding, and how many of its
/// incident's findings are still open (none: the incident's ticket may close).
async fn enqueue_resolved(
    tx: &mut TenantTx,
    tenant: TenantId,
    finding_id: FindingId,
    actor: &str,
    comment: &str,
) -> StorageResult<()> {
    let stored = get_finding(tx, finding_id).await?;
    let finding = &stored.finding;
    let statuses: Vec<String> =
        sqlx::query_scalar("SELECT status FROM findings WHERE tenant_id = $1 AND incident_id = $2")
            .bind(tenant.as_uuid())
            .bind(finding.incident_id.as_uuid())
            .fetch_all(&mut **tx)
            .await?;
    let mut open = 0;
    for status in &statuses {
        if !parse_stored::<FindingStatus>(status)?.is_resolved() {
            open += 1;
        }
    }
    crate::notifications::enqueue(
        tx,
        &format!("finding:{finding_id}:resolved"),
        "finding.resolved",
        finding.severity.as_str(),
        &serde_json::json!({
            "id": finding_id,
            "tenant_id": tenant.to_string(),
            "incident_id": finding.incident_id,
            "user": finding.user_id,
            "session_id": finding.session_id,
            "severity": finding.severity,
            "status": stored.status.as_str(),
            "resolved_by": actor,
            "comment": comment,
            "open_findings_in_incident": open,
        }),
    )
    .await
}

/// Every status change of a finding, oldest first.
pub async fn status_history(
    tx: &mut TenantTx,
    finding_id: FindingId,
) -> StorageResult<Vec<StatusChange>> {
    let rows: Vec<(String, serde_json::Value, DateTime<Utc>)> = sqlx::query_as(
        "SELECT actor, details, occurred_at FROM audit_log \
         WHERE tenant_id = tokenwatch_current_tenant() AND object_kind = 'finding' \
           AND object_id = $1 AND action = 'finding.status' \
         ORDER BY audit_id",
    )
    .bind(finding_id.to_string())
    .fetch_all(&mut **tx)
    .await?;
    let text = |details: &serde_json::Value, key: &str| {
        details
            .get(key)
            .and_then(|v| v.as_str())
            .unwrap_or_default()
            .to_owned()
    };
    rows.into_iter()
        .map(|(actor, details, time)| {
            Ok(StatusChange {
                from: parse_stored(&text(&details, "from"))?,
                to: parse_stored(&text(&details, "to"))?,
                actor,
                comment: text(&details, "comment"),
                time,
            })
        })
        .collect()
}

/// Open and acknowledged findings (what a weight change re-scores).
pub async fn unresolved(tx: &mut TenantTx) -> StorageResult<Vec<StoredFinding>> {
    let rows = sqlx::query(AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM findings WHERE tenant_id = tokenwatch_current_tenant() \
           AND status = ANY($1) ORDER BY finding_id"
    )))
    .bind(
        FindingStatus::ALL
            .into_iter()
            .filter(|s| !s.is_resolved())
            .map(FindingStatus::as_str)
            .collect::<Vec<_>>(),
    )
    .fetch_all(&mut **tx)
    .await?;
    rows.iter().map(finding_of_row).collect()
}

/// Stores a finding's new score under other weights (its session and evidence unchanged).
pub async fn update_scoring(
    tx: &mut TenantTx,
    finding_id: FindingId,
    score: f64,
    threshold: f64,
    severity: Severity,
    weight_version: i64,
    explanation: &serde_json::Value,
) -> StorageResult<()> {
    sqlx::query(
        "UPDATE findings SET score = $2, threshold = $3, severity = $4, weight_version = $5, \
           explanation = $6, update_time = now() \
         WHERE tenant_id = tokenwatch_current_tenant() AND finding_id = $1",
    )
    .bind(finding_id.as_uuid())
    .bind(score)
    .bind(threshold)
    .bind(severity.as_str())
    .bind(weight_version)
    .bind(explanation)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// The order findings are listed in.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum FindingOrder {
    /// Newest activity first.
    #[default]
    Recent,
    /// Most severe first, then newest activity.
    Severity,
}

/// Severity as a number to order by (critical highest).
const SEVERITY_RANK: &str = "(CASE severity WHEN 'critical' THEN 5 WHEN 'high' THEN 4 \
     WHEN 'medium' THEN 3 WHEN 'low' THEN 2 ELSE 1 END)";

/// What to list.
#[derive(Debug, Clone, Default)]
pub struct FindingFilter {
    /// Only this user.
    pub user_id: Option<String>,
    /// Only these severities (empty: any).
    pub severities: Vec<Severity>,
    /// Only these statuses (empty: any).
    pub statuses: Vec<FindingStatus>,
    /// Only sessions active at or after this.
    pub active_from: Option<DateTime<Utc>>,
    /// Only sessions active before this.
    pub active_until: Option<DateTime<Utc>>,
    /// The order of the listing (a page token belongs to one order).
    pub order: FindingOrder,
}

/// One page of findings.
#[derive(Debug)]
pub struct FindingPage {
    /// Newest activity first.
    pub findings: Vec<StoredFinding>,
    /// Where the next page starts; `None` at the end.
    pub next_page_token: Option<String>,
}

/// Findings of the transaction's readable tenants, in the filter's order.
pub async fn list_findings(
    tx: &mut TenantTx,
    tenants: &[TenantId],
    filter: &FindingFilter,
    page_size: usize,
    page_token: &str,
) -> StorageResult<FindingPage> {
    // A severity-ordered listing's token starts with the last row's rank: `s4/<recent token>`.
    let (rank_after, recent_token) = match filter.order {
        FindingOrder::Recent if page_token.starts_with('s') => {
            return Err(StorageError::InvalidPageToken);
        }
        FindingOrder::Recent => (None, page_token),
        FindingOrder::Severity if page_token.is_empty() => (None, ""),
        FindingOrder::Severity => {
            let (rank, rest) = page_token
                .strip_prefix('s')
                .and_then(|t| t.split_once('/'))
                .ok_or(StorageError::InvalidPageToken)?;
            let rank: i32 = rank.parse().map_err(|_| StorageError::InvalidPageToken)?;
            (Some(rank), rest)
        }
    };
    let after = page::after_across(recent_token)?;
    let tenant_ids: Vec<Uuid> = tenants.iter().map(|t| t.as_uuid()).collect();
    let (after_clause, order_clause) = match filter.order {
        FindingOrder::Recent => (
            "(last_seen_time, tenant_id, finding_id) < ($7, $8, $9)".to_owned(),
            "last_seen_time DESC, tenant_id DESC, finding_id DESC".to_owned(),
        ),
        FindingOrder::Severity => (
            format!("({SEVERITY_RANK}, last_seen_time, tenant_id, finding_id) < ($11, $7, $8, $9)"),
            format!("{SEVERITY_RANK} DESC, last_seen_time DESC, tenant_id DESC, finding_id DESC"),
        ),
    };
    let query = sqlx::query(AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM findings \
         WHERE tenant_id = ANY($1) \
           AND ($2::text IS NULL OR user_id = $2) \
           AND (cardinality($3::text[]) = 0 OR severity = ANY($3)) \
           AND (cardinality($4::text[]) = 0 OR status = ANY($4)) \
           AND ($5::timestamptz IS NULL OR last_seen_time >= $5) \
           AND ($6::timestamptz IS NULL OR first_seen_time < $6) \
           AND ($7::timestamptz IS NULL OR {after_clause}) \
         ORDER BY {order_clause} \
         LIMIT $10"
    )))
    .bind(&tenant_ids)
    .bind(filter.user_id.as_deref())
    .bind(names(&filter.severities, |s| s.as_str()))
    .bind(names(&filter.statuses, |s| s.as_str()))
    .bind(filter.active_from)
    .bind(filter.active_until)
    .bind(after.map(|a| a.0))
    .bind(after.map(|a| a.1))
    .bind(after.map(|a| a.2))
    .bind(page_size as i64 + 1);
    let query = match filter.order {
        FindingOrder::Recent => query,
        FindingOrder::Severity => query.bind(rank_after.unwrap_or(i32::MAX)),
    };
    let rows = query.fetch_all(&mut **tx).await?;
    let mut findings = rows
        .iter()
        .map(finding_of_row)
        .collect::<StorageResult<Vec<_>>>()?;
    let next_page_token = page::next_across(&mut findings, page_size, |f| {
        (
            f.finding.last_seen,
            f.tenant_id.as_uuid(),
            f.finding.finding_id.as_uuid(),
        )
    })
    .map(|token| match (filter.order, findings.last()) {
        (FindingOrder::Severity, Some(last)) => format!("s{}/{token}", rank(last.finding.severity)),
        _ => token,
    });
    Ok(FindingPage {
        findings,
        next_page_token,
    })
}

/// The rank [`SEVERITY_RANK`] gives a severity.
fn rank(severity: Severity) -> i32 {
    match severity {
        Severity::Critical => 5,
        Severity::High => 4,
        Severity::Medium => 3,
        Severity::Low => 2,
        Severity::Info => 1,
    }
}

fn names<T: Copy>(values: &[T], name: impl Fn(T) -> &'static str) -> Vec<&'static str> {
    values.iter().map(|v| name(*v)).collect()
}

fn finding_of_row(row: &PgRow) -> StorageResult<StoredFinding> {
    let tenant: Uuid = row.try_get("tenant_id")?;
    Ok(StoredFinding {
        tenant_id: TenantId::from_uuid(tenant),
        finding: FindingWrite {
            finding_id: FindingId::from_uuid(row.try_get("finding_id")?),
            incident_id: IncidentId::from_uuid(row.try_get("incident_id")?),
            user_id: row.try_get("user_id")?,
            session_id: row.try_get("session_id")?,
            score: row.try_get("score")?,
            threshold: row.try_get("threshold")?,
            severity: parse_stored(row.try_get("severity")?)?,
            first_seen: row.try_get("first_seen_time")?,
            last_seen: row.try_get("last_seen_time")?,
            detected_at: row.try_get("detected_at")?,
            weight_version: row.try_get("weight_version")?,
            explanation: row.try_get("explanation")?,
        },
        status: parse_stored(row.try_get("status")?)?,
        create_time: row.try_get("create_time")?,
        update_time: row.try_get("update_time")?,
    })
}
