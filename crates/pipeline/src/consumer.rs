//! Reading the tenant's "session touched" stream in the workers' consumer group: pending
//! entries first (a crashed worker's, or this one's from a failed step), then new ones;
//! acknowledged only after the step that used them has committed.

use redis::streams::{StreamAutoClaimReply, StreamId, StreamReadReply};
use tokenwatch_cache::{Cache, touched};
use tokenwatch_types::TenantId;

use crate::PipelineError;

/// Creates the group on the tenant's stream (and the stream), unless it exists.
pub(crate) async fn ensure_group(cache: &Cache, tenant: TenantId) -> Result<(), PipelineError> {
    let mut connection = cache.connection();
    let created: redis::RedisResult<()> = redis::cmd("XGROUP")
        .arg("CREATE")
        .arg(touched::stream_key(tenant))
        .arg(touched::CONSUMER_GROUP)
        .arg("0")
        .arg("MKSTREAM")
        .query_async(&mut connection)
        .await;
    match created {
        Ok(()) => Ok(()),
        Err(error) if error.code() == Some("BUSYGROUP") => Ok(()),
        Err(error) => Err(error.into()),
    }
}

/// Up to `count` pending entries claimed for `consumer`, then up to `count` new ones; `None`
/// when the group is gone (a flushed Redis), to be made again.
pub(crate) async fn entries(
    cache: &Cache,
    tenant: TenantId,
    consumer: &str,
    count: usize,
) -> Result<Option<Vec<StreamId>>, PipelineError> {
    let stream = touched::stream_key(tenant);
    let mut connection = cache.connection();
    // The lease says this worker owns the tenant now, so any pending entry is stale.
    let claimed: redis::RedisResult<StreamAutoClaimReply> = redis::cmd("XAUTOCLAIM")
        .arg(&stream)
        .arg(touched::CONSUMER_GROUP)
        .arg(consumer)
        .arg(0)
        .arg("0-0")
        .arg("COUNT")
        .arg(count)
        .query_async(&mut connection)
        .await;
    let claimed = match claimed {
        Ok(claimed) => claimed,
        Err(error) if error.code() == Some("NOGROUP") => return Ok(None),
        Err(error) => return Err(error.into()),
    };
    let mut entries = claimed.claimed;
    let read: Option<StreamReadReply> = redis::cmd("XREADGROUP")
        .arg("GROUP")
        .arg(touched::CONSUMER_GROUP)
        .arg(consumer)
        .arg("COUNT")
        .arg(count)
        .arg("STREAMS")
        .arg(&stream)
        .arg(">")
        .query_async(&mut connection)
        .await?;
    if let Some(read) = read {
        entries.extend(read.keys.into_iter().flat_map(|key| key.ids));
    }
    Ok(Some(entries))
}

/// Acknowledges `entries` once the step that used them has committed.
pub(crate) async fn acknowledge(
    cache: &Cache,
    tenant: TenantId,
    entries: &[StreamId],
) -> Result<(), PipelineError> {
    if entries.is_empty() {
        return Ok(());
    }
    let mut connection = cache.connection();
    let stream = touched::stream_key(tenant);
    let mut acknowledge = redis::cmd("XACK");
    acknowledge.arg(&stream).arg(touched::CONSUMER_GROUP);
    // Then deleted: one group reads the stream, so an acknowledged entry is never read again,
    // and kept it would sit in memory until the stream's length cap (most of a quiet
    // tenant's Redis memory, and growing with every tenant).
    let mut delete = redis::cmd("XDEL");
    delete.arg(&stream);
    for entry in entries {
        acknowledge.arg(&entry.id);
        delete.arg(&entry.id);
    }
    let mut pipe = redis::pipe();
    pipe.add_command(acknowledge)
        .ignore()
        .add_command(delete)
        .ignore();
    pipe.query_async::<()>(&mut connection).await?;
    Ok(())
}
