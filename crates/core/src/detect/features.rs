//! A session's deviations from its user's normal, each in [0, 1], with the baseline it was
//! compared to in words.

use crate::detect::baseline::UserBaseline;
use crate::detect::session::{MASS_OPERATIONS, SessionState};

/// One feature's value for a session.
#[derive(Debug, Clone, PartialEq)]
pub struct FeatureValue {
    /// The feature name (a key of the weight set).
    pub feature: &'static str,
    /// Its value, 0..1.
    pub value: f64,
    /// What it was compared to.
    pub baseline: String,
}

fn max_of<'a>(values: impl Iterator<Item = &'a f64>) -> f64 {
    values.fold(0.0, |a, b| a.max(*b))
}

/// Travel faster than this between country centroids is impossible (km/h).
const IMPOSSIBLE_KMH: f64 = 1000.0;

/// Computes every feature of a session.
pub fn features(session: &SessionState, baseline: &UserBaseline) -> Vec<FeatureValue> {
    let mut out = Vec::with_capacity(14);
    let mut push = |feature: &'static str, value: f64, baseline: String| {
        out.push(FeatureValue {
            feature,
            value: value.clamp(0.0, 1.0),
            baseline,
        })
    };
    let usual_networks = || {
        let mut known: Vec<(&String, f64)> = baseline
            .contexts
            .get(&crate::detect::baseline::Kind::Network)
            .map(|m| m.iter().map(|(k, d)| (k, d.weight)).collect())
            .unwrap_or_default();
        known.sort_by(|a, b| b.1.total_cmp(&a.1));
        let names: Vec<&str> = known.iter().take(3).map(|(k, _)| k.as_str()).collect();
        if names.is_empty() {
            "no history".to_owned()
        } else {
            format!("usual networks {}", names.join(", "))
        }
    };

    // A move to a new network with the same client and no alternation looks like a laptop
    // changing Wi-Fi; it counts half.
    let later_networks = session.networks.iter().skip(1);
    let moved = max_of(later_networks.clone().map(|n| &n.novelty));
    let plain_move =
        session.clients.len() <= 1 && session.devices.len() <= 1 && session.interleavings == 0;
    push(
        "novel_network_change",
        if plain_move { moved * 0.5 } else { moved },
        usual_networks(),
    );

    let client_change = max_of(session.clients.iter().skip(1).map(|c| &c.novelty));
    let device_change = max_of(session.devices.iter().skip(1).map(|d| &d.novelty));
    push(
        "client_change",
        client_change.max(device_change),
        format!(
            "first client {}",
            session
                .clients
                .first()
                .map_or("unknown", |c| c.value.as_str())
        ),
    );

    push(
        "interleaving",
        f64::from(session.interleavings) / 2.0,
        format!(
            "{} returns to an earlier network within the hour",
            session.interleavings
        ),
    );

    push(
        "impossible_travel",
        (session.max_speed_kmh - IMPOSSIBLE_KMH / 2.0) / (IMPOSSIBLE_KMH / 2.0),
        format!("fastest move {:.0} km/h", session.max_speed_kmh),
    );

    let hosting = max_of(
        session
            .networks
            .iter()
            .filter(|n| n.note.contains("hosting"))
            .map(|n| &n.novelty),
    );
    push("hosting_network", hosting, usual_networks());

    let new_country = max_of(session.countries.iter().map(|c| &c.novelty));
    push(
        "new_country",
        new_country,
        "countries the user signs in from".to_owned(),
    );

    let new_network = max_of(session.networks.iter().map(|n| &n.novelty));
    push("new_network", new_network, usual_networks());

    let tool = max_of(
        session
            .clients
            .iter()
            .filter(|c| c.value.ends_with("/tool"))
            .map(|c| &c.novelty),
    );
    push("tool_client", tool, "the user's usual clients".to_owned());

    let unsigned = max_of(
        session
            .networks
            .iter()
            .enumerate()
            .skip(1)
            .filter(|(i, _)| !session.signin_networks.contains(i))
            .map(|(_, n)| &n.novelty),
    );
    push(
        "no_fresh_signin",
        unsigned,
        "an interactive sign-in from each network the session uses".to_owned(),
    );

    push(
        "revived_session",
        session.revived_novelty,
        format!(
            "no gap over {} h",
            crate::detect::session::REVIVAL_GAP_HOURS
        ),
    );

    let after_change = session
        .risky
        .iter()
        .filter(|r| r.after_change || r.network_novelty >= 0.5)
        .count();
    let mass = (session.downloads >= MASS_OPERATIONS || session.deletions >= MASS_OPERATIONS)
        && session.changed();
    push(
        "risky_after_change",
        if after_change > 0 || mass { 1.0 } else { 0.0 },
        "no risky operations after a context change".to_owned(),
    );
    push(
        "risky_any",
        if session.risky.is_empty() { 0.0 } else { 1.0 },
        "no risky operations".to_owned(),
    );

    let volume = if baseline.sessions >= 5 {
        let x = (1.0 + session.events as f64).ln();
        let z = (x - baseline.session_size_mean) / (baseline.session_size_var + 0.25).sqrt();
        (z - 2.0) / 3.0
    } else {
        0.0
    };
    push(
        "op_volume",
        volume,
        format!(
            "typical session about {:.0} events",
            baseline.session_size_mean.exp() - 1.0
        ),
    );

    let off_hours = if session.events >= 5 && baseline.events >= 100 {
        session.off_hours_events as f64 / session.events as f64
    } else {
        0.0
    };
    push("off_hours", off_hours, "the user's usual hours".to_owned());
    out
}
