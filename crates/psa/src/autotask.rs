//! Autotask PSA REST API v1.0: the API user's zone found first (`zoneInformation`), then
//! `{zone}/V1.0/...` with the `ApiIntegrationcode`, `UserName` and `Secret` headers. Queries are
//! `POST {Entity}/query` with a `filter` of `{op, field, value}` (and `and` groups of `items`),
//! answered `{"items": [...], "pageDetails": {"nextPageUrl"}}`; a single entity comes as
//! `{"item": {...}}`, a creation as `{"itemId": n}`; errors are `{"errors": ["..."]}` (Autotask
//! answers a rejected value with 500, so such an answer is retried like an outage).

use reqwest::header::HeaderValue;
use secrecy::ExposeSecret;
use serde_json::{Value, json};
use tokio::sync::Mutex;

use crate::http::{Http, check_line, id_of, numeric, setting_number};
use crate::{CheckLine, Company, Connection, NewTicket, PsaError, Ticket, TicketSettings};

/// Pages followed at most when reading notes (500 each).
const MAX_PAGES: usize = 20;

#[derive(Debug)]
pub(crate) struct Autotask {
    discovery: String,
    username: String,
    integration_code: String,
    /// Marked sensitive: never printed.
    secret: HeaderValue,
    /// The zone's API base (`https://webservicesN.autotask.net/ATServicesRest/V1.0`), once
    /// discovered.
    zone: Mutex<Option<String>>,
    queue: String,
    closed_status: String,
}

impl Autotask {
    pub(crate) fn new(c: &Connection) -> Result<Self, PsaError> {
        let id = &c.identity;
        for (value, flag) in [
            (&id.username, "--username"),
            (&id.integration_code, "--integration-code"),
        ] {
            if value.trim().is_empty() {
                return Err(PsaError::Settings(format!(
                    "Autotask needs {flag} (see docs/operations.md, PSA)"
                )));
            }
        }
        let mut secret = HeaderValue::from_str(c.secret.expose_secret()).map_err(|_| {
            PsaError::Settings("the Autotask secret holds characters a header cannot".into())
        })?;
        secret.set_sensitive(true);
        Ok(Autotask {
            discovery: c.url.trim_end_matches('/').to_owned(),
            username: id.username.trim().to_owned(),
            integration_code: id.integration_code.trim().to_owned(),
            secret,
            zone: Mutex::new(None),
            queue: c.tickets.board.clone(),
            closed_status: c.tickets.closed_status.clone(),
        })
    }

    /// The zone's base URL, asked once.
    async fn zone(&self, http: &Http) -> Result<String, PsaError> {
        let mut zone = self.zone.lock().await;
        if let Some(base) = zone.as_ref() {
            return Ok(base.clone());
        }
        let what = "find the zone";
        let root = if self.discovery.contains("/ATServicesRest") {
            self.discovery.clone()
        } else {
            format!("{}/ATServicesRest", self.discovery)
        };
        let url = http.url(what, &format!("{root}/V1.0/zoneInformation"))?;
        let request = http
            .client()
            .get(url)
            .query(&[("user", &self.username)])
            .header(reqwest::header::ACCEPT, "application/json");
        let (info, _) = http.send(what, request, message).await?;
        let found = info["url"]
            .as_str()
            .ok_or_else(|| PsaError::unexpected(what, "no url in the zone information"))?;
        let base = format!("{}/V1.0", found.trim_end_matches('/'));
        // The zone must be somewhere the operator allows, like the URL they gave.
        http.url(what, &base)?;
        *zone = Some(base.clone());
        Ok(base)
    }

