//! Session scoring and findings: the detection service's API over what the pipeline stores.
//!
//! The pipeline workers (`tokenwatch-pipeline`) score sessions and upsert findings; this service
//! lists, shows, streams and triages them, reads and versions the weights, and scores a
//! session on demand.
//!
//! # Layout
//!
//! - `convert`: stored findings → the contract;

mod convert;
mod error;

use std::collections::BTreeMap;

use futures::StreamExt;
use tokenwatch_auth::{AuthInterceptor, Permission, TenantScope, authorize, authorize_scope};
use tokenwatch_cache::Cache;
use tokenwatch_core::detect::WeightSet;
use tokenwatch_error::invalid_argument;
use tokenwatch_grpc::ServiceSet;
use tokenwatch_proto::common::v1 as common;
use tokenwatch_proto::detection::v1::detection_service_server::{
    DetectionService, DetectionServiceServer,
};
use tokenwatch_proto::detection::v1::*;
use tokenwatch_proto::tonic::service::interceptor::InterceptedService;
use tokenwatch_proto::tonic::{self, Request, Response, Status};
use tokenwatch_proto::{from_timestamp, to_timestamp};
use tokenwatch_storage::findings::{self, FindingFilter, FindingOrder};
use tokenwatch_storage::weights::{self, WeightVersion};
use tokenwatch_storage::{Database, StorageError};
use tokenwatch_types::{FindingId, Severity, TenantId};

use tokenwatch_storage::Feed;

use crate::error::fail;

/// Mounts the detection service, behind the auth interceptor, on `services`.
pub fn add_to(services: &mut ServiceSet, database: Database, cache: Cache, auth: AuthInterceptor) {
    let (feed, listening) = Feed::start(&database, services.draining());
    services.spawn("detection findings feed", listening);
    let api = DetectionApi {
        database,
        cache,
        feed,
        draining: services.draining(),
    };
    let server = tokenwatch_grpc::configure_service!(DetectionServiceServer::new(api));
    services.add(InterceptedService::new(server, auth));
}

#[derive(Debug)]
struct DetectionApi {
    database: Database,
    cache: Cache,
    feed: Feed,
    /// The server's drain signal: finding streams end with it.
    draining: tokio::sync::watch::Receiver<bool>,
}

impl DetectionApi {
    /// The tenants a scope covers: every registered one for `All`.
    async fn tenants_of(&self, scope: &TenantScope) -> Result<Vec<TenantId>, Status> {
        match scope {
            TenantScope::Some(tenants) => Ok(tenants.iter().copied().collect()),
            TenantScope::All => tokenwatch_storage::tenant_ids(&self.database)
                .await
                .map_err(fail),
        }
    }
}

fn parse_finding_id(text: &str) -> Result<FindingId, Status> {
    FindingId::parse(text).map_err(|e| invalid_argument("finding_id", e.to_string()))
}

/// A request's minimum severity: `None` (any) for UNSPECIFIED.
fn min_severity(value: i32) -> Result<Option<Severity>, Status> {
    common::Severity::try_from(value)
        .map_err(|_| invalid_argument("min_severity", "unknown severity"))?;
    Ok(tokenwatch_proto::severity_from_proto(value))
}

