//! The engine on hand-made histories: each test is one reality (a replay, a trip, a noisy
//! tenant, a suppression) and what the engine must make of it.

mod devices;

use chrono::{Duration, TimeZone, Utc};
use tokenwatch_types::Severity;

use super::*;
use crate::detect::feature::Feature;
use crate::event::{Network, SourceFormat};
use crate::useragent::ClientInfo;

const TENANT: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";
const CHROME: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/122.0.0.0 Safari/537.36";

/// An event of `user` in `session` at `minute` minutes after day 0, from `ip` in `asn`.
#[allow(clippy::too_many_arguments)]
fn event(
    user: &str,
    session: &str,
    minute: i64,
    ip: &str,
    asn: u32,
    country: &str,
    agent: &str,
    operation: &str,
) -> NormalizedEvent {
    NormalizedEvent {
        record_id: format!("{user}-{session}-{minute}-{operation}"),
        source_format: SourceFormat::ManagementActivity,
        event_time: Utc.with_ymd_and_hms(2026, 3, 2, 8, 0, 0).unwrap() + Duration::minutes(minute),
        tenant_hint: None,
        user_id: user.to_owned(),
        user_object_id: None,
        session_id: Some(session.to_owned()),
        session_id_source: None,
        token_id: None,
        ip: ip.parse().ok(),
        user_agent: Some(agent.to_owned()),
        device_id: None,
        client: ClientInfo::from_user_agent(agent),
        operation: operation.to_owned(),
        workload: None,
        result_status: None,
        app_id: None,
        interactive: None,
        network: Network {
            asn: Some(asn),
            as_org: None,
            country: Some(country.to_owned()),
            hosting: matches!(asn, 14061 | 24940),
        },
    }
}

/// Two weeks of ordinary days for ten users: a sign-in from home, then work.
fn history(engine: &mut Engine) {
    for day in 0..14 {
        for u in 0..10 {
            let user = format!("user{u}@contoso.com");
            let session = format!("s-{u}-{day}");
            let start = day * 1440 + u;
            let ip = format!("31.149.{u}.10");
            engine.observe(
                TENANT,
                &event(
                    &user,
                    &session,
                    start,
                    &ip,
                    1136,
                    "NL",
                    CHROME,
                    "UserLoggedIn",
                ),
            );
            for i in 1..20 {
                engine.observe(
                    TENANT,
                    &event(
                        &user,
                        &session,
                        start + i * 20,
                        &ip,
                        1136,
                        "NL",
                        CHROME,
                        "FileAccessed",
                    ),
                );
            }
        }
    }
}

/// The score of a session that moves from home to a network abroad, under `suppressions`.
fn score_of_a_move(suppressions: &Suppressions) -> f64 {
    let (user, weights) = ("user3@contoso.com", WeightSet::default());
    let mut engine = TenantEngine::default();
    let home = |session: &str, minute: i64| {
        event(
            user,
            session,
            minute,
            "31.149.3.10",
            1136,
            "NL",
            CHROME,
            "FileAccessed",
        )
    };
    for day in 0..14 {
        for i in 0..5 {
            let e = home(&format!("s-{day}"), day * 1440 + i * 20);
            engine.observe(TENANT, &weights, suppressions, &e);
        }
    }
    let day = 14 * 1440;
    engine.observe(TENANT, &weights, suppressions, &home("s-vpn", day));
    let moved = event(
        user,
        "s-vpn",
        day + 30,
        "88.64.1.2",
        3209,
        "DE",
        CHROME,
        "FileAccessed",
    );
    engine.observe(TENANT, &weights, suppressions, &moved);
    engine
        .evaluate(TENANT, &weights, suppressions, user, "s-vpn")
        .unwrap()
        .finding
        .score
}

#[test]
fn a_suppressed_context_counts_for_less_but_never_for_nothing() {
    use crate::detect::suppress::{Suppression, Target};
    let suppress = |user: Option<&str>, target, value: &str, expires| Suppressions {
        list: vec![Suppression::new(user.map(str::to_owned), target, value, expires).unwrap()],
    };
    let plain = score_of_a_move(Suppressions::none());
    assert!(plain > 0.0);
    let vpn = score_of_a_move(&suppress(None, Target::Asn, "AS3209", None));
    assert!(vpn < plain * 0.8, "{vpn} vs {plain}");
    assert!(vpn > 0.0, "the new country still counts");
    let both = score_of_a_move(&Suppressions {
        list: [
            suppress(Some("user3@contoso.com"), Target::Asn, "3209", None).list,
            suppress(Some("user3@contoso.com"), Target::Country, "de", None).list,
        ]
        .concat(),
    });
    assert!(both < vpn && both > 0.0, "{both} vs {vpn}");
    // Another user's, or one that expired before the session: no effect.
    let other = score_of_a_move(&suppress(
        Some("user4@contoso.com"),
        Target::Asn,
        "AS3209",
        None,
    ));
    assert_eq!(other, plain);
    let expired = Utc.with_ymd_and_hms(2026, 3, 3, 0, 0, 0).unwrap();
    let old = score_of_a_move(&suppress(None, Target::Asn, "AS3209", Some(expired)));
    assert_eq!(old, plain);
}

