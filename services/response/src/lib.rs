//! Response actions through Microsoft Graph under a per-tenant policy.
//!
//! An action is proposed (by an analyst, a service, or the tenant's policy when a finding is
//! created or escalated), approved by a second person with the right role unless the policy
//! acts automatically, executed against Graph, and ends succeeded (or a dry run's account of
//! what it would have done), failed with Graph's error, rejected or cancelled. Proposals are
//! idempotent by request id; every move is audited with who made it and what Graph said.
//!
//! # Layout
//!
//! - `policy`: a tenant's policy and its decisions (pure);
//! - `execute`: running an action against Graph and recording the outcome;
//! - `responder`: the policy's own responses to findings, and the sweep that resumes actions;
//! - `deliver`: webhook notifications of findings and actions;
//! - `convert`: the contract's messages from and to storage rows;
//! - this file: the RPCs.

mod convert;
mod deliver;
mod error;
mod execute;
mod policy;
mod responder;

use std::sync::Arc;
use std::time::Duration;

use tokenwatch_auth::{AuthInterceptor, Claims, Permission, authorize};
use tokenwatch_error::invalid_argument;
pub use tokenwatch_graph::{Endpoints, GraphClient, RetryPolicy};
use tokenwatch_grpc::ServiceSet;
use tokenwatch_proto::response::v1::response_service_server::{
    ResponseService, ResponseServiceServer,
};
use tokenwatch_proto::response::v1::*;
use tokenwatch_proto::tonic::service::interceptor::InterceptedService;
use tokenwatch_proto::tonic::{self, Request, Response, Status};
use tokenwatch_seal::Sealer;
use tokenwatch_storage::actions::{self, ActionFilter, NewAction, Transition};
use tokenwatch_storage::credentials::{self, SealedCredentials};
use tokenwatch_storage::{Database, Feed, StorageError, TenantTx, findings, notifications};
use tokenwatch_types::{ActionState, FindingId, Severity};
use uuid::Uuid;

use crate::convert::*;
use crate::deliver::Deliverer;
pub use crate::deliver::MspWebhook;
use crate::error::fail;
use crate::execute::{Executor, Start};
use crate::policy::{Decision, Policy};
pub use tokenwatch_notify::Format as PayloadFormat;

/// How the response service reaches Microsoft and how often it sweeps.
#[derive(Debug, Clone)]
pub struct ResponseConfig {
    /// Login and Graph base URLs.
    pub endpoints: Endpoints,
    /// Retries of each Graph call.
    pub retry: RetryPolicy,
    /// Between sweeps for missed findings, unfinished actions and webhook retries.
    pub sweep_interval: Duration,
    /// The MSP-wide webhook (every tenant's events), if configured.
    pub msp_webhook: Option<MspWebhook>,
}

impl Default for ResponseConfig {
    fn default() -> Self {
        ResponseConfig {
            endpoints: Endpoints::default(),
            retry: RetryPolicy::default(),
            sweep_interval: Duration::from_secs(60),
            msp_webhook: None,
        }
    }
}

/// Mounts the response service, behind the auth interceptor, on `services`, and starts the
/// policy's responder in the background (it stops when the server drains). Without a
/// `sealer` (no credentials key configured), Graph credentials cannot be set or used.
pub fn add_to(
    services: &mut ServiceSet,
    database: Database,
    sealer: Option<Arc<Sealer>>,
    config: &ResponseConfig,
    auth: AuthInterceptor,
) -> Result<(), reqwest::Error> {
    let graph = Arc::new(GraphClient::new(config.endpoints.clone(), config.retry)?);
    let executor = Executor {
        database: database.clone(),
        graph,
        sealer: sealer.clone(),
    };
    let (feed, listening) = Feed::start(&database, services.draining());
    services.spawn("response findings feed", listening);
    let responding = responder::run(
        executor.clone(),
        feed,
        config.sweep_interval,
        services.draining(),
    );
    services.spawn("responder", responding);
    let deliverer = Deliverer::new(database.clone(), sealer.clone(), config.msp_webhook.clone())?;
    services.spawn(
        "webhook deliverer",
        deliverer.run(config.sweep_interval, services.draining()),
    );
    let api = ResponseApi {
        database,
        sealer,
        executor,
    };
    let server = tokenwatch_grpc::configure_service!(ResponseServiceServer::new(api));
    services.add(InterceptedService::new(server, auth));
    Ok(())
}

