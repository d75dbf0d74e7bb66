//! The action RPCs: propose, approve or reject (a second person), execute, cancel, read.

use tokenwatch_auth::{Permission, authorize};
use tokenwatch_error::invalid_argument;
use tokenwatch_proto::response::v1::*;
use tokenwatch_proto::tonic::{Request, Response, Status};
use tokenwatch_storage::actions::{self, ActionFilter, NewAction, Transition};
use tokenwatch_storage::findings;
use tokenwatch_types::{ActionState, FindingId, Severity};
use uuid::Uuid;

use crate::convert::*;
use crate::error::fail;
use crate::execute::Start;
use crate::policy::Decision;
use crate::{ResponseApi, load_policy, may_approve, parse_id};

pub(crate) async fn propose_action(
    api: &ResponseApi,
    request: Request<ProposeActionRequest>,
) -> Result<Response<ProposeActionResponse>, Status> {
    let (tenant, claims) = authorize(
        &request,
        Permission::ActionsPropose,
        &request.get_ref().tenant_id,
    )?;
    let r = request.into_inner();
    let kind = ActionKind::try_from(r.kind)
        .ok()
        .and_then(kind_name)
        .ok_or_else(|| {
            invalid_argument(
                "kind",
                "give revoke sessions, disable user, enable user or confirm compromised",
            )
        })?;
    let mut tx = api.database.tenant_tx(tenant).await.map_err(fail)?;
    let (user, finding_id, severity) = if r.finding_id.is_empty() {
        (r.user_id.trim().to_owned(), None, None)
    } else {
        let id = FindingId::parse(&r.finding_id)
            .map_err(|e| invalid_argument("finding_id", e.to_string()))?;
        let finding = findings::get_finding(&mut tx, id)
            .await
            .map_err(fail)?
            .finding;
        let requested = r.user_id.trim();
        if !requested.is_empty() && !requested.eq_ignore_ascii_case(&finding.user_id) {
            return Err(invalid_argument(
                "user_id",
                format!("the finding is about {}, not {requested}", finding.user_id),
            ));
        }
        (finding.user_id, Some(id.as_uuid()), Some(finding.severity))
    };
    if user.is_empty() {
        return Err(invalid_argument(
            "user_id",
            "give the user (UPN or object id) or a finding",
        ));
    }
    let policy = load_policy(&mut tx).await.map_err(fail)?;
    let execute = policy.on_request(kind, &user, severity) == Decision::Execute;
    let request_id = if r.request_id.trim().is_empty() {
        Uuid::new_v4().to_string()
    } else {
        r.request_id.trim().to_owned()
    };
    let (action, created) = actions::propose(
        &mut tx,
        &NewAction {
            kind: kind.to_owned(),
            user_id: user.clone(),
            finding_id,
            reason: r.reason.trim().to_owned(),
            request_id,
            proposed_by: claims.subject.clone(),
            dry_run: r.dry_run || policy.dry_run,
            // An action without a finding has the lowest severity there is.
            severity: severity.unwrap_or(Severity::Info),
            state: if execute {
                ActionState::Approved
            } else {
                ActionState::Proposed
            },
            approved_by: execute.then(|| "policy:automatic".to_owned()),
        },
    )
    .await
    .map_err(fail)?;
    tx.commit().await.map_err(fail)?;
    if !created && (action.kind != kind || !action.user_id.eq_ignore_ascii_case(&user)) {
        return Err(invalid_argument(
            "request_id",
            format!(
                "was used for action {} ({} of {}); a new action needs a new request id",
                action.action_id, action.kind, action.user_id
            ),
        ));
    }
    let action = if created && execute {
        api.executor
            .execute(tenant, action.action_id, &claims.subject, Start::Approved)
            .await
            .map_err(fail)?
    } else {
        action
    };
    Ok(Response::new(ProposeActionResponse {
        action: Some(to_proto(&tenant.to_string(), &action)),
    }))
}

pub(crate) async fn approve_action(
    api: &ResponseApi,
    request: Request<ApproveActionRequest>,
) -> Result<Response<ApproveActionResponse>, Status> {
    let (tenant, claims) = authorize(
        &request,
        Permission::ActionsManage,
        &request.get_ref().tenant_id,
    )?;
    let r = request.into_inner();
    let id = parse_id("action_id", &r.action_id)?;
    let mut tx = api.database.tenant_tx(tenant).await.map_err(fail)?;
    let action = actions::get(&mut tx, id, true).await.map_err(fail)?;
    if action.state != ActionState::Proposed {
        // Approving again what this approver approved is a repeat, not an error.
        if r.approve && action.approved_by.as_deref() == Some(claims.subject.as_str()) {
            return Ok(Response::new(ApproveActionResponse {
                action: Some(to_proto(&tenant.to_string(), &action)),
            }));
        }
        return Err(Status::failed_precondition(format!(
            "action {id} is {}, not awaiting approval",
            action.state
        )));
    }
    if action.proposed_by == claims.subject {
        return Err(Status::permission_denied(format!(
            "{} proposed action {id}; a second person must approve or reject it",
            claims.subject
        )));
    }
    let moved = actions::transition(
        &mut tx,
        id,
        &Transition {
            from: &[ActionState::Proposed],
            to: if r.approve {
                ActionState::Approved
            } else {
                ActionState::Rejected
            },
            actor: &claims.subject,
            approves: r.approve,
            starts_attempt: false,
            result: (!r.approve)
                .then(|| format!("rejected by {}", claims.subject))
                .as_deref(),
            outcome: None,
            details: serde_json::json!({ "comment": r.comment }),
        },
    )
    .await
    .map_err(fail)?
    .ok_or_else(|| Status::aborted("the action changed meanwhile; try again"))?;
    tx.commit().await.map_err(fail)?;
    let action = if r.approve {
        api.executor
            .execute(tenant, id, &claims.subject, Start::Approved)
            .await
            .map_err(fail)?
    } else {
        moved
    };
    Ok(Response::new(ApproveActionResponse {
        action: Some(to_proto(&tenant.to_string(), &action)),
    }))
}

