//! HaloPSA REST API: an OAuth 2.0 client-credentials token from the authorisation server
//! (`{auth}/token`), then `{resource}/api/...` with it. Tickets and actions are created and
//! updated by `POST`ing an array (`[{...}]`, with `id` to update); lists come wrapped
//! (`{"record_count", "clients": [...]}`, `"tickets"`, `"actions"`) and page with `pageinate`,
//! `page_size` and `page_no`.

use std::time::{Duration, Instant};

use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};
use tokio::sync::Mutex;

use crate::http::{Http, check_line, id_of, numeric, setting_number};
use crate::{CheckLine, Company, Connection, NewTicket, PsaError, Ticket, TicketSettings};

/// A token is renewed this long before it expires.
const RENEW_BEFORE: Duration = Duration::from_secs(60);

#[derive(Debug)]
pub(crate) struct HaloPsa {
    api: String,
    token_url: String,
    client_id: String,
    secret: SecretString,
    token: Mutex<Option<(SecretString, Instant)>>,
    team: String,
    closed_status: String,
}

impl HaloPsa {
    pub(crate) fn new(c: &Connection) -> Result<Self, PsaError> {
        let id = &c.identity;
        for (value, flag) in [(&id.client_id, "--client-id"), (&id.auth_url, "--auth-url")] {
            if value.trim().is_empty() {
                return Err(PsaError::Settings(format!(
                    "HaloPSA needs {flag} (see docs/operations.md, PSA)"
                )));
            }
        }
        // `{auth}/token`, keeping a `?tenant=` a hosted instance needs.
        let mut token_url = url::Url::parse(id.auth_url.trim())
            .map_err(|_| PsaError::Settings("--auth-url is not a URL".into()))?;
        let path = format!("{}/token", token_url.path().trim_end_matches('/'));
        token_url.set_path(&path);
        let resource = c.url.trim_end_matches('/');
        let api = if resource.ends_with("/api") {
            resource.to_owned()
        } else {
            format!("{resource}/api")
        };
        Ok(HaloPsa {
            api,
            token_url: token_url.to_string(),
            client_id: id.client_id.trim().to_owned(),
            secret: c.secret.clone(),
            token: Mutex::new(None),
            team: c.tickets.board.clone(),
            closed_status: c.tickets.closed_status.clone(),
        })
    }

    async fn token(&self, http: &Http) -> Result<SecretString, PsaError> {
        let mut token = self.token.lock().await;
        if let Some((value, until)) = token.as_ref()
            && Instant::now() + RENEW_BEFORE < *until
        {
            return Ok(value.clone());
        }
        let what = "get a token";
        let url = http.url(what, &self.token_url)?;
        let request = http.client().post(url).form(&[
            ("grant_type", "client_credentials"),
            ("client_id", self.client_id.as_str()),
            ("client_secret", self.secret.expose_secret()),
            ("scope", "all"),
        ]);
        let (answer, _) = http.send(what, request, message).await?;
        let value = answer["access_token"]
            .as_str()
            .ok_or_else(|| PsaError::unexpected(what, "no access_token"))?;
        let lifetime = Duration::from_secs(answer["expires_in"].as_u64().unwrap_or(3600));
        let value = SecretString::from(value.to_owned());
        *token = Some((value.clone(), Instant::now() + lifetime));
        Ok(value)
    }

    async fn call(
        &self,
        http: &Http,
        what: &str,
        method: reqwest::Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<Value>,
    ) -> Result<Value, PsaError> {
        let token = self.token(http).await?;
        let url = http.url(what, &format!("{}{path}", self.api))?;
        let mut request = http
            .client()
            .request(method, url)
            .query(query)
            .bearer_auth(token.expose_secret())
            .header(reqwest::header::ACCEPT, "application/json");
        if let Some(body) = body {
            request = request.json(&body);
        }
        match http.send(what, request, message).await {
            Ok((answer, _)) => Ok(answer),
            Err(error) => {
                if error.status() == Some(401) {
                    // Revoked or expired early: the next call asks for a new one.
                    *self.token.lock().await = None;
                }
                Err(error)
            }
        }
    }

