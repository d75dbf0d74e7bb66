//! The simulator: realistic, labelled Microsoft 365 activity for tenants of an MSP, written in
//! the real export formats (Management Activity UAL JSON and Graph sign-in pages), with benign
//! look-alikes and attacks of several kinds, so that detection can be seen, measured and tuned.
//!
//! Every address comes from a real public range of the operator it is attributed to, as the
//! ip-location-db data maps it, with the realities real tenants show: sessions that live for
//! days and carry every app of a device, phones hopping between a carrier's IPv4 and IPv6 pools
//! (from sibling ASNs) and the home Wi-Fi, dual-stack homes whose IPv6 privacy address changes
//! daily, homes and offices on the same ISP, blocks the IP data does not map (Deutsche
//! Telekom's home IPv6, Exchange Online's 2603:10a6::/32), Outlook mobile's mailbox records
//! seen from Microsoft's own addresses, and SASE exits that hop countries and fail open to the
//! home line.
//!
//! # Layout
//!
//! - `networks`: the catalogue of real ranges (home ISPs, carriers, hosting, VPN, SASE);
//! - `world`: tenants, users, devices and their habits;
//! - `emit`: UAL and sign-in records;
//! - `day`: one user's day: the laptop's and the phone's sessions, the look-alike or attack it
//!   carries;
//! - [`simulate`]: the days, the look-alikes, the attacks, and the labels.

mod day;
mod emit;
mod networks;
mod world;

use chrono::{DateTime, Duration, TimeZone, Utc};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};

use day::simulate_user_day;
use emit::Emitter;
use networks::{Net, Networks};
use world::{Tenant, User, World};

/// What to simulate.
#[derive(Debug, Clone, Copy)]
pub struct Config {
    /// Random seed: the same seed gives the same output.
    pub seed: u64,
    /// Tenants.
    pub tenants: usize,
    /// Users per tenant.
    pub users: usize,
    /// Days.
    pub days: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            seed: 1,
            tenants: 3,
            users: 40,
            days: 14,
        }
    }
}

/// One labelled session.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Label {
    /// Tenant.
    pub tenant_id: String,
    /// User principal name.
    pub user: String,
    /// Session id.
    pub session_id: String,
    /// `attack` or `benign`.
    pub label: String,
    /// The kind: aitm, stealthy_replay, token_replay_later, low_and_slow; travel, coffee_shop,
    /// new_laptop, cleanup_day, commercial_vpn, sase_hopping, team_vpn.
    pub kind: String,
    /// For attacks, the event time of the first attacker record.
    pub attack_start: Option<DateTime<Utc>>,
}

/// Totals of a run, written beside the labels.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Meta {
    /// Seed used.
    pub seed: u64,
    /// Tenants.
    pub tenants: usize,
    /// Users in all.
    pub users: usize,
    /// Days.
    pub days: usize,
    /// Records written.
    pub records: usize,
}

/// A simulation's output.
#[derive(Debug)]
pub struct Simulation {
    /// Files to write: name and content.
    pub files: Vec<(String, Vec<u8>)>,
    /// One line per labelled session.
    pub labels: Vec<Label>,
    /// Totals.
    pub meta: Meta,
}

/// How many users get each look-alike and each attack.
const COPIES: usize = 3;

const ATTACKS: [&str; 4] = [
    "aitm",
    "stealthy_replay",
    "token_replay_later",
    "low_and_slow",
];
const LOOKALIKES: [&str; 5] = [
    "travel",
    "coffee_shop",
    "new_laptop",
    "cleanup_day",
    "commercial_vpn",
];

/// The first simulated day, unless asked otherwise: fixed, so a seed always gives the same
/// files.
pub fn default_start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, 0, 0, 0)
        .single()
        .expect("valid date")
}

/// Runs a simulation starting on [`default_start`].
pub fn simulate(config: Config) -> Simulation {
    simulate_from(config, default_start())
}

