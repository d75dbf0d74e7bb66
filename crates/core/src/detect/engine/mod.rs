//! The engine: normalized events in time order (per tenant) → sessions scored against their
//! user's baseline → findings that explain themselves.
//!
//! Learning and scoring interleave: each event is scored against the baseline as it was before
//! the event, then learned — unless its session is already a finding, so an attacker's activity
//! never becomes part of the victim's normal.
//!
//! # Layout
//!
//! - this module: [`TenantEngine`], one tenant's state and the per-event loop (score against
//!   the baseline as it was, then learn), and [`TenantEngine::evaluate`];
//! - `update`: what one event does to its session and to the user's baseline;
//! - `finding`: [`Finding`], [`Reason`], [`Evidence`], the severity rule and how a finding is
//!   built and re-scored;
//! - `significance`: the tenant's own score distribution, which a finding must stand out of;
//! - `offline`: [`Engine`], the engine over any number of tenants, collecting findings (the
//!   scan and the evaluation).

mod finding;
mod offline;
mod significance;
mod update;

#[cfg(test)]
mod tests;

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::detect::baseline::{Kind, TenantProfile, UserBaseline};
use crate::detect::context_key::ContextKey;
use crate::detect::features::features;
use crate::detect::network::{LearnedNetworks, network_of};
use crate::detect::session::{SessionState, os_of};
use crate::detect::suppress::Suppressions;
use crate::detect::weights::WeightSet;
use crate::event::NormalizedEvent;
use crate::ip::prefix;

pub use finding::{Evidence, Finding, Reason, SeenContext};
pub use offline::Engine;

use finding::build_finding;
use significance::ScoreHistogram;
use update::{client_of, entry, failed_signin, tidy_sessions, update_session};

/// Sessions idle this long have their size recorded in the baseline.
const SESSION_IDLE_HOURS: i64 = 8;
/// Sessions idle this long are forgotten.
const SESSION_FORGET_DAYS: i64 = 30;
/// A network known to this share of the tenant's users is the tenant's own (office, SASE).
const TENANT_COMMON: f64 = 0.2;

/// What the engine keeps of one user: the baseline and the open sessions.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct UserState {
    /// What is normal for the user.
    pub baseline: UserBaseline,
    sessions: HashMap<String, OpenSession>,
    /// When idle sessions were last looked at: at most hourly, not on every event.
    #[serde(with = "crate::time::compact::option")]
    last_tidy: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct OpenSession {
    state: SessionState,
    /// The session's finding, once it has one.
    finding: Option<Box<Finding>>,
    sized: bool,
    /// The highest score the session has had.
    max_score: f64,
}

/// What the engine keeps of a tenant beyond its users: the population prior and the tenant's
/// own score distribution.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct TenantShared {
    /// The population prior.
    pub profile: TenantProfile,
    scores: ScoreHistogram,
    /// Events processed.
    pub events: u64,
    /// What the tenant's sign-in logs said of its addresses (Microsoft's ASN and country).
    #[serde(default)]
    pub learned_networks: LearnedNetworks,
}

/// One tenant's detection state, between any two events: what the online pipeline keeps hot
/// (one value per user plus [`TenantShared`]) and snapshots.
#[derive(Debug, Clone, Default)]
pub struct TenantEngine {
    shared: TenantShared,
    users: HashMap<String, UserState>,
}

/// A session scored on demand, whether or not it is a finding.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Evaluation {
    /// The session as a finding would show it (score, reasons, evidence).
    pub finding: Finding,
    /// The score a finding needs in this tenant now (the threshold, or the tenant's own
    /// 99.5th percentile when higher).
    pub cutoff: f64,
    /// Whether the session is a finding.
    pub flagged: bool,
}

impl TenantEngine {
    /// A tenant state from its parts, as the pipeline stores them.
    pub fn from_parts(shared: TenantShared, users: HashMap<String, UserState>) -> Self {
        TenantEngine { shared, users }
    }

    /// The tenant-wide part.
    pub fn shared(&self) -> &TenantShared {
        &self.shared
    }

    /// One user's state.
    pub fn user(&self, user: &str) -> Option<&UserState> {
        self.users.get(user)
    }

    /// Every user's state.
    pub fn users(&self) -> impl Iterator<Item = (&String, &UserState)> {
        self.users.iter()
    }

    /// Adds or replaces one user's state (loading a tenant piece by piece).
    pub fn insert_user(&mut self, user: String, state: UserState) {
        self.users.insert(user, state);
    }

