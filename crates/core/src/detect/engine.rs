//! The engine: normalized events in time order (per tenant) → sessions scored against their
//! user's baseline → findings that explain themselves.
//!
//! Learning and scoring interleave: each event is scored against the baseline as it was before
//! the event, then learned — unless its session is already a finding, so an attacker's activity
//! never becomes part of the victim's normal.

use std::collections::HashMap;

use chrono::{DateTime, Duration, Timelike, Utc};
use serde::{Deserialize, Serialize};
use tokenwatch_types::{IncidentId, Severity};

use crate::detect::baseline::{Kind, TenantProfile, UserBaseline, novelty, tenant_novelty};
use crate::detect::feature::Feature;
use crate::detect::features::{FeatureValue, describe, features};
use crate::detect::network::{LearnedNetworks, microsoft_cloud, network_of};
use crate::detect::session::{
    INTERLEAVE_MINUTES, REVIVAL_GAP_HOURS, Risky, Seen, SessionState, download_or_delete, note_asn,
    os_of, risky_operation, see,
};
use crate::detect::suppress::Suppressions;
use crate::detect::weights::WeightSet;
use crate::event::NormalizedEvent;
use crate::ip::prefix;
use crate::useragent::ClientKind;

/// Sessions idle this long have their size recorded in the baseline.
const SESSION_IDLE_HOURS: i64 = 8;
/// Sessions idle this long are forgotten.
const SESSION_FORGET_DAYS: i64 = 30;
/// A network known to this share of the tenant's users is the tenant's own (office, SASE).
const TENANT_COMMON: f64 = 0.2;

/// One feature's part in a finding's score.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reason {
    /// The feature.
    pub feature: Feature,
    /// Its value, 0..1.
    pub value: f64,
    /// What it was compared to.
    pub baseline: String,
    /// Its weight.
    pub weight: f64,
    /// value × weight.
    pub contribution: f64,
}

/// What a finding shows of its session.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evidence {
    /// Networks (ASN or prefix) with novelty and notes.
    pub networks: Vec<String>,
    /// Countries.
    pub countries: Vec<String>,
    /// Clients.
    pub clients: Vec<String>,
    /// Device ids.
    pub devices: Vec<String>,
    /// IP addresses.
    pub ips: Vec<String>,
    /// IPv6 /64 subnets.
    pub subnets64: Vec<String>,
    /// Events per operation.
    pub operations: std::collections::BTreeMap<String, u64>,
    /// Risky operations.
    pub risky_operations: Vec<String>,
    /// Every context value of the session with how new it was, for APIs.
    pub contexts: Vec<SeenContext>,
}

/// One context value a session showed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SeenContext {
    /// network, prefix, country, client or device.
    pub kind: String,
    /// The value.
    pub value: String,
    /// AS organisation, "hosting".
    pub note: String,
    /// How new it was for the user when first seen in the session, 0..1.
    pub novelty: f64,
    /// Share of the tenant's users who know it, 0..1.
    pub prevalence: f64,
    /// First seen in the session.
    pub first_seen: DateTime<Utc>,
    /// Last seen in the session.
    pub last_seen: DateTime<Utc>,
    /// Events with it.
    pub events: u64,
}

/// A session that deviates significantly from its user's normal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    /// Tenant.
    pub tenant_id: String,
    /// User principal name.
    pub user: String,
    /// Session id.
    pub session_id: String,
    /// The user incident the finding belongs to: one per tenant and user.
    pub incident_id: IncidentId,
    /// Score.
    pub score: f64,
    /// Threshold in force.
    pub threshold: f64,
    /// Low, medium, high or critical.
    pub severity: Severity,
    /// First event of the session.
    pub first_seen: DateTime<Utc>,
    /// Last event of the session.
    pub last_seen: DateTime<Utc>,
    /// Event time of the record that took the session over the threshold.
    pub detected_at: DateTime<Utc>,
    /// Contributing features, largest first.
    pub reasons: Vec<Reason>,
    /// The session's contexts.
    pub evidence: Evidence,
    /// Weight-set version.
    pub weight_version: i64,
    /// Whether the user's baseline was still learning (see `UserBaseline::learning`): only
    /// evidence that needs no baseline can have raised it.
    #[serde(default)]
    pub user_learning: bool,
}

/// What the engine keeps of one user: the baseline and the open sessions.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct UserState {
    /// What is normal for the user.
    pub baseline: UserBaseline,
    sessions: HashMap<String, OpenSession>,
    /// When idle sessions were last looked at: at most hourly, not on every event.
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

/// The tenant's own distribution of session scores (sessions that went idle without becoming
/// findings), so that a tenant whose normal is noisy (a SASE egress hopping countries, a VPN
/// everyone uses) needs more than the global threshold to produce a finding.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct ScoreHistogram {
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
    fn record(&mut self, score: f64) {
        let bin = ((score.max(0.0) * 10.0) as usize).min(HISTOGRAM_BINS - 1);
        self.bins[bin] += 1;
        self.total += 1;
    }

    /// The score a finding must reach in this tenant: the threshold, or the tenant's own
    /// 99.5th percentile of ordinary sessions when that is higher.
    fn cutoff(&self, threshold: f64) -> f64 {
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
            (Some(network), Some(ip)) => Some(format!("{network}#{os}|{}", prefix(ip))),
            _ => None,
        };
        let pair_key = network.as_ref().map(|network| format!("{network}#{os}"));
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
}

