//! What is normal for a user, with memory, and for the user's tenant.
//!
//! Counts decay with a half-life of [`HALF_LIFE_DAYS`] days: a network used daily stays known,
//! one used during a trip a month ago has faded to a sixteenth, and a change of ISP is learned
//! within days. Two weeks keeps the weekly rhythm (office days, home days) while letting
//! yesterday matter more than last month.
//!
//! Counts are per day of presence, not per event: a heavy user's thousand events from home do
//! not drown the three days a week they spend at the office.
//!
//! # Novelty
//!
//! How new a value `v` of some kind is for user `u` of tenant `t`:
//!
//! ```text
//! known(u, v)   = n / (n + 1)          n = decayed days u was seen with v
//! history(u)    = d / (d + 3)          d = decayed days u was seen at all
//! rarity(t, v)  = 1 - users(t, v) / (users(t) + 1)
//! novelty       = (1 - known) · rarity · (0.3 + 0.7 · history)
//! ```
//!
//! A value the user knows is not new, whatever the tenant does. What is common across the
//! tenant (its SASE egress, its office ISP) is weak evidence for any of its users, however long
//! their history; what is rare for the tenant and new to a user with history is strong
//! evidence. A user with little history cannot be judged well: everything is new to them, so
//! their novelty counts at most 0.3.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Half-life of the decayed counts.
pub const HALF_LIFE_DAYS: f64 = 14.0;

/// A kind of context value a baseline remembers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// An ASN, or an IP prefix when the ASN is unknown.
    Network,
    /// An IP prefix (/24, /48) within its network and client, as `network#client|prefix`.
    Prefix,
    /// A network together with a client, as `network#client`: the laptop's browser on the
    /// phone's carrier is new even when both are known apart.
    NetworkClient,
    /// A country.
    Country,
    /// Browser family, OS family and client kind.
    Client,
    /// A device id.
    Device,
}

/// A decayed count.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Decayed {
    /// The count at `at`.
    pub weight: f64,
    /// When the count was last brought up to date (seconds since the epoch).
    pub at: i64,
    /// The last day (days since the epoch) it was counted, so it counts once a day.
    pub day: i64,
}

impl Decayed {
    /// The count decayed to `now`.
    pub fn value(&self, now: i64) -> f64 {
        let days = (now - self.at).max(0) as f64 / 86_400.0;
        self.weight * 0.5f64.powf(days / HALF_LIFE_DAYS)
    }

    /// Counts one presence on the day of `now`; returns whether this was the first that day.
    fn observe(&mut self, now: i64) -> bool {
        let day = now.div_euclid(86_400);
        if self.weight > 0.0 && self.day == day {
            return false;
        }
        self.weight = self.value(now) + 1.0;
        self.at = now;
        self.day = day;
        true
    }
}

/// One user's normal.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct UserBaseline {
    /// Decayed days of presence per context value.
    pub contexts: HashMap<Kind, HashMap<String, Decayed>>,
    /// Decayed active days.
    pub days: Decayed,
    /// Decayed activity per UTC hour of day.
    pub hours: [f64; 24],
    /// Events seen.
    pub events: u64,
    /// Sessions closed, with the mean and variance of ln(1 + events per session).
    pub sessions: u64,
    /// Running mean of ln(1 + events per session).
    pub session_size_mean: f64,
    /// Running variance of ln(1 + events per session).
    pub session_size_var: f64,
    /// Distinct days (since the epoch) the user was active on, counted up to
    /// [`LEARNING_ACTIVE_DAYS`]: the warm-up clock.
    #[serde(default)]
    pub active_days: u32,
    /// The first day the user was seen (days since the epoch).
    #[serde(default)]
    pub first_day: Option<i64>,
}

/// A value whose decayed count fell below this is forgotten: a single day's presence reaches it
/// after about eleven weeks, when it counts for 2 % of a known value.
pub const FORGOTTEN_BELOW: f64 = 0.02;

