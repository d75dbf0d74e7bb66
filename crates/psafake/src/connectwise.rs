//! ConnectWise Manage REST API 3.0, as far as tokenwatch uses it.

use axum::http::{Method, StatusCode};
use axum::response::Response;
use base64::Engine as _;
use serde_json::{Value, json};

use crate::{Call, Fake, FakeTicket, json};

const BOARDS: [&str; 2] = ["Service Board", "Security"];
const STATUSES: [&str; 5] = [
    "New",
    "In Progress",
    "Waiting on client",
    ">Closed",
    "Closed (resolved)",
];
const CLOSED: [&str; 2] = [">Closed", "Closed (resolved)"];
const PRIORITIES: [&str; 4] = [
    "Priority 1 - Emergency Response",
    "Priority 2 - Quick Response",
    "Priority 3 - Normal Response",
    "Priority 4 - Scheduled Maintenance",
];

pub(crate) fn handle(fake: &mut Fake, call: &Call) -> Response {
    let path: Vec<&str> = call.segments.iter().map(String::as_str).collect();
    let Some(rest) = path.strip_prefix(&["v4_6_release", "apis", "3.0"][..]) else {
        return error(StatusCode::NOT_FOUND, "NotFound", "no such API");
    };
    if call.header("clientId").is_none_or(str::is_empty) {
        return error(
            StatusCode::BAD_REQUEST,
            "InvalidRequest",
            "The clientId header is required: register an integration at developer.connectwise.com",
        );
    }
    let c = &fake.credentials;
    let expected = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD
            .encode(format!("{}+{}:{}", c.company_id, c.public_key, c.secret))
    );
    if call.header("authorization") != Some(expected.as_str()) {
        return error(
            StatusCode::UNAUTHORIZED,
            "NotAuthenticated",
            "Unable to authenticate the API member",
        );
    }
    match (&call.method, rest) {
        (&Method::GET, ["system", "info"]) => json(
            StatusCode::OK,
            json!({"version": "v2025.16.101234", "isCloud": true, "cloudRegion": "NA",
                   "serverTimeZone": "Eastern Standard Time"}),
        ),
        (&Method::GET, ["system", "members"]) => json(
            StatusCode::OK,
            json!([{"id": 176, "identifier": "tokenwatch", "firstName": "tokenwatch",
                    "lastName": "API"}]),
        ),
        (&Method::GET, ["company", "companies"]) => {
            if fake.denied.contains("companies") {
                return forbidden("Company Maintenance");
            }
            let conditions = conditions(call);
            let list: Vec<Value> = fake
                .companies
                .iter()
                .filter(|(id, name)| {
                    conditions.iter().all(|(field, op, value)| match *field {
                        "name" => matches(name, op, value),
                        "id" => id.to_string() == *value,
                        _ => false,
                    })
                })
                .map(|(id, name)| company(*id, name))
                .collect();
            json(StatusCode::OK, Value::Array(page(call, list)))
        }
        (&Method::GET, ["company", "companies", id]) => {
            if fake.denied.contains("companies") {
                return forbidden("Company Maintenance");
            }
            match id
                .parse::<u64>()
                .ok()
                .and_then(|id| fake.companies.get(&id).map(|n| (id, n)))
            {
                Some((id, name)) => json(StatusCode::OK, company(id, name)),
                None => not_found("Company", id),
            }
        }
        (&Method::GET, ["service", "boards"]) => {
            let conditions = conditions(call);
            let list: Vec<Value> = BOARDS
                .iter()
                .enumerate()
                .filter(|(_, name)| {
                    conditions
                        .iter()
                        .all(|(field, op, value)| *field == "name" && matches(name, op, value))
                })
                .map(|(i, name)| json!({"id": i + 1, "name": name}))
                .collect();
            json(StatusCode::OK, Value::Array(list))
        }
        (_, ["service", "tickets", ..]) if fake.denied.contains("tickets") => {
            forbidden("Service Tickets")
        }
        (&Method::GET, ["service", "tickets"]) => {
            let conditions = conditions(call);
            let list: Vec<Value> = fake
                .tickets
                .values()
                .filter(|t| {
                    conditions.iter().all(|(field, op, value)| match *field {
                        "company/id" => t.company_id.to_string() == *value,
                        "summary" => matches(&t.title, op, value),
                        "closedFlag" => t.closed.to_string() == *value,
                        _ => false,
                    })
                })
                .map(|t| ticket(fake, t))
                .collect();
            json(StatusCode::OK, Value::Array(page(call, list)))
        }
        (&Method::POST, ["service", "tickets"]) => create(fake, call),
        (&Method::GET, ["service", "tickets", id]) => match find(fake, id) {
            Some(t) => json(StatusCode::OK, ticket(fake, &t)),
            None => not_found("Ticket", id),
        },
        (&Method::PATCH, ["service", "tickets", id]) => {
            let Some(mut t) = find(fake, id) else {
                return not_found("Ticket", id);
            };
            let Some(ops) = call.json().and_then(|v| v.as_array().cloned()) else {
                return invalid("The request body must be a JSON Patch array", "patch");
            };
            for op in ops {
                let status = match op["path"].as_str().map(|p| p.trim_start_matches('/')) {
                    Some("status") => op["value"]["name"].as_str(),
                    Some("status/name") => op["value"].as_str(),
                    _ => return invalid("Only status may be patched here", "path"),
                };
                match status.filter(|s| STATUSES.contains(s)) {
                    Some(status) => {
                        t.status = status.to_owned();
                        t.closed = CLOSED.contains(&status);
                    }
                    None => return invalid("The status is not valid for this board", "status"),
                }
            }
            fake.tickets.insert(t.id, t.clone());
            json(StatusCode::OK, ticket(fake, &t))
        }
        (&Method::GET, ["service", "tickets", id, "notes"]) => match find(fake, id) {
            Some(t) => {
                let notes: Vec<Value> = t
                    .notes
                    .iter()
                    .enumerate()
                    .map(|(i, text)| {
                        json!({"id": i + 1, "ticketId": t.id, "text": text,
                               "internalAnalysisFlag": true})
                    })
                    .collect();
                json(StatusCode::OK, Value::Array(page(call, notes)))
            }
            None => not_found("Ticket", id),
        },
        (&Method::POST, ["service", "tickets", id, "notes"]) => {
            let Some(mut t) = find(fake, id) else {
                return not_found("Ticket", id);
            };
            let body = call.json().unwrap_or(Value::Null);
            let Some(text) = body["text"].as_str().filter(|t| !t.is_empty()) else {
                return invalid("The text field is required.", "text");
            };
            if !(body["detailDescriptionFlag"].as_bool() == Some(true)
                || body["internalAnalysisFlag"].as_bool() == Some(true)
                || body["resolutionFlag"].as_bool() == Some(true))
            {
                return invalid(
                    "One of detailDescriptionFlag, internalAnalysisFlag or resolutionFlag must be true.",
                    "internalAnalysisFlag",
                );
            }
            t.notes.push(text.to_owned());
            fake.tickets.insert(t.id, t.clone());
            json(
                StatusCode::CREATED,
                json!({"id": t.notes.len(), "ticketId": t.id, "text": text}),
            )
        }
        _ => error(StatusCode::NOT_FOUND, "NotFound", "no such endpoint"),
    }
}

