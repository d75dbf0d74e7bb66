//! The MSP's PSA: its connection (sealed secret; storage never sees it), each tenant's company,
//! each incident's ticket, and each tenant's cursor through the notifications outbox.

use chrono::{DateTime, Utc};
use tokenwatch_types::{IncidentId, TenantId};
use uuid::Uuid;

use crate::notifications::Notification;
use crate::{Database, StorageResult, TenantTx, audit};

/// The MSP's PSA connection.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PsaConnectionRow {
    /// `connectwise`, `autotask` or `halopsa`.
    pub kind: String,
    /// The API's base URL.
    pub url: String,
    /// The kind's identifiers and the ticket settings (no secret).
    pub settings: serde_json::Value,
    /// The secret, sealed.
    pub sealed_secret: Vec<u8>,
    /// The key that sealed it.
    pub key_id: String,
    /// Who set it.
    pub updated_by: String,
    /// When.
    pub update_time: DateTime<Utc>,
}

/// Sets (or replaces) the connection.
pub async fn set_connection(database: &Database, row: &PsaConnectionRow) -> StorageResult<()> {
    let mut tx = database.owner_tx().await?;
    sqlx::query(
        "INSERT INTO psa_connection (kind, url, settings, sealed_secret, key_id, updated_by, \
                                     update_time) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) \
         ON CONFLICT (singleton) DO UPDATE SET kind = excluded.kind, url = excluded.url, \
           settings = excluded.settings, sealed_secret = excluded.sealed_secret, \
           key_id = excluded.key_id, updated_by = excluded.updated_by, \
           update_time = excluded.update_time",
    )
    .bind(&row.kind)
    .bind(&row.url)
    .bind(&row.settings)
    .bind(&row.sealed_secret)
    .bind(&row.key_id)
    .bind(&row.updated_by)
    .bind(row.update_time)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}

/// The connection, if one is set.
pub async fn get_connection(database: &Database) -> StorageResult<Option<PsaConnectionRow>> {
    let mut tx = database.owner_tx().await?;
    let row = sqlx::query_as(
        "SELECT kind, url, settings, sealed_secret, key_id, updated_by, update_time \
         FROM psa_connection",
    )
    .fetch_optional(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(row)
}

/// A tenant's PSA company.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CompanyMapping {
    /// The company's id in the PSA.
    pub company_id: String,
    /// Its name, as the PSA gave it when mapped.
    pub company_name: String,
    /// Who mapped it.
    pub mapped_by: String,
    /// When: events from then on become tickets.
    pub map_time: DateTime<Utc>,
}

/// Maps the tenant to a company (replacing an earlier mapping), audited. A tenant mapped for
/// the first time starts its cursor now: earlier events are not sent.
pub async fn map_company(
    tx: &mut TenantTx,
    company_id: &str,
    company_name: &str,
    actor: &str,
) -> StorageResult<CompanyMapping> {
    let mapping: CompanyMapping = sqlx::query_as(
        "INSERT INTO psa_companies (tenant_id, company_id, company_name, mapped_by) \
         VALUES (tokenwatch_current_tenant(), $1, $2, $3) \
         ON CONFLICT (tenant_id) DO UPDATE SET company_id = excluded.company_id, \
           company_name = excluded.company_name, mapped_by = excluded.mapped_by \
         RETURNING company_id, company_name, mapped_by, map_time",
    )
    .bind(company_id)
    .bind(company_name)
    .bind(actor)
    .fetch_one(&mut **tx)
    .await?;
    sqlx::query(
        "INSERT INTO psa_cursors (tenant_id, position_time, position_id) \
         VALUES (tokenwatch_current_tenant(), $1, '00000000-0000-0000-0000-000000000000') \
         ON CONFLICT (tenant_id) DO NOTHING",
    )
    .bind(mapping.map_time)
    .execute(&mut **tx)
    .await?;
    audit::record(
        tx,
        actor,
        "psa.map",
        ("psa_company", company_id),
        serde_json::json!({"company_id": company_id, "company_name": company_name}),
    )
    .await?;
    Ok(mapping)
}

