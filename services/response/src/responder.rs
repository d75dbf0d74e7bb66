//! The policy's own responses: when a finding is created or escalated, the tenant's policy may
//! propose actions or take them at once. Runs in the background of every process hosting the
//! response service; replicas agree through the actions' request ids (`policy:FINDING:KIND`),
//! so each finding gets each action once, executed by the replica whose proposal created it.
//!
//! Announcements can be missed (a LISTEN reconnecting, a process starting), so a sweep also
//! looks at every tenant's recent open findings, and resumes actions left approved or
//! executing by a process that stopped.

use std::time::Duration;

use chrono::Utc;
use tokenwatch_storage::actions::{self, NewAction};
use tokenwatch_storage::findings::{self, StoredFinding};
use tokenwatch_storage::{Feed, StorageError};
use tokenwatch_types::{ActionState, FindingId, FindingStatus, TenantId};
use tokio::sync::broadcast::error::RecvError;
use uuid::Uuid;

use crate::execute::{Executor, Start};
use crate::policy::{Decision, Policy};

/// The actor the policy acts as.
pub(crate) const POLICY_ACTOR: &str = "policy";

/// How often the sweep runs, and how old an unfinished action must be for it to resume one.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Timing {
    pub(crate) sweep_every: Duration,
    pub(crate) resume_after: Duration,
}

/// Executions of one action, in all, before the sweep stops resuming it.
const MAX_ATTEMPTS: i32 = 5;
/// How far back the sweep looks for findings the announcements missed.
const SWEEP_FINDINGS: chrono::Duration = chrono::Duration::hours(24);

/// Follows the findings feed until `stop` turns true.
pub(crate) async fn run(
    executor: Executor,
    feed: Feed,
    timing: Timing,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    let mut announcements = feed.subscribe();
    let mut sweep = tokio::time::interval(timing.sweep_every);
    loop {
        tokio::select! {
            // The guard `wait_for` returns is not Send; drop it at once.
            _ = async { stop.wait_for(|stop| *stop).await.map(|_| ()) } => return,
            received = announcements.recv() => match received {
                Ok(a) if a.change == "created" || a.change == "escalated" => {
                    if let Err(error) = respond(&executor, a.tenant, a.finding_id).await {
                        tracing::warn!(tenant = %a.tenant, finding = %a.finding_id, %error, "automatic response failed");
                    }
                }
                Ok(_) => {}
                // The sweep catches up with what was skipped.
                Err(RecvError::Lagged(skipped)) => {
                    tracing::warn!(skipped, "responder fell behind the findings feed");
                }
                Err(RecvError::Closed) => return,
            },
            _ = sweep.tick() => {
                if let Err(error) = sweep_tenants(&executor, timing).await {
                    tracing::warn!(%error, "response sweep failed");
                }
            }
        }
    }
}

/// Applies the tenant's policy to one finding.
pub(crate) async fn respond(
    executor: &Executor,
    tenant: TenantId,
    finding_id: FindingId,
) -> Result<(), StorageError> {
    let mut tx = executor.database.tenant_tx(tenant).await?;
    let finding = findings::get_finding(&mut tx, finding_id).await?;
    let policy = crate::load_policy(&mut tx).await?;
    let created = propose_for(&mut tx, &policy, &finding).await?;
    tx.commit().await?;
    for action_id in created {
        executor
            .execute(tenant, action_id, POLICY_ACTOR, Start::Approved)
            .await?;
    }
    Ok(())
}

/// Proposes what the policy wants for an open finding; returns the actions this call created
/// approved (to execute once committed).
async fn propose_for(
    tx: &mut tokenwatch_storage::TenantTx,
    policy: &Policy,
    finding: &StoredFinding,
) -> Result<Vec<Uuid>, StorageError> {
    let mut to_execute = Vec::new();
    if finding.status != FindingStatus::Open {
        return Ok(to_execute);
    }
    let f = &finding.finding;
    for (kind, decision) in policy.on_finding(&f.user_id, f.severity) {
        let execute = decision == Decision::Execute;
        let (action, created) = actions::propose(
            tx,
            &NewAction {
                kind: kind.to_owned(),
                user_id: f.user_id.clone(),
                finding_id: Some(f.finding_id.as_uuid()),
                reason: format!(
                    "{} finding on session {} (score {:.2})",
                    f.severity, f.session_id, f.score
                ),
                request_id: format!("policy:{}:{kind}", f.finding_id),
                proposed_by: POLICY_ACTOR.to_owned(),
                dry_run: policy.dry_run,
                severity: f.severity,
                state: if execute {
                    ActionState::Approved
                } else {
                    ActionState::Proposed
                },
                approved_by: execute.then(|| "policy:automatic".to_owned()),
            },
        )
        .await?;
        if created && execute {
            to_execute.push(action.action_id);
        }
    }
    Ok(to_execute)
}

/// Every tenant: findings the announcements missed, and actions a stopped process left.
async fn sweep_tenants(executor: &Executor, timing: Timing) -> Result<(), StorageError> {
    let mut token = String::new();
    loop {
        let page = tokenwatch_storage::list_tenants(&executor.database, None, 500, &token).await?;
        for tenant in &page.tenants {
            if let Err(error) = sweep_tenant(executor, tenant.tenant_id, timing).await {
                tracing::warn!(tenant = %tenant.tenant_id, %error, "response sweep of a tenant failed");
            }
        }
        match page.next_page_token {
            Some(next) => token = next,
            None => return Ok(()),
        }
    }
}

async fn sweep_tenant(
    executor: &Executor,
    tenant: TenantId,
    timing: Timing,
) -> Result<(), StorageError> {
    let mut tx = executor.database.tenant_tx(tenant).await?;
    let policy = crate::load_policy(&mut tx).await?;
    let mut to_execute = Vec::new();
    if !policy.automatic_actions.is_empty() {
        for finding in findings::open_since(&mut tx, Utc::now() - SWEEP_FINDINGS).await? {
            to_execute.extend(propose_for(&mut tx, &policy, &finding).await?);
        }
    }
    let ago = |d: Duration| {
        Utc::now() - chrono::Duration::from_std(d).unwrap_or(chrono::Duration::days(365))
    };
    // Approved ones a sweep ago: their approver's own execution has had its chance.
    let stale = actions::unfinished(
        &mut tx,
        ago(timing.sweep_every),
        ago(timing.resume_after),
        MAX_ATTEMPTS,
    )
    .await?;
    tx.commit().await?;
    for action_id in to_execute {
        executor
            .execute(tenant, action_id, POLICY_ACTOR, Start::Approved)
            .await?;
    }
    for action in stale {
        tracing::info!(%tenant, action = %action.action_id, state = %action.state, "resuming an unfinished action");
        executor
            .execute(tenant, action.action_id, "tokenwatch:sweep", Start::Resume)
            .await?;
    }
    Ok(())
}
