//! Tickets in each PSA's fake: two tenants mapped to two companies, simulated days with attacks
//! through the whole pipeline, a server killed while a ticket is being opened and the PSA out
//! for a minute; then an escalation, an approved and executed revocation, a technician's
//! closing, and verdicts. One ticket per incident in the right company, every event's note
//! once, nothing lost.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use tokenwatch_auth::Role;
use tokenwatch_msfake::MicrosoftFake;
use tokenwatch_proto::common::v1::{Severity as WireSeverity, VerdictKind};
use tokenwatch_proto::feedback::v1::SubmitVerdictRequest;
use tokenwatch_proto::feedback::v1::feedback_service_client::FeedbackServiceClient;
use tokenwatch_proto::response::v1::response_service_client::ResponseServiceClient;
use tokenwatch_proto::response::v1::*;
use tokenwatch_psa::content::ticket_reference;
use tokenwatch_psafake::{FakeKind, FakeTicket, PsaFake};
use tokenwatch_server::{Destinations, Endpoints, Options, ResponseConfig};
use tokenwatch_storage::findings::{FindingWrite, upsert_finding};
use tokenwatch_test_utils::{TestServer, pipeline_options};
use tokenwatch_types::{FindingId, IncidentId, Severity, TenantId};

use crate::pipeline::{ingest, pieces, settle, simulated_tenant};

const KEY: &str = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";
const GRAPH_CLIENT: &str = "5d2b3f7e-0000-4000-8000-0000000c11e7";
const GRAPH_SECRET: &str = "fake~client.secret-value_1";
const CONSOLE: &str = "https://tokenwatch.msp.example";
/// Tickets open from this severity (the simulation's attacks reach it).
const MIN_SEVERITY: Severity = Severity::Medium;

type Client = ResponseServiceClient<tokenwatch_grpc::AuthedChannel>;

fn options(microsoft: &MicrosoftFake) -> Options {
    let mut options = pipeline_options(1);
    options.credentials_key = Some(secrecy::SecretString::from(KEY.to_owned()));
    options.response = ResponseConfig {
        endpoints: Endpoints::all_at(&microsoft.url),
        sweep_interval: Duration::from_millis(500),
        // The fakes listen on loopback, as an MSP's on-premises PSA would on an allowed range.
        destinations: std::sync::Arc::new(Destinations::parse("127.0.0.0/8").unwrap()),
        console_url: Some(CONSOLE.to_owned()),
        // Short, so replays retract some findings after their tickets opened.
        psa_hold: Duration::from_secs(2),
        ..ResponseConfig::default()
    };
    options
}

async fn response(server: &TestServer, subject: &str, role: Role, tenants: &[&str]) -> Client {
    let token = server.tokens.person(subject, &[role], tenants);
    ResponseServiceClient::new(
        tokenwatch_grpc::connect(&server.url, Some(&token))
            .await
            .unwrap(),
    )
}

fn connection(kind: FakeKind, fake: &PsaFake) -> (PsaConnection, String) {
    let c = fake.credentials();
    let mut connection = PsaConnection {
        url: fake.url.clone(),
        tickets: Some(PsaTicketSettings {
            min_severity: tokenwatch_proto::severity_to_proto(MIN_SEVERITY).into(),
            ..PsaTicketSettings::default()
        }),
        ..PsaConnection::default()
    };
    match kind {
        FakeKind::ConnectWise => {
            connection.kind = PsaKind::Connectwise.into();
            connection.company_id = c.company_id;
            connection.public_key = c.public_key;
            connection.client_id = c.client_id;
        }
        FakeKind::Autotask => {
            connection.kind = PsaKind::Autotask.into();
            connection.username = c.username;
            connection.integration_code = c.integration_code;
        }
        FakeKind::HaloPsa => {
            connection.kind = PsaKind::Halopsa.into();
            connection.client_id = c.client_id;
            connection.auth_url = fake.auth_url();
        }
    }
    (connection, c.secret)
}

