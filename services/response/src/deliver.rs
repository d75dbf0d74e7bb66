//! Webhook delivery: the outbox's events POSTed to each tenant's webhooks and to the MSP-wide
//! one, signed, retried with exponential backoff until delivered or given up.
//!
//! Woken per tenant by `pg_notify` when an event is written, and for every tenant each sweep
//! (retries that came due, announcements missed while reconnecting). Replicas take a tenant's
//! advisory lock for the round, so each event goes to each target from one process at a time;
//! a process that stops mid-round rolls its records back and the events go again: delivery is
//! at least once, and receivers drop repeats by `X-Tokenwatch-Event-Id`.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use secrecy::{ExposeSecret, SecretString};
use tokenwatch_egress::{Destinations, Refused};
use tokenwatch_error::CauseChain;
use tokenwatch_notify::{EVENT_HEADER, EVENT_ID_HEADER, Event, Format, SIGNATURE_HEADER, sign};
use tokenwatch_seal::Sealer;
use tokenwatch_storage::notifications::{self, Notification};
use tokenwatch_storage::{Database, StorageError};
use tokenwatch_types::{Severity, TenantId};
use tokio::time::Instant;

use crate::rounds::TenantRounds;

/// Tries per event and target before giving up (backoff 2 s, 4 s... about 17 minutes in all).
const MAX_ATTEMPTS: i32 = 10;
/// Longest wait between tries.
const MAX_BACKOFF: Duration = Duration::from_secs(600);
/// Events per target per round.
const BATCH: i64 = 50;
/// How far back the MSP-wide webhook picks up undelivered events (a tenant's webhook starts
/// from its creation).
const MSP_LOOKBACK: chrono::Duration = chrono::Duration::hours(24);
/// Events are kept this long...
const KEEP: chrono::Duration = chrono::Duration::days(7);
/// ... or this long while the PSA has yet to receive them (its outage outlasting this loses
/// them, with a warning in its status).
const KEEP_FOR_PSA: chrono::Duration = chrono::Duration::days(30);

/// The MSP-wide webhook, from configuration: every tenant's events.
#[derive(Debug, Clone)]
pub struct MspWebhook {
    /// Where to POST.
    pub url: String,
    /// Body shape.
    pub format: Format,
    /// HMAC key.
    pub secret: SecretString,
    /// Finding events below this are not sent.
    pub min_severity: Severity,
}

/// Delivers webhook events.
#[derive(Debug, Clone)]
pub(crate) struct Deliverer {
    pub(crate) database: Database,
    pub(crate) sealer: Option<Arc<Sealer>>,
    pub(crate) msp: Option<MspWebhook>,
    pub(crate) http: reqwest::Client,
    pub(crate) destinations: Arc<Destinations>,
}

/// One place to send to.
struct Target {
    name: String,
    url: String,
    format: Format,
    secret: Vec<u8>,
    min_severity: Severity,
    since: DateTime<Utc>,
}

impl Deliverer {
    pub(crate) fn new(
        database: Database,
        sealer: Option<Arc<Sealer>>,
        msp: Option<MspWebhook>,
        destinations: Arc<Destinations>,
    ) -> Result<Self, reqwest::Error> {
        // No redirects (a redirect could carry the signed body somewhere the tenant did not
        // name), and no address the destinations refuse.
        let http = destinations
            .client_builder()
            .timeout(Duration::from_secs(10))
            .user_agent(concat!("tokenwatch-webhooks/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Deliverer {
            database,
            sealer,
            msp,
            http,
            destinations,
        })
    }

    async fn all_tenants(&self) -> Result<Vec<TenantId>, StorageError> {
        let mut tenants = Vec::new();
        let mut token = String::new();
        loop {
            let page =
                tokenwatch_storage::list_tenants(&self.database, None, 1_000, &token).await?;
            tenants.extend(page.tenants.iter().map(|t| t.tenant_id));
            match page.next_page_token {
                Some(next) => token = next,
                None => return Ok(tenants),
            }
        }
    }

