//! Round trip of one authorized, tenant-scoped RPC through the whole stack: loopback HTTP/2,
//! the observe layer, the auth gate (token cached after the first call), a row-level-security
//! transaction and one query. Needs the stores: `make up && source .run/env`, then
//! `cargo bench -p tokenwatch-e2e --bench rpc`.

// Benchmarks link every dependency of the package; only some are used here.
#![allow(unused_crate_dependencies)]

use criterion::{Criterion, criterion_group, criterion_main};
use tokenwatch_auth::Role;
use tokenwatch_proto::tenant::v1::tenant_service_client::TenantServiceClient;
use tokenwatch_proto::tenant::v1::{CreateTenantRequest, GetTenantRequest};
use tokenwatch_test_utils::TestServer;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_client::HealthClient;

const TENANT: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";

fn bench_get_tenant(c: &mut Criterion) {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let (server, client) = runtime.block_on(async {
        let server = TestServer::spawn().await;
        let token = server.tokens.valid(&[Role::MspAdmin], &[]);
        let channel = tokenwatch_grpc::connect(&server.url, Some(&token))
            .await
            .unwrap();
        let mut client = TenantServiceClient::new(channel);
        client
            .create_tenant(CreateTenantRequest {
                tenant_id: TENANT.to_owned(),
                display_name: "Contoso".to_owned(),
            })
            .await
            .unwrap();
        (server, client)
    });
    c.bench_function("rpc/get_tenant", |b| {
        b.to_async(&runtime).iter(|| {
            let mut client = client.clone();
            async move {
                client
                    .get_tenant(GetTenantRequest {
                        tenant_id: TENANT.to_owned(),
                    })
                    .await
                    .unwrap()
            }
        })
    });
    // The same round trip without auth or database, to separate transport from the rest.
    let health = runtime.block_on(async {
        let channel = tokenwatch_grpc::connect(&server.url, None).await.unwrap();
        HealthClient::new(channel)
    });
    c.bench_function("rpc/health_check", |b| {
        b.to_async(&runtime).iter(|| {
            let mut health = health.clone();
            async move {
                health
                    .check(HealthCheckRequest {
                        service: String::new(),
                    })
                    .await
                    .unwrap()
            }
        })
    });
    drop(client);
    drop(health);
    runtime.block_on(server.stop());
}

criterion_group!(benches, bench_get_tenant);
criterion_main!(benches);
