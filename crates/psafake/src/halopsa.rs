//! HaloPSA's authorisation server and REST API, as far as tokenwatch uses them.

use axum::http::{Method, StatusCode};
use axum::response::Response;
use serde_json::{Value, json};

use crate::{Call, Fake, FakeTicket, empty, json};

/// Stock statuses (1 New, 2 In Progress, 9 Closed) and priorities (1..4).
const STATUSES: [&str; 3] = ["1", "2", "9"];
const CLOSED: &str = "9";
const PRIORITIES: [&str; 4] = ["1", "2", "3", "4"];
const TICKET_TYPES: [(&str, &str); 3] = [("1", "Incident"), ("3", "Problem"), ("21", "Alert")];

pub(crate) fn handle(fake: &mut Fake, call: &Call) -> Response {
    let path: Vec<&str> = call.segments.iter().map(String::as_str).collect();
    if let (&Method::POST, ["auth", "token"]) = (&call.method, path.as_slice()) {
        return token(fake, call);
    }
    let Some(rest) = path.strip_prefix(&["api"][..]) else {
        return empty(StatusCode::NOT_FOUND);
    };
    let authorized = call
        .header("authorization")
        .and_then(|h| h.strip_prefix("Bearer "))
        .is_some_and(|token| fake.tokens.contains(token));
    if !authorized {
        return empty(StatusCode::UNAUTHORIZED);
    }
    let rest: Vec<String> = rest.iter().map(|s| s.to_ascii_lowercase()).collect();
    let rest: Vec<&str> = rest.iter().map(String::as_str).collect();
    match (&call.method, rest.as_slice()) {
        (_, ["client", ..]) if fake.denied.contains("companies") => forbidden("read:customers"),
        (_, ["tickets", ..] | ["actions", ..]) if fake.denied.contains("tickets") => {
            forbidden("edit:tickets")
        }
        (&Method::GET, ["client"]) => {
            let search = call.query("search").unwrap_or_default().to_lowercase();
            let clients: Vec<Value> = fake
                .companies
                .iter()
                .filter(|(_, name)| name.to_lowercase().contains(&search))
                .map(|(id, name)| json!({"id": id, "name": name, "inactive": false}))
                .collect();
            list(fake, call, "clients", clients)
        }
        (&Method::GET, ["client", id]) => {
            match id
                .parse::<u64>()
                .ok()
                .and_then(|id| fake.companies.get(&id).map(|n| (id, n)))
            {
                Some((id, name)) => json(StatusCode::OK, json!({"id": id, "name": name})),
                None => message(StatusCode::NOT_FOUND, "Client not found"),
            }
        }
        (&Method::GET, ["tickettype", id]) => match TICKET_TYPES.iter().find(|(i, _)| i == id) {
            Some((id, name)) => json(
                StatusCode::OK,
                json!({"id": id.parse::<u64>().unwrap_or(0), "name": name}),
            ),
            None => message(StatusCode::NOT_FOUND, "Ticket type not found"),
        },
        (&Method::GET, ["tickets"]) => {
            let client = call.query("client_id").and_then(|c| c.parse::<u64>().ok());
            let search = call.query("search").unwrap_or_default().to_lowercase();
            let tickets: Vec<Value> = fake
                .tickets
                .values()
                .filter(|t| client.is_none_or(|c| t.company_id == c))
                .filter(|t| t.title.to_lowercase().contains(&search))
                .map(ticket)
                .collect();
            list(fake, call, "tickets", tickets)
        }
        (&Method::GET, ["tickets", id]) => {
            match id.parse::<u64>().ok().and_then(|id| fake.tickets.get(&id)) {
                Some(t) => json(StatusCode::OK, ticket(t)),
                None => message(StatusCode::NOT_FOUND, "Ticket not found"),
            }
        }
        (&Method::POST, ["tickets"]) => {
            let Some(items) = call.json().and_then(|v| v.as_array().cloned()) else {
                return message(StatusCode::BAD_REQUEST, "Post an array of tickets");
            };
            let mut saved = Vec::new();
            for item in items {
                match save_ticket(fake, &item) {
                    Ok(t) => saved.push(ticket(&t)),
                    Err(problem) => return message(StatusCode::BAD_REQUEST, problem),
                }
            }
            if saved.len() == 1 {
                json(StatusCode::CREATED, saved.remove(0))
            } else {
                json(StatusCode::CREATED, Value::Array(saved))
            }
        }
        (&Method::GET, ["actions"]) => {
            let id = call.query("ticket_id").and_then(|c| c.parse::<u64>().ok());
            let actions: Vec<Value> = fake
                .tickets
                .values()
                .filter(|t| id.is_none_or(|id| t.id == id))
                .flat_map(|t| {
                    t.notes.iter().enumerate().map(move |(i, note)| {
                        json!({"id": i + 1, "ticket_id": t.id, "note": note,
                               "outcome": "Private Note", "hiddenfromuser": true})
                    })
                })
                .collect();
            let count = call
                .query("count")
                .and_then(|c| c.parse::<usize>().ok())
                .unwrap_or(actions.len());
            let total = actions.len();
            json(
                StatusCode::OK,
                json!({"record_count": total,
                       "actions": actions.into_iter().take(count).collect::<Vec<_>>()}),
            )
        }
        (&Method::POST, ["actions"]) => {
            let Some(items) = call.json().and_then(|v| v.as_array().cloned()) else {
                return message(StatusCode::BAD_REQUEST, "Post an array of actions");
            };
            let mut saved = Vec::new();
            for item in items {
                let Some(mut t) = item["ticket_id"]
                    .as_u64()
                    .and_then(|id| fake.tickets.get(&id).cloned())
                else {
                    return message(StatusCode::BAD_REQUEST, "ticket_id is not a ticket");
                };
                let note = item["note"].as_str().unwrap_or_default();
                t.notes.push(note.to_owned());
                fake.tickets.insert(t.id, t.clone());
                saved.push(json!({"id": t.notes.len(), "ticket_id": t.id, "note": note}));
            }
            json(StatusCode::CREATED, saved.pop().unwrap_or(Value::Null))
        }
        _ => empty(StatusCode::NOT_FOUND),
    }
}

