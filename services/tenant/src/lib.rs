//! The tenant registry. A tenant must be registered before anything is stored for it; removing
//! it removes everything stored for it. Hosted by every `tokenwatch serve` process, whatever
//! `--services` says, because every other service depends on it.

mod error;
mod report;

use std::sync::Arc;
use tokenwatch_auth::{AuthInterceptor, Permission, TenantScope, authorize, authorize_scope};
use tokenwatch_cache::Cache;
use tokenwatch_error::invalid_argument;
use tokenwatch_grpc::ServiceSet;
use tokenwatch_proto::tenant::v1::tenant_service_server::{TenantService, TenantServiceServer};
use tokenwatch_proto::tenant::v1::*;
use tokenwatch_proto::tonic::service::interceptor::InterceptedService;
use tokenwatch_proto::tonic::{self, Request, Response, Status};

use tokenwatch_graph::{Credentials, GraphClient};
use tokenwatch_seal::Sealer;
use tokenwatch_storage::{Database, credentials};

use crate::error::fail;

/// What the connection test needs: the key that opens stored credentials (none: credentials
/// cannot be used) and the client for Microsoft's APIs.
#[derive(Debug, Clone)]
pub struct Microsoft {
    /// Opens the tenant's sealed credentials.
    pub sealer: Option<Arc<Sealer>>,
    /// Talks to the identity platform, Graph and the activity API.
    pub client: Arc<GraphClient>,
}

/// Mounts the tenant service, behind the auth interceptor, on `services`; with
/// `monthly_reports`, makes each tenant's report on the first of each month in the background.
pub fn add_to(
    services: &mut ServiceSet,
    database: Database,
    cache: Cache,
    microsoft: Microsoft,
    auth: AuthInterceptor,
    monthly_reports: bool,
) {
    if monthly_reports {
        services.spawn(
            "monthly reports",
            report::monthly(database.clone(), services.draining()),
        );
    }
    let server = tokenwatch_grpc::configure_service!(TenantServiceServer::new(TenantApi {
        database,
        cache,
        microsoft,
    }));
    services.add(InterceptedService::new(server, auth));
}

#[derive(Debug)]
struct TenantApi {
    database: Database,
    cache: Cache,
    microsoft: Microsoft,
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
        sources: Some(TenantSources {
            activity_feed: tenant.sources.activity_feed,
            signins: tenant.sources.signins,
        }),
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
        .map_err(fail)?;
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
            .map_err(fail)?;
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
        .map_err(fail)?;
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
            .map_err(fail)?;
        // Postgres dropped everything of the tenant; Redis's hot state goes too (best effort:
        // a tenant registered again never reads it, see the pipeline's tenant epochs).
        if let Err(error) = tokenwatch_pipeline::forget_tenant(&self.cache, tenant_id).await {
            tracing::warn!(%error, "could not delete the tenant's hot state");
        }
        tracing::info!(actor = %claims.subject, "tenant deleted");
        Ok(Response::new(DeleteTenantResponse {}))
    }

    async fn test_tenant_connection(
        &self,
        request: Request<TestTenantConnectionRequest>,
    ) -> Result<Response<TestTenantConnectionResponse>, Status> {
        let (tenant, claims) = authorize(
            &request,
            Permission::TenantsManage,
            &request.get_ref().tenant_id,
        )?;
        let mut tx = self.database.tenant_tx(tenant).await.map_err(fail)?;
        let sealed = credentials::get_credentials(&mut tx)
            .await
            .map_err(fail)?
            .ok_or_else(|| {
                Status::failed_precondition(format!(
                    "tenant {tenant} has no Microsoft credentials: tokenwatch tenant credentials set --tenant {tenant} ..."
                ))
            })?;
        tx.commit().await.map_err(fail)?;
        let credentials = Credentials::unseal(
            self.microsoft.sealer.as_deref(),
            &tenant.to_string(),
            tokenwatch_graph::Sealed {
                client_id: &sealed.client_id,
                kind: &sealed.kind,
                key_id: &sealed.key_id,
                sealed: &sealed.sealed,
            },
        )
        .map_err(Status::failed_precondition)?;
        let checks = self.microsoft.client.test_connection(&credentials).await;
        let ok = checks.iter().all(|c| c.ok);
        tracing::info!(actor = %claims.subject, ok, "tenant connection tested");
        Ok(Response::new(TestTenantConnectionResponse {
            ok,
            checks: checks
                .into_iter()
                .map(|c| ConnectionCheck {
                    name: c.name,
                    ok: c.ok,
                    detail: c.detail,
                })
                .collect(),
        }))
    }

    async fn get_monthly_report(
        &self,
        request: Request<GetMonthlyReportRequest>,
    ) -> Result<Response<GetMonthlyReportResponse>, Status> {
        let (tenant, _) = authorize(
            &request,
            Permission::FindingsRead,
            &request.get_ref().tenant_id,
        )?;
        let r = request.into_inner();
        let month = r.month.trim();
        if tokenwatch_storage::reports::month_bounds(month).is_none() {
            return Err(invalid_argument("month", "give the month as YYYY-MM"));
        }
        let format = ReportFormat::try_from(r.format).unwrap_or(ReportFormat::Unspecified);
        let (made, kept) = report::report(&self.database, tenant, month, chrono::Utc::now())
            .await
            .map_err(fail)?;
        let name: String = made.facts["tenant_name"]
            .as_str()
            .unwrap_or("tenant")
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() {
                    c.to_ascii_lowercase()
                } else {
                    '-'
                }
            })
            .collect();
        let (content, content_type, extension) = match format {
            ReportFormat::Html => (made.html.into_bytes(), "text/html; charset=utf-8", "html"),
            ReportFormat::Json => (
                serde_json::to_vec_pretty(&made.facts).unwrap_or_default(),
                "application/json",
                "json",
            ),
            _ => (made.pdf, "application/pdf", "pdf"),
        };
        Ok(Response::new(GetMonthlyReportResponse {
            content,
            content_type: content_type.to_owned(),
            file_name: format!("tokenwatch-{name}-{month}.{extension}"),
            create_time: Some(tokenwatch_proto::to_timestamp(made.create_time)),
            kept,
        }))
    }

    async fn set_tenant_sources(
        &self,
        request: Request<SetTenantSourcesRequest>,
    ) -> Result<Response<SetTenantSourcesResponse>, Status> {
        let (tenant, claims) = authorize(
            &request,
            Permission::TenantsManage,
            &request.get_ref().tenant_id,
        )?;
        let r = request.into_inner();
        // NOT_FOUND for a tenant that is not registered (not a foreign-key failure).
        tokenwatch_storage::get_tenant(&self.database, tenant)
            .await
            .map_err(fail)?;
        let sources = tokenwatch_storage::set_sources(
            &self.database,
            tenant,
            r.activity_feed,
            r.signins,
            &claims.subject,
        )
        .await
        .map_err(fail)?;
        tracing::info!(actor = %claims.subject, activity_feed = sources.activity_feed, signins = sources.signins, "tenant sources set");
        Ok(Response::new(SetTenantSourcesResponse {
            sources: Some(TenantSources {
                activity_feed: sources.activity_feed,
                signins: sources.signins,
            }),
        }))
    }
}