#[derive(Debug)]
struct ResponseApi {
    database: Database,
    sealer: Option<Arc<Sealer>>,
    executor: Executor,
}

impl ResponseApi {
    /// The key that seals `what`, or why it cannot be stored.
    fn sealer(&self, what: &str) -> Result<&Sealer, Status> {
        self.sealer.as_deref().ok_or_else(|| {
            Status::failed_precondition(format!(
                "this server has no credentials key (TOKENWATCH_CREDENTIALS_KEY): {what} cannot be stored"
            ))
        })
    }
}

/// The tenant's policy, or the new tenant's default.
pub(crate) async fn load_policy(tx: &mut TenantTx) -> Result<Policy, StorageError> {
    Ok(match actions::get_policy(tx).await? {
        // A stored policy always parsed when it was set; a newer field defaults.
        Some((json, _)) => serde_json::from_value(json).unwrap_or_default(),
        None => Policy::default(),
    })
}

fn parse_id(field: &str, id: &str) -> Result<Uuid, Status> {
    Uuid::parse_str(id).map_err(|_| invalid_argument(field, "is not a UUID"))
}

fn may_approve(claims: &Claims) -> bool {
    claims
        .roles
        .iter()
        .any(|role| Permission::ActionsManage.granted_to(*role))
}

#[tonic::async_trait]
impl ResponseService for ResponseApi {
    async fn propose_action(
        &self,
        request: Request<ProposeActionRequest>,
    ) -> Result<Response<ProposeActionResponse>, Status> {
        let (tenant, claims) = authorize(
            &request,
            Permission::ActionsPropose,
            &request.get_ref().tenant_id,
        )?;
        let r = request.into_inner();
        let kind = ActionKind::try_from(r.kind)
            .ok()
            .and_then(kind_name)
            .ok_or_else(|| {
                invalid_argument(
                    "kind",
                    "give revoke sessions, disable user, enable user or confirm compromised",
                )
            })?;
        let mut tx = self.database.tenant_tx(tenant).await.map_err(fail)?;
        let (user, finding_id, severity) = if r.finding_id.is_empty() {
            (r.user_id.trim().to_owned(), None, None)
        } else {
            let id = FindingId::parse(&r.finding_id)
                .map_err(|e| invalid_argument("finding_id", e.to_string()))?;
            let finding = findings::get_finding(&mut tx, id)
                .await
                .map_err(fail)?
                .finding;
            let requested = r.user_id.trim();
            if !requested.is_empty() && !requested.eq_ignore_ascii_case(&finding.user_id) {
                return Err(invalid_argument(
                    "user_id",
                    format!("the finding is about {}, not {requested}", finding.user_id),
                ));
            }
            (finding.user_id, Some(id.as_uuid()), Some(finding.severity))
        };
        if user.is_empty() {
            return Err(invalid_argument(
                "user_id",
                "give the user (UPN or object id) or a finding",
            ));
        }
        let policy = load_policy(&mut tx).await.map_err(fail)?;
        let execute = policy.on_request(kind, &user, severity) == Decision::Execute;
        let request_id = if r.request_id.trim().is_empty() {
            Uuid::new_v4().to_string()
        } else {
            r.request_id.trim().to_owned()
        };
        let (action, created) = actions::propose(
            &mut tx,
            &NewAction {
                kind: kind.to_owned(),
                user_id: user.clone(),
                finding_id,
                reason: r.reason.trim().to_owned(),
                request_id,
                proposed_by: claims.subject.clone(),
                dry_run: r.dry_run || policy.dry_run,
                // An action without a finding has the lowest severity there is.
                severity: severity.unwrap_or(Severity::Info),
                state: if execute {
                    ActionState::Approved
                } else {
                    ActionState::Proposed
                },
                approved_by: execute.then(|| "policy:automatic".to_owned()),
            },
        )
        .await
        .map_err(fail)?;
        tx.commit().await.map_err(fail)?;
        if !created && (action.kind != kind || !action.user_id.eq_ignore_ascii_case(&user)) {
            return Err(invalid_argument(
                "request_id",
                format!(
                    "was used for action {} ({} of {}); a new action needs a new request id",
                    action.action_id, action.kind, action.user_id
                ),
            ));
        }
        let action = if created && execute {
            self.executor
                .execute(tenant, action.action_id, &claims.subject, Start::Approved)
                .await
                .map_err(fail)?
        } else {
            action
        };
        Ok(Response::new(ProposeActionResponse {
            action: Some(to_proto(&tenant.to_string(), &action)),
        }))
    }

