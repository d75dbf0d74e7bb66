//! Running an approved action against Microsoft Graph, and recording what Graph said.
//!
//! The move to `executing` commits before Graph is called, so two replicas never both run an
//! action, and an execution a crash interrupted is visible (and resumed by the sweep). What
//! Graph answered is recorded even through a database outage (retried for half the time the
//! sweep waits before resuming), so an outage does not make an action run twice; only a
//! process dying mid-call does. Every action is safe to repeat at Graph: revoking twice,
//! disabling a disabled account and confirming a confirmed user change nothing more.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokenwatch_graph::{Credentials, GraphClient, GraphError};
use tokenwatch_seal::Sealer;
use tokenwatch_storage::actions::{self, ActionRow, Transition};
use tokenwatch_storage::{Database, StorageError, credentials};
use tokenwatch_types::{ActionState, TenantId};
use uuid::Uuid;

/// Which states an execution may start from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Start {
    /// Just approved.
    Approved,
    /// Approved, or failed before (an administrator retries it).
    Retry,
    /// Approved or executing, left so by a stopped process (the sweep).
    Resume,
}

impl Start {
    fn states(self) -> &'static [ActionState] {
        match self {
            Start::Approved => &[ActionState::Approved],
            Start::Retry => &[ActionState::Approved, ActionState::Failed],
            Start::Resume => &[ActionState::Approved, ActionState::Executing],
        }
    }
}

/// Runs actions; shared by the RPCs and the background responder.
#[derive(Debug, Clone)]
pub(crate) struct Executor {
    pub(crate) database: Database,
    pub(crate) graph: Arc<GraphClient>,
    pub(crate) sealer: Option<Arc<Sealer>>,
    /// How long to keep trying to record an outcome while the database is unavailable.
    pub(crate) record_for: Duration,
}

impl Executor {
    /// Executes the action if it is in a state `start` allows, and returns it as it ends (or
    /// as it is, when another execution holds it or it is finished).
    pub(crate) async fn execute(
        &self,
        tenant: TenantId,
        action_id: Uuid,
        actor: &str,
        start: Start,
    ) -> Result<ActionRow, StorageError> {
        let mut tx = self.database.tenant_tx(tenant).await?;
        let started = actions::transition(
            &mut tx,
            action_id,
            &Transition {
                from: start.states(),
                to: ActionState::Executing,
                actor,
                approves: false,
                starts_attempt: true,
                result: None,
                outcome: None,
                details: serde_json::json!({}),
            },
        )
        .await?;
        let Some(action) = started else {
            let current = actions::get(&mut tx, action_id, false).await?;
            tx.commit().await?;
            return Ok(current);
        };
        let sealed = credentials::get_credentials(&mut tx).await?;
        tx.commit().await?;

        let request = graph_request(&action);
        let (state, result, outcome) = if action.dry_run {
            (
                ActionState::Succeeded,
                format!(
                    "dry run: would {request}{}",
                    if sealed.is_some() {
                        ""
                    } else {
                        " (but the tenant has no Graph credentials yet)"
                    }
                ),
                serde_json::json!({ "dry_run": true, "request": request }),
            )
        } else {
            match self.credentials(tenant, sealed) {
                Err(problem) => (
                    ActionState::Failed,
                    problem.clone(),
                    serde_json::json!({ "request": request, "error": problem }),
                ),
                Ok(credentials) => match self.call(&credentials, &action).await {
                    Ok(()) => (
                        ActionState::Succeeded,
                        format!("{request}: done"),
                        serde_json::json!({ "request": request, "status": "ok" }),
                    ),
                    Err(error) => {
                        tracing::warn!(action = %action_id, %error, "graph refused an action");
                        (
                            ActionState::Failed,
                            format!("{request}: {error}"),
                            outcome_of(&request, &error),
                        )
                    }
                },
            }
        };
        self.record(tenant, action_id, state, &result, outcome)
            .await
    }

    /// Moves the action from `executing` to where Graph's answer put it, trying again while the
    /// database is unavailable (for up to `record_for`): the answer is known only here.
    async fn record(
        &self,
        tenant: TenantId,
        action_id: Uuid,
        state: ActionState,
        result: &str,
        outcome: serde_json::Value,
    ) -> Result<ActionRow, StorageError> {
        let give_up = Instant::now() + self.record_for;
        let mut wait = Duration::from_millis(100);
        loop {
            match self
                .try_record(tenant, action_id, state, result, outcome.clone())
                .await
            {
                Err(StorageError::Unavailable(error)) if Instant::now() + wait < give_up => {
                    tracing::warn!(action = %action_id, %error, "recording an action's outcome; trying again");
                    tokio::time::sleep(wait).await;
                    wait = (wait * 2).min(Duration::from_secs(5));
                }
                recorded => return recorded,
            }
        }
    }

