//! Backup and restore of a running system, as docs/operations.md tells an operator to do it:
//! `pg_dump` of the live database, restored with `pg_restore` into a new one, and a new `serve`
//! on it with an empty Redis (the old machine is gone). Findings and weights are as before, and
//! the pipeline resumes from its stored checkpoints: what arrives after the restore gives the
//! findings of one scan over everything.

use std::process::Command;

use tokenwatch_auth::Role;
use tokenwatch_cache::Cache;
use tokenwatch_proto::common::v1::WeightSet;
use tokenwatch_proto::detection::v1::detection_service_client::DetectionServiceClient;
use tokenwatch_proto::detection::v1::{GetWeightsRequest, SetWeightsRequest};
use tokenwatch_test_utils::processes::OwnRedis;
use tokenwatch_test_utils::{TestServer, empty_database_url, pipeline_options};

use crate::pipeline::{assert_same, ingest, online, pieces, scan, settle_on, simulated};

async fn detection(
    server: &TestServer,
    tenant: &str,
) -> DetectionServiceClient<tokenwatch_grpc::AuthedChannel> {
    let token = server.tokens.valid(&[Role::DetectionEngineer], &[tenant]);
    let channel = tokenwatch_grpc::connect(&server.url, Some(&token))
        .await
        .unwrap();
    DetectionServiceClient::new(channel)
}

async fn weights(server: &TestServer, tenant: &str) -> WeightSet {
    detection(server, tenant)
        .await
        .get_weights(GetWeightsRequest {
            tenant_id: tenant.to_owned(),
            version: 0,
        })
        .await
        .unwrap()
        .into_inner()
        .weight_set
        .unwrap()
}

fn run(command: &mut Command) {
    let output = command
        .output()
        .expect("pg_dump and pg_restore are installed");
    assert!(
        output.status.success(),
        "{command:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_dump_of_a_running_system_restores_into_a_new_database_and_resumes() {
    let mut redis = OwnRedis::start();
    let target = tokenwatch_server::RedisTarget::Single(redis.url());
    let (tenant, files) = simulated(16, 10);
    let live_url = empty_database_url().await;
    let server = TestServer::spawn_on_redis(&live_url, &target, &[], pipeline_options(1)).await;
    server.register(&[&tenant]).await;
    let pieces = pieces(&files);
    // Most of it before the dump, so the first findings are in it.
    let (first, rest) = pieces.split_at(pieces.len() * 4 / 5);
    ingest(&server, &tenant, first).await;
    let cache = Cache::connect(&redis.url()).await.unwrap();
    settle_on(&server, &tenant, &cache).await;

    // A second weight version (the same values, so the scan stays the reference).
    let current = weights(&server, &tenant).await;
    detection(&server, &tenant)
        .await
        .set_weights(SetWeightsRequest {
            tenant_id: tenant.clone(),
            weights: current.weights.clone(),
            threshold: current.threshold,
            reason: "restore drill".to_owned(),
            base_version: current.version,
            pin: false,
        })
        .await
        .unwrap();
    let weights_before = weights(&server, &tenant).await;
    assert_eq!(weights_before.version, current.version + 1);
    let findings_before = online(&server, &tenant).await;
    assert!(!findings_before.is_empty(), "the first half has findings");

    // The dump is taken while serve runs.
    let dump = std::env::temp_dir().join(format!("tw-{}.dump", uuid::Uuid::new_v4().simple()));
    run(Command::new("pg_dump")
        .arg("--format=custom")
        .arg("--file")
        .arg(&dump)
        .arg("--dbname")
        .arg(&live_url));
    server.stop().await;
    redis.kill();
    redis.start_again();

    let restored_url = empty_database_url().await;
    run(Command::new("pg_restore")
        .arg("--exit-on-error")
        .arg("--dbname")
        .arg(&restored_url)
        .arg(&dump));
    std::fs::remove_file(&dump).ok();
    let server = TestServer::spawn_on_redis(&restored_url, &target, &[], pipeline_options(1)).await;
    assert_eq!(online(&server, &tenant).await, findings_before);
    let weights_after = weights(&server, &tenant).await;
    assert_eq!(weights_after.version, weights_before.version);
    assert_eq!(weights_after.weights, weights_before.weights);

    // The pipeline resumes from the restored checkpoints, its hot state rebuilt from Postgres.
    ingest(&server, &tenant, rest).await;
    let cache = Cache::connect(&redis.url()).await.unwrap();
    settle_on(&server, &tenant, &cache).await;
    assert_same(&online(&server, &tenant).await, &scan(&files, &tenant));
    server.stop().await;
}
