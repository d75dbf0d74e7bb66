//! The timestamp spellings Microsoft exports use, all read as UTC.

use chrono::{DateTime, NaiveDateTime, SubsecRound, Utc};

/// Reads a timestamp:
/// - RFC 3339 with a zone (`2025-01-15T09:35:20.4567890Z`, `...+00:00`);
/// - ISO without a zone, which Microsoft means as UTC (`2022-12-12T19:31:41`,
///   `2022-12-12 19:31:41.123`);
/// - the Log Analytics UI export (`4/28/2021, 2:08:45.221 PM`).
///
/// Times are truncated to microseconds, what Postgres keeps, so that the online pipeline (which
/// reads events back from Postgres) and the offline scan order events identically.
pub fn parse_time(text: &str) -> Option<DateTime<Utc>> {
    parse_full(text).map(|time| time.trunc_subsecs(6))
}

fn parse_full(text: &str) -> Option<DateTime<Utc>> {
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    if let Ok(time) = DateTime::parse_from_rfc3339(text) {
        return Some(time.with_timezone(&Utc));
    }
    const NAIVE: &[&str] = &[
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S%.fZ",
        "%m/%d/%Y, %I:%M:%S%.f %p",
        "%m/%d/%Y %I:%M:%S%.f %p",
        "%m/%d/%Y %H:%M:%S%.f",
    ];
    NAIVE
        .iter()
        .find_map(|format| NaiveDateTime::parse_from_str(text, format).ok())
        .map(|naive| naive.and_utc())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn every_spelling_reads_as_utc() {
        let cases = [
            (
                "2025-01-15T09:35:20.4567890Z",
                "2025-01-15T09:35:20.456789Z",
            ),
            ("2025-01-15T10:35:20+01:00", "2025-01-15T09:35:20Z"),
            ("2022-12-12T19:31:41", "2022-12-12T19:31:41Z"),
            ("2022-12-12 19:31:41", "2022-12-12T19:31:41Z"),
            ("2025-01-15 09:35:20.456", "2025-01-15T09:35:20.456Z"),
            ("2025-09-23T09:13:33.1234567", "2025-09-23T09:13:33.123456Z"),
            ("4/28/2021, 2:08:45.221 PM", "2021-04-28T14:08:45.221Z"),
            ("4/28/2021, 12:08:45.221 AM", "2021-04-28T00:08:45.221Z"),
            ("12/1/2021 9:05:00 AM", "2021-12-01T09:05:00Z"),
        ];
        for (input, expected) in cases {
            assert_eq!(parse_time(input), Some(utc(expected)), "{input}");
        }
        for bad in ["", "yesterday", "2022-13-45T00:00:00", "1700000000"] {
            assert_eq!(parse_time(bad), None, "{bad}");
        }
    }
}
