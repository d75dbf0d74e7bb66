//! ConnectWise Manage (ConnectWise PSA) REST API 3.0: `{site}/v4_6_release/apis/3.0`, Basic
//! authentication as `companyId+publicKey:privateKey` of an API member, and the integration's
//! `clientId` header on every request. Lists page with `page`/`pageSize` and filter with
//! `conditions`; errors are `{"code", "message", "errors": [{"code", "message", "field"}]}`.

use base64::Engine as _;
use reqwest::header::HeaderValue;
use secrecy::ExposeSecret;
use serde_json::{Value, json};

use crate::http::{Http, check_line, id_of, numeric};
use crate::{CheckLine, Company, Connection, NewTicket, PsaError, Ticket, TicketSettings};

/// Notes read per page when looking for one (ConnectWise's largest page).
const NOTES_PAGE: usize = 1000;

#[derive(Debug)]
pub(crate) struct ConnectWise {
    base: String,
    /// Marked sensitive: never printed.
    authorization: HeaderValue,
    client_id: String,
    board: String,
}

impl ConnectWise {
    pub(crate) fn new(c: &Connection) -> Result<Self, PsaError> {
        let id = &c.identity;
        for (value, flag) in [
            (&id.company_id, "--company-id"),
            (&id.public_key, "--public-key"),
            (&id.client_id, "--client-id"),
        ] {
            if value.trim().is_empty() {
                return Err(PsaError::Settings(format!(
                    "ConnectWise needs {flag} (see docs/operations.md, PSA)"
                )));
            }
        }
        let site = c.url.trim_end_matches('/');
        let base = if site.contains("/apis/3.0") {
            site.to_owned()
        } else {
            format!("{site}/v4_6_release/apis/3.0")
        };
        let credentials = format!(
            "{}+{}:{}",
            id.company_id.trim(),
            id.public_key.trim(),
            c.secret.expose_secret()
        );
        let mut authorization = HeaderValue::from_str(&format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(credentials)
        ))
        .map_err(|_| {
            PsaError::Settings("the ConnectWise keys hold characters a header cannot".into())
        })?;
        authorization.set_sensitive(true);
        Ok(ConnectWise {
            base,
            authorization,
            client_id: id.client_id.trim().to_owned(),
            board: c.tickets.board.clone(),
        })
    }

    fn request(
        &self,
        http: &Http,
        what: &str,
        method: reqwest::Method,
        path: &str,
        query: &[(&str, String)],
    ) -> Result<reqwest::RequestBuilder, PsaError> {
        let url = http.url(what, &format!("{}{path}", self.base))?;
        Ok(http
            .client()
            .request(method, url)
            .query(query)
            .header(reqwest::header::AUTHORIZATION, self.authorization.clone())
            .header("clientId", &self.client_id)
            .header(reqwest::header::ACCEPT, "application/json"))
    }

    async fn get(
        &self,
        http: &Http,
        what: &str,
        path: &str,
        query: &[(&str, String)],
    ) -> Result<Value, PsaError> {
        let request = self.request(http, what, reqwest::Method::GET, path, query)?;
        Ok(http.send(what, request, message).await?.0)
    }

    pub(crate) async fn check(&self, http: &Http, _c: &Connection) -> Vec<CheckLine> {
        let mut lines = Vec::new();
        let info = self.get(http, "sign in", "/system/info", &[]).await;
        let signed_in = info.is_ok();
        lines.push(check_line(
            "sign in (API member keys, clientId)",
            info.map(|v| format!("ConnectWise {}", v["version"].as_str().unwrap_or("?"))),
            "check --company-id, --public-key, the private key and --client-id",
        ));
        if !signed_in {
            return lines;
        }
        lines.push(check_line(
            "read companies",
            self.companies(http, "", 1)
                .await
                .map(|c| format!("{} or more", c.len())),
            "give the API member's security role Companies › Company Maintenance: Inquire",
        ));
        let board = self
            .get(
                http,
                "find the board",
                "/service/boards",
                &[
                    ("conditions", format!("name=\"{}\"", quote(&self.board))),
                    ("fields", "id,name".into()),
                ],
            )
            .await
            .and_then(|v| match v.as_array().map(Vec::len) {
                Some(0) => Err(PsaError::unexpected(
                    "find the board",
                    format!("no board named {:?}", self.board),
                )),
                _ => Ok(format!("board {:?}", self.board)),
            });
        lines.push(check_line(
            "read service boards",
            board,
            "name an existing board with --board, and give Service Desk › Service Tickets: Add, Edit, Inquire",
        ));
        lines.push(check_line(
            "look up members",
            self.get(
                http,
                "look up members",
                "/system/members",
                &[("pageSize", "1".into()), ("fields", "id,identifier".into())],
            )
            .await
            .map(|_| "ok".to_owned()),
            "give System › Member Maintenance: Inquire",
        ));
        lines
    }

    pub(crate) async fn companies(
        &self,
        http: &Http,
        search: &str,
        limit: usize,
    ) -> Result<Vec<Company>, PsaError> {
        let mut query = vec![
            ("fields", "id,identifier,name".to_owned()),
            ("orderBy", "name asc".to_owned()),
            ("pageSize", limit.clamp(1, 1000).to_string()),
        ];
        if !search.is_empty() {
            query.push(("conditions", format!("name like \"%{}%\"", quote(search))));
        }
        let list = self
            .get(http, "list companies", "/company/companies", &query)
            .await?;
        list.as_array()
            .ok_or_else(|| PsaError::unexpected("list companies", "not a list"))?
            .iter()
            .map(|c| company_of(c, "list companies"))
            .collect()
    }

    pub(crate) async fn company(&self, http: &Http, id: &str) -> Result<Company, PsaError> {
        let id = numeric("ConnectWise", "company", id)?;
        let c = self
            .get(
                http,
                "read the company",
                &format!("/company/companies/{id}"),
                &[],
            )
            .await?;
        company_of(&c, "read the company")
    }

    pub(crate) async fn find_ticket(
        &self,
        http: &Http,
        company_id: &str,
        reference: &str,
    ) -> Result<Option<Ticket>, PsaError> {
        let company = numeric("ConnectWise", "company", company_id)?;
        let list = self
            .get(
                http,
                "find the ticket",
                "/service/tickets",
                &[
                    (
                        "conditions",
                        format!(
                            "company/id={company} AND summary contains \"{}\"",
                            quote(reference)
                        ),
                    ),
                    ("fields", "id,summary,closedFlag".into()),
                    ("orderBy", "id asc".into()),
                    ("pageSize", "25".into()),
                ],
            )
            .await?;
        list.as_array()
            .ok_or_else(|| PsaError::unexpected("find the ticket", "not a list"))?
            .iter()
            .find(|t| t["summary"].as_str().is_some_and(|s| s.contains(reference)))
            .map(|t| ticket_of(t, "find the ticket"))
            .transpose()
    }

    pub(crate) async fn create_ticket(
        &self,
        http: &Http,
        settings: &TicketSettings,
        ticket: &NewTicket<'_>,
    ) -> Result<Ticket, PsaError> {
        let company: u64 = numeric("ConnectWise", "company", ticket.company_id)?
            .parse()
            .map_err(|_| PsaError::Settings("the ConnectWise company id is too large".into()))?;
        let mut body = json!({
            "summary": ticket.title,
            "initialDescription": ticket.description,
            "company": {"id": company},
            "board": {"name": self.board},
            "status": {"name": settings.new_status},
            "priority": {"name": settings.priority(ticket.severity)},
            "severity": match ticket.severity {
                tokenwatch_types::Severity::Critical | tokenwatch_types::Severity::High => "High",
                tokenwatch_types::Severity::Medium => "Medium",
                _ => "Low",
            },
            "impact": "Medium",
        });
        if !settings.ticket_type.is_empty() {
            body["type"] = json!({"name": settings.ticket_type});
        }
        let request = self
            .request(
                http,
                "open the ticket",
                reqwest::Method::POST,
                "/service/tickets",
                &[],
            )?
            .json(&body);
        let (created, _) = http.send("open the ticket", request, message).await?;
        ticket_of(&created, "open the ticket")
    }

    pub(crate) async fn ticket(&self, http: &Http, id: &str) -> Result<Ticket, PsaError> {
        let id = numeric("ConnectWise", "ticket", id)?;
        let t = self
            .get(
                http,
                "read the ticket",
                &format!("/service/tickets/{id}"),
                &[("fields", "id,summary,closedFlag".into())],
            )
            .await?;
        ticket_of(&t, "read the ticket")
    }

    pub(crate) async fn add_note(
        &self,
        http: &Http,
        ticket_id: &str,
        text: &str,
    ) -> Result<(), PsaError> {
        let id = numeric("ConnectWise", "ticket", ticket_id)?;
        let request = self
            .request(
                http,
                "add a note",
                reqwest::Method::POST,
                &format!("/service/tickets/{id}/notes"),
                &[],
            )?
            .json(&json!({
                "text": text,
                "detailDescriptionFlag": false,
                "internalAnalysisFlag": true,
                "resolutionFlag": false,
            }));
        http.send("add a note", request, message).await?;
        Ok(())
    }

    pub(crate) async fn has_note(
        &self,
        http: &Http,
        ticket_id: &str,
        reference: &str,
    ) -> Result<bool, PsaError> {
        let id = numeric("ConnectWise", "ticket", ticket_id)?;
        for page in 1.. {
            let notes = self
                .get(
                    http,
                    "read the notes",
                    &format!("/service/tickets/{id}/notes"),
                    &[
                        ("page", page.to_string()),
                        ("pageSize", NOTES_PAGE.to_string()),
                        ("fields", "id,text".into()),
                    ],
                )
                .await?;
            let notes = notes
                .as_array()
                .ok_or_else(|| PsaError::unexpected("read the notes", "not a list"))?;
            if notes
                .iter()
                .any(|n| n["text"].as_str().is_some_and(|t| t.contains(reference)))
            {
                return Ok(true);
            }
            if notes.len() < NOTES_PAGE {
                break;
            }
        }
        Ok(false)
    }

    pub(crate) async fn set_status(
        &self,
        http: &Http,
        ticket_id: &str,
        status: &str,
    ) -> Result<(), PsaError> {
        let id = numeric("ConnectWise", "ticket", ticket_id)?;
        let request = self
            .request(
                http,
                "set the status",
                reqwest::Method::PATCH,
                &format!("/service/tickets/{id}"),
                &[],
            )?
            .json(&json!([{"op": "replace", "path": "status", "value": {"name": status}}]));
        http.send("set the status", request, message).await?;
        Ok(())
    }
}

/// ConnectWise's error body: its message and each field's.
fn message(body: &Value, fallback: &str) -> String {
    let mut text = body["message"]
        .as_str()
        .map(str::to_owned)
        .or_else(|| body.as_str().map(str::to_owned))
        .unwrap_or_else(|| fallback.to_owned());
    if let Some(errors) = body["errors"].as_array() {
        for e in errors {
            if let Some(m) = e["message"].as_str() {
                text.push_str("; ");
                text.push_str(m);
            }
        }
    }
    text
}

/// A value inside a `conditions` string's double quotes.
fn quote(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"")
}

fn company_of(c: &Value, what: &str) -> Result<Company, PsaError> {
    Ok(Company {
        id: id_of(&c["id"]).ok_or_else(|| PsaError::unexpected(what, "a company without id"))?,
        name: c["name"].as_str().unwrap_or_default().to_owned(),
    })
}

fn ticket_of(t: &Value, what: &str) -> Result<Ticket, PsaError> {
    let id = id_of(&t["id"]).ok_or_else(|| PsaError::unexpected(what, "a ticket without id"))?;
    Ok(Ticket {
        number: id.clone(),
        id,
        closed: t["closedFlag"].as_bool().unwrap_or(false),
    })
}
