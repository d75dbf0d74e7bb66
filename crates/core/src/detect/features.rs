//! A session's deviations from its user's normal, each in [0, 1]. What each was compared to is
//! written out by [`describe`] only when a finding needs it: scoring runs on every event.

use crate::detect::baseline::{Kind, UserBaseline};
use crate::detect::feature::Feature;
use crate::detect::session::{MASS_OPERATIONS, REVIVAL_GAP_HOURS, Seen, SessionState, os_of};
use crate::detect::suppress::Suppressed;

/// One feature's value for a session.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FeatureValue {
    /// The feature.
    pub feature: Feature,
    /// Its value, 0..1.
    pub value: f64,
}

fn max_of(values: impl Iterator<Item = f64>) -> f64 {
    values.fold(0.0, f64::max)
}

/// How long an access token lives: activity from a network longer than this needed a sign-in
/// there.
const TOKEN_LIFETIME_MINUTES: i64 = 90;

/// What a network's novelty counts for once the session's device signed in from it.
const ATTESTED_NOVELTY: f64 = 0.25;

/// What a context's novelty counts for: a quarter once the session's device signed in from it.
fn vouched(seen: &Seen) -> f64 {
    if seen.attested { ATTESTED_NOVELTY } else { 1.0 }
}

/// Returns between two networks of the session that the device does not explain: one of the
/// two is not the device's (never attested by its sign-ins) and the session signed in from it
/// without the device's id (when the device's own sign-ins always carry it), or it is new to
/// the user and signed in from or used past an access token's lifetime (a laptop whose tunnel
/// fails open to the home line for a few minutes uses the tokens it has). A phone hopping
/// between home Wi-Fi and its carrier, a laptop between IPv4 and IPv6 of one home: both sides
/// are the device's, or both known. Returns between two address blocks of one family count the
/// same way: a residential proxy on the victim's own ISP is the same network.
fn unexplained_alternations(session: &SessionState, novelty: &impl Fn(Kind, &Seen) -> f64) -> u32 {
    // A browser without single sign-on signs in without the device's id wherever the device
    // is: then such a sign-in says nothing of who is there.
    let always_shows_id = session.device_always_shows_id();
    let signed_elsewhere = |n: &Seen| always_shows_id && !n.attested && n.unattested_signins > 0;
    let foreign = |index: u16| {
        session.networks.get(usize::from(index)).is_some_and(|n| {
            let outlived_tokens =
                n.last - n.first >= chrono::Duration::minutes(TOKEN_LIFETIME_MINUTES);
            signed_elsewhere(n)
                || (!n.attested
                    && novelty(Kind::Network, n) >= 0.5
                    && (n.unattested_signins > 0 || outlived_tokens))
        })
    };
    let foreign_block = |index: u16| {
        session
            .prefixes
            .get(usize::from(index))
            .is_some_and(signed_elsewhere)
    };
    u32::max(
        returns(&session.alternations, foreign),
        returns(&session.prefix_alternations, foreign_block),
    )
}

/// Returns counted between pairs of places of which at least one is `foreign`.
fn returns(alternations: &[(u16, u16, u32)], foreign: impl Fn(u16) -> bool) -> u32 {
    alternations
        .iter()
        .filter(|(a, b, _)| foreign(*a) || foreign(*b))
        .map(|(_, _, count)| *count)
        .sum()
}

/// Travel faster than this between country centroids is impossible (km/h).
const IMPOSSIBLE_KMH: f64 = 1000.0;

