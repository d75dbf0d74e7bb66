//! The real public samples in `../shared/datasets` (see its README): every file must parse, each
//! record into an event or a rejection with the reason we expect. A user's clone has no
//! `../shared`; there these tests say so and pass without checking anything.

// Integration tests link every dependency of the package; only some are used here.
#![allow(unused_crate_dependencies)]

use std::collections::BTreeMap;
use std::path::PathBuf;

use tokenwatch_core::event::{SessionIdSource, SourceFormat};
use tokenwatch_core::parse::{Limits, ParsedRecord, parse_document};

#[allow(clippy::print_stderr)]
fn datasets() -> Option<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/datasets");
    if dir.is_dir() {
        Some(dir)
    } else {
        // Saying so is the point: a skipped check must not look like a passed one.
        eprintln!(
            "skipping: {} is not here (only on the team's machines)",
            dir.display()
        );
        None
    }
}

/// Counts per outcome: "accepted" or the rejection reason.
fn tally(records: &[ParsedRecord<'_>]) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for record in records {
        let key = match &record.outcome {
            Ok(_) => "accepted".to_owned(),
            Err(rejection) => rejection.reason.as_str().to_owned(),
        };
        *counts.entry(key).or_default() += 1;
    }
    counts
}

fn counts(pairs: &[(&str, usize)]) -> BTreeMap<String, usize> {
    pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
}

/// Panther's fixtures wrap each raw event; feed each event as its own document.
fn panther_events(path: &PathBuf) -> Vec<Vec<u8>> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|line| {
            let wrapper: serde_json::Value = serde_json::from_str(line).unwrap();
            serde_json::to_vec(&wrapper["event"]).unwrap()
        })
        .collect()
}

fn parse_each(documents: &[Vec<u8>]) -> Vec<ParsedRecord<'_>> {
    documents
        .iter()
        .flat_map(|d| parse_document(d, None, &Limits::default()))
        .collect()
}

fn read(dir: &std::path::Path, name: &str) -> Vec<u8> {
    std::fs::read(dir.join(name)).unwrap()
}

#[test]
fn panther_management_activity_events() {
    let Some(dir) = datasets() else { return };
    let prefix = "panther-analysis-test-events/Microsoft365_Audit_";
    for (workload, count) in [
        ("AzureActiveDirectory", 4),
        ("Exchange", 10),
        ("SharePoint", 5),
    ] {
        let docs = panther_events(&dir.join(format!("{prefix}{workload}.test_events.jsonl")));
        let records = parse_each(&docs);
        assert_eq!(
            tally(&records),
            counts(&[("accepted", count)]),
            "{workload}"
        );
        for record in &records {
            let event = record.outcome.as_ref().unwrap();
            assert_eq!(event.source_format, SourceFormat::ManagementActivity);
            assert!(event.user_id.contains('@') || !event.user_id.is_empty());
        }
        if workload == "SharePoint" {
            // All five carry AppAccessContext.AADSessionId (README).
            assert!(records.iter().all(|r| {
                let e = r.outcome.as_ref().unwrap();
                e.session_id.as_deref() == Some("aa-bb-cc")
                    && e.session_id_source == Some(SessionIdSource::AppAccessContext)
            }));
        }
        if workload == "Exchange" {
            // Panther folds field names to lower case; they are still read.
            assert!(
                records
                    .iter()
                    .any(|r| r.outcome.as_ref().unwrap().operation == "Set-Mailbox")
            );
        }
    }
}

#[test]
fn panther_azure_monitor_events() {
    let Some(dir) = datasets() else { return };
    let docs =
        panther_events(&dir.join("panther-analysis-test-events/Azure_Audit.test_events.jsonl"));
    let records = parse_each(&docs);
    // The 8 unsupported are ServicePrincipalSignInLogs: applications, not users.
    assert_eq!(
        tally(&records),
        counts(&[("accepted", 39), ("UNSUPPORTED_RECORD", 8)])
    );
    // Panther's GraphSessionMultipleIPs events carry properties.sessionId.
    let with_session: Vec<_> = records
        .iter()
        .filter_map(|r| r.outcome.as_ref().ok())
        .filter(|e| e.session_id_source == Some(SessionIdSource::SignIn))
        .collect();
    assert_eq!(with_session.len(), 3);
    let positive = with_session
        .iter()
        .find(|e| e.session_id.as_deref() == Some("session-abc-123"))
        .unwrap();
    assert_eq!(positive.ip.unwrap().to_string(), "5.5.5.5");
    assert_eq!(positive.client.browser.as_deref(), Some("python-requests"));
    assert!(with_session.iter().any(|e| e.interactive == Some(false)));
}