/// The value under `key`, created if missing; the key is copied only then (this runs for every
/// event, and almost always finds the key).
fn entry<'m, V>(
    map: &'m mut HashMap<String, V>,
    key: &str,
    create: impl FnOnce() -> V,
) -> &'m mut V {
    if !map.contains_key(key) {
        map.insert(key.to_owned(), create());
    }
    map.get_mut(key).expect("inserted above")
}

/// The client key of an event: browser family, OS family, kind.
fn client_of(event: &NormalizedEvent) -> Option<String> {
    let client = &event.client;
    if client.browser.is_none() && client.os.is_none() {
        return None;
    }
    let kind = match client.kind {
        ClientKind::Browser => "browser",
        ClientKind::App => "app",
        ClientKind::Tool => "tool",
        ClientKind::Unknown => "unknown",
    };
    Some(format!(
        "{}/{}/{kind}",
        client.browser.as_deref().unwrap_or("?"),
        client.os.as_deref().unwrap_or("?")
    ))
}

/// Records session sizes of idle sessions and forgets long-idle ones.
fn tidy_sessions(user: &mut UserState, scores: &mut ScoreHistogram, now: DateTime<Utc>) {
    let baseline = &mut user.baseline;
    user.sessions.retain(|_, open| {
        let idle = now - open.state.last_seen;
        if idle > Duration::hours(SESSION_IDLE_HOURS) && !open.sized && open.finding.is_none() {
            baseline.close_session(open.state.events);
            scores.record(open.max_score);
            open.sized = true;
        }
        idle < Duration::days(SESSION_FORGET_DAYS)
    });
}

/// A user who knows this many prefixes of a network gets a fresh address there all the time (a
/// carrier's CGNAT, IPv6 privacy addresses): a new prefix there is no news.
const CHURNING_PREFIXES: usize = 4;
/// A session showing this many prefixes of one network is on churning addresses.
const SESSION_CHURN_PREFIXES: usize = 3;

