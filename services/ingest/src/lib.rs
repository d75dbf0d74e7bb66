//! The ingest service: the gRPC face of `tokenwatch-ingestor`. Every handler authorizes the
//! caller for the tenant it names, then hands each document to the [`Ingestor`] the connectors
//! share; reads (quarantine, counts) go to storage.
//!
//! # Layout
//!
//! - `api`: the gRPC handlers;
//! - [`add_to`]: mounts the service.

mod api;

use tokenwatch_auth::AuthInterceptor;
use tokenwatch_grpc::ServiceSet;
use tokenwatch_ingestor::Ingestor;
use tokenwatch_proto::ingest::v1::ingest_service_server::IngestServiceServer;
use tokenwatch_proto::tonic::service::interceptor::InterceptedService;

/// Mounts the ingest service, behind the auth interceptor, on `services`.
pub fn add_to(services: &mut ServiceSet, ingestor: &Ingestor, auth: AuthInterceptor) {
    let server = tokenwatch_grpc::configure_service!(IngestServiceServer::new(
        api::IngestApi::new(ingestor.clone())
    ));
    services.add(InterceptedService::new(server, auth));
}
