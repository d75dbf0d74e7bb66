//! Response actions through Microsoft Graph under a per-tenant policy.
//!
//! The contract is whole (see `proto/tokenwatch/response/v1/response.proto`); every RPC already
//! authenticates and checks the caller's role and tenant, and answers UNIMPLEMENTED until its
//! body lands.

use tokenwatch_auth::{AuthInterceptor, Permission, authorize};
use tokenwatch_error::unimplemented;
use tokenwatch_grpc::ServiceSet;
use tokenwatch_proto::response::v1::response_service_server::{
    ResponseService, ResponseServiceServer,
};
use tokenwatch_proto::response::v1::*;
use tokenwatch_proto::tonic::service::interceptor::InterceptedService;
use tokenwatch_proto::tonic::{self, Request, Response, Status};

/// Mounts the response service, behind the auth interceptor, on `services`.
pub fn add_to(services: &mut ServiceSet, auth: AuthInterceptor) {
    let server = tokenwatch_grpc::configure_service!(ResponseServiceServer::new(ResponseApi));
    services.add(InterceptedService::new(server, auth));
}

#[derive(Debug)]
struct ResponseApi;

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
        authorize(
            &request,
            Permission::ActionsManage,
            &request.get_ref().tenant_id,
        )?;
        Err(unimplemented("SetGraphCredentials"))
    }

    async fn delete_graph_credentials(
        &self,
        request: Request<DeleteGraphCredentialsRequest>,
    ) -> Result<Response<DeleteGraphCredentialsResponse>, Status> {
        authorize(
            &request,
            Permission::ActionsManage,
            &request.get_ref().tenant_id,
        )?;
        Err(unimplemented("DeleteGraphCredentials"))
    }
}
