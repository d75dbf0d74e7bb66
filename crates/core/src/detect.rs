//! Detection: sessions, baselines with memory, features, scoring and findings — the same code
//! for the services and the offline scan.
//!
//! # Layout
//!
//! - `baseline`: per-user decayed context counts and the tenant's population prior;
//! - `context_key`: how network-and-client contexts and their address blocks are named;
//! - `session`: what one session has shown so far, in time order;
//! - `feature`: the features' names, default weights and meanings;
//! - `features`: a session's deviations from its user's normal, each in [0, 1];
//! - `weights`: the versioned, tunable weight set and threshold;
//! - `suppress`: contexts analysts marked as expected, which count for less;
//! - `learn`: weights that learn from analysts' verdicts, within bounds;
//! - `network`: operators (sibling ASNs, organisation names), allocations for addresses the IP
//!   data cannot place, Microsoft's service addresses;
//! - `geo`: country centroids, for travel speed;
//! - `engine`: events in time order → scored sessions → findings.

pub mod baseline;
pub mod context_key;
pub mod engine;
pub mod feature;
pub mod features;
pub mod geo;
pub mod learn;
pub mod network;
pub mod session;
pub mod suppress;
pub mod weights;

pub use context_key::ContextKey;
pub use engine::{Engine, Evaluation, Finding, Reason, TenantEngine, TenantShared, UserState};
pub use feature::Feature;
pub use suppress::{Suppression, Suppressions};
pub use weights::WeightSet;

use crate::event::NormalizedEvent;

/// Events grouped by tenant (in tenant order), each with its position in `events`.
fn by_tenant(
    events: Vec<(String, NormalizedEvent)>,
) -> std::collections::BTreeMap<String, Vec<(u64, NormalizedEvent)>> {
    let mut tenants: std::collections::BTreeMap<String, Vec<_>> = Default::default();
    for (order, (tenant, event)) in events.into_iter().enumerate() {
        tenants
            .entry(tenant)
            .or_default()
            .push((order as u64, event));
    }
    tenants
}

/// Puts events as ingest stores them, tenant by tenant ([`tenant_order`]): the order the
/// online pipeline replays them in.
pub fn engine_order(events: &mut Vec<(String, NormalizedEvent)>) {
    for (tenant, mut group) in by_tenant(std::mem::take(events)) {
        tenant_order(&mut group);
        events.extend(group.into_iter().map(|(_, event)| (tenant.clone(), event)));
    }
}

/// Runs the engine over events of any number of tenants, tenant by tenant ([`run_tenant`]),
/// and returns the findings, most severe first.
pub fn run(events: Vec<(String, NormalizedEvent)>, weights: WeightSet) -> Vec<Finding> {
    let mut findings: Vec<Finding> = by_tenant(events)
        .into_iter()
        .flat_map(|(tenant, group)| run_tenant(&tenant, group, &weights))
        .collect();
    findings.sort_by(|a, b| b.score.total_cmp(&a.score));
    findings
}

/// Puts one tenant's events as ingest stores them: the first of each (record id, event time)
/// (by `order`, the position the record was read at), in (event time, record id) order.
pub fn tenant_order(events: &mut Vec<(u64, NormalizedEvent)>) {
    events.sort_unstable_by(|(a_order, a), (b_order, b)| {
        a.record_id
            .cmp(&b.record_id)
            .then(a.event_time.cmp(&b.event_time))
            .then(a_order.cmp(b_order))
    });
    events.dedup_by(|later, first| {
        later.1.record_id == first.1.record_id && later.1.event_time == first.1.event_time
    });
    events.sort_unstable_by(|(_, a), (_, b)| {
        a.event_time
            .cmp(&b.event_time)
            .then_with(|| a.record_id.cmp(&b.record_id))
    });
}

/// Runs the engine over one tenant's events, in [`tenant_order`], and returns its findings in
/// the order they were first raised. Tenants share nothing, so the offline scan runs them one
/// by one (or side by side) with only one tenant's events in memory at a time; [`run`] over
/// all of them finds the same.
pub fn run_tenant(
    tenant_id: &str,
    mut events: Vec<(u64, NormalizedEvent)>,
    weights: &WeightSet,
) -> Vec<Finding> {
    tenant_order(&mut events);
    let mut engine = Engine::new(weights.clone());
    // Each event is dropped once observed: the engine keeps what it needs of it, so memory
    // shifts from the events to the state as the run goes on.
    for (_, event) in events {
        engine.observe(tenant_id, &event);
    }
    engine.into_findings()
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
