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
//! - `ticketing`: tickets in the MSP's PSA, one per incident;
//! - `rounds`: the per-tenant delivery loop both share;
//! - `convert`: the contract's messages from and to storage rows;
//! - `rpc`: the RPCs (`actions`: propose, approve, execute, cancel, read; `settings`: policy,
//!   credentials, webhooks), each authorizing its caller first;
//! - `error`: what can fail inside, and how a caller sees it;
//! - this file: mounting the service and its background tasks, and dispatching to `rpc`.

mod convert;
mod deliver;
mod error;
mod execute;
mod policy;
mod responder;
mod rounds;
mod rpc;
mod ticketing;

use std::sync::Arc;
use std::time::Duration;

use tokenwatch_auth::{AuthInterceptor, Claims, Permission};
pub use tokenwatch_egress::{Destinations, Refused};
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
use tokenwatch_storage::actions::{self};
use tokenwatch_storage::{Database, Feed, StorageError, TenantTx};
use uuid::Uuid;

use crate::deliver::Deliverer;
pub use crate::deliver::MspWebhook;
use crate::execute::Executor;
use crate::policy::Policy;
use crate::ticketing::Ticketing;
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
    /// How long an approved or executing action may sit untouched before a sweep takes it up
    /// (its process stopped mid-action). Longer than a Graph call with all its retries, or a
    /// slow execution would be run twice.
    pub resume_after: Duration,
    /// The MSP-wide webhook (every tenant's events), if configured.
    pub msp_webhook: Option<MspWebhook>,
    /// Where webhooks and the PSA may point: public addresses, and the ranges an operator
    /// allowed.
    pub destinations: Arc<Destinations>,
    /// The console's base URL as people reach it, for links in PSA tickets.
    pub console_url: Option<String>,
    /// How long a new finding waits before it opens a PSA ticket (records arriving late may
    /// retract it meanwhile).
    pub psa_hold: Duration,
}

