//! Tenants, users, devices and habits.

use rand::Rng;
use rand::rngs::StdRng;

use crate::Config;
use crate::networks::{Net, Networks};

/// A device and the user agent it sends.
#[derive(Debug, Clone)]
pub(crate) struct Device {
    pub(crate) id: String,
    pub(crate) user_agent: &'static str,
    pub(crate) os: &'static str,
    pub(crate) browser: &'static str,
}

const LAPTOPS: &[(&str, &str, &str)] = &[
    (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/122.0.0.0 Safari/537.36 Edg/122.0.2365.66",
        "Windows10",
        "Edge 122.0.2365",
    ),
    (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/122.0.0.0 Safari/537.36",
        "Windows10",
        "Chrome 122.0.0",
    ),
    (
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.3 Safari/605.1.15",
        "MacOs",
        "Safari 17.3",
    ),
];
const PHONES: &[(&str, &str, &str)] = &[
    ("Outlook-iOS/2.0", "Ios", "Outlook"),
    (
        "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/122.0.6261.64 Mobile Safari/537.36",
        "Android",
        "Chrome Mobile 122",
    ),
];
const ATTACKER_AGENTS: &[(&str, &str, &str)] = &[
    ("python-requests/2.31.0", "", ""),
    (
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/121.0.0.0 Safari/537.36",
        "Linux",
        "Chrome 121.0.0",
    ),
    (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:123.0) Gecko/20100101 Firefox/123.0",
        "Windows10",
        "Firefox 123.0",
    ),
];

fn hex_id(rng: &mut StdRng) -> String {
    let a: u128 = rng.random();
    let s = format!("{a:032x}");
    format!(
        "{}-{}-4{}-8{}-{}",
        &s[0..8],
        &s[8..12],
        &s[13..16],
        &s[17..20],
        &s[20..32]
    )
}

impl Device {
    fn pick(rng: &mut StdRng, table: &[(&'static str, &'static str, &'static str)]) -> Device {
        let (user_agent, os, browser) = table[rng.random_range(0..table.len())];
        Device {
            id: hex_id(rng),
            user_agent,
            os,
            browser,
        }
    }

    /// Another app on the same device (desktop Outlook, Teams): one Entra session carries every
    /// app of the device, each with its own user agent.
    pub(crate) fn app(&self, rng: &mut StdRng) -> Device {
        let user_agent = match (self.os, rng.random_bool(0.5)) {
            ("MacOs", true) => {
                "Microsoft Office/16.0 (Macintosh; Mac OS X 10_15_7; Microsoft Outlook 16.80)"
            }
            ("MacOs", false) => {
                "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/143.0.0.0 Safari/537.36 Edg/143.0.0.0 Teams/25290.205.4069.4894"
            }
            (_, true) => {
                "Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.17328; Pro)"
            }
            (_, false) => {
                "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/143.0.0.0 Safari/537.36 Edg/143.0.0.0 Teams/25290.205.4069.4894"
            }
        };
        Device {
            user_agent,
            ..self.clone()
        }
    }

    /// The victim's browser as an attacker replays its cookie elsewhere: the same user agent,
    /// but no device id (the device's identity stays on the device).
    pub(crate) fn stolen(&self) -> Device {
        self.without_id()
    }

    /// The same user agent without the device's id: a browser without single sign-on (no
    /// Windows accounts extension) signs in to SharePoint or Outlook on the web this way, inside
    /// the device's own session.
    pub(crate) fn without_id(&self) -> Device {
        Device {
            id: String::new(),
            ..self.clone()
        }
    }

    /// The attacker's client: a script or a browser other than the victim's, no device id.
    pub(crate) fn attacker(rng: &mut StdRng) -> Device {
        let mut device = Device::pick(rng, ATTACKER_AGENTS);
        device.id.clear();
        device
    }
}

/// A user and their habits.
#[derive(Debug)]
pub(crate) struct User {
    pub(crate) upn: String,
    pub(crate) object_id: String,
    pub(crate) home: Net,
    pub(crate) carrier: Net,
    pub(crate) laptop: Device,
    pub(crate) phone: Option<Device>,
    /// The laptop's browser does no single sign-on: its own sign-ins go without the device id.
    pub(crate) browser_without_sso: bool,
    pub(crate) start_hour: f64,
    pub(crate) workday_hours: f64,
    pub(crate) events_per_day: f64,
    seed: u64,
}

const OPERATIONS: &[(&str, u32)] = &[
    ("MailItemsAccessed", 40),
    ("FileAccessed", 25),
    ("FileModified", 10),
    ("Send", 8),
    ("FilePreviewed", 6),
    ("FileDownloaded", 5),
    ("FileUploaded", 3),
    ("SearchQueryPerformed", 3),
];

impl User {
    /// An everyday operation, by how often people do it.
    pub(crate) fn operation(&self, rng: &mut StdRng) -> &'static str {
        let total: u32 = OPERATIONS.iter().map(|(_, w)| w).sum();
        let mut pick = rng.random_range(0..total);
        for (op, weight) in OPERATIONS {
            if pick < *weight {
                return op;
            }
            pick -= weight;
        }
        OPERATIONS[0].0
    }

    /// A replacement laptop, another make.
    pub(crate) fn new_laptop(&self) -> Device {
        let (user_agent, os, browser) = LAPTOPS[(self.seed as usize + 1) % LAPTOPS.len()];
        Device {
            id: format!("{:08x}-0000-4000-8000-00000000beef", self.seed as u32),
            user_agent,
            os,
            browser,
        }
    }
}

/// A customer tenant.
#[derive(Debug)]
pub(crate) struct Tenant {
    pub(crate) id: String,
    pub(crate) office: Option<Net>,
    /// Every user egresses through a SASE provider whose exits hop countries.
    pub(crate) sase: bool,
    pub(crate) sase_exits: Vec<Net>,
    pub(crate) users: Vec<User>,
}

/// All tenants.
#[derive(Debug)]
pub(crate) struct World {
    pub(crate) tenants: Vec<Tenant>,
}

impl World {
    pub(crate) fn new(rng: &mut StdRng, nets: &Networks, config: Config) -> World {
        let countries = nets.countries();
        let tenants = (0..config.tenants)
            .map(|t| {
                let country = countries[t % countries.len()];
                let domain = format!("tenant{t}.example");
                let sase = t % 3 == 1;
                let office = (!sase).then(|| nets.office(rng, country));
                let users = (0..config.users)
                    .map(|u| {
                        let traveller_carrier = if rng.random_bool(0.1) { "US" } else { country };
                        User {
                            upn: format!("user{u}@{domain}"),
                            object_id: hex_id(rng),
                            home: nets.home(rng, country),
                            carrier: nets.carrier(rng, traveller_carrier),
                            laptop: Device::pick(rng, LAPTOPS),
                            phone: rng.random_bool(0.7).then(|| Device::pick(rng, PHONES)),
                            browser_without_sso: rng.random_bool(0.15),
                            start_hour: rng.random_range(6.5..9.5),
                            workday_hours: rng.random_range(6.0..10.0),
                            events_per_day: rng.random_range(15.0..80.0),
                            seed: rng.random(),
                        }
                    })
                    .collect();
                Tenant {
                    id: hex_id(rng),
                    office,
                    sase,
                    sase_exits: nets.sase_exits(rng),
                    users,
                }
            })
            .collect();
        World { tenants }
    }
}

pub(crate) fn session_id(rng: &mut StdRng) -> String {
    hex_id(rng)
}