/// The tenant's company, if mapped.
pub async fn get_mapping(tx: &mut TenantTx) -> StorageResult<Option<CompanyMapping>> {
    Ok(sqlx::query_as(
        "SELECT company_id, company_name, mapped_by, map_time FROM psa_companies \
         WHERE tenant_id = tokenwatch_current_tenant()",
    )
    .fetch_optional(&mut **tx)
    .await?)
}

/// The tenants mapped to a company.
pub async fn mapped_tenants(database: &Database) -> StorageResult<Vec<TenantId>> {
    let mut tx = database.owner_tx().await?;
    let ids: Vec<Uuid> = sqlx::query_scalar("SELECT tenant_id FROM psa_companies")
        .fetch_all(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(ids.into_iter().map(TenantId::from_uuid).collect())
}

/// Where a tenant's events stand.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Cursor {
    /// The last event done: its time...
    pub position_time: DateTime<Utc>,
    /// ... and id.
    pub position_id: Uuid,
    /// The event being sent, when a try was started and not finished.
    pub in_flight: Option<Uuid>,
    /// Tries of the event in flight.
    pub attempts: i32,
    /// Not before then.
    pub next_attempt_time: DateTime<Utc>,
    /// The last failure.
    pub last_error: String,
}

/// The tenant's cursor, if it is mapped.
pub async fn get_cursor(tx: &mut TenantTx) -> StorageResult<Option<Cursor>> {
    Ok(sqlx::query_as(
        "SELECT position_time, position_id, in_flight, attempts, next_attempt_time, last_error \
         FROM psa_cursors WHERE tenant_id = tokenwatch_current_tenant()",
    )
    .fetch_optional(&mut **tx)
    .await?)
}

/// The next event after the cursor, oldest first.
pub async fn next_event(tx: &mut TenantTx, cursor: &Cursor) -> StorageResult<Option<Notification>> {
    Ok(sqlx::query_as(
        "SELECT notification_id, event, severity, payload, create_time, 0 AS attempts \
         FROM notifications WHERE tenant_id = tokenwatch_current_tenant() \
           AND (create_time, notification_id) > ($1, $2) \
         ORDER BY create_time, notification_id LIMIT 1",
    )
    .bind(cursor.position_time)
    .bind(cursor.position_id)
    .fetch_optional(&mut **tx)
    .await?)
}

