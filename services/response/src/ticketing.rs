//! PSA tickets: each mapped tenant's outbox events, in order, become one ticket per incident
//! in the tenant's company, with a note for each later finding, escalation, action and
//! verdict, closed when every finding has its verdict.
//!
//! Exactly once: a tenant's events go one at a time from a cursor (replicas take the tenant's
//! advisory lock for the round). Before calling the PSA the event is marked in flight and
//! committed; a try that finds its event already in flight (its process stopped mid-call, or
//! the PSA failed without saying whether it acted) first looks in the PSA for what that try
//! may have written, by the reference every ticket title and note carries, and writes only
//! what is missing. Failures are retried with backoff, honouring `Retry-After`, for as long as
//! the outbox keeps the event (30 days): the tenant's later events wait behind it, so a ticket
//! never hears of things out of order.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use secrecy::SecretString;
use tokenwatch_egress::Destinations;
use tokenwatch_psa::content::{self, note_reference, ticket_reference};
use tokenwatch_psa::plan::{self, EventFacts, Step, TicketState};
use tokenwatch_psa::{
    Connection, Identity, NewTicket, PsaClient, PsaError, PsaKind, TicketSettings,
};
use tokenwatch_seal::Sealer;
use tokenwatch_storage::notifications::Notification;
use tokenwatch_storage::psa::{self, CompanyMapping, PsaConnectionRow, TicketRow};
use tokenwatch_storage::{Database, StorageError};
use tokenwatch_types::{IncidentId, Severity, TenantId};
use tokio::time::Instant;
use uuid::Uuid;

use crate::rounds::TenantRounds;

/// Events per tenant per round.
const BATCH: usize = 50;
/// Longest wait after an outage or rate limit (unless the PSA asks for longer)...
const MAX_TRANSIENT_BACKOFF: Duration = Duration::from_secs(60);
/// ... and after a refusal someone must fix (a permission, a board name).
const MAX_REFUSAL_BACKOFF: Duration = Duration::from_secs(600);
/// The additional authenticated data PSA secrets are sealed with.
pub(crate) const SEAL_CONTEXT: &str = "psa";

/// The connection's non-secret settings, as stored.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub(crate) struct StoredSettings {
    pub(crate) identity: Identity,
    pub(crate) tickets: TicketSettings,
}

/// Builds a client from the stored connection, opening its secret.
pub(crate) fn client_of(
    row: &PsaConnectionRow,
    sealer: Option<&Sealer>,
    destinations: Arc<Destinations>,
) -> Result<PsaClient, String> {
    let kind: PsaKind = row.kind.parse()?;
    let settings: StoredSettings = serde_json::from_value(row.settings.clone())
        .map_err(|e| format!("the stored PSA settings do not read: {e}"))?;
    let sealer = sealer.ok_or("this server has no credentials key (TOKENWATCH_CREDENTIALS_KEY)")?;
    let secret = sealer
        .open(SEAL_CONTEXT, &row.key_id, &row.sealed_secret)
        .map_err(|e| format!("the PSA secret does not open: {e}"))?;
    let secret = String::from_utf8(secret).map_err(|_| "the PSA secret is not text".to_owned())?;
    PsaClient::new(
        Connection {
            kind,
            url: row.url.clone(),
            identity: settings.identity,
            secret: SecretString::from(secret),
            tickets: settings.tickets,
        },
        destinations,
    )
    .map_err(|e| e.to_string())
}

/// Delivers events to the PSA.
#[derive(Debug)]
pub(crate) struct Ticketing {
    pub(crate) database: Database,
    pub(crate) sealer: Option<Arc<Sealer>>,
    pub(crate) destinations: Arc<Destinations>,
    /// The console's base URL, for links in tickets.
    pub(crate) console_url: Option<String>,
    /// How long a new finding waits before it opens a ticket.
    pub(crate) hold: Duration,
    /// The client for the connection as last read (rebuilt when it changes).
    client: tokio::sync::Mutex<Option<(DateTime<Utc>, PsaClient)>>,
}

/// Why an event did not go.
enum Failure {
    Psa(PsaError),
    Storage(StorageError),
}

