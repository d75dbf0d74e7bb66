//! The scan in two halves, so that it uses every core and holds one tenant at a time.
//!
//! 1. **Partition**: each file in turn is split into records, which every core parses,
//!    normalizes and enriches in chunks; each event is appended to its tenant's spill file
//!    (postcard, length-prefixed) with the position it was read at. A file's bytes are dropped
//!    once it is read.
//! 2. **Detect**: each core takes the largest tenant left, reads its spill back, orders it as
//!    ingest would (`tenant_order`) and runs the engine over it. Tenants share nothing, so the
//!    findings are those of one engine over everything, in the same order.
//!
//! Memory is the file being parsed and the one read ahead, or one tenant's events per core, not
//! every event of every tenant at once.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use anyhow::Context;
use tokenwatch_core::detect::{Finding, WeightSet};
use tokenwatch_core::enrich::IpDb;
use tokenwatch_core::event::NormalizedEvent;
use tokenwatch_core::parse::{JsonRecords, Limits, ParsedRecord, parse_document};

/// Records a worker parses per turn: large enough that taking a turn costs nothing, small
/// enough that the cores finish a file together.
const CHUNK: usize = 1_024;

/// Bytes of one tenant a worker gathers before appending them to the spill file.
const FLUSH_BYTES: usize = 1 << 20;

/// Every event, written per tenant to a temporary directory (removed when this is dropped).
#[derive(Debug)]
pub(crate) struct Partitioned {
    dir: tempfile::TempDir,
    tenants: HashMap<String, Spill>,
    /// Events read.
    pub(crate) events: usize,
    /// Records that could not be used.
    pub(crate) rejected: usize,
}

/// One tenant's spill file.
#[derive(Debug, Default)]
struct Spill {
    file: usize,
    bytes: u64,
}

impl Partitioned {
    fn path(&self, spill: &Spill) -> PathBuf {
        spill_path(self.dir.path(), spill.file)
    }

    /// Every event with its tenant, in the order read.
    pub(crate) fn into_events(self) -> anyhow::Result<Vec<(String, NormalizedEvent)>> {
        let mut all = Vec::with_capacity(self.events);
        for (tenant, spill) in &self.tenants {
            for (order, event) in read_spill(&self.path(spill))? {
                all.push((order, tenant.clone(), event));
            }
        }
        all.sort_unstable_by_key(|(order, _, _)| *order);
        Ok(all
            .into_iter()
            .map(|(_, tenant, event)| (tenant, event))
            .collect())
    }
}

fn spill_path(dir: &Path, file: usize) -> PathBuf {
    dir.join(format!("tenant-{file}.events"))
}

/// What the workers share while partitioning.
struct Spills<'a> {
    dir: &'a Path,
    tenants: Mutex<HashMap<String, Spill>>,
}

impl Spills<'_> {
    /// Appends encoded events to a tenant's spill file.
    fn append(&self, tenant: &str, bytes: &[u8]) -> anyhow::Result<()> {
        let mut tenants = self.tenants.lock().expect("spill lock");
        let next = tenants.len();
        let spill = tenants.entry(tenant.to_owned()).or_insert_with(|| Spill {
            file: next,
            bytes: 0,
        });
        let path = spill_path(self.dir, spill.file);
        let mut file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .with_context(|| format!("cannot write {}", path.display()))?;
        file.write_all(bytes)
            .with_context(|| format!("cannot write {}", path.display()))?;
        spill.bytes += bytes.len() as u64;
        Ok(())
    }
}

/// One worker's events not yet appended, per tenant.
#[derive(Default)]
struct Gathered {
    tenants: HashMap<String, Vec<u8>>,
    events: usize,
    rejected: usize,
}