/// Marks `event` as being sent (committed before the PSA is called, so a process that stops
/// mid-call leaves a trace for the next try to check).
pub async fn start_attempt(tx: &mut TenantTx, event: Uuid) -> StorageResult<()> {
    sqlx::query(
        "UPDATE psa_cursors SET \
           attempts = CASE WHEN in_flight = $1 THEN attempts + 1 ELSE 1 END, \
           in_flight = $1, update_time = now() \
         WHERE tenant_id = tokenwatch_current_tenant()",
    )
    .bind(event)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Moves the cursor past `event`: done.
pub async fn finish(tx: &mut TenantTx, event: &Notification) -> StorageResult<()> {
    sqlx::query(
        "UPDATE psa_cursors SET position_time = $1, position_id = $2, in_flight = NULL, \
           attempts = 0, last_error = '', next_attempt_time = now(), update_time = now() \
         WHERE tenant_id = tokenwatch_current_tenant()",
    )
    .bind(event.create_time)
    .bind(event.notification_id)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Records a failed try: the event stays in flight, to be tried again at `retry_at`.
pub async fn fail(tx: &mut TenantTx, error: &str, retry_at: DateTime<Utc>) -> StorageResult<()> {
    sqlx::query(
        "UPDATE psa_cursors SET last_error = $1, next_attempt_time = $2, update_time = now() \
         WHERE tenant_id = tokenwatch_current_tenant()",
    )
    .bind(error)
    .bind(retry_at)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Events not yet sent to the PSA.
pub async fn backlog(tx: &mut TenantTx) -> StorageResult<i64> {
    Ok(sqlx::query_scalar(
        "SELECT count(*) FROM notifications n JOIN psa_cursors c USING (tenant_id) \
         WHERE n.tenant_id = tokenwatch_current_tenant() \
           AND (n.create_time, n.notification_id) > (c.position_time, c.position_id)",
    )
    .fetch_one(&mut **tx)
    .await?)
}

/// An incident's ticket.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TicketRow {
    /// The incident.
    pub incident_id: Uuid,
    /// The PSA's id.
    pub ticket_id: String,
    /// What technicians see.
    pub ticket_number: String,
    /// The company it was opened in.
    pub company_id: String,
    /// `open`, `resolved` or `closed_in_psa`.
    pub state: String,
    /// The most severe finding it has been told of.
    pub severity: String,
    /// When it was opened.
    pub create_time: DateTime<Utc>,
    /// Last change.
    pub update_time: DateTime<Utc>,
}

/// The incident's ticket, if it has one.
pub async fn get_ticket(
    tx: &mut TenantTx,
    incident_id: IncidentId,
) -> StorageResult<Option<TicketRow>> {
    Ok(sqlx::query_as(
        "SELECT incident_id, ticket_id, ticket_number, company_id, state, severity, \
                create_time, update_time \
         FROM psa_tickets WHERE tenant_id = tokenwatch_current_tenant() AND incident_id = $1",
    )
    .bind(incident_id.as_uuid())
    .fetch_optional(&mut **tx)
    .await?)
}

/// Records (or updates) an incident's ticket.
pub async fn put_ticket(tx: &mut TenantTx, ticket: &TicketRow) -> StorageResult<()> {
    sqlx::query(
        "INSERT INTO psa_tickets (tenant_id, incident_id, ticket_id, ticket_number, company_id, \
                                  state, severity) \
         VALUES (tokenwatch_current_tenant(), $1, $2, $3, $4, $5, $6) \
         ON CONFLICT (tenant_id, incident_id) DO UPDATE SET ticket_id = excluded.ticket_id, \
           ticket_number = excluded.ticket_number, company_id = excluded.company_id, \
           state = excluded.state, severity = excluded.severity, update_time = now()",
    )
    .bind(ticket.incident_id)
    .bind(&ticket.ticket_id)
    .bind(&ticket.ticket_number)
    .bind(&ticket.company_id)
    .bind(&ticket.state)
    .bind(&ticket.severity)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// The tenant's tickets, newest first.
pub async fn list_tickets(tx: &mut TenantTx, limit: i64) -> StorageResult<Vec<TicketRow>> {
    Ok(sqlx::query_as(
        "SELECT incident_id, ticket_id, ticket_number, company_id, state, severity, \
                create_time, update_time \
         FROM psa_tickets WHERE tenant_id = tokenwatch_current_tenant() \
         ORDER BY create_time DESC, incident_id LIMIT $1",
    )
    .bind(limit)
    .fetch_all(&mut **tx)
    .await?)
}

/// The incident a finding belongs to.
pub async fn incident_of_finding(
    tx: &mut TenantTx,
    finding_id: Uuid,
) -> StorageResult<Option<Uuid>> {
    Ok(sqlx::query_scalar(
        "SELECT incident_id FROM findings \
         WHERE tenant_id = tokenwatch_current_tenant() AND finding_id = $1",
    )
    .bind(finding_id)
    .fetch_optional(&mut **tx)
    .await?)
}

/// Takes the tenant's ticketing lock for the transaction: false when another process holds it
/// (it is sending this tenant's events now).
pub async fn try_lock_tickets(tx: &mut TenantTx) -> StorageResult<bool> {
    Ok(sqlx::query_scalar(
        "SELECT pg_try_advisory_xact_lock(hashtextextended('psa:' || tokenwatch_current_tenant()::text, 0))",
    )
    .fetch_one(&mut **tx)
    .await?)
}

/// A finding's severity now, if it still exists (a replay may have retracted it).
pub async fn finding_severity(
    tx: &mut TenantTx,
    finding_id: Uuid,
) -> StorageResult<Option<String>> {
    Ok(sqlx::query_scalar(
        "SELECT severity FROM findings \
         WHERE tenant_id = tokenwatch_current_tenant() AND finding_id = $1",
    )
    .bind(finding_id)
    .fetch_optional(&mut **tx)
    .await?)
}
