//! The auth matrix: for every RPC in the contracts, each role against its own tenant and another
//! tenant, and every kind of bad token, must get the right status code.
//!
//! The RPCs come from the descriptor set, so a new RPC is covered (and fails here until the
//! expected roles below name it). The expected roles are written out independently of the
//! server's permission table on purpose: this is the specification it is checked against.

use std::str::FromStr;
use std::time::Duration;

use prost::Message;
use tokenwatch_auth::Role;
use tokenwatch_proto::tonic::codegen::http::uri::PathAndQuery;
use tokenwatch_proto::tonic::transport::Channel;
use tokenwatch_proto::tonic::{self, Code, Request};
use tokenwatch_test_utils::TestServer;

use crate::{TENANT_A, TENANT_B};

/// Any request message of ours, reduced to its first field.
#[derive(Clone, PartialEq, prost::Message)]
struct TenantOnly {
    #[prost(string, tag = "1")]
    tenant_id: String,
}

/// Any response message, contents ignored.
#[derive(Clone, PartialEq, prost::Message)]
struct Anything {}

#[derive(Debug)]
struct Rpc {
    path: String,
    method: String,
    client_streaming: bool,
    server_streaming: bool,
}

fn every_rpc() -> Vec<Rpc> {
    let set = prost_types::FileDescriptorSet::decode(tokenwatch_proto::FILE_DESCRIPTOR_SET)
        .expect("descriptor set");
    let mut rpcs = Vec::new();
    for file in set
        .file
        .iter()
        .filter(|f| f.package().starts_with("tokenwatch."))
    {
        for service in &file.service {
            for method in &service.method {
                rpcs.push(Rpc {
                    path: format!("/{}.{}/{}", file.package(), service.name(), method.name()),
                    method: method.name().to_owned(),
                    client_streaming: method.client_streaming(),
                    server_streaming: method.server_streaming(),
                });
            }
        }
    }
    rpcs
}

use Role::{Analyst, DetectionEngineer, MspAdmin, Service, TenantViewer};

const EVERYONE: &[Role] = &[MspAdmin, Analyst, DetectionEngineer, TenantViewer, Service];

/// Who may call each RPC, as the product specifies it.
fn allowed_roles(method: &str) -> &'static [Role] {
    match method {
        "CreateTenant" | "DeleteTenant" | "TestTenantConnection" | "SetTenantSources" => {
            &[MspAdmin]
        }
        "GetTenant" | "ListTenants" | "GetMonthlyReport" => EVERYONE,

        "IngestBatch" | "IngestStream" => &[MspAdmin, Analyst, Service],
        "ListQuarantinedRecords" | "GetIngestStats" | "ListConnectorStatus" => {
            &[MspAdmin, Analyst, DetectionEngineer, Service]
        }

        "GetUserBaseline" | "GetBaselineStats" => &[MspAdmin, Analyst, DetectionEngineer, Service],
        "RebuildBaselines" => &[MspAdmin, DetectionEngineer, Service],

        "ListFindings" | "GetFinding" | "WatchFindings" | "ListIncidents" => EVERYONE,
        "UpdateFindingStatus" => &[MspAdmin, Analyst],
        "EvaluateSession" => &[MspAdmin, Analyst, DetectionEngineer, Service],
        "GetWeights" | "ListWeightVersions" => EVERYONE,
        "SetWeights" | "RollbackWeights" => &[MspAdmin, DetectionEngineer],

        // Cancelling also needs to be the proposer, or someone who may approve.
        "ProposeAction" | "CancelAction" => &[MspAdmin, Analyst, Service],
        "ApproveAction"
        | "ExecuteAction"
        | "SetResponsePolicy"
        | "SetGraphCredentials"
        | "DeleteGraphCredentials"
        | "AddWebhook"
        | "DeleteWebhook" => &[MspAdmin],
        "GetAction" | "ListActions" | "GetResponsePolicy" | "ListWebhooks" | "GetPsaStatus" => {
            EVERYONE
        }
        "SetPsaConnection" | "GetPsaConnection" | "TestPsaConnection" | "ListPsaCompanies"
        | "MapPsaCompany" => &[MspAdmin],

        "SubmitVerdict" => &[MspAdmin, Analyst],
        "ListVerdicts" => EVERYONE,
        "CreateSuppression" | "DeleteSuppression" => &[MspAdmin, Analyst, DetectionEngineer],
        "ListSuppressions" | "ListSuppressionSuggestions" => EVERYONE,

        other => panic!("no expected roles for {other}: add it to the auth matrix"),
    }
}