/// Computes every feature of a session; suppressed contexts count for less.
pub fn features(
    session: &SessionState,
    baseline: &UserBaseline,
    suppressed: Suppressed<'_>,
) -> Vec<FeatureValue> {
    let novelty = |kind: Kind, seen: &crate::detect::session::Seen| suppressed.novelty(kind, seen);
    let mut out = Vec::with_capacity(14);
    let mut push = |feature: Feature, value: f64| {
        out.push(FeatureValue {
            feature,
            value: value.clamp(0.0, 1.0),
        })
    };

    // With or without a baseline: hosting nobody in the tenant uses is evidence.
    let tenant_wide =
        |kind: Kind, n: &Seen| novelty(kind, n).max(suppressed.scaled(kind, n, n.tenant_novelty));
    // A network the session's own device signed in from is the device's, wherever it is (a
    // trip, a café): its novelty counts for little. An attacker replaying a cookie or token
    // cannot show the device's id.
    let network_novelty = |n: &Seen| novelty(Kind::Network, n) * vouched(n);

    // A move to a new network with the same client and no alternation looks like a laptop
    // changing Wi-Fi; it counts half. A move within the same network to an address new to the
    // user counts a little less (it is also what a residential proxy on the user's own ISP
    // looks like), and so does a known network used with a client the user never used there.
    let moved_network = max_of(session.networks.iter().skip(1).map(network_novelty));
    let moved_prefix = max_of(
        session
            .prefixes
            .iter()
            .skip(1)
            .map(|p| novelty(Kind::Prefix, p)),
    ) * 0.8;
    let moved_pair = max_of(
        session
            .pairs
            .iter()
            .skip(1)
            .map(|p| novelty(Kind::NetworkClient, p)),
    ) * 0.8;
    let moved = moved_network.max(moved_prefix).max(moved_pair);
    let always_shows_id = session.device_always_shows_id();
    let alternations = unexplained_alternations(session, &novelty);
    let plain_move = session.devices.len() <= 1 && alternations == 0;
    push(
        Feature::NovelNetworkChange,
        if plain_move { moved * 0.5 } else { moved },
    );

    // Many apps and user agents on one device are normal (Outlook, Teams, OneDrive and the
    // browser share a PRT session); another operating system or another device is not.
    let first_os = session.clients.iter().find_map(|c| os_of(&c.value));
    let client_change = max_of(
        session
            .clients
            .iter()
            .filter(|c| os_of(&c.value).is_some_and(|os| Some(os) != first_os))
            .map(|c| novelty(Kind::Client, c)),
    );
    let device_change = max_of(
        session
            .devices
            .iter()
            .skip(1)
            .map(|d| novelty(Kind::Device, d)),
    );
    push(Feature::ClientChange, client_change.max(device_change));

    // Sign-ins without the device's id, from a network the device never signed in from: the
    // session is used somewhere its device is not. Half on its own (no baseline needed), full
    // when the network is new to the user too.
    // A device whose own sign-ins never went without its id (its browser does single sign-on)
    // does not start doing so elsewhere: that is another browser holding the session.
    let unattested_network = max_of(
        session
            .networks
            .iter()
            .filter(|n| session.device.is_some() && !n.attested && n.unattested_signins > 0)
            .map(|n| {
                if always_shows_id {
                    1.0
                } else {
                    0.5 + 0.5 * novelty(Kind::Network, n)
                }
            }),
    );
    // The same within one of the device's networks (a residential proxy on the victim's own
    // ISP), only for an address block the session keeps returning to: a lone sign-in without
    // the id from a new address of the home often precedes the device's first token refresh
    // there.
    let alternating_block = |index: usize| {
        session
            .prefix_alternations
            .iter()
            .any(|(a, b, _)| usize::from(*a) == index || usize::from(*b) == index)
    };
    let unattested_block = always_shows_id
        && session
            .prefixes
            .iter()
            .enumerate()
            .any(|(i, p)| !p.attested && p.unattested_signins > 0 && alternating_block(i));
    push(
        Feature::UnattestedSignin,
        if unattested_block {
            1.0
        } else {
            unattested_network
        },
    );

    // An AiTM kit signs the user in from its proxy: an interactive sign-in from hosting
    // infrastructure that no device of the session vouches for.
    let hosting_signin = max_of(
        session
            .signin_networks
            .iter()
            .filter_map(|&i| session.networks.get(i))
            .filter(|n| n.note.contains("hosting") && !n.attested)
            .map(|n| tenant_wide(Kind::Network, n)),
    );
    push(Feature::HostingSignin, hosting_signin);

    push(
        Feature::Interleaving,
        f64::from(alternations + session.interleavings) / 2.0,
    );

    push(
        Feature::ImpossibleTravel,
        (session.fastest_unvouched_arrival_kmh() - IMPOSSIBLE_KMH / 2.0) / (IMPOSSIBLE_KMH / 2.0),
    );

    let hosting = session
        .networks
        .iter()
        .filter(|n| n.note.contains("hosting"))
        .map(|n| tenant_wide(Kind::Network, n) * vouched(n));
    push(Feature::HostingNetwork, max_of(hosting));

    push(
        Feature::NewCountry,
        max_of(
            session
                .countries
                .iter()
                .map(|c| tenant_wide(Kind::Country, c) * vouched(c)),
        ),
    );
    push(
        Feature::NewNetwork,
        max_of(session.networks.iter().map(network_novelty)),
    );

    let tool = session
        .clients
        .iter()
        .filter(|c| c.value.ends_with("/tool"))
        .map(|c| tenant_wide(Kind::Client, c));
    push(Feature::ToolClient, max_of(tool));

    let unsigned = session
        .networks
        .iter()
        .enumerate()
        .skip(1)
        // A device that changes network keeps using its access tokens (valid 60-90 minutes)
        // without signing in again: only use past their lifetime needs a sign-in.
        .filter(|(i, n)| {
            !session.signin_networks.contains(i)
                && n.last - n.first >= chrono::Duration::minutes(TOKEN_LIFETIME_MINUTES)
        })
        .map(|(_, n)| network_novelty(n));
    push(Feature::NoFreshSignin, max_of(unsigned));

    // A revival the device itself signed in for is the device coming back (after a weekend,
    // from a hotel).
    push(
        Feature::RevivedSession,
        max_of(
            session
                .networks
                .iter()
                .filter(|n| n.revived)
                .map(network_novelty),
        ),
    );

    let after_change = session
        .risky
        .iter()
        .any(|r| r.after_change || r.network_novelty >= 0.5);
    let mass = (session.downloads >= MASS_OPERATIONS || session.deletions >= MASS_OPERATIONS)
        && session.changed();
    push(
        Feature::RiskyAfterChange,
        if after_change || mass { 1.0 } else { 0.0 },
    );
    push(
        Feature::RiskyAny,
        if session.risky.is_empty() { 0.0 } else { 1.0 },
    );

    let volume = if baseline.sessions >= 5 {
        let x = (1.0 + session.events as f64).ln();
        let z = (x - baseline.session_size_mean) / (baseline.session_size_var + 0.25).sqrt();
        (z - 2.0) / 3.0
    } else {
        0.0
    };
    push(Feature::OpVolume, volume);

    let off_hours = if session.events >= 5 && baseline.events >= 100 {
        session.off_hours_events as f64 / session.events as f64
    } else {
        0.0
    };
    push(Feature::OffHours, off_hours);
    out
}

