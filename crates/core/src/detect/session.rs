//! What one session has shown so far: its contexts (with how new each was when it first
//! appeared), the order its networks changed in, sign-ins, risky operations.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Gap after which a session is treated as revived when it shows activity again.
pub const REVIVAL_GAP_HOURS: i64 = 24;
/// A return to an earlier network within this many minutes of leaving it is interleaving.
pub const INTERLEAVE_MINUTES: i64 = 60;
/// Operations counted as mass activity above this many in one session.
pub const MASS_OPERATIONS: u64 = 50;

/// One context value seen in the session.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Seen {
    /// The value (ASN "AS8075", country "NL", client "Chrome/Windows/browser", device id).
    pub value: String,
    /// First and last time seen in the session.
    #[serde(with = "crate::time::compact")]
    pub first: DateTime<Utc>,
    /// Last time seen.
    #[serde(with = "crate::time::compact")]
    pub last: DateTime<Utc>,
    /// Events with it.
    pub events: u64,
    /// Its novelty for the user when it first appeared (see `baseline::novelty`). Single
    /// precision, like `prevalence`: a session holds dozens of these, they are most of its
    /// incompressible bytes, and no decision turns on the eighth digit.
    pub novelty: f32,
    /// How new it was for the whole tenant when it first appeared (see
    /// `baseline::tenant_novelty`): the evidence that needs no baseline of the user, kept apart
    /// so that only the features built for it use it.
    #[serde(default)]
    pub tenant_novelty: f64,
    /// Share of the tenant's users who know it.
    pub prevalence: f32,
    /// Extra facts (AS organisation, "hosting").
    pub note: String,
    /// When the session last left this value for another (for interleaving).
    #[serde(with = "crate::time::compact")]
    pub(crate) last_before_switch: DateTime<Utc>,
    /// For networks and countries: the session's own device signed in from here (its device
    /// id on a sign-in), so the place is the device's, whatever else it is.
    #[serde(default)]
    pub attested: bool,
    /// For networks: sign-ins from here that did not carry the session's device id.
    #[serde(default)]
    pub unattested_signins: u32,
    /// For networks, prefixes and network-client pairs: the ASNs seen under it (an operator
    /// announces from several), so that a suppressed ASN still matches.
    #[serde(default)]
    pub asns: Vec<u32>,
    /// For networks: it brought the session back after a long gap.
    #[serde(default)]
    pub revived: bool,
    /// For networks: the fastest implied travel into this network from the session's previous
    /// country, km/h.
    #[serde(default)]
    pub arrival_speed_kmh: f64,
}

/// A risky operation and where it happened.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Risky {
    /// The operation.
    pub operation: String,
    /// When.
    #[serde(with = "crate::time::compact")]
    pub time: DateTime<Utc>,
    /// Whether the session had changed network or client before it.
    pub after_change: bool,
    /// The novelty of the network it came from.
    pub network_novelty: f64,
}

/// Where a session last was, for travel speed.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Place {
    /// The country.
    pub(crate) country: String,
    /// When.
    #[serde(with = "crate::time::compact")]
    pub(crate) time: DateTime<Utc>,
    /// Whether the network there was the tenant's own or hosting (no evidence of travel).
    pub(crate) common: bool,
}

/// Everything the features need about one session.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SessionState {
    /// The session id.
    pub session_id: String,
    /// First event time.
    #[serde(with = "crate::time::compact")]
    pub first_seen: DateTime<Utc>,
    /// Last event time.
    #[serde(with = "crate::time::compact")]
    pub last_seen: DateTime<Utc>,
    /// Events so far.
    pub events: u64,
    /// Networks (ASN, else prefix), in order of first appearance.
    pub networks: Vec<Seen>,
    /// IP prefixes within their networks (`AS1136|31.149.7.0/24`).
    pub prefixes: Vec<Seen>,
    /// Network and client pairs (`AS3320#Chrome/Windows/browser`).
    pub pairs: Vec<Seen>,
    /// Countries.
    pub countries: Vec<Seen>,
    /// Clients (browser, OS, kind).
    pub clients: Vec<Seen>,
    /// Device ids.
    pub devices: Vec<Seen>,
    /// Distinct IPs.
    pub ips: Vec<std::net::IpAddr>,
    /// Distinct IPv6 /64 subnets.
    pub subnets64: Vec<String>,
    /// Events per operation.
    pub operations: std::collections::BTreeMap<String, u64>,
    /// Index in `networks` of the network the last event came from.
    pub current_network: Option<usize>,
    /// Index in `prefixes` of the last event's prefix.
    pub current_prefix: Option<usize>,
    /// Index in `clients` of the last event's client.
    pub current_client: Option<usize>,
    /// Networks an interactive sign-in came from.
    pub signin_networks: Vec<usize>,
    /// Returns to an earlier address within one network, within the interleaving window.
    pub interleavings: u32,
    /// Returns between two networks within the interleaving window: (network index, network
    /// index, returns).
    #[serde(default)]
    pub alternations: Vec<(u16, u16, u32)>,
    /// The same between two address blocks (`prefixes` indices), which also sees two parties
    /// on one network (a residential proxy on the victim's own ISP).
    #[serde(default)]
    pub prefix_alternations: Vec<(u16, u16, u32)>,
    /// Risky operations.
    pub risky: Vec<Risky>,
    /// Mass-operation counters: downloads, deletions.
    pub downloads: u64,
    /// Deletions.
    pub deletions: u64,
    /// Events in hours the user is rarely active.
    pub off_hours_events: u64,
    /// The last country seen and when, for travel speed.
    pub(crate) last_place: Option<Place>,
    /// The session's device: the first device id its records carried. An Entra session is one
    /// device's sign-in state, so its sign-ins carry this id wherever the device goes.
    #[serde(default)]
    pub device: Option<String>,
}