/// Address blocks remembered per network and operating system. A carrier's CGNAT or IPv6
/// privacy addresses give a phone a new block every day, forever; a scope with this many is
/// churning (see `CHURNING_PREFIXES` in the engine) and only its strongest blocks need a name.
pub const MAX_BLOCKS_PER_SCOPE: usize = 8;

/// A user is learning until seen on this many distinct days...
pub const LEARNING_ACTIVE_DAYS: u32 = 5;
/// ...and over at least this many calendar days (a working week and its weekend).
pub const LEARNING_SPAN_DAYS: i64 = 7;

impl UserBaseline {
    /// Decayed days the user was seen with `value`.
    pub fn seen(&self, kind: Kind, value: &str, now: i64) -> f64 {
        self.contexts
            .get(&kind)
            .and_then(|values| values.get(value))
            .map_or(0.0, |d| d.value(now))
    }

    /// Whether the baseline is still learning the user: fewer than [`LEARNING_ACTIVE_DAYS`]
    /// active days, or first seen less than [`LEARNING_SPAN_DAYS`] ago. A learning user's
    /// contexts are taken as theirs, not judged: on onboarding every session is days old and
    /// nothing is known yet.
    pub fn learning(&self, now: i64) -> bool {
        let today = now.div_euclid(86_400);
        self.active_days < LEARNING_ACTIVE_DAYS
            || self
                .first_day
                .is_none_or(|first| today - first < LEARNING_SPAN_DAYS)
    }

    /// When the user stops (or stopped) learning, if the active days are there: the day the
    /// span is complete (days since the epoch).
    pub fn learned_from_day(&self) -> Option<i64> {
        let first = self.first_day?;
        (self.active_days >= LEARNING_ACTIVE_DAYS).then_some(first + LEARNING_SPAN_DAYS)
    }

    /// Learns one observation; returns the values that became known to the user (first day),
    /// for the tenant's population prior.
    pub fn observe(&mut self, now: i64, values: &[(Kind, &str)]) -> Vec<(Kind, String)> {
        self.events += 1;
        if self.days.observe(now) && self.active_days < LEARNING_ACTIVE_DAYS {
            self.active_days += 1;
        }
        let today = now.div_euclid(86_400);
        self.first_day = Some(self.first_day.map_or(today, |first| first.min(today)));
        let hour = usize::try_from(now.rem_euclid(86_400) / 3600).unwrap_or(0);
        for (h, weight) in self.hours.iter_mut().enumerate() {
            // The hour profile decays with the same half-life, per event.
            *weight *= 0.999;
            if h == hour {
                *weight += 1.0;
            }
        }
        let mut first_time = Vec::new();
        for (kind, value) in values {
            if value.is_empty() {
                continue;
            }
            let entry = self
                .contexts
                .entry(*kind)
                .or_default()
                .entry((*value).to_owned())
                .or_default();
            let new = entry.weight == 0.0;
            entry.observe(now);
            if new {
                first_time.push((*kind, (*value).to_owned()));
            }
        }
        first_time
    }

    /// Records a finished session's size.
    pub fn close_session(&mut self, events: u64) {
        let x = (1.0 + events as f64).ln();
        self.sessions += 1;
        let n = self.sessions as f64;
        let delta = x - self.session_size_mean;
        self.session_size_mean += delta / n;
        self.session_size_var += (delta * (x - self.session_size_mean) - self.session_size_var) / n;
    }

    /// Share of the user's activity in this UTC hour, 0..1.
    pub fn hour_share(&self, hour: usize) -> f64 {
        let total: f64 = self.hours.iter().sum();
        if total <= 0.0 {
            return 1.0 / 24.0;
        }
        self.hours.get(hour).copied().unwrap_or(0.0) / total
    }

    /// How many prefixes the user knows in `scope` (a network and client): a carrier's
    /// churning addresses make many.
    pub fn prefixes_in(&self, scope: &str) -> usize {
        self.contexts.get(&Kind::Prefix).map_or(0, |m| {
            m.keys()
                .filter(|k| crate::detect::context_key::is_block_in(k, scope))
                .count()
        })
    }