impl Gathered {
    fn add(
        &mut self,
        spills: &Spills<'_>,
        tenant: String,
        order: u64,
        event: &NormalizedEvent,
    ) -> anyhow::Result<()> {
        // The tenant's name is copied once, not per event.
        if !self.tenants.contains_key(&tenant) {
            self.tenants.insert(tenant.clone(), Vec::new());
        }
        let buffer = self.tenants.get_mut(&tenant).expect("inserted above");
        append_frame(buffer, order, event);
        self.events += 1;
        if buffer.len() >= FLUSH_BYTES {
            spills.append(&tenant, buffer)?;
            buffer.clear();
        }
        Ok(())
    }

    fn flush(&mut self, spills: &Spills<'_>) -> anyhow::Result<()> {
        for (tenant, buffer) in self.tenants.drain() {
            if !buffer.is_empty() {
                spills.append(&tenant, &buffer)?;
            }
        }
        Ok(())
    }
}

/// Writes one event as a frame: its length (u32, little-endian), then postcard of
/// (order, event).
fn append_frame(buffer: &mut Vec<u8>, order: u64, event: &NormalizedEvent) {
    let at = buffer.len();
    buffer.extend_from_slice(&[0; 4]);
    // Encoding plain data into a Vec cannot fail.
    let encoded =
        postcard::to_extend(&(order, event), std::mem::take(buffer)).expect("events encode");
    *buffer = encoded;
    let length = u32::try_from(buffer.len() - at - 4).expect("an event is under 4 GiB");
    buffer[at..at + 4].copy_from_slice(&length.to_le_bytes());
}

/// Reads a spill file back.
fn read_spill(path: &Path) -> anyhow::Result<Vec<(u64, NormalizedEvent)>> {
    let mut bytes = Vec::new();
    BufReader::new(File::open(path).with_context(|| format!("cannot read {}", path.display()))?)
        .read_to_end(&mut bytes)?;
    let mut events = Vec::new();
    let mut rest = bytes.as_slice();
    while let Some((length, tail)) = rest.split_first_chunk::<4>() {
        let length = u32::from_le_bytes(*length) as usize;
        anyhow::ensure!(tail.len() >= length, "{} is cut short", path.display());
        let (frame, tail) = tail.split_at(length);
        events.push(postcard::from_bytes(frame).context("a spilled event does not decode")?);
        rest = tail;
    }
    Ok(events)
}