impl SessionState {
    /// Whether the session has a device and no address block saw sign-ins both with and
    /// without its id (its browser does single sign-on): then a sign-in without the id is
    /// another browser holding the session. Per block, not per network: a replay through a
    /// residential proxy on the device's own ISP must not make the device look careless.
    pub fn device_always_shows_id(&self) -> bool {
        self.device.is_some()
            && !self
                .prefixes
                .iter()
                .any(|p| p.attested && p.unattested_signins > 0)
    }

    /// Lets go of what only a finding's evidence shows (its addresses, /64s and operation
    /// counts), once the session has been idle past the revival gap and is no finding: no
    /// feature reads them, and they are most of what a month of idle sessions would hold. A
    /// session revived later shows those of its revival on; its contexts keep their history.
    pub fn go_dormant(&mut self) {
        self.ips = Vec::new();
        self.subnets64 = Vec::new();
        self.operations = std::collections::BTreeMap::new();
    }

    /// A session starting at `time`.
    pub fn new(session_id: &str, time: DateTime<Utc>) -> Self {
        SessionState {
            session_id: session_id.to_owned(),
            first_seen: time,
            last_seen: time,
            events: 0,
            networks: Vec::new(),
            prefixes: Vec::new(),
            pairs: Vec::new(),
            countries: Vec::new(),
            clients: Vec::new(),
            devices: Vec::new(),
            ips: Vec::new(),
            subnets64: Vec::new(),
            operations: std::collections::BTreeMap::new(),
            current_network: None,
            current_prefix: None,
            current_client: None,
            signin_networks: Vec::new(),
            interleavings: 0,
            alternations: Vec::new(),
            prefix_alternations: Vec::new(),
            risky: Vec::new(),
            downloads: 0,
            deletions: 0,
            off_hours_events: 0,
            last_place: None,
            device: None,
        }
    }

    /// Whether the session has moved to a network its device does not vouch for, or to
    /// another operating system. Many apps of one device (its clients) are no change.
    pub fn changed(&self) -> bool {
        let moved = self
            .current_network
            .is_some_and(|n| n > 0 && !self.networks[n].attested);
        let os = |index: usize| self.clients.get(index).and_then(|c| os_of(&c.value));
        let other_os = self
            .current_client
            .is_some_and(|c| os(c).is_some() && os(c) != os(0));
        moved || other_os
    }

    /// The fastest implied travel into a network the session's device does not vouch for
    /// (the device's own sign-ins from both places mean the location data is wrong, not that
    /// someone flew), km/h.
    pub fn fastest_unvouched_arrival_kmh(&self) -> f64 {
        self.networks
            .iter()
            .filter(|n| !n.attested)
            .map(|n| n.arrival_speed_kmh)
            .fold(0.0, f64::max)
    }
}

/// The operating system of a client key (`browser/os/kind`), when known.
pub(crate) fn os_of(client: &str) -> Option<&str> {
    client.split('/').nth(1).filter(|os| *os != "?")
}

/// Notes an ASN under a seen value.
pub(crate) fn note_asn(seen: &mut Seen, asn: Option<u32>) {
    if let Some(asn) = asn
        && !seen.asns.contains(&asn)
    {
        seen.asns.push(asn);
    }
}

/// Adds a value to a list of seen values; returns its index and whether it is new to the list.
pub(crate) fn see(
    list: &mut Vec<Seen>,
    value: &str,
    time: DateTime<Utc>,
    first_sight: impl FnOnce() -> (f64, f64, String),
) -> (usize, bool) {
    if let Some(index) = list.iter().position(|s| s.value == value) {
        let seen = &mut list[index];
        seen.last = seen.last.max(time);
        seen.events += 1;
        return (index, false);
    }
    let (novelty, prevalence, note) = first_sight();
    list.push(Seen {
        value: value.to_owned(),
        first: time,
        last: time,
        events: 1,
        novelty: novelty as f32,
        tenant_novelty: 0.0,
        prevalence: prevalence as f32,
        note,
        last_before_switch: time,
        attested: false,
        unattested_signins: 0,
        asns: Vec::new(),
        arrival_speed_kmh: 0.0,
        revived: false,
    });
    (list.len() - 1, true)
}

/// Whether an operation is one attackers run after taking a session over.
pub fn risky_operation(operation: &str) -> bool {
    const RISKY: &[&str] = &[
        "new-inboxrule",
        "set-inboxrule",
        "updateinboxrules",
        "set-mailbox",
        "new-transportrule",
        "add-mailboxpermission",
        "add-recipientpermission",
        "set-ownerlessgrouppolicy",
        "user registered security info",
        "user registered all required security info",
        "register security info",
        "user started security info registration",
        "consent to application",
        "add delegated permission grant",
        "add app role assignment to service principal",
        "add service principal credentials",
        "update application – certificates and secrets management",
        "add owner to application",
    ];
    let lower = operation.trim().to_lowercase();
    RISKY.contains(&lower.as_str())
}

/// Whether an operation downloads or deletes content (counted towards mass activity).
pub fn download_or_delete(operation: &str) -> (bool, bool) {
    let lower = operation.to_ascii_lowercase();
    let download = matches!(lower.as_str(), "filedownloaded" | "filesyncdownloadedfull");
    let delete = matches!(
        lower.as_str(),
        "filedeleted" | "filerecycled" | "softdelete" | "harddelete" | "movetodeleteditems"
    );
    (download, delete)
}
