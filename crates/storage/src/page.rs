//! Keyset pages over rows ordered by (time, id) descending: the token is the last row's key,
//! `micros/uuid`, so a page never skips or repeats a row whatever is inserted meanwhile.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::{StorageError, StorageResult};

/// The key a page token carries; `None` for the first page.
pub(crate) fn after(page_token: &str) -> StorageResult<Option<(DateTime<Utc>, Uuid)>> {
    if page_token.is_empty() {
        return Ok(None);
    }
    let (micros, id) = page_token
        .split_once('/')
        .ok_or(StorageError::InvalidPageToken)?;
    let micros: i64 = micros.parse().map_err(|_| StorageError::InvalidPageToken)?;
    let time = DateTime::from_timestamp_micros(micros).ok_or(StorageError::InvalidPageToken)?;
    let id = Uuid::parse_str(id).map_err(|_| StorageError::InvalidPageToken)?;
    Ok(Some((time, id)))
}

/// Cuts `rows` (fetched with one row more than `page_size`) to the page and returns the next
/// page's token, if there is a next page.
pub(crate) fn next<T>(
    rows: &mut Vec<T>,
    page_size: usize,
    key: impl Fn(&T) -> (DateTime<Utc>, Uuid),
) -> Option<String> {
    if rows.len() <= page_size {
        return None;
    }
    rows.truncate(page_size);
    rows.last().map(|row| {
        let (time, id) = key(row);
        format!("{}/{id}", time.timestamp_micros())
    })
}
