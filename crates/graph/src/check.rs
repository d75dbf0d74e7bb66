//! The connection test of a customer tenant: a token per API, then each API called once, and
//! for each the exact permission or licence that is missing when it fails.

use crate::{Credentials, GraphClient, GraphError};

/// One check's result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    /// What was checked (`sign-in`, `activity feed`, `sign-in logs`, `users`).
    pub name: String,
    /// Whether it worked.
    pub ok: bool,
    /// What worked, or what is missing and how to fix it.
    pub detail: String,
}

fn check(name: &str, result: Result<String, String>) -> Check {
    let (ok, detail) = match result {
        Ok(detail) => (true, detail),
        Err(detail) => (false, detail),
    };
    Check {
        name: name.to_owned(),
        ok,
        detail,
    }
}

/// What a failure means for the administrator of the customer tenant, naming the application
/// `permission` the API needs.
pub fn explain(error: &GraphError, permission: &str) -> String {
    match error {
        GraphError::SignIn {
            code, description, ..
        } => format!("sign-in refused: {code}: {}", first_line(description)),
        GraphError::Graph { code, .. }
            if code == "Authentication_RequestFromNonPremiumTenantOrB2CTenant" =>
        {
            "the tenant has no Microsoft Entra ID P1 licence, which sign-in logs need".to_owned()
        }
        GraphError::Graph {
            status: 401 | 403,
            code,
            message,
        } => format!(
            "the app lacks the application permission {permission} (or an administrator has not consented to it): {code}: {message}"
        ),
        other => other.to_string(),
    }
}

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or_default().trim()
}

impl GraphClient {
    /// Tests the tenant's credentials against every API tokenwatch uses.
    pub async fn test_connection(&self, credentials: &Credentials) -> Vec<Check> {
        let mut checks = Vec::new();
        let token = self.token(credentials).await;
        let signed_in = token.is_ok();
        checks.push(check(
            "sign-in",
            token
                .map(|_| "a token for Microsoft Graph, by client credentials".to_owned())
                .map_err(|e| explain(&e, "")),
        ));
        if !signed_in {
            return checks;
        }
        checks.push(check(
            "activity feed",
            self.list_subscriptions(credentials)
                .await
                .map(|subscriptions| {
                    format!(
                        "ActivityFeed.Read works; {} subscription(s) started",
                        subscriptions.len()
                    )
                })
                .map_err(|e| explain(&e, "ActivityFeed.Read (Office 365 Management APIs)")),
        ));
        checks.push(check(
            "sign-in logs",
            self.probe(credentials, "/v1.0/auditLogs/signIns?$top=1")
                .await
                .map(|()| "AuditLog.Read.All works and the tenant has Entra ID P1".to_owned())
                .map_err(|e| explain(&e, "AuditLog.Read.All (Microsoft Graph)")),
        ));
        checks.push(check(
            "users",
            self.probe(credentials, "/v1.0/users?$top=1&$select=id")
                .await
                .map(|()| "User.Read.All works (response actions find users)".to_owned())
                .map_err(|e| explain(&e, "User.Read.All (Microsoft Graph)")),
        ));
        checks
    }

    /// One GET against Graph, its body ignored.
    async fn probe(&self, credentials: &Credentials, path: &str) -> Result<(), GraphError> {
        let graph = self.endpoints.graph_url.trim_end_matches('/').to_owned();
        self.call_url(
            credentials,
            &graph,
            reqwest::Method::GET,
            &format!("{graph}{path}"),
            None,
        )
        .await
        .map(drop)
    }
}
