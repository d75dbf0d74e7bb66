//! Response actions and each tenant's response policy.
//!
//! An action's life is a small state machine; every move is a compare-and-set on the state it
//! leaves (so two replicas, or two analysts, cannot both make it) and is audited with who made
//! it. The request id makes proposing idempotent: the same id returns the first action.

use chrono::{DateTime, Utc};
use tokenwatch_types::{ActionState, Severity};
use uuid::Uuid;

use crate::{StorageError, StorageResult, TenantTx, audit};

/// A stored action.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ActionRow {
    /// Id.
    pub action_id: Uuid,
    /// `revoke_sessions`, `disable_user`, `enable_user`, `confirm_compromised`.
    pub kind: String,
    /// Where it is.
    #[sqlx(try_from = "String")]
    pub state: ActionState,
    /// The user's UPN or object id.
    pub user_id: String,
    /// The finding that prompted it.
    pub finding_id: Option<Uuid>,
    /// Why.
    pub reason: String,
    /// The idempotency key.
    pub request_id: Option<String>,
    /// Who proposed it (`policy` for automatic responses).
    pub proposed_by: String,
    /// Who approved it (`policy:automatic` when the policy did).
    pub approved_by: Option<String>,
    /// What happened, in words.
    pub result: String,
    /// Executions started.
    pub attempts: i32,
    /// Calls nothing.
    pub dry_run: bool,
    /// The finding's severity when proposed.
    #[sqlx(try_from = "String")]
    pub severity: Severity,
    /// Graph's answer (status, code, message).
    pub outcome: Option<serde_json::Value>,
    /// Created.
    pub create_time: DateTime<Utc>,
    /// Last changed.
    pub update_time: DateTime<Utc>,
}

const COLUMNS: &str = "action_id, kind, state, user_id, finding_id, reason, request_id, \
     proposed_by, approved_by, result, attempts, dry_run, severity, outcome, create_time, update_time";

/// What a proposal says.
#[derive(Debug, Clone)]
pub struct NewAction {
    /// Kind.
    pub kind: String,
    /// User.
    pub user_id: String,
    /// Finding.
    pub finding_id: Option<Uuid>,
    /// Why.
    pub reason: String,
    /// Idempotency key (a fresh one when the caller gave none).
    pub request_id: String,
    /// Proposer.
    pub proposed_by: String,
    /// Dry run.
    pub dry_run: bool,
    /// Severity the policy decided on.
    pub severity: Severity,
    /// Proposed, or approved when the policy approves it at once.
    pub state: ActionState,
    /// `policy:automatic` when the policy approved it.
    pub approved_by: Option<String>,
}

/// Stores a proposal, audited; with a request id seen before, returns that action instead
/// (and `false`).
pub async fn propose(tx: &mut TenantTx, new: &NewAction) -> StorageResult<(ActionRow, bool)> {
    let inserted: Option<ActionRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "INSERT INTO actions (tenant_id, action_id, kind, state, user_id, finding_id, reason, \
                              request_id, proposed_by, approved_by, dry_run, severity) \
         VALUES (tokenwatch_current_tenant(), $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) \
         ON CONFLICT (tenant_id, request_id) DO NOTHING RETURNING {COLUMNS}"
    )))
    .bind(Uuid::new_v4())
    .bind(&new.kind)
    .bind(new.state.as_str())
    .bind(&new.user_id)
    .bind(new.finding_id)
    .bind(&new.reason)
    .bind(&new.request_id)
    .bind(&new.proposed_by)
    .bind(&new.approved_by)
    .bind(new.dry_run)
    .bind(new.severity.as_str())
    .fetch_optional(&mut **tx)
    .await?;
    match inserted {
        Some(action) => {
            let id = action.action_id.to_string();
            audit::record(
                tx,
                &new.proposed_by,
                "action.propose",
                ("action", &id),
                serde_json::json!({
                    "kind": new.kind, "user": new.user_id, "finding_id": new.finding_id,
                    "reason": new.reason, "request_id": new.request_id, "dry_run": new.dry_run,
                    "severity": new.severity, "state": new.state,
                    "approved_by": new.approved_by,
                }),
            )
            .await?;
            if matches!(action.state, ActionState::Proposed | ActionState::Approved) {
                enqueue(tx, &action).await?;
            }
            Ok((action, true))
        }
        None => {
            let existing: ActionRow = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "SELECT {COLUMNS} FROM actions \
                 WHERE tenant_id = tokenwatch_current_tenant() AND request_id = $1"
            )))
            .bind(&new.request_id)
            .fetch_one(&mut **tx)
            .await?;
            Ok((existing, false))
        }
    }
}

