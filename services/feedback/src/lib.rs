//! Verdicts, weight history and suppressions: analysts judge findings, each verdict moves the
//! finding's status and (unless the tenant's weights are pinned) the tenant's weights, within
//! bounds (`tokenwatch_core::detect::learn`), and every weight change re-scores the open
//! findings in place; a detection engineer lists and rolls back versions. Analysts mark contexts
//! as expected (suppressions, which the pipeline applies from its next step), and the service
//! suggests the ones repeated false positives share (`tokenwatch_core::detect::suppress`).

mod error;

use std::collections::BTreeMap;
use std::str::FromStr;

use chrono::Utc;
use tokenwatch_auth::{AuthInterceptor, Permission, authorize};
use tokenwatch_core::detect::learn::{Judged, Label, LearnConfig, threshold_crossings, update};
use tokenwatch_core::detect::suppress::{
    self, Suppression as EngineSuppression, Suppressions, Target,
};
use tokenwatch_core::detect::{Feature, Finding, WeightSet};
use tokenwatch_error::invalid_argument;
use tokenwatch_grpc::ServiceSet;
use tokenwatch_proto::common::v1::{self as common, ContextKind, VerdictKind};
use tokenwatch_proto::feedback::v1::feedback_service_server::{
    FeedbackService, FeedbackServiceServer,
};
use tokenwatch_proto::feedback::v1::*;
use tokenwatch_proto::to_timestamp;
use tokenwatch_proto::tonic::service::interceptor::InterceptedService;
use tokenwatch_proto::tonic::{self, Request, Response, Status};
use tokenwatch_storage::suppressions::{self, SuppressionRow};
use tokenwatch_storage::verdicts::{self, VerdictRow};
use tokenwatch_storage::weights::{self, WeightVersion};
use tokenwatch_storage::{Database, StorageError, TenantTx, findings};
use tokenwatch_types::{FindingId, FindingStatus, TenantId};
use uuid::Uuid;

use crate::error::fail;

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

