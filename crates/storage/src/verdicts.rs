//! Analysts' verdicts on findings.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::{StorageResult, TenantTx};

/// A stored verdict.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct VerdictRow {
    /// Id.
    pub verdict_id: Uuid,
    /// The finding judged.
    pub finding_id: Uuid,
    /// `true_positive`, `false_positive` or `benign_true_positive`.
    pub kind: String,
    /// Why.
    pub comment: String,
    /// Who.
    pub analyst: String,
    /// The weight-set version in force when given.
    pub weight_version: i64,
    /// When.
    pub create_time: DateTime<Utc>,
}

/// Stores a verdict, audited.
pub async fn insert_verdict(tx: &mut TenantTx, verdict: &VerdictRow) -> StorageResult<()> {
    sqlx::query(
        "INSERT INTO verdicts (tenant_id, verdict_id, finding_id, kind, comment, analyst, \
                               weight_version, create_time) \
         VALUES (tokenwatch_current_tenant(), $1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(verdict.verdict_id)
    .bind(verdict.finding_id)
    .bind(&verdict.kind)
    .bind(&verdict.comment)
    .bind(&verdict.analyst)
    .bind(verdict.weight_version)
    .bind(verdict.create_time)
    .execute(&mut **tx)
    .await?;
    sqlx::query(
        "INSERT INTO audit_log (tenant_id, actor, action, object_kind, object_id, details) \
         VALUES (tokenwatch_current_tenant(), $1, 'verdict.submit', 'finding', $2, \
                 jsonb_build_object('verdict_id', $3::text, 'kind', $4::text, 'comment', $5::text))",
    )
    .bind(&verdict.analyst)
    .bind(verdict.finding_id.to_string())
    .bind(verdict.verdict_id.to_string())
    .bind(&verdict.kind)
    .bind(&verdict.comment)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Verdicts, newest first, optionally of one finding.
pub async fn list_verdicts(
    tx: &mut TenantTx,
    finding_id: Option<Uuid>,
    page_size: usize,
    page_token: &str,
) -> StorageResult<(Vec<VerdictRow>, Option<String>)> {
    let after = crate::page::after(page_token)?;
    let mut rows: Vec<VerdictRow> = sqlx::query_as(
        "SELECT verdict_id, finding_id, kind, comment, analyst, weight_version, create_time \
         FROM verdicts WHERE tenant_id = tokenwatch_current_tenant() \
           AND ($1::uuid IS NULL OR finding_id = $1) \
           AND ($2::timestamptz IS NULL OR (create_time, verdict_id) < ($2, $3)) \
         ORDER BY create_time DESC, verdict_id DESC LIMIT $4",
    )
    .bind(finding_id)
    .bind(after.map(|a| a.0))
    .bind(after.map(|a| a.1))
    .bind(page_size as i64 + 1)
    .fetch_all(&mut **tx)
    .await?;
    let next = crate::page::next(&mut rows, page_size, |row| {
        (row.create_time, row.verdict_id)
    });
    Ok((rows, next))
}

/// A verdict with its finding's explanation, for suppression suggestions.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct JudgedFinding {
    /// The finding.
    pub finding_id: Uuid,
    /// Its user.
    pub user_id: String,
    /// The latest verdict's kind.
    pub kind: String,
    /// The engine's explanation (reasons and evidence).
    pub explanation: serde_json::Value,
}

/// Findings judged since `since`, each with its latest verdict.
pub async fn judged_since(
    tx: &mut TenantTx,
    since: DateTime<Utc>,
) -> StorageResult<Vec<JudgedFinding>> {
    Ok(sqlx::query_as(
        "SELECT DISTINCT ON (v.finding_id) v.finding_id, f.user_id, v.kind, f.explanation \
         FROM verdicts v JOIN findings f \
           ON f.tenant_id = v.tenant_id AND f.finding_id = v.finding_id \
         WHERE v.tenant_id = tokenwatch_current_tenant() AND v.create_time >= $1 \
         ORDER BY v.finding_id, v.create_time DESC",
    )
    .bind(since)
    .fetch_all(&mut **tx)
    .await?)
}