/// One action; with `lock`, held until the transaction ends.
pub async fn get(tx: &mut TenantTx, action_id: Uuid, lock: bool) -> StorageResult<ActionRow> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM actions \
         WHERE tenant_id = tokenwatch_current_tenant() AND action_id = $1{}",
        if lock { " FOR UPDATE" } else { "" }
    )))
    .bind(action_id)
    .fetch_optional(&mut **tx)
    .await?
    .ok_or_else(|| StorageError::NotFound {
        kind: "action",
        id: action_id.to_string(),
    })
}

/// A move of an action from one of `from` to `to`.
#[derive(Debug, Clone)]
pub struct Transition<'a> {
    /// States it may leave; each must be allowed to move to `to`
    /// ([`ActionState::can_move_to`]).
    pub from: &'a [ActionState],
    /// The state it enters.
    pub to: ActionState,
    /// Who makes the move.
    pub actor: &'a str,
    /// Sets `approved_by` to the actor.
    pub approves: bool,
    /// Starts an execution (counts an attempt).
    pub starts_attempt: bool,
    /// New `result` text, if any.
    pub result: Option<&'a str>,
    /// Graph's answer, if any.
    pub outcome: Option<serde_json::Value>,
    /// Audit details beyond the move itself (a comment...).
    pub details: serde_json::Value,
}

/// Makes the move if the action is in one of `from`: the moved action, or `None` (nothing
/// changed) when it was not.
pub async fn transition(
    tx: &mut TenantTx,
    action_id: Uuid,
    t: &Transition<'_>,
) -> StorageResult<Option<ActionRow>> {
    debug_assert!(
        t.from.iter().all(|from| from.can_move_to(t.to)),
        "no move from {:?} to {}",
        t.from,
        t.to
    );
    let from: Vec<&str> = t.from.iter().map(|s| s.as_str()).collect();
    let moved: Option<ActionRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "UPDATE actions SET state = $2, update_time = now(), \
           approved_by = CASE WHEN $4 THEN $3 ELSE approved_by END, \
           attempts = attempts + CASE WHEN $5 THEN 1 ELSE 0 END, \
           result = COALESCE($6, result), outcome = COALESCE($7, outcome) \
         WHERE tenant_id = tokenwatch_current_tenant() AND action_id = $1 AND state = ANY($8) \
         RETURNING {COLUMNS}"
    )))
    .bind(action_id)
    .bind(t.to.as_str())
    .bind(t.actor)
    .bind(t.approves)
    .bind(t.starts_attempt)
    .bind(t.result)
    .bind(&t.outcome)
    .bind(&from)
    .fetch_optional(&mut **tx)
    .await?;
    if let Some(action) = &moved {
        let mut details =
            serde_json::json!({ "state": t.to.as_str(), "attempts": action.attempts });
        if let (Some(object), Some(extra)) = (details.as_object_mut(), t.details.as_object()) {
            object.extend(extra.clone());
        }
        if let Some(result) = t.result {
            details["result"] = result.into();
        }
        if let Some(outcome) = &t.outcome {
            details["graph"] = outcome.clone();
        }
        audit::record(
            tx,
            t.actor,
            &format!("action.{}", t.to),
            ("action", &action_id.to_string()),
            details,
        )
        .await?;
        // Approval is news too: the PSA's ticket says who approved what.
        if t.to.is_settled() || t.to == ActionState::Approved {
            enqueue(tx, action).await?;
        }
    }
    Ok(moved)
}