    async fn approve_action(
        &self,
        request: Request<ApproveActionRequest>,
    ) -> Result<Response<ApproveActionResponse>, Status> {
        let (tenant, claims) = authorize(
            &request,
            Permission::ActionsManage,
            &request.get_ref().tenant_id,
        )?;
        let r = request.into_inner();
        let id = parse_id("action_id", &r.action_id)?;
        let mut tx = self.database.tenant_tx(tenant).await.map_err(fail)?;
        let action = actions::get(&mut tx, id, true).await.map_err(fail)?;
        if action.state != ActionState::Proposed {
            // Approving again what this approver approved is a repeat, not an error.
            if r.approve && action.approved_by.as_deref() == Some(claims.subject.as_str()) {
                return Ok(Response::new(ApproveActionResponse {
                    action: Some(to_proto(&tenant.to_string(), &action)),
                }));
            }
            return Err(Status::failed_precondition(format!(
                "action {id} is {}, not awaiting approval",
                action.state
            )));
        }
        if action.proposed_by == claims.subject {
            return Err(Status::permission_denied(format!(
                "{} proposed action {id}; a second person must approve or reject it",
                claims.subject
            )));
        }
        let moved = actions::transition(
            &mut tx,
            id,
            &Transition {
                from: &[ActionState::Proposed],
                to: if r.approve {
                    ActionState::Approved
                } else {
                    ActionState::Rejected
                },
                actor: &claims.subject,
                approves: r.approve,
                starts_attempt: false,
                result: (!r.approve)
                    .then(|| format!("rejected by {}", claims.subject))
                    .as_deref(),
                outcome: None,
                details: serde_json::json!({ "comment": r.comment }),
            },
        )
        .await
        .map_err(fail)?
        .ok_or_else(|| Status::aborted("the action changed meanwhile; try again"))?;
        tx.commit().await.map_err(fail)?;
        let action = if r.approve {
            self.executor
                .execute(tenant, id, &claims.subject, Start::Approved)
                .await
                .map_err(fail)?
        } else {
            moved
        };
        Ok(Response::new(ApproveActionResponse {
            action: Some(to_proto(&tenant.to_string(), &action)),
        }))
    }

    async fn execute_action(
        &self,
        request: Request<ExecuteActionRequest>,
    ) -> Result<Response<ExecuteActionResponse>, Status> {
        let (tenant, claims) = authorize(
            &request,
            Permission::ActionsManage,
            &request.get_ref().tenant_id,
        )?;
        let id = parse_id("action_id", &request.get_ref().action_id)?;
        let mut tx = self.database.tenant_tx(tenant).await.map_err(fail)?;
        let current = actions::get(&mut tx, id, false).await.map_err(fail)?;
        tx.commit().await.map_err(fail)?;
        if matches!(
            current.state,
            ActionState::Proposed | ActionState::Rejected | ActionState::Cancelled
        ) {
            return Err(Status::failed_precondition(format!(
                "action {id} is {}: only approved or failed actions execute",
                current.state
            )));
        }
        let action = self
            .executor
            .execute(tenant, id, &claims.subject, Start::Retry)
            .await
            .map_err(fail)?;
        Ok(Response::new(ExecuteActionResponse {
            action: Some(to_proto(&tenant.to_string(), &action)),
        }))
    }

