//! The MSP's PSA: ConnectWise Manage, Autotask and HaloPSA through their REST APIs, and what
//! tokenwatch writes in their tickets.
//!
//! One [`PsaClient`] speaks to one PSA with the same few operations whatever its kind: list
//! companies, find a ticket by the reference tokenwatch put in its title, open one, read
//! whether a technician closed it, add a note (and find one by its reference), set its status.
//! Every request goes through the operator's [`Destinations`]; no call is retried here: the
//! deliverer retries whole events, after checking the PSA for what an interrupted try did.
//!
//! # Layout
//!
//! - this file: the connection, the common types and errors, dispatch by kind;
//! - `http`: requests, bounded answers, and how a status becomes an error;
//! - `connectwise`, `autotask`, `halopsa`: each PSA's endpoints and shapes;
//! - `content`: the text of tickets and notes, and their references (pure);
//! - `plan`: what an event does to an incident's ticket (pure).

mod autotask;
mod connectwise;
pub mod content;
mod halopsa;
mod http;
pub mod plan;

use std::collections::BTreeMap;
use std::sync::Arc;

use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use tokenwatch_egress::Destinations;
use tokenwatch_types::Severity;

pub use crate::http::PsaError;

/// Which PSA.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PsaKind {
    /// ConnectWise Manage (ConnectWise PSA).
    ConnectWise,
    /// Autotask PSA (Datto/Kaseya).
    Autotask,
    /// HaloPSA.
    HaloPsa,
}

impl PsaKind {
    /// The name used in storage, the CLI and the API.
    pub fn as_str(self) -> &'static str {
        match self {
            PsaKind::ConnectWise => "connectwise",
            PsaKind::Autotask => "autotask",
            PsaKind::HaloPsa => "halopsa",
        }
    }
}

impl std::str::FromStr for PsaKind {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "connectwise" => Ok(PsaKind::ConnectWise),
            "autotask" => Ok(PsaKind::Autotask),
            "halopsa" => Ok(PsaKind::HaloPsa),
            other => Err(format!(
                "unknown PSA {other:?} (connectwise, autotask or halopsa)"
            )),
        }
    }
}

impl std::fmt::Display for PsaKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How to reach the PSA and sign in, less the secret: what is stored in the clear.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identity {
    /// ConnectWise: the company id you sign in with.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub company_id: String,
    /// ConnectWise: the API member's public key.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub public_key: String,
    /// ConnectWise: the integration's clientId; HaloPSA: the API application's client id.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub client_id: String,
    /// Autotask: the API user's username.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub username: String,
    /// Autotask: the API tracking identifier (`ApiIntegrationcode`).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub integration_code: String,
    /// HaloPSA: the authorisation server (`https://x.halopsa.com/auth`).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub auth_url: String,
}

/// How tickets are filed: which board or queue, type, statuses and priorities. Values are the
/// PSA's own: names for ConnectWise (board, type, status and priority names), numeric ids for
/// Autotask (queue, ticket type, status and priority picklist values) and HaloPSA (team name,
/// ticket type, status and priority ids).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TicketSettings {
    /// Incidents below this open no ticket.
    pub min_severity: Severity,
    /// ConnectWise board, Autotask queue id, HaloPSA team; empty: the PSA's default.
    #[serde(default)]
    pub board: String,
    /// ConnectWise type, Autotask ticket type, HaloPSA ticket type id; empty: the default.
    #[serde(default)]
    pub ticket_type: String,
    /// The status of a new (or reopened) ticket.
    pub new_status: String,
    /// The status a ticket is set to when every finding of its incident has a verdict.
    pub closed_status: String,
    /// The priority for each severity (`low`, `medium`, `high`, `critical`).
    pub priorities: BTreeMap<String, String>,
}