/// Tells webhooks about an action that awaits approval or has ended.
async fn enqueue(tx: &mut TenantTx, action: &ActionRow) -> StorageResult<()> {
    let status = if action.state == ActionState::Proposed {
        "pending"
    } else {
        action.state.as_str()
    };
    let payload = serde_json::json!({
        "id": action.action_id,
        "status": status,
        "action": action.kind.replace('_', "-"),
        "user": action.user_id,
        "finding_id": action.finding_id,
        "severity": action.severity,
        "dry_run": action.dry_run,
        "reason": action.reason,
        "proposed_by": action.proposed_by,
        "approved_by": action.approved_by,
        "result": action.result,
        "attempts": action.attempts,
    });
    crate::notifications::enqueue(
        tx,
        &format!(
            "action:{}:{}:{}",
            action.action_id, action.state, action.attempts
        ),
        &format!("action.{status}"),
        action.severity.as_str(),
        &payload,
    )
    .await
}

/// Which actions to list.
#[derive(Debug, Clone, Default)]
pub struct ActionFilter {
    /// Only this user's.
    pub user_id: Option<String>,
    /// Only these states (all when empty).
    pub states: Vec<ActionState>,
    /// Only this finding's.
    pub finding_id: Option<Uuid>,
}

/// Actions, newest first, in keyset pages.
pub async fn list(
    tx: &mut TenantTx,
    filter: &ActionFilter,
    page_size: usize,
    page_token: &str,
) -> StorageResult<(Vec<ActionRow>, Option<String>)> {
    let after = crate::page::after(page_token)?;
    let mut rows: Vec<ActionRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM actions WHERE tenant_id = tokenwatch_current_tenant() \
           AND ($1::text IS NULL OR user_id = $1) \
           AND (cardinality($2::text[]) = 0 OR state = ANY($2)) \
           AND ($3::uuid IS NULL OR finding_id = $3) \
           AND ($4::timestamptz IS NULL OR (create_time, action_id) < ($4, $5)) \
         ORDER BY create_time DESC, action_id DESC LIMIT $6"
    )))
    .bind(&filter.user_id)
    .bind(filter.states.iter().map(|s| s.as_str()).collect::<Vec<_>>())
    .bind(filter.finding_id)
    .bind(after.map(|a| a.0))
    .bind(after.map(|a| a.1))
    .bind(page_size as i64 + 1)
    .fetch_all(&mut **tx)
    .await?;
    let next = crate::page::next(&mut rows, page_size, |row| (row.create_time, row.action_id));
    Ok((rows, next))
}

/// Actions approved but not executed since `approved_before`, or executing and untouched since
/// `executing_before`: a process stopped between approval and execution, or during it. (An
/// approved action is safe to take up early, as only one execution can move it to
/// `executing`; an executing one may still be in another process's Graph call.)
pub async fn unfinished(
    tx: &mut TenantTx,
    approved_before: DateTime<Utc>,
    executing_before: DateTime<Utc>,
    max_attempts: i32,
) -> StorageResult<Vec<ActionRow>> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM actions WHERE tenant_id = tokenwatch_current_tenant() \
           AND ((state = 'approved' AND update_time < $1) \
             OR (state = 'executing' AND update_time < $2)) \
           AND attempts < $3 \
         ORDER BY update_time LIMIT 100"
    )))
    .bind(approved_before)
    .bind(executing_before)
    .bind(max_attempts)
    .fetch_all(&mut **tx)
    .await?)
}

/// The tenant's response policy (JSON) and when it was set; `None` before one is set.
pub async fn get_policy(
    tx: &mut TenantTx,
) -> StorageResult<Option<(serde_json::Value, DateTime<Utc>)>> {
    Ok(sqlx::query_as(
        "SELECT policy, update_time FROM response_policies \
         WHERE tenant_id = tokenwatch_current_tenant()",
    )
    .fetch_optional(&mut **tx)
    .await?)
}

/// Sets the tenant's response policy, audited with the policy itself.
pub async fn set_policy(
    tx: &mut TenantTx,
    policy: &serde_json::Value,
    actor: &str,
) -> StorageResult<DateTime<Utc>> {
    let time: DateTime<Utc> = sqlx::query_scalar(
        "INSERT INTO response_policies (tenant_id, policy) \
         VALUES (tokenwatch_current_tenant(), $1) \
         ON CONFLICT (tenant_id) DO UPDATE SET policy = excluded.policy, update_time = now() \
         RETURNING update_time",
    )
    .bind(policy)
    .fetch_one(&mut **tx)
    .await?;
    audit::record(
        tx,
        actor,
        "response_policy.set",
        ("response_policy", "current"),
        policy.clone(),
    )
    .await?;
    Ok(time)
}
