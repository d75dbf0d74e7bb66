//! What one event does to its session (networks, prefixes, clients, devices, sign-ins,
//! alternations, risky operations) and to its user's baseline.

use std::collections::HashMap;

use chrono::{DateTime, Duration, Timelike, Utc};

use crate::detect::baseline::{Kind, TenantProfile, UserBaseline, novelty, tenant_novelty};
use crate::detect::context_key;
use crate::detect::engine::significance::ScoreHistogram;
use crate::detect::engine::{SESSION_FORGET_DAYS, SESSION_IDLE_HOURS, TENANT_COMMON, UserState};
use crate::detect::network::microsoft_cloud;
use crate::detect::session::{
    INTERLEAVE_MINUTES, Place, REVIVAL_GAP_HOURS, Risky, Seen, SessionState, download_or_delete,
    note_asn, risky_operation, see,
};
use crate::event::NormalizedEvent;
use crate::useragent::ClientKind;

/// The value under `key`, created if missing; the key is copied only then (this runs for every
/// event, and almost always finds the key).
pub(super) fn entry<'m, V>(
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
pub(super) fn client_of(event: &NormalizedEvent) -> Option<String> {
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
pub(super) fn tidy_sessions(user: &mut UserState, scores: &mut ScoreHistogram, now: DateTime<Utc>) {
    let baseline = &mut user.baseline;
    user.sessions.retain(|_, open| {
        let idle = now - open.state.last_seen;
        if idle > Duration::hours(SESSION_IDLE_HOURS) && !open.sized && open.finding.is_none() {
            baseline.close_session(open.state.events);
            scores.record(open.max_score);
            open.sized = true;
        }
        if idle >= Duration::hours(REVIVAL_GAP_HOURS) && open.finding.is_none() {
            open.state.go_dormant();
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
pub(super) fn update_session(
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
            let scope = context_key::scope_of(prefix_key);
            let churning = baseline.prefixes_in(scope) >= CHURNING_PREFIXES;
            let (p, new_prefix) = see(&mut state.prefixes, prefix_key, time, || {
                let (novelty, prevalence, note) = sight(Kind::Prefix, prefix_key, String::new());
                (if churning { 0.0 } else { novelty }, prevalence, note)
            });
            note_asn(&mut state.prefixes[p], event.network.asn);
            attest(&mut state.prefixes[p], attests);
            let session_churn = state
                .prefixes
                .iter()
                .filter(|seen| context_key::is_block_in(&seen.value, scope))
                .count()
                >= SESSION_CHURN_PREFIXES;
            if session_churn {
                for seen in state
                    .prefixes
                    .iter_mut()
                    .filter(|seen| context_key::is_block_in(&seen.value, scope))
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
            let common = f64::from(state.networks[index].prevalence) >= TENANT_COMMON
                || event.network.hosting;
            if let Some(place) = &state.last_place
                && place.country != country
                && !(common || place.common)
                && let Some(km) = crate::detect::geo::distance_km(&place.country, country)
            {
                let hours = ((time - place.time).num_seconds().max(60) as f64) / 3600.0;
                let arrival = &mut state.networks[index].arrival_speed_kmh;
                *arrival = arrival.max(km / hours);
            }
            state.last_place = Some(Place {
                country: country.to_owned(),
                time,
                common,
            });
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
            .map_or(0.0, |n| f64::from(state.networks[n].novelty));
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
pub(super) fn failed_signin(event: &NormalizedEvent) -> bool {
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
