//! Customer tenants' Graph credentials: set over gRPC, sealed at rest, never returned or
//! audited in the clear, reported by the tenant registry only as "set, and when".

use tokenwatch_auth::Role;
use tokenwatch_proto::Code;
use tokenwatch_proto::response::v1::response_service_client::ResponseServiceClient;
use tokenwatch_proto::response::v1::{
    DeleteGraphCredentialsRequest, SetGraphCredentialsRequest, set_graph_credentials_request,
};
use tokenwatch_proto::tenant::v1::GetTenantRequest;
use tokenwatch_proto::tenant::v1::tenant_service_client::TenantServiceClient;
use tokenwatch_server::ServiceName;
use tokenwatch_test_utils::{TestServer, random_tenant, test_options};
use tokenwatch_types::TenantId;

const SECRET: &str = "Qx8~very.secret-client.value_42";
const KEY: &str = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="; // 32 bytes

fn request(tenant: &str) -> SetGraphCredentialsRequest {
    SetGraphCredentialsRequest {
        tenant_id: tenant.to_owned(),
        client_id: "0a1b2c3d-0000-4000-8000-00000000a99e".to_owned(),
        secret: Some(set_graph_credentials_request::Secret::ClientSecret(
            SECRET.to_owned(),
        )),
    }
}

#[tokio::test]
async fn credentials_are_sealed_and_never_leave_the_service() {
    let mut options = test_options();
    options.credentials_key = Some(secrecy::SecretString::from(KEY.to_owned()));
    let server = TestServer::spawn_with_options(&[ServiceName::Response], options).await;
    let tenant = random_tenant();
    server.register(&[&tenant]).await;
    let admin = server.tokens.valid(&[Role::MspAdmin], &[]);
    let channel = tokenwatch_grpc::connect(&server.url, Some(&admin))
        .await
        .unwrap();
    let mut response = ResponseServiceClient::new(channel.clone());
    let mut registry = TenantServiceClient::new(channel);

    let set = response
        .set_graph_credentials(request(&tenant))
        .await
        .unwrap()
        .into_inner();
    assert!(set.update_time.is_some());
    let shown = registry
        .get_tenant(GetTenantRequest {
            tenant_id: tenant.clone(),
        })
        .await
        .unwrap()
        .into_inner()
        .tenant
        .unwrap();
    assert!(shown.credentials_set);
    assert_eq!(shown.credentials_update_time, set.update_time);
    assert!(!format!("{shown:?}").contains(SECRET));

    // At rest: sealed, and the audit trail names the change, not the secret.
    let id = TenantId::parse(&tenant).unwrap();
    let (sealed, kind): (Vec<u8>, String) =
        sqlx::query_as("SELECT sealed, kind FROM graph_credentials WHERE tenant_id = $1")
            .bind(id.as_uuid())
            .fetch_one(server.database.pool())
            .await
            .unwrap();
    assert_eq!(kind, "client_secret");
    assert!(!sealed.windows(12).any(|w| w == &SECRET.as_bytes()[..12]));
    let audit: Vec<String> =
        sqlx::query_scalar("SELECT details::text FROM audit_log WHERE tenant_id = $1")
            .bind(id.as_uuid())
            .fetch_all(server.database.pool())
            .await
            .unwrap();
    assert!(audit.iter().any(|d| d.contains("client_secret")));
    assert!(audit.iter().all(|d| !d.contains(SECRET)));

    // Only msp_admin sets them, and only for tenants it may act for.
    let analyst = server.tokens.valid(&[Role::Analyst], &[&tenant]);
    let channel = tokenwatch_grpc::connect(&server.url, Some(&analyst))
        .await
        .unwrap();
    let denied = ResponseServiceClient::new(channel)
        .set_graph_credentials(request(&tenant))
        .await
        .unwrap_err();
    assert_eq!(denied.code(), Code::PermissionDenied);

    response
        .delete_graph_credentials(DeleteGraphCredentialsRequest {
            tenant_id: tenant.clone(),
        })
        .await
        .unwrap();
    let shown = registry
        .get_tenant(GetTenantRequest {
            tenant_id: tenant.clone(),
        })
        .await
        .unwrap()
        .into_inner()
        .tenant
        .unwrap();
    assert!(!shown.credentials_set && shown.credentials_update_time.is_none());
    let again = response
        .delete_graph_credentials(DeleteGraphCredentialsRequest {
            tenant_id: tenant.clone(),
        })
        .await
        .unwrap_err();
    assert_eq!(again.code(), Code::NotFound);
}

#[tokio::test]
async fn without_a_key_credentials_are_refused() {
    let server = TestServer::spawn_with(&[ServiceName::Response]).await;
    let tenant = random_tenant();
    server.register(&[&tenant]).await;
    let admin = server.tokens.valid(&[Role::MspAdmin], &[]);
    let channel = tokenwatch_grpc::connect(&server.url, Some(&admin))
        .await
        .unwrap();
    let refused = ResponseServiceClient::new(channel)
        .set_graph_credentials(request(&tenant))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::FailedPrecondition);
    assert!(refused.message().contains("TOKENWATCH_CREDENTIALS_KEY"));
}