    /// One round for a tenant; returns when to look again (a retry coming due), if ever.
    pub(crate) async fn deliver_tenant(
        &self,
        tenant: TenantId,
    ) -> Result<Option<Instant>, StorageError> {
        let mut tx = self.database.tenant_tx(tenant).await?;
        if !notifications::try_lock_deliveries(&mut tx).await? {
            // Another process is delivering this tenant: look again shortly.
            return Ok(Some(Instant::now() + Duration::from_secs(1)));
        }
        let mut targets = Vec::new();
        for webhook in notifications::list_webhooks(&mut tx).await? {
            let secret = self.sealer.as_ref().and_then(|sealer| {
                sealer
                    .open(&tenant.to_string(), &webhook.key_id, &webhook.sealed_secret)
                    .ok()
            });
            let (Some(secret), Ok(format)) = (secret, webhook.format.parse::<Format>()) else {
                tracing::warn!(%tenant, webhook = %webhook.webhook_id, "cannot open the webhook's secret (credentials key missing or changed); not delivering");
                continue;
            };
            targets.push(Target {
                name: webhook.webhook_id.to_string(),
                url: webhook.url,
                format,
                secret,
                // A severity this build cannot read sends everything rather than nothing.
                min_severity: webhook.min_severity.parse().unwrap_or(Severity::Info),
                since: webhook.create_time,
            });
        }
        if let Some(msp) = &self.msp {
            targets.push(Target {
                name: "msp".to_owned(),
                url: msp.url.clone(),
                format: msp.format,
                secret: msp.secret.expose_secret().as_bytes().to_vec(),
                min_severity: msp.min_severity,
                since: Utc::now() - MSP_LOOKBACK,
            });
        }
        for target in &targets {
            let pending =
                notifications::pending(&mut tx, &target.name, target.since, MAX_ATTEMPTS, BATCH)
                    .await?;
            for event in pending {
                let outcome = if below(&event, target.min_severity) {
                    Ok(())
                } else {
                    self.send(tenant, target, &event).await
                };
                let retry_at = Utc::now()
                    + chrono::Duration::from_std(backoff(event.attempts + 1))
                        .unwrap_or_else(|_| chrono::Duration::seconds(600));
                if let Err(error) = &outcome {
                    tracing::info!(%tenant, target = %target.name, event = %event.notification_id, attempt = event.attempts + 1, %error, "webhook delivery failed");
                }
                notifications::record_attempt(
                    &mut tx,
                    event.notification_id,
                    &target.name,
                    outcome
                        .as_ref()
                        .map(|_| ())
                        .map_err(|e| (e.as_str(), retry_at)),
                )
                .await?;
            }
        }
        notifications::prune(&mut tx, Utc::now() - KEEP, Utc::now() - KEEP_FOR_PSA).await?;
        let next = notifications::next_retry(&mut tx, MAX_ATTEMPTS).await?;
        tx.commit().await?;
        Ok(next.map(|at| {
            let wait = (at - Utc::now()).to_std().unwrap_or_default();
            Instant::now() + wait
        }))
    }

    async fn send(
        &self,
        tenant: TenantId,
        target: &Target,
        event: &Notification,
    ) -> Result<(), String> {
        let (id, tenant, time) = (
            event.notification_id.to_string(),
            tenant.to_string(),
            event
                .create_time
                .to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        );
        let body = Event {
            id: &id,
            event: &event.event,
            tenant_id: &tenant,
            time: &time,
            object: &event.payload,
        }
        .body(target.format);
        let body = serde_json::to_vec(&body).map_err(|e| e.to_string())?;
        let signature = sign(&target.secret, Utc::now().timestamp(), &body);
        // Checked on every send: the operator may have narrowed the allowed ranges since the
        // webhook was added.
        let url = reqwest::Url::parse(&target.url).map_err(|_| Refused::NotHttp.to_string())?;
        self.destinations
            .check_url(&url)
            .map_err(|refused| refused.to_string())?;
        let response = self
            .http
            .post(url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header(EVENT_HEADER, &event.event)
            .header(EVENT_ID_HEADER, &id)
            .header(SIGNATURE_HEADER, signature)
            .body(body)
            .send()
            .await
            // Without the URL: a Slack or Teams webhook's URL is its secret.
            .map_err(|e| format!("cannot reach the webhook: {}", CauseChain(&e.without_url())))?;
        let status = response.status();
        if status.is_success() {
            return Ok(());
        }
        let text = first_bytes(response, 200).await;
        Err(format!("webhook answered {status}: {text}"))
    }
}

/// Up to `limit` characters of a response body, reading no more of it than that: a hostile
/// receiver could answer with gigabytes.
async fn first_bytes(mut response: reqwest::Response, limit: usize) -> String {
    let mut body = Vec::new();
    while body.len() < limit * 4 {
        match response.chunk().await {
            Ok(Some(chunk)) => body.extend_from_slice(&chunk),
            _ => break,
        }
    }
    String::from_utf8_lossy(&body).chars().take(limit).collect()
}

/// A finding event below the target's minimum severity (actions always go).
fn below(event: &Notification, min_severity: Severity) -> bool {
    event.event.starts_with("finding.")
        && event
            .severity
            .parse::<Severity>()
            .is_ok_and(|severity| severity < min_severity)
}

/// 2 s, 4 s, 8 s... up to [`MAX_BACKOFF`], with up to a quarter more at random.
fn backoff(attempts: i32) -> Duration {
    let base = Duration::from_secs(1u64 << attempts.clamp(1, 20) as u32).min(MAX_BACKOFF);
    base + base.mul_f64(rand::random::<f64>() * 0.25)
}

impl TenantRounds for Deliverer {
    const NAME: &'static str = "webhook";

    async fn tenants(&self) -> Result<Vec<TenantId>, StorageError> {
        self.all_tenants().await
    }

    async fn round(&self, tenant: TenantId) -> Result<Option<Instant>, StorageError> {
        self.deliver_tenant(tenant).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_its_ceiling() {
        let first = backoff(1);
        assert!(first >= Duration::from_secs(2) && first <= Duration::from_millis(2_500));
        let fifth = backoff(5);
        assert!(fifth >= Duration::from_secs(32) && fifth <= Duration::from_secs(40));
        assert!(backoff(30) <= MAX_BACKOFF + MAX_BACKOFF / 4);
    }
}