#[test]
fn sentinel_training_lab_exports() {
    let Some(dir) = datasets() else { return };
    let lab = "azure-sentinel-training-lab/";
    let adele = read(&dir, &format!("{lab}sign-in_adelete.csv"));
    let records = parse_document(&adele, None, &Limits::default());
    assert_eq!(tally(&records), counts(&[("accepted", 56)]));
    for record in &records {
        let event = record.outcome.as_ref().unwrap();
        assert_eq!(event.user_id, "adelev@m365x816222.onmicrosoft.com");
        assert_eq!(event.ip.unwrap().to_string(), "175.45.176.99");
        assert_eq!(event.client.browser.as_deref(), Some("Edge"));
        assert_eq!(event.interactive, Some(true));
        assert_eq!(
            event.tenant_hint.as_deref(),
            Some("2ad3fc79-1859-42fa-9011-6f8df2251b22")
        );
    }
    let failed: usize = records
        .iter()
        .filter(|r| r.outcome.as_ref().unwrap().result_status.as_deref() != Some("0"))
        .count();
    assert_eq!(failed, 3, "2 x 16000 and 1 x 50058 (README)");

    // The lab edited these: no time column at all.
    let disabled = read(&dir, &format!("{lab}disable_accounts.csv"));
    let records = parse_document(&disabled, None, &Limits::default());
    assert_eq!(tally(&records), counts(&[("MISSING_FIELD", 4)]));
    // An analytic's output, not a log.
    let alert = read(&dir, &format!("{lab}signinLogs.csv"));
    let records = parse_document(&alert, None, &Limits::default());
    assert_eq!(tally(&records), counts(&[("MISSING_FIELD", 1)]));

    let office = read(&dir, &format!("{lab}office_activity.csv"));
    let records = parse_document(&office, None, &Limits::default());
    assert_eq!(tally(&records), counts(&[("accepted", 266)]));
    let attacker = records
        .iter()
        .filter(|r| {
            r.outcome
                .as_ref()
                .unwrap()
                .ip
                .map(|ip| ip.to_string())
                .as_deref()
                == Some("175.45.176.99")
        })
        .count();
    // The README counts 173 rows whose ClientIP is exactly the address; 3 more carry it with a
    // port or in Exchange's Client_IPAddress column.
    assert_eq!(attacker, 176);

    let rules = read(&dir, &format!("{lab}office_activity_inbox_rule.csv"));
    let records = parse_document(&rules, None, &Limits::default());
    assert_eq!(tally(&records), counts(&[("accepted", 2)]));
    for record in &records {
        let event = record.outcome.as_ref().unwrap();
        assert_eq!(event.operation, "New-InboxRule");
        assert!(event.ip.unwrap().is_ipv6(), "[v6]:port unwrapped");
    }
}

#[test]
fn otrf_golden_saml_exports() {
    let Some(dir) = datasets() else { return };
    let audit = read(
        &dir,
        "otrf-security-datasets-goldensaml/AADAuditEvents.jsonl",
    );
    let records = parse_document(&audit, None, &Limits::default());
    // Two are Sentinel AuditLogs rows; two carry Types that are no Sentinel table.
    assert_eq!(
        tally(&records),
        counts(&[("accepted", 2), ("UNSUPPORTED_RECORD", 2)])
    );
    let accepted = records
        .iter()
        .find_map(|r| r.outcome.as_ref().ok())
        .unwrap();
    assert_eq!(accepted.user_id, "pgustavo@simulandlabs.com");
    assert_eq!(accepted.client.browser.as_deref(), Some("PowerShell"));
    let mail = read(
        &dir,
        "otrf-security-datasets-goldensaml/OfficeActivityEvents.json",
    );
    let records = parse_document(&mail, None, &Limits::default());
    let event = records[0].outcome.as_ref().unwrap();
    assert_eq!(event.operation, "MailItemsAccessed");
    assert_eq!(event.ip.unwrap().to_string(), "1.2.3.4");
}
