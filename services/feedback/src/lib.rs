//! Verdicts, weight history and suppressions.
//!
//! The contract is whole (see `proto/tokenwatch/feedback/v1/feedback.proto`); every RPC already
//! authenticates and checks the caller's role and tenant, and answers UNIMPLEMENTED until its
//! body lands.

use tokenwatch_auth::{AuthInterceptor, Permission, authorize};
use tokenwatch_error::unimplemented;
use tokenwatch_grpc::ServiceSet;
use tokenwatch_proto::feedback::v1::feedback_service_server::{
    FeedbackService, FeedbackServiceServer,
};
use tokenwatch_proto::feedback::v1::*;
use tokenwatch_proto::tonic::service::interceptor::InterceptedService;
use tokenwatch_proto::tonic::{self, Request, Response, Status};

/// Mounts the feedback service, behind the auth interceptor, on `services`.
pub fn add_to(services: &mut ServiceSet, auth: AuthInterceptor) {
    let server = tokenwatch_grpc::configure_service!(FeedbackServiceServer::new(FeedbackApi));
    services.add(InterceptedService::new(server, auth));
}

#[derive(Debug)]
struct FeedbackApi;

#[tonic::async_trait]
impl FeedbackService for FeedbackApi {
    async fn submit_verdict(
        &self,
        request: Request<SubmitVerdictRequest>,
    ) -> Result<Response<SubmitVerdictResponse>, Status> {
        authorize(
            &request,
            Permission::VerdictsSubmit,
            &request.get_ref().tenant_id,
        )?;
        Err(unimplemented("SubmitVerdict"))
    }

    async fn list_verdicts(
        &self,
        request: Request<ListVerdictsRequest>,
    ) -> Result<Response<ListVerdictsResponse>, Status> {
        authorize(
            &request,
            Permission::VerdictsRead,
            &request.get_ref().tenant_id,
        )?;
        Err(unimplemented("ListVerdicts"))
    }

    async fn list_weight_versions(
        &self,
        request: Request<ListWeightVersionsRequest>,
    ) -> Result<Response<ListWeightVersionsResponse>, Status> {
        authorize(
            &request,
            Permission::WeightsRead,
            &request.get_ref().tenant_id,
        )?;
        Err(unimplemented("ListWeightVersions"))
    }

    async fn rollback_weights(
        &self,
        request: Request<RollbackWeightsRequest>,
    ) -> Result<Response<RollbackWeightsResponse>, Status> {
        authorize(
            &request,
            Permission::WeightsManage,
            &request.get_ref().tenant_id,
        )?;
        Err(unimplemented("RollbackWeights"))
    }

    async fn create_suppression(
        &self,
        request: Request<CreateSuppressionRequest>,
    ) -> Result<Response<CreateSuppressionResponse>, Status> {
        authorize(
            &request,
            Permission::SuppressionsManage,
            &request.get_ref().tenant_id,
        )?;
        Err(unimplemented("CreateSuppression"))
    }

    async fn list_suppressions(
        &self,
        request: Request<ListSuppressionsRequest>,
    ) -> Result<Response<ListSuppressionsResponse>, Status> {
        authorize(
            &request,
            Permission::SuppressionsRead,
            &request.get_ref().tenant_id,
        )?;
        Err(unimplemented("ListSuppressions"))
    }

    async fn delete_suppression(
        &self,
        request: Request<DeleteSuppressionRequest>,
    ) -> Result<Response<DeleteSuppressionResponse>, Status> {
        authorize(
            &request,
            Permission::SuppressionsManage,
            &request.get_ref().tenant_id,
        )?;
        Err(unimplemented("DeleteSuppression"))
    }

    async fn list_suppression_suggestions(
        &self,
        request: Request<ListSuppressionSuggestionsRequest>,
    ) -> Result<Response<ListSuppressionSuggestionsResponse>, Status> {
        authorize(
            &request,
            Permission::SuppressionsRead,
            &request.get_ref().tenant_id,
        )?;
        Err(unimplemented("ListSuppressionSuggestions"))
    }
}