    /// Processes one event; a tenant's events must come in event-time order. Returns the
    /// session's finding when the event created or changed it (whether it is new or escalated
    /// is for the store to tell: it knows what it had).
    pub fn observe(
        &mut self,
        tenant_id: &str,
        weights: &WeightSet,
        suppressions: &Suppressions,
        event: &NormalizedEvent,
    ) -> Option<&Finding> {
        self.shared.events += 1;
        let time = event.event_time;
        let tenant = &mut self.shared;
        let user = entry(&mut self.users, &event.user_id, UserState::default);
        if user
            .last_tidy
            .is_none_or(|last| time - last >= Duration::hours(1))
        {
            tidy_sessions(user, &mut tenant.scores, time);
            let forgotten = user.baseline.forget_faded(time.timestamp());
            tenant.profile.forget(&forgotten);
            user.last_tidy = Some(time);
        }

        tenant.learned_networks.learn(event);
        if failed_signin(event) {
            // A failed sign-in (password spraying, a mistyped password) uses no session and
            // teaches nothing about the user's normal.
            return None;
        }
        let corrected;
        let event = match tenant.learned_networks.correction(event) {
            Some(network) => {
                corrected = NormalizedEvent {
                    network,
                    ..event.clone()
                };
                &corrected
            }
            None => event,
        };
        let network = network_of(event);
        let client = client_of(event);
        // Prefixes and pairs are remembered per network and operating system: a phone churning
        // through its carrier's addresses says nothing about the laptop's fixed line on the
        // same ISP, while the many apps of one device (Outlook, Teams, the browser) are one.
        // A record that names no client (mailbox access) belongs to its session's device.
        let os = event.client.os.clone().or_else(|| {
            let session = event.session_id.as_deref()?;
            let open = user.sessions.get(session)?;
            open.state
                .clients
                .iter()
                .find_map(|c| os_of(&c.value))
                .map(str::to_owned)
        });
        let os = os.as_deref().unwrap_or("-");
        let prefix_key = match (&network, event.ip) {
            (Some(network), Some(ip)) => {
                Some(ContextKey::block(network, os, &prefix(ip)).to_string())
            }
            _ => None,
        };
        let pair_key = network
            .as_deref()
            .map(|network| ContextKey::pair(network, os).to_string());
        let values: Vec<(Kind, &str)> = [
            pair_key.as_deref().map(|p| (Kind::NetworkClient, p)),
            network.as_deref().map(|n| (Kind::Network, n)),
            prefix_key.as_deref().map(|p| (Kind::Prefix, p)),
            // A record with no network (one of Microsoft's service addresses) says nothing of
            // where the user is either.
            event
                .network
                .country
                .as_deref()
                .filter(|_| network.is_some())
                .map(|c| (Kind::Country, c)),
            client.as_deref().map(|c| (Kind::Client, c)),
            event
                .device_id
                .as_deref()
                .filter(|d| !d.is_empty())
                .map(|d| (Kind::Device, d)),
        ]
        .into_iter()
        .flatten()
        .collect();

        let Some(session_id) = event.session_id.as_deref().filter(|s| !s.is_empty()) else {
            // No session: the event still teaches the user's normal.
            let first = user.baseline.observe(time.timestamp(), &values);
            tenant.profile.learn(&event.user_id, &first);
            return None;
        };

        let open = entry(&mut user.sessions, session_id, || OpenSession {
            state: SessionState::new(session_id, time),
            finding: None,
            sized: false,
            max_score: 0.0,
        });
        update_session(
            &mut open.state,
            event,
            network.as_deref(),
            prefix_key.as_deref(),
            pair_key.as_deref(),
            client.as_deref(),
            &user.baseline,
            &tenant.profile,
        );
        open.sized = false;

        let scored = features(
            &open.state,
            &user.baseline,
            suppressions.for_user(&event.user_id, time),
        );
        let score: f64 = scored
            .iter()
            .map(|f| weights.weight(f.feature) * f.value)
            .sum();
        open.max_score = open.max_score.max(score);
        let cutoff = tenant.scores.cutoff(weights.threshold);
        let flagged = score >= cutoff || open.finding.is_some();
        if flagged {
            let finding = build_finding(
                tenant_id,
                &event.user_id,
                &open.state,
                &user.baseline,
                &scored,
                score,
                weights,
                time,
            );
            match open.finding.as_deref_mut() {
                // The finding keeps the reasons of its highest score, and follows the session.
                Some(existing) if finding.score >= existing.score => {
                    *existing = Finding {
                        detected_at: existing.detected_at,
                        ..finding
                    };
                }
                Some(existing) => {
                    existing.last_seen = finding.last_seen;
                    existing.evidence = finding.evidence;
                }
                None => open.finding = Some(Box::new(finding)),
            }
        } else {
            let first = user.baseline.observe(time.timestamp(), &values);
            tenant.profile.learn(&event.user_id, &first);
        }
        open.finding.as_deref().filter(|_| flagged)
    }

    /// Scores one open session now, against the current baseline and `weights`.
    pub fn evaluate(
        &self,
        tenant_id: &str,
        weights: &WeightSet,
        suppressions: &Suppressions,
        user_id: &str,
        session_id: &str,
    ) -> Option<Evaluation> {
        let user = self.users.get(user_id)?;
        let open = user.sessions.get(session_id)?;
        let scored = features(
            &open.state,
            &user.baseline,
            suppressions.for_user(user_id, open.state.last_seen),
        );
        let score: f64 = scored
            .iter()
            .map(|f| weights.weight(f.feature) * f.value)
            .sum();
        let finding = build_finding(
            tenant_id,
            user_id,
            &open.state,
            &user.baseline,
            &scored,
            score,
            weights,
            open.state.last_seen,
        );
        Some(Evaluation {
            finding,
            cutoff: self.shared.scores.cutoff(weights.threshold),
            flagged: open.finding.is_some(),
        })
    }
}