impl TicketSettings {
    /// Each kind's out-of-the-box values.
    pub fn defaults(kind: PsaKind) -> Self {
        let (new_status, closed_status, priorities, ticket_type): (&str, &str, [&str; 4], &str) =
            match kind {
                // A new ConnectWise board's statuses and the stock priorities.
                PsaKind::ConnectWise => (
                    "New",
                    ">Closed",
                    [
                        "Priority 4 - Scheduled Maintenance",
                        "Priority 3 - Normal Response",
                        "Priority 2 - Quick Response",
                        "Priority 1 - Emergency Response",
                    ],
                    "",
                ),
                // Autotask's Status picklist (1 New, 5 Complete), Priority (3 Low, 2 Medium,
                // 1 High, 4 Critical), ticket type 2 (Incident).
                PsaKind::Autotask => ("1", "5", ["3", "2", "1", "4"], "2"),
                // HaloPSA's stock statuses (1 New, 9 Closed), priorities P4..P1 (4..1), and
                // ticket type 1 (Incident).
                PsaKind::HaloPsa => ("1", "9", ["4", "3", "2", "1"], "1"),
            };
        TicketSettings {
            min_severity: Severity::High,
            board: match kind {
                PsaKind::ConnectWise => "Service Board".to_owned(),
                _ => String::new(),
            },
            ticket_type: ticket_type.to_owned(),
            new_status: new_status.to_owned(),
            closed_status: closed_status.to_owned(),
            priorities: ["low", "medium", "high", "critical"]
                .into_iter()
                .zip(priorities)
                .map(|(s, p)| (s.to_owned(), p.to_owned()))
                .collect(),
        }
    }

    /// The priority for `severity` (an info finding files as low).
    pub fn priority(&self, severity: Severity) -> &str {
        let key = match severity {
            Severity::Info | Severity::Low => "low",
            other => other.as_str(),
        };
        self.priorities.get(key).map(String::as_str).unwrap_or("")
    }
}

/// Everything needed to call the PSA.
#[derive(Debug, Clone)]
pub struct Connection {
    /// Which PSA.
    pub kind: PsaKind,
    /// Its API's base URL (ConnectWise: the site, `https://api-na.myconnectwise.net`; Autotask:
    /// where zone discovery is asked, `https://webservices.autotask.net`; HaloPSA: the resource
    /// server, `https://x.halopsa.com`).
    pub url: String,
    /// The identifiers.
    pub identity: Identity,
    /// The private key, secret or client secret.
    pub secret: SecretString,
    /// How tickets are filed.
    pub tickets: TicketSettings,
}

/// A company (ConnectWise), company/account (Autotask) or client (HaloPSA).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Company {
    /// Its id in the PSA.
    pub id: String,
    /// Its name.
    pub name: String,
}

/// A ticket as tokenwatch needs to know it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ticket {
    /// The PSA's id.
    pub id: String,
    /// What technicians see (Autotask's `T20261203.0001`; the id elsewhere).
    pub number: String,
    /// Closed (completed) in the PSA.
    pub closed: bool,
}

/// A ticket to open.
#[derive(Debug, Clone)]
pub struct NewTicket<'a> {
    /// The company it is for.
    pub company_id: &'a str,
    /// Its title, with tokenwatch's reference in it.
    pub title: &'a str,
    /// Its description.
    pub description: &'a str,
    /// Its severity (picks the priority).
    pub severity: Severity,
}

/// One line of a connection test.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CheckLine {
    /// What was tried.
    pub what: String,
    /// Whether it worked.
    pub ok: bool,
    /// What the PSA said, or what to do.
    pub detail: String,
}

/// A client for the connection's PSA.
#[derive(Debug, Clone)]
pub struct PsaClient {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    connection: Connection,
    http: http::Http,
    kind: Kind,
}

#[derive(Debug)]
enum Kind {
    ConnectWise(connectwise::ConnectWise),
    Autotask(autotask::Autotask),
    HaloPsa(halopsa::HaloPsa),
}

impl PsaClient {
    /// A client for `connection`, reaching only where `destinations` allow.
    pub fn new(connection: Connection, destinations: Arc<Destinations>) -> Result<Self, PsaError> {
        let http = http::Http::new(destinations)?;
        let kind = match connection.kind {
            PsaKind::ConnectWise => Kind::ConnectWise(connectwise::ConnectWise::new(&connection)?),
            PsaKind::Autotask => Kind::Autotask(autotask::Autotask::new(&connection)?),
            PsaKind::HaloPsa => Kind::HaloPsa(halopsa::HaloPsa::new(&connection)?),
        };
        Ok(PsaClient {
            inner: Arc::new(Inner {
                connection,
                http,
                kind,
            }),
        })
    }

    /// The connection it uses.
    pub fn connection(&self) -> &Connection {
        &self.inner.connection
    }

