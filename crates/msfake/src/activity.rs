//! The Office 365 Management Activity API: subscriptions, paged content listings and
//! content blobs, with the API's own error bodies.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

use crate::identity::authenticated;
use crate::{Fake, FakeContent, Shared};

/// The Management Activity API's error body.
pub(crate) fn activity_error(status: StatusCode, code: &str, message: &str) -> Response {
    (
        status,
        axum::Json(json!({ "error": { "code": code, "message": message } })),
    )
        .into_response()
}

/// The token's tenant, which must be the one in the path, with ActivityFeed.Read.
pub(crate) fn activity_caller(
    fake: &Fake,
    headers: &HeaderMap,
    tenant: &str,
) -> Result<(), Box<Response>> {
    let caller = authenticated(fake, headers)?;
    if caller != tenant
        || fake
            .denied
            .contains(&(caller.clone(), "ActivityFeed.Read".to_owned()))
    {
        return Err(Box::new(activity_error(
            StatusCode::FORBIDDEN,
            "AF10001",
            "The permission set (ActivityFeed.Read) sent in the request does not include the expected permission.",
        )));
    }
    Ok(())
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ActivityQuery {
    content_type: Option<String>,
    start_time: Option<String>,
    end_time: Option<String>,
    next_page: Option<usize>,
}

pub(crate) const CONTENT_TYPES: [&str; 5] = [
    "Audit.AzureActiveDirectory",
    "Audit.Exchange",
    "Audit.SharePoint",
    "Audit.General",
    "DLP.All",
];

pub(crate) async fn start_subscription(
    State(state): State<Shared>,
    Path(tenant): Path<String>,
    axum::extract::Query(query): axum::extract::Query<ActivityQuery>,
    headers: HeaderMap,
) -> Response {
    let mut fake = state
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Err(response) = activity_caller(&fake, &headers, &tenant) {
        return *response;
    }
    let content_type = query.content_type.unwrap_or_default();
    if !CONTENT_TYPES.contains(&content_type.as_str()) {
        return activity_error(
            StatusCode::BAD_REQUEST,
            "AF20020",
            &format!("The content type '{content_type}' is not valid."),
        );
    }
    if !fake.subscriptions.insert((tenant, content_type.clone())) {
        return activity_error(
            StatusCode::BAD_REQUEST,
            "AF20024",
            "The subscription is already enabled. No property change.",
        );
    }
    axum::Json(json!({ "contentType": content_type, "status": "enabled", "webhook": null }))
        .into_response()
}

pub(crate) async fn list_subscriptions(
    State(state): State<Shared>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
) -> Response {
    let fake = state
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Err(response) = activity_caller(&fake, &headers, &tenant) {
        return *response;
    }
    let list: Vec<serde_json::Value> = fake
        .subscriptions
        .iter()
        .filter(|(t, _)| *t == tenant)
        .map(|(_, c)| json!({ "contentType": c, "status": "enabled", "webhook": null }))
        .collect();
    axum::Json(serde_json::Value::Array(list)).into_response()
}

pub(crate) fn parse_time(text: &str) -> Option<chrono::DateTime<chrono::Utc>> {
    chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S")
        .ok()
        .map(|t| t.and_utc())
        .or_else(|| {
            chrono::DateTime::parse_from_rfc3339(text)
                .ok()
                .map(|t| t.with_timezone(&chrono::Utc))
        })
}

pub(crate) async fn list_content(
    State(state): State<Shared>,
    Path(tenant): Path<String>,
    axum::extract::Query(query): axum::extract::Query<ActivityQuery>,
    headers: HeaderMap,
) -> Response {
    let fake = state
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Err(response) = activity_caller(&fake, &headers, &tenant) {
        return *response;
    }
    let content_type = query.content_type.clone().unwrap_or_default();
    if !fake
        .subscriptions
        .contains(&(tenant.clone(), content_type.clone()))
    {
        return activity_error(
            StatusCode::BAD_REQUEST,
            "AF20022",
            "No subscription found for the specified content type",
        );
    }
    let now = chrono::Utc::now();
    let start = query.start_time.as_deref().and_then(parse_time);
    let end = query.end_time.as_deref().and_then(parse_time);
    let (start, end) = match (start, end) {
        (Some(start), Some(end))
            if end > start
                && end - start <= chrono::Duration::hours(24)
                && start >= now - chrono::Duration::days(7) =>
        {
            (start, end)
        }
        (None, None) => (now - chrono::Duration::hours(24), now),
        _ => {
            return activity_error(
                StatusCode::BAD_REQUEST,
                "AF20055",
                "Start time and end time must both be specified (or both omitted) and must be less than or equal to 24 hours apart, with the start time no more than 7 days in the past.",
            );
        }
    };
    let matching: Vec<&FakeContent> = fake
        .contents
        .iter()
        .filter(|c| {
            c.tenant == tenant
                && c.content_type == content_type
                && c.created >= start
                && c.created < end
        })
        .collect();
    let from = query.next_page.unwrap_or(0);
    let page: Vec<serde_json::Value> = matching
        .iter()
        .skip(from)
        .take(fake.page_size)
        .map(|c| {
            json!({
                "contentType": c.content_type,
                "contentId": c.content_id,
                "contentUri": format!("{}/api/v1.0/{tenant}/activity/feed/audit/{}", fake.url, c.content_id),
                "contentCreated": c.created.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(),
                "contentExpiration": (c.created + chrono::Duration::days(7)).format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(),
            })
        })
        .collect();
    let mut response = axum::Json(serde_json::Value::Array(page)).into_response();
    if from + fake.page_size < matching.len() {
        let next = format!(
            "{}/api/v1.0/{tenant}/activity/feed/subscriptions/content?contentType={content_type}&startTime={}&endTime={}&nextPage={}",
            fake.url,
            start.format("%Y-%m-%dT%H:%M:%S"),
            end.format("%Y-%m-%dT%H:%M:%S"),
            from + fake.page_size
        );
        response
            .headers_mut()
            .insert("NextPageUri", next.parse().expect("a header value"));
    }
    response
}

pub(crate) async fn fetch_content(
    State(state): State<Shared>,
    Path((tenant, content_id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let fake = state
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Err(response) = activity_caller(&fake, &headers, &tenant) {
        return *response;
    }
    match fake
        .contents
        .iter()
        .find(|c| c.tenant == tenant && c.content_id == content_id)
    {
        Some(content) => {
            axum::Json(serde_json::Value::Array(content.records.clone())).into_response()
        }
        None => activity_error(
            StatusCode::NOT_FOUND,
            "AF20051",
            &format!(
                "Content requested with the key {content_id} has already expired or does not exist."
            ),
        ),
    }
}

/// The activity feed content type a UAL record comes in, by its workload.
pub(crate) fn content_type_of(record: &serde_json::Value) -> &'static str {
    match record["Workload"].as_str().unwrap_or_default() {
        "AzureActiveDirectory" => "Audit.AzureActiveDirectory",
        "Exchange" => "Audit.Exchange",
        "SharePoint" | "OneDrive" => "Audit.SharePoint",
        _ => "Audit.General",
    }
}