/// Calls `rpc` naming `tenant`, with `token` if any, and returns the status code.
async fn call(channel: &Channel, rpc: &Rpc, token: Option<&str>, tenant: &str) -> Code {
    let mut grpc = tonic::client::Grpc::new(channel.clone());
    grpc.ready().await.expect("channel ready");
    let path = PathAndQuery::from_str(&rpc.path).unwrap();
    let codec = tonic_prost::ProstCodec::<TenantOnly, Anything>::default();
    let message = TenantOnly {
        tenant_id: tenant.to_owned(),
    };
    fn with_token<T>(mut request: Request<T>, token: Option<&str>) -> Request<T> {
        if let Some(token) = token {
            let value = format!("Bearer {token}").parse().unwrap();
            request.metadata_mut().insert("authorization", value);
        }
        request
    }
    let result = match (rpc.client_streaming, rpc.server_streaming) {
        (false, false) => grpc
            .unary(with_token(Request::new(message), token), path, codec)
            .await
            .map(drop),
        (true, false) => {
            let stream = tokio_stream::iter(vec![message]);
            grpc.client_streaming(with_token(Request::new(stream), token), path, codec)
                .await
                .map(drop)
        }
        (false, true) => {
            match grpc
                .server_streaming(with_token(Request::new(message), token), path, codec)
                .await
            {
                // A stream that opened is authorized; its first message or end says the rest,
                // and a live stream (WatchFindings) with nothing to say yet is authorized too.
                Ok(response) => {
                    let mut stream = response.into_inner();
                    match tokio::time::timeout(Duration::from_millis(200), stream.message()).await {
                        Ok(first) => first.map(drop),
                        Err(_) => Ok(()),
                    }
                }
                Err(status) => Err(status),
            }
        }
        (true, true) => unreachable!("no bidirectional RPCs in the contracts"),
    };
    match result {
        Ok(()) => Code::Ok,
        Err(status) => status.code(),
    }
}

#[tokio::test]
async fn every_rpc_checks_token_role_and_tenant() {
    let server = TestServer::spawn().await;
    let channel = Channel::from_shared(server.url.clone())
        .unwrap()
        .connect()
        .await
        .unwrap();
    let tokens = &server.tokens;
    let auth_failure = |code: Code| matches!(code, Code::Unauthenticated | Code::PermissionDenied);

    let rpcs = every_rpc();
    assert!(rpcs.len() >= 30, "only {} RPCs found", rpcs.len());
    // Mint once: signing is the slow part of this test.
    let role_tokens: Vec<(Role, String)> = EVERYONE
        .iter()
        .map(|role| (*role, tokens.valid(&[*role], &[TENANT_A])))
        .collect();
    // Bad tokens carrying the most powerful claims.
    let admin = &[MspAdmin];
    let bad_tokens = [
        ("no token", None),
        ("expired", Some(tokens.expired(admin, &["*"]))),
        ("wrong audience", Some(tokens.wrong_audience(admin, &["*"]))),
        (
            "tampered",
            Some(tokens.tampered(&[TenantViewer], &[TENANT_A])),
        ),
        ("alg none", Some(tokens.alg_none(admin, &["*"]))),
        ("untrusted key", Some(tokens.foreign_key(admin, &["*"]))),
    ];
    let mut failures = Vec::new();
    let mut calls = 0;
    for rpc in &rpcs {
        let allowed = allowed_roles(&rpc.method);
        let names_tenant = rpc.method != "ListTenants";
        for (role, token) in &role_tokens {
            let own = call(&channel, rpc, Some(token), TENANT_A).await;
            calls += 1;
            let expected_ok = allowed.contains(role);
            if expected_ok == auth_failure(own) || (!expected_ok && own != Code::PermissionDenied) {
                failures.push(format!("{} as {role} on own tenant: {own:?}", rpc.path));
            }
            if names_tenant {
                let other = call(&channel, rpc, Some(token), TENANT_B).await;
                calls += 1;
                // Only msp_admin acts for every tenant.
                let expected_ok = expected_ok && *role == MspAdmin;
                if expected_ok == auth_failure(other)
                    || (!expected_ok && other != Code::PermissionDenied)
                {
                    failures.push(format!("{} as {role} on other tenant: {other:?}", rpc.path));
                }
            }
        }
        for (kind, token) in &bad_tokens {
            let code = call(&channel, rpc, token.as_deref(), TENANT_A).await;
            calls += 1;
            if code != Code::Unauthenticated {
                failures.push(format!("{} with {kind}: {code:?}", rpc.path));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {calls} calls got the wrong code:\n{}",
        failures.len(),
        failures.join("\n")
    );
    server.stop().await;
}
