//! What the pipeline keeps per tenant, and its encoding.
//!
//! A tenant's state is the engine's [`TenantShared`] plus one [`UserState`] per user. Hot in
//! Redis, the tenant-wide part (with the pipeline's own bookkeeping, [`HeadMeta`]) is one value
//! and each user is one value. The encoding is postcard, compressed with zstd, behind a format
//! byte: a value of another format reads as missing, and missing state is rebuilt from Postgres,
//! so a format change costs a replay, never a wrong answer.
//!
//! Compression is what makes thousands of tenants fit: a user's value repeats the same
//! networks, clients and address blocks across its sessions, and zstd takes it to about a
//! third (BENCHMARKS.md, "Hot state").

use std::cell::RefCell;
use std::collections::{BTreeSet, VecDeque};

use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use tokenwatch_core::detect::{TenantShared, UserState};
use tokenwatch_storage::events::EventKey;

/// Bumped whenever an encoded type changes shape.
const FORMAT: u8 = 4;

/// zstd's default level: a third of the size at tens of microseconds per user value.
const COMPRESSION_LEVEL: i32 = 3;

/// The most a value may expand to: a corrupt or hostile value must not allocate without bound.
const MAX_DECODED_BYTES: u64 = 256 << 20;

/// Step ends remembered for the lateness check.
const STEP_LOG: usize = 2_000;

/// A position in the tenant's event order.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub(crate) struct Checkpoint {
    /// Event time.
    pub(crate) time: DateTime<Utc>,
    /// Record id.
    pub(crate) record_id: String,
}

impl From<&Checkpoint> for EventKey {
    fn from(checkpoint: &Checkpoint) -> Self {
        EventKey {
            time: checkpoint.time,
            record_id: checkpoint.record_id.clone(),
        }
    }
}

impl From<EventKey> for Checkpoint {
    fn from(key: EventKey) -> Self {
        Checkpoint {
            time: key.time,
            record_id: key.record_id,
        }
    }
}

/// The pipeline's bookkeeping beside the engine's tenant-wide part.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct HeadMeta {
    /// The tenant's registration time (microseconds): a tenant removed and registered again
    /// (its events deleted with it) must not pick up the old hot state.
    pub(crate) epoch: i64,
    /// The last event processed; `None` before the first.
    pub(crate) checkpoint: Option<Checkpoint>,
    /// The newest generation written to Postgres (0: none).
    pub(crate) generation: i64,
    /// Its checkpoint time.
    pub(crate) generation_time: Option<DateTime<Utc>>,
    /// When it was written (wall clock). Generations are spaced in wall time per tenant, and a
    /// tenant moves between workers, so the clock travels with its state.
    pub(crate) generation_written: Option<DateTime<Utc>>,
    /// Step ends with the events processed up to them, oldest first: how many events of a
    /// late-arriving range the engine has already seen.
    pub(crate) steps: VecDeque<(Checkpoint, u64)>,
    /// Users changed since the newest generation.
    pub(crate) dirty: BTreeSet<String>,
    /// Events retention had dropped when the engine started from nothing: stored, but never
    /// processed, so the tally of stored events is the engine's count plus these.
    pub(crate) retired_at_start: u64,
}

impl HeadMeta {
    /// Records the end of a step.
    pub(crate) fn step_done(&mut self, checkpoint: Checkpoint, events: u64) {
        self.checkpoint = Some(checkpoint.clone());
        self.steps.push_back((checkpoint, events));
        while self.steps.len() > STEP_LOG {
            self.steps.pop_front();
        }
    }

    /// The newest step end before `time`, with the events processed up to it.
    pub(crate) fn step_before(&self, time: DateTime<Utc>) -> Option<(&Checkpoint, u64)> {
        self.steps
            .iter()
            .rev()
            .find(|(checkpoint, _)| checkpoint.time < time)
            .map(|(checkpoint, events)| (checkpoint, *events))
    }
}

/// The tenant-wide value, as read.
#[derive(Debug, Deserialize)]
pub(crate) struct Head {
    /// Bookkeeping.
    pub(crate) meta: HeadMeta,
    /// The engine's tenant-wide part.
    pub(crate) shared: TenantShared,
}

/// The tenant-wide value, as written (borrowing, so a step does not copy the profile).
#[derive(Debug, Serialize)]
pub(crate) struct HeadRef<'a> {
    /// Bookkeeping.
    pub(crate) meta: &'a HeadMeta,
    /// The engine's tenant-wide part.
    pub(crate) shared: &'a TenantShared,
}

thread_local! {
    /// One compression context per thread, reused: a new one costs more to set up (its tables
    /// allocated and cleared) than compressing a typical user value does.
    static COMPRESSOR: RefCell<zstd::bulk::Compressor<'static>> = RefCell::new(
        // Creating a context fails only on an allocation failure, which aborts anyway.
        zstd::bulk::Compressor::new(COMPRESSION_LEVEL).expect("a zstd context"),
    );
}

/// Encodes a value with the format byte.
pub(crate) fn encode<T: Serialize + ?Sized>(value: &T) -> Vec<u8> {
    // Serializing plain data into a Vec cannot fail; an error here is a bug in a type.
    let plain = postcard::to_stdvec(value).expect("pipeline state serializes");
    // Compressing into a buffer of the bound's size cannot fail.
    let compressed = COMPRESSOR
        .with_borrow_mut(|compressor| compressor.compress(&plain))
        .expect("pipeline state compresses");
    let mut bytes = Vec::with_capacity(1 + compressed.len());
    bytes.push(FORMAT);
    bytes.extend_from_slice(&compressed);
    bytes
}

/// Decodes a value; `None` when it is of another format or does not decode.
pub(crate) fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Option<T> {
    let Some((&FORMAT, body)) = bytes.split_first() else {
        return None;
    };
    let decoder = zstd::stream::read::Decoder::new(body).ok()?;
    let mut plain = Vec::new();
    std::io::Read::read_to_end(
        &mut std::io::Read::take(decoder, MAX_DECODED_BYTES + 1),
        &mut plain,
    )
    .ok()?;
    if plain.len() as u64 > MAX_DECODED_BYTES {
        return None;
    }
    postcard::from_bytes(&plain).ok()
}

/// Decodes a user state.
pub(crate) fn decode_user(bytes: &[u8]) -> Option<UserState> {
    decode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_round_trip_and_other_formats_read_as_missing() {
        let mut meta = HeadMeta::default();
        let time = DateTime::from_timestamp(1_767_225_600, 0).unwrap();
        meta.step_done(
            Checkpoint {
                time,
                record_id: "a".into(),
            },
            7,
        );
        let shared = TenantShared::default();
        let bytes = encode(&HeadRef {
            meta: &meta,
            shared: &shared,
        });
        let head: Head = decode(&bytes).unwrap();
        assert_eq!(head.meta.steps.len(), 1);
        assert_eq!(
            head.meta
                .step_before(time + chrono::Duration::seconds(1))
                .unwrap()
                .1,
            7
        );
        assert!(head.meta.step_before(time).is_none());
        let mut other = bytes.clone();
        other[0] = FORMAT + 1;
        assert!(decode::<Head>(&other).is_none());
        assert!(decode::<Head>(&bytes[..bytes.len() / 2]).is_none());
    }
}