impl From<PsaError> for Failure {
    fn from(error: PsaError) -> Self {
        Failure::Psa(error)
    }
}

impl From<StorageError> for Failure {
    fn from(error: StorageError) -> Self {
        Failure::Storage(error)
    }
}

impl Ticketing {
    pub(crate) fn new(
        database: Database,
        sealer: Option<Arc<Sealer>>,
        destinations: Arc<Destinations>,
        console_url: Option<String>,
        hold: Duration,
    ) -> Self {
        Ticketing {
            database,
            sealer,
            destinations,
            console_url,
            hold,
            client: tokio::sync::Mutex::new(None),
        }
    }

    /// The PSA client, if a connection is set and usable.
    async fn client(&self) -> Result<Option<PsaClient>, StorageError> {
        let Some(row) = psa::get_connection(&self.database).await? else {
            return Ok(None);
        };
        let mut cached = self.client.lock().await;
        if let Some((time, client)) = cached.as_ref()
            && *time == row.update_time
        {
            return Ok(Some(client.clone()));
        }
        match client_of(&row, self.sealer.as_deref(), Arc::clone(&self.destinations)) {
            Ok(client) => {
                *cached = Some((row.update_time, client.clone()));
                Ok(Some(client))
            }
            Err(problem) => {
                tracing::warn!(%problem, "the PSA connection cannot be used; tickets wait");
                Ok(None)
            }
        }
    }

    /// One round for a tenant: its events in order until one fails or none is left.
    async fn deliver_tenant(&self, tenant: TenantId) -> Result<Option<Instant>, StorageError> {
        let Some(client) = self.client().await? else {
            return Ok(None);
        };
        // Held for the round: one process sends a tenant's events at a time.
        let mut lock = self.database.tenant_tx(tenant).await?;
        if !psa::try_lock_tickets(&mut lock).await? {
            return Ok(Some(Instant::now() + Duration::from_secs(1)));
        }
        let Some(mapping) = psa::get_mapping(&mut lock).await? else {
            return Ok(None);
        };
        for _ in 0..BATCH {
            let mut tx = self.database.tenant_tx(tenant).await?;
            let Some(cursor) = psa::get_cursor(&mut tx).await? else {
                return Ok(None);
            };
            let now = Utc::now();
            if cursor.next_attempt_time > now {
                return Ok(Some(at(cursor.next_attempt_time)));
            }
            let Some(event) = psa::next_event(&mut tx, &cursor).await? else {
                return Ok(None);
            };
            // A new finding waits a while: records arriving late may retract it, and a ticket
            // opened and closed minutes later is noise in the PSA.
            let ripe = event.create_time
                + chrono::Duration::from_std(self.hold).unwrap_or(chrono::Duration::zero());
            if event.event == "finding.created" && ripe > now {
                return Ok(Some(at(ripe)));
            }
            let interrupted = cursor.in_flight == Some(event.notification_id);
            psa::start_attempt(&mut tx, event.notification_id).await?;
            tx.commit().await?;
            let attempt = if interrupted { cursor.attempts + 1 } else { 1 };
            match self
                .apply(&client, tenant, &mapping, &event, interrupted)
                .await
            {
                Ok(ticket) => {
                    let mut tx = self.database.tenant_tx(tenant).await?;
                    if let Some(ticket) = ticket {
                        psa::put_ticket(&mut tx, &ticket).await?;
                    }
                    psa::finish(&mut tx, &event).await?;
                    tx.commit().await?;
                }
                Err(Failure::Psa(error)) => {
                    let wait = backoff(&error, attempt);
                    tracing::warn!(%tenant, event = %event.notification_id, kind = %event.event, attempt, %error, "PSA delivery failed; retrying");
                    let retry_at = Utc::now()
                        + chrono::Duration::from_std(wait).unwrap_or(chrono::Duration::minutes(10));
                    let mut tx = self.database.tenant_tx(tenant).await?;
                    psa::fail(&mut tx, &error.to_string(), retry_at).await?;
                    tx.commit().await?;
                    return Ok(Some(Instant::now() + wait));
                }
                Err(Failure::Storage(error)) => return Err(error),
            }
        }
        // More may be waiting: come back at once.
        Ok(Some(Instant::now()))
    }