/// Runs a simulation whose first day starts at `start` (a midnight, for realistic hours): the
/// same activity as [`simulate`] shifted in time, e.g. into the last days for a connector that
/// pulls only recent logs.
pub fn simulate_from(config: Config, start: DateTime<Utc>) -> Simulation {
    let mut rng = StdRng::seed_from_u64(config.seed);
    let nets = Networks::catalogue();
    let world = World::new(&mut rng, &nets, config);
    let mut out = Emitter::new(config.seed);
    let mut labels = Vec::new();

    // Who gets which look-alike and attack, on which day (after a week of history). Each user
    // gets at most one.
    let mut plan: Vec<(usize, usize, usize, &str)> = Vec::new();
    let first_day = config.days.min(7);
    for (i, kind) in LOOKALIKES.iter().chain(ATTACKS.iter()).enumerate() {
        // The later replay needs three more days after the stolen session.
        let last_day = if *kind == "token_replay_later" {
            config.days.saturating_sub(4)
        } else {
            config.days.saturating_sub(1)
        };
        for copy in 0..COPIES {
            let tenant = (i + copy) % world.tenants.len();
            let users = world.tenants[tenant].users.len();
            for _ in 0..20 {
                let user = rng.random_range(0..users);
                if plan.iter().any(|(t, u, _, _)| *t == tenant && *u == user) {
                    continue;
                }
                let day = rng.random_range(first_day.min(last_day)..=last_day);
                plan.push((tenant, user, day, kind));
                break;
            }
        }
    }

    // A recurring look-alike: in each tenant without SASE, a remote team whose members connect
    // to the company's VPN part-way through some working days, week after week. Its draws
    // come from a stream of their own, so the rest of the simulation does not change with it.
    let mut side = StdRng::seed_from_u64(config.seed ^ 0x7ea3_5eed);
    let teams: Vec<(Vec<usize>, Option<Net>)> = world
        .tenants
        .iter()
        .enumerate()
        .map(|(t, tenant)| {
            if tenant.sase || tenant.users.len() < 10 {
                return (Vec::new(), None);
            }
            // Users with nothing else planned, a few of them (none in a tenant too small).
            let mut free: Vec<usize> = (0..tenant.users.len())
                .filter(|u| !plan.iter().any(|(pt, pu, _, _)| *pt == t && pu == u))
                .collect();
            let size = (tenant.users.len() / 20).clamp(3, 8);
            let mut members = Vec::new();
            while members.len() < size && !free.is_empty() {
                members.push(free.swap_remove(side.random_range(0..free.len())));
            }
            (members, Some(nets.vpn(&mut side)))
        })
        .collect();

    for day in 0..config.days {
        let date = start + Duration::days(day as i64);
        for (t, tenant) in world.tenants.iter().enumerate() {
            for (u, user) in tenant.users.iter().enumerate() {
                let special = plan
                    .iter()
                    .find(|(pt, pu, pd, _)| {
                        *pt == t && *pu == u && (*pd == day || (*pd < day && day <= *pd + 4))
                    })
                    .map(|(_, _, pd, kind)| (*kind, day - pd));
                let (team, team_vpn) = &teams[t];
                let on_vpn = team.contains(&u) && side.random_bool(0.3);
                simulate_user_day(
                    &mut rng,
                    &nets,
                    tenant,
                    user,
                    date,
                    special,
                    team_vpn.as_ref().filter(|_| on_vpn),
                    &mut out,
                    &mut labels,
                );
            }
        }
    }
    label_sase(&world, &out, &mut labels);
    let records = out.records();
    let files = out.into_files(&world);
    Simulation {
        files,
        labels,
        meta: Meta {
            seed: config.seed,
            tenants: config.tenants,
            users: config.tenants * config.users,
            days: config.days,
            records,
        },
    }
}

/// Sessions of the SASE tenant that hopped countries are labelled as a benign look-alike.
fn label_sase(world: &World, out: &Emitter, labels: &mut Vec<Label>) {
    for tenant in world.tenants.iter().filter(|t| t.sase) {
        for (user, session) in out.sessions_with_many_networks(&tenant.id) {
            if !labels.iter().any(|l| l.session_id == session) {
                labels.push(Label {
                    tenant_id: tenant.id.clone(),
                    user,
                    session_id: session,
                    label: "benign".to_owned(),
                    kind: "sase_hopping".to_owned(),
                    attack_start: None,
                });
            }
        }
    }
}

fn label(
    labels: &mut Vec<Label>,
    tenant: &Tenant,
    user: &User,
    session: &str,
    kind: &str,
    start: Option<DateTime<Utc>>,
) {
    let attack = ATTACKS.contains(&kind);
    if let Some(existing) = labels.iter_mut().find(|l| l.session_id == session) {
        if attack {
            existing.label = "attack".to_owned();
            existing.kind = kind.to_owned();
            existing.attack_start = existing.attack_start.or(start);
        }
        return;
    }
    labels.push(Label {
        tenant_id: tenant.id.clone(),
        user: user.upn.clone(),
        session_id: session.to_owned(),
        label: if attack { "attack" } else { "benign" }.to_owned(),
        kind: kind.to_owned(),
        attack_start: start,
    });
}

/// Heavy-tailed activity: a log-normal count with the given median.
fn lognormal(rng: &mut StdRng, median: f64, sigma: f64) -> usize {
    let u1: f64 = rng.random::<f64>().max(1e-12);
    let u2: f64 = rng.random();
    let normal = (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos();
    (median * (sigma * normal).exp()).round().max(1.0) as usize
}
