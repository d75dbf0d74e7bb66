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

/// Serde for the timestamps of detection state: RFC 3339 in human-readable formats (JSON, as
/// before), microseconds since the epoch in binary ones. The hot state holds tens of these per
/// session; as postcard strings they were most of its bytes (30 each, against at most 10).
/// Microseconds lose nothing: [`parse_time`] truncates every event time to them.
pub mod compact {
    use chrono::{DateTime, Utc};
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    /// Writes a timestamp.
    pub fn serialize<S: Serializer>(
        time: &DateTime<Utc>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        if serializer.is_human_readable() {
            time.serialize(serializer)
        } else {
            serializer.serialize_i64(time.timestamp_micros())
        }
    }

    /// Reads a timestamp.
    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<DateTime<Utc>, D::Error> {
        if deserializer.is_human_readable() {
            DateTime::deserialize(deserializer)
        } else {
            let micros = i64::deserialize(deserializer)?;
            DateTime::from_timestamp_micros(micros)
                .ok_or_else(|| serde::de::Error::custom("timestamp out of range"))
        }
    }

    /// The same for an optional timestamp.
    pub mod option {
        use chrono::{DateTime, Utc};
        use serde::{Deserialize, Deserializer, Serialize, Serializer};

        #[derive(Serialize, Deserialize)]
        struct Compact(#[serde(with = "super")] DateTime<Utc>);

        /// Writes an optional timestamp.
        pub fn serialize<S: Serializer>(
            time: &Option<DateTime<Utc>>,
            serializer: S,
        ) -> Result<S::Ok, S::Error> {
            time.map(Compact).serialize(serializer)
        }

        /// Reads an optional timestamp.
        pub fn deserialize<'de, D: Deserializer<'de>>(
            deserializer: D,
        ) -> Result<Option<DateTime<Utc>>, D::Error> {
            Ok(Option::<Compact>::deserialize(deserializer)?.map(|Compact(time)| time))
        }
    }
}

#[cfg(test)]
mod tests {
    #[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
    struct Stamped {
        #[serde(with = "super::compact")]
        at: DateTime<Utc>,
        #[serde(with = "super::compact::option")]
        maybe: Option<DateTime<Utc>>,
    }

    #[test]
    fn compact_times_are_rfc3339_in_json_and_eight_bytes_in_binary() {
        let at = utc("2025-01-15T09:35:20.456789Z");
        let stamped = Stamped {
            at,
            maybe: Some(at),
        };
        assert_eq!(
            serde_json::to_string(&stamped).unwrap(),
            r#"{"at":"2025-01-15T09:35:20.456789Z","maybe":"2025-01-15T09:35:20.456789Z"}"#
        );
        let binary = postcard::to_stdvec(&stamped).unwrap();
        assert!(binary.len() <= 8 + 1 + 8, "{} bytes", binary.len());
        assert_eq!(postcard::from_bytes::<Stamped>(&binary).unwrap(), stamped);
        let none = Stamped { at, maybe: None };
        let binary = postcard::to_stdvec(&none).unwrap();
        assert_eq!(postcard::from_bytes::<Stamped>(&binary).unwrap(), none);
    }

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
