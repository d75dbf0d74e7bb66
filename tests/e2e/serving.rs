//! What every server answers without a token: health per service and reflection in both
//! versions; and a graceful shutdown that reports NOT_SERVING first.

use tokenwatch_proto::tonic::transport::Channel;
use tokenwatch_server::ServiceName;
use tokenwatch_test_utils::TestServer;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;
use tonic_health::pb::{HealthCheckRequest, HealthCheckResponse};

async fn channel(server: &TestServer) -> Channel {
    Channel::from_shared(server.url.clone())
        .unwrap()
        .connect()
        .await
        .unwrap()
}

async fn health(
    client: &mut HealthClient<Channel>,
    service: &str,
) -> Result<HealthCheckResponse, tokenwatch_proto::Status> {
    client
        .check(HealthCheckRequest {
            service: service.to_owned(),
        })
        .await
        .map(|r| r.into_inner())
}

#[tokio::test]
async fn serve_reports_every_service_serving() {
    let server = TestServer::spawn().await;
    let mut client = HealthClient::new(channel(&server).await);
    for service in tokenwatch_proto::SERVICE_NAMES.iter().chain(&[""]) {
        let answer = health(&mut client, service).await.unwrap();
        assert_eq!(answer.status(), ServingStatus::Serving, "{service}");
    }
    server.stop().await;
}

#[tokio::test]
async fn a_subset_serves_only_what_it_hosts() {
    let server = TestServer::spawn_with(&[ServiceName::Ingest, ServiceName::Detection]).await;
    let mut client = HealthClient::new(channel(&server).await);
    for hosted in [
        "tokenwatch.tenant.v1.TenantService",
        "tokenwatch.ingest.v1.IngestService",
        "tokenwatch.detection.v1.DetectionService",
    ] {
        assert_eq!(
            health(&mut client, hosted).await.unwrap().status(),
            ServingStatus::Serving
        );
    }
    let missing = health(&mut client, "tokenwatch.baseline.v1.BaselineService")
        .await
        .unwrap_err();
    assert_eq!(missing.code(), tokenwatch_proto::Code::NotFound);

    let listed = reflection_v1_services(&server).await;
    assert!(listed.contains(&"tokenwatch.ingest.v1.IngestService".to_owned()));
    assert!(!listed.contains(&"tokenwatch.baseline.v1.BaselineService".to_owned()));
    server.stop().await;
}

async fn reflection_v1_services(server: &TestServer) -> Vec<String> {
    use tonic_reflection::pb::v1::ServerReflectionRequest;
    use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
    use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
    use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;

    let mut client = ServerReflectionClient::new(channel(server).await);
    let request = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut answers = client
        .server_reflection_info(tokio_stream::iter(vec![request]))
        .await
        .unwrap()
        .into_inner();
    let answer = answers.message().await.unwrap().unwrap();
    match answer.message_response {
        Some(MessageResponse::ListServicesResponse(list)) => {
            list.service.into_iter().map(|s| s.name).collect()
        }
        other => panic!("unexpected reflection answer {other:?}"),
    }
}

#[tokio::test]
async fn reflection_answers_in_v1_and_v1alpha() {
    let server = TestServer::spawn().await;
    let mut listed = reflection_v1_services(&server).await;
    listed.sort();
    let mut expected: Vec<String> = tokenwatch_proto::SERVICE_NAMES
        .iter()
        .map(|s| s.to_string())
        .chain([
            "grpc.health.v1.Health".to_owned(),
            "grpc.reflection.v1.ServerReflection".to_owned(),
            "grpc.reflection.v1alpha.ServerReflection".to_owned(),
        ])
        .collect();
    expected.sort();
    assert_eq!(listed, expected);

    // Every listed service resolves to its file in both versions: generic clients such as
    // `buf curl --list-methods` and grpcurl ask for each one.
    for service in &listed {
        let v1 = v1_file_containing(&server, service).await;
        let v1alpha = v1alpha_file_containing(&server, service).await;
        assert!(
            !v1.is_empty() && v1 == v1alpha,
            "{service}: {v1:?} / {v1alpha:?}"
        );
    }
    assert!(
        v1alpha_file_containing(&server, "tokenwatch.detection.v1.DetectionService")
            .await
            .contains(&"tokenwatch/detection/v1/detection.proto".to_owned())
    );
    server.stop().await;
}

#[tokio::test]
async fn shutdown_reports_not_serving_then_stops() {
    let server = TestServer::spawn().await;
    let mut client = HealthClient::new(channel(&server).await);
    let mut watch = client
        .watch(HealthCheckRequest {
            service: "tokenwatch.ingest.v1.IngestService".to_owned(),
        })
        .await
        .unwrap()
        .into_inner();
    let first = watch.message().await.unwrap().unwrap();
    assert_eq!(first.status(), ServingStatus::Serving);
    let address = server.address;
    let stopping = tokio::spawn(server.stop());
    let next = watch.message().await.unwrap().unwrap();
    assert_eq!(next.status(), ServingStatus::NotServing);
    drop(watch);
    drop(client);
    stopping.await.unwrap();
    assert!(tokio::net::TcpStream::connect(address).await.is_err());
}

fn file_names(files: &[Vec<u8>]) -> Vec<String> {
    files
        .iter()
        .map(|bytes| {
            <prost_types::FileDescriptorProto as prost::Message>::decode(bytes.as_slice())
                .unwrap()
                .name()
                .to_owned()
        })
        .collect()
}

/// Asks one reflection version for the file defining `symbol`; the two versions' types differ
/// only by module, hence the macro.
macro_rules! file_containing {
    ($version:ident, $server:expr, $symbol:expr) => {{
        use tonic_reflection::pb::$version::ServerReflectionRequest;
        use tonic_reflection::pb::$version::server_reflection_client::ServerReflectionClient;
        use tonic_reflection::pb::$version::server_reflection_request::MessageRequest;
        use tonic_reflection::pb::$version::server_reflection_response::MessageResponse;

        let symbol: &str = $symbol;
        let mut client = ServerReflectionClient::new(channel($server).await);
        let request = ServerReflectionRequest {
            host: String::new(),
            message_request: Some(MessageRequest::FileContainingSymbol(symbol.to_owned())),
        };
        let mut answers = client
            .server_reflection_info(tokio_stream::iter(vec![request]))
            .await
            .unwrap()
            .into_inner();
        match answers.message().await {
            Ok(Some(answer)) => match answer.message_response {
                Some(MessageResponse::FileDescriptorResponse(files)) => {
                    file_names(&files.file_descriptor_proto)
                }
                other => panic!(
                    "{} cannot resolve {symbol}: {other:?}",
                    stringify!($version)
                ),
            },
            other => panic!(
                "{} cannot resolve {symbol}: {other:?}",
                stringify!($version)
            ),
        }
    }};
}

async fn v1_file_containing(server: &TestServer, symbol: &str) -> Vec<String> {
    file_containing!(v1, server, symbol)
}

async fn v1alpha_file_containing(server: &TestServer, symbol: &str) -> Vec<String> {
    file_containing!(v1alpha, server, symbol)
}