#[allow(clippy::too_many_arguments)]
fn update_session(
    state: &mut SessionState,
    event: &NormalizedEvent,
    network: Option<&str>,
    prefix_key: Option<&str>,
    pair_key: Option<&str>,
    client: Option<&str>,
    baseline: &UserBaseline,
    tenant: &TenantProfile,
) {
    let time = event.event_time;
    let gap = time - state.last_seen;
    state.events += 1;
    state.first_seen = state.first_seen.min(time);
    state.last_seen = state.last_seen.max(time);
    if let Some(ip) = event.ip {
        if let Some(subnet) = crate::ip::subnet64(ip)
            && !state.subnets64.contains(&subnet)
        {
            state.subnets64.push(subnet);
        }
        let ip = ip.to_string();
        if !state.ips.contains(&ip) {
            state.ips.push(ip);
        }
    }
    // Counted without allocating once an operation is known (this runs for every event).
    match state.operations.get_mut(&event.operation) {
        Some(count) => *count += 1,
        None => {
            state.operations.insert(event.operation.clone(), 1);
        }
    }
    let sight = |kind: Kind, value: &str, note: String| {
        (
            novelty(baseline, tenant, kind, value, time),
            tenant.prevalence(kind, value),
            note,
        )
    };

    if state.device.is_none()
        && let Some(device) = event.device_id.as_deref().filter(|d| !d.is_empty())
    {
        state.device = Some(device.to_owned());
    }
    if let Some(network) = network {
        // An interactive sign-in from Microsoft's cloud is a proxy there, not a person.
        let hosting = event.network.hosting
            || (microsoft_cloud(event.network.asn) && is_interactive_signin(event));
        let note = match (&event.network.as_org, hosting) {
            (Some(org), true) => format!("{org}, hosting"),
            (Some(org), false) => org.clone(),
            (None, true) => "hosting".to_owned(),
            (None, false) => String::new(),
        };
        let (index, new) = see(&mut state.networks, network, time, || {
            sight(Kind::Network, network, note)
        });
        if new && hosting {
            // Hosting nobody in the tenant uses needs no baseline to be evidence.
            state.networks[index].tenant_novelty = tenant_novelty(tenant, Kind::Network, network);
        }
        if let Some(previous) = state.current_network
            && previous != index
            && !new
            // Back on a network this session left less than an hour ago: two parties, unless
            // both are the device's (features decide, as the session's device shows itself).
            && time - state.networks[index].last_before_switch <= Duration::minutes(INTERLEAVE_MINUTES)
        {
            note_alternation(&mut state.alternations, previous, index);
        }
        if state.current_network != Some(index) {
            if let Some(previous) = state.current_network {
                state.networks[previous].last_before_switch = state.networks[previous].last;
            }
            if new && gap >= Duration::hours(REVIVAL_GAP_HOURS) && state.events > 1 {
                state.networks[index].revived = true;
            }
        }
        note_asn(&mut state.networks[index], event.network.asn);
        // A sign-in carrying the session's device id attests the network (and the address
        // block); one without any device id counts against them.
        let attests = if is_signin(event) {
            let device = event.device_id.as_deref().filter(|d| !d.is_empty());
            match (device, state.device.as_deref()) {
                (Some(device), Some(own)) if device == own => Some(true),
                (None, _) => Some(false),
                _ => None,
            }
        } else {
            None
        };
        let device_signin = attests == Some(true);
        attest(&mut state.networks[index], attests);
        let network_switched = state
            .current_network
            .is_some_and(|previous| previous != index);
        state.current_network = Some(index);
        if let Some(prefix_key) = prefix_key {
            // Addresses that churn are no news: a carrier's CGNAT and IPv6 privacy addresses
            // (many prefixes of one network, for the user or within this session).
            let scope = prefix_key.split('|').next().unwrap_or(network);
            let churning = baseline.prefixes_in(scope) >= CHURNING_PREFIXES;
            let (p, new_prefix) = see(&mut state.prefixes, prefix_key, time, || {
                let (novelty, prevalence, note) = sight(Kind::Prefix, prefix_key, String::new());
                (if churning { 0.0 } else { novelty }, prevalence, note)
            });
            note_asn(&mut state.prefixes[p], event.network.asn);
            attest(&mut state.prefixes[p], attests);
            let in_network = format!("{scope}|");
            let session_churn = state
                .prefixes
                .iter()
                .filter(|seen| seen.value.starts_with(&in_network))
                .count()
                >= SESSION_CHURN_PREFIXES;
            if session_churn {
                for seen in state
                    .prefixes
                    .iter_mut()
                    .filter(|seen| seen.value.starts_with(&in_network))
                {
                    seen.novelty = 0.0;
                }
            }
            if let Some(previous) = state.current_prefix
                && previous != p
            {
                // Alternating addresses within one network, in one address family: two parties
                // on one ISP, when one of the two addresses is new to the user.
                let same_family = state.prefixes[p].value.contains(':')
                    == state.prefixes[previous].value.contains(':');
                let novel = state.prefixes[p]
                    .novelty
                    .max(state.prefixes[previous].novelty)
                    >= 0.5;
                if !network_switched
                    && !new_prefix
                    && same_family
                    && novel
                    && time - state.prefixes[p].last_before_switch
                        <= Duration::minutes(INTERLEAVE_MINUTES)
                {
                    state.interleavings += 1;
                }
                // (IPv4 and IPv6 of one dual-stack line alternate all day.)
                if !new_prefix
                    && same_family
                    && time - state.prefixes[p].last_before_switch
                        <= Duration::minutes(INTERLEAVE_MINUTES)
                {
                    note_alternation(&mut state.prefix_alternations, previous, p);
                }
                state.prefixes[previous].last_before_switch = state.prefixes[previous].last;
            }
            state.current_prefix = Some(p);
        }
        if is_interactive_signin(event) && !state.signin_networks.contains(&index) {
            state.signin_networks.push(index);
        }
        if let Some(country) = event.network.country.as_deref() {
            let (c, new) = see(&mut state.countries, country, time, || {
                sight(Kind::Country, country, String::new())
            });
            if new {
                state.countries[c].tenant_novelty = tenant_novelty(tenant, Kind::Country, country);
            }
            if device_signin {
                // The device signed in from here: it travelled.
                state.countries[c].attested = true;
            }
            let common = state.networks[index].prevalence >= TENANT_COMMON || event.network.hosting;
            if let Some((last_country, last_time, last_common)) = &state.last_place
                && last_country != country
                && !(common || *last_common)
                && let Some(km) = crate::detect::geo::distance_km(last_country, country)
            {
                let hours = ((time - *last_time).num_seconds().max(60) as f64) / 3600.0;
                let arrival = &mut state.networks[index].arrival_speed_kmh;
                *arrival = arrival.max(km / hours);
            }
            state.last_place = Some((country.to_owned(), time, common));
        }
    }
    if let Some(client) = client {
        let (index, new) = see(&mut state.clients, client, time, || {
            sight(Kind::Client, client, String::new())
        });
        if new && client.ends_with("/tool") {
            state.clients[index].tenant_novelty = tenant_novelty(tenant, Kind::Client, client);
        }
        state.current_client = Some(index);
    }
    if let Some(pair) = pair_key {
        let (index, _) = see(&mut state.pairs, pair, time, || {
            sight(Kind::NetworkClient, pair, String::new())
        });
        note_asn(&mut state.pairs[index], event.network.asn);
    }
    if let Some(device) = event.device_id.as_deref().filter(|d| !d.is_empty()) {
        see(&mut state.devices, device, time, || {
            sight(Kind::Device, device, String::new())
        });
    }
    let (download, delete) = download_or_delete(&event.operation);
    state.downloads += u64::from(download);
    state.deletions += u64::from(delete);
    if risky_operation(&event.operation) {
        let network_novelty = state
            .current_network
            .map_or(0.0, |n| state.networks[n].novelty);
        state.risky.push(Risky {
            operation: event.operation.clone(),
            time,
            after_change: state.changed(),
            network_novelty,
        });
    }
    if baseline.events >= 100 && baseline.hour_share(time.hour() as usize) < 0.01 {
        state.off_hours_events += 1;
    }
}

