//! Autotask REST API v1.0, as far as tokenwatch uses it.

use axum::http::{Method, StatusCode};
use axum::response::Response;
use serde_json::{Value, json};

use crate::{Call, Fake, FakeTicket, empty, json};

/// Status picklist values, and the one that completes a ticket.
const STATUSES: [&str; 4] = ["1", "5", "7", "8"];
const COMPLETE: &str = "5";
/// Priority picklist values (1 High, 2 Medium, 3 Low, 4 Critical).
const PRIORITIES: [&str; 4] = ["1", "2", "3", "4"];
/// Queues that exist.
const QUEUES: [&str; 2] = ["29682833", "29683354"];

pub(crate) fn handle(fake: &mut Fake, call: &Call) -> Response {
    let path: Vec<&str> = call.segments.iter().map(String::as_str).collect();
    // Autotask's paths are case-sensitive in their root, not in entity names.
    let Some(rest) = path.strip_prefix(&["ATServicesRest", "V1.0"][..]) else {
        return errors(
            StatusCode::NOT_FOUND,
            "The requested resource does not exist.",
        );
    };
    if let (&Method::GET, ["zoneInformation"]) = (&call.method, rest) {
        return if call.query("user") == Some(fake.credentials.username.as_str()) {
            json(
                StatusCode::OK,
                json!({"zoneName": "Fake Zone", "url": format!("{}/ATServicesRest/", fake.url),
                       "webUrl": format!("{}/", fake.url), "ci": 0}),
            )
        } else {
            errors(
                StatusCode::NOT_FOUND,
                "Zone information could not be determined",
            )
        };
    }
    let c = &fake.credentials;
    if call.header("ApiIntegrationcode") != Some(c.integration_code.as_str())
        || call.header("UserName") != Some(c.username.as_str())
        || call.header("Secret") != Some(c.secret.as_str())
    {
        return empty(StatusCode::UNAUTHORIZED);
    }
    let rest: Vec<String> = rest.iter().map(|s| s.to_ascii_lowercase()).collect();
    let rest: Vec<&str> = rest.iter().map(String::as_str).collect();
    match (&call.method, rest.as_slice()) {
        (_, ["companies", ..]) if fake.denied.contains("companies") => forbidden(),
        (_, ["tickets", ..] | ["ticketnotes", ..]) if fake.denied.contains("tickets") => {
            forbidden()
        }
        (&Method::POST, ["companies", "query"]) => {
            let items: Vec<Value> = fake
                .companies
                .iter()
                .map(|(id, name)| json!({"id": id, "companyName": name, "isActive": true}))
                .collect();
            query(fake, call, "Companies", items)
        }
        (&Method::GET, ["companies", id]) => {
            let item = id
                .parse::<u64>()
                .ok()
                .and_then(|id| fake.companies.get(&id).map(|name| (id, name)))
                .map(|(id, name)| json!({"id": id, "companyName": name, "isActive": true}));
            json(StatusCode::OK, json!({"item": item}))
        }
        (&Method::GET, ["tickets", "entityinformation"]) => json(
            StatusCode::OK,
            json!({"info": {"name": "Ticket", "canCreate": true, "canUpdate": true,
                            "canQuery": true, "canDelete": false, "hasUserDefinedFields": true}}),
        ),
        (&Method::POST, ["tickets", "query"]) => {
            let items: Vec<Value> = fake.tickets.values().map(ticket).collect();
            query(fake, call, "Tickets", items)
        }
        (&Method::GET, ["tickets", id]) => {
            let item = id
                .parse::<u64>()
                .ok()
                .and_then(|id| fake.tickets.get(&id))
                .map(ticket);
            json(StatusCode::OK, json!({"item": item}))
        }
        (&Method::POST, ["tickets"]) => create(fake, call),
        (&Method::PATCH, ["tickets"]) => {
            let body = call.json().unwrap_or(Value::Null);
            let Some(mut t) = body["id"]
                .as_u64()
                .and_then(|id| fake.tickets.get(&id).cloned())
            else {
                return errors(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Ticket: the entity to update was not found",
                );
            };
            if let Some(status) = number(&body["status"]) {
                if !STATUSES.contains(&status.as_str()) {
                    return errors(
                        StatusCode::INTERNAL_SERVER_ERROR,
                        &format!("Value {status} does not exist in the status picklist."),
                    );
                }
                t.closed = status == COMPLETE;
                t.status = status;
            }
            fake.tickets.insert(t.id, t.clone());
            json(StatusCode::OK, json!({"itemId": t.id}))
        }
        (&Method::POST, ["tickets", id, "notes"]) => {
            let body = call.json().unwrap_or(Value::Null);
            let Some(mut t) = id
                .parse::<u64>()
                .ok()
                .and_then(|id| fake.tickets.get(&id).cloned())
            else {
                return errors(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Ticket: parent not found",
                );
            };
            let description = body["description"].as_str().unwrap_or_default();
            if description.is_empty()
                || number(&body["noteType"]).is_none()
                || number(&body["publish"]).is_none()
            {
                return errors(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "TicketNote: description, noteType and publish are required.",
                );
            }
            t.notes.push(description.to_owned());
            fake.tickets.insert(t.id, t.clone());
            json(StatusCode::OK, json!({"itemId": t.notes.len()}))
        }
        (&Method::POST, ["ticketnotes", "query"]) => {
            let items: Vec<Value> = fake
                .tickets
                .values()
                .flat_map(|t| {
                    t.notes.iter().enumerate().map(move |(i, text)| {
                        json!({"id": t.id * 1000 + i as u64, "ticketID": t.id,
                               "description": text, "noteType": 1, "publish": 1})
                    })
                })
                .collect();
            query(fake, call, "TicketNotes", items)
        }
        (
            &Method::GET,
            ["tickets", "query", "page"]
            | ["ticketnotes", "query", "page"]
            | ["companies", "query", "page"],
        ) => {
            // A next page: the filter and offset travel in the query string.
            let entity = rest[0];
            let items: Vec<Value> = match entity {
                "tickets" => fake.tickets.values().map(ticket).collect(),
                "companies" => fake
                    .companies
                    .iter()
                    .map(|(id, name)| json!({"id": id, "companyName": name}))
                    .collect(),
                _ => fake
                    .tickets
                    .values()
                    .flat_map(|t| {
                        t.notes.iter().enumerate().map(move |(i, text)| {
                            json!({"id": t.id * 1000 + i as u64, "ticketID": t.id,
                                   "description": text})
                        })
                    })
                    .collect(),
            };
            query(fake, call, entity, items)
        }
        _ => errors(
            StatusCode::NOT_FOUND,
            "The requested resource does not exist.",
        ),
    }
}