    /// Forgets what has faded below [`FORGOTTEN_BELOW`], and in each network-and-client scope
    /// all but the [`MAX_BLOCKS_PER_SCOPE`] strongest address blocks, so a baseline stays
    /// bounded however long the user is watched. Returns what was forgotten, for the tenant's
    /// population prior.
    pub fn forget_faded(&mut self, now: i64) -> Vec<(Kind, String)> {
        let mut forgotten = Vec::new();
        for (kind, values) in &mut self.contexts {
            values.retain(|value, count| {
                let keep = count.value(now) >= FORGOTTEN_BELOW;
                if !keep {
                    forgotten.push((*kind, value.clone()));
                }
                keep
            });
        }
        if let Some(blocks) = self.contexts.get_mut(&Kind::Prefix)
            && blocks.len() > MAX_BLOCKS_PER_SCOPE
        {
            let mut by_scope: HashMap<&str, Vec<(&str, f64)>> = HashMap::new();
            for (key, count) in blocks.iter() {
                by_scope
                    .entry(crate::detect::context_key::scope_of(key))
                    .or_default()
                    .push((key, count.value(now)));
            }
            let mut excess = Vec::new();
            for mut scope in by_scope.into_values() {
                if scope.len() > MAX_BLOCKS_PER_SCOPE {
                    // Strongest first; ties by key, so every replica forgets the same blocks.
                    scope.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(b.0)));
                    excess.extend(
                        scope[MAX_BLOCKS_PER_SCOPE..]
                            .iter()
                            .map(|(k, _)| (*k).to_owned()),
                    );
                }
            }
            for key in excess {
                blocks.remove(&key);
                forgotten.push((Kind::Prefix, key));
            }
        }
        forgotten.sort();
        forgotten
    }

    /// Approximate size in memory, in bytes.
    pub fn approximate_bytes(&self) -> usize {
        let values: usize = self
            .contexts
            .values()
            .flat_map(|m| m.keys())
            .map(|k| k.len() + std::mem::size_of::<Decayed>() + 32)
            .sum();
        std::mem::size_of::<Self>() + values
    }
}

/// The tenant's population prior: how many of its users know each value.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct TenantProfile {
    users: HashSet<String>,
    known_by: HashMap<Kind, HashMap<String, u32>>,
}

impl TenantProfile {
    /// Notes a user and the values that just became known to them.
    pub fn learn(&mut self, user: &str, first_time: &[(Kind, String)]) {
        if !self.users.contains(user) {
            self.users.insert(user.to_owned());
        }
        for (kind, value) in first_time {
            *self
                .known_by
                .entry(*kind)
                .or_default()
                .entry(value.clone())
                .or_default() += 1;
        }
    }

    /// Notes values a user has forgotten (see [`UserBaseline::forget_faded`]): known by one
    /// user fewer, so one they learn again counts once.
    pub fn forget(&mut self, forgotten: &[(Kind, String)]) {
        for (kind, value) in forgotten {
            let Some(values) = self.known_by.get_mut(kind) else {
                continue;
            };
            if let Some(known) = values.get_mut(value) {
                *known = known.saturating_sub(1);
                if *known == 0 {
                    values.remove(value);
                }
            }
        }
    }

    /// Share of the tenant's users who know the value, 0..1.
    pub fn prevalence(&self, kind: Kind, value: &str) -> f64 {
        let known = self
            .known_by
            .get(&kind)
            .and_then(|values| values.get(value))
            .copied()
            .unwrap_or(0);
        f64::from(known) / (self.users.len() as f64 + 1.0)
    }

    /// Number of users seen.
    pub fn users(&self) -> usize {
        self.users.len()
    }

    /// Every user seen.
    pub fn user_names(&self) -> impl Iterator<Item = &str> {
        self.users.iter().map(String::as_str)
    }

    /// Whether the user has been seen.
    pub fn knows(&self, user: &str) -> bool {
        self.users.contains(user)
    }

