//! The "session touched" stream: after a commit, one entry per (user, session) a document
//! touched, on the tenant's own stream, for the baseline and detection services.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use tokenwatch_cache::{Cache, tenant_key};
use tokenwatch_core::event::NormalizedEvent;
use tokenwatch_types::TenantId;

/// Entries kept per tenant stream; consumers read far faster than this fills.
const STREAM_MAX_LEN: usize = 100_000;

/// The key of a tenant's "session touched" stream.
pub fn touched_stream_key(tenant: TenantId) -> String {
    tenant_key(tenant, "touched", "")
}

/// The set of tenants whose streams have entries, so consumers can find them.
const TENANTS_KEY: &str = "tw:touched-tenants";

#[derive(Debug)]
struct Touch {
    first: DateTime<Utc>,
    last: DateTime<Utc>,
    events: u64,
}

/// Announces every (user, session) touched by `events`. Events without a session id announce
/// the user alone (its baseline still changes).
pub(crate) async fn announce(
    cache: &Cache,
    tenant: TenantId,
    events: &[&NormalizedEvent],
) -> Result<usize, redis::RedisError> {
    let mut touched: BTreeMap<(&str, &str), Touch> = BTreeMap::new();
    for event in events {
        let key = (
            event.user_id.as_str(),
            event.session_id.as_deref().unwrap_or(""),
        );
        let touch = touched.entry(key).or_insert(Touch {
            first: event.event_time,
            last: event.event_time,
            events: 0,
        });
        touch.first = touch.first.min(event.event_time);
        touch.last = touch.last.max(event.event_time);
        touch.events += 1;
    }
    if touched.is_empty() {
        return Ok(0);
    }
    let stream = touched_stream_key(tenant);
    let mut pipe = redis::pipe();
    for ((user, session), touch) in &touched {
        pipe.cmd("XADD")
            .arg(&stream)
            .arg("MAXLEN")
            .arg("~")
            .arg(STREAM_MAX_LEN)
            .arg("*")
            .arg("user")
            .arg(*user)
            .arg("session")
            .arg(*session)
            .arg("first")
            .arg(touch.first.to_rfc3339())
            .arg("last")
            .arg(touch.last.to_rfc3339())
            .arg("events")
            .arg(touch.events)
            .ignore();
    }
    pipe.cmd("SADD")
        .arg(TENANTS_KEY)
        .arg(tenant.to_string())
        .ignore();
    let mut connection = cache.connection();
    pipe.query_async::<()>(&mut connection).await?;
    Ok(touched.len())
}