#[test]
fn a_replayed_session_is_a_finding_that_explains_itself() {
    let mut engine = Engine::new(WeightSet::default());
    history(&mut engine);
    assert!(engine.findings().is_empty(), "ordinary days are quiet");
    let victim = "user3@contoso.com";
    let day = 14 * 1440;
    engine.observe(
        TENANT,
        &event(
            victim,
            "s-x",
            day,
            "31.149.3.10",
            1136,
            "NL",
            CHROME,
            "UserLoggedIn",
        ),
    );
    engine.observe(
        TENANT,
        &event(
            victim,
            "s-x",
            day + 5,
            "31.149.3.10",
            1136,
            "NL",
            CHROME,
            "FileAccessed",
        ),
    );
    // The same session from a hosting provider abroad, with a script, setting an inbox rule.
    let attacker = "python-requests/2.31.0";
    engine.observe(
        TENANT,
        &event(
            victim,
            "s-x",
            day + 30,
            "5.101.96.7",
            14061,
            "US",
            attacker,
            "MailItemsAccessed",
        ),
    );
    engine.observe(
        TENANT,
        &event(
            victim,
            "s-x",
            day + 32,
            "5.101.96.7",
            14061,
            "US",
            attacker,
            "New-InboxRule",
        ),
    );
    engine.observe(
        TENANT,
        &event(
            victim,
            "s-x",
            day + 40,
            "5.101.96.7",
            14061,
            "US",
            attacker,
            "MailItemsAccessed",
        ),
    );
    let findings = engine.finish();
    assert_eq!(
        findings.len(),
        1,
        "re-scoring updates the finding, never duplicates it"
    );
    let finding = &findings[0];
    assert_eq!(
        (finding.user.as_str(), finding.session_id.as_str()),
        (victim, "s-x")
    );
    assert_eq!(
        finding.detected_at,
        event(victim, "s-x", day + 30, "", 0, "", "", "").event_time
    );
    assert_eq!(
        finding.last_seen,
        event(victim, "s-x", day + 40, "", 0, "", "", "").event_time
    );
    assert_eq!(finding.severity, Severity::Critical);
    let features: Vec<&str> = finding.reasons.iter().map(|r| r.feature.name()).collect();
    // No impossible travel: a hosting address says nothing about where a person is.
    for expected in [
        "novel_network_change",
        "tool_client",
        "hosting_network",
        "risky_after_change",
    ] {
        assert!(
            features.contains(&expected),
            "{expected} missing from {features:?}"
        );
    }
    let total: f64 = finding.reasons.iter().map(|r| r.contribution).sum();
    assert!(
        (total - finding.score).abs() < 0.01,
        "the reasons add up to the score"
    );
    assert!(
        finding
            .evidence
            .risky_operations
            .contains(&"New-InboxRule".to_owned())
    );
}

#[test]
fn a_noisy_tenant_needs_more_than_the_threshold() {
    let mut quiet = ScoreHistogram::default();
    for _ in 0..1000 {
        quiet.record(0.2);
    }
    assert_eq!(quiet.cutoff(3.0), 3.0);
    let mut noisy = ScoreHistogram::default();
    for i in 0..1000 {
        noisy.record(if i % 100 == 0 { 4.05 } else { 1.0 });
    }
    assert!(
        (noisy.cutoff(3.0) - 4.1).abs() < 1e-9,
        "{}",
        noisy.cutoff(3.0)
    );
    let mut young = ScoreHistogram::default();
    young.record(9.0);
    assert_eq!(young.cutoff(3.0), 3.0, "too few sessions to judge");
}