    /// The values known by the most users, most common first, with their share of users.
    pub fn most_common(&self, limit: usize) -> Vec<(Kind, &str, f64)> {
        let mut all: Vec<(Kind, &str, u32)> = self
            .known_by
            .iter()
            .flat_map(|(kind, values)| values.iter().map(move |(v, n)| (*kind, v.as_str(), *n)))
            .collect();
        all.sort_by(|a, b| b.2.cmp(&a.2).then(a.0.cmp(&b.0)).then(a.1.cmp(b.1)));
        all.truncate(limit);
        let users = self.users.len() as f64 + 1.0;
        all.into_iter()
            .map(|(kind, value, n)| (kind, value, f64::from(n) / users))
            .collect()
    }
}

/// How new `value` is for the user, 0 (usual) to 1 (never seen, rare in the tenant); 0 while
/// the user is learning (nothing can be judged against a baseline that does not exist yet).
pub fn novelty(
    baseline: &UserBaseline,
    tenant: &TenantProfile,
    kind: Kind,
    value: &str,
    now: DateTime<Utc>,
) -> f64 {
    let now = now.timestamp();
    if baseline.learning(now) {
        return 0.0;
    }
    let n = baseline.seen(kind, value, now);
    let known = n / (n + 1.0);
    let rarity = 1.0 - tenant.prevalence(kind, value);
    ((1.0 - known) * rarity).clamp(0.0, 1.0)
}

/// How new `value` is for the whole tenant, needing no baseline of the user: 1 when none of the
/// tenant's users knows it and the tenant has enough users to say so, else 0. What only this
/// can raise (a country or a hosting network nobody in the tenant uses) is evidence on the
/// first day of data.
pub fn tenant_novelty(tenant: &TenantProfile, kind: Kind, value: &str) -> f64 {
    if tenant.users() < TENANT_MATURE_USERS {
        return 0.0;
    }
    if tenant.prevalence(kind, value) > 0.0 {
        0.0
    } else {
        1.0
    }
}

/// Users a tenant needs before "nobody here uses it" means something.
pub const TENANT_MATURE_USERS: usize = 10;

#[cfg(test)]
mod tests {
    use super::*;