fn create(fake: &mut Fake, call: &Call) -> Response {
    let body = call.json().unwrap_or(Value::Null);
    let missing: Vec<&str> = ["companyID", "title", "status", "priority", "dueDateTime"]
        .into_iter()
        .filter(|field| body[field].is_null())
        .collect();
    if !missing.is_empty() {
        return errors(
            StatusCode::INTERNAL_SERVER_ERROR,
            &format!("Ticket: missing required fields: {}", missing.join(", ")),
        );
    }
    let Some(company_id) = body["companyID"]
        .as_u64()
        .filter(|id| fake.companies.contains_key(id))
    else {
        return errors(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Ticket: companyID does not reference an existing company.",
        );
    };
    let status = number(&body["status"]).unwrap_or_default();
    let priority = number(&body["priority"]).unwrap_or_default();
    if !STATUSES.contains(&status.as_str()) || !PRIORITIES.contains(&priority.as_str()) {
        return errors(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Ticket: status or priority is not a value of its picklist.",
        );
    }
    let queue = number(&body["queueID"]).unwrap_or_default();
    if !queue.is_empty() && !QUEUES.contains(&queue.as_str()) {
        return errors(
            StatusCode::INTERNAL_SERVER_ERROR,
            &format!("Value {queue} does not exist in the queueID picklist."),
        );
    }
    let title = body["title"].as_str().unwrap_or_default();
    if title.chars().count() > 255 {
        return errors(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Ticket: title is longer than 255.",
        );
    }
    let number = format!(
        "T{}.{:04}",
        chrono::Utc::now().format("%Y%m%d"),
        fake.tickets.len() + 1
    );
    let created = fake.new_ticket(FakeTicket {
        id: 0,
        number,
        company_id,
        title: title.to_owned(),
        description: body["description"].as_str().unwrap_or_default().to_owned(),
        closed: status == COMPLETE,
        status,
        priority,
        board: queue,
        notes: Vec::new(),
    });
    json(StatusCode::OK, json!({"itemId": created.id}))
}

