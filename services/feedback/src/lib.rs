//! Verdicts and weight history: analysts judge findings, each verdict moves the finding's
//! status and (unless the tenant's weights are pinned) the tenant's weights, within bounds
//! (`tokenwatch_core::detect::learn`); a detection engineer lists and rolls back versions.
//! Suppressions answer UNIMPLEMENTED until they land.

use std::collections::BTreeMap;
use std::str::FromStr;

use chrono::Utc;
use tokenwatch_auth::{AuthInterceptor, Permission, authorize};
use tokenwatch_core::detect::learn::{Judged, Label, LearnConfig, threshold_crossings, update};
use tokenwatch_core::detect::{Finding, WeightSet};
use tokenwatch_error::{into_status, invalid_argument, unimplemented};
use tokenwatch_grpc::ServiceSet;
use tokenwatch_proto::common::v1::{self as common, VerdictKind};
use tokenwatch_proto::feedback::v1::feedback_service_server::{
    FeedbackService, FeedbackServiceServer,
};
use tokenwatch_proto::feedback::v1::*;
use tokenwatch_proto::to_timestamp;
use tokenwatch_proto::tonic::service::interceptor::InterceptedService;
use tokenwatch_proto::tonic::{self, Request, Response, Status};
use tokenwatch_storage::verdicts::{self, VerdictRow};
use tokenwatch_storage::weights::{self, WeightVersion};
use tokenwatch_storage::{Database, StorageError, TenantTx, findings};
use tokenwatch_types::TenantId;
use uuid::Uuid;

/// Mounts the feedback service, behind the auth interceptor, on `services`.
pub fn add_to(services: &mut ServiceSet, database: Database, auth: AuthInterceptor) {
    let api = FeedbackApi { database };
    let server = tokenwatch_grpc::configure_service!(FeedbackServiceServer::new(api));
    services.add(InterceptedService::new(server, auth));
}

#[derive(Debug)]
struct FeedbackApi {
    database: Database,
}

fn storage(error: StorageError) -> Status {
    into_status(error)
}

fn commit_error(error: sqlx::Error) -> Status {
    into_status(StorageError::from(error))
}

fn weight_set(tenant: TenantId, version: &WeightVersion) -> common::WeightSet {
    common::WeightSet {
        tenant_id: tenant.to_string(),
        version: version.version,
        weights: version.weights.clone().into_iter().collect(),
        threshold: version.threshold,
        reason: version.reason.clone(),
        create_time: Some(to_timestamp(version.create_time)),
        created_by: version.created_by.clone(),
        pinned: version.pinned,
        parent_version: version.parent_version,
    }
}

fn verdict(tenant: TenantId, row: &VerdictRow) -> Verdict {
    let kind = match row.kind.as_str() {
        "true_positive" => VerdictKind::TruePositive,
        "false_positive" => VerdictKind::FalsePositive,
        "benign_true_positive" => VerdictKind::BenignTruePositive,
        _ => VerdictKind::Unspecified,
    };
    Verdict {
        verdict_id: row.verdict_id.to_string(),
        tenant_id: tenant.to_string(),
        finding_id: row.finding_id.to_string(),
        kind: kind as i32,
        comment: row.comment.clone(),
        analyst: row.analyst.clone(),
        create_time: Some(to_timestamp(row.create_time)),
        weight_version: row.weight_version,
    }
}

/// The open findings whose side of the threshold differs between two weight sets.
async fn findings_changed(
    tx: &mut TenantTx,
    old: &WeightSet,
    new: &WeightSet,
) -> Result<i64, Status> {
    let explanations = findings::open_explanations(tx).await.map_err(storage)?;
    let values: Vec<BTreeMap<String, f64>> = explanations
        .into_iter()
        .filter_map(|e| serde_json::from_value::<Finding>(e).ok())
        .map(|f| {
            f.reasons
                .into_iter()
                .map(|r| (r.feature, r.value))
                .collect()
        })
        .collect();
    Ok(threshold_crossings(&values, old, new) as i64)
}