    fn at(day: i64, hour: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_767_225_600 + day * 86_400 + hour * 3600, 0).unwrap()
    }

    #[test]
    fn counts_decay_with_the_half_life_and_count_once_a_day() {
        let mut b = UserBaseline::default();
        for hour in 0..10 {
            b.observe(at(0, hour).timestamp(), &[(Kind::Network, "AS1")]);
        }
        let now = at(0, 12).timestamp();
        // Ten events in one day count once (less the half-day of decay since).
        let once = b.seen(Kind::Network, "AS1", now);
        assert!((once - 1.0).abs() < 0.03, "once per day: {once}");
        let later = at(14, 0).timestamp();
        assert!((b.seen(Kind::Network, "AS1", later) - 0.5).abs() < 0.02);
    }

    #[test]
    fn novelty_uses_history_then_the_tenant_prior() {
        let mut tenant = TenantProfile::default();
        let mut veteran = UserBaseline::default();
        for day in 0..30 {
            let first = veteran.observe(at(day, 9).timestamp(), &[(Kind::Network, "HOME")]);
            tenant.learn("veteran", &first);
        }
        // Nine colleagues all egress through the tenant's SASE provider.
        for user in 0..9 {
            let mut b = UserBaseline::default();
            let first = b.observe(at(0, 9).timestamp(), &[(Kind::Network, "SASE")]);
            tenant.learn(&format!("colleague{user}"), &first);
        }
        let now = at(30, 10);
        assert!(novelty(&veteran, &tenant, Kind::Network, "HOME", now) < 0.1);
        let fresh = novelty(&veteran, &tenant, Kind::Network, "EVIL", now);
        assert!(fresh > 0.85, "{fresh}");
        // A newcomer is learning: nothing is judged against their (empty) baseline; only what
        // the whole tenant has never seen is evidence.
        let newcomer = UserBaseline::default();
        let sase = novelty(&newcomer, &tenant, Kind::Network, "SASE", now);
        let evil = novelty(&newcomer, &tenant, Kind::Network, "EVIL", now);
        assert_eq!((sase, evil), (0.0, 0.0));
        assert_eq!(tenant_novelty(&tenant, Kind::Network, "EVIL"), 1.0);
        assert_eq!(tenant_novelty(&tenant, Kind::Network, "SASE"), 0.0);
        // A veteran's first use of the tenant's SASE egress is weak evidence too.
        let veteran_sase = novelty(&veteran, &tenant, Kind::Network, "SASE", now);
        assert!(veteran_sase < 0.2, "{veteran_sase}");
    }

    #[test]
    fn a_user_learns_for_five_active_days_over_a_week() {
        let mut b = UserBaseline::default();
        assert!(b.learning(at(0, 9).timestamp()));
        // Five working days: enough activity, not yet a week.
        for day in 0..5 {
            b.observe(at(day, 9).timestamp(), &[(Kind::Network, "HOME")]);
        }
        assert!(b.learning(at(5, 9).timestamp()));
        assert_eq!(b.learned_from_day(), Some(at(7, 0).timestamp() / 86_400));
        assert!(!b.learning(at(7, 9).timestamp()));
        // A week that saw the user once is still not enough.
        let mut rare = UserBaseline::default();
        rare.observe(at(0, 9).timestamp(), &[(Kind::Network, "HOME")]);
        assert!(rare.learning(at(30, 9).timestamp()));
        assert_eq!(rare.learned_from_day(), None);
    }

    #[test]
    fn faded_values_and_a_churning_scopes_weakest_blocks_are_forgotten() {
        let mut tenant = TenantProfile::default();
        let mut b = UserBaseline::default();
        let first = b.observe(at(0, 9).timestamp(), &[(Kind::Country, "FR")]);
        tenant.learn("u", &first);
        // A phone gets a new block of its carrier every day; home is seen daily.
        for day in 0..20 {
            let block = format!("AS1#iOS|10.0.{day}.0/24");
            let values = [(Kind::Network, "HOME"), (Kind::Prefix, block.as_str())];
            let first = b.observe(at(day, 9).timestamp(), &values);
            tenant.learn("u", &first);
        }
        let now = at(20, 9).timestamp();
        let forgotten = b.forget_faded(now);
        // Twelve blocks over the cap go, the oldest (weakest) first; the trip's country stays
        // while it still counts.
        assert_eq!(forgotten.len(), 12, "{forgotten:?}");
        assert!(forgotten.contains(&(Kind::Prefix, "AS1#iOS|10.0.0.0/24".to_owned())));
        assert_eq!(b.prefixes_in("AS1#iOS"), MAX_BLOCKS_PER_SCOPE);
        assert!(b.seen(Kind::Prefix, "AS1#iOS|10.0.19.0/24", now) > 0.9);
        assert!(b.seen(Kind::Country, "FR", now) > 0.0);
        tenant.forget(&forgotten);
        assert_eq!(tenant.prevalence(Kind::Prefix, "AS1#iOS|10.0.0.0/24"), 0.0);
        assert!(tenant.prevalence(Kind::Prefix, "AS1#iOS|10.0.19.0/24") > 0.0);
        // Eleven weeks later the trip has faded out, and the tenant forgets that the user knew
        // it, so learning it again counts the user once.
        let later = at(20 + 80, 9).timestamp();
        let forgotten = b.forget_faded(later);
        assert!(forgotten.contains(&(Kind::Country, "FR".to_owned())));
        tenant.forget(&forgotten);
        let again = b.observe(later, &[(Kind::Country, "FR")]);
        tenant.learn("u", &again);
        assert_eq!(tenant.prevalence(Kind::Country, "FR"), 0.5);
    }

    #[test]
    fn session_sizes_keep_running_moments() {
        let mut b = UserBaseline::default();
        for size in [10, 10, 10, 10] {
            b.close_session(size);
        }
        assert!((b.session_size_mean - 11f64.ln()).abs() < 1e-9);
        assert!(b.session_size_var.abs() < 1e-9);
    }
}
