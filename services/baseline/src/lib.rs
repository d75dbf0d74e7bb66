//! Per-user baselines with memory: the service that hosts the pipeline workers (which consume
//! the "session touched" streams and keep the baselines hot in Redis, see
//! `tokenwatch-pipeline`) and answers questions about the baselines.

mod error;

use std::time::Duration;

use chrono::{DateTime, Utc};
use tokenwatch_auth::{AuthInterceptor, Permission, authorize};
use tokenwatch_cache::Cache;
use tokenwatch_core::detect::UserState;
use tokenwatch_core::detect::baseline::{Kind, UserBaseline};
use tokenwatch_error::invalid_argument;
use tokenwatch_grpc::ServiceSet;
use tokenwatch_proto::baseline::v1::baseline_service_server::{
    BaselineService, BaselineServiceServer,
};
use tokenwatch_proto::baseline::v1::*;
use tokenwatch_proto::common::v1::{ContextKind, ContextValue};
use tokenwatch_proto::to_timestamp;
use tokenwatch_proto::tonic::service::interceptor::InterceptedService;
use tokenwatch_proto::tonic::{self, Request, Response, Status};
use tokenwatch_storage::Database;
use tokenwatch_types::TenantId;

use crate::error::fail;

/// How long RebuildBaselines waits for a worker stepping the tenant to finish.
const REBUILD_WAIT: Duration = Duration::from_secs(30);
/// Contexts shown per kind in a user's baseline.
const CONTEXTS_PER_KIND: usize = 20;

/// Mounts the baseline service, behind the auth interceptor, on `services`.
pub fn add_to(services: &mut ServiceSet, database: Database, cache: Cache, auth: AuthInterceptor) {
    let api = BaselineApi { database, cache };
    let server = tokenwatch_grpc::configure_service!(BaselineServiceServer::new(api));
    services.add(InterceptedService::new(server, auth));
}

#[derive(Debug)]
struct BaselineApi {
    database: Database,
    cache: Cache,
}

fn context_value(kind: Kind, value: &str) -> ContextValue {
    let kind = match kind {
        Kind::Network if value.starts_with("AS") => ContextKind::Asn,
        Kind::Network | Kind::Prefix => ContextKind::Prefix,
        Kind::NetworkClient => ContextKind::NetworkClient,
        Kind::Country => ContextKind::Country,
        Kind::Client => ContextKind::Browser,
        Kind::Device => ContextKind::Device,
    };
    ContextValue {
        kind: kind as i32,
        value: value.to_owned(),
    }
}

fn time_of(seconds: i64) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp(seconds, 0)
}

/// A user's baseline in readable form, decayed to the user's last activity.
fn readable(
    tenant: TenantId,
    user: &str,
    state: &UserState,
) -> tokenwatch_proto::baseline::v1::UserBaseline {
    let baseline: &UserBaseline = &state.baseline;
    let now = baseline.days.at;
    let mut contexts = Vec::new();
    let mut kinds: Vec<&Kind> = baseline.contexts.keys().collect();
    kinds.sort();
    for kind in kinds {
        let values = &baseline.contexts[kind];
        let total: f64 = values.values().map(|d| d.value(now)).sum();
        let mut ranked: Vec<(&String, f64, i64)> = values
            .iter()
            .map(|(value, d)| (value, d.value(now), d.at))
            .collect();
        ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(b.0)));
        for (value, weight, at) in ranked.into_iter().take(CONTEXTS_PER_KIND) {
            contexts.push(ContextWeight {
                context: Some(context_value(*kind, value)),
                weight,
                share: if total > 0.0 { weight / total } else { 0.0 },
                // The baseline keeps when a value was last counted, not when it was first.
                first_seen_time: None,
                last_seen_time: time_of(at).map(to_timestamp),
            });
        }
    }
    // Session sizes are kept as running moments of ln(1 + events): a log-normal fit.
    let sd = baseline.session_size_var.max(0.0).sqrt();
    let size = |x: f64| x.exp() - 1.0;
    let per_session = Distribution {
        samples: i64::try_from(baseline.sessions).unwrap_or(i64::MAX),
        mean: size(baseline.session_size_mean + sd * sd / 2.0),
        median: size(baseline.session_size_mean),
        p95: size(baseline.session_size_mean + 1.645 * sd),
        mad: size(baseline.session_size_mean) * (0.6745 * sd).exp_m1(),
    };
    tokenwatch_proto::baseline::v1::UserBaseline {
        tenant_id: tenant.to_string(),
        user_id: user.to_owned(),
        contexts,
        operations_per_session: Some(per_session),
        operations_per_hour: None,
        hour_of_day: baseline.hours.to_vec(),
        events_seen: i64::try_from(baseline.events).unwrap_or(i64::MAX),
        sessions_seen: i64::try_from(baseline.sessions).unwrap_or(i64::MAX),
        half_life_hours: tokenwatch_core::detect::baseline::HALF_LIFE_DAYS * 24.0,
        cold_start: baseline.learning(now),
        update_time: time_of(now).map(to_timestamp),
    }
}