/// Parses every file, in order, on `workers` threads, into per-tenant spill files. `progress`
/// is told each file finished.
pub(crate) fn partition(
    files: &[PathBuf],
    load_ipdb: impl FnOnce() -> anyhow::Result<Option<IpDb>> + Send,
    default_tenant: &str,
    workers: usize,
    read: impl Fn(&Path) -> anyhow::Result<Vec<u8>> + Sync,
    progress: impl Fn(usize),
) -> anyhow::Result<Partitioned> {
    let dir = tempfile::Builder::new()
        .prefix("tokenwatch-scan-")
        .tempdir()
        .context("cannot create a temporary directory for the scan (set TMPDIR)")?;
    let spills = Spills {
        dir: dir.path(),
        tenants: Mutex::new(HashMap::new()),
    };
    let limits = Limits::default();
    let mut events = 0;
    let mut rejected = 0;
    // One file is read (and decompressed) ahead while the workers parse the one before.
    let (ahead, arrived) = std::sync::mpsc::sync_channel::<anyhow::Result<Vec<u8>>>(1);
    std::thread::scope(|scope| -> anyhow::Result<()> {
        // The IP data loads while the first file is read.
        let mut loading = Some(scope.spawn(load_ipdb));
        let mut ipdb = None;
        scope.spawn(|| {
            for path in files {
                if ahead.send(read(path)).is_err() {
                    return;
                }
            }
        });
        for (file_index, path) in files.iter().enumerate() {
            let content = arrived.recv().context("the file reader stopped")??;
            if let Some(loading) = loading.take() {
                ipdb = loading
                    .join()
                    .unwrap_or_else(|_| Err(anyhow::anyhow!("loading the IP data panicked")))?;
            }
            let ipdb = ipdb.as_ref();
            let order_of = |record: usize| ((file_index as u64) << 32) | record as u64;
            let keep = |gathered: &mut Gathered, record: ParsedRecord<'_>| -> anyhow::Result<()> {
                match record.outcome {
                    Ok(mut event) => {
                        if let Some(ipdb) = ipdb {
                            ipdb.enrich(&mut event);
                        }
                        let tenant = tokenwatch_core::detect::tenant_of(&event, default_tenant);
                        gathered.add(&spills, tenant, order_of(record.index), &event)
                    }
                    Err(_) => {
                        gathered.rejected += 1;
                        Ok(())
                    }
                }
            };
            let results: Vec<anyhow::Result<Gathered>> =
                match JsonRecords::split(&content, None, &limits) {
                    Some(json) => {
                        let next = AtomicUsize::new(0);
                        std::thread::scope(|scope| {
                            let handles: Vec<_> = (0..workers.max(1))
                                .map(|_| {
                                    scope.spawn(|| -> anyhow::Result<Gathered> {
                                        let mut gathered = Gathered::default();
                                        loop {
                                            let from = next.fetch_add(CHUNK, Ordering::Relaxed);
                                            if from >= json.len() {
                                                break;
                                            }
                                            for index in from..(from + CHUNK).min(json.len()) {
                                                if let Some(record) = json.parse(index) {
                                                    keep(&mut gathered, record)?;
                                                }
                                            }
                                        }
                                        gathered.flush(&spills)?;
                                        Ok(gathered)
                                    })
                                })
                                .collect();
                            handles
                                .into_iter()
                                .map(|h| {
                                    h.join().unwrap_or_else(|_| {
                                        Err(anyhow::anyhow!("a parser thread panicked"))
                                    })
                                })
                                .collect()
                        })
                    }
                    // CSV exports (Purview, Sentinel) are read on one core.
                    None => {
                        let mut gathered = Gathered::default();
                        let outcome = parse_document(&content, None, &limits)
                            .into_iter()
                            .try_for_each(|record| keep(&mut gathered, record))
                            .and_then(|()| gathered.flush(&spills));
                        vec![outcome.map(|()| gathered)]
                    }
                };
            for result in results {
                let gathered = result.with_context(|| format!("cannot scan {}", path.display()))?;
                events += gathered.events;
                rejected += gathered.rejected;
            }
            progress(file_index + 1);
        }
        drop(arrived);
        Ok(())
    })?;
    let tenants = spills.tenants.into_inner().expect("spill lock");
    Ok(Partitioned {
        dir,
        tenants,
        events,
        rejected,
    })
}

