//! Each PSA client against its vendor's fake: the same operations, the same answers.

use std::sync::Arc;
use std::time::Duration;

use secrecy::SecretString;
use tokenwatch_egress::Destinations;
use tokenwatch_psafake::{FakeKind, PsaFake};
use tokenwatch_types::Severity;

use super::*;

const KINDS: [(PsaKind, FakeKind); 3] = [
    (PsaKind::ConnectWise, FakeKind::ConnectWise),
    (PsaKind::Autotask, FakeKind::Autotask),
    (PsaKind::HaloPsa, FakeKind::HaloPsa),
];

fn connection(kind: PsaKind, fake: &PsaFake, secret: &str) -> Connection {
    let c = fake.credentials();
    let identity = match kind {
        PsaKind::ConnectWise => Identity {
            company_id: c.company_id,
            public_key: c.public_key,
            client_id: c.client_id,
            ..Identity::default()
        },
        PsaKind::Autotask => Identity {
            username: c.username,
            integration_code: c.integration_code,
            ..Identity::default()
        },
        PsaKind::HaloPsa => Identity {
            client_id: c.client_id,
            auth_url: fake.auth_url(),
            ..Identity::default()
        },
    };
    Connection {
        kind,
        url: fake.url.clone(),
        identity,
        secret: SecretString::from(secret.to_owned()),
        tickets: TicketSettings::defaults(kind),
    }
}

fn loopback() -> Arc<Destinations> {
    Arc::new(Destinations::parse("127.0.0.0/8").unwrap())
}

async fn started(kind: FakeKind) -> PsaFake {
    let fake = PsaFake::start(kind).await;
    fake.add_company(250, "Contoso Ltd");
    fake.add_company(251, "Fabrikam Inc");
    fake.add_company(252, "Contoso Pharma");
    fake
}

#[tokio::test]
async fn every_client_opens_finds_notes_and_closes_tickets_in_its_psa() {
    for (kind, fake_kind) in KINDS {
        let fake = started(fake_kind).await;
        // Small pages, so the clients follow them.
        fake.set_page_size(2);
        let secret = fake.credentials().secret;
        let client = PsaClient::new(connection(kind, &fake, &secret), loopback()).unwrap();

        let checks = client.check().await;
        assert!(checks.iter().all(|c| c.ok), "{kind}: {checks:?}");
        let contoso = client.companies("contoso", 10).await.unwrap();
        let names: Vec<&str> = contoso.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["Contoso Ltd", "Contoso Pharma"], "{kind}");
        assert_eq!(client.company("251").await.unwrap().name, "Fabrikam Inc");
        assert!(client.company("999").await.is_err(), "{kind}");

        let reference = content::ticket_reference("0b9c1a2e-77f0-4c3b-9d1e-5a6b7c8d9e0f");
        assert_eq!(client.find_ticket("250", &reference).await.unwrap(), None);
        let title = content::ticket_title("adele@contoso.com", "high", &reference);
        let opened = client
            .create_ticket(&NewTicket {
                company_id: "250",
                title: &title,
                description: "why",
                severity: Severity::High,
            })
            .await
            .unwrap();
        assert!(!opened.closed, "{kind}");
        let found = client.find_ticket("250", &reference).await.unwrap();
        assert_eq!(found.as_ref().map(|t| &t.id), Some(&opened.id), "{kind}");
        assert_eq!(client.find_ticket("251", &reference).await.unwrap(), None);

        for n in 0..3 {
            client
                .add_note(&opened.id, &format!("note {n}\n(tokenwatch event e-{n})"))
                .await
                .unwrap();
        }
        assert!(
            client
                .has_note(&opened.id, "(tokenwatch event e-2)")
                .await
                .unwrap()
        );
        assert!(
            !client
                .has_note(&opened.id, "(tokenwatch event e-9)")
                .await
                .unwrap()
        );

        let settings = TicketSettings::defaults(kind);
        client
            .set_status(&opened.id, &settings.closed_status)
            .await
            .unwrap();
        assert!(client.ticket(&opened.id).await.unwrap().closed, "{kind}");
        client
            .set_status(&opened.id, &settings.new_status)
            .await
            .unwrap();
        assert!(!client.ticket(&opened.id).await.unwrap().closed, "{kind}");
        // A technician's closing is seen.
        fake.close_as_technician(opened.id.parse().unwrap());
        assert!(client.ticket(&opened.id).await.unwrap().closed, "{kind}");

        let tickets = fake.tickets();
        assert_eq!(tickets.len(), 1, "{kind}");
        assert_eq!(tickets[0].company_id, 250);
        assert_eq!(tickets[0].title, title);
        assert_eq!(tickets[0].notes.len(), 3);
        assert_eq!(tickets[0].priority, settings.priority(Severity::High));
    }
}

