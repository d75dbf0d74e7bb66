//! The Office 365 Management Activity API: subscriptions per content type, the content blobs
//! available in a time window (paged with `NextPageUri`), and the records of each blob.
//!
//! The API keeps content for 7 days and lists at most 24 hours per request; a window outside
//! either is refused here, before the call, with the rule it broke.

use chrono::{DateTime, Duration, Utc};
use serde::Deserialize;

use crate::{Credentials, GraphClient, GraphError};

/// The content types a tenant's audit comes in.
pub const CONTENT_TYPES: [&str; 4] = [
    "Audit.AzureActiveDirectory",
    "Audit.Exchange",
    "Audit.SharePoint",
    "Audit.General",
];

/// The longest window one listing may cover.
pub const MAX_WINDOW: Duration = Duration::hours(24);
/// How far back content is kept.
pub const RETENTION: Duration = Duration::days(7);

/// One content blob the API has for a tenant.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Content {
    /// `Audit.Exchange`...
    pub content_type: String,
    /// The blob's id.
    pub content_id: String,
    /// Where to fetch it.
    pub content_uri: String,
    /// When it was made available (the listing's time filter applies to this).
    pub content_created: String,
    /// When it goes away.
    pub content_expiration: String,
}

/// A subscription's state.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Subscription {
    /// The content type.
    pub content_type: String,
    /// `enabled` or `disabled`.
    pub status: String,
}

/// Why a listing window was refused before calling.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WindowError {
    /// End not after start.
    #[error("the window ends before it starts")]
    Empty,
    /// Longer than a day.
    #[error("a listing covers at most 24 hours")]
    TooLong,
    /// Starts before the 7 days the API keeps.
    #[error("the API keeps content for 7 days only")]
    TooOld,
}

/// Checks a listing window against the API's rules at `now`.
pub fn check_window(
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<(), WindowError> {
    if end <= start {
        Err(WindowError::Empty)
    } else if end - start > MAX_WINDOW {
        Err(WindowError::TooLong)
    } else if start < now - RETENTION {
        Err(WindowError::TooOld)
    } else {
        Ok(())
    }
}

fn time(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S").to_string()
}

impl GraphClient {
    fn activity_base(&self, tenant: &str) -> String {
        format!(
            "{}/api/v1.0/{tenant}/activity/feed",
            self.endpoints.activity_url.trim_end_matches('/')
        )
    }

    fn publisher<'a>(&'a self, credentials: &'a Credentials) -> &'a str {
        self.publisher.as_deref().unwrap_or(&credentials.tenant_id)
    }

    fn activity_resource(&self) -> String {
        self.endpoints.activity_url.trim_end_matches('/').to_owned()
    }

    /// Starts the tenant's subscription to `content_type` (already started is fine: the API
    /// answers AF20024, which is success here).
    pub async fn start_subscription(
        &self,
        credentials: &Credentials,
        content_type: &str,
    ) -> Result<(), GraphError> {
        let url = format!(
            "{}/subscriptions/start?contentType={content_type}&PublisherIdentifier={}",
            self.activity_base(&credentials.tenant_id),
            self.publisher(credentials)
        );
        let resource = self.activity_resource();
        match self
            .call_url(
                credentials,
                &resource,
                reqwest::Method::POST,
                &url,
                Some(serde_json::json!({})),
            )
            .await
        {
            Ok(_) => Ok(()),
            Err(GraphError::Graph { code, .. }) if code == "AF20024" => Ok(()),
            Err(error) => Err(error),
        }
    }

    /// The tenant's subscriptions.
    pub async fn list_subscriptions(
        &self,
        credentials: &Credentials,
    ) -> Result<Vec<Subscription>, GraphError> {
        let url = format!(
            "{}/subscriptions/list?PublisherIdentifier={}",
            self.activity_base(&credentials.tenant_id),
            self.publisher(credentials)
        );
        let resource = self.activity_resource();
        let response = self
            .call_url(credentials, &resource, reqwest::Method::GET, &url, None)
            .await?;
        response
            .json()
            .await
            .map_err(|source| GraphError::Transport { url, source })
    }

    /// Every content blob of `content_type` made available in `[start, end)`, following
    /// `NextPageUri` to the last page.
    pub async fn list_content(
        &self,
        credentials: &Credentials,
        content_type: &str,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
    ) -> Result<Vec<Content>, GraphError> {
        check_window(start, end, Utc::now()).map_err(|e| GraphError::Refused(e.to_string()))?;
        let mut url = format!(
            "{}/subscriptions/content?contentType={content_type}&startTime={}&endTime={}&PublisherIdentifier={}",
            self.activity_base(&credentials.tenant_id),
            time(start),
            time(end),
            self.publisher(credentials)
        );
        let resource = self.activity_resource();
        let mut all = Vec::new();
        loop {
            let response = self
                .call_url(credentials, &resource, reqwest::Method::GET, &url, None)
                .await?;
            let next = response
                .headers()
                .get("NextPageUri")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            let page: Vec<Content> =
                response
                    .json()
                    .await
                    .map_err(|source| GraphError::Transport {
                        url: url.clone(),
                        source,
                    })?;
            all.extend(page);
            match next {
                Some(next) if self.is_activity_url(&next) => url = next,
                Some(next) => {
                    return Err(GraphError::Refused(format!(
                        "NextPageUri {next} is not the activity API's"
                    )));
                }
                None => return Ok(all),
            }
        }
    }

    /// The records of one content blob.
    pub async fn fetch_content(
        &self,
        credentials: &Credentials,
        content_uri: &str,
    ) -> Result<Vec<serde_json::Value>, GraphError> {
        // The token goes only where the API lives.
        if !self.is_activity_url(content_uri) {
            return Err(GraphError::Refused(format!(
                "contentUri {content_uri} is not the activity API's"
            )));
        }
        let resource = self.activity_resource();
        let response = self
            .call_url(
                credentials,
                &resource,
                reqwest::Method::GET,
                content_uri,
                None,
            )
            .await?;
        response
            .json()
            .await
            .map_err(|source| GraphError::Transport {
                url: content_uri.to_owned(),
                source,
            })
    }

    fn is_activity_url(&self, url: &str) -> bool {
        let base = self.activity_resource();
        url.strip_prefix(&base)
            .is_some_and(|rest| rest.starts_with('/'))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_follow_the_apis_rules() {
        let now = Utc::now();
        let hour = Duration::hours(1);
        assert_eq!(check_window(now - hour, now, now), Ok(()));
        assert_eq!(check_window(now, now, now), Err(WindowError::Empty));
        assert_eq!(
            check_window(now - Duration::hours(25), now, now),
            Err(WindowError::TooLong)
        );
        assert_eq!(
            check_window(now - Duration::days(8), now - Duration::days(8) + hour, now),
            Err(WindowError::TooOld)
        );
    }
}