/// Runs the engine over every tenant, the largest first, on `workers` threads; returns the
/// findings most severe first, as one engine over every event would.
pub(crate) fn detect(
    partitioned: &Partitioned,
    weights: &WeightSet,
    workers: usize,
) -> anyhow::Result<Vec<Finding>> {
    // The findings come back in tenant-name order, as the one-engine scan raises them.
    let mut tenants: Vec<(&String, &Spill)> = partitioned.tenants.iter().collect();
    tenants.sort_by(|a, b| a.0.cmp(b.0));
    let mut largest_first: Vec<usize> = (0..tenants.len()).collect();
    largest_first.sort_by_key(|&i| std::cmp::Reverse(tenants[i].1.bytes));
    let results: Vec<Mutex<Option<Vec<Finding>>>> =
        tenants.iter().map(|_| Mutex::new(None)).collect();
    let next = AtomicUsize::new(0);
    std::thread::scope(|scope| -> anyhow::Result<()> {
        let handles: Vec<_> = (0..workers.max(1))
            .map(|_| {
                scope.spawn(|| -> anyhow::Result<()> {
                    loop {
                        let Some(&index) = largest_first.get(next.fetch_add(1, Ordering::Relaxed))
                        else {
                            return Ok(());
                        };
                        let (tenant, spill) = tenants[index];
                        let events = read_spill(&partitioned.path(spill))?;
                        let findings = tokenwatch_core::detect::run_tenant(tenant, events, weights);
                        *results[index].lock().expect("results lock") = Some(findings);
                    }
                })
            })
            .collect();
        for handle in handles {
            handle
                .join()
                .unwrap_or_else(|_| Err(anyhow::anyhow!("a detection thread panicked")))?;
        }
        Ok(())
    })?;
    let mut findings: Vec<Finding> = results
        .into_iter()
        .flat_map(|result| {
            result
                .into_inner()
                .expect("results lock")
                .unwrap_or_default()
        })
        .collect();
    findings.sort_by(|a, b| b.score.total_cmp(&a.score));
    Ok(findings)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Simulated files of three tenants, one of them also sent twice (a resent export), in
    /// pieces small enough that every worker gets several chunks and flushes.
    fn files(dir: &Path) -> Vec<PathBuf> {
        let simulation = tokenwatch_simulate::simulate(tokenwatch_simulate::Config {
            seed: 5,
            tenants: 3,
            users: 12,
            days: 9,
        });
        let mut paths = Vec::new();
        for (name, content) in &simulation.files {
            if name.starts_with("ual-") {
                let path = dir.join(name);
                std::fs::write(&path, content).unwrap();
                paths.push(path);
            }
        }
        paths.push(paths[0].clone());
        paths
    }

    fn one_engine(files: &[PathBuf], weights: WeightSet) -> Vec<Finding> {
        let mut events = Vec::new();
        for path in files {
            let content = std::fs::read(path).unwrap();
            for record in parse_document(&content, None, &Limits::default()) {
                let event = record.outcome.unwrap();
                events.push((tokenwatch_core::detect::tenant_of(&event, "unknown"), event));
            }
        }
        tokenwatch_core::detect::run(events, weights)
    }

    #[test]
    fn tenant_by_tenant_finds_what_one_engine_over_everything_finds() {
        let dir = tempfile::tempdir().unwrap();
        let files = files(dir.path());
        let read = |path: &Path| Ok(std::fs::read(path)?);
        let finished = std::sync::atomic::AtomicUsize::new(0);
        let partitioned = partition(
            &files,
            || Ok(None),
            "unknown",
            3,
            read,
            |n| finished.store(n, Ordering::Relaxed),
        )
        .unwrap();
        assert_eq!(finished.load(Ordering::Relaxed), files.len());
        assert_eq!(partitioned.tenants.len(), 3);
        assert_eq!(partitioned.rejected, 0);
        let weights = WeightSet::default();
        let expected = one_engine(&files, weights.clone());
        assert!(expected.len() >= 3, "{} findings", expected.len());
        for workers in [1, 2, 3] {
            assert_eq!(detect(&partitioned, &weights, workers).unwrap(), expected);
        }
        // The evaluation's view: every event, in the order read.
        let read_back = partitioned.into_events().unwrap();
        let mut tenants_in_order: Vec<&str> = Vec::new();
        for (tenant, _) in &read_back {
            if tenants_in_order.last() != Some(&tenant.as_str()) {
                tenants_in_order.push(tenant);
            }
        }
        assert_eq!(tenants_in_order.len(), 4, "file by file, the first resent");
        assert_eq!(tokenwatch_core::detect::run(read_back, weights), expected);
    }

    #[test]
    fn a_spill_cut_short_is_an_error_not_fewer_events() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cut.events");
        let files = files(dir.path());
        let content = std::fs::read(&files[0]).unwrap();
        let record = parse_document(&content, None, &Limits::default())
            .into_iter()
            .next()
            .unwrap();
        let mut buffer = Vec::new();
        append_frame(&mut buffer, 7, record.outcome.as_ref().unwrap());
        std::fs::write(&path, &buffer).unwrap();
        let events = read_spill(&path).unwrap();
        assert_eq!(events, vec![(7, record.outcome.unwrap())]);
        std::fs::write(&path, &buffer[..buffer.len() - 1]).unwrap();
        assert!(read_spill(&path).is_err());
    }
}
