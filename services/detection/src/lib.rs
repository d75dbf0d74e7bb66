//! Session scoring and findings.
//!
//! The contract is whole (see `proto/tokenwatch/detection/v1/detection.proto`); every RPC already
//! authenticates and checks the caller's role and tenant, and answers UNIMPLEMENTED until its
//! body lands.

use tokenwatch_auth::{AuthInterceptor, Permission, authorize, authorize_scope};
use tokenwatch_error::unimplemented;
use tokenwatch_grpc::ServiceSet;
use tokenwatch_proto::detection::v1::detection_service_server::{
    DetectionService, DetectionServiceServer,
};
use tokenwatch_proto::detection::v1::*;
use tokenwatch_proto::tonic::service::interceptor::InterceptedService;
use tokenwatch_proto::tonic::{self, Request, Response, Status};

/// Mounts the detection service, behind the auth interceptor, on `services`.
pub fn add_to(services: &mut ServiceSet, auth: AuthInterceptor) {
    let server = tokenwatch_grpc::configure_service!(DetectionServiceServer::new(DetectionApi));
    services.add(InterceptedService::new(server, auth));
}

#[derive(Debug)]
struct DetectionApi;

#[tonic::async_trait]
impl DetectionService for DetectionApi {
    async fn list_findings(
        &self,
        request: Request<ListFindingsRequest>,
    ) -> Result<Response<ListFindingsResponse>, Status> {
        authorize_scope(
            &request,
            Permission::FindingsRead,
            &request.get_ref().tenant_id,
        )?;
        Err(unimplemented("ListFindings"))
    }

    async fn get_finding(
        &self,
        request: Request<GetFindingRequest>,
    ) -> Result<Response<GetFindingResponse>, Status> {
        authorize(
            &request,
            Permission::FindingsRead,
            &request.get_ref().tenant_id,
        )?;
        Err(unimplemented("GetFinding"))
    }

    type WatchFindingsStream =
        futures::stream::BoxStream<'static, Result<WatchFindingsResponse, Status>>;

    async fn watch_findings(
        &self,
        request: Request<WatchFindingsRequest>,
    ) -> Result<Response<Self::WatchFindingsStream>, Status> {
        authorize_scope(
            &request,
            Permission::FindingsRead,
            &request.get_ref().tenant_id,
        )?;
        Err(unimplemented("WatchFindings"))
    }

    async fn update_finding_status(
        &self,
        request: Request<UpdateFindingStatusRequest>,
    ) -> Result<Response<UpdateFindingStatusResponse>, Status> {
        authorize(
            &request,
            Permission::FindingsTriage,
            &request.get_ref().tenant_id,
        )?;
        Err(unimplemented("UpdateFindingStatus"))
    }

    async fn list_incidents(
        &self,
        request: Request<ListIncidentsRequest>,
    ) -> Result<Response<ListIncidentsResponse>, Status> {
        authorize(
            &request,
            Permission::FindingsRead,
            &request.get_ref().tenant_id,
        )?;
        Err(unimplemented("ListIncidents"))
    }

    async fn evaluate_session(
        &self,
        request: Request<EvaluateSessionRequest>,
    ) -> Result<Response<EvaluateSessionResponse>, Status> {
        authorize(
            &request,
            Permission::SessionsEvaluate,
            &request.get_ref().tenant_id,
        )?;
        Err(unimplemented("EvaluateSession"))
    }

    async fn get_weights(
        &self,
        request: Request<GetWeightsRequest>,
    ) -> Result<Response<GetWeightsResponse>, Status> {
        authorize(
            &request,
            Permission::WeightsRead,
            &request.get_ref().tenant_id,
        )?;
        Err(unimplemented("GetWeights"))
    }

    async fn set_weights(
        &self,
        request: Request<SetWeightsRequest>,
    ) -> Result<Response<SetWeightsResponse>, Status> {
        authorize(
            &request,
            Permission::WeightsManage,
            &request.get_ref().tenant_id,
        )?;
        Err(unimplemented("SetWeights"))
    }
}