fn ticket(t: &FakeTicket) -> Value {
    json!({
        "id": t.id,
        "ticketNumber": t.number,
        "companyID": t.company_id,
        "title": t.title,
        "description": t.description,
        "status": t.status.parse::<i64>().unwrap_or_default(),
        "priority": t.priority.parse::<i64>().unwrap_or_default(),
        "queueID": t.board.parse::<i64>().ok(),
        "completedDate": if t.closed { Some("2026-12-03T12:00:00Z") } else { None },
    })
}

/// Runs a query: the `filter` from the body (or, for a next page, the query string) over
/// `items`, `MaxRecords` (500 at most) per page, and a `nextPageUrl` while more remain.
fn query(fake: &Fake, call: &Call, entity: &str, items: Vec<Value>) -> Response {
    let (filter, offset, max) = if call.method == Method::GET {
        (
            call.query("search")
                .and_then(|s| serde_json::from_str::<Value>(s).ok())
                .unwrap_or(Value::Null),
            call.query("offset")
                .and_then(|s| s.parse().ok())
                .unwrap_or(0),
            call.query("max")
                .and_then(|s| s.parse().ok())
                .unwrap_or(500),
        )
    } else {
        let body = call.json().unwrap_or(Value::Null);
        let max = body["MaxRecords"].as_u64().unwrap_or(500).clamp(1, 500) as usize;
        (body, 0usize, max)
    };
    let Some(conditions) = filter["filter"].as_array() else {
        return errors(StatusCode::INTERNAL_SERVER_ERROR, "A query needs a filter.");
    };
    let matching: Vec<Value> = items
        .into_iter()
        .filter(|item| conditions.iter().all(|c| test(c, item)))
        .collect();
    let size = max.min(fake.page_size);
    let page: Vec<Value> = matching.iter().skip(offset).take(size).cloned().collect();
    let next = (offset + size < matching.len()).then(|| {
        let search = serde_json::json!({"filter": conditions}).to_string();
        format!(
            "{}/ATServicesRest/V1.0/{entity}/query/page?search={}&offset={}&max={max}",
            fake.url,
            url::form_urlencoded::byte_serialize(search.as_bytes()).collect::<String>(),
            offset + size
        )
    });
    json(
        StatusCode::OK,
        json!({"items": page, "pageDetails": {"count": page.len(), "requestCount": size,
                                               "prevPageUrl": null, "nextPageUrl": next}}),
    )
}

/// One condition of a filter: `eq`, `noteq`, `contains`, `beginsWith`, `exist`, and `and` /
/// `or` groups of `items`. Field names are case-insensitive, as Autotask's are.
fn test(condition: &Value, item: &Value) -> bool {
    let op = condition["op"]
        .as_str()
        .unwrap_or_default()
        .to_ascii_lowercase();
    let field = condition["field"].as_str().unwrap_or_default();
    let actual = item
        .as_object()
        .and_then(|o| o.iter().find(|(k, _)| k.eq_ignore_ascii_case(field)))
        .map(|(_, v)| v.clone())
        .unwrap_or(Value::Null);
    let text = |v: &Value| match v {
        Value::String(s) => s.to_lowercase(),
        Value::Null => String::new(),
        other => other.to_string(),
    };
    let wanted = text(&condition["value"]);
    match op.as_str() {
        "and" => condition["items"]
            .as_array()
            .is_some_and(|items| items.iter().all(|c| test(c, item))),
        "or" => condition["items"]
            .as_array()
            .is_some_and(|items| items.iter().any(|c| test(c, item))),
        "eq" => text(&actual) == wanted,
        "noteq" => text(&actual) != wanted,
        "contains" => text(&actual).contains(&wanted),
        "beginswith" => text(&actual).starts_with(&wanted),
        "exist" => !actual.is_null(),
        _ => false,
    }
}

fn number(value: &Value) -> Option<String> {
    match value {
        Value::Number(n) => Some(n.to_string()),
        Value::String(s) if s.parse::<i64>().is_ok() => Some(s.clone()),
        _ => None,
    }
}

fn errors(status: StatusCode, message: &str) -> Response {
    json(status, json!({"errors": [message]}))
}

fn forbidden() -> Response {
    errors(
        StatusCode::FORBIDDEN,
        "The logged in user does not have the permission to perform this operation.",
    )
}