    pub(crate) async fn check(&self, http: &Http, c: &Connection) -> Vec<CheckLine> {
        let mut lines = Vec::new();
        let token = self.token(http).await;
        let signed_in = token.is_ok();
        lines.push(check_line(
            "get a token (client credentials)",
            token.map(|_| "ok".to_owned()),
            "check --auth-url, --client-id and the secret; the API application must use Client ID and Secret (Services)",
        ));
        if !signed_in {
            return lines;
        }
        lines.push(check_line(
            "read clients",
            self.companies(http, "", 1)
                .await
                .map(|c| format!("{} or more", c.len())),
            "give the API application the read:customers permission",
        ));
        lines.push(check_line(
            "read tickets",
            self.call(
                http,
                "read tickets",
                reqwest::Method::GET,
                "/Tickets",
                &[("count", "1".into())],
                None,
            )
            .await
            .map(|_| "ok".to_owned()),
            "give the API application the edit:tickets permission",
        ));
        if !c.tickets.ticket_type.is_empty() {
            lines.push(check_line(
                "find the ticket type",
                self.call(
                    http,
                    "find the ticket type",
                    reqwest::Method::GET,
                    &format!("/TicketType/{}", c.tickets.ticket_type),
                    &[],
                    None,
                )
                .await
                .map(|t| format!("{:?}", t["name"].as_str().unwrap_or("?"))),
                "name an existing ticket type id with --ticket-type",
            ));
        }
        lines
    }

    pub(crate) async fn companies(
        &self,
        http: &Http,
        search: &str,
        limit: usize,
    ) -> Result<Vec<Company>, PsaError> {
        let mut query = vec![
            ("pageinate", "true".to_owned()),
            ("page_size", limit.clamp(1, 100).to_string()),
            ("page_no", "1".to_owned()),
        ];
        if !search.is_empty() {
            query.push(("search", search.to_owned()));
        }
        let answer = self
            .call(
                http,
                "list clients",
                reqwest::Method::GET,
                "/Client",
                &query,
                None,
            )
            .await?;
        answer["clients"]
            .as_array()
            .ok_or_else(|| PsaError::unexpected("list clients", "no clients"))?
            .iter()
            .take(limit)
            .map(|c| company_of(c, "list clients"))
            .collect()
    }

    pub(crate) async fn company(&self, http: &Http, id: &str) -> Result<Company, PsaError> {
        let id = numeric("HaloPSA", "client", id)?;
        let c = self
            .call(
                http,
                "read the client",
                reqwest::Method::GET,
                &format!("/Client/{id}"),
                &[],
                None,
            )
            .await?;
        company_of(&c, "read the client")
    }

    pub(crate) async fn find_ticket(
        &self,
        http: &Http,
        company_id: &str,
        reference: &str,
    ) -> Result<Option<Ticket>, PsaError> {
        let client = numeric("HaloPSA", "client", company_id)?;
        let answer = self
            .call(
                http,
                "find the ticket",
                reqwest::Method::GET,
                "/Tickets",
                &[
                    ("client_id", client.to_owned()),
                    ("search", reference.to_owned()),
                    ("pageinate", "true".into()),
                    ("page_size", "50".into()),
                    ("page_no", "1".into()),
                ],
                None,
            )
            .await?;
        answer["tickets"]
            .as_array()
            .ok_or_else(|| PsaError::unexpected("find the ticket", "no tickets"))?
            .iter()
            .find(|t| t["summary"].as_str().is_some_and(|s| s.contains(reference)))
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
        let number = |value: &str, name: &str| setting_number("HaloPSA", name, value);
        let mut body = json!({
            "summary": ticket.title,
            "details": ticket.description,
            "client_id": number(ticket.company_id, "client id")?,
            "status_id": number(&settings.new_status, "status")?,
            "priority_id": number(settings.priority(ticket.severity), "priority")?,
        });
        if !settings.ticket_type.is_empty() {
            body["tickettype_id"] = number(&settings.ticket_type, "ticket type")?.into();
        }
        if !self.team.is_empty() {
            body["team"] = self.team.clone().into();
        }
        let created = self
            .call(
                http,
                what,
                reqwest::Method::POST,
                "/Tickets",
                &[],
                Some(json!([body])),
            )
            .await?;
        // One ticket posted: Halo answers with it (some versions wrap it in an array).
        let created = match &created {
            Value::Array(items) => items.first().cloned().unwrap_or(Value::Null),
            other => other.clone(),
        };
        self.ticket_of(&created, what)
    }

