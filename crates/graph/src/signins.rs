//! Entra sign-in logs through Graph (`/auditLogs/signIns`, which needs Entra ID P1 and
//! `AuditLog.Read.All`): interactive sign-ins from v1.0, non-interactive ones from beta (v1.0
//! lists interactive only), in a time window, following `@odata.nextLink` to the last page.

use chrono::{DateTime, Utc};
use serde::Deserialize;

use crate::{Credentials, GraphClient, GraphError};

/// Which sign-ins.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignInKind {
    /// A user signing in (v1.0).
    Interactive,
    /// A client signing in on a user's behalf with a token it holds (beta).
    NonInteractive,
}

#[derive(Deserialize)]
struct Page {
    value: Vec<serde_json::Value>,
    #[serde(rename = "@odata.nextLink")]
    next_link: Option<String>,
}

/// Records per page asked for (Graph's maximum for sign-ins).
const PAGE: u32 = 1000;

impl GraphClient {
    /// Every sign-in of `kind` created in `[start, end)`, oldest first as Graph pages them.
    pub async fn sign_ins(
        &self,
        credentials: &Credentials,
        kind: SignInKind,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
    ) -> Result<Vec<serde_json::Value>, GraphError> {
        let mut pages = self.sign_in_pages(credentials, kind, start, end)?;
        let mut all = Vec::new();
        while let Some(page) = pages.next_page().await? {
            all.extend(page);
        }
        Ok(all)
    }

    /// The sign-ins of `kind` created in `[start, end)`, a page at a time (a connector ingests
    /// each page before asking for the next, so a large window never sits in memory).
    pub fn sign_in_pages<'c>(
        &'c self,
        credentials: &'c Credentials,
        kind: SignInKind,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
    ) -> Result<SignInPages<'c>, GraphError> {
        let graph = self.endpoints.graph_url.trim_end_matches('/').to_owned();
        let at = |t: DateTime<Utc>| t.format("%Y-%m-%dT%H:%M:%SZ").to_string();
        let (version, filter) = match kind {
            SignInKind::Interactive => (
                "v1.0",
                format!(
                    "createdDateTime ge {} and createdDateTime lt {}",
                    at(start),
                    at(end)
                ),
            ),
            SignInKind::NonInteractive => (
                "beta",
                format!(
                    "(createdDateTime ge {} and createdDateTime lt {}) and signInEventTypes/any(t: t eq 'nonInteractiveUser')",
                    at(start),
                    at(end)
                ),
            ),
        };
        let mut url = reqwest::Url::parse(&format!("{graph}/{version}/auditLogs/signIns"))
            .map_err(|e| GraphError::Refused(format!("the Graph URL: {e}")))?;
        url.query_pairs_mut()
            .append_pair("$filter", &filter)
            .append_pair("$top", &PAGE.to_string());
        Ok(SignInPages {
            client: self,
            credentials,
            graph,
            next: Some(url.to_string()),
        })
    }
}

/// Sign-ins a page at a time, following `@odata.nextLink`.
#[derive(Debug)]
pub struct SignInPages<'c> {
    client: &'c GraphClient,
    credentials: &'c Credentials,
    graph: String,
    next: Option<String>,
}

impl SignInPages<'_> {
    /// The next page, or `None` after the last.
    pub async fn next_page(&mut self) -> Result<Option<Vec<serde_json::Value>>, GraphError> {
        let Some(url) = self.next.take() else {
            return Ok(None);
        };
        let response = self
            .client
            .call_url(
                self.credentials,
                &self.graph,
                reqwest::Method::GET,
                &url,
                None,
            )
            .await?;
        let page: Page = response
            .json()
            .await
            .map_err(|source| GraphError::Transport {
                url: url.clone(),
                source,
            })?;
        match page.next_link {
            // The token goes only to Graph.
            Some(next) if next.starts_with(&format!("{}/", self.graph)) => self.next = Some(next),
            Some(next) => {
                return Err(GraphError::Refused(format!(
                    "@odata.nextLink {next} is not Graph's"
                )));
            }
            None => {}
        }
        Ok(Some(page.value))
    }
}
