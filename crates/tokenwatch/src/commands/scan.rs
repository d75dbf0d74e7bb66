//! `tokenwatch scan`: the engine over exported files, no servers.

use clap::{Args, ValueEnum};
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

use anyhow::Context;
use tokenwatch_core::detect::{Finding, WeightSet};
use tokenwatch_core::enrich::IpDb;
use tokenwatch_core::event::NormalizedEvent;

use crate::output;

mod partition;

/// Output of `scan`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum ScanFormat {
    Table,
    Json,
    Jsonl,
}

#[derive(Debug, Args)]
pub(crate) struct ScanArgs {
    /// Export files of any supported format.
    #[arg(required = true)]
    pub(crate) files: Vec<PathBuf>,

    /// Directory of the IP data (`make ipdb`); enrichment is off without it.
    #[arg(long, env = "TOKENWATCH_IPDB")]
    pub(crate) ipdb: Option<PathBuf>,

    /// Tenant for records that name none (Graph sign-ins).
    #[arg(long, default_value = "unknown")]
    pub(crate) tenant: String,

    /// Score threshold instead of the default weight set's.
    #[arg(long)]
    pub(crate) threshold: Option<f64>,

    #[arg(long, value_enum, default_value = "table")]
    pub(crate) format: ScanFormat,
}

/// Loads the IP data if a directory is given.
pub(crate) fn load_ipdb(dir: Option<&Path>) -> anyhow::Result<Option<IpDb>> {
    match dir {
        Some(dir) => {
            Ok(Some(IpDb::load(dir).with_context(|| {
                format!("cannot load {}", dir.display())
            })?))
        }
        None => {
            let mut err = std::io::stderr().lock();
            writeln!(
                err,
                "enrichment is off: no --ipdb / TOKENWATCH_IPDB (make ipdb fetches the data)"
            )?;
            Ok(None)
        }
    }
}

/// A file's bytes, decompressed when it is gzip (exports are often kept as `.json.gz`).
fn read_maybe_gzip(path: &Path) -> anyhow::Result<Vec<u8>> {
    let content = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    if !content.starts_with(&[0x1f, 0x8b]) {
        return Ok(content);
    }
    // Sized from the trailer's length (of the last member, mod 4 GiB: a hint, bounded by a
    // generous ratio), so the buffer is not grown by doubling to nearly twice what it holds.
    let trailer: [u8; 4] = content[content.len().saturating_sub(4)..]
        .try_into()
        .unwrap_or_default();
    let hint = (u32::from_le_bytes(trailer) as usize).min(content.len().saturating_mul(32));
    gunzip_bounded(&content, hint, expanded_limit(content.len()))
        .with_context(|| format!("cannot decompress {}", path.display()))
}

/// Decompresses `content`, refusing to expand it past `limit` bytes.
fn gunzip_bounded(content: &[u8], hint: usize, limit: usize) -> anyhow::Result<Vec<u8>> {
    let mut plain = Vec::with_capacity(hint.min(limit));
    let decoder = flate2::read::MultiGzDecoder::new(content);
    std::io::Read::read_to_end(
        &mut std::io::Read::take(decoder, limit as u64 + 1),
        &mut plain,
    )?;
    if plain.len() > limit {
        anyhow::bail!(
            "it expands past {} MB, more than {EXPANSION_RATIO}x its compressed size: refusing what looks like a decompression bomb (decompress it yourself if it is genuine)",
            limit >> 20
        );
    }
    Ok(plain)
}

/// How much larger than its gzip a file may expand. JSON and CSV exports of M365 logs compress
/// 10-25x; a decompression bomb, a thousand times and more.
const EXPANSION_RATIO: usize = 64;

/// The most a gzip file of `compressed` bytes may expand to: 64x, and at least 1 GiB.
fn expanded_limit(compressed: usize) -> usize {
    compressed.saturating_mul(EXPANSION_RATIO).max(1 << 30)
}

/// Events with their tenant, and how many records could not be used.
pub(crate) type Loaded = (Vec<(String, NormalizedEvent)>, usize);

