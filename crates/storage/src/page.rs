//! Keyset pages over rows ordered by (time, id) descending: the token is the last row's key,
//! `micros/uuid`, so a page never skips or repeats a row whatever is inserted meanwhile. Rows
//! listed across tenants order by (time, tenant, id) and their tokens carry the tenant too
//! ([`after_across`], [`next_across`]).

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

/// The key a cross-tenant page token carries (`micros/tenant/uuid`); `None` for the first page.
pub(crate) fn after_across(page_token: &str) -> StorageResult<Option<(DateTime<Utc>, Uuid, Uuid)>> {
    if page_token.is_empty() {
        return Ok(None);
    }
    // `micros/tenant` is a single-tenant token's key; the row's id follows it.
    let (key, id) = page_token
        .rsplit_once('/')
        .ok_or(StorageError::InvalidPageToken)?;
    let (time, tenant) = after(key)?.ok_or(StorageError::InvalidPageToken)?;
    let id = Uuid::parse_str(id).map_err(|_| StorageError::InvalidPageToken)?;
    Ok(Some((time, tenant, id)))
}

/// [`next`] for rows listed across tenants.
pub(crate) fn next_across<T>(
    rows: &mut Vec<T>,
    page_size: usize,
    key: impl Fn(&T) -> (DateTime<Utc>, Uuid, Uuid),
) -> Option<String> {
    if rows.len() <= page_size {
        return None;
    }
    rows.truncate(page_size);
    rows.last().map(|row| {
        let (time, tenant, id) = key(row);
        format!("{}/{tenant}/{id}", time.timestamp_micros())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_carry_the_last_rows_key_and_refuse_what_they_did_not_make() {
        let time = DateTime::from_timestamp_micros(1_780_000_000_123_456).unwrap();
        let (tenant, id) = (Uuid::new_v4(), Uuid::new_v4());
        let mut rows = vec![(time, tenant, id), (time, tenant, Uuid::new_v4())];
        let token = next_across(&mut rows, 1, |r| *r).unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(after_across(&token).unwrap(), Some((time, tenant, id)));
        let mut rows = vec![(time, id)];
        assert_eq!(next(&mut rows, 1, |r| *r), None);
        let mut rows = vec![(time, id), (time, tenant)];
        let token = next(&mut rows, 1, |r| *r).unwrap();
        assert_eq!(after(&token).unwrap(), Some((time, id)));
        assert_eq!(after("").unwrap(), None);
        for bad in ["x", "1/2", "12/not-a-uuid"] {
            assert!(after(bad).is_err(), "{bad}");
            assert!(after_across(bad).is_err(), "{bad}");
        }
        // A single-tenant token is not a cross-tenant one, nor the other way round.
        assert!(after_across(&token).is_err());
        assert!(after(&format!("{token}/{id}")).is_err());
    }
}
