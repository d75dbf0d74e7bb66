//! Detection: sessions, baselines with memory, features, scoring and findings — the same code
//! for the services and the offline scan.
//!
//! # Layout
//!
//! - `baseline`: per-user decayed context counts and the tenant's population prior;
//! - `session`: what one session has shown so far, in time order;
//! - `features`: a session's deviations from its user's normal, each in [0, 1];
//! - `weights`: the versioned, tunable weight set and threshold;
//! - `geo`: country centroids, for travel speed;
//! - `engine`: events in time order → scored sessions → findings.

pub mod baseline;
pub mod engine;
pub mod features;
pub mod geo;
pub mod session;
pub mod weights;

pub use engine::{Engine, Finding, Reason};
pub use weights::WeightSet;

use crate::event::NormalizedEvent;

/// Runs the engine over events of any number of tenants, in event-time order per tenant, and
/// returns the findings, most severe first. The offline scan and the evaluation use this.
pub fn run(mut events: Vec<(String, NormalizedEvent)>, weights: WeightSet) -> Vec<Finding> {
    events.sort_by(|(ta, a), (tb, b)| ta.cmp(tb).then(a.event_time.cmp(&b.event_time)));
    let mut engine = Engine::new(weights);
    for (tenant, event) in &events {
        engine.observe(tenant, event);
    }
    engine.finish()
}

/// The tenant an event belongs to in an offline scan: the tenant its record names (when that is
/// a GUID), else `default`.
pub fn tenant_of(event: &NormalizedEvent, default: &str) -> String {
    event
        .tenant_hint
        .as_deref()
        .and_then(crate::parse::tenant_guid)
        .unwrap_or_else(|| default.to_owned())
}
