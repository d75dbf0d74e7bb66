//! One user's day: where the laptop is, its session and token refreshes, the phone's broker
//! session, and the look-alike or attack the day carries.

use chrono::{DateTime, Duration, Utc};
use rand::Rng;
use rand::rngs::StdRng;

use crate::emit::Emitter;
use crate::networks::{Net, Networks};
use crate::world::{Device, Tenant, User};
use crate::{Label, label, lognormal};

#[allow(clippy::too_many_arguments)]
pub(crate) fn simulate_user_day(
    rng: &mut StdRng,
    nets: &Networks,
    tenant: &Tenant,
    user: &User,
    date: DateTime<Utc>,
    special: Option<(&str, usize)>,
    team_vpn: Option<&Net>,
    out: &mut Emitter,
    labels: &mut Vec<Label>,
) {
    let weekday = (date.timestamp() / 86_400 + 3) % 7 < 5; // 2026-03-02 is a Monday
    let kind = special.map(|(k, _)| k);
    let offset = special.map_or(0, |(_, o)| o);
    if !weekday && !rng.random_bool(0.25) && kind.is_none() {
        return;
    }
    let start = date + Duration::minutes((user.start_hour * 60.0) as i64 + rng.random_range(0..45));
    let hours = if weekday { user.workday_hours } else { 1.5 };
    let events = lognormal(
        rng,
        user.events_per_day * if weekday { 1.0 } else { 0.2 },
        0.6,
    );

    // Where the laptop is today.
    let office_day = tenant.office.is_some() && weekday && rng.random_bool(0.6);
    let mut place: &Net = match (&tenant.office, office_day) {
        (Some(office), true) => office,
        _ => &user.home,
    };
    let mut device: &Device = &user.laptop;
    let travel_net;
    let vpn_net;
    let new_laptop;
    match (kind, offset) {
        (Some("travel"), 0..=2) => {
            travel_net = nets.travel(rng);
            place = &travel_net;
        }
        (Some("commercial_vpn"), 0) => {
            vpn_net = nets.vpn(rng);
            place = &vpn_net;
        }
        (Some("new_laptop"), 0..=4) => {
            new_laptop = user.new_laptop();
            device = &new_laptop;
        }
        _ => {}
    }
    if tenant.sase {
        place = &tenant.sase_exits[rng.random_range(0..tenant.sase_exits.len())];
    }

    // The laptop's session: days old more often than not (a PRT session lives 4-9 days); a new
    // one starts with an interactive sign-in, a continuing one refreshes its tokens.
    let (session, new_session) = out.laptop_session(
        &tenant.id,
        &user.upn,
        date.timestamp() / 86_400,
        kind == Some("new_laptop"),
        rng,
    );
    let mut time = start;
    out.sign_in(
        tenant,
        user,
        &session,
        time,
        place,
        device,
        new_session,
        rng,
    );
    let mut last_signin = time;
    let step = (hours * 3600.0 / events as f64).max(20.0);
    let move_at = if kind == Some("coffee_shop") && offset == 0 {
        Some(events / 2)
    } else if !tenant.sase && office_day && rng.random_bool(0.25) {
        // An afternoon at home: the same session continues from the home network.
        Some(events * 2 / 3)
    } else {
        None
    };
    // The team's VPN: the laptop connects to it part-way through the session (instead of
    // any other move that day).
    let team_move = team_vpn
        .filter(|_| kind.is_none() && weekday && events > 3)
        .map(|vpn| (events / 3, vpn));
    let move_at = move_at.filter(|_| team_move.is_none());
    let coffee = nets.coffee_shop(rng, &user.home);
    let cleanup = kind == Some("cleanup_day") && offset == 0;
    let fail_open = (tenant.sase && events > 6 && rng.random_bool(0.1)).then(|| {
        let from = rng.random_range(1..events / 2);
        (from, from + rng.random_range(2..events / 2))
    });
    for i in 0..events {
        time += Duration::seconds((step * rng.random_range(0.3..1.7)) as i64);
        if let Some((at, vpn)) = team_move
            && at == i
        {
            place = vpn;
        }
        if move_at == Some(i) {
            place = match kind {
                // A managed laptop in a café still egresses through the SASE provider.
                Some("coffee_shop") if tenant.sase => {
                    &tenant.sase_exits[rng.random_range(0..tenant.sase_exits.len())]
                }
                Some("coffee_shop") => &coffee,
                _ => &user.home,
            };
        }
        if tenant.sase && rng.random_bool(0.02) {
            place = &tenant.sase_exits[rng.random_range(0..tenant.sase_exits.len())];
        }
        // The SASE tunnel fails open to the home line for a while, then comes back.
        if let Some((from, to)) = fail_open {
            if i == from {
                place = &user.home;
            } else if i == to {
                place = &tenant.sase_exits[rng.random_range(0..tenant.sase_exits.len())];
            }
        }
        let operation = if cleanup && i < 300 {
            "FileDeleted"
        } else {
            user.operation(rng)
        };
        // A third of the day's records come from the device's other apps.
        let app;
        let from_app = rng.random_bool(0.33);
        let client = if from_app {
            app = device.app(rng);
            &app
        } else {
            device
        };
        out.activity(tenant, user, &session, time, place, client, operation, rng);
        // Access tokens live about an hour: the device refreshes them from wherever it is, with
        // its id, and its other apps now and then; a browser without single sign-on signs in
        // without the id.
        if time - last_signin >= Duration::minutes(60) || rng.random_bool(0.05) {
            let bare;
            let signer = if user.browser_without_sso && !from_app && rng.random_bool(0.5) {
                bare = client.without_id();
                &bare
            } else {
                client
            };
            out.sign_in(tenant, user, &session, time, place, signer, false, rng);
            last_signin = time;
        }
    }
    if cleanup {
        for _ in events..300 {
            time += Duration::seconds(rng.random_range(2..20));
            out.activity(
                tenant,
                user,
                &session,
                time,
                place,
                device,
                "FileDeleted",
                rng,
            );
        }
    }
    match kind {
        Some(k @ ("travel" | "commercial_vpn" | "new_laptop"))
            if (offset == 0 || (k != "commercial_vpn" && offset <= 2)) =>
        {
            label(labels, tenant, user, &session, k, None)
        }
        Some(k @ ("coffee_shop" | "cleanup_day")) if offset == 0 => {
            label(labels, tenant, user, &session, k, None)
        }
        _ if team_move.is_some() => label(labels, tenant, user, &session, "team_vpn", None),
        _ => {}
    }
    out.remember_session(&tenant.id, &user.upn, &session, date);

    // The phone: the mail app's broker session lives for weeks, hopping between the carrier
    // (addresses churning) and the home Wi-Fi; the broker refreshes its tokens from wherever
    // the phone is, with the phone's device id.
    if let Some(phone) = &user.phone
        && rng.random_bool(0.7)
    {
        let phone_session = out.phone_session(&tenant.id, &user.upn, rng);
        let mut time = start + Duration::minutes(rng.random_range(0..300));
        let mut net = &user.carrier;
        out.sign_in(tenant, user, &phone_session, time, net, phone, false, rng);
        for _ in 0..lognormal(rng, 8.0, 0.7) {
            time += Duration::minutes(rng.random_range(5..60));
            // The day's use ends with the day: a run shifted to end today writes no record
            // later than now.
            if time >= date + Duration::days(1) {
                break;
            }
            let hop = if rng.random_bool(0.35) {
                &user.home
            } else {
                &user.carrier
            };
            if !std::ptr::eq(hop, net) && rng.random_bool(0.5) {
                out.sign_in(tenant, user, &phone_session, time, hop, phone, false, rng);
            }
            net = hop;
            // Outlook mobile's cloud service syncs the mailbox: a share of its mailbox records
            // carry Exchange Online's own address, not the phone's.
            let seen_from = if rng.random_bool(0.3) {
                nets.microsoft()
            } else {
                net
            };
            out.activity(
                tenant,
                user,
                &phone_session,
                time,
                seen_from,
                phone,
                "MailItemsAccessed",
                rng,
            );
        }
    }

    // Attacks.
    match (kind, offset) {
        (Some("aitm"), 0) => {
            // The victim signs in through the attacker's proxy; the stolen session is then used
            // from other infrastructure with the attacker's tools.
            let proxy = nets.hosting(rng);
            let stolen = out.session_id(rng);
            let mut t = start + Duration::minutes(rng.random_range(30..240));
            // The proxy relays the password and MFA, not the device's identity.
            out.sign_in(
                tenant,
                user,
                &stolen,
                t,
                &proxy,
                &user.laptop.stolen(),
                true,
                rng,
            );
            let attack_start = t;
            let infra = nets.hosting(rng);
            let tool = Device::attacker(rng);
            t += Duration::minutes(rng.random_range(3..25));
            // Redeeming the stolen cookie for tokens is a sign-in of its own.
            out.sign_in(tenant, user, &stolen, t, &infra, &tool, false, rng);
            for i in 0..rng.random_range(8..25) {
                t += Duration::seconds(rng.random_range(20..240));
                let op = if i == 3 {
                    "New-InboxRule"
                } else {
                    "MailItemsAccessed"
                };
                out.activity(tenant, user, &stolen, t, &infra, &tool, op, rng);
            }
            label(labels, tenant, user, &stolen, "aitm", Some(attack_start));
        }
        (Some("stealthy_replay"), 0) => {
            // A residential proxy in the victim's country, the victim's own browser, interleaved
            // with the victim's use of the same session.
            let proxy = nets.residential_proxy(rng, &user.home);
            let mut t = start + Duration::minutes(rng.random_range(20..120));
            let attack_start = t;
            // The stolen cookie signs in from the proxy: the victim's user agent, no device id.
            out.sign_in(
                tenant,
                user,
                &session,
                t,
                &proxy,
                &user.laptop.stolen(),
                true,
                rng,
            );
            for i in 0..rng.random_range(10..20) {
                t += Duration::minutes(rng.random_range(4..15));
                let op = if i % 4 == 3 {
                    "FileDownloaded"
                } else {
                    "MailItemsAccessed"
                };
                out.activity(tenant, user, &session, t, &proxy, &user.laptop, op, rng);
                out.activity(
                    tenant,
                    user,
                    &session,
                    t + Duration::minutes(2),
                    place,
                    &user.laptop,
                    "FileAccessed",
                    rng,
                );
            }
            label(
                labels,
                tenant,
                user,
                &session,
                "stealthy_replay",
                Some(attack_start),
            );
        }
        (Some("token_replay_later"), 3) => {
            // A session from three days ago comes back from elsewhere.
            if let Some(old) = out.session_of(&tenant.id, &user.upn, date - Duration::days(3)) {
                let infra = if rng.random_bool(0.5) {
                    nets.hosting(rng)
                } else {
                    nets.vpn(rng)
                };
                let tool = Device::attacker(rng);
                let mut t = start + Duration::minutes(rng.random_range(0..600));
                let attack_start = t;
                // The refresh token is redeemed: a non-interactive sign-in without the device.
                out.sign_in(tenant, user, &old, t, &infra, &tool, false, rng);
                for i in 0..rng.random_range(6..15) {
                    t += Duration::seconds(rng.random_range(30..300));
                    let op = if i == 4 {
                        "Set-InboxRule"
                    } else {
                        "MailItemsAccessed"
                    };
                    out.activity(tenant, user, &old, t, &infra, &tool, op, rng);
                }
                label(
                    labels,
                    tenant,
                    user,
                    &old,
                    "token_replay_later",
                    Some(attack_start),
                );
            }
        }
        (Some("low_and_slow"), 0) => {
            // A few quiet reads from a cloud host over two days, in the victim's session.
            let infra = nets.hosting(rng);
            let mut t = start + Duration::hours(rng.random_range(1..4));
            let attack_start = t;
            out.sign_in(
                tenant,
                user,
                &session,
                t,
                &infra,
                &user.laptop.stolen(),
                false,
                rng,
            );
            for _ in 0..rng.random_range(4..8) {
                out.activity(
                    tenant,
                    user,
                    &session,
                    t,
                    &infra,
                    &user.laptop,
                    "FileAccessed",
                    rng,
                );
                t += Duration::minutes(rng.random_range(120..480));
            }
            label(
                labels,
                tenant,
                user,
                &session,
                "low_and_slow",
                Some(attack_start),
            );
        }
        _ => {}
    }
}