    /// Does what the event means for its incident's ticket; returns the ticket as it now is,
    /// when that changed.
    async fn apply(
        &self,
        client: &PsaClient,
        tenant: TenantId,
        mapping: &CompanyMapping,
        event: &Notification,
        interrupted: bool,
    ) -> Result<Option<TicketRow>, Failure> {
        let payload = &event.payload;
        let mut tx = self.database.tenant_tx(tenant).await?;
        let incident = match uuid_at(payload, "incident_id") {
            Some(incident) => Some(incident),
            None => match uuid_at(payload, "finding_id") {
                Some(finding) => psa::incident_of_finding(&mut tx, finding).await?,
                None => None,
            },
        };
        let Some(incident) = incident else {
            return Ok(None);
        };
        let stored = psa::get_ticket(&mut tx, IncidentId::from_uuid(incident)).await?;
        // A finding retracted since the event was written is news no more.
        let gone = event.event.starts_with("finding.")
            && !matches!(
                event.event.as_str(),
                "finding.retracted" | "finding.resolved"
            )
            && match uuid_at(payload, "id") {
                Some(finding) => psa::finding_severity(&mut tx, finding).await?.is_none(),
                None => false,
            };
        tx.commit().await.map_err(StorageError::from)?;
        let severity = event.severity.parse::<Severity>().ok();
        let mut ticket = stored.clone();
        // An interrupted try of this event may have opened the ticket and died before
        // recording it: find it (even if the finding is gone since, so the retraction that
        // follows closes it).
        if interrupted && ticket.is_none() && event.event.starts_with("finding.") {
            let reference = ticket_reference(&incident.to_string());
            if let Some(found) = client.find_ticket(&mapping.company_id, &reference).await? {
                ticket = Some(TicketRow {
                    incident_id: incident,
                    ticket_id: found.id,
                    ticket_number: found.number,
                    company_id: mapping.company_id.clone(),
                    state: if found.closed {
                        TicketState::ClosedInPsa
                    } else {
                        TicketState::Open
                    }
                    .as_str()
                    .to_owned(),
                    severity: severity.unwrap_or(Severity::High).as_str().to_owned(),
                    create_time: Utc::now(),
                    update_time: Utc::now(),
                });
                // Only this event could have opened it: it is done.
                return Ok(ticket);
            }
        }
        // A ticket open as far as we know may have been closed by a technician since.
        if let Some(row) = ticket.as_mut()
            && row.state == TicketState::Open.as_str()
            && client.ticket(&row.ticket_id).await?.closed
        {
            row.state = TicketState::ClosedInPsa.as_str().to_owned();
        }
        let known = ticket.as_ref().map(|row| {
            (
                TicketState::parse(&row.state).unwrap_or(TicketState::Open),
                row.severity.parse::<Severity>().unwrap_or(Severity::Info),
            )
        });
        let settings = &client.connection().tickets;
        let facts = EventFacts {
            event: &event.event,
            severity,
            open_findings: payload["open_findings_in_incident"].as_i64().unwrap_or(0),
        };
        let link = self.link(tenant, payload);
        let event_id = event.notification_id.to_string();
        let step = if gone {
            Step::Skip("the finding was retracted before it reached the PSA")
        } else {
            plan::decide(facts, known, settings.min_severity)
        };
        match step {
            Step::Skip(reason) => {
                tracing::debug!(%tenant, event = %event_id, reason, "not for the PSA");
                let changed =
                    ticket.as_ref().map(|t| &t.state) != stored.as_ref().map(|t| &t.state);
                Ok(ticket.filter(|_| changed))
            }
            Step::Open => {
                let reference = ticket_reference(&incident.to_string());
                let severity = severity.unwrap_or(Severity::High);
                let title = content::ticket_title(
                    payload["user"].as_str().unwrap_or_default(),
                    severity.as_str(),
                    &reference,
                );
                let description = content::ticket_description(payload, link.as_deref());
                let opened = client
                    .create_ticket(&NewTicket {
                        company_id: &mapping.company_id,
                        title: &title,
                        description: &description,
                        severity,
                    })
                    .await?;
                tracing::info!(%tenant, %incident, ticket = %opened.number, "PSA ticket opened");
                Ok(Some(TicketRow {
                    incident_id: incident,
                    ticket_id: opened.id,
                    ticket_number: opened.number,
                    company_id: mapping.company_id.clone(),
                    state: TicketState::Open.as_str().to_owned(),
                    severity: severity.as_str().to_owned(),
                    create_time: Utc::now(),
                    update_time: Utc::now(),
                }))
            }
            Step::Note { reopen, close } => {
                let Some(mut row) = ticket else {
                    return Ok(None);
                };
                if reopen {
                    client
                        .set_status(&row.ticket_id, &settings.new_status)
                        .await?;
                }
                let reference = note_reference(&event_id);
                if !(interrupted && client.has_note(&row.ticket_id, &reference).await?) {
                    let text = content::note(&event.event, &event_id, payload, link.as_deref());
                    client.add_note(&row.ticket_id, &text).await?;
                }
                if close {
                    client
                        .set_status(&row.ticket_id, &settings.closed_status)
                        .await?;
                }
                row.state = if close {
                    TicketState::Resolved
                } else if reopen {
                    TicketState::Open
                } else {
                    TicketState::parse(&row.state).unwrap_or(TicketState::Open)
                }
                .as_str()
                .to_owned();
                if event.event.starts_with("finding.")
                    && let (Some(new), Ok(old)) = (severity, row.severity.parse::<Severity>())
                    && new > old
                {
                    row.severity = new.as_str().to_owned();
                }
                Ok(Some(row))
            }
        }
    }