/// Threads for parsing and for the engine: one per core.
fn workers() -> usize {
    std::thread::available_parallelism().map_or(2, usize::from)
}

/// Splits every file into per-tenant spills (see [`partition`]), with progress on a terminal.
fn partition_files(
    files: &[PathBuf],
    ipdb: Option<&Path>,
    default_tenant: &str,
) -> anyhow::Result<partition::Partitioned> {
    let interactive = std::io::stderr().is_terminal();
    let partitioned = partition::partition(
        files,
        || load_ipdb(ipdb),
        default_tenant,
        workers(),
        read_maybe_gzip,
        |finished| {
            if interactive {
                let mut err = std::io::stderr().lock();
                let _ = write!(err, "\r\x1b[2Kparsed {finished}/{} files", files.len());
            }
        },
    )?;
    if interactive {
        let mut err = std::io::stderr().lock();
        writeln!(err)?;
    }
    Ok(partitioned)
}

/// Parses, normalizes and enriches every file, and returns every event in the order read (the
/// evaluation needs them all at once; the scan does not). Records that cannot be normalized are
/// counted, not fatal.
pub(crate) fn load_events(
    files: &[PathBuf],
    ipdb: Option<&Path>,
    default_tenant: &str,
) -> anyhow::Result<Loaded> {
    let partitioned = partition_files(files, ipdb, default_tenant)?;
    let rejected = partitioned.rejected;
    Ok((partitioned.into_events()?, rejected))
}

/// Runs the scan and prints the findings.
pub(crate) fn run(args: ScanArgs) -> anyhow::Result<()> {
    let started = std::time::Instant::now();
    let mut weights = WeightSet::default();
    if let Some(threshold) = args.threshold {
        anyhow::ensure!(threshold > 0.0, "--threshold must be above 0");
        weights.threshold = threshold;
    }
    let partitioned = partition_files(&args.files, args.ipdb.as_deref(), &args.tenant)?;
    let findings = partition::detect(&partitioned, &weights, workers())?;
    {
        let mut err = std::io::stderr().lock();
        writeln!(
            err,
            "scanned {} events ({} records not usable) in {:.1} s: {} findings",
            partitioned.events,
            partitioned.rejected,
            started.elapsed().as_secs_f64(),
            findings.len()
        )?;
    }
    print(&findings, args.format)
}

pub(crate) fn print(findings: &[Finding], format: ScanFormat) -> anyhow::Result<()> {
    match format {
        ScanFormat::Json => output::json(&serde_json::to_value(findings)?)?,
        ScanFormat::Jsonl => {
            for finding in findings {
                output::line(&serde_json::to_string(finding)?)?;
            }
        }
        ScanFormat::Table => {
            let rows: Vec<Vec<String>> = findings
                .iter()
                .map(|f| {
                    let reasons: Vec<String> = f
                        .reasons
                        .iter()
                        .take(3)
                        .map(|r| format!("{} {:.1}", r.feature, r.contribution))
                        .collect();
                    vec![
                        f.severity.to_string(),
                        format!("{:.2}", f.score),
                        f.user.clone(),
                        f.session_id.clone(),
                        f.detected_at
                            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                        reasons.join(", "),
                    ]
                })
                .collect();
            output::table(
                &[
                    "SEVERITY", "SCORE", "USER", "SESSION", "DETECTED", "REASONS",
                ],
                &rows,
            )?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    #[test]
    fn a_decompression_bomb_is_refused_without_expanding_it() {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        encoder.write_all(&vec![b' '; 8 << 20]).unwrap();
        let bomb = encoder.finish().unwrap();
        assert!(bomb.len() < 64 << 10, "{} bytes", bomb.len());
        let error = gunzip_bounded(&bomb, 0, 2 << 20).unwrap_err();
        assert!(error.to_string().contains("decompression bomb"), "{error}");
        assert_eq!(gunzip_bounded(&bomb, 0, 8 << 20).unwrap().len(), 8 << 20);
        assert_eq!(
            expanded_limit(10),
            1 << 30,
            "small files may still expand to 1 GiB"
        );
        assert_eq!(expanded_limit(100 << 20), 6400 << 20);
    }
}