    async fn try_record(
        &self,
        tenant: TenantId,
        action_id: Uuid,
        state: ActionState,
        result: &str,
        outcome: serde_json::Value,
    ) -> Result<ActionRow, StorageError> {
        let mut tx = self.database.tenant_tx(tenant).await?;
        let finished = actions::transition(
            &mut tx,
            action_id,
            &Transition {
                from: &[ActionState::Executing],
                to: state,
                actor: "tokenwatch",
                approves: false,
                starts_attempt: false,
                result: Some(result),
                outcome: Some(outcome),
                details: serde_json::json!({}),
            },
        )
        .await?;
        let action = match finished {
            Some(action) => action,
            // Only this execution leaves `executing`; report what is stored regardless.
            None => actions::get(&mut tx, action_id, false).await?,
        };
        tx.commit().await?;
        tracing::info!(action = %action_id, kind = %action.kind, state = %action.state, "action executed");
        Ok(action)
    }

    /// The tenant's app registration, opened; or why there is none.
    fn credentials(
        &self,
        tenant: TenantId,
        sealed: Option<credentials::SealedCredentials>,
    ) -> Result<Credentials, String> {
        let sealed = sealed.ok_or_else(|| {
            format!(
                "tenant {tenant} has no Graph credentials: set them with `tokenwatch tenant credentials set --tenant {tenant} ...`"
            )
        })?;
        Credentials::unseal(
            self.sealer.as_deref(),
            &tenant.to_string(),
            tokenwatch_graph::Sealed {
                client_id: &sealed.client_id,
                kind: &sealed.kind,
                key_id: &sealed.key_id,
                sealed: &sealed.sealed,
            },
        )
        .map_err(|problem| format!("the tenant's Graph credentials: {problem}"))
    }

    async fn call(&self, credentials: &Credentials, action: &ActionRow) -> Result<(), GraphError> {
        let user = action.user_id.as_str();
        match action.kind.as_str() {
            "revoke_sessions" => self.graph.revoke_sign_in_sessions(credentials, user).await,
            "disable_user" => {
                self.graph
                    .set_account_enabled(credentials, user, false)
                    .await
            }
            "enable_user" => {
                self.graph
                    .set_account_enabled(credentials, user, true)
                    .await
            }
            "confirm_compromised" => {
                let id = if Uuid::parse_str(user).is_ok() {
                    user.to_owned()
                } else {
                    self.graph.user_object_id(credentials, user).await?
                };
                self.graph.confirm_compromised(credentials, &id).await
            }
            other => unreachable!("the database admits no action kind {other}"),
        }
    }
}

/// The Graph request an action makes, in words.
pub(crate) fn graph_request(action: &ActionRow) -> String {
    let user = &action.user_id;
    match action.kind.as_str() {
        "revoke_sessions" => format!("POST /v1.0/users/{user}/revokeSignInSessions"),
        "disable_user" => format!("PATCH /v1.0/users/{user} {{\"accountEnabled\": false}}"),
        "enable_user" => format!("PATCH /v1.0/users/{user} {{\"accountEnabled\": true}}"),
        "confirm_compromised" => format!(
            "POST /v1.0/identityProtection/riskyUsers/confirmCompromised {{\"userIds\": [{user}]}}"
        ),
        other => other.to_owned(),
    }
}

/// Microsoft's answer, kept whole for the audit log and the analyst.
fn outcome_of(request: &str, error: &GraphError) -> serde_json::Value {
    match error {
        GraphError::SignIn {
            status,
            code,
            description,
        } => serde_json::json!({
            "request": request, "stage": "token", "status": status, "code": code,
            "message": description,
        }),
        GraphError::Graph {
            status,
            code,
            message,
        } => serde_json::json!({
            "request": request, "stage": "graph", "status": status, "code": code,
            "message": message,
        }),
        GraphError::Throttled {
            status,
            retry_after,
        } => serde_json::json!({
            "request": request, "stage": "graph", "status": status, "code": "throttled",
            "retry_after_seconds": retry_after.map(|d| d.as_secs()),
        }),
        GraphError::Refused(reason) => serde_json::json!({
            "request": request, "stage": "tokenwatch", "message": reason,
        }),
        GraphError::Transport { url, source } => serde_json::json!({
            "request": request, "stage": "transport", "url": url, "message": source.to_string(),
        }),
    }
}