fn token(fake: &mut Fake, call: &Call) -> Response {
    let form: std::collections::HashMap<String, String> = url::form_urlencoded::parse(&call.body)
        .into_owned()
        .collect();
    let field = |k: &str| form.get(k).map(String::as_str).unwrap_or_default();
    if field("grant_type") != "client_credentials" {
        return json(
            StatusCode::BAD_REQUEST,
            json!({"error": "unsupported_grant_type"}),
        );
    }
    if field("client_id") != fake.credentials.client_id
        || field("client_secret") != fake.credentials.secret
    {
        return json(
            StatusCode::BAD_REQUEST,
            json!({"error": "invalid_client", "error_description": "Invalid client credentials"}),
        );
    }
    let token = uuid::Uuid::new_v4().simple().to_string();
    fake.tokens.insert(token.clone());
    json(
        StatusCode::OK,
        json!({"access_token": token, "token_type": "Bearer", "expires_in": 3600,
               "scope": field("scope")}),
    )
}

/// Creates a ticket, or updates the one whose `id` is given.
fn save_ticket(fake: &mut Fake, item: &Value) -> Result<FakeTicket, &'static str> {
    let text = |v: &Value| match v {
        Value::Number(n) => Some(n.to_string()),
        Value::String(s) => Some(s.clone()),
        _ => None,
    };
    let status = text(&item["status_id"]);
    if let Some(status) = &status
        && !STATUSES.contains(&status.as_str())
    {
        return Err("status_id is not a status");
    }
    if let Some(id) = item["id"].as_u64().filter(|id| *id > 0) {
        let Some(mut t) = fake.tickets.get(&id).cloned() else {
            return Err("Ticket not found");
        };
        if let Some(status) = status {
            t.closed = status == CLOSED;
            t.status = status;
        }
        fake.tickets.insert(id, t.clone());
        return Ok(t);
    }
    let summary = item["summary"].as_str().unwrap_or_default();
    if summary.is_empty() {
        return Err("summary is required");
    }
    let Some(client) = item["client_id"]
        .as_u64()
        .filter(|c| fake.companies.contains_key(c))
    else {
        return Err("client_id is not a client");
    };
    let priority = text(&item["priority_id"]).unwrap_or_else(|| "3".into());
    if !PRIORITIES.contains(&priority.as_str()) {
        return Err("priority_id is not a priority");
    }
    if let Some(kind) = text(&item["tickettype_id"])
        && !TICKET_TYPES.iter().any(|(id, _)| *id == kind)
    {
        return Err("tickettype_id is not a ticket type");
    }
    let status = status.unwrap_or_else(|| "1".into());
    Ok(fake.new_ticket(FakeTicket {
        id: 0,
        number: String::new(),
        company_id: client,
        title: summary.to_owned(),
        description: item["details"].as_str().unwrap_or_default().to_owned(),
        closed: status == CLOSED,
        status,
        priority,
        board: item["team"].as_str().unwrap_or_default().to_owned(),
        notes: Vec::new(),
    }))
}

fn ticket(t: &FakeTicket) -> Value {
    json!({
        "id": t.id,
        "summary": t.title,
        "details": t.description,
        "client_id": t.company_id,
        "status_id": t.status.parse::<u64>().unwrap_or(0),
        "priority_id": t.priority.parse::<u64>().unwrap_or(0),
        "team": t.board,
    })
}

/// A list page: `pageinate=true` with `page_size` and `page_no`, else everything.
fn list(fake: &Fake, call: &Call, key: &str, items: Vec<Value>) -> Response {
    let total = items.len();
    let paged = call.query("pageinate") == Some("true");
    let size = if paged {
        call.query("page_size")
            .and_then(|s| s.parse::<usize>().ok())
            .unwrap_or(50)
            .min(fake.page_size.max(1))
    } else {
        total.max(1)
    };
    let page = call
        .query("page_no")
        .and_then(|s| s.parse::<usize>().ok())
        .unwrap_or(1)
        .max(1);
    let items: Vec<Value> = items
        .into_iter()
        .skip((page - 1) * size)
        .take(size)
        .collect();
    json(
        StatusCode::OK,
        json!({"page_no": page, "page_size": size, "record_count": total, key: items}),
    )
}

fn message(status: StatusCode, text: &str) -> Response {
    json(status, json!({"message": text}))
}

fn forbidden(scope: &str) -> Response {
    message(
        StatusCode::FORBIDDEN,
        &format!("The application does not have the {scope} permission"),
    )
}
