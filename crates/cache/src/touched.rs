//! The "session touched" stream: after a commit, ingest adds one entry per (user, session) a
//! document touched to the tenant's own stream; the pipeline workers read it in a consumer
//! group. The one place its keys and entry fields are written and read.

use chrono::{DateTime, Utc};
use redis::streams::StreamId;
use tokenwatch_types::TenantId;

use crate::{Cache, tenant_key};

/// The consumer group every pipeline worker reads the touched streams with.
pub const CONSUMER_GROUP: &str = "tokenwatch-pipeline";

/// The set of tenants whose streams have entries, so consumers can find them.
pub const TENANTS_KEY: &str = "tw:touched-tenants";

/// Entries kept per tenant stream; consumers read far faster than this fills.
const STREAM_MAX_LEN: usize = 100_000;

/// The key of a tenant's stream.
pub fn stream_key(tenant: TenantId) -> String {
    tenant_key(tenant, "touched", "")
}

/// One (user, session) a commit touched: the event times it spans and how many events.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Touch {
    /// The user.
    pub user: String,
    /// The session; empty for events without one (the user's baseline still changes).
    pub session: String,
    /// Earliest event time.
    pub first: DateTime<Utc>,
    /// Latest event time.
    pub last: DateTime<Utc>,
    /// Events.
    pub events: u64,
}

/// Adds `touches` to the tenant's stream and marks the tenant as having work, in one round
/// trip.
pub async fn announce(
    cache: &Cache,
    tenant: TenantId,
    touches: &[Touch],
) -> Result<(), redis::RedisError> {
    if touches.is_empty() {
        return Ok(());
    }
    let stream = stream_key(tenant);
    let mut pipe = redis::pipe();
    for touch in touches {
        pipe.cmd("XADD")
            .arg(&stream)
            .arg("MAXLEN")
            .arg("~")
            .arg(STREAM_MAX_LEN)
            .arg("*")
            .arg("user")
            .arg(&touch.user)
            .arg("session")
            .arg(&touch.session)
            .arg("first")
            .arg(touch.first.to_rfc3339())
            .arg("last")
            .arg(touch.last.to_rfc3339())
            .arg("events")
            .arg(touch.events)
            .ignore();
    }
    let mut connection = cache.connection();
    pipe.query_async::<()>(&mut connection).await?;
    // Apart from the stream's pipeline: the tenant set lives in another hash slot, and a Redis
    // Cluster refuses a pipeline that crosses slots (every announcement failed there unless
    // the two slots shared a node, leaving detection to its sweep).
    redis::cmd("SADD")
        .arg(TENANTS_KEY)
        .arg(tenant.to_string())
        .query_async::<()>(&mut connection)
        .await
}

/// The earliest event time an entry announces (`None` for an entry this build cannot read).
pub fn first_of(entry: &StreamId) -> Option<DateTime<Utc>> {
    let text: String = entry.get("first")?;
    DateTime::parse_from_rfc3339(&text)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_entry_reads_back_the_first_time_it_announced() {
        let first = DateTime::parse_from_rfc3339("2026-11-30T08:15:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let entry = StreamId {
            id: "1-0".to_owned(),
            map: [(
                "first".to_owned(),
                redis::Value::BulkString(first.to_rfc3339().into_bytes()),
            )]
            .into(),
            ..StreamId::default()
        };
        assert_eq!(first_of(&entry), Some(first));
        assert_eq!(first_of(&StreamId::default()), None);
        assert_eq!(
            stream_key(TenantId::parse("72f988bf-86f1-41af-91ab-2d7cd011db47").unwrap()),
            "tw:{72f988bf-86f1-41af-91ab-2d7cd011db47}:touched"
        );
    }
}
