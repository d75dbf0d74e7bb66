//! The tenant's own distribution of session scores, which a finding must stand out of.

use serde::{Deserialize, Serialize};
/// The tenant's own distribution of session scores (sessions that went idle without becoming
/// findings), so that a tenant whose normal is noisy (a SASE egress hopping countries, a VPN
/// everyone uses) needs more than the global threshold to produce a finding.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct ScoreHistogram {
    bins: Vec<u32>,
    total: u32,
}

impl Default for ScoreHistogram {
    fn default() -> Self {
        ScoreHistogram {
            bins: vec![0; HISTOGRAM_BINS],
            total: 0,
        }
    }
}

/// Scores are binned by 0.1 up to this many bins (20.0).
const HISTOGRAM_BINS: usize = 200;
/// Sessions a tenant needs before its own distribution counts.
const SIGNIFICANCE_MIN_SESSIONS: u32 = 200;
/// A finding must score above this share of the tenant's ordinary sessions.
const SIGNIFICANCE_QUANTILE: f64 = 0.995;

impl ScoreHistogram {
    pub(super) fn record(&mut self, score: f64) {
        let bin = ((score.max(0.0) * 10.0) as usize).min(HISTOGRAM_BINS - 1);
        self.bins[bin] += 1;
        self.total += 1;
    }

    /// The score a finding must reach in this tenant: the threshold, or the tenant's own
    /// 99.5th percentile of ordinary sessions when that is higher.
    pub(super) fn cutoff(&self, threshold: f64) -> f64 {
        if self.total < SIGNIFICANCE_MIN_SESSIONS {
            return threshold;
        }
        let wanted = (f64::from(self.total) * SIGNIFICANCE_QUANTILE).ceil() as u32;
        let mut seen = 0;
        for (bin, count) in self.bins.iter().enumerate() {
            seen += count;
            if seen >= wanted {
                return threshold.max((bin + 1) as f64 / 10.0);
            }
        }
        threshold
    }
}
