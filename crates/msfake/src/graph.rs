//! Microsoft Graph's user endpoints: revoke sessions, read and update a user, confirm a
//! compromise, list users; Graph's error bodies and permission checks.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::identity::authenticated;
use crate::{Fake, FakeUser, Shared, find_user};

/// Graph's error body.
pub(crate) fn graph_error(status: StatusCode, code: &str, message: &str) -> Response {
    let body = json!({
        "error": {
            "code": code,
            "message": message,
            "innerError": {
                "date": "2026-11-27T12:00:00",
                "request-id": uuid::Uuid::new_v4().to_string(),
                "client-request-id": uuid::Uuid::new_v4().to_string(),
            }
        }
    });
    (status, axum::Json(body)).into_response()
}

pub(crate) fn not_found(user: &str) -> Response {
    graph_error(
        StatusCode::NOT_FOUND,
        "Request_ResourceNotFound",
        &format!(
            "Resource '{user}' does not exist or one of its queried reference-property objects are not present."
        ),
    )
}

pub(crate) fn user_mut<'f>(
    fake: &'f mut Fake,
    tenant: &str,
    user: &str,
) -> Option<&'f mut FakeUser> {
    fake.users
        .get_mut(tenant)?
        .iter_mut()
        .find(|u| u.id == user || u.upn.eq_ignore_ascii_case(user))
}

pub(crate) async fn revoke(
    State(state): State<Shared>,
    Path(user): Path<String>,
    headers: HeaderMap,
) -> Response {
    let mut fake = state
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let tenant = match authenticated(&fake, &headers) {
        Ok(tenant) => tenant,
        Err(response) => return *response,
    };
    match user_mut(&mut fake, &tenant, &user) {
        Some(found) => {
            found.revocations += 1;
            axum::Json(json!({
                "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#Edm.Boolean",
                "value": true,
            }))
            .into_response()
        }
        None => not_found(&user),
    }
}

/// `GET /users/{id | userPrincipalName}` (`$select` is honoured for `id`, `userPrincipalName`
/// and `accountEnabled`).
pub(crate) async fn get_user(
    State(state): State<Shared>,
    Path(user): Path<String>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let fake = state
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let tenant = match authenticated(&fake, &headers) {
        Ok(tenant) => tenant,
        Err(response) => return *response,
    };
    let Some(found) = find_user(&fake, &tenant, &user) else {
        return not_found(&user);
    };
    let mut body = serde_json::Map::new();
    body.insert(
        "@odata.context".to_owned(),
        "https://graph.microsoft.com/v1.0/$metadata#users/$entity".into(),
    );
    let select = uri
        .query()
        .and_then(|q| q.split('&').find_map(|p| p.strip_prefix("$select=")))
        .unwrap_or("id,userPrincipalName,accountEnabled");
    for field in select.split(',') {
        match field {
            "id" => body.insert("id".to_owned(), found.id.clone().into()),
            "userPrincipalName" => {
                body.insert("userPrincipalName".to_owned(), found.upn.clone().into())
            }
            "accountEnabled" => {
                body.insert("accountEnabled".to_owned(), found.account_enabled.into())
            }
            _ => None,
        };
    }
    axum::Json(serde_json::Value::Object(body)).into_response()
}

pub(crate) async fn update_user(
    State(state): State<Shared>,
    Path(user): Path<String>,
    headers: HeaderMap,
    axum::Json(body): axum::Json<serde_json::Value>,
) -> Response {
    let mut fake = state
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let tenant = match authenticated(&fake, &headers) {
        Ok(tenant) => tenant,
        Err(response) => return *response,
    };
    let Some(found) = user_mut(&mut fake, &tenant, &user) else {
        return not_found(&user);
    };
    if let Some(enabled) = body
        .get("accountEnabled")
        .and_then(serde_json::Value::as_bool)
    {
        found.account_enabled = enabled;
    }
    StatusCode::NO_CONTENT.into_response()
}

pub(crate) async fn confirm_compromised(
    State(state): State<Shared>,
    headers: HeaderMap,
    axum::Json(body): axum::Json<serde_json::Value>,
) -> Response {
    let mut fake = state
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let tenant = match authenticated(&fake, &headers) {
        Ok(tenant) => tenant,
        Err(response) => return *response,
    };
    let Some(ids) = body.get("userIds").and_then(serde_json::Value::as_array) else {
        return graph_error(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            "The request body must contain userIds.",
        );
    };
    // Graph takes object ids here, not UPNs.
    for id in ids.iter().filter_map(serde_json::Value::as_str) {
        if let Some(found) = fake
            .users
            .get_mut(&tenant)
            .and_then(|users| users.iter_mut().find(|u| u.id == id))
        {
            found.compromised = true;
        }
    }
    StatusCode::NO_CONTENT.into_response()
}

/// Graph's answer to an app without `permission`.
pub(crate) fn denied(fake: &Fake, tenant: &str, permission: &str) -> Option<Response> {
    fake.denied
        .contains(&(tenant.to_owned(), permission.to_owned()))
        .then(|| {
            graph_error(
                StatusCode::FORBIDDEN,
                "Authorization_RequestDenied",
                "Insufficient privileges to complete the operation.",
            )
        })
}

/// `GET /v1.0/users` (`$top`, `$select` ignored beyond `id`).
pub(crate) async fn list_users(State(state): State<Shared>, headers: HeaderMap) -> Response {
    let fake = state
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let tenant = match authenticated(&fake, &headers) {
        Ok(tenant) => tenant,
        Err(response) => return *response,
    };
    if let Some(response) = denied(&fake, &tenant, "User.Read.All") {
        return response;
    }
    let users: Vec<serde_json::Value> = fake
        .users
        .get(&tenant)
        .into_iter()
        .flatten()
        .map(|u| json!({ "id": u.id }))
        .collect();
    axum::Json(json!({
        "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#users(id)",
        "value": users,
    }))
    .into_response()
}