/// What a feature was compared to, in words, for a finding's explanation.
pub fn describe(feature: Feature, session: &SessionState, baseline: &UserBaseline) -> String {
    let usual = |kind: Kind, what: &str| {
        let mut known: Vec<(&String, f64)> = baseline
            .contexts
            .get(&kind)
            .map(|m| m.iter().map(|(k, d)| (k, d.weight)).collect())
            .unwrap_or_default();
        // Ties by name: the online pipeline and the scan must explain alike.
        known.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(b.0)));
        let names: Vec<&str> = known.iter().take(3).map(|(k, _)| k.as_str()).collect();
        if names.is_empty() {
            format!("no {what} in the user's history")
        } else {
            format!("usual {what}: {}", names.join(", "))
        }
    };
    match feature {
        Feature::NovelNetworkChange
        | Feature::HostingNetwork
        | Feature::NewNetwork
        | Feature::NoFreshSignin => usual(Kind::Network, "networks"),
        Feature::ClientChange | Feature::ToolClient => usual(Kind::Client, "clients"),
        Feature::NewCountry => usual(Kind::Country, "countries"),
        Feature::Interleaving => format!(
            "{} returns to a network or address block left less than an hour before, one side not the device's; one party does not alternate",
            session.interleavings
                + unexplained_alternations(session, &|_, n: &Seen| f64::from(n.novelty))
        ),
        Feature::HostingSignin => usual(Kind::Network, "networks"),
        Feature::UnattestedSignin => match &session.device {
            Some(device) => {
                let places = |attested: bool| {
                    let prefixes = session.prefixes.iter();
                    session
                        .networks
                        .iter()
                        .chain(prefixes)
                        .filter(|n| {
                            if attested {
                                n.attested
                            } else {
                                !n.attested && n.unattested_signins > 0
                            }
                        })
                        .map(|n| n.value.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                };
                format!(
                    "the session's device {device} signed in only from: {}; sign-ins without \
                     its id came from: {}",
                    places(true),
                    places(false)
                )
            }
            None => String::new(),
        },
        Feature::ImpossibleTravel => format!(
            "fastest implied move {:.0} km/h",
            session.fastest_unvouched_arrival_kmh()
        ),
        Feature::RevivedSession => format!("sessions resume within {REVIVAL_GAP_HOURS} h"),
        Feature::RiskyAfterChange | Feature::RiskyAny => {
            "no risky operations in the user's sessions".to_owned()
        }
        Feature::OpVolume => format!(
            "typical session about {:.0} events",
            baseline.session_size_mean.exp() - 1.0
        ),
        Feature::OffHours => "the user's usual hours of activity".to_owned(),
    }
}