#[test]
fn a_trip_and_a_move_to_a_cafe_are_not_findings() {
    let mut engine = Engine::new(WeightSet::default());
    history(&mut engine);
    let user = "user4@contoso.com";
    let day = 14 * 1440;
    // A fresh sign-in from a hotel in Spain.
    engine.observe(
        TENANT,
        &event(
            user,
            "s-trip",
            day,
            "2.136.0.9",
            3352,
            "ES",
            CHROME,
            "UserLoggedIn",
        ),
    );
    for i in 1..10 {
        engine.observe(
            TENANT,
            &event(
                user,
                "s-trip",
                day + i * 10,
                "2.136.0.9",
                3352,
                "ES",
                CHROME,
                "FileAccessed",
            ),
        );
    }
    // The next day, the laptop moves from home to a café on another ISP, same browser.
    let next = day + 1440;
    engine.observe(
        TENANT,
        &event(
            user,
            "s-cafe",
            next,
            "31.149.4.10",
            1136,
            "NL",
            CHROME,
            "UserLoggedIn",
        ),
    );
    for i in 1..10 {
        engine.observe(
            TENANT,
            &event(
                user,
                "s-cafe",
                next + i * 10,
                "31.149.4.10",
                1136,
                "NL",
                CHROME,
                "FileAccessed",
            ),
        );
    }
    for i in 10..20 {
        engine.observe(
            TENANT,
            &event(
                user,
                "s-cafe",
                next + i * 10,
                "24.132.8.8",
                33915,
                "NL",
                CHROME,
                "FileAccessed",
            ),
        );
    }
    assert!(engine.finish().is_empty());
}

#[test]
fn two_parties_alternating_in_one_session_are_caught_even_on_a_known_isp() {
    let mut engine = Engine::new(WeightSet::default());
    history(&mut engine);
    let victim = "user5@contoso.com";
    let day = 14 * 1440;
    engine.observe(
        TENANT,
        &event(
            victim,
            "s-y",
            day,
            "31.149.5.10",
            1136,
            "NL",
            CHROME,
            "UserLoggedIn",
        ),
    );
    // A residential proxy on the victim's own ISP, the victim's browser, interleaved.
    for i in 0..6 {
        let t = day + 10 + i * 8;
        engine.observe(
            TENANT,
            &event(
                victim,
                "s-y",
                t,
                "31.149.200.77",
                1136,
                "NL",
                CHROME,
                "MailItemsAccessed",
            ),
        );
        engine.observe(
            TENANT,
            &event(
                victim,
                "s-y",
                t + 2,
                "31.149.5.10",
                1136,
                "NL",
                CHROME,
                "FileAccessed",
            ),
        );
    }
    let findings = engine.finish();
    assert_eq!(findings.len(), 1);
    assert!(
        findings[0]
            .reasons
            .iter()
            .any(|r| r.feature == Feature::Interleaving)
    );
}

#[test]
fn idle_sessions_keep_what_detection_needs_and_let_their_evidence_lists_go() {
    let mut engine = Engine::new(WeightSet::default());
    history(&mut engine);
    let user = engine
        .tenant(TENANT)
        .unwrap()
        .user("user0@contoso.com")
        .unwrap();
    let dormant = &user.sessions["s-0-0"].state;
    assert!(dormant.ips.is_empty() && dormant.operations.is_empty());
    assert_eq!(dormant.networks.len(), 1);
    assert_eq!(dormant.events, 20);
    let today = &user.sessions["s-0-13"].state;
    assert!(!today.ips.is_empty() && !today.operations.is_empty());

    // The first day's session replayed from a hosting network two weeks on is still caught,
    // and its evidence shows what the replay did.
    let replay = 14 * 1440 + 600;
    for i in 0..5 {
        engine.observe(
            TENANT,
            &event(
                "user0@contoso.com",
                "s-0-0",
                replay + i,
                "45.55.1.1",
                14061,
                "US",
                CHROME,
                "MailItemsAccessed",
            ),
        );
    }
    let findings = engine.finish();
    let finding = findings
        .iter()
        .find(|f| f.session_id == "s-0-0")
        .expect("the replay is a finding");
    assert_eq!(finding.evidence.ips, vec!["45.55.1.1".to_owned()]);
    assert_eq!(finding.evidence.operations.len(), 1);
}

#[test]
fn the_scan_keeps_what_ingest_keeps_of_a_record_sent_twice() {
    // Ingest's key is (tenant, event time, record id): a copy with the same time is a
    // duplicate (the first read is kept), one with another time is stored as well.
    let first = event("alice", "s1", 0, "203.0.113.5", 7922, "US", CHROME, "first");
    let mut copy = first.clone();
    copy.operation = "copy".to_owned();
    let mut later = first.clone();
    later.event_time += Duration::seconds(1);
    later.operation = "later".to_owned();
    let mut events = vec![(2, copy), (0, later), (1, first)];
    crate::detect::tenant_order(&mut events);
    let kept: Vec<(u64, &str)> = events
        .iter()
        .map(|(order, event)| (*order, event.operation.as_str()))
        .collect();
    assert_eq!(kept, [(1, "first"), (0, "later")]);
}
