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
    let mut command = redis::cmd("XACK");
    command
        .arg(touched::stream_key(tenant))
        .arg(touched::CONSUMER_GROUP);
    for entry in entries {
        command.arg(&entry.id);
    }
    let _: i64 = command.query_async(&mut connection).await?;
    Ok(())
}