/// Why the response service cannot start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// An HTTP client could not be built.
    #[error("http client: {0}")]
    Http(#[from] reqwest::Error),
    /// The MSP-wide webhook points somewhere it may not.
    #[error("the MSP-wide webhook (TOKENWATCH_WEBHOOK_URL): {0}")]
    MspWebhook(#[from] Refused),
}

impl Default for ResponseConfig {
    fn default() -> Self {
        ResponseConfig {
            endpoints: Endpoints::default(),
            retry: RetryPolicy::default(),
            sweep_interval: Duration::from_secs(60),
            resume_after: Duration::from_secs(600),
            msp_webhook: None,
            destinations: Arc::new(Destinations::public_only()),
            console_url: None,
            psa_hold: Duration::from_secs(600),
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
) -> Result<(), StartError> {
    if let Some(msp) = &config.msp_webhook {
        let url = reqwest::Url::parse(&msp.url).map_err(|_| Refused::NotHttp)?;
        config.destinations.check_url(&url)?;
    }
    let graph = Arc::new(GraphClient::new(config.endpoints.clone(), config.retry)?);
    let executor = Executor {
        database: database.clone(),
        graph,
        sealer: sealer.clone(),
        record_for: config.resume_after / 2,
    };
    let (feed, listening) = Feed::start(&database, services.draining());
    services.spawn("response findings feed", listening);
    let responding = responder::run(
        executor.clone(),
        feed,
        responder::Timing {
            sweep_every: config.sweep_interval,
            resume_after: config.resume_after,
        },
        services.draining(),
    );
    services.spawn("responder", responding);
    let deliverer = Deliverer::new(
        database.clone(),
        sealer.clone(),
        config.msp_webhook.clone(),
        Arc::clone(&config.destinations),
    )?;
    services.spawn(
        "webhook deliverer",
        rounds::run(
            deliverer,
            database.pool().clone(),
            config.sweep_interval,
            services.draining(),
        ),
    );
    let ticketing = Ticketing::new(
        database.clone(),
        sealer.clone(),
        Arc::clone(&config.destinations),
        config.console_url.clone(),
        config.psa_hold,
    );
    services.spawn(
        "PSA ticketing",
        rounds::run(
            ticketing,
            database.pool().clone(),
            config.sweep_interval,
            services.draining(),
        ),
    );
    let api = ResponseApi {
        database,
        sealer,
        executor,
        destinations: Arc::clone(&config.destinations),
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
    destinations: Arc<Destinations>,
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
        rpc::actions::propose_action(self, request).await
    }

    async fn approve_action(
        &self,
        request: Request<ApproveActionRequest>,
    ) -> Result<Response<ApproveActionResponse>, Status> {
        rpc::actions::approve_action(self, request).await
    }

    async fn execute_action(
        &self,
        request: Request<ExecuteActionRequest>,
    ) -> Result<Response<ExecuteActionResponse>, Status> {
        rpc::actions::execute_action(self, request).await
    }

    async fn cancel_action(
        &self,
        request: Request<CancelActionRequest>,
    ) -> Result<Response<CancelActionResponse>, Status> {
        rpc::actions::cancel_action(self, request).await
    }

    async fn get_action(
        &self,
        request: Request<GetActionRequest>,
    ) -> Result<Response<GetActionResponse>, Status> {
        rpc::actions::get_action(self, request).await
    }

    async fn list_actions(
        &self,
        request: Request<ListActionsRequest>,
    ) -> Result<Response<ListActionsResponse>, Status> {
        rpc::actions::list_actions(self, request).await
    }

    async fn get_response_policy(
        &self,
        request: Request<GetResponsePolicyRequest>,
    ) -> Result<Response<GetResponsePolicyResponse>, Status> {
        rpc::settings::get_response_policy(self, request).await
    }

    async fn set_response_policy(
        &self,
        request: Request<SetResponsePolicyRequest>,
    ) -> Result<Response<SetResponsePolicyResponse>, Status> {
        rpc::settings::set_response_policy(self, request).await
    }

    async fn set_graph_credentials(
        &self,
        request: Request<SetGraphCredentialsRequest>,
    ) -> Result<Response<SetGraphCredentialsResponse>, Status> {
        rpc::settings::set_graph_credentials(self, request).await
    }

    async fn delete_graph_credentials(
        &self,
        request: Request<DeleteGraphCredentialsRequest>,
    ) -> Result<Response<DeleteGraphCredentialsResponse>, Status> {
        rpc::settings::delete_graph_credentials(self, request).await
    }

    async fn add_webhook(
        &self,
        request: Request<AddWebhookRequest>,
    ) -> Result<Response<AddWebhookResponse>, Status> {
        rpc::settings::add_webhook(self, request).await
    }

    async fn list_webhooks(
        &self,
        request: Request<ListWebhooksRequest>,
    ) -> Result<Response<ListWebhooksResponse>, Status> {
        rpc::settings::list_webhooks(self, request).await
    }

    async fn delete_webhook(
        &self,
        request: Request<DeleteWebhookRequest>,
    ) -> Result<Response<DeleteWebhookResponse>, Status> {
        rpc::settings::delete_webhook(self, request).await
    }

    async fn set_psa_connection(
        &self,
        request: Request<SetPsaConnectionRequest>,
    ) -> Result<Response<SetPsaConnectionResponse>, Status> {
        rpc::psa::set_psa_connection(self, request).await
    }

    async fn get_psa_connection(
        &self,
        request: Request<GetPsaConnectionRequest>,
    ) -> Result<Response<GetPsaConnectionResponse>, Status> {
        rpc::psa::get_psa_connection(self, request).await
    }

    async fn test_psa_connection(
        &self,
        request: Request<TestPsaConnectionRequest>,
    ) -> Result<Response<TestPsaConnectionResponse>, Status> {
        rpc::psa::test_psa_connection(self, request).await
    }

    async fn list_psa_companies(
        &self,
        request: Request<ListPsaCompaniesRequest>,
    ) -> Result<Response<ListPsaCompaniesResponse>, Status> {
        rpc::psa::list_psa_companies(self, request).await
    }

    async fn map_psa_company(
        &self,
        request: Request<MapPsaCompanyRequest>,
    ) -> Result<Response<MapPsaCompanyResponse>, Status> {
        rpc::psa::map_psa_company(self, request).await
    }

    async fn get_psa_status(
        &self,
        request: Request<GetPsaStatusRequest>,
    ) -> Result<Response<GetPsaStatusResponse>, Status> {
        rpc::psa::get_psa_status(self, request).await
    }
}