    async fn cancel_action(
        &self,
        request: Request<CancelActionRequest>,
    ) -> Result<Response<CancelActionResponse>, Status> {
        let (tenant, claims) = authorize(
            &request,
            Permission::ActionsPropose,
            &request.get_ref().tenant_id,
        )?;
        let r = request.into_inner();
        let id = parse_id("action_id", &r.action_id)?;
        let mut tx = self.database.tenant_tx(tenant).await.map_err(fail)?;
        let action = actions::get(&mut tx, id, true).await.map_err(fail)?;
        if action.proposed_by != claims.subject && !may_approve(&claims) {
            return Err(Status::permission_denied(format!(
                "{} proposed action {id}; only they or an approver may cancel it",
                action.proposed_by
            )));
        }
        let action = match action.state {
            ActionState::Cancelled => action,
            state if state.is_cancellable() => actions::transition(
                &mut tx,
                id,
                &Transition {
                    from: &[ActionState::Proposed, ActionState::Approved],
                    to: ActionState::Cancelled,
                    actor: &claims.subject,
                    approves: false,
                    starts_attempt: false,
                    result: Some(&format!("cancelled by {}", claims.subject)),
                    outcome: None,
                    details: serde_json::json!({ "comment": r.comment }),
                },
            )
            .await
            .map_err(fail)?
            .ok_or_else(|| Status::aborted("the action changed meanwhile; try again"))?,
            other => {
                return Err(Status::failed_precondition(format!(
                    "action {id} is {other}; only proposed or approved actions can be cancelled"
                )));
            }
        };
        tx.commit().await.map_err(fail)?;
        Ok(Response::new(CancelActionResponse {
            action: Some(to_proto(&tenant.to_string(), &action)),
        }))
    }

    async fn get_action(
        &self,
        request: Request<GetActionRequest>,
    ) -> Result<Response<GetActionResponse>, Status> {
        let (tenant, _) = authorize(
            &request,
            Permission::ActionsRead,
            &request.get_ref().tenant_id,
        )?;
        let id = parse_id("action_id", &request.get_ref().action_id)?;
        let mut tx = self.database.tenant_tx(tenant).await.map_err(fail)?;
        let action = actions::get(&mut tx, id, false).await.map_err(fail)?;
        tx.commit().await.map_err(fail)?;
        Ok(Response::new(GetActionResponse {
            action: Some(to_proto(&tenant.to_string(), &action)),
        }))
    }