/// Records what a sign-in says of a network or address block: `Some(true)` when it carried the
/// session's device id, `Some(false)` when it carried none.
fn attest(seen: &mut Seen, attests: Option<bool>) {
    match attests {
        Some(true) => seen.attested = true,
        Some(false) => seen.unattested_signins += 1,
        None => {}
    }
}

/// Counts one return between two networks (or address blocks) of a session, kept as a pair so
/// that features can tell the device's own places from a second party's.
fn note_alternation(alternations: &mut Vec<(u16, u16, u32)>, a: usize, b: usize) {
    let (a, b) = (a.min(b) as u16, a.max(b) as u16);
    match alternations.iter_mut().find(|(x, y, _)| (*x, *y) == (a, b)) {
        Some((_, _, count)) => *count += 1,
        None => alternations.push((a, b, 1)),
    }
}

/// A sign-in that failed: a sign-in record with an error code, or a UAL UserLoginFailed.
fn failed_signin(event: &NormalizedEvent) -> bool {
    match event.operation.as_str() {
        "UserLoginFailed" => true,
        "SignIn" => event
            .result_status
            .as_deref()
            .is_some_and(|status| status != "0" && !status.eq_ignore_ascii_case("success")),
        _ => false,
    }
}

/// A sign-in of any kind: a sign-in record, or a UAL UserLoggedIn / UserLoginFailed.
fn is_signin(event: &NormalizedEvent) -> bool {
    matches!(
        event.operation.as_str(),
        "SignIn" | "UserLoggedIn" | "UserLoginFailed"
    )
}

/// An interactive sign-in: a sign-in record marked interactive, or a UAL UserLoggedIn.
fn is_interactive_signin(event: &NormalizedEvent) -> bool {
    match event.operation.as_str() {
        "SignIn" => event.interactive != Some(false),
        "UserLoggedIn" => true,
        _ => false,
    }
}

/// critical: risky operations after a change and twice the threshold; high: either; medium:
/// from 1.3× the threshold; else low.
fn severity(score: f64, threshold: f64, reasons: &[Reason]) -> Severity {
    let ratio = score / threshold;
    let risky_after = reasons
        .iter()
        .any(|r| r.feature == Feature::RiskyAfterChange);
    if risky_after && ratio >= 2.0 {
        Severity::Critical
    } else if risky_after || ratio >= 2.0 {
        Severity::High
    } else if ratio >= 1.3 {
        Severity::Medium
    } else {
        Severity::Low
    }
}

