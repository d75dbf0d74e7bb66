//! The engine over any number of tenants, collecting findings: the offline scan.

use std::collections::HashMap;

use crate::detect::engine::update::entry;
use crate::detect::engine::{Finding, TenantEngine};
use crate::detect::suppress::Suppressions;
use crate::detect::weights::WeightSet;
use crate::event::NormalizedEvent;

/// The detection engine over any number of tenants, collecting findings: the offline scan.
#[derive(Debug)]
pub struct Engine {
    weights: WeightSet,
    tenants: HashMap<String, TenantEngine>,
    findings: Vec<Finding>,
    /// Index of each session's finding: (tenant, user, session).
    finding_index: HashMap<(String, String, String), usize>,
    events: u64,
}

impl Engine {
    /// An engine scoring with `weights`.
    pub fn new(weights: WeightSet) -> Self {
        Engine {
            weights,
            tenants: HashMap::new(),
            findings: Vec::new(),
            finding_index: HashMap::new(),
            events: 0,
        }
    }

    /// Events processed.
    pub fn events(&self) -> u64 {
        self.events
    }

    /// One tenant's state.
    pub fn tenant(&self, tenant_id: &str) -> Option<&TenantEngine> {
        self.tenants.get(tenant_id)
    }

    /// Users with a baseline, and the approximate bytes their baselines take.
    pub fn baseline_footprint(&self) -> (usize, usize) {
        let baselines = self.tenants.values().flat_map(|t| t.users.values());
        baselines.fold((0, 0), |(n, bytes), u| {
            (n + 1, bytes + u.baseline.approximate_bytes())
        })
    }

    /// Processes one event; events of one tenant must come in event-time order.
    pub fn observe(&mut self, tenant_id: &str, event: &NormalizedEvent) {
        self.events += 1;
        let tenant = entry(&mut self.tenants, tenant_id, TenantEngine::default);
        let Some(finding) = tenant.observe(tenant_id, &self.weights, Suppressions::none(), event)
        else {
            return;
        };
        // One finding per tenant, user and session, as the online store keeps them.
        let key = (
            tenant_id.to_owned(),
            finding.user.clone(),
            finding.session_id.clone(),
        );
        match self.finding_index.get(&key) {
            Some(&index) => self.findings[index] = finding.clone(),
            None => {
                self.finding_index.insert(key, self.findings.len());
                self.findings.push(finding.clone());
            }
        }
    }

    /// The findings so far.
    pub fn findings(&self) -> &[Finding] {
        &self.findings
    }

    /// Ends the run and returns the findings, most severe first.
    pub fn finish(self) -> Vec<Finding> {
        let mut findings = self.findings;
        findings.sort_by(|a, b| b.score.total_cmp(&a.score));
        findings
    }

    /// Ends the run and returns the findings in the order they were first raised.
    pub fn into_findings(self) -> Vec<Finding> {
        self.findings
    }
}