fn create(fake: &mut Fake, call: &Call) -> Response {
    let body = call.json().unwrap_or(Value::Null);
    let summary = body["summary"].as_str().unwrap_or_default();
    if summary.is_empty() {
        return invalid("The summary field is required.", "summary");
    }
    if summary.chars().count() > 100 {
        return invalid("summary cannot be longer than 100 characters.", "summary");
    }
    let Some(company_id) = body["company"]["id"]
        .as_u64()
        .filter(|id| fake.companies.contains_key(id))
    else {
        return invalid("The company was not found.", "company");
    };
    let board = body["board"]["name"].as_str().unwrap_or_default();
    if !BOARDS.contains(&board) {
        return invalid("The board was not found.", "board");
    }
    let status = body["status"]["name"].as_str().unwrap_or("New");
    if !STATUSES.contains(&status) {
        return invalid("The status is not valid for this board.", "status");
    }
    let priority = body["priority"]["name"]
        .as_str()
        .unwrap_or("Priority 3 - Normal Response");
    if !PRIORITIES.contains(&priority) {
        return invalid("The priority was not found.", "priority");
    }
    let created = fake.new_ticket(FakeTicket {
        id: 0,
        number: String::new(),
        company_id,
        title: summary.to_owned(),
        description: body["initialDescription"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
        status: status.to_owned(),
        priority: priority.to_owned(),
        board: board.to_owned(),
        closed: CLOSED.contains(&status),
        notes: Vec::new(),
    });
    json(StatusCode::CREATED, ticket(fake, &created))
}

fn find(fake: &Fake, id: &str) -> Option<FakeTicket> {
    id.parse::<u64>()
        .ok()
        .and_then(|id| fake.tickets.get(&id).cloned())
}

fn ticket(fake: &Fake, t: &FakeTicket) -> Value {
    json!({
        "id": t.id,
        "summary": t.title,
        "board": {"id": 1, "name": t.board},
        "status": {"id": STATUSES.iter().position(|s| *s == t.status).unwrap_or(0) + 1,
                   "name": t.status},
        "priority": {"name": t.priority},
        "company": {"id": t.company_id,
                    "name": fake.companies.get(&t.company_id).cloned().unwrap_or_default()},
        "closedFlag": t.closed,
    })
}

fn company(id: u64, name: &str) -> Value {
    json!({"id": id, "identifier": name.replace(' ', ""), "name": name})
}

/// `conditions` as (field, operator, value): `a=1`, `a="x"`, `a like "%x%"`, `a contains "x"`,
/// joined by `AND`.
fn conditions(call: &Call) -> Vec<(&str, &'static str, String)> {
    let Some(text) = call.query("conditions") else {
        return Vec::new();
    };
    text.split(" AND ")
        .filter_map(|clause| {
            let clause = clause.trim();
            let (field, op, value) = if let Some((f, v)) = clause.split_once(" like ") {
                (f, "like", v)
            } else if let Some((f, v)) = clause.split_once(" contains ") {
                (f, "contains", v)
            } else {
                let (f, v) = clause.split_once('=')?;
                (f, "=", v)
            };
            let value = value
                .trim()
                .trim_matches('"')
                .replace("\\\"", "\"")
                .replace("\\\\", "\\");
            Some((field.trim(), op, value))
        })
        .collect()
}

fn matches(text: &str, op: &str, value: &str) -> bool {
    match op {
        "like" => text
            .to_lowercase()
            .contains(&value.trim_matches('%').to_lowercase()),
        "contains" => text.to_lowercase().contains(&value.to_lowercase()),
        _ => text == value,
    }
}

/// `page` (from 1) of `pageSize` (25 by default, 1000 at most).
fn page(call: &Call, list: Vec<Value>) -> Vec<Value> {
    let size = call
        .query("pageSize")
        .and_then(|s| s.parse::<usize>().ok())
        .unwrap_or(25)
        .clamp(1, 1000);
    let page = call
        .query("page")
        .and_then(|s| s.parse::<usize>().ok())
        .unwrap_or(1)
        .max(1);
    list.into_iter()
        .skip((page - 1) * size)
        .take(size)
        .collect()
}

fn error(status: StatusCode, code: &str, message: &str) -> Response {
    json(status, json!({"code": code, "message": message}))
}

fn invalid(message: &str, field: &str) -> Response {
    json(
        StatusCode::BAD_REQUEST,
        json!({"code": "InvalidObject", "message": "ticket object is invalid",
               "errors": [{"code": "InvalidField", "message": message, "resource": "ticket",
                           "field": field}]}),
    )
}

fn not_found(what: &str, id: &str) -> Response {
    error(
        StatusCode::NOT_FOUND,
        "NotFound",
        &format!("{what} Id {id} not found"),
    )
}

fn forbidden(module: &str) -> Response {
    error(
        StatusCode::FORBIDDEN,
        "Unauthorized",
        &format!("You do not have permission to access the {module} module"),
    )
}