    /// Calls the PSA once for each thing tokenwatch needs and says what works.
    pub async fn check(&self) -> Vec<CheckLine> {
        let (http, c) = (&self.inner.http, &self.inner.connection);
        match &self.inner.kind {
            Kind::ConnectWise(k) => k.check(http, c).await,
            Kind::Autotask(k) => k.check(http, c).await,
            Kind::HaloPsa(k) => k.check(http, c).await,
        }
    }

    /// Companies whose name contains `search` (all when empty), up to `limit`.
    pub async fn companies(&self, search: &str, limit: usize) -> Result<Vec<Company>, PsaError> {
        let http = &self.inner.http;
        match &self.inner.kind {
            Kind::ConnectWise(k) => k.companies(http, search, limit).await,
            Kind::Autotask(k) => k.companies(http, search, limit).await,
            Kind::HaloPsa(k) => k.companies(http, search, limit).await,
        }
    }

    /// One company, by id.
    pub async fn company(&self, id: &str) -> Result<Company, PsaError> {
        let http = &self.inner.http;
        match &self.inner.kind {
            Kind::ConnectWise(k) => k.company(http, id).await,
            Kind::Autotask(k) => k.company(http, id).await,
            Kind::HaloPsa(k) => k.company(http, id).await,
        }
    }

    /// The company's ticket whose title carries `reference`, if any.
    pub async fn find_ticket(
        &self,
        company_id: &str,
        reference: &str,
    ) -> Result<Option<Ticket>, PsaError> {
        let http = &self.inner.http;
        match &self.inner.kind {
            Kind::ConnectWise(k) => k.find_ticket(http, company_id, reference).await,
            Kind::Autotask(k) => k.find_ticket(http, company_id, reference).await,
            Kind::HaloPsa(k) => k.find_ticket(http, company_id, reference).await,
        }
    }

    /// Opens a ticket.
    pub async fn create_ticket(&self, ticket: &NewTicket<'_>) -> Result<Ticket, PsaError> {
        let (http, c) = (&self.inner.http, &self.inner.connection.tickets);
        match &self.inner.kind {
            Kind::ConnectWise(k) => k.create_ticket(http, c, ticket).await,
            Kind::Autotask(k) => k.create_ticket(http, c, ticket).await,
            Kind::HaloPsa(k) => k.create_ticket(http, c, ticket).await,
        }
    }

    /// A ticket, by id.
    pub async fn ticket(&self, id: &str) -> Result<Ticket, PsaError> {
        let http = &self.inner.http;
        match &self.inner.kind {
            Kind::ConnectWise(k) => k.ticket(http, id).await,
            Kind::Autotask(k) => k.ticket(http, id).await,
            Kind::HaloPsa(k) => k.ticket(http, id).await,
        }
    }

    /// Adds a note, visible to technicians only.
    pub async fn add_note(&self, ticket_id: &str, text: &str) -> Result<(), PsaError> {
        let http = &self.inner.http;
        match &self.inner.kind {
            Kind::ConnectWise(k) => k.add_note(http, ticket_id, text).await,
            Kind::Autotask(k) => k.add_note(http, ticket_id, text).await,
            Kind::HaloPsa(k) => k.add_note(http, ticket_id, text).await,
        }
    }

    /// Whether the ticket has a note containing `reference`.
    pub async fn has_note(&self, ticket_id: &str, reference: &str) -> Result<bool, PsaError> {
        let http = &self.inner.http;
        match &self.inner.kind {
            Kind::ConnectWise(k) => k.has_note(http, ticket_id, reference).await,
            Kind::Autotask(k) => k.has_note(http, ticket_id, reference).await,
            Kind::HaloPsa(k) => k.has_note(http, ticket_id, reference).await,
        }
    }

    /// Sets the ticket's status (one of the settings' statuses).
    pub async fn set_status(&self, ticket_id: &str, status: &str) -> Result<(), PsaError> {
        let http = &self.inner.http;
        match &self.inner.kind {
            Kind::ConnectWise(k) => k.set_status(http, ticket_id, status).await,
            Kind::Autotask(k) => k.set_status(http, ticket_id, status).await,
            Kind::HaloPsa(k) => k.set_status(http, ticket_id, status).await,
        }
    }
}

#[cfg(test)]
mod tests;