    /// The console's page of the event's finding.
    fn link(&self, tenant: TenantId, payload: &serde_json::Value) -> Option<String> {
        let console = self.console_url.as_deref()?;
        let finding = payload["finding_id"].as_str().or_else(|| {
            payload["id"]
                .as_str()
                .filter(|_| payload["incident_id"].is_string())
        })?;
        Some(content::finding_link(console, &tenant.to_string(), finding))
    }
}

impl TenantRounds for Ticketing {
    const NAME: &'static str = "PSA";

    async fn tenants(&self) -> Result<Vec<TenantId>, StorageError> {
        psa::mapped_tenants(&self.database).await
    }

    async fn round(&self, tenant: TenantId) -> Result<Option<Instant>, StorageError> {
        self.deliver_tenant(tenant).await
    }
}

fn uuid_at(payload: &serde_json::Value, key: &str) -> Option<Uuid> {
    payload[key].as_str().and_then(|s| Uuid::parse_str(s).ok())
}

fn at(time: DateTime<Utc>) -> Instant {
    Instant::now() + (time - Utc::now()).to_std().unwrap_or_default()
}

/// 1 s, 2 s, 4 s... up to a minute for an outage (or what `Retry-After` asks, up to ten),
/// up to ten minutes for a refusal.
fn backoff(error: &PsaError, attempt: i32) -> Duration {
    let doubling = Duration::from_secs(1u64 << (attempt - 1).clamp(0, 16) as u32);
    if error.is_transient() {
        let wait = doubling.min(MAX_TRANSIENT_BACKOFF);
        error
            .retry_after()
            .map_or(wait, |asked| asked.max(wait).min(MAX_REFUSAL_BACKOFF))
    } else {
        doubling.min(MAX_REFUSAL_BACKOFF)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outages_back_off_to_a_minute_and_refusals_to_ten() {
        let outage = PsaError::Unavailable {
            what: "x".into(),
            detail: "503".into(),
            retry_after: None,
        };
        assert_eq!(backoff(&outage, 1), Duration::from_secs(1));
        assert_eq!(backoff(&outage, 4), Duration::from_secs(8));
        assert_eq!(backoff(&outage, 30), MAX_TRANSIENT_BACKOFF);
        let limited = PsaError::Unavailable {
            what: "x".into(),
            detail: "429".into(),
            retry_after: Some(Duration::from_secs(30)),
        };
        assert_eq!(backoff(&limited, 1), Duration::from_secs(30));
        let refused = PsaError::Rejected {
            what: "x".into(),
            status: 403,
            message: "no".into(),
        };
        assert_eq!(backoff(&refused, 30), MAX_REFUSAL_BACKOFF);
    }
}