#[tonic::async_trait]
impl DetectionService for DetectionApi {
    async fn list_findings(
        &self,
        request: Request<ListFindingsRequest>,
    ) -> Result<Response<ListFindingsResponse>, Status> {
        let (scope, _) = authorize_scope(
            &request,
            Permission::FindingsRead,
            &request.get_ref().tenant_id,
        )?;
        let page_size = tokenwatch_grpc::page_size(request.get_ref().page_size)?;
        let r = request.into_inner();
        let tenants = self.tenants_of(&scope).await?;
        let statuses = r
            .statuses
            .iter()
            .map(|value| {
                tokenwatch_proto::finding_status_from_proto(*value)
                    .ok_or_else(|| invalid_argument("statuses", "unknown status"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let min = min_severity(r.min_severity)?;
        let range = r.active_time.unwrap_or_default();
        let filter = FindingFilter {
            user_id: (!r.user_id.is_empty()).then(|| r.user_id.to_lowercase()),
            severities: min.map(|min| min.and_above().collect()).unwrap_or_default(),
            statuses,
            active_from: range.start_time.as_ref().and_then(from_timestamp),
            active_until: range.end_time.as_ref().and_then(from_timestamp),
            order: match r.order_by.trim().to_ascii_lowercase().as_str() {
                "" | "last_seen_time desc" => FindingOrder::Recent,
                "severity desc" => FindingOrder::Severity,
                _ => {
                    return Err(invalid_argument(
                        "order_by",
                        "must be \"last_seen_time desc\" or \"severity desc\"",
                    ));
                }
            },
        };
        let mut tx = self
            .database
            .tenants_read_tx(&tenants)
            .await
            .map_err(fail)?;
        let page = findings::list_findings(&mut tx, &tenants, &filter, page_size, &r.page_token)
            .await
            .map_err(fail)?;
        tx.commit().await.map_err(fail)?;
        let basic = r.view == i32::from(FindingView::Basic);
        Ok(Response::new(ListFindingsResponse {
            findings: page
                .findings
                .iter()
                .map(|stored| {
                    let finding = convert::finding(stored);
                    if basic {
                        convert::basic(finding)
                    } else {
                        finding
                    }
                })
                .collect(),
            next_page_token: page.next_page_token.unwrap_or_default(),
        }))
    }

    async fn get_finding(
        &self,
        request: Request<GetFindingRequest>,
    ) -> Result<Response<GetFindingResponse>, Status> {
        let (tenant, _) = authorize(
            &request,
            Permission::FindingsRead,
            &request.get_ref().tenant_id,
        )?;
        let id = parse_finding_id(&request.get_ref().finding_id)?;
        let mut tx = self.database.tenant_tx(tenant).await.map_err(fail)?;
        let stored = findings::get_finding(&mut tx, id).await.map_err(fail)?;
        let history = findings::status_history(&mut tx, id).await.map_err(fail)?;
        let events = tokenwatch_storage::events::session_events(
            &mut tx,
            &stored.finding.user_id,
            &stored.finding.session_id,
            200,
        )
        .await
        .map_err(fail)?;
        tx.commit().await.map_err(fail)?;
        Ok(Response::new(GetFindingResponse {
            finding: Some(convert::finding(&stored)),
            evidence: events
                .iter()
                .map(|e| EvidenceEvent {
                    event_time: Some(to_timestamp(e.event_time)),
                    record_id: e.record_id.clone(),
                    operation: e.operation.clone(),
                    workload: e.workload.clone().unwrap_or_default(),
                    ip_address: e.ip.map(|ip| ip.to_string()).unwrap_or_default(),
                    asn: e.network.asn.map_or(0, i64::from),
                    country: e.network.country.clone().unwrap_or_default(),
                    user_agent: e.user_agent.clone().unwrap_or_default(),
                    device_id: e.device_id.clone().unwrap_or_default(),
                })
                .collect(),
            history: history
                .iter()
                .map(|change| FindingStatusChange {
                    from_status: tokenwatch_proto::finding_status_to_proto(change.from) as i32,
                    to_status: tokenwatch_proto::finding_status_to_proto(change.to) as i32,
                    actor: change.actor.clone(),
                    comment: change.comment.clone(),
                    change_time: Some(to_timestamp(change.time)),
                })
                .collect(),
        }))
    }

    type WatchFindingsStream =
        futures::stream::BoxStream<'static, Result<WatchFindingsResponse, Status>>;

    async fn watch_findings(
        &self,
        request: Request<WatchFindingsRequest>,
    ) -> Result<Response<Self::WatchFindingsStream>, Status> {
        let (scope, _) = authorize_scope(
            &request,
            Permission::FindingsRead,
            &request.get_ref().tenant_id,
        )?;
        let min = min_severity(request.get_ref().min_severity)?;
        let receiver = self.feed.subscribe();
        let database = self.database.clone();
        let mut draining = self.draining.clone();
        let drained = async move {
            let _ = draining.wait_for(|draining| *draining).await;
        };
        let stream = tokio_stream::wrappers::BroadcastStream::new(receiver)
            .filter_map(move |item| {
                let database = database.clone();
                let scope = scope.clone();
                async move {
                    let announcement = match item {
                        Ok(announcement) => announcement,
                        Err(_) => {
                            return Some(Err(Status::data_loss(
                                "the subscriber fell behind; some finding changes were skipped",
                            )));
                        }
                    };
                    if !scope.contains(&announcement.tenant) {
                        return None;
                    }
                    let change = match announcement.change.as_str() {
                        "created" => FindingChange::Created,
                        "escalated" => FindingChange::Escalated,
                        "status_changed" => FindingChange::StatusChanged,
                        _ => return None,
                    };
                    let mut tx = database.tenant_tx(announcement.tenant).await.ok()?;
                    let stored = findings::get_finding_in(
                        &mut tx,
                        announcement.tenant,
                        announcement.finding_id,
                    )
                    .await
                    .ok()??;
                    let _ = tx.commit().await;
                    if min.is_some_and(|min| stored.finding.severity < min) {
                        return None;
                    }
                    Some(Ok(WatchFindingsResponse {
                        finding: Some(convert::finding(&stored)),
                        change: change as i32,
                    }))
                }
            })
            .take_until(drained)
            .boxed();
        Ok(Response::new(stream))
    }

    async fn update_finding_status(
        &self,
        request: Request<UpdateFindingStatusRequest>,
    ) -> Result<Response<UpdateFindingStatusResponse>, Status> {
        let (tenant, claims) = authorize(
            &request,
            Permission::FindingsTriage,
            &request.get_ref().tenant_id,
        )?;
        let r = request.into_inner();
        let id = parse_finding_id(&r.finding_id)?;
        let status = tokenwatch_proto::finding_status_from_proto(r.status)
            .ok_or_else(|| invalid_argument("status", "must name a status"))?;
        let mut tx = self.database.tenant_tx(tenant).await.map_err(fail)?;
        let stored =
            findings::update_status(&mut tx, tenant, id, status, &claims.subject, &r.comment)
                .await
                .map_err(fail)?;
        tx.commit().await.map_err(fail)?;
        Ok(Response::new(UpdateFindingStatusResponse {
            finding: Some(convert::finding(&stored)),
        }))
    }

    async fn list_incidents(
        &self,
        request: Request<ListIncidentsRequest>,
    ) -> Result<Response<ListIncidentsResponse>, Status> {
        let (tenant, _) = authorize(
            &request,
            Permission::FindingsRead,
            &request.get_ref().tenant_id,
        )?;
        let page_size = tokenwatch_grpc::page_size(request.get_ref().page_size)?;
        let r = request.into_inner();
        let user = (!r.user_id.is_empty()).then(|| r.user_id.to_lowercase());
        let mut tx = self.database.tenant_tx(tenant).await.map_err(fail)?;
        let (incidents, next) = tokenwatch_storage::incidents::list_incidents(
            &mut tx,
            user.as_deref(),
            page_size,
            &r.page_token,
        )
        .await
        .map_err(fail)?;
        tx.commit().await.map_err(fail)?;
        Ok(Response::new(ListIncidentsResponse {
            incidents: incidents
                .into_iter()
                .map(|i| Incident {
                    incident_id: i.incident_id.to_string(),
                    tenant_id: tenant.to_string(),
                    user_id: i.user_id,
                    finding_ids: i.finding_ids.iter().map(FindingId::to_string).collect(),
                    severity: tokenwatch_proto::severity_to_proto(i.severity) as i32,
                    first_seen_time: Some(to_timestamp(i.first_seen)),
                    last_seen_time: Some(to_timestamp(i.last_seen)),
                })
                .collect(),
            next_page_token: next.unwrap_or_default(),
        }))
    }

    async fn evaluate_session(
        &self,
        request: Request<EvaluateSessionRequest>,
    ) -> Result<Response<EvaluateSessionResponse>, Status> {
        let (tenant, _) = authorize(
            &request,
            Permission::SessionsEvaluate,
            &request.get_ref().tenant_id,
        )?;
        let r = request.into_inner();
        if r.user_id.is_empty() || r.session_id.is_empty() {
            return Err(invalid_argument(
                "session_id",
                "user_id and session_id are required",
            ));
        }
        let user = r.user_id.to_lowercase();
        let weights = tokenwatch_pipeline::tenant_weights(&self.database, tenant)
            .await
            .map_err(fail)?;
        let suppressions = tokenwatch_pipeline::tenant_suppressions(&self.database, tenant)
            .await
            .map_err(fail)?;
        let engine =
            tokenwatch_pipeline::engine_for_user(&self.database, &self.cache, tenant, &user)
                .await
                .map_err(fail)?;
        let evaluation = engine
            .and_then(|engine| {
                engine.evaluate(
                    &tenant.to_string(),
                    &weights,
                    &suppressions,
                    &user,
                    &r.session_id,
                )
            })
            .ok_or_else(|| {
                Status::not_found(format!(
                    "no open session {} of {user} in tenant {tenant}",
                    r.session_id
                ))
            })?;
        let finding = &evaluation.finding;
        Ok(Response::new(EvaluateSessionResponse {
            score: finding.score,
            threshold: finding.threshold,
            significant: evaluation.flagged || finding.score >= evaluation.cutoff,
            severity: tokenwatch_proto::severity_to_proto(finding.severity) as i32,
            contributions: convert::contributions(&finding.reasons),
            contexts: convert::contexts(&finding.evidence.contexts),
            risky_operations: finding.evidence.risky_operations.clone(),
            weight_version: finding.weight_version,
        }))
    }

    async fn get_weights(
        &self,
        request: Request<GetWeightsRequest>,
    ) -> Result<Response<GetWeightsResponse>, Status> {
        let (tenant, _) = authorize(
            &request,
            Permission::WeightsRead,
            &request.get_ref().tenant_id,
        )?;
        let wanted = request.get_ref().version;
        let mut tx = self.database.tenant_tx(tenant).await.map_err(fail)?;
        let current = weights::current_weights(&mut tx).await.map_err(fail)?;
        let version = match (wanted, current) {
            (0, Some(current)) => current,
            (0, None) => WeightVersion::defaults(),
            (v, _) if v == WeightVersion::defaults().version => {
                match weights::weights_version(&mut tx, v).await {
                    Ok(stored) => stored,
                    Err(StorageError::NotFound { .. }) => WeightVersion::defaults(),
                    Err(error) => return Err(fail(error)),
                }
            }
            (v, _) => weights::weights_version(&mut tx, v).await.map_err(fail)?,
        };
        tx.commit().await.map_err(fail)?;
        Ok(Response::new(GetWeightsResponse {
            weight_set: Some(version.to_proto(tenant)),
        }))
    }

    async fn set_weights(
        &self,
        request: Request<SetWeightsRequest>,
    ) -> Result<Response<SetWeightsResponse>, Status> {
        let (tenant, claims) = authorize(
            &request,
            Permission::WeightsManage,
            &request.get_ref().tenant_id,
        )?;
        let r = request.into_inner();
        if r.threshold < 0.0 {
            return Err(invalid_argument(
                "threshold",
                "must be above 0, or 0 to keep",
            ));
        }
        let mut tx = self.database.tenant_tx(tenant).await.map_err(fail)?;
        let current = weights::current_weights(&mut tx)
            .await
            .map_err(fail)?
            .unwrap_or_else(WeightVersion::defaults);
        if r.base_version != 0 && r.base_version != current.version {
            return Err(Status::failed_precondition(format!(
                "base_version {} is not the version in force ({})",
                r.base_version, current.version
            )));
        }
        let base = WeightSet {
            version: current.version,
            weights: current.weights.clone(),
            threshold: current.threshold,
        };
        let changes: BTreeMap<String, f64> = r.weights.into_iter().collect();
        let threshold = (r.threshold > 0.0).then_some(r.threshold);
        let next = base
            .with_changes(&changes, threshold)
            .map_err(|e| invalid_argument("weights", e.to_string()))?;
        let version = WeightVersion {
            version: next.version,
            weights: next.weights,
            threshold: next.threshold,
            reason: r.reason,
            created_by: claims.subject.clone(),
            pinned: r.pin,
            parent_version: current.version,
            create_time: chrono::Utc::now(),
        };
        weights::insert_weights(&mut tx, &version)
            .await
            .map_err(fail)?;
        tx.commit().await.map_err(fail)?;
        Ok(Response::new(SetWeightsResponse {
            weight_set: Some(version.to_proto(tenant)),
        }))
    }
}
