//! The tenant registry. A tenant must be registered before anything is stored for it; removing
//! it removes everything stored for it. Hosted by every `tokenwatch serve` process, whatever
//! `--services` says, because every other service depends on it.

use tokenwatch_auth::{AuthInterceptor, Permission, TenantScope, authorize, authorize_scope};
use tokenwatch_cache::Cache;
use tokenwatch_error::{into_status, invalid_argument};
use tokenwatch_grpc::ServiceSet;
use tokenwatch_proto::tenant::v1::tenant_service_server::{TenantService, TenantServiceServer};
use tokenwatch_proto::tenant::v1::*;
use tokenwatch_proto::tonic::service::interceptor::InterceptedService;
use tokenwatch_proto::tonic::{self, Request, Response, Status};
use tokenwatch_storage::Database;

/// Mounts the tenant service, behind the auth interceptor, on `services`.
pub fn add_to(services: &mut ServiceSet, database: Database, cache: Cache, auth: AuthInterceptor) {
    let server = tokenwatch_grpc::configure_service!(TenantServiceServer::new(TenantApi {
        database,
        cache
    }));
    services.add(InterceptedService::new(server, auth));
}

#[derive(Debug)]
struct TenantApi {
    database: Database,
    cache: Cache,
}

fn to_proto(tenant: tokenwatch_storage::Tenant) -> Tenant {
    Tenant {
        tenant_id: tenant.tenant_id.to_string(),
        display_name: tenant.display_name,
        create_time: Some(tokenwatch_proto::to_timestamp(tenant.create_time)),
        credentials_set: tenant.credentials_update_time.is_some(),
        credentials_update_time: tenant
            .credentials_update_time
            .map(tokenwatch_proto::to_timestamp),
    }
}

#[tonic::async_trait]
impl TenantService for TenantApi {
    async fn create_tenant(
        &self,
        request: Request<CreateTenantRequest>,
    ) -> Result<Response<CreateTenantResponse>, Status> {
        let (tenant_id, claims) = authorize(
            &request,
            Permission::TenantsManage,
            &request.get_ref().tenant_id,
        )?;
        let display_name = request.get_ref().display_name.trim();
        if display_name.is_empty() {
            return Err(invalid_argument("display_name", "must not be empty"));
        }
        let tenant = tokenwatch_storage::create_tenant(
            &self.database,
            tenant_id,
            display_name,
            &claims.subject,
        )
        .await
        .map_err(into_status)?;
        tracing::info!(actor = %claims.subject, "tenant created");
        Ok(Response::new(CreateTenantResponse {
            tenant: Some(to_proto(tenant)),
        }))
    }

    async fn get_tenant(
        &self,
        request: Request<GetTenantRequest>,
    ) -> Result<Response<GetTenantResponse>, Status> {
        let (tenant_id, _) = authorize(
            &request,
            Permission::TenantsRead,
            &request.get_ref().tenant_id,
        )?;
        let tenant = tokenwatch_storage::get_tenant(&self.database, tenant_id)
            .await
            .map_err(into_status)?;
        Ok(Response::new(GetTenantResponse {
            tenant: Some(to_proto(tenant)),
        }))
    }

    async fn list_tenants(
        &self,
        request: Request<ListTenantsRequest>,
    ) -> Result<Response<ListTenantsResponse>, Status> {
        let (scope, _) = authorize_scope(&request, Permission::TenantsRead, "")?;
        let page_size = tokenwatch_grpc::page_size(request.get_ref().page_size)?;
        let only: Option<Vec<_>> = match scope {
            TenantScope::All => None,
            TenantScope::Some(tenants) => Some(tenants.into_iter().collect()),
        };
        let page = tokenwatch_storage::list_tenants(
            &self.database,
            only.as_deref(),
            page_size,
            &request.get_ref().page_token,
        )
        .await
        .map_err(into_status)?;
        Ok(Response::new(ListTenantsResponse {
            tenants: page.tenants.into_iter().map(to_proto).collect(),
            next_page_token: page.next_page_token.unwrap_or_default(),
        }))
    }

    async fn delete_tenant(
        &self,
        request: Request<DeleteTenantRequest>,
    ) -> Result<Response<DeleteTenantResponse>, Status> {
        let (tenant_id, claims) = authorize(
            &request,
            Permission::TenantsManage,
            &request.get_ref().tenant_id,
        )?;
        tokenwatch_storage::delete_tenant(&self.database, tenant_id)
            .await
            .map_err(into_status)?;
        // Postgres dropped everything of the tenant; Redis's hot state goes too (best effort:
        // a tenant registered again never reads it, see the pipeline's tenant epochs).
        if let Err(error) = tokenwatch_pipeline::forget_tenant(&self.cache, tenant_id).await {
            tracing::warn!(%error, "could not delete the tenant's hot state");
        }
        tracing::info!(actor = %claims.subject, "tenant deleted");
        Ok(Response::new(DeleteTenantResponse {}))
    }
}
