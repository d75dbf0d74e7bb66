//! Response actions through Microsoft Graph under a per-tenant policy.
//!
//! The contract is whole (see `proto/tokenwatch/response/v1/response.proto`); every RPC already
//! authenticates and checks the caller's role and tenant, and answers UNIMPLEMENTED until its
//! body lands.

use std::sync::Arc;

use tokenwatch_auth::{AuthInterceptor, Permission, authorize};
use tokenwatch_error::{into_status, invalid_argument, unimplemented};
use tokenwatch_grpc::ServiceSet;
use tokenwatch_proto::response::v1::response_service_server::{
    ResponseService, ResponseServiceServer,
};
use tokenwatch_proto::response::v1::*;
use tokenwatch_proto::tonic::service::interceptor::InterceptedService;
use tokenwatch_proto::tonic::{self, Request, Response, Status};
use tokenwatch_seal::Sealer;
use tokenwatch_storage::Database;
use tokenwatch_storage::credentials::{self, SealedCredentials};

/// Mounts the response service, behind the auth interceptor, on `services`. Without a
/// `sealer` (no credentials key configured), Graph credentials cannot be set.
pub fn add_to(
    services: &mut ServiceSet,
    database: Database,
    sealer: Option<Arc<Sealer>>,
    auth: AuthInterceptor,
) {
    let api = ResponseApi { database, sealer };
    let server = tokenwatch_grpc::configure_service!(ResponseServiceServer::new(api));
    services.add(InterceptedService::new(server, auth));
}

#[derive(Debug)]
struct ResponseApi {
    database: Database,
    sealer: Option<Arc<Sealer>>,
}

#[tonic::async_trait]
impl ResponseService for ResponseApi {
    async fn propose_action(
        &self,
        request: Request<ProposeActionRequest>,
    ) -> Result<Response<ProposeActionResponse>, Status> {
        authorize(
            &request,
            Permission::ActionsPropose,
            &request.get_ref().tenant_id,
        )?;
        Err(unimplemented("ProposeAction"))
    }

    async fn approve_action(
        &self,
        request: Request<ApproveActionRequest>,
    ) -> Result<Response<ApproveActionResponse>, Status> {
        authorize(
            &request,
            Permission::ActionsManage,
            &request.get_ref().tenant_id,
        )?;
        Err(unimplemented("ApproveAction"))
    }

    async fn execute_action(
        &self,
        request: Request<ExecuteActionRequest>,
    ) -> Result<Response<ExecuteActionResponse>, Status> {
        authorize(
            &request,
            Permission::ActionsManage,
            &request.get_ref().tenant_id,
        )?;
        Err(unimplemented("ExecuteAction"))
    }

    async fn get_action(
        &self,
        request: Request<GetActionRequest>,
    ) -> Result<Response<GetActionResponse>, Status> {
        authorize(
            &request,
            Permission::ActionsRead,
            &request.get_ref().tenant_id,
        )?;
        Err(unimplemented("GetAction"))
    }

    async fn list_actions(
        &self,
        request: Request<ListActionsRequest>,
    ) -> Result<Response<ListActionsResponse>, Status> {
        authorize(
            &request,
            Permission::ActionsRead,
            &request.get_ref().tenant_id,
        )?;
        Err(unimplemented("ListActions"))
    }

    async fn get_response_policy(
        &self,
        request: Request<GetResponsePolicyRequest>,
    ) -> Result<Response<GetResponsePolicyResponse>, Status> {
        authorize(
            &request,
            Permission::ActionsRead,
            &request.get_ref().tenant_id,
        )?;
        Err(unimplemented("GetResponsePolicy"))
    }

    async fn set_response_policy(
        &self,
        request: Request<SetResponsePolicyRequest>,
    ) -> Result<Response<SetResponsePolicyResponse>, Status> {
        authorize(
            &request,
            Permission::ActionsManage,
            &request.get_ref().tenant_id,
        )?;
        Err(unimplemented("SetResponsePolicy"))
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
        let sealer = self.sealer.as_ref().ok_or_else(|| {
            Status::failed_precondition(
                "this server has no credentials key (TOKENWATCH_CREDENTIALS_KEY): Graph credentials cannot be stored",
            )
        })?;
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
            Some(set_graph_credentials_request::Secret::CertificatePem(pem))
                if pem.contains("-----BEGIN") =>
            {
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
        let mut tx = self.database.tenant_tx(tenant).await.map_err(into_status)?;
        let time = credentials::set_credentials(&mut tx, &sealed, &claims.subject)
            .await
            .map_err(into_status)?;
        tx.commit()
            .await
            .map_err(|e| into_status(tokenwatch_storage::StorageError::from(e)))?;
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
        let mut tx = self.database.tenant_tx(tenant).await.map_err(into_status)?;
        let deleted = credentials::delete_credentials(&mut tx, &claims.subject)
            .await
            .map_err(into_status)?;
        tx.commit()
            .await
            .map_err(|e| into_status(tokenwatch_storage::StorageError::from(e)))?;
        if !deleted {
            return Err(Status::not_found(format!(
                "tenant {tenant} has no Graph credentials"
            )));
        }
        tracing::info!(actor = %claims.subject, "graph credentials deleted");
        Ok(Response::new(DeleteGraphCredentialsResponse {}))
    }
}
