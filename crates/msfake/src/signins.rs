//! Graph's sign-in logs, v1.0 and beta: filters, paging by `@odata.nextLink`, and the Entra
//! ID P1 licence check.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

use crate::Shared;
use crate::activity::parse_time;
use crate::graph::{denied, graph_error};
use crate::identity::authenticated;

/// Sign-ins per page at start, whatever `$top` asks (small, so paging is exercised).
pub(crate) const SIGN_IN_PAGE: usize = 4;

#[derive(Debug, Deserialize)]
pub(crate) struct SignInQuery {
    #[serde(rename = "$filter")]
    filter: Option<String>,
    #[serde(rename = "$top")]
    top: Option<usize>,
    #[serde(rename = "$skiptoken")]
    skip: Option<usize>,
}

pub(crate) async fn sign_ins_v1(
    state: State<Shared>,
    query: axum::extract::Query<SignInQuery>,
    headers: HeaderMap,
) -> Response {
    sign_ins(state, query, headers, "v1.0").await
}

pub(crate) async fn sign_ins_beta(
    state: State<Shared>,
    query: axum::extract::Query<SignInQuery>,
    headers: HeaderMap,
) -> Response {
    sign_ins(state, query, headers, "beta").await
}

/// `GET /{version}/auditLogs/signIns`: `$filter` on `createdDateTime` (ge, lt) and, in beta,
/// `signInEventTypes/any(t: t eq 'nonInteractiveUser')`; v1.0 lists interactive sign-ins only.
pub(crate) async fn sign_ins(
    State(state): State<Shared>,
    axum::extract::Query(query): axum::extract::Query<SignInQuery>,
    headers: HeaderMap,
    version: &str,
) -> Response {
    let fake = state
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let tenant = match authenticated(&fake, &headers) {
        Ok(tenant) => tenant,
        Err(response) => return *response,
    };
    if let Some(response) = denied(&fake, &tenant, "AuditLog.Read.All") {
        return response;
    }
    if fake.free_tenants.contains(&tenant) {
        return graph_error(
            StatusCode::FORBIDDEN,
            "Authentication_RequestFromNonPremiumTenantOrB2CTenant",
            "Neither tenant is B2C or tenant doesn't have premium license",
        );
    }
    let filter = query.filter.clone().unwrap_or_default();
    let bound = |op: &str| {
        filter
            .split(&format!("createdDateTime {op} "))
            .nth(1)
            .and_then(|rest| rest.split([' ', ')']).next())
            .and_then(parse_time)
    };
    let (from, to) = (bound("ge"), bound("lt"));
    let interactive = !(version == "beta" && filter.contains("'nonInteractiveUser'"));
    let mut matching: Vec<&serde_json::Value> = fake
        .sign_ins
        .get(&tenant)
        .into_iter()
        .flatten()
        .filter(|(is_interactive, _)| *is_interactive == interactive)
        .map(|(_, record)| record)
        .filter(|record| {
            let created = record["createdDateTime"].as_str().and_then(parse_time);
            created.is_some_and(|t| from.is_none_or(|f| t >= f) && to.is_none_or(|e| t < e))
        })
        .collect();
    matching.sort_by_key(|r| r["createdDateTime"].as_str().unwrap_or_default().to_owned());
    let top = query.top.unwrap_or(1000).clamp(1, fake.sign_in_page);
    let skip = query.skip.unwrap_or(0);
    let page: Vec<serde_json::Value> = matching
        .iter()
        .skip(skip)
        .take(top)
        .map(|r| (*r).clone())
        .collect();
    let mut body = json!({
        "@odata.context": format!("https://graph.microsoft.com/{version}/$metadata#auditLogs/signIns"),
        "value": page,
    });
    if skip + top < matching.len() {
        let next = format!(
            "{}/{version}/auditLogs/signIns?$filter={}&$top={top}&$skiptoken={}",
            fake.url,
            percent(&filter),
            skip + top
        );
        body["@odata.nextLink"] = next.into();
    }
    axum::Json(body).into_response()
}

/// Percent-encodes a query value.
pub(crate) fn percent(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            other => format!("%{other:02X}"),
        })
        .collect()
}