async fn wait_for<T>(what: &str, within: Duration, mut check: impl AsyncFnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + within;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Waits until every event of the tenants reached the PSA.
async fn delivered(server: &TestServer, tenants: &[&str], within: Duration) {
    let mut admin = response(server, "root", Role::MspAdmin, tenants).await;
    for tenant in tenants {
        wait_for("the PSA backlog to empty", within, async || {
            let status = admin
                .get_psa_status(GetPsaStatusRequest {
                    tenant_id: (*tenant).to_owned(),
                })
                .await
                .ok()?
                .into_inner();
            (status.backlog == 0).then_some(())
        })
        .await;
    }
}

/// The tenant's incidents and their severities.
async fn incidents(server: &TestServer, tenant: &str) -> BTreeMap<uuid::Uuid, Severity> {
    let tenant = TenantId::parse(tenant).unwrap();
    let mut tx = server.database.tenant_tx(tenant).await.unwrap();
    let rows: Vec<(uuid::Uuid, String)> =
        sqlx::query_as("SELECT incident_id, severity FROM incidents")
            .fetch_all(&mut *tx)
            .await
            .unwrap();
    rows.into_iter()
        .map(|(id, severity)| (id, severity.parse().unwrap()))
        .collect()
}

/// Stores a finding as the pipeline would; returns its id.
async fn finding(
    server: &TestServer,
    tenant: &str,
    incident: uuid::Uuid,
    (user, session): (&str, &str),
    severity: Severity,
) -> String {
    let tenant = TenantId::parse(tenant).unwrap();
    let mut tx = server.database.tenant_tx(tenant).await.unwrap();
    let existing: Option<uuid::Uuid> = sqlx::query_scalar(
        "SELECT finding_id FROM findings WHERE user_id = $1 AND session_id = $2",
    )
    .bind(user)
    .bind(session)
    .fetch_optional(&mut *tx)
    .await
    .unwrap();
    let now = chrono::Utc::now();
    let id = existing.unwrap_or_else(uuid::Uuid::new_v4);
    let write = FindingWrite {
        finding_id: FindingId::from_uuid(id),
        incident_id: IncidentId::from_uuid(incident),
        user_id: user.to_owned(),
        session_id: session.to_owned(),
        score: 7.0,
        threshold: 3.0,
        severity,
        first_seen: now,
        last_seen: now,
        detected_at: now,
        weight_version: 1,
        explanation: serde_json::json!({"reasons": [
            {"feature": "interleaving", "contribution": 2.5},
            {"feature": "new_country", "contribution": 0.8},
        ]}),
    };
    upsert_finding(&mut tx, tenant, &write).await.unwrap();
    tx.commit().await.unwrap();
    id.to_string()
}

fn ticket_of(tickets: &[FakeTicket], incident: uuid::Uuid) -> Option<&FakeTicket> {
    let reference = ticket_reference(&incident.to_string());
    tickets.iter().find(|t| t.title.contains(&reference))
}

/// Every note of every ticket is there once: no event was written twice.
fn assert_no_repeats(tickets: &[FakeTicket]) {
    let titles: BTreeSet<&str> = tickets.iter().map(|t| t.title.as_str()).collect();
    assert_eq!(titles.len(), tickets.len(), "a ticket was opened twice");
    for ticket in tickets {
        let events: Vec<&str> = ticket
            .notes
            .iter()
            .filter_map(|n| n.rsplit_once("(tokenwatch event ").map(|(_, e)| e))
            .collect();
        let unique: BTreeSet<&&str> = events.iter().collect();
        assert_eq!(unique.len(), events.len(), "a note repeated: {ticket:?}");
    }
}

async fn tickets_in(kind: FakeKind, outage_status: u16) {
    let microsoft = MicrosoftFake::start().await;
    let psa = PsaFake::start(kind).await;
    psa.add_company(250, "Contoso Ltd");
    psa.add_company(251, "Fabrikam Inc");
    let start = tokenwatch_simulate::default_start();
    let (tenant_a, files_a) = simulated_tenant(41, 20, 9, start);
    let (tenant_b, files_b) = simulated_tenant(42, 20, 9, start);
    let tenants = [tenant_a.as_str(), tenant_b.as_str()];

    let first = TestServer::spawn_with_options(&[], options(&microsoft)).await;
    first.register(&tenants).await;
    microsoft.add_app(&tenant_a, GRAPH_CLIENT, GRAPH_SECRET);
    first
        .set_client_secret(&tenant_a, GRAPH_CLIENT, GRAPH_SECRET)
        .await;

    // Connected and mapped by an msp_admin; an analyst may do neither.
    let mut admin = response(&first, "root", Role::MspAdmin, &tenants).await;
    let (wire, secret) = connection(kind, &psa);
    let mut analyst = response(&first, "ana", Role::Analyst, &tenants).await;
    let refused = analyst
        .set_psa_connection(SetPsaConnectionRequest {
            connection: Some(wire.clone()),
            secret: secret.clone(),
        })
        .await
        .unwrap_err();
    assert_eq!(refused.code(), tokenwatch_proto::Code::PermissionDenied);
    let set = admin
        .set_psa_connection(SetPsaConnectionRequest {
            connection: Some(wire),
            secret: secret.clone(),
        })
        .await
        .unwrap()
        .into_inner()
        .connection
        .unwrap();
    assert_eq!(set.updated_by, "root");
    let shown = format!(
        "{:?}",
        admin
            .get_psa_connection(GetPsaConnectionRequest {})
            .await
            .unwrap()
    );
    assert!(!shown.contains(&secret), "the secret came back");
    let test = admin
        .test_psa_connection(TestPsaConnectionRequest {})
        .await
        .unwrap()
        .into_inner();
    assert!(test.ok, "{:?}", test.checks);
    let companies = admin
        .list_psa_companies(ListPsaCompaniesRequest {
            search: "fabri".into(),
            page_size: 0,
        })
        .await
        .unwrap()
        .into_inner()
        .companies;
    assert_eq!(companies.len(), 1);
    assert_eq!(companies[0].company_id, "251");
    let unknown = admin
        .map_psa_company(MapPsaCompanyRequest {
            tenant_id: tenant_a.clone(),
            company_id: "999".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(unknown.code(), tokenwatch_proto::Code::InvalidArgument);
    for (tenant, company) in [(&tenant_a, "250"), (&tenant_b, "251")] {
        let mapping = admin
            .map_psa_company(MapPsaCompanyRequest {
                tenant_id: tenant.clone(),
                company_id: company.into(),
            })
            .await
            .unwrap()
            .into_inner()
            .mapping
            .unwrap();
        assert_eq!(mapping.company_id, company);
    }

    // The first ticket's creation is answered late; the server dies waiting for it.
    psa.slow_answers("POST", "icket", Duration::from_secs(30));
    ingest(&first, &tenant_a, &pieces(&files_a)).await;
    ingest(&first, &tenant_b, &pieces(&files_b)).await;
    wait_for("a first ticket", Duration::from_secs(120), async || {
        (!psa.tickets().is_empty()).then_some(())
    })
    .await;
    let database_url = first.database_url.clone();
    first.kill().await;
    psa.fast_answers();
    // Then the PSA is down (or limiting) for a minute.
    psa.outage(Duration::from_secs(60), outage_status);
    let outage_began = Instant::now();
    let server = TestServer::spawn_on(&database_url, &[], options(&microsoft)).await;
    settle(&server, &tenant_a).await;
    settle(&server, &tenant_b).await;
    delivered(&server, &tenants, Duration::from_secs(240)).await;
    assert!(outage_began.elapsed() >= Duration::from_secs(60));
    let refused: usize = psa
        .requests()
        .iter()
        .filter(|r| r.status == outage_status)
        .count();
    assert!(refused > 0, "the outage was never met");

    // One open ticket per incident worth one, in its tenant's company, and nothing twice;
    // tickets of findings a replay withdrew are closed, saying so.
    let tickets = psa.tickets();
    assert_no_repeats(&tickets);
    for (tenant, company) in [(&tenant_a, 250), (&tenant_b, 251)] {
        let worth: Vec<uuid::Uuid> = incidents(&server, tenant)
            .await
            .into_iter()
            .filter(|(_, severity)| *severity >= MIN_SEVERITY)
            .map(|(id, _)| id)
            .collect();
        assert!(
            !worth.is_empty(),
            "the simulation raised no incident worth a ticket"
        );
        for incident in &worth {
            let ticket = ticket_of(&tickets, *incident)
                .unwrap_or_else(|| panic!("no ticket for incident {incident}"));
            assert_eq!(ticket.company_id, company);
            assert!(!ticket.closed, "{ticket:?}");
            assert!(
                ticket
                    .description
                    .contains(&format!("{CONSOLE}/#/findings/{tenant}/"))
            );
        }
        let open = tickets
            .iter()
            .filter(|t| t.company_id == company && !t.closed)
            .count();
        assert_eq!(open, worth.len(), "open tickets in company {company}");
        for withdrawn in tickets
            .iter()
            .filter(|t| t.company_id == company && t.closed)
        {
            let last = withdrawn
                .notes
                .last()
                .map(String::as_str)
                .unwrap_or_default();
            assert!(
                last.starts_with("tokenwatch withdrew the finding"),
                "{withdrawn:?}"
            );
        }
    }

    // An incident of its own for each flow: A's escalates and is acted on, B's is closed by a
    // technician.
    let adele = "adele@contoso.example";
    microsoft.add_user(&tenant_a, "00000000-0000-4000-8000-00000000ade1", adele);
    let incident_a = uuid::Uuid::new_v4();
    let finding_a = finding(
        &server,
        &tenant_a,
        incident_a,
        (adele, "s-a1"),
        Severity::High,
    )
    .await;
    delivered(&server, &tenants, Duration::from_secs(60)).await;
    let escalated = finding(
        &server,
        &tenant_a,
        incident_a,
        (adele, "s-a1"),
        Severity::Critical,
    )
    .await;
    assert_eq!(escalated, finding_a);
    let mut approver = response(&server, "root", Role::MspAdmin, &tenants).await;
    let mut proposer = response(&server, "ana", Role::Analyst, &tenants).await;
    let action = proposer
        .propose_action(ProposeActionRequest {
            tenant_id: tenant_a.clone(),
            kind: ActionKind::RevokeSessions.into(),
            user_id: adele.into(),
            finding_id: finding_a.clone(),
            reason: "impossible travel after sign-in".into(),
            request_id: format!("psa-{kind:?}"),
            dry_run: false,
        })
        .await
        .unwrap()
        .into_inner()
        .action
        .unwrap();
    approver
        .approve_action(ApproveActionRequest {
            tenant_id: tenant_a.clone(),
            action_id: action.action_id.clone(),
            approve: true,
            comment: String::new(),
        })
        .await
        .unwrap();
    wait_for("the revocation", Duration::from_secs(30), async || {
        (microsoft.user(&tenant_a, adele)?.revocations == 1).then_some(())
    })
    .await;
    delivered(&server, &tenants, Duration::from_secs(60)).await;
    let tickets = psa.tickets();
    let ticket = ticket_of(&tickets, incident_a).expect("A's ticket");
    let notes = ticket.notes.join("\n---\n");
    assert!(notes.contains("Escalated to critical"), "{notes}");
    assert!(
        notes.contains("ana proposed to revoke the user's sessions"),
        "{notes}"
    );
    assert!(
        notes.contains("root approved: revoke the user's sessions"),
        "{notes}"
    );
    assert!(
        notes.contains("Revoke the user's sessions for adele@contoso.example succeeded. Microsoft Graph answered:"),
        "{notes}"
    );

    // B's: a technician closes it; a new finding as severe leaves it closed; an escalation
    // reopens it.
    let carol = "carol@fabrikam.example";
    let incident_b = uuid::Uuid::new_v4();
    finding(
        &server,
        &tenant_b,
        incident_b,
        (carol, "s-b1"),
        Severity::High,
    )
    .await;
    delivered(&server, &tenants, Duration::from_secs(60)).await;
    let ticket_b = ticket_of(&psa.tickets(), incident_b)
        .expect("B's ticket")
        .clone();
    assert_eq!(ticket_b.company_id, 251);
    psa.close_as_technician(ticket_b.id);
    finding(
        &server,
        &tenant_b,
        incident_b,
        (carol, "s-b2"),
        Severity::High,
    )
    .await;
    delivered(&server, &tenants, Duration::from_secs(60)).await;
    let after = ticket_of(&psa.tickets(), incident_b).unwrap().clone();
    assert!(after.closed, "reopened without an escalation");
    // (The policy's proposal for the new finding is noted: notes do not reopen.)
    assert!(
        !after
            .notes
            .iter()
            .any(|n| n.starts_with("Another suspicious session")),
        "{:?}",
        after.notes
    );
    finding(
        &server,
        &tenant_b,
        incident_b,
        (carol, "s-b2"),
        Severity::Critical,
    )
    .await;
    delivered(&server, &tenants, Duration::from_secs(60)).await;
    let reopened = ticket_of(&psa.tickets(), incident_b).unwrap().clone();
    assert!(!reopened.closed, "an escalation did not reopen it");
    assert!(
        reopened
            .notes
            .last()
            .unwrap()
            .starts_with("Escalated to critical")
    );

    // Verdicts on A's finding close its ticket.
    let token = server.tokens.person("ana", &[Role::Analyst], &tenants);
    let mut feedback = FeedbackServiceClient::new(
        tokenwatch_grpc::connect(&server.url, Some(&token))
            .await
            .unwrap(),
    );
    feedback
        .submit_verdict(SubmitVerdictRequest {
            tenant_id: tenant_a.clone(),
            finding_id: finding_a,
            kind: VerdictKind::TruePositive.into(),
            comment: "confirmed with the user".into(),
        })
        .await
        .unwrap();
    delivered(&server, &tenants, Duration::from_secs(60)).await;
    let tickets = psa.tickets();
    let closed = ticket_of(&tickets, incident_a).unwrap();
    assert!(closed.closed, "the verdict did not close the ticket");
    assert!(
        closed
            .notes
            .last()
            .unwrap()
            .contains("Every finding of this incident has a verdict"),
        "{:?}",
        closed.notes
    );
    assert_no_repeats(&tickets);

    let status = approver
        .get_psa_status(GetPsaStatusRequest {
            tenant_id: tenant_a.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(status.backlog, 0);
    assert!(status.last_error.is_empty(), "{}", status.last_error);
    let state = status
        .tickets
        .iter()
        .find(|t| t.incident_id == incident_a.to_string())
        .unwrap();
    assert_eq!(state.state, "resolved");
    assert_eq!(state.severity(), WireSeverity::Critical);
}

#[tokio::test]
async fn tickets_in_connectwise() {
    tickets_in(FakeKind::ConnectWise, 429).await;
}

#[tokio::test]
async fn tickets_in_autotask() {
    tickets_in(FakeKind::Autotask, 503).await;
}

#[tokio::test]
async fn tickets_in_halopsa() {
    tickets_in(FakeKind::HaloPsa, 429).await;
}
