//! Per-user baselines with memory, hot in Redis, snapshotted in Postgres.
//!
//! The contract is whole (see `proto/tokenwatch/baseline/v1/baseline.proto`); every RPC already
//! authenticates and checks the caller's role and tenant, and answers UNIMPLEMENTED until its
//! body lands.

use tokenwatch_auth::{AuthInterceptor, Permission, authorize};
use tokenwatch_error::unimplemented;
use tokenwatch_grpc::ServiceSet;
use tokenwatch_proto::baseline::v1::baseline_service_server::{
    BaselineService, BaselineServiceServer,
};
use tokenwatch_proto::baseline::v1::*;
use tokenwatch_proto::tonic::service::interceptor::InterceptedService;
use tokenwatch_proto::tonic::{self, Request, Response, Status};

/// Mounts the baseline service, behind the auth interceptor, on `services`.
pub fn add_to(services: &mut ServiceSet, auth: AuthInterceptor) {
    let server = tokenwatch_grpc::configure_service!(BaselineServiceServer::new(BaselineApi));
    services.add(InterceptedService::new(server, auth));
}

#[derive(Debug)]
struct BaselineApi;

#[tonic::async_trait]
impl BaselineService for BaselineApi {
    async fn get_user_baseline(
        &self,
        request: Request<GetUserBaselineRequest>,
    ) -> Result<Response<GetUserBaselineResponse>, Status> {
        authorize(
            &request,
            Permission::BaselinesRead,
            &request.get_ref().tenant_id,
        )?;
        Err(unimplemented("GetUserBaseline"))
    }

    async fn rebuild_baselines(
        &self,
        request: Request<RebuildBaselinesRequest>,
    ) -> Result<Response<RebuildBaselinesResponse>, Status> {
        authorize(
            &request,
            Permission::BaselinesRebuild,
            &request.get_ref().tenant_id,
        )?;
        Err(unimplemented("RebuildBaselines"))
    }

    async fn get_baseline_stats(
        &self,
        request: Request<GetBaselineStatsRequest>,
    ) -> Result<Response<GetBaselineStatsResponse>, Status> {
        authorize(
            &request,
            Permission::BaselinesRead,
            &request.get_ref().tenant_id,
        )?;
        Err(unimplemented("GetBaselineStats"))
    }
}
