//! Finding changes as they commit, for WatchFindings: one Postgres LISTEN per process, fanned
//! out to every subscriber through a broadcast channel.

use std::str::FromStr;

use sqlx::postgres::PgListener;
use tokenwatch_storage::Database;
use tokenwatch_storage::findings::FINDINGS_CHANNEL;
use tokenwatch_types::TenantId;
use tokio::sync::broadcast;
use uuid::Uuid;

/// Changes buffered per subscriber; a subscriber that falls further behind is told so.
const BUFFER: usize = 4_096;

/// One committed change.
#[derive(Debug, Clone)]
pub(crate) struct Announcement {
    pub(crate) tenant: TenantId,
    pub(crate) finding_id: Uuid,
    pub(crate) change: String,
}

/// The process's feed of finding changes.
#[derive(Debug, Clone)]
pub(crate) struct Feed {
    sender: broadcast::Sender<Announcement>,
}

impl Feed {
    /// Starts listening (in the background, reconnecting on failure).
    pub(crate) fn start(database: &Database) -> Self {
        let (sender, _) = broadcast::channel(BUFFER);
        let pool = database.pool().clone();
        let feed = Feed { sender };
        let forward = feed.sender.clone();
        tokio::spawn(async move {
            loop {
                if let Err(error) = listen(&pool, &forward).await {
                    tracing::warn!(%error, "findings feed lost its connection; reconnecting");
                }
                tokio::time::sleep(std::time::Duration::from_secs(1)).await;
            }
        });
        feed
    }

    pub(crate) fn subscribe(&self) -> broadcast::Receiver<Announcement> {
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
                finding_id: Uuid::from_str(parts.next()?).ok()?,
                change: parts.next()?.to_owned(),
            })
        })();
        if let Some(announcement) = parsed {
            // No subscriber is not an error.
            let _ = forward.send(announcement);
        }
    }
}
