//! Finding changes as they commit (WatchFindings, automatic responses, webhooks): one Postgres
//! LISTEN per process, fanned out to every subscriber through a broadcast channel. A change
//! announced while the connection is being re-established is missed here; consumers that must
//! not miss one also sweep the stored findings.

use crate::Database;
use crate::findings::FINDINGS_CHANNEL;
use sqlx::postgres::PgListener;
use tokenwatch_types::{FindingId, TenantId};
use tokio::sync::broadcast;

/// Changes buffered per subscriber; a subscriber that falls further behind is told so.
const BUFFER: usize = 4_096;

/// One committed change.
#[derive(Debug, Clone)]
pub struct Announcement {
    /// Tenant.
    pub tenant: TenantId,
    /// The finding.
    pub finding_id: FindingId,
    /// `created`, `escalated`, or the status it moved to.
    pub change: String,
}

/// The process's feed of finding changes.
#[derive(Debug, Clone)]
pub struct Feed {
    sender: broadcast::Sender<Announcement>,
}

impl Feed {
    /// The feed, and the listener that fills it (reconnecting on failure) until `stop` turns
    /// true: the caller runs it as a background task.
    pub fn start(
        database: &Database,
        mut stop: tokio::sync::watch::Receiver<bool>,
    ) -> (Self, impl Future<Output = ()> + Send + 'static) {
        let (sender, _) = broadcast::channel(BUFFER);
        let pool = database.pool().clone();
        let feed = Feed { sender };
        let forward = feed.sender.clone();
        let listening = async move {
            let stopped = async move {
                let _ = stop.wait_for(|stop| *stop).await;
            };
            let reconnecting = async move {
                loop {
                    if let Err(error) = listen(&pool, &forward).await {
                        tracing::warn!(%error, "findings feed lost its connection; reconnecting");
                    }
                    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                }
            };
            tokio::select! {
                () = stopped => {}
                () = reconnecting => {}
            }
        };
        (feed, listening)
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Announcement> {
        self.sender.subscribe()
    }
}

async fn listen(
    pool: &sqlx::PgPool,
    forward: &broadcast::Sender<Announcement>,
) -> Result<(), sqlx::Error> {
    let mut listener = PgListener::connect_with(pool).await?;
    listener.listen(FINDINGS_CHANNEL).await?;
    loop {
        let notification = listener.recv().await?;
        let mut parts = notification.payload().split(' ');
        let parsed = (|| {
            Some(Announcement {
                tenant: TenantId::parse(parts.next()?).ok()?,
                finding_id: FindingId::parse(parts.next()?).ok()?,
                change: parts.next()?.to_owned(),
            })
        })();
        if let Some(announcement) = parsed {
            // No subscriber is not an error.
            let _ = forward.send(announcement);
        }
    }
}