pub(crate) async fn execute_action(
    api: &ResponseApi,
    request: Request<ExecuteActionRequest>,
) -> Result<Response<ExecuteActionResponse>, Status> {
    let (tenant, claims) = authorize(
        &request,
        Permission::ActionsManage,
        &request.get_ref().tenant_id,
    )?;
    let id = parse_id("action_id", &request.get_ref().action_id)?;
    let mut tx = api.database.tenant_tx(tenant).await.map_err(fail)?;
    let current = actions::get(&mut tx, id, false).await.map_err(fail)?;
    tx.commit().await.map_err(fail)?;
    if matches!(
        current.state,
        ActionState::Proposed | ActionState::Rejected | ActionState::Cancelled
    ) {
        return Err(Status::failed_precondition(format!(
            "action {id} is {}: only approved or failed actions execute",
            current.state
        )));
    }
    let action = api
        .executor
        .execute(tenant, id, &claims.subject, Start::Retry)
        .await
        .map_err(fail)?;
    Ok(Response::new(ExecuteActionResponse {
        action: Some(to_proto(&tenant.to_string(), &action)),
    }))
}

pub(crate) async fn cancel_action(
    api: &ResponseApi,
    request: Request<CancelActionRequest>,
) -> Result<Response<CancelActionResponse>, Status> {
    let (tenant, claims) = authorize(
        &request,
        Permission::ActionsPropose,
        &request.get_ref().tenant_id,
    )?;
    let r = request.into_inner();
    let id = parse_id("action_id", &r.action_id)?;
    let mut tx = api.database.tenant_tx(tenant).await.map_err(fail)?;
    let action = actions::get(&mut tx, id, true).await.map_err(fail)?;
    if action.proposed_by != claims.subject && !may_approve(&claims) {
        return Err(Status::permission_denied(format!(
            "{} proposed action {id}; only they or an approver may cancel it",
            action.proposed_by
        )));
    }
    let action = match action.state {
        ActionState::Cancelled => action,
        state if state.is_cancellable() => actions::transition(
            &mut tx,
            id,
            &Transition {
                from: &[ActionState::Proposed, ActionState::Approved],
                to: ActionState::Cancelled,
                actor: &claims.subject,
                approves: false,
                starts_attempt: false,
                result: Some(&format!("cancelled by {}", claims.subject)),
                outcome: None,
                details: serde_json::json!({ "comment": r.comment }),
            },
        )
        .await
        .map_err(fail)?
        .ok_or_else(|| Status::aborted("the action changed meanwhile; try again"))?,
        other => {
            return Err(Status::failed_precondition(format!(
                "action {id} is {other}; only proposed or approved actions can be cancelled"
            )));
        }
    };
    tx.commit().await.map_err(fail)?;
    Ok(Response::new(CancelActionResponse {
        action: Some(to_proto(&tenant.to_string(), &action)),
    }))
}

pub(crate) async fn get_action(
    api: &ResponseApi,
    request: Request<GetActionRequest>,
) -> Result<Response<GetActionResponse>, Status> {
    let (tenant, _) = authorize(
        &request,
        Permission::ActionsRead,
        &request.get_ref().tenant_id,
    )?;
    let id = parse_id("action_id", &request.get_ref().action_id)?;
    let mut tx = api.database.tenant_tx(tenant).await.map_err(fail)?;
    let action = actions::get(&mut tx, id, false).await.map_err(fail)?;
    tx.commit().await.map_err(fail)?;
    Ok(Response::new(GetActionResponse {
        action: Some(to_proto(&tenant.to_string(), &action)),
    }))
}

pub(crate) async fn list_actions(
    api: &ResponseApi,
    request: Request<ListActionsRequest>,
) -> Result<Response<ListActionsResponse>, Status> {
    let (tenant, _) = authorize(
        &request,
        Permission::ActionsRead,
        &request.get_ref().tenant_id,
    )?;
    let r = request.into_inner();
    let states = r
        .states
        .iter()
        .map(|s| {
            tokenwatch_proto::action_state_from_proto(*s)
                .ok_or_else(|| invalid_argument("states", "unknown state"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let filter = ActionFilter {
        user_id: Some(r.user_id.trim().to_owned()).filter(|u| !u.is_empty()),
        states,
        finding_id: None,
    };
    let page_size = match r.page_size {
        ..=0 => 100,
        size => size.min(1_000) as usize,
    };
    let mut tx = api.database.tenant_tx(tenant).await.map_err(fail)?;
    let (rows, next) = actions::list(&mut tx, &filter, page_size, &r.page_token)
        .await
        .map_err(fail)?;
    tx.commit().await.map_err(fail)?;
    let tenant = tenant.to_string();
    Ok(Response::new(ListActionsResponse {
        actions: rows.iter().map(|a| to_proto(&tenant, a)).collect(),
        next_page_token: next.unwrap_or_default(),
    }))
}
