//! Per-tenant rounds of outbox delivery (webhooks, PSA tickets), woken at once by `pg_notify`
//! when an event is written and for every tenant each sweep (retries that came due,
//! announcements missed while reconnecting), a few tenants at a time.

use std::collections::HashMap;
use std::future::Future;
use std::time::Duration;

use futures::StreamExt;
use sqlx::postgres::PgListener;
use tokenwatch_storage::StorageError;
use tokenwatch_storage::notifications::NOTIFICATIONS_CHANNEL;
use tokenwatch_types::TenantId;
use tokio::time::Instant;

/// Tenants in a round at once.
const CONCURRENT_TENANTS: usize = 8;

/// One kind of delivery, tenant by tenant.
pub(crate) trait TenantRounds: Sync {
    /// For logs.
    const NAME: &'static str;

    /// The tenants a sweep looks at.
    fn tenants(&self) -> impl Future<Output = Result<Vec<TenantId>, StorageError>> + Send;

    /// One round for a tenant; returns when to look again (a retry coming due), if ever.
    fn round(
        &self,
        tenant: TenantId,
    ) -> impl Future<Output = Result<Option<Instant>, StorageError>> + Send;
}

/// Runs rounds until `stop` turns true.
pub(crate) async fn run<R: TenantRounds>(
    rounds: R,
    pool: sqlx::PgPool,
    sweep_every: Duration,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    let name = R::NAME;
    let (wake, mut woken) = tokio::sync::mpsc::unbounded_channel();
    let listening = tokio::spawn(async move {
        loop {
            if let Err(error) = listen(&pool, &wake).await {
                tracing::warn!(%error, delivery = name, "listener lost its connection; reconnecting");
            }
            if wake.is_closed() {
                return;
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    });
    let mut due: HashMap<TenantId, Instant> = HashMap::new();
    let mut sweep = tokio::time::interval(sweep_every);
    let mut tick = tokio::time::interval(Duration::from_millis(200));
    loop {
        tokio::select! {
            _ = async { stop.wait_for(|stop| *stop).await.map(|_| ()) } => break,
            Some(tenant) = woken.recv() => { due.insert(tenant, Instant::now()); }
            _ = sweep.tick() => match rounds.tenants().await {
                Ok(tenants) => due.extend(tenants.into_iter().map(|t| (t, Instant::now()))),
                Err(error) => tracing::warn!(%error, delivery = name, "sweep cannot list tenants"),
            },
            _ = tick.tick() => {
                let now = Instant::now();
                let ready: Vec<TenantId> =
                    due.iter().filter(|(_, at)| **at <= now).map(|(t, _)| *t).collect();
                for tenant in &ready {
                    due.remove(tenant);
                }
                let rounds = &rounds;
                let next: Vec<(TenantId, Option<Instant>)> = futures::stream::iter(ready)
                    .map(|tenant| async move {
                        match rounds.round(tenant).await {
                            Ok(next) => (tenant, next),
                            Err(error) => {
                                tracing::warn!(%tenant, %error, delivery = name, "delivery round failed");
                                (tenant, Some(Instant::now() + Duration::from_secs(5)))
                            }
                        }
                    })
                    .buffer_unordered(CONCURRENT_TENANTS)
                    .collect()
                    .await;
                for (tenant, at) in next {
                    if let Some(at) = at {
                        let entry = due.entry(tenant).or_insert(at);
                        *entry = (*entry).min(at);
                    }
                }
            }
        }
    }
    // The listener waits on Postgres: stop it, and wait until it has.
    listening.abort();
    let _ = listening.await;
}

async fn listen(
    pool: &sqlx::PgPool,
    wake: &tokio::sync::mpsc::UnboundedSender<TenantId>,
) -> Result<(), sqlx::Error> {
    let mut listener = PgListener::connect_with(pool).await?;
    listener.listen(NOTIFICATIONS_CHANNEL).await?;
    loop {
        let notification = listener.recv().await?;
        if let Ok(tenant) = TenantId::parse(notification.payload())
            && wake.send(tenant).is_err()
        {
            return Ok(());
        }
    }
}