#[tonic::async_trait]
impl FeedbackService for FeedbackApi {
    async fn submit_verdict(
        &self,
        request: Request<SubmitVerdictRequest>,
    ) -> Result<Response<SubmitVerdictResponse>, Status> {
        let (tenant, claims) = authorize(
            &request,
            Permission::VerdictsSubmit,
            &request.get_ref().tenant_id,
        )?;
        let r = request.into_inner();
        let finding_id = Uuid::from_str(&r.finding_id)
            .map_err(|_| invalid_argument("finding_id", "must be a UUID"))?;
        let (kind, label, status) = match VerdictKind::try_from(r.kind) {
            Ok(VerdictKind::TruePositive) => {
                ("true_positive", Label::TruePositive, "true_positive")
            }
            Ok(VerdictKind::FalsePositive) => {
                ("false_positive", Label::FalsePositive, "false_positive")
            }
            Ok(VerdictKind::BenignTruePositive) => {
                ("benign_true_positive", Label::BenignTruePositive, "benign")
            }
            _ => return Err(invalid_argument("kind", "must name a verdict")),
        };
        let mut tx = self.database.tenant_tx(tenant).await.map_err(storage)?;
        let stored = findings::get_finding(&mut tx, finding_id)
            .await
            .map_err(storage)?;
        let current = weights::current_or_defaults(&mut tx)
            .await
            .map_err(storage)?;
        let row = VerdictRow {
            verdict_id: Uuid::new_v4(),
            finding_id,
            kind: kind.to_owned(),
            comment: r.comment.clone(),
            analyst: claims.subject.clone(),
            weight_version: current.version,
            create_time: Utc::now(),
        };
        verdicts::insert_verdict(&mut tx, &row)
            .await
            .map_err(storage)?;
        findings::update_status(
            &mut tx,
            tenant,
            finding_id,
            status,
            &claims.subject,
            &r.comment,
        )
        .await
        .map_err(storage)?;

        // Learn from the verdict, unless a detection engineer pinned the weights.
        let mut in_force = current.clone();
        let mut changed = 0;
        let finding: Option<Finding> = serde_json::from_value(stored.finding.explanation).ok();
        if let (false, Some(finding)) = (current.pinned, finding) {
            let judged = Judged {
                values: finding
                    .reasons
                    .iter()
                    .map(|r| (r.feature.clone(), r.value))
                    .collect(),
                label,
            };
            let prior = WeightSet {
                threshold: current.threshold,
                ..WeightSet::default()
            };
            let base = current.weight_set();
            let learned = update(&base, &prior, &[judged], &LearnConfig::default())
                .map_err(|e| Status::internal(e.to_string()))?;
            if let Some(next) = learned {
                changed = findings_changed(&mut tx, &base, &next).await?;
                in_force = WeightVersion {
                    version: current.version + 1,
                    weights: next.weights,
                    threshold: next.threshold,
                    reason: format!(
                        "verdict {} ({kind}) on finding {finding_id}",
                        row.verdict_id
                    ),
                    created_by: format!("feedback:{}", claims.subject),
                    pinned: false,
                    parent_version: current.version,
                    create_time: Utc::now(),
                };
                weights::insert_weights(&mut tx, &in_force)
                    .await
                    .map_err(storage)?;
            }
        }
        tx.commit().await.map_err(commit_error)?;
        tracing::info!(actor = %claims.subject, kind, weight_version = in_force.version, "verdict");
        Ok(Response::new(SubmitVerdictResponse {
            verdict: Some(verdict(tenant, &row)),
            weight_set: Some(weight_set(tenant, &in_force)),
            findings_changed: changed,
        }))
    }

    async fn list_verdicts(
        &self,
        request: Request<ListVerdictsRequest>,
    ) -> Result<Response<ListVerdictsResponse>, Status> {
        let (tenant, _) = authorize(
            &request,
            Permission::VerdictsRead,
            &request.get_ref().tenant_id,
        )?;
        let page_size = tokenwatch_grpc::page_size(request.get_ref().page_size)?;
        let r = request.into_inner();
        let finding = if r.finding_id.is_empty() {
            None
        } else {
            Some(
                Uuid::from_str(&r.finding_id)
                    .map_err(|_| invalid_argument("finding_id", "must be a UUID"))?,
            )
        };
        let mut tx = self.database.tenant_tx(tenant).await.map_err(storage)?;
        let (rows, next) = verdicts::list_verdicts(&mut tx, finding, page_size, &r.page_token)
            .await
            .map_err(storage)?;
        tx.commit().await.map_err(commit_error)?;
        Ok(Response::new(ListVerdictsResponse {
            verdicts: rows.iter().map(|row| verdict(tenant, row)).collect(),
            next_page_token: next.unwrap_or_default(),
        }))
    }

