//! Incidents: one per tenant and user, grouping the user's findings, with the highest
//! severity among them. Written as findings are; never on their own.

use chrono::{DateTime, Utc};
use tokenwatch_types::{FindingId, IncidentId, Severity, TenantId};
use uuid::Uuid;

use crate::error::parse_stored;
use crate::findings::FindingWrite;
use crate::{StorageResult, TenantTx, page};

/// Creates the finding's incident, or widens its window to the finding's.
pub(crate) async fn note_finding(
    tx: &mut TenantTx,
    tenant: TenantId,
    finding: &FindingWrite,
) -> StorageResult<()> {
    sqlx::query(
        "INSERT INTO incidents (tenant_id, incident_id, user_id, severity, first_seen_time, \
                                last_seen_time) \
         VALUES ($1, $2, $3, $4, $5, $6) \
         ON CONFLICT (tenant_id, incident_id) DO UPDATE SET \
           first_seen_time = least(incidents.first_seen_time, excluded.first_seen_time), \
           last_seen_time = greatest(incidents.last_seen_time, excluded.last_seen_time), \
           update_time = now()",
    )
    .bind(tenant.as_uuid())
    .bind(finding.incident_id.as_uuid())
    .bind(&finding.user_id)
    .bind(finding.severity.as_str())
    .bind(finding.first_seen)
    .bind(finding.last_seen)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Removes an incident whose findings were all retracted.
pub(crate) async fn remove_if_empty(
    tx: &mut TenantTx,
    tenant: TenantId,
    incident_id: IncidentId,
) -> StorageResult<()> {
    sqlx::query(
        "DELETE FROM incidents i WHERE tenant_id = $1 AND incident_id = $2 \
           AND NOT EXISTS (SELECT 1 FROM findings f \
                           WHERE f.tenant_id = i.tenant_id AND f.incident_id = i.incident_id)",
    )
    .bind(tenant.as_uuid())
    .bind(incident_id.as_uuid())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Sets the incident's severity to its most severe finding's (ranked by [`Severity`]'s order,
/// the only ranking there is).
pub(crate) async fn refresh_severity(
    tx: &mut TenantTx,
    tenant: TenantId,
    incident_id: IncidentId,
) -> StorageResult<()> {
    let severities: Vec<String> = sqlx::query_scalar(
        "SELECT DISTINCT severity FROM findings WHERE tenant_id = $1 AND incident_id = $2",
    )
    .bind(tenant.as_uuid())
    .bind(incident_id.as_uuid())
    .fetch_all(&mut **tx)
    .await?;
    let highest = severities
        .iter()
        .map(|s| parse_stored::<Severity>(s))
        .collect::<StorageResult<Vec<_>>>()?
        .into_iter()
        .max();
    if let Some(highest) = highest {
        sqlx::query("UPDATE incidents SET severity = $3 WHERE tenant_id = $1 AND incident_id = $2")
            .bind(tenant.as_uuid())
            .bind(incident_id.as_uuid())
            .bind(highest.as_str())
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

/// A user's incidents, newest activity first, with their finding ids.
pub async fn list_incidents(
    tx: &mut TenantTx,
    user_id: Option<&str>,
    page_size: usize,
    page_token: &str,
) -> StorageResult<(Vec<IncidentRow>, Option<String>)> {
    let after = page::after(page_token)?;
    let rows: Vec<IncidentTuple> = sqlx::query_as(
        "SELECT i.incident_id, i.user_id, i.severity, i.first_seen_time, i.last_seen_time, \
                    coalesce(array_agg(f.finding_id ORDER BY f.last_seen_time DESC) \
                             FILTER (WHERE f.finding_id IS NOT NULL), '{}') \
             FROM incidents i LEFT JOIN findings f \
               ON f.tenant_id = i.tenant_id AND f.incident_id = i.incident_id \
             WHERE i.tenant_id = tokenwatch_current_tenant() \
               AND ($1::text IS NULL OR i.user_id = $1) \
               AND ($2::timestamptz IS NULL OR (i.last_seen_time, i.incident_id) < ($2, $3)) \
             GROUP BY i.incident_id, i.user_id, i.severity, i.first_seen_time, i.last_seen_time \
             ORDER BY i.last_seen_time DESC, i.incident_id DESC LIMIT $4",
    )
    .bind(user_id)
    .bind(after.map(|a| a.0))
    .bind(after.map(|a| a.1))
    .bind(page_size as i64 + 1)
    .fetch_all(&mut **tx)
    .await?;
    let mut incidents: Vec<IncidentRow> = rows
        .into_iter()
        .map(
            |(incident_id, user_id, severity, first_seen, last_seen, finding_ids)| {
                Ok(IncidentRow {
                    incident_id: IncidentId::from_uuid(incident_id),
                    user_id,
                    severity: parse_stored(&severity)?,
                    first_seen,
                    last_seen,
                    finding_ids: finding_ids.into_iter().map(FindingId::from_uuid).collect(),
                })
            },
        )
        .collect::<StorageResult<_>>()?;
    let next = page::next(&mut incidents, page_size, |i| {
        (i.last_seen, i.incident_id.as_uuid())
    });
    Ok((incidents, next))
}

/// An incident row as queried.
type IncidentTuple = (
    Uuid,
    String,
    String,
    DateTime<Utc>,
    DateTime<Utc>,
    Vec<Uuid>,
);

/// An incident with its findings.
#[derive(Debug, Clone)]
pub struct IncidentRow {
    /// Id.
    pub incident_id: IncidentId,
    /// User.
    pub user_id: String,
    /// Highest severity of its findings.
    pub severity: Severity,
    /// First activity.
    pub first_seen: DateTime<Utc>,
    /// Last activity.
    pub last_seen: DateTime<Utc>,
    /// Its findings, newest activity first.
    pub finding_ids: Vec<FindingId>,
}