    async fn call(
        &self,
        http: &Http,
        what: &str,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value, PsaError> {
        let base = self.zone(http).await?;
        let url = if path.starts_with("http") {
            // A next-page URL the API gave.
            http.url(what, path)?
        } else {
            http.url(what, &format!("{base}{path}"))?
        };
        let mut request = http
            .client()
            .request(method, url)
            .header("ApiIntegrationcode", &self.integration_code)
            .header("UserName", &self.username)
            .header("Secret", self.secret.clone())
            .header(reqwest::header::ACCEPT, "application/json");
        if let Some(body) = body {
            request = request.json(&body);
        }
        Ok(http.send(what, request, message).await?.0)
    }

    async fn query(
        &self,
        http: &Http,
        what: &str,
        entity: &str,
        body: Value,
    ) -> Result<Vec<Value>, PsaError> {
        let mut page = self
            .call(
                http,
                what,
                reqwest::Method::POST,
                &format!("/{entity}/query"),
                Some(body),
            )
            .await?;
        let mut items = Vec::new();
        for _ in 0..MAX_PAGES {
            items.extend(
                page["items"]
                    .as_array()
                    .ok_or_else(|| PsaError::unexpected(what, "no items"))?
                    .iter()
                    .cloned(),
            );
            match page["pageDetails"]["nextPageUrl"].as_str() {
                Some(next) if !next.is_empty() => {
                    page = self
                        .call(http, what, reqwest::Method::GET, next, None)
                        .await?;
                }
                _ => break,
            }
        }
        Ok(items)
    }

    pub(crate) async fn check(&self, http: &Http, _c: &Connection) -> Vec<CheckLine> {
        let mut lines = Vec::new();
        let zone = self.zone(http).await;
        let found = zone.is_ok();
        lines.push(check_line(
            "find the API user's zone",
            zone,
            "check --url and --username",
        ));
        if !found {
            return lines;
        }
        let companies = self.companies(http, "", 1).await;
        let signed_in = !matches!(companies, Err(PsaError::Rejected { status: 401, .. }));
        lines.push(check_line(
            "sign in and read companies",
            companies.map(|c| format!("{} or more", c.len())),
            "check --username, --integration-code and the secret; the API user's security level needs CRM › Companies: View",
        ));
        if !signed_in {
            return lines;
        }
        let tickets = self
            .call(
                http,
                "ticket permissions",
                reqwest::Method::GET,
                "/Tickets/entityInformation",
                None,
            )
            .await
            .and_then(|info| {
                let info = &info["info"];
                let can = |key: &str| info[key].as_bool().unwrap_or(false);
                if can("canCreate") && can("canUpdate") && can("canQuery") {
                    Ok("create, update and query".to_owned())
                } else {
                    Err(PsaError::Rejected {
                        what: "ticket permissions".into(),
                        status: 403,
                        message: format!(
                            "create {}, update {}, query {}",
                            can("canCreate"),
                            can("canUpdate"),
                            can("canQuery")
                        ),
                    })
                }
            });
        lines.push(check_line(
            "create and update tickets",
            tickets,
            "the API user's security level needs Service Desk › Tickets: Add, Edit, View and Ticket Notes: Add",
        ));
        lines
    }

    pub(crate) async fn companies(
        &self,
        http: &Http,
        search: &str,
        limit: usize,
    ) -> Result<Vec<Company>, PsaError> {
        let filter = if search.is_empty() {
            json!([{"op": "exist", "field": "id"}])
        } else {
            json!([{"op": "contains", "field": "companyName", "value": search}])
        };
        let items = self
            .query(
                http,
                "list companies",
                "Companies",
                json!({
                    "MaxRecords": limit.clamp(1, 500),
                    "IncludeFields": ["id", "companyName"],
                    "filter": filter,
                }),
            )
            .await?;
        items
            .iter()
            .take(limit)
            .map(|c| company_of(c, "list companies"))
            .collect()
    }

    pub(crate) async fn company(&self, http: &Http, id: &str) -> Result<Company, PsaError> {
        let id = numeric("Autotask", "company", id)?;
        let answer = self
            .call(
                http,
                "read the company",
                reqwest::Method::GET,
                &format!("/Companies/{id}"),
                None,
            )
            .await?;
        if answer["item"].is_null() {
            return Err(PsaError::Rejected {
                what: "read the company".into(),
                status: 404,
                message: format!("no company {id}"),
            });
        }
        company_of(&answer["item"], "read the company")
    }

    pub(crate) async fn find_ticket(
        &self,
        http: &Http,
        company_id: &str,
        reference: &str,
    ) -> Result<Option<Ticket>, PsaError> {
        let company = numeric("Autotask", "company", company_id)?;
        let items = self
            .query(
                http,
                "find the ticket",
                "Tickets",
                json!({"filter": [{"op": "and", "items": [
                    {"op": "eq", "field": "companyID", "value": company},
                    {"op": "contains", "field": "title", "value": reference},
                ]}]}),
            )
            .await?;
        items
            .iter()
            .find(|t| t["title"].as_str().is_some_and(|s| s.contains(reference)))
            .map(|t| self.ticket_of(t, "find the ticket"))
            .transpose()
    }

    pub(crate) async fn create_ticket(
        &self,
        http: &Http,
        settings: &TicketSettings,
        ticket: &NewTicket<'_>,
    ) -> Result<Ticket, PsaError> {
        let what = "open the ticket";
        let number = |value: &str, name: &str| setting_number("Autotask", name, value);
        // Autotask requires a due date: the severity's usual response time.
        let hours = match ticket.severity {
            tokenwatch_types::Severity::Critical => 4,
            tokenwatch_types::Severity::High => 8,
            tokenwatch_types::Severity::Medium => 24,
            _ => 72,
        };
        let mut body = json!({
            "companyID": number(ticket.company_id, "company id")?,
            "title": ticket.title,
            "description": ticket.description,
            "status": number(&settings.new_status, "status")?,
            "priority": number(settings.priority(ticket.severity), "priority")?,
            "dueDateTime": (chrono::Utc::now() + chrono::Duration::hours(hours))
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        });
        if !settings.ticket_type.is_empty() {
            body["ticketType"] = number(&settings.ticket_type, "ticket type")?.into();
        }
        if !self.queue.is_empty() {
            body["queueID"] = number(&self.queue, "queue id")?.into();
        }
        let created = self
            .call(http, what, reqwest::Method::POST, "/Tickets", Some(body))
            .await?;
        let id =
            id_of(&created["itemId"]).ok_or_else(|| PsaError::unexpected(what, "no itemId"))?;
        // The number technicians see is assigned by Autotask: read it back.
        match self.ticket(http, &id).await {
            Ok(ticket) => Ok(ticket),
            Err(_) => Ok(Ticket {
                number: id.clone(),
                id,
                closed: false,
            }),
        }
    }

    pub(crate) async fn ticket(&self, http: &Http, id: &str) -> Result<Ticket, PsaError> {
        let id = numeric("Autotask", "ticket", id)?;
        let answer = self
            .call(
                http,
                "read the ticket",
                reqwest::Method::GET,
                &format!("/Tickets/{id}"),
                None,
            )
            .await?;
        if answer["item"].is_null() {
            return Err(PsaError::Rejected {
                what: "read the ticket".into(),
                status: 404,
                message: format!("no ticket {id}"),
            });
        }
        self.ticket_of(&answer["item"], "read the ticket")
    }

    pub(crate) async fn add_note(
        &self,
        http: &Http,
        ticket_id: &str,
        text: &str,
    ) -> Result<(), PsaError> {
        let id = numeric("Autotask", "ticket", ticket_id)?;
        // Note type 1 (Task Summary), published to all Autotask users (not the customer).
        self.call(
            http,
            "add a note",
            reqwest::Method::POST,
            &format!("/Tickets/{id}/Notes"),
            Some(json!({
                "ticketID": id.parse::<i64>().unwrap_or_default(),
                "title": "tokenwatch",
                "description": text,
                "noteType": 1,
                "publish": 1,
            })),
        )
        .await?;
        Ok(())
    }

    pub(crate) async fn has_note(
        &self,
        http: &Http,
        ticket_id: &str,
        reference: &str,
    ) -> Result<bool, PsaError> {
        let id = numeric("Autotask", "ticket", ticket_id)?;
        let notes = self
            .query(
                http,
                "read the notes",
                "TicketNotes",
                json!({"filter": [{"op": "eq", "field": "ticketID", "value": id}]}),
            )
            .await?;
        Ok(notes.iter().any(|n| {
            n["description"]
                .as_str()
                .is_some_and(|d| d.contains(reference))
        }))
    }

    pub(crate) async fn set_status(
        &self,
        http: &Http,
        ticket_id: &str,
        status: &str,
    ) -> Result<(), PsaError> {
        let id: i64 = numeric("Autotask", "ticket", ticket_id)?
            .parse()
            .unwrap_or_default();
        let status = setting_number("Autotask", "status", status)?;
        self.call(
            http,
            "set the status",
            reqwest::Method::PATCH,
            "/Tickets",
            Some(json!({"id": id, "status": status})),
        )
        .await?;
        Ok(())
    }

    fn ticket_of(&self, t: &Value, what: &str) -> Result<Ticket, PsaError> {
        let id =
            id_of(&t["id"]).ok_or_else(|| PsaError::unexpected(what, "a ticket without id"))?;
        let status = id_of(&t["status"]).unwrap_or_default();
        Ok(Ticket {
            number: t["ticketNumber"].as_str().unwrap_or(&id).to_owned(),
            closed: status == self.closed_status || !t["completedDate"].is_null(),
            id,
        })
    }
}

/// Autotask's error body: `{"errors": ["..."]}`.
fn message(body: &Value, fallback: &str) -> String {
    match body["errors"].as_array() {
        Some(errors) if !errors.is_empty() => errors
            .iter()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join("; "),
        _ => body
            .as_str()
            .map(str::to_owned)
            .unwrap_or_else(|| fallback.to_owned()),
    }
}

fn company_of(c: &Value, what: &str) -> Result<Company, PsaError> {
    Ok(Company {
        id: id_of(&c["id"]).ok_or_else(|| PsaError::unexpected(what, "a company without id"))?,
        name: c["companyName"].as_str().unwrap_or_default().to_owned(),
    })
}