#[tokio::test]
async fn outages_and_rate_limits_are_transient_and_wrong_keys_are_not() {
    for (kind, fake_kind) in KINDS {
        let fake = started(fake_kind).await;
        let secret = fake.credentials().secret;
        let client = PsaClient::new(connection(kind, &fake, &secret), loopback()).unwrap();
        // Sign in (HaloPSA's token, Autotask's zone) before the outage.
        client.companies("", 1).await.unwrap();
        fake.outage(Duration::from_secs(60), 429);
        let error = client.companies("", 1).await.unwrap_err();
        assert!(error.is_transient(), "{kind}: {error}");
        assert_eq!(error.retry_after(), Some(Duration::from_secs(1)), "{kind}");
        fake.outage(Duration::ZERO, 503);
        fake.fail_next(&[503]);
        assert!(client.companies("", 1).await.unwrap_err().is_transient());
        client.companies("", 1).await.unwrap();

        let wrong = PsaClient::new(connection(kind, &fake, "not-the-secret"), loopback()).unwrap();
        let error = wrong.companies("", 1).await.unwrap_err();
        assert!(!error.is_transient(), "{kind}: {error}");
        let checks = wrong.check().await;
        assert!(checks.iter().any(|c| !c.ok), "{kind}: {checks:?}");
        assert!(
            checks.iter().all(|c| !c.detail.contains("not-the-secret")),
            "{kind}: {checks:?}"
        );
    }
}

#[tokio::test]
async fn a_missing_permission_is_named_by_the_test() {
    for (kind, fake_kind) in KINDS {
        let fake = started(fake_kind).await;
        fake.deny("companies");
        let secret = fake.credentials().secret;
        let client = PsaClient::new(connection(kind, &fake, &secret), loopback()).unwrap();
        let checks = client.check().await;
        let failed: Vec<&CheckLine> = checks.iter().filter(|c| !c.ok).collect();
        assert_eq!(failed.len(), 1, "{kind}: {checks:?}");
        assert!(failed[0].detail.contains("403"), "{kind}: {:?}", failed[0]);
        assert!(
            failed[0].detail.contains("Compan") || failed[0].detail.contains("customers"),
            "{kind}: {:?}",
            failed[0]
        );
    }
}

#[tokio::test]
async fn addresses_inside_the_network_are_refused_unless_allowed() {
    let fake = started(FakeKind::ConnectWise).await;
    let secret = fake.credentials().secret;
    let client = PsaClient::new(
        connection(PsaKind::ConnectWise, &fake, &secret),
        Arc::new(Destinations::public_only()),
    )
    .unwrap();
    let error = client.companies("", 1).await.unwrap_err();
    assert!(matches!(error, PsaError::Destination { .. }), "{error}");
    assert!(fake.requests().is_empty());
}

#[test]
fn settings_name_what_is_missing() {
    let connection = Connection {
        kind: PsaKind::Autotask,
        url: "https://webservices.autotask.net".into(),
        identity: Identity::default(),
        secret: SecretString::from("x".to_owned()),
        tickets: TicketSettings::defaults(PsaKind::Autotask),
    };
    let error = PsaClient::new(connection, loopback()).unwrap_err();
    assert!(error.to_string().contains("--username"), "{error}");
    assert_eq!("halopsa".parse::<PsaKind>(), Ok(PsaKind::HaloPsa));
    assert!("jira".parse::<PsaKind>().is_err());
    let defaults = TicketSettings::defaults(PsaKind::ConnectWise);
    assert_eq!(defaults.min_severity, Severity::High);
    assert_eq!(
        defaults.priority(Severity::Critical),
        "Priority 1 - Emergency Response"
    );
    assert_eq!(
        defaults.priority(Severity::Info),
        defaults.priority(Severity::Low)
    );
}