/// Re-scores the unresolved findings with the new weights, in place; returns how many changed
/// side of the threshold (those an analyst may want to look at again).
async fn rescore_unresolved(
    tx: &mut TenantTx,
    old: &WeightSet,
    new: &WeightSet,
) -> Result<i64, Status> {
    let stored = findings::unresolved(tx).await.map_err(fail)?;
    let mut values: Vec<BTreeMap<Feature, f64>> = Vec::with_capacity(stored.len());
    for row in stored {
        let Ok(finding) = serde_json::from_value::<Finding>(row.finding.explanation) else {
            continue;
        };
        values.push(
            finding
                .reasons
                .iter()
                .map(|r| (r.feature, r.value))
                .collect(),
        );
        let rescored = finding.rescored(new);
        let explanation = serde_json::to_value(&rescored).map_err(fail)?;
        findings::update_scoring(
            tx,
            row.finding.finding_id,
            rescored.score,
            rescored.threshold,
            rescored.severity,
            rescored.weight_version,
            &explanation,
        )
        .await
        .map_err(fail)?;
    }
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
        let finding_id = FindingId::parse(&r.finding_id)
            .map_err(|e| invalid_argument("finding_id", e.to_string()))?;
        let (kind, label, status) = match VerdictKind::try_from(r.kind) {
            Ok(VerdictKind::TruePositive) => (
                "true_positive",
                Label::TruePositive,
                FindingStatus::TruePositive,
            ),
            Ok(VerdictKind::FalsePositive) => (
                "false_positive",
                Label::FalsePositive,
                FindingStatus::FalsePositive,
            ),
            Ok(VerdictKind::BenignTruePositive) => (
                "benign_true_positive",
                Label::BenignTruePositive,
                FindingStatus::Benign,
            ),
            _ => return Err(invalid_argument("kind", "must name a verdict")),
        };
        let mut tx = self.database.tenant_tx(tenant).await.map_err(fail)?;
        let stored = findings::get_finding(&mut tx, finding_id)
            .await
            .map_err(fail)?;
        let current = weights::current_or_defaults(&mut tx).await.map_err(fail)?;
        let row = VerdictRow {
            verdict_id: Uuid::new_v4(),
            finding_id: finding_id.as_uuid(),
            kind: kind.to_owned(),
            comment: r.comment.clone(),
            analyst: claims.subject.clone(),
            weight_version: current.version,
            create_time: Utc::now(),
        };
        verdicts::insert_verdict(&mut tx, &row)
            .await
            .map_err(fail)?;
        findings::update_status(
            &mut tx,
            tenant,
            finding_id,
            status,
            &claims.subject,
            &r.comment,
        )
        .await
        .map_err(fail)?;

        // Learn from the verdict, unless a detection engineer pinned the weights.
        let mut in_force = current.clone();
        let mut changed = 0;
        let finding: Option<Finding> = serde_json::from_value(stored.finding.explanation).ok();
        if let (false, Some(finding)) = (current.pinned, finding) {
            let judged = Judged {
                values: finding
                    .reasons
                    .iter()
                    .map(|r| (r.feature, r.value))
                    .collect(),
                label,
            };
            let prior = WeightSet {
                threshold: current.threshold,
                ..WeightSet::default()
            };
            let base = current.weight_set();
            let learned =
                update(&base, &prior, &[judged], &LearnConfig::default()).map_err(fail)?;
            if let Some(next) = learned {
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
                    .map_err(fail)?;
                changed = rescore_unresolved(&mut tx, &base, &in_force.weight_set()).await?;
            }
        }
        tx.commit().await.map_err(fail)?;
        tracing::info!(actor = %claims.subject, kind, weight_version = in_force.version, "verdict");
        Ok(Response::new(SubmitVerdictResponse {
            verdict: Some(verdict(tenant, &row)),
            weight_set: Some(in_force.to_proto(tenant)),
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
        let mut tx = self.database.tenant_tx(tenant).await.map_err(fail)?;
        let (rows, next) = verdicts::list_verdicts(&mut tx, finding, page_size, &r.page_token)
            .await
            .map_err(fail)?;
        tx.commit().await.map_err(fail)?;
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
        let mut tx = self.database.tenant_tx(tenant).await.map_err(fail)?;
        let (mut versions, mut next) = weights::list_versions(&mut tx, before, page_size)
            .await
            .map_err(fail)?;
        tx.commit().await.map_err(fail)?;
        // The defaults are version 1 of every tenant, never stored: the last of the list.
        if next.is_none() && before.is_none_or(|b| b > 1) {
            if versions.len() < page_size {
                versions.push(WeightVersion::defaults());
            } else {
                next = versions.last().map(|v| v.version);
            }
        }
        Ok(Response::new(ListWeightVersionsResponse {
            weight_sets: versions.iter().map(|v| v.to_proto(tenant)).collect(),
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
        let mut tx = self.database.tenant_tx(tenant).await.map_err(fail)?;
        let current = weights::current_or_defaults(&mut tx).await.map_err(fail)?;
        let target = if r.version == WeightVersion::defaults().version {
            match weights::weights_version(&mut tx, r.version).await {
                Ok(stored) => stored,
                Err(StorageError::NotFound { .. }) => WeightVersion::defaults(),
                Err(error) => return Err(fail(error)),
            }
        } else {
            weights::weights_version(&mut tx, r.version)
                .await
                .map_err(fail)?
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
        weights::insert_weights(&mut tx, &rolled)
            .await
            .map_err(fail)?;
        let changed =
            rescore_unresolved(&mut tx, &current.weight_set(), &rolled.weight_set()).await?;
        tx.commit().await.map_err(fail)?;
        Ok(Response::new(RollbackWeightsResponse {
            weight_set: Some(rolled.to_proto(tenant)),
            findings_changed: changed,
        }))
    }

    async fn create_suppression(
        &self,
        request: Request<CreateSuppressionRequest>,
    ) -> Result<Response<CreateSuppressionResponse>, Status> {
        let (tenant, claims) = authorize(
            &request,
            Permission::SuppressionsManage,
            &request.get_ref().tenant_id,
        )?;
        let r = request.into_inner();
        let context = r
            .context
            .as_ref()
            .ok_or_else(|| invalid_argument("context", "is required"))?;
        let target = target_of(context.kind())?;
        let expires = match &r.expire_time {
            Some(time) => Some(
                tokenwatch_proto::from_timestamp(time)
                    .filter(|t| *t > Utc::now())
                    .ok_or_else(|| invalid_argument("expire_time", "must be in the future"))?,
            ),
            None => None,
        };
        let user = Some(r.user_id.clone()).filter(|u| !u.trim().is_empty());
        let checked = EngineSuppression::new(user, target, &context.value, expires)
            .map_err(|problem| invalid_argument("context.value", problem))?;
        let row = SuppressionRow {
            suppression_id: Uuid::new_v4(),
            user_id: checked.user.clone().unwrap_or_default(),
            context_kind: checked.target_name().to_owned(),
            context_value: checked.value.clone(),
            reason: r.reason.trim().to_owned(),
            created_by: claims.subject.clone(),
            create_time: Utc::now(),
            expire_time: expires,
        };
        let mut tx = self.database.tenant_tx(tenant).await.map_err(fail)?;
        suppressions::create(&mut tx, &row).await.map_err(fail)?;
        tx.commit().await.map_err(fail)?;
        tracing::info!(actor = %claims.subject, kind = %row.context_kind, value = %row.context_value, "suppression created");
        Ok(Response::new(CreateSuppressionResponse {
            suppression: Some(suppression(tenant, &row)),
        }))
    }

    async fn list_suppressions(
        &self,
        request: Request<ListSuppressionsRequest>,
    ) -> Result<Response<ListSuppressionsResponse>, Status> {
        let (tenant, _) = authorize(
            &request,
            Permission::SuppressionsRead,
            &request.get_ref().tenant_id,
        )?;
        let page_size = tokenwatch_grpc::page_size(request.get_ref().page_size)?;
        let r = request.into_inner();
        let mut tx = self.database.tenant_tx(tenant).await.map_err(fail)?;
        let (rows, next) = suppressions::list(&mut tx, r.include_expired, page_size, &r.page_token)
            .await
            .map_err(fail)?;
        tx.commit().await.map_err(fail)?;
        Ok(Response::new(ListSuppressionsResponse {
            suppressions: rows.iter().map(|row| suppression(tenant, row)).collect(),
            next_page_token: next.unwrap_or_default(),
        }))
    }

    async fn delete_suppression(
        &self,
        request: Request<DeleteSuppressionRequest>,
    ) -> Result<Response<DeleteSuppressionResponse>, Status> {
        let (tenant, claims) = authorize(
            &request,
            Permission::SuppressionsManage,
            &request.get_ref().tenant_id,
        )?;
        let id = Uuid::from_str(&request.get_ref().suppression_id)
            .map_err(|_| invalid_argument("suppression_id", "must be a UUID"))?;
        let mut tx = self.database.tenant_tx(tenant).await.map_err(fail)?;
        suppressions::delete(&mut tx, id, &claims.subject)
            .await
            .map_err(fail)?;
        tx.commit().await.map_err(fail)?;
        Ok(Response::new(DeleteSuppressionResponse {}))
    }

    async fn list_suppression_suggestions(
        &self,
        request: Request<ListSuppressionSuggestionsRequest>,
    ) -> Result<Response<ListSuppressionSuggestionsResponse>, Status> {
        let (tenant, _) = authorize(
            &request,
            Permission::SuppressionsRead,
            &request.get_ref().tenant_id,
        )?;
        let now = Utc::now();
        let mut tx = self.database.tenant_tx(tenant).await.map_err(fail)?;
        let judged_rows = verdicts::judged_since(&mut tx, now - SUGGESTION_WINDOW)
            .await
            .map_err(fail)?;
        let active = suppressions::for_engine(&mut tx, now).await.map_err(fail)?;
        tx.commit().await.map_err(fail)?;
        let existing = Suppressions {
            list: active.iter().filter_map(engine_suppression).collect(),
        };
        let explained: Vec<(String, String, bool, Finding)> = judged_rows
            .into_iter()
            .filter_map(|row| {
                let finding = serde_json::from_value::<Finding>(row.explanation).ok()?;
                Some((
                    row.finding_id.to_string(),
                    row.user_id,
                    row.kind == "true_positive",
                    finding,
                ))
            })
            .collect();
        let judged: Vec<suppress::Judged<'_>> = explained
            .iter()
            .map(|(id, user, attack, finding)| suppress::Judged {
                finding_id: id,
                user,
                attack: *attack,
                contexts: finding
                    .evidence
                    .contexts
                    .iter()
                    .map(|c| (c.kind.as_str(), c.value.as_str(), c.novelty))
                    .collect(),
            })
            .collect();
        let suggestions = suppress::suggest(&judged, &existing)
            .into_iter()
            .map(|s| {
                let false_positives = s.finding_ids.len() as i32;
                let row = SuppressionRow {
                    suppression_id: Uuid::nil(),
                    user_id: s.suppression.user.clone().unwrap_or_default(),
                    context_kind: s.suppression.target_name().to_owned(),
                    context_value: s.suppression.value.clone(),
                    reason: format!(
                        "{false_positives} false positives share this context, new to their users"
                    ),
                    created_by: "suggestion".to_owned(),
                    create_time: now,
                    expire_time: Some(now + SUGGESTED_EXPIRY),
                };
                SuppressionSuggestion {
                    suppression: Some(suppression(tenant, &row)),
                    finding_ids: s.finding_ids,
                    false_positives,
                }
            })
            .collect();
        Ok(Response::new(ListSuppressionSuggestionsResponse {
            suggestions,
        }))
    }
}

/// Verdicts this recent feed suggestions.
const SUGGESTION_WINDOW: chrono::Duration = chrono::Duration::days(30);
/// A suggested suppression lasts this long unless the analyst picks another expiry.
const SUGGESTED_EXPIRY: chrono::Duration = chrono::Duration::days(30);

fn target_of(kind: ContextKind) -> Result<Target, Status> {
    Ok(match kind {
        ContextKind::Asn => Target::Asn,
        ContextKind::Prefix => Target::Prefix,
        ContextKind::Country => Target::Country,
        ContextKind::Browser => Target::Browser,
        ContextKind::Os => Target::Os,
        ContextKind::Device => Target::Device,
        ContextKind::NetworkClient => Target::NetworkClient,
        ContextKind::Ip | ContextKind::UserAgent | ContextKind::Unspecified => {
            return Err(invalid_argument(
                "context.kind",
                "suppress an ASN, prefix, country, browser, OS, device or network-client pair \
                 (a single IP or a full user agent is too narrow to match what the engine compares)",
            ));
        }
    })
}

fn context_kind(name: &str) -> ContextKind {
    match name {
        "asn" => ContextKind::Asn,
        "prefix" => ContextKind::Prefix,
        "country" => ContextKind::Country,
        "browser" => ContextKind::Browser,
        "os" => ContextKind::Os,
        "device" => ContextKind::Device,
        "network_client" => ContextKind::NetworkClient,
        _ => ContextKind::Unspecified,
    }
}

/// A stored suppression as the engine applies it.
fn engine_suppression(row: &SuppressionRow) -> Option<EngineSuppression> {
    EngineSuppression::from_stored(
        &row.user_id,
        &row.context_kind,
        &row.context_value,
        row.expire_time,
    )
    .ok()
}

fn suppression(tenant: TenantId, row: &SuppressionRow) -> Suppression {
    Suppression {
        suppression_id: if row.suppression_id.is_nil() {
            String::new()
        } else {
            row.suppression_id.to_string()
        },
        tenant_id: tenant.to_string(),
        user_id: row.user_id.clone(),
        context: Some(common::ContextValue {
            kind: context_kind(&row.context_kind).into(),
            value: row.context_value.clone(),
        }),
        reason: row.reason.clone(),
        created_by: row.created_by.clone(),
        create_time: Some(to_timestamp(row.create_time)),
        expire_time: row.expire_time.map(to_timestamp),
    }
}
