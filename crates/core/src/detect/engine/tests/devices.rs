//! Devices, their sign-ins and their networks: what a replayed cookie looks like beside the
//! device's own moves.

use super::*;

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