    async fn list_actions(
        &self,
        request: Request<ListActionsRequest>,
    ) -> Result<Response<ListActionsResponse>, Status> {
        let (tenant, _) = authorize(
            &request,
            Permission::ActionsRead,
            &request.get_ref().tenant_id,
        )?;
        let r = request.into_inner();
        let states = r
            .states
            .iter()
            .map(|s| {
                tokenwatch_proto::action_state_from_proto(*s)
                    .ok_or_else(|| invalid_argument("states", "unknown state"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let filter = ActionFilter {
            user_id: Some(r.user_id.trim().to_owned()).filter(|u| !u.is_empty()),
            states,
            finding_id: None,
        };
        let page_size = match r.page_size {
            ..=0 => 100,
            size => size.min(1_000) as usize,
        };
        let mut tx = self.database.tenant_tx(tenant).await.map_err(fail)?;
        let (rows, next) = actions::list(&mut tx, &filter, page_size, &r.page_token)
            .await
            .map_err(fail)?;
        tx.commit().await.map_err(fail)?;
        let tenant = tenant.to_string();
        Ok(Response::new(ListActionsResponse {
            actions: rows.iter().map(|a| to_proto(&tenant, a)).collect(),
            next_page_token: next.unwrap_or_default(),
        }))
    }

    async fn get_response_policy(
        &self,
        request: Request<GetResponsePolicyRequest>,
    ) -> Result<Response<GetResponsePolicyResponse>, Status> {
        let (tenant, _) = authorize(
            &request,
            Permission::ActionsRead,
            &request.get_ref().tenant_id,
        )?;
        let mut tx = self.database.tenant_tx(tenant).await.map_err(fail)?;
        let stored = actions::get_policy(&mut tx).await.map_err(fail)?;
        tx.commit().await.map_err(fail)?;
        let (policy, time) = match stored {
            Some((json, time)) => (serde_json::from_value(json).unwrap_or_default(), Some(time)),
            None => (Policy::default(), None),
        };
        Ok(Response::new(GetResponsePolicyResponse {
            policy: Some(policy_to_proto(&tenant.to_string(), &policy, time)),
        }))
    }

    async fn set_response_policy(
        &self,
        request: Request<SetResponsePolicyRequest>,
    ) -> Result<Response<SetResponsePolicyResponse>, Status> {
        let (tenant, claims) = authorize(
            &request,
            Permission::ActionsManage,
            &request.get_ref().tenant_id,
        )?;
        let r = request.into_inner();
        let policy = policy_from_proto(
            r.policy
                .as_ref()
                .ok_or_else(|| invalid_argument("policy", "is required"))?,
        )?;
        let json = serde_json::to_value(&policy).map_err(fail)?;
        let mut tx = self.database.tenant_tx(tenant).await.map_err(fail)?;
        let time = actions::set_policy(&mut tx, &json, &claims.subject)
            .await
            .map_err(fail)?;
        tx.commit().await.map_err(fail)?;
        tracing::info!(actor = %claims.subject, policy = %json, "response policy set");
        Ok(Response::new(SetResponsePolicyResponse {
            policy: Some(policy_to_proto(&tenant.to_string(), &policy, Some(time))),
        }))
    }

    async fn set_graph_credentials(
        &self,
        request: Request<SetGraphCredentialsRequest>,
    ) -> Result<Response<SetGraphCredentialsResponse>, Status> {
        let (tenant, claims) = authorize(
            &request,
            Permission::ActionsManage,
            &request.get_ref().tenant_id,
        )?;
        let sealer = self.sealer("Graph credentials")?;
        let r = request.into_inner();
        if r.client_id.trim().is_empty() {
            return Err(invalid_argument("client_id", "is required"));
        }
        let (kind, secret) = match r.secret {
            Some(set_graph_credentials_request::Secret::ClientSecret(secret))
                if !secret.is_empty() =>
            {
                ("client_secret", secret)
            }
            Some(set_graph_credentials_request::Secret::CertificatePem(pem)) => {
                // Checked now, so a bad upload fails here rather than at the first action.
                tokenwatch_graph::Certificate::from_pem(&pem)
                    .map_err(|problem| invalid_argument("certificate_pem", problem))?;
                ("certificate", pem)
            }
            _ => {
                return Err(invalid_argument(
                    "secret",
                    "give client_secret, or certificate_pem (PEM certificate and key)",
                ));
            }
        };
        let sealed = SealedCredentials {
            client_id: r.client_id.trim().to_owned(),
            kind: kind.to_owned(),
            sealed: sealer.seal(&tenant.to_string(), secret.as_bytes()),
            key_id: sealer.key_id().to_owned(),
            update_time: chrono::Utc::now(),
        };
        let mut tx = self.database.tenant_tx(tenant).await.map_err(fail)?;
        let time = credentials::set_credentials(&mut tx, &sealed, &claims.subject)
            .await
            .map_err(fail)?;
        tx.commit().await.map_err(fail)?;
        tracing::info!(actor = %claims.subject, kind, key_id = sealer.key_id(), "graph credentials set");
        Ok(Response::new(SetGraphCredentialsResponse {
            update_time: Some(tokenwatch_proto::to_timestamp(time)),
        }))
    }

    async fn delete_graph_credentials(
        &self,
        request: Request<DeleteGraphCredentialsRequest>,
    ) -> Result<Response<DeleteGraphCredentialsResponse>, Status> {
        let (tenant, claims) = authorize(
            &request,
            Permission::ActionsManage,
            &request.get_ref().tenant_id,
        )?;
        let mut tx = self.database.tenant_tx(tenant).await.map_err(fail)?;
        let deleted = credentials::delete_credentials(&mut tx, &claims.subject)
            .await
            .map_err(fail)?;
        tx.commit().await.map_err(fail)?;
        if !deleted {
            return Err(Status::not_found(format!(
                "tenant {tenant} has no Graph credentials"
            )));
        }
        tracing::info!(actor = %claims.subject, "graph credentials deleted");
        Ok(Response::new(DeleteGraphCredentialsResponse {}))
    }

    async fn add_webhook(
        &self,
        request: Request<AddWebhookRequest>,
    ) -> Result<Response<AddWebhookResponse>, Status> {
        let (tenant, claims) = authorize(
            &request,
            Permission::ActionsManage,
            &request.get_ref().tenant_id,
        )?;
        let sealer = self.sealer("webhook secrets")?;
        let r = request.into_inner();
        let url = r.url.trim();
        let parsed = reqwest::Url::parse(url)
            .ok()
            .filter(|u| matches!(u.scheme(), "https" | "http") && u.host().is_some())
            .ok_or_else(|| invalid_argument("url", "give an http or https URL"))?;
        let format = match WebhookFormat::try_from(r.format) {
            Ok(WebhookFormat::Generic) => "generic",
            Ok(WebhookFormat::Slack) => "slack",
            Ok(WebhookFormat::Teams) => "teams",
            _ => return Err(invalid_argument("format", "give generic, slack or teams")),
        };
        if r.secret.len() < 16 {
            return Err(invalid_argument(
                "secret",
                "give an HMAC key of at least 16 characters (openssl rand -hex 32)",
            ));
        }
        let min_severity =
            tokenwatch_proto::severity_from_proto(r.min_severity).unwrap_or(Severity::Low);
        let webhook = notifications::WebhookRow {
            webhook_id: Uuid::new_v4(),
            url: parsed.to_string(),
            format: format.to_owned(),
            min_severity: min_severity.to_string(),
            sealed_secret: sealer.seal(&tenant.to_string(), r.secret.as_bytes()),
            key_id: sealer.key_id().to_owned(),
            created_by: claims.subject.clone(),
            create_time: chrono::Utc::now(),
        };
        let mut tx = self.database.tenant_tx(tenant).await.map_err(fail)?;
        notifications::add_webhook(&mut tx, &webhook)
            .await
            .map_err(fail)?;
        tx.commit().await.map_err(fail)?;
        tracing::info!(actor = %claims.subject, format, host = parsed.host_str().unwrap_or_default(), "webhook added");
        Ok(Response::new(AddWebhookResponse {
            webhook: Some(webhook_to_proto(&tenant.to_string(), &webhook)),
        }))
    }

    async fn list_webhooks(
        &self,
        request: Request<ListWebhooksRequest>,
    ) -> Result<Response<ListWebhooksResponse>, Status> {
        let (tenant, _) = authorize(
            &request,
            Permission::ActionsRead,
            &request.get_ref().tenant_id,
        )?;
        let mut tx = self.database.tenant_tx(tenant).await.map_err(fail)?;
        let webhooks = notifications::list_webhooks(&mut tx).await.map_err(fail)?;
        tx.commit().await.map_err(fail)?;
        let tenant = tenant.to_string();
        Ok(Response::new(ListWebhooksResponse {
            webhooks: webhooks
                .iter()
                .map(|w| webhook_to_proto(&tenant, w))
                .collect(),
        }))
    }

    async fn delete_webhook(
        &self,
        request: Request<DeleteWebhookRequest>,
    ) -> Result<Response<DeleteWebhookResponse>, Status> {
        let (tenant, claims) = authorize(
            &request,
            Permission::ActionsManage,
            &request.get_ref().tenant_id,
        )?;
        let id = parse_id("webhook_id", &request.get_ref().webhook_id)?;
        let mut tx = self.database.tenant_tx(tenant).await.map_err(fail)?;
        notifications::delete_webhook(&mut tx, id, &claims.subject)
            .await
            .map_err(fail)?;
        tx.commit().await.map_err(fail)?;
        Ok(Response::new(DeleteWebhookResponse {}))
    }
}