impl Finding {
    /// The finding scored again with other weights, from the feature values it recorded
    /// (its evidence and times unchanged): what a weight change does to an open finding.
    pub fn rescored(&self, weights: &WeightSet) -> Finding {
        let mut reasons: Vec<Reason> = self
            .reasons
            .iter()
            .map(|r| Reason {
                weight: weights.weight(r.feature),
                contribution: round(r.value * weights.weight(r.feature)),
                ..r.clone()
            })
            .collect();
        reasons.sort_by(|a, b| b.contribution.total_cmp(&a.contribution));
        let score = round(reasons.iter().map(|r| r.value * r.weight).sum());
        Finding {
            score,
            threshold: weights.threshold,
            severity: severity(score, weights.threshold, &reasons),
            weight_version: weights.version,
            reasons,
            ..self.clone()
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn build_finding(
    tenant_id: &str,
    user: &str,
    state: &SessionState,
    baseline: &UserBaseline,
    scored: &[FeatureValue],
    score: f64,
    weights: &WeightSet,
    now: DateTime<Utc>,
) -> Finding {
    let mut reasons: Vec<Reason> = scored
        .iter()
        .filter(|f| f.value > 0.0 && weights.weight(f.feature) > 0.0)
        .map(|f| Reason {
            feature: f.feature,
            value: round(f.value),
            baseline: describe(f.feature, state, baseline),
            weight: weights.weight(f.feature),
            contribution: round(f.value * weights.weight(f.feature)),
        })
        .collect();
    reasons.sort_by(|a, b| b.contribution.total_cmp(&a.contribution));
    let severity = severity(score, weights.threshold, &reasons);
    let describe = |list: &[crate::detect::session::Seen]| -> Vec<String> {
        list.iter()
            .map(|s| {
                let note = if s.note.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", s.note)
                };
                format!("{}{note} new={:.2}", s.value, s.novelty)
            })
            .collect()
    };
    Finding {
        tenant_id: tenant_id.to_owned(),
        user: user.to_owned(),
        session_id: state.session_id.clone(),
        incident_id: IncidentId::of_user(tenant_id, user),
        score: round(score),
        threshold: weights.threshold,
        severity,
        first_seen: state.first_seen,
        last_seen: state.last_seen,
        detected_at: now,
        reasons,
        evidence: Evidence {
            networks: describe(&state.networks),
            countries: describe(&state.countries),
            clients: describe(&state.clients),
            devices: describe(&state.devices),
            ips: state.ips.clone(),
            subnets64: state.subnets64.clone(),
            operations: state.operations.clone(),
            risky_operations: state.risky.iter().map(|r| r.operation.clone()).collect(),
            contexts: [
                ("network", &state.networks),
                ("prefix", &state.prefixes),
                ("country", &state.countries),
                ("client", &state.clients),
                ("device", &state.devices),
            ]
            .into_iter()
            .flat_map(|(kind, list)| {
                list.iter().map(move |seen| SeenContext {
                    kind: kind.to_owned(),
                    value: seen.value.clone(),
                    note: seen.note.clone(),
                    novelty: round(seen.novelty.max(seen.tenant_novelty)),
                    prevalence: round(seen.prevalence),
                    first_seen: seen.first,
                    last_seen: seen.last,
                    events: seen.events,
                })
            })
            // The ASNs behind each network, so that a suppression can name one.
            .chain(state.networks.iter().flat_map(|seen| {
                seen.asns.iter().map(move |asn| SeenContext {
                    kind: "asn".to_owned(),
                    value: format!("AS{asn}"),
                    note: seen.value.clone(),
                    novelty: round(seen.novelty.max(seen.tenant_novelty)),
                    prevalence: round(seen.prevalence),
                    first_seen: seen.first,
                    last_seen: seen.last,
                    events: seen.events,
                })
            }))
            .collect(),
        },
        weight_version: weights.version,
        user_learning: baseline.learning(now.timestamp()),
    }
}

fn round(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;
    use crate::event::{Network, SourceFormat};
    use crate::useragent::ClientInfo;

    const TENANT: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";
    const CHROME: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/122.0.0.0 Safari/537.36";

    /// An event of `user` in `session` at `minute` minutes after day 0, from `ip` in `asn`.
    #[allow(clippy::too_many_arguments)]
    fn event(
        user: &str,
        session: &str,
        minute: i64,
        ip: &str,
        asn: u32,
        country: &str,
        agent: &str,
        operation: &str,
    ) -> NormalizedEvent {
        NormalizedEvent {
            record_id: format!("{user}-{session}-{minute}-{operation}"),
            source_format: SourceFormat::ManagementActivity,
            event_time: Utc.with_ymd_and_hms(2026, 3, 2, 8, 0, 0).unwrap()
                + Duration::minutes(minute),
            tenant_hint: None,
            user_id: user.to_owned(),
            user_object_id: None,
            session_id: Some(session.to_owned()),
            session_id_source: None,
            token_id: None,
            ip: ip.parse().ok(),
            user_agent: Some(agent.to_owned()),
            device_id: None,
            client: ClientInfo::from_user_agent(agent),
            operation: operation.to_owned(),
            workload: None,
            result_status: None,
            app_id: None,
            interactive: None,
            network: Network {
                asn: Some(asn),
                as_org: None,
                country: Some(country.to_owned()),
                hosting: matches!(asn, 14061 | 24940),
            },
        }
    }

    /// Two weeks of ordinary days for ten users: a sign-in from home, then work.
    fn history(engine: &mut Engine) {
        for day in 0..14 {
            for u in 0..10 {
                let user = format!("user{u}@contoso.com");
                let session = format!("s-{u}-{day}");
                let start = day * 1440 + u;
                let ip = format!("31.149.{u}.10");
                engine.observe(
                    TENANT,
                    &event(
                        &user,
                        &session,
                        start,
                        &ip,
                        1136,
                        "NL",
                        CHROME,
                        "UserLoggedIn",
                    ),
                );
                for i in 1..20 {
                    engine.observe(
                        TENANT,
                        &event(
                            &user,
                            &session,
                            start + i * 20,
                            &ip,
                            1136,
                            "NL",
                            CHROME,
                            "FileAccessed",
                        ),
                    );
                }
            }
        }
    }

    /// The score of a session that moves from home to a network abroad, under `suppressions`.
    fn score_of_a_move(suppressions: &Suppressions) -> f64 {
        let (user, weights) = ("user3@contoso.com", WeightSet::default());
        let mut engine = TenantEngine::default();
        let home = |session: &str, minute: i64| {
            event(
                user,
                session,
                minute,
                "31.149.3.10",
                1136,
                "NL",
                CHROME,
                "FileAccessed",
            )
        };
        for day in 0..14 {
            for i in 0..5 {
                let e = home(&format!("s-{day}"), day * 1440 + i * 20);
                engine.observe(TENANT, &weights, suppressions, &e);
            }
        }
        let day = 14 * 1440;
        engine.observe(TENANT, &weights, suppressions, &home("s-vpn", day));
        let moved = event(
            user,
            "s-vpn",
            day + 30,
            "88.64.1.2",
            3209,
            "DE",
            CHROME,
            "FileAccessed",
        );
        engine.observe(TENANT, &weights, suppressions, &moved);
        engine
            .evaluate(TENANT, &weights, suppressions, user, "s-vpn")
            .unwrap()
            .finding
            .score
    }

    #[test]
    fn a_suppressed_context_counts_for_less_but_never_for_nothing() {
        use crate::detect::suppress::{Suppression, Target};
        let suppress = |user: Option<&str>, target, value: &str, expires| Suppressions {
            list: vec![Suppression::new(user.map(str::to_owned), target, value, expires).unwrap()],
        };
        let plain = score_of_a_move(Suppressions::none());
        assert!(plain > 0.0);
        let vpn = score_of_a_move(&suppress(None, Target::Asn, "AS3209", None));
        assert!(vpn < plain * 0.8, "{vpn} vs {plain}");
        assert!(vpn > 0.0, "the new country still counts");
        let both = score_of_a_move(&Suppressions {
            list: [
                suppress(Some("user3@contoso.com"), Target::Asn, "3209", None).list,
                suppress(Some("user3@contoso.com"), Target::Country, "de", None).list,
            ]
            .concat(),
        });
        assert!(both < vpn && both > 0.0, "{both} vs {vpn}");
        // Another user's, or one that expired before the session: no effect.
        let other = score_of_a_move(&suppress(
            Some("user4@contoso.com"),
            Target::Asn,
            "AS3209",
            None,
        ));
        assert_eq!(other, plain);
        let expired = Utc.with_ymd_and_hms(2026, 3, 3, 0, 0, 0).unwrap();
        let old = score_of_a_move(&suppress(None, Target::Asn, "AS3209", Some(expired)));
        assert_eq!(old, plain);
    }

    #[test]
    fn a_replayed_session_is_a_finding_that_explains_itself() {
        let mut engine = Engine::new(WeightSet::default());
        history(&mut engine);
        assert!(engine.findings().is_empty(), "ordinary days are quiet");
        let victim = "user3@contoso.com";
        let day = 14 * 1440;
        engine.observe(
            TENANT,
            &event(
                victim,
                "s-x",
                day,
                "31.149.3.10",
                1136,
                "NL",
                CHROME,
                "UserLoggedIn",
            ),
        );
        engine.observe(
            TENANT,
            &event(
                victim,
                "s-x",
                day + 5,
                "31.149.3.10",
                1136,
                "NL",
                CHROME,
                "FileAccessed",
            ),
        );
        // The same session from a hosting provider abroad, with a script, setting an inbox rule.
        let attacker = "python-requests/2.31.0";
        engine.observe(
            TENANT,
            &event(
                victim,
                "s-x",
                day + 30,
                "5.101.96.7",
                14061,
                "US",
                attacker,
                "MailItemsAccessed",
            ),
        );
        engine.observe(
            TENANT,
            &event(
                victim,
                "s-x",
                day + 32,
                "5.101.96.7",
                14061,
                "US",
                attacker,
                "New-InboxRule",
            ),
        );
        engine.observe(
            TENANT,
            &event(
                victim,
                "s-x",
                day + 40,
                "5.101.96.7",
                14061,
                "US",
                attacker,
                "MailItemsAccessed",
            ),
        );
        let findings = engine.finish();
        assert_eq!(
            findings.len(),
            1,
            "re-scoring updates the finding, never duplicates it"
        );
        let finding = &findings[0];
        assert_eq!(
            (finding.user.as_str(), finding.session_id.as_str()),
            (victim, "s-x")
        );
        assert_eq!(
            finding.detected_at,
            event(victim, "s-x", day + 30, "", 0, "", "", "").event_time
        );
        assert_eq!(
            finding.last_seen,
            event(victim, "s-x", day + 40, "", 0, "", "", "").event_time
        );
        assert_eq!(finding.severity, Severity::Critical);
        let features: Vec<&str> = finding.reasons.iter().map(|r| r.feature.name()).collect();
        // No impossible travel: a hosting address says nothing about where a person is.
        for expected in [
            "novel_network_change",
            "tool_client",
            "hosting_network",
            "risky_after_change",
        ] {
            assert!(
                features.contains(&expected),
                "{expected} missing from {features:?}"
            );
        }
        let total: f64 = finding.reasons.iter().map(|r| r.contribution).sum();
        assert!(
            (total - finding.score).abs() < 0.01,
            "the reasons add up to the score"
        );
        assert!(
            finding
                .evidence
                .risky_operations
                .contains(&"New-InboxRule".to_owned())
        );
    }

    #[test]
    fn a_noisy_tenant_needs_more_than_the_threshold() {
        let mut quiet = ScoreHistogram::default();
        for _ in 0..1000 {
            quiet.record(0.2);
        }
        assert_eq!(quiet.cutoff(3.0), 3.0);
        let mut noisy = ScoreHistogram::default();
        for i in 0..1000 {
            noisy.record(if i % 100 == 0 { 4.05 } else { 1.0 });
        }
        assert!(
            (noisy.cutoff(3.0) - 4.1).abs() < 1e-9,
            "{}",
            noisy.cutoff(3.0)
        );
        let mut young = ScoreHistogram::default();
        young.record(9.0);
        assert_eq!(young.cutoff(3.0), 3.0, "too few sessions to judge");
    }

    #[test]
    fn a_trip_and_a_move_to_a_cafe_are_not_findings() {
        let mut engine = Engine::new(WeightSet::default());
        history(&mut engine);
        let user = "user4@contoso.com";
        let day = 14 * 1440;
        // A fresh sign-in from a hotel in Spain.
        engine.observe(
            TENANT,
            &event(
                user,
                "s-trip",
                day,
                "2.136.0.9",
                3352,
                "ES",
                CHROME,
                "UserLoggedIn",
            ),
        );
        for i in 1..10 {
            engine.observe(
                TENANT,
                &event(
                    user,
                    "s-trip",
                    day + i * 10,
                    "2.136.0.9",
                    3352,
                    "ES",
                    CHROME,
                    "FileAccessed",
                ),
            );
        }
        // The next day, the laptop moves from home to a café on another ISP, same browser.
        let next = day + 1440;
        engine.observe(
            TENANT,
            &event(
                user,
                "s-cafe",
                next,
                "31.149.4.10",
                1136,
                "NL",
                CHROME,
                "UserLoggedIn",
            ),
        );
        for i in 1..10 {
            engine.observe(
                TENANT,
                &event(
                    user,
                    "s-cafe",
                    next + i * 10,
                    "31.149.4.10",
                    1136,
                    "NL",
                    CHROME,
                    "FileAccessed",
                ),
            );
        }
        for i in 10..20 {
            engine.observe(
                TENANT,
                &event(
                    user,
                    "s-cafe",
                    next + i * 10,
                    "24.132.8.8",
                    33915,
                    "NL",
                    CHROME,
                    "FileAccessed",
                ),
            );
        }
        assert!(engine.finish().is_empty());
    }

    #[test]
    fn two_parties_alternating_in_one_session_are_caught_even_on_a_known_isp() {
        let mut engine = Engine::new(WeightSet::default());
        history(&mut engine);
        let victim = "user5@contoso.com";
        let day = 14 * 1440;
        engine.observe(
            TENANT,
            &event(
                victim,
                "s-y",
                day,
                "31.149.5.10",
                1136,
                "NL",
                CHROME,
                "UserLoggedIn",
            ),
        );
        // A residential proxy on the victim's own ISP, the victim's browser, interleaved.
        for i in 0..6 {
            let t = day + 10 + i * 8;
            engine.observe(
                TENANT,
                &event(
                    victim,
                    "s-y",
                    t,
                    "31.149.200.77",
                    1136,
                    "NL",
                    CHROME,
                    "MailItemsAccessed",
                ),
            );
            engine.observe(
                TENANT,
                &event(
                    victim,
                    "s-y",
                    t + 2,
                    "31.149.5.10",
                    1136,
                    "NL",
                    CHROME,
                    "FileAccessed",
                ),
            );
        }
        let findings = engine.finish();
        assert_eq!(findings.len(), 1);
        assert!(
            findings[0]
                .reasons
                .iter()
                .any(|r| r.feature == Feature::Interleaving)
        );
    }

    /// A sign-in of `user` in `session` from `ip`, carrying `device` (or none).
    fn sign_in(
        user: &str,
        session: &str,
        minute: i64,
        ip: &str,
        asn: u32,
        device: Option<&str>,
    ) -> NormalizedEvent {
        NormalizedEvent {
            source_format: SourceFormat::GraphSignIns,
            device_id: device.map(str::to_owned),
            interactive: Some(false),
            result_status: Some("0".to_owned()),
            ..event(user, session, minute, ip, asn, "NL", CHROME, "SignIn")
        }
    }

    /// A user's laptop session over `days` days from home (AS1136), its sign-ins carrying the
    /// device id, with a phone-like second network (AS3320, fresh addresses) alternating.
    fn device_days(engine: &mut Engine, user: &str, session: &str, days: std::ops::Range<i64>) {
        for day in days {
            let base = day * 1440;
            engine.observe(
                TENANT,
                &sign_in(user, session, base, "31.149.9.10", 1136, Some("laptop-1")),
            );
            for i in 0..12 {
                let (ip, asn) = if i % 2 == 0 {
                    ("31.149.9.10".to_owned(), 1136)
                } else {
                    (format!("80.128.{}.{}", (day * 7 + i) % 250, i + 1), 3320)
                };
                engine.observe(
                    TENANT,
                    &sign_in(user, session, base + i * 9, &ip, asn, Some("laptop-1")),
                );
                engine.observe(
                    TENANT,
                    &event(
                        user,
                        session,
                        base + i * 9 + 1,
                        &ip,
                        asn,
                        "NL",
                        CHROME,
                        "FileAccessed",
                    ),
                );
            }
        }
    }

    #[test]
    fn onboarding_and_a_device_moving_between_its_networks_raise_nothing() {
        let mut engine = Engine::new(WeightSet::default());
        history(&mut engine);
        // A new user's week-old session appears on the first day of their data, hopping between
        // two networks every few minutes; then it goes on once the baseline has learned them.
        device_days(&mut engine, "new@contoso.com", "s-prt", 14..28);
        assert!(
            engine.findings().is_empty(),
            "{:#?}",
            engine.findings().first().map(|f| &f.reasons)
        );
    }

    #[test]
    fn a_replayed_cookie_without_the_device_id_is_caught_in_the_victims_country() {
        let mut engine = Engine::new(WeightSet::default());
        history(&mut engine);
        let victim = "victim@contoso.com";
        device_days(&mut engine, victim, "s-prt", 14..24);
        assert!(engine.findings().is_empty());
        // Day 24: a residential proxy in the victim's country, on another ISP, the victim's
        // browser, signing in with the stolen cookie: no device id. Interleaved with the victim.
        let day = 24 * 1440;
        engine.observe(
            TENANT,
            &sign_in(victim, "s-prt", day, "31.149.9.10", 1136, Some("laptop-1")),
        );
        engine.observe(
            TENANT,
            &sign_in(victim, "s-prt", day + 5, "24.132.77.7", 33915, None),
        );
        for i in 0..4 {
            let t = day + 6 + i * 6;
            engine.observe(
                TENANT,
                &event(
                    victim,
                    "s-prt",
                    t,
                    "24.132.77.7",
                    33915,
                    "NL",
                    CHROME,
                    "MailItemsAccessed",
                ),
            );
            engine.observe(
                TENANT,
                &event(
                    victim,
                    "s-prt",
                    t + 2,
                    "31.149.9.10",
                    1136,
                    "NL",
                    CHROME,
                    "FileAccessed",
                ),
            );
        }
        let findings = engine.finish();
        assert_eq!(findings.len(), 1);
        let finding = &findings[0];
        assert!(!finding.user_learning);
        let features: Vec<&str> = finding.reasons.iter().map(|r| r.feature.name()).collect();
        assert!(features.contains(&"unattested_signin"), "{features:?}");
        assert!(features.contains(&"interleaving"), "{features:?}");
        // Detected at the stolen cookie's sign-in or within the minutes after it.
        assert!(
            finding.detected_at - event(victim, "s", day + 5, "", 0, "", "", "").event_time
                <= Duration::minutes(15)
        );
    }

    #[test]
    fn a_replayed_cookie_on_the_victims_own_isp_is_caught() {
        let mut engine = Engine::new(WeightSet::default());
        history(&mut engine);
        let victim = "victim@contoso.com";
        // The victim's home line (AS1136) gets a new address every day: a new address block
        // there is no news for this user.
        let home = |day: i64| format!("31.149.{day}.10");
        for day in 14..25 {
            let base = day * 1440;
            for i in 0..8 {
                let minute = base + i * 30;
                let device = Some("laptop-1");
                let signin = sign_in(victim, "s-prt", minute, &home(day), 1136, device);
                engine.observe(TENANT, &signin);
                let activity = event(
                    victim,
                    "s-prt",
                    minute + 1,
                    &home(day),
                    1136,
                    "NL",
                    CHROME,
                    "FileAccessed",
                );
                engine.observe(TENANT, &activity);
            }
        }
        assert!(engine.findings().is_empty());
        // Day 24, after hours: the residential proxy is another line of the same ISP. The
        // network is the device's, the address block is not, and its sign-in has no device id.
        let day = 24 * 1440 + 300;
        engine.observe(
            TENANT,
            &sign_in(victim, "s-prt", day + 5, "31.149.200.7", 1136, None),
        );
        for i in 0..4 {
            let t = day + 6 + i * 6;
            for (minute, ip, operation) in [
                (t, "31.149.200.7", "MailItemsAccessed"),
                (t + 2, home(24).as_str(), "FileAccessed"),
            ] {
                engine.observe(
                    TENANT,
                    &event(victim, "s-prt", minute, ip, 1136, "NL", CHROME, operation),
                );
            }
        }
        let findings = engine.finish();
        assert_eq!(findings.len(), 1);
        let features: Vec<&str> = findings[0]
            .reasons
            .iter()
            .map(|r| r.feature.name())
            .collect();
        assert!(features.contains(&"interleaving"), "{features:?}");
    }

    #[test]
    fn a_browser_without_single_sign_on_at_a_dual_stack_home_raises_nothing() {
        let mut engine = Engine::new(WeightSet::default());
        history(&mut engine);
        let user = "dual@contoso.com";
        // A dual-stack home on the office's ISP (AS1136) whose IPv4 address changes daily. Each
        // morning the browser signs in first, without the device's id, over IPv4; the device's
        // token refreshes come over IPv6 for a while; the two families alternate all day.
        for day in 14..28 {
            let base = day * 1440;
            let v4 = format!("31.149.{day}.10");
            let v6 = format!("2001:980:44:1:{day:x}::7");
            let office = day % 3 == 0;
            engine.observe(TENANT, &sign_in(user, "s-prt", base, &v4, 1136, None));
            for i in 0..16 {
                let minute = base + 1 + i * 10;
                let ip = match (office, i % 2) {
                    (true, _) => "31.149.76.20",
                    (false, 0) => v4.as_str(),
                    (false, _) => v6.as_str(),
                };
                if i % 4 == 1 || (i > 8 && i % 4 == 0) {
                    let device = Some("laptop-1");
                    engine.observe(TENANT, &sign_in(user, "s-prt", minute, ip, 1136, device));
                }
                engine.observe(
                    TENANT,
                    &event(
                        user,
                        "s-prt",
                        minute,
                        ip,
                        1136,
                        "NL",
                        CHROME,
                        "FileAccessed",
                    ),
                );
            }
        }
        assert!(
            engine.findings().is_empty(),
            "{:#?}",
            engine.findings().first().map(|f| &f.reasons)
        );
    }

    #[test]
    fn a_failed_sign_in_uses_no_session() {
        let mut engine = TenantEngine::default();
        let weights = WeightSet::default();
        let mut spray = sign_in("user1@contoso.com", "s-spray", 0, "5.101.96.7", 14061, None);
        spray.result_status = Some("50126".to_owned());
        assert!(
            engine
                .observe(TENANT, &weights, Suppressions::none(), &spray)
                .is_none()
        );
        assert!(
            engine
                .evaluate(
                    TENANT,
                    &weights,
                    Suppressions::none(),
                    "user1@contoso.com",
                    "s-spray"
                )
                .is_none()
        );
    }
}