    pub(crate) async fn ticket(&self, http: &Http, id: &str) -> Result<Ticket, PsaError> {
        let id = numeric("HaloPSA", "ticket", id)?;
        let t = self
            .call(
                http,
                "read the ticket",
                reqwest::Method::GET,
                &format!("/Tickets/{id}"),
                &[],
                None,
            )
            .await?;
        self.ticket_of(&t, "read the ticket")
    }

    pub(crate) async fn add_note(
        &self,
        http: &Http,
        ticket_id: &str,
        text: &str,
    ) -> Result<(), PsaError> {
        let id: i64 = numeric("HaloPSA", "ticket", ticket_id)?
            .parse()
            .unwrap_or_default();
        self.call(
            http,
            "add a note",
            reqwest::Method::POST,
            "/Actions",
            &[],
            Some(json!([{
                "ticket_id": id,
                "note": text,
                "outcome": "Private Note",
                "hiddenfromuser": true,
            }])),
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
        let id = numeric("HaloPSA", "ticket", ticket_id)?;
        let answer = self
            .call(
                http,
                "read the actions",
                reqwest::Method::GET,
                "/Actions",
                &[("ticket_id", id.to_owned()), ("count", "10000".into())],
                None,
            )
            .await?;
        Ok(answer["actions"]
            .as_array()
            .ok_or_else(|| PsaError::unexpected("read the actions", "no actions"))?
            .iter()
            .any(|a| a["note"].as_str().is_some_and(|n| n.contains(reference))))
    }

    pub(crate) async fn set_status(
        &self,
        http: &Http,
        ticket_id: &str,
        status: &str,
    ) -> Result<(), PsaError> {
        let id: i64 = numeric("HaloPSA", "ticket", ticket_id)?
            .parse()
            .unwrap_or_default();
        let status = setting_number("HaloPSA", "status", status)?;
        self.call(
            http,
            "set the status",
            reqwest::Method::POST,
            "/Tickets",
            &[],
            Some(json!([{"id": id, "status_id": status}])),
        )
        .await?;
        Ok(())
    }

    fn ticket_of(&self, t: &Value, what: &str) -> Result<Ticket, PsaError> {
        let id =
            id_of(&t["id"]).ok_or_else(|| PsaError::unexpected(what, "a ticket without id"))?;
        Ok(Ticket {
            number: id.clone(),
            closed: id_of(&t["status_id"]).is_some_and(|s| s == self.closed_status),
            id,
        })
    }
}

/// Halo's error bodies: OAuth's `error_description`, a `message`, or plain text.
fn message(body: &Value, fallback: &str) -> String {
    body["error_description"]
        .as_str()
        .or_else(|| body["message"].as_str())
        .or_else(|| body["error"].as_str())
        .or_else(|| body.as_str())
        .unwrap_or(fallback)
        .to_owned()
}

fn company_of(c: &Value, what: &str) -> Result<Company, PsaError> {
    Ok(Company {
        id: id_of(&c["id"]).ok_or_else(|| PsaError::unexpected(what, "a client without id"))?,
        name: c["name"].as_str().unwrap_or_default().to_owned(),
    })
}