    async fn list_weight_versions(
        &self,
        request: Request<ListWeightVersionsRequest>,
    ) -> Result<Response<ListWeightVersionsResponse>, Status> {
        let (tenant, _) = authorize(
            &request,
            Permission::WeightsRead,
            &request.get_ref().tenant_id,
        )?;
        let page_size = tokenwatch_grpc::page_size(request.get_ref().page_size)?;
        let token = &request.get_ref().page_token;
        let before = if token.is_empty() {
            None
        } else {
            Some(
                token
                    .parse::<i64>()
                    .map_err(|_| invalid_argument("page_token", "not a page token of this RPC"))?,
            )
        };
        let mut tx = self.database.tenant_tx(tenant).await.map_err(storage)?;
        let (mut versions, mut next) = weights::list_versions(&mut tx, before, page_size)
            .await
            .map_err(storage)?;
        tx.commit().await.map_err(commit_error)?;
        // The defaults are version 1 of every tenant, never stored: the last of the list.
        if next.is_none() && before.is_none_or(|b| b > 1) {
            if versions.len() < page_size {
                versions.push(WeightVersion::defaults());
            } else {
                next = versions.last().map(|v| v.version);
            }
        }
        Ok(Response::new(ListWeightVersionsResponse {
            weight_sets: versions.iter().map(|v| weight_set(tenant, v)).collect(),
            next_page_token: next.map(|v| v.to_string()).unwrap_or_default(),
        }))
    }

    async fn rollback_weights(
        &self,
        request: Request<RollbackWeightsRequest>,
    ) -> Result<Response<RollbackWeightsResponse>, Status> {
        let (tenant, claims) = authorize(
            &request,
            Permission::WeightsManage,
            &request.get_ref().tenant_id,
        )?;
        let r = request.into_inner();
        let mut tx = self.database.tenant_tx(tenant).await.map_err(storage)?;
        let current = weights::current_or_defaults(&mut tx)
            .await
            .map_err(storage)?;
        let target = if r.version == WeightVersion::defaults().version {
            match weights::weights_version(&mut tx, r.version).await {
                Ok(stored) => stored,
                Err(StorageError::NotFound { .. }) => WeightVersion::defaults(),
                Err(error) => return Err(storage(error)),
            }
        } else {
            weights::weights_version(&mut tx, r.version)
                .await
                .map_err(storage)?
        };
        let rolled = WeightVersion {
            version: current.version + 1,
            weights: target.weights.clone(),
            threshold: target.threshold,
            reason: format!("rollback to version {}: {}", target.version, r.reason),
            created_by: claims.subject.clone(),
            // A deliberate choice: verdicts do not move it until an engineer says so.
            pinned: true,
            parent_version: current.version,
            create_time: Utc::now(),
        };
        let changed =
            findings_changed(&mut tx, &current.weight_set(), &rolled.weight_set()).await?;
        weights::insert_weights(&mut tx, &rolled)
            .await
            .map_err(storage)?;
        tx.commit().await.map_err(commit_error)?;
        Ok(Response::new(RollbackWeightsResponse {
            weight_set: Some(weight_set(tenant, &rolled)),
            findings_changed: changed,
        }))
    }

    async fn create_suppression(
        &self,
        request: Request<CreateSuppressionRequest>,
    ) -> Result<Response<CreateSuppressionResponse>, Status> {
        authorize(
            &request,
            Permission::SuppressionsManage,
            &request.get_ref().tenant_id,
        )?;
        Err(unimplemented("CreateSuppression"))
    }

    async fn list_suppressions(
        &self,
        request: Request<ListSuppressionsRequest>,
    ) -> Result<Response<ListSuppressionsResponse>, Status> {
        authorize(
            &request,
            Permission::SuppressionsRead,
            &request.get_ref().tenant_id,
        )?;
        Err(unimplemented("ListSuppressions"))
    }

    async fn delete_suppression(
        &self,
        request: Request<DeleteSuppressionRequest>,
    ) -> Result<Response<DeleteSuppressionResponse>, Status> {
        authorize(
            &request,
            Permission::SuppressionsManage,
            &request.get_ref().tenant_id,
        )?;
        Err(unimplemented("DeleteSuppression"))
    }

    async fn list_suppression_suggestions(
        &self,
        request: Request<ListSuppressionSuggestionsRequest>,
    ) -> Result<Response<ListSuppressionSuggestionsResponse>, Status> {
        authorize(
            &request,
            Permission::SuppressionsRead,
            &request.get_ref().tenant_id,
        )?;
        Err(unimplemented("ListSuppressionSuggestions"))
    }
}