#[tonic::async_trait]
impl BaselineService for BaselineApi {
    async fn get_user_baseline(
        &self,
        request: Request<GetUserBaselineRequest>,
    ) -> Result<Response<GetUserBaselineResponse>, Status> {
        let (tenant, _) = authorize(
            &request,
            Permission::BaselinesRead,
            &request.get_ref().tenant_id,
        )?;
        let user = request.get_ref().user_id.trim().to_lowercase();
        if user.is_empty() {
            return Err(invalid_argument("user_id", "is required"));
        }
        let state = tokenwatch_pipeline::user_state(&self.database, &self.cache, tenant, &user)
            .await
            .map_err(fail)?
            .ok_or_else(|| {
                Status::not_found(format!("no baseline for {user} in tenant {tenant}"))
            })?;
        Ok(Response::new(GetUserBaselineResponse {
            baseline: Some(readable(tenant, &user, &state)),
        }))
    }

    async fn rebuild_baselines(
        &self,
        request: Request<RebuildBaselinesRequest>,
    ) -> Result<Response<RebuildBaselinesResponse>, Status> {
        let (tenant, _) = authorize(
            &request,
            Permission::BaselinesRebuild,
            &request.get_ref().tenant_id,
        )?;
        // Baselines are learned together (the tenant's population prior, the tenant's own score
        // distribution), so one user's is rebuilt exactly only by replaying the tenant.
        let (report, users) =
            tokenwatch_pipeline::rebuild_tenant(&self.database, &self.cache, tenant, REBUILD_WAIT)
                .await
                .map_err(fail)?;
        Ok(Response::new(RebuildBaselinesResponse {
            users_rebuilt: users as i64,
            events_replayed: i64::try_from(report.events).unwrap_or(i64::MAX),
        }))
    }

    async fn get_baseline_stats(
        &self,
        request: Request<GetBaselineStatsRequest>,
    ) -> Result<Response<GetBaselineStatsResponse>, Status> {
        let (tenant, _) = authorize(
            &request,
            Permission::BaselinesRead,
            &request.get_ref().tenant_id,
        )?;
        let view = tokenwatch_pipeline::tenant_shared(&self.cache, tenant)
            .await
            .map_err(fail)?;
        let mut tx = self.database.tenant_tx(tenant).await.map_err(fail)?;
        let snapshot = tokenwatch_storage::engine_state::latest_generation_time(&mut tx)
            .await
            .map_err(fail)?;
        tx.commit().await.map_err(fail)?;
        let Some(shared) = view else {
            return Ok(Response::new(GetBaselineStatsResponse {
                last_snapshot_time: snapshot.map(to_timestamp),
                ..Default::default()
            }));
        };
        let profile = &shared.profile;
        let users: Vec<&str> = profile.user_names().collect();
        let states = tokenwatch_pipeline::hot_user_states(&self.cache, tenant, &users)
            .await
            .map_err(fail)?;
        let hot = states.iter().flatten().count();
        let cold = states
            .iter()
            .flatten()
            .filter(|s| s.baseline.learning(s.baseline.days.at))
            .count();
        Ok(Response::new(GetBaselineStatsResponse {
            users: users.len() as i64,
            cold_start_users: cold as i64,
            hot_users: hot as i64,
            last_snapshot_time: snapshot.map(to_timestamp),
            population: profile
                .most_common(20)
                .into_iter()
                .map(|(kind, value, share)| ContextWeight {
                    context: Some(context_value(kind, value)),
                    weight: share * (users.len() as f64 + 1.0),
                    share,
                    first_seen_time: None,
                    last_seen_time: None,
                })
                .collect(),
        }))
    }
}
