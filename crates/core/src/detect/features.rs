//! A session's deviations from its user's normal, each in [0, 1]. What each was compared to is
//! written out by [`describe`] only when a finding needs it: scoring runs on every event.

use crate::detect::baseline::{Kind, UserBaseline};
use crate::detect::session::{MASS_OPERATIONS, REVIVAL_GAP_HOURS, SessionState};
use crate::detect::suppress::Suppressed;

/// One feature's value for a session.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FeatureValue {
    /// The feature name (a key of the weight set).
    pub feature: &'static str,
    /// Its value, 0..1.
    pub value: f64,
}

fn max_of(values: impl Iterator<Item = f64>) -> f64 {
    values.fold(0.0, f64::max)
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
    let mut push = |feature: &'static str, value: f64| {
        out.push(FeatureValue {
            feature,
            value: value.clamp(0.0, 1.0),
        })
    };

    // A move to a new network with the same client and no alternation looks like a laptop
    // changing Wi-Fi; it counts half. A move within the same network to an address new to the
    // user counts a little less (it is also what a residential proxy on the user's own ISP
    // looks like), and so does a known network used with a client the user never used there.
    let moved_network = max_of(
        session
            .networks
            .iter()
            .skip(1)
            .map(|n| novelty(Kind::Network, n)),
    );
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
    let plain_move =
        session.clients.len() <= 1 && session.devices.len() <= 1 && session.interleavings == 0;
    push(
        "novel_network_change",
        if plain_move { moved * 0.5 } else { moved },
    );

    let client_change = max_of(
        session
            .clients
            .iter()
            .skip(1)
            .map(|c| novelty(Kind::Client, c)),
    );
    let device_change = max_of(
        session
            .devices
            .iter()
            .skip(1)
            .map(|d| novelty(Kind::Device, d)),
    );
    push("client_change", client_change.max(device_change));

    push("interleaving", f64::from(session.interleavings) / 2.0);

    push(
        "impossible_travel",
        (session.max_speed_kmh - IMPOSSIBLE_KMH / 2.0) / (IMPOSSIBLE_KMH / 2.0),
    );

    let hosting = session
        .networks
        .iter()
        .filter(|n| n.note.contains("hosting"))
        .map(|n| novelty(Kind::Network, n));
    push("hosting_network", max_of(hosting));

    push(
        "new_country",
        max_of(session.countries.iter().map(|c| novelty(Kind::Country, c))),
    );
    push(
        "new_network",
        max_of(session.networks.iter().map(|n| novelty(Kind::Network, n))),
    );

    let tool = session
        .clients
        .iter()
        .filter(|c| c.value.ends_with("/tool"))
        .map(|c| novelty(Kind::Client, c));
    push("tool_client", max_of(tool));

    let unsigned = session
        .networks
        .iter()
        .enumerate()
        .skip(1)
        .filter(|(i, _)| !session.signin_networks.contains(i))
        .map(|(_, n)| novelty(Kind::Network, n));
    push("no_fresh_signin", max_of(unsigned));

    push("revived_session", session.revived_novelty);

    let after_change = session
        .risky
        .iter()
        .any(|r| r.after_change || r.network_novelty >= 0.5);
    let mass = (session.downloads >= MASS_OPERATIONS || session.deletions >= MASS_OPERATIONS)
        && session.changed();
    push(
        "risky_after_change",
        if after_change || mass { 1.0 } else { 0.0 },
    );
    push(
        "risky_any",
        if session.risky.is_empty() { 0.0 } else { 1.0 },
    );

    let volume = if baseline.sessions >= 5 {
        let x = (1.0 + session.events as f64).ln();
        let z = (x - baseline.session_size_mean) / (baseline.session_size_var + 0.25).sqrt();
        (z - 2.0) / 3.0
    } else {
        0.0
    };
    push("op_volume", volume);

    let off_hours = if session.events >= 5 && baseline.events >= 100 {
        session.off_hours_events as f64 / session.events as f64
    } else {
        0.0
    };
    push("off_hours", off_hours);
    out
}

/// What a feature was compared to, in words, for a finding's explanation.
pub fn describe(feature: &str, session: &SessionState, baseline: &UserBaseline) -> String {
    let usual = |kind: Kind, what: &str| {
        let mut known: Vec<(&String, f64)> = baseline
            .contexts
            .get(&kind)
            .map(|m| m.iter().map(|(k, d)| (k, d.weight)).collect())
            .unwrap_or_default();
        known.sort_by(|a, b| b.1.total_cmp(&a.1));
        let names: Vec<&str> = known.iter().take(3).map(|(k, _)| k.as_str()).collect();
        if names.is_empty() {
            format!("no {what} in the user's history")
        } else {
            format!("usual {what}: {}", names.join(", "))
        }
    };
    match feature {
        "novel_network_change" | "hosting_network" | "new_network" | "no_fresh_signin" => {
            usual(Kind::Network, "networks")
        }
        "client_change" | "tool_client" => usual(Kind::Client, "clients"),
        "new_country" => usual(Kind::Country, "countries"),
        "interleaving" => format!(
            "{} returns to a network left less than an hour before; one party does not alternate",
            session.interleavings
        ),
        "impossible_travel" => format!("fastest implied move {:.0} km/h", session.max_speed_kmh),
        "revived_session" => format!("sessions resume within {REVIVAL_GAP_HOURS} h"),
        "risky_after_change" | "risky_any" => {
            "no risky operations in the user's sessions".to_owned()
        }
        "op_volume" => format!(
            "typical session about {:.0} events",
            baseline.session_size_mean.exp() - 1.0
        ),
        "off_hours" => "the user's usual hours of activity".to_owned(),
        _ => String::new(),
    }
}
