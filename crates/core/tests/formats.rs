//! Every supported format, from fixtures written from Microsoft's documented shapes: what each
//! record normalizes to, and why the bad ones are rejected.

// Integration tests link every dependency of the package; only some are used here.
#![allow(unused_crate_dependencies)]

use std::collections::BTreeMap;

use tokenwatch_core::event::{NormalizedEvent, SessionIdSource, SourceFormat};
use tokenwatch_core::parse::{Limits, ParsedRecord, RejectReason, check_tenant, parse_document};
use tokenwatch_core::useragent::ClientKind;

const TENANT: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";
const SESSION: &str = "0e042318-7c78-4acb-ae00-5ee74465bca3";

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/tests/fixtures/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

fn parse(content: &[u8]) -> Vec<ParsedRecord<'_>> {
    parse_document(content, None, &Limits::default())
}

fn accepted<'a>(records: &'a [ParsedRecord<'_>]) -> Vec<&'a NormalizedEvent> {
    records
        .iter()
        .filter_map(|r| r.outcome.as_ref().ok())
        .collect()
}

fn rejections(records: &[ParsedRecord<'_>]) -> Vec<(usize, RejectReason)> {
    records
        .iter()
        .filter_map(|r| r.outcome.as_ref().err().map(|e| (r.index, e.reason)))
        .collect()
}

#[test]
fn management_activity_records_keep_each_session_source() {
    let content = fixture("management_activity.json");
    let records = parse(&content);
    assert_eq!(records.len(), 7);
    let events = accepted(&records);
    assert_eq!(events.len(), 5, "{:?}", rejections(&records));

    let login = events[0];
    assert_eq!(login.source_format, SourceFormat::ManagementActivity);
    assert_eq!(login.record_id, "4b1a2f0e-6a7e-4c1b-9a55-0d1f6b2c3a01");
    assert_eq!(login.event_time.to_rfc3339(), "2026-03-02T08:15:27+00:00");
    assert_eq!(login.user_id, "alice.smith@contoso.com", "UPN lower-cased");
    assert_eq!(login.tenant_hint.as_deref(), Some(TENANT));
    assert_eq!(login.session_id.as_deref(), Some(SESSION));
    assert_eq!(
        login.session_id_source,
        Some(SessionIdSource::DeviceProperties)
    );
    assert_eq!(
        login.ip.unwrap().to_string(),
        "203.0.113.24",
        "port stripped"
    );
    assert_eq!(
        login.device_id.as_deref(),
        Some("d8c4e1f2-3a4b-4c5d-8e9f-0a1b2c3d4e5f")
    );
    assert_eq!(login.client.browser.as_deref(), Some("Edge"));
    assert_eq!(login.client.browser_major, Some(122));
    assert_eq!(login.client.os.as_deref(), Some("Windows"));
    assert_eq!(login.operation, "UserLoggedIn");
    assert_eq!(login.workload.as_deref(), Some("AzureActiveDirectory"));
    assert_eq!(
        login.app_id.as_deref(),
        Some("00000002-0000-0ff1-ce00-000000000000")
    );

    let mail = events[1];
    assert_eq!(
        mail.session_id_source,
        Some(SessionIdSource::ExchangeSessionId)
    );
    assert_eq!(
        mail.ip.unwrap().to_string(),
        "2a01:111:f400:7eae::43",
        "brackets and port"
    );
    assert_eq!(
        mail.client.browser.as_deref(),
        Some("Safari"),
        "from ClientInfoString"
    );
    assert_eq!(mail.client.os.as_deref(), Some("macOS"));

    let download = events[2];
    assert_eq!(
        download.session_id_source,
        Some(SessionIdSource::AppAccessContext)
    );
    assert_eq!(download.token_id.as_deref(), Some("mYyWp_-UrEa4Z_pZM7FlAA"));
    assert_eq!(
        download.ip.unwrap().to_string(),
        "198.51.100.7",
        "IPv4-mapped unwrapped"
    );
    assert!(
        download
            .user_agent
            .as_deref()
            .unwrap()
            .ends_with("Überprüfung ☃")
    );
    assert_eq!(
        download.app_id.as_deref(),
        Some("08e18876-6177-487e-b8b5-cf950c1e598c")
    );

    let rule = events[3];
    assert_eq!(rule.operation, "New-InboxRule");
    assert_eq!(
        rule.session_id.as_deref(),
        Some(SESSION),
        "AppAccessContext wins over SessionId"
    );

    assert_eq!(
        rejections(&records),
        [
            (4, RejectReason::MissingField),
            (5, RejectReason::InvalidField)
        ],
        "a missing time, an unreadable time"
    );
}

#[test]
fn wrong_types_cost_only_their_record() {
    let content = fixture("management_activity.json");
    let records = parse(&content);
    // "ClientIP": 12345 is a number: the IP is unreadable, the record is still an event.
    let last = records.last().unwrap().outcome.as_ref().unwrap();
    assert_eq!(last.ip, None);
    assert_eq!(last.session_id_source, Some(SessionIdSource::UserSessionId));
    assert!(
        last.record_id.starts_with("sha256:"),
        "no Id: a content hash"
    );
}

#[test]
fn json_lines_and_arrays_give_the_same_events() {
    let content = fixture("management_activity.json");
    let values: Vec<serde_json::Value> = serde_json::from_slice(&content).unwrap();
    let lines: String = values
        .iter()
        .map(|v| format!("{}\n", serde_json::to_string(v).unwrap()))
        .collect();
    let from_array = parse(&content);
    let from_lines = parse(lines.as_bytes());
    let ids = |records: &[ParsedRecord<'_>]| {
        accepted(records)
            .iter()
            .map(|e| (e.record_id.clone(), e.session_id.clone()))
            .collect::<Vec<_>>()
    };
    // Hash ids differ with the bytes; compare the records that carry an Id.
    let with_id = |v: Vec<(String, Option<String>)>| {
        v.into_iter()
            .filter(|(id, _)| !id.starts_with("sha256:"))
            .collect::<Vec<_>>()
    };
    assert_eq!(with_id(ids(&from_array)), with_id(ids(&from_lines)));
}

#[test]
fn graph_pages_arrays_of_pages_and_lines() {
    let page = fixture("graph_signins_page.json");
    let records = parse(&page);
    assert_eq!(records.len(), 2);
    let events = accepted(&records);
    assert_eq!(events.len(), 2);
    let interactive = events[0];
    assert_eq!(interactive.source_format, SourceFormat::GraphSignIns);
    assert_eq!(interactive.operation, "SignIn");
    assert_eq!(interactive.session_id.as_deref(), Some(SESSION));
    assert_eq!(interactive.session_id_source, Some(SessionIdSource::SignIn));
    assert_eq!(
        interactive.token_id.as_deref(),
        Some("mYyWp_-UrEa4Z_pZM7FlAA")
    );
    assert_eq!(interactive.interactive, Some(true));
    assert_eq!(interactive.result_status.as_deref(), Some("0"));
    assert_eq!(
        interactive.device_id.as_deref(),
        Some("d8c4e1f2-3a4b-4c5d-8e9f-0a1b2c3d4e5f")
    );
    assert_eq!(
        interactive.user_object_id.as_deref(),
        Some("8d3e5b0c-1f7a-4a33-9c5e-2b4f6a7d8e90")
    );
    let script = events[1];
    assert_eq!(script.user_id, "alice.smith@contoso.com");
    assert_eq!(script.interactive, Some(false));
    assert_eq!(script.client.kind, ClientKind::Tool);
    assert_eq!(script.result_status.as_deref(), Some("50074"));
    assert_eq!(script.ip.unwrap().to_string(), "2a06:98c0:3600::103");
    // Seven fractional digits, truncated to the microseconds Postgres keeps.
    assert_eq!(script.event_time.timestamp_subsec_nanos(), 123_456_000);

    let text = String::from_utf8(page.clone()).unwrap();
    let array_of_pages = format!("[{text},{text}]");
    assert_eq!(accepted(&parse(array_of_pages.as_bytes())).len(), 4);

    let signins: serde_json::Value = serde_json::from_slice(&page).unwrap();
    let lines: String = signins["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| format!("{v}\n"))
        .collect();
    assert_eq!(accepted(&parse(lines.as_bytes())).len(), 2);
}

#[test]
fn azure_monitor_records_by_category() {
    let content = fixture("azure_monitor.jsonl");
    let records = parse(&content);
    assert_eq!(records.len(), 4);
    let signin = records[0].outcome.as_ref().unwrap();
    assert_eq!(signin.source_format, SourceFormat::AzureMonitor);
    assert_eq!(signin.tenant_hint.as_deref(), Some(TENANT));
    assert_eq!(signin.interactive, Some(true));
    assert_eq!(signin.client.os.as_deref(), Some("macOS"));
    let non_interactive = records[1].outcome.as_ref().unwrap();
    assert_eq!(non_interactive.interactive, Some(false));
    assert_eq!(
        non_interactive.ip.unwrap().to_string(),
        "185.220.101.33",
        "callerIpAddress when properties has no ipAddress"
    );
    assert_eq!(
        non_interactive.event_time.to_rfc3339(),
        "2026-03-02T09:30:00+00:00"
    );
    let service_principal = records[2].outcome.as_ref().unwrap_err();
    assert_eq!(service_principal.reason, RejectReason::UnsupportedRecord);
    let consent = records[3].outcome.as_ref().unwrap();
    assert_eq!(consent.operation, "Consent to application");
    assert_eq!(consent.user_id, "alice.smith@contoso.com");

    let wrapped = format!(
        "{{\"records\": [{}]}}",
        String::from_utf8(content.clone())
            .unwrap()
            .lines()
            .collect::<Vec<_>>()
            .join(",")
    );
    assert_eq!(accepted(&parse(wrapped.as_bytes())).len(), 3);
}

#[test]
fn purview_rows_are_their_audit_data() {
    let content = fixture("purview.csv");
    let records = parse(&content);
    assert_eq!(records.len(), 3);
    let rule = records[0].outcome.as_ref().unwrap();
    assert_eq!(rule.source_format, SourceFormat::PurviewCsv);
    assert_eq!(rule.operation, "New-InboxRule");
    assert_eq!(rule.session_id.as_deref(), Some(SESSION));
    assert!(
        records[0].raw.starts_with(b"{\"CreationTime\""),
        "kept as the UAL record"
    );
    let download = records[1].outcome.as_ref().unwrap();
    assert_eq!(download.client.browser.as_deref(), Some("python-requests"));
    let broken = records[2].outcome.as_ref().unwrap_err();
    assert_eq!(broken.reason, RejectReason::MalformedJson, "{broken:?}");
    assert!(
        records[2].raw.starts_with(b"4b1a2f0e"),
        "a broken row is kept whole"
    );
}

#[test]
fn sentinel_csv_rows_with_json_cells() {
    let content = fixture("sentinel_signinlogs.csv");
    let records = parse(&content);
    assert_eq!(records.len(), 3);
    let signin = records[0].outcome.as_ref().unwrap();
    assert_eq!(signin.source_format, SourceFormat::Sentinel);
    assert_eq!(
        signin.event_time.to_rfc3339(),
        "2026-03-02T08:14:59.123+00:00"
    );
    assert_eq!(
        signin.tenant_hint.as_deref(),
        Some(TENANT),
        "AADTenantId, not the workspace"
    );
    assert_eq!(
        signin.device_id.as_deref(),
        Some("d8c4e1f2-3a4b-4c5d-8e9f-0a1b2c3d4e5f")
    );
    assert_eq!(signin.interactive, Some(true));
    let background = records[1].outcome.as_ref().unwrap();
    assert_eq!(background.interactive, Some(false));
    assert_eq!(background.client.browser.as_deref(), Some("okhttp"));
    let short_row = records[2].outcome.as_ref().unwrap_err();
    assert_eq!(short_row.reason, RejectReason::MalformedCsv);
    assert!(
        records[0].raw.starts_with(b"TenantId,"),
        "kept with its header"
    );
}

#[test]
fn malformed_documents_reject_record_by_record() {
    let cases: &[(&[u8], &[RejectReason])] = &[
        (b"", &[RejectReason::EmptyDocument]),
        (b"   \n\t ", &[RejectReason::EmptyDocument]),
        (
            b"[{\"CreationTime\": \"2026-03-02T08:15:27\", \"Operation\": \"X\"",
            &[RejectReason::MalformedJson],
        ),
        (b"[1, \"two\", null]", &[RejectReason::MalformedJson; 3]),
        (
            b"{\"Operation\": \"X\", \"UserId\": \"\xff\xfe\"}",
            &[RejectReason::InvalidUtf8],
        ),
        (
            b"{\"hello\": \"world\"}",
            &[RejectReason::UnsupportedRecord],
        ),
        (
            b"StartTime,IPAddress\n2026-03-02,1.2.3.4\n",
            &[RejectReason::UnsupportedRecord],
        ),
        (b"not json at all\n", &[RejectReason::UnsupportedRecord]),
    ];
    for (content, expected) in cases {
        let records = parse(content);
        let reasons: Vec<RejectReason> = rejections(&records).into_iter().map(|(_, r)| r).collect();
        assert_eq!(&reasons, expected, "{}", String::from_utf8_lossy(content));
        assert!(accepted(&records).is_empty());
    }
}

#[test]
fn oversized_records_are_rejected_not_parsed() {
    let big = format!(
        "[{{\"CreationTime\": \"2026-03-02T08:15:27\", \"Operation\": \"X\", \"UserId\": \"a@b.c\", \"Pad\": \"{}\"}}, {{\"CreationTime\": \"2026-03-02T08:15:27\", \"Operation\": \"Y\", \"UserId\": \"a@b.c\"}}]",
        "x".repeat(2000)
    );
    let limits = Limits {
        max_record_bytes: 1000,
    };
    let records = parse_document(big.as_bytes(), None, &limits);
    assert_eq!(
        records[0].outcome.as_ref().unwrap_err().reason,
        RejectReason::RecordTooLarge
    );
    assert!(records[1].outcome.is_ok());
}

#[test]
fn a_declared_format_must_match() {
    let content = fixture("graph_signins_page.json");
    let records = parse_document(
        &content,
        Some(SourceFormat::ManagementActivity),
        &Limits::default(),
    );
    assert!(
        records
            .iter()
            .all(|r| r.outcome.as_ref().unwrap_err().reason == RejectReason::UnsupportedRecord)
    );
    let records = parse_document(
        &content,
        Some(SourceFormat::GraphSignIns),
        &Limits::default(),
    );
    assert_eq!(accepted(&records).len(), 2);
}

#[test]
fn records_naming_another_tenant_are_caught() {
    let content = fixture("management_activity.json");
    let records = parse(&content);
    let event = records[0].outcome.as_ref().unwrap();
    assert!(check_tenant(event, TENANT).is_ok());
    assert!(check_tenant(event, &TENANT.to_uppercase()).is_ok());
    let other = check_tenant(event, "11111111-1111-4111-8111-111111111111").unwrap_err();
    assert_eq!(other.reason, RejectReason::TenantMismatch);
    let mut synthetic = event.clone();
    synthetic.tenant_hint = Some("tenant-123".to_owned());
    assert!(
        check_tenant(&synthetic, TENANT).is_ok(),
        "not a GUID: names no tenant"
    );
}

#[test]
fn reason_names_are_stable() {
    let names: BTreeMap<&str, RejectReason> = [
        RejectReason::MalformedJson,
        RejectReason::MalformedCsv,
        RejectReason::InvalidUtf8,
        RejectReason::MissingField,
        RejectReason::InvalidField,
        RejectReason::UnsupportedRecord,
        RejectReason::TenantMismatch,
        RejectReason::RecordTooLarge,
        RejectReason::EmptyDocument,
        RejectReason::Expired,
    ]
    .into_iter()
    .map(|r| (r.as_str(), r))
    .collect();
    assert_eq!(names.len(), 10);
    assert!(names.keys().all(|n| {
        n.chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
    }));
}

#[test]
fn chunks_split_on_record_boundaries_and_parse_to_the_same_records() {
    use tokenwatch_core::parse::chunk_document;
    for name in [
        "management_activity.json",
        "graph_signins_page.json",
        "purview.csv",
        "azure_monitor.jsonl",
        "sentinel_signinlogs.csv",
    ] {
        let content = fixture(name);
        let whole = parse(&content);
        let chunks = chunk_document(&content, 600);
        assert!(chunks.len() > 1, "{name} was not split");
        let parts: Vec<ParsedRecord<'_>> = chunks.iter().flat_map(|c| parse(c)).collect();
        let summary = |records: &[ParsedRecord<'_>]| {
            records
                .iter()
                .map(|r| {
                    r.outcome
                        .as_ref()
                        .map(|e| e.record_id.clone())
                        .map_err(|e| e.reason)
                })
                .filter(|r| !matches!(r, Ok(id) if id.starts_with("sha256:")))
                .collect::<Vec<_>>()
        };
        assert_eq!(summary(&whole), summary(&parts), "{name}");
    }
    assert_eq!(
        chunk_document(b"[1]", 100),
        vec![b"[1]".to_vec()],
        "small documents travel whole"
    );
}

#[test]
fn deep_nesting_costs_its_record_and_nothing_else() {
    // 300,000 open brackets in one field, under the record size limit: split without
    // recursion and skipped by the field reader without overflowing the stack; the record is
    // refused (it is no known format) and the records after it kept.
    let depth = 300_000;
    let mut document = br#"[{"CreationTime":"2026-11-02T00:00:00","Id":"a","#.to_vec();
    document.extend_from_slice(br#""Deep":"#);
    document.extend(std::iter::repeat_n(b'[', depth));
    document.extend(std::iter::repeat_n(b']', depth));
    document.extend_from_slice(b"},");
    let good = String::from_utf8(fixture("management_activity.json")).unwrap();
    document.extend_from_slice(good.trim().trim_start_matches('[').as_bytes());
    let records = parse(&document);
    assert!(records[0].outcome.is_err());
    let alone = fixture("management_activity.json");
    let alone = parse(&alone);
    let after: Vec<(usize, RejectReason)> = rejections(&records)[1..]
        .iter()
        .map(|(index, reason)| (index - 1, *reason))
        .collect();
    assert_eq!(records.len(), alone.len() + 1);
    assert_eq!(
        after,
        rejections(&alone),
        "the records after it fare as they would alone"
    );
}

#[test]
fn what_follows_a_closed_array_is_read_not_dropped() {
    // Found by the purview_csv fuzzer: `[]5;"Co` gave no record and no rejection at all.
    let records = parse(br#"[]5;"Co"#);
    assert_eq!(
        rejections(&records).len(),
        1,
        "the trailing text is a rejected record"
    );
    // Two exports appended to each other: both are read.
    let one = fixture("management_activity.json");
    let mut two = one.clone();
    two.extend_from_slice(b"\n");
    two.extend_from_slice(&one);
    assert_eq!(parse(&two).len(), 2 * parse(&one).len());
    assert!(
        parse(b"[]").is_empty(),
        "an empty export is no records, not an error"
    );
}
