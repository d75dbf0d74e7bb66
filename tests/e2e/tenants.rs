//! The tenant registry over gRPC, as msp_admin and as scoped roles.

use tokenwatch_auth::Role;
use tokenwatch_grpc::AuthedChannel;
use tokenwatch_proto::Code;
use tokenwatch_proto::tenant::v1::tenant_service_client::TenantServiceClient;
use tokenwatch_proto::tenant::v1::*;
use tokenwatch_test_utils::TestServer;

use crate::{TENANT_A, TENANT_B};

type Client = TenantServiceClient<AuthedChannel>;

/// A client as the CLI builds one, with a token for `roles` on `tenants`.
async fn client(server: &TestServer, roles: &[Role], tenants: &[&str]) -> Client {
    let token = server.tokens.valid(roles, tenants);
    let channel = tokenwatch_grpc::connect(&server.url, Some(&token))
        .await
        .unwrap();
    TenantServiceClient::new(channel)
}

async fn create(
    client: &mut Client,
    id: &str,
    name: &str,
) -> Result<Tenant, tokenwatch_proto::Status> {
    client
        .create_tenant(CreateTenantRequest {
            tenant_id: id.to_owned(),
            display_name: name.to_owned(),
        })
        .await
        .map(|r| r.into_inner().tenant.unwrap())
}

#[tokio::test]
async fn tenant_lifecycle() {
    let server = TestServer::spawn().await;
    let mut admin = client(&server, &[Role::MspAdmin], &[]).await;

    let created = create(&mut admin, &TENANT_A.to_uppercase(), "Contoso")
        .await
        .unwrap();
    assert_eq!(
        created.tenant_id, TENANT_A,
        "ids are stored in canonical form"
    );
    assert_eq!(created.display_name, "Contoso");
    assert!(!created.credentials_set);
    create(&mut admin, TENANT_B, "Fabrikam").await.unwrap();

    let duplicate = create(&mut admin, TENANT_A, "Again").await.unwrap_err();
    assert_eq!(duplicate.code(), Code::AlreadyExists);
    let bad_id = create(&mut admin, "contoso.onmicrosoft.com", "X")
        .await
        .unwrap_err();
    assert_eq!(bad_id.code(), Code::InvalidArgument);
    let no_name = create(&mut admin, "cccccccc-0000-4000-8000-000000000003", " ")
        .await
        .unwrap_err();
    assert_eq!(no_name.code(), Code::InvalidArgument);

    // An analyst scoped to A sees only A, and cannot learn whether B exists.
    let mut analyst = client(&server, &[Role::Analyst], &[TENANT_A]).await;
    let listed = analyst
        .list_tenants(ListTenantsRequest::default())
        .await
        .unwrap()
        .into_inner();
    let ids: Vec<&str> = listed
        .tenants
        .iter()
        .map(|t| t.tenant_id.as_str())
        .collect();
    assert_eq!(ids, [TENANT_A]);
    for other in [TENANT_B, "dddddddd-0000-4000-8000-000000000004"] {
        let denied = analyst
            .get_tenant(GetTenantRequest {
                tenant_id: other.to_owned(),
            })
            .await
            .unwrap_err();
        assert_eq!(denied.code(), Code::PermissionDenied, "{other}");
    }

    admin
        .delete_tenant(DeleteTenantRequest {
            tenant_id: TENANT_A.to_owned(),
        })
        .await
        .unwrap();
    let gone = analyst
        .get_tenant(GetTenantRequest {
            tenant_id: TENANT_A.to_owned(),
        })
        .await
        .unwrap_err();
    assert_eq!(gone.code(), Code::NotFound);
    let gone = admin
        .delete_tenant(DeleteTenantRequest {
            tenant_id: TENANT_A.to_owned(),
        })
        .await
        .unwrap_err();
    assert_eq!(gone.code(), Code::NotFound);
    server.stop().await;
}

#[tokio::test]
async fn list_tenants_pages_through_everything_once() {
    let server = TestServer::spawn().await;
    let mut admin = client(&server, &[Role::MspAdmin], &[]).await;
    let mut expected = Vec::new();
    for i in 0..7 {
        let id = format!("{i:08x}-1111-4111-8111-111111111111");
        create(&mut admin, &id, &format!("tenant {i}"))
            .await
            .unwrap();
        expected.push(id);
    }
    let mut seen = Vec::new();
    let mut page_token = String::new();
    let mut pages = 0;
    loop {
        let page = admin
            .list_tenants(ListTenantsRequest {
                page_size: 3,
                page_token,
            })
            .await
            .unwrap()
            .into_inner();
        pages += 1;
        assert!(page.tenants.len() <= 3);
        seen.extend(page.tenants.into_iter().map(|t| t.tenant_id));
        if page.next_page_token.is_empty() {
            break;
        }
        page_token = page.next_page_token;
    }
    assert_eq!(pages, 3);
    assert_eq!(seen, expected);

    let bad = admin
        .list_tenants(ListTenantsRequest {
            page_size: 3,
            page_token: "garbage".to_owned(),
        })
        .await
        .unwrap_err();
    assert_eq!(bad.code(), Code::InvalidArgument);
    let negative = admin
        .list_tenants(ListTenantsRequest {
            page_size: -1,
            page_token: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(negative.code(), Code::InvalidArgument);
    server.stop().await;
}
