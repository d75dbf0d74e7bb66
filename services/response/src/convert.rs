//! The contract's messages from and to what the service stores.

use tokenwatch_error::invalid_argument;
use tokenwatch_proto::response::v1::*;
use tokenwatch_proto::tonic::Status;
use tokenwatch_storage::actions::ActionRow;
use tokenwatch_storage::notifications;
use tokenwatch_types::Severity;

use crate::policy::{Mode, Policy};

pub(crate) fn kind_name(kind: ActionKind) -> Option<&'static str> {
    match kind {
        ActionKind::RevokeSessions => Some("revoke_sessions"),
        ActionKind::DisableUser => Some("disable_user"),
        ActionKind::EnableUser => Some("enable_user"),
        ActionKind::ConfirmCompromised => Some("confirm_compromised"),
        ActionKind::Unspecified => None,
    }
}

pub(crate) fn kind_of(name: &str) -> ActionKind {
    match name {
        "revoke_sessions" => ActionKind::RevokeSessions,
        "disable_user" => ActionKind::DisableUser,
        "enable_user" => ActionKind::EnableUser,
        "confirm_compromised" => ActionKind::ConfirmCompromised,
        _ => ActionKind::Unspecified,
    }
}

pub(crate) fn mode_of(mode: Mode) -> ResponseMode {
    match mode {
        Mode::Notify => ResponseMode::Notify,
        Mode::RequireApproval => ResponseMode::RequireApproval,
        Mode::Automatic => ResponseMode::Automatic,
    }
}

pub(crate) fn mode_from(mode: i32, field: &str) -> Result<Mode, Status> {
    match ResponseMode::try_from(mode) {
        Ok(ResponseMode::Notify) => Ok(Mode::Notify),
        Ok(ResponseMode::RequireApproval) => Ok(Mode::RequireApproval),
        Ok(ResponseMode::Automatic) => Ok(Mode::Automatic),
        _ => Err(invalid_argument(
            field,
            "give notify, require approval or automatic",
        )),
    }
}

pub(crate) fn to_proto(tenant: &str, a: &ActionRow) -> Action {
    Action {
        action_id: a.action_id.to_string(),
        tenant_id: tenant.to_owned(),
        kind: kind_of(&a.kind).into(),
        state: tokenwatch_proto::action_state_to_proto(a.state).into(),
        user_id: a.user_id.clone(),
        finding_id: a.finding_id.map(|f| f.to_string()).unwrap_or_default(),
        reason: a.reason.clone(),
        proposed_by: a.proposed_by.clone(),
        approved_by: a.approved_by.clone().unwrap_or_default(),
        create_time: Some(tokenwatch_proto::to_timestamp(a.create_time)),
        update_time: Some(tokenwatch_proto::to_timestamp(a.update_time)),
        result: a.result.clone(),
        attempts: a.attempts,
        dry_run: a.dry_run,
        severity: tokenwatch_proto::severity_to_proto(a.severity).into(),
        outcome_json: a
            .outcome
            .as_ref()
            .map(|o| o.to_string())
            .unwrap_or_default(),
    }
}

pub(crate) fn policy_to_proto(
    tenant: &str,
    policy: &Policy,
    time: Option<chrono::DateTime<chrono::Utc>>,
) -> ResponsePolicy {
    ResponsePolicy {
        tenant_id: tenant.to_owned(),
        mode_by_severity: policy
            .mode_by_severity
            .iter()
            .map(|(severity, mode)| (severity.to_string(), mode_of(*mode).into()))
            .collect(),
        default_mode: mode_of(policy.default_mode).into(),
        automatic_actions: policy
            .automatic_actions
            .iter()
            .map(|k| kind_of(k).into())
            .collect(),
        excluded_users: policy.excluded_users.clone(),
        min_severity: tokenwatch_proto::severity_to_proto(policy.min_severity).into(),
        update_time: time.map(tokenwatch_proto::to_timestamp),
        dry_run: policy.dry_run,
    }
}

pub(crate) fn policy_from_proto(p: &ResponsePolicy) -> Result<Policy, Status> {
    let mut mode_by_severity = std::collections::BTreeMap::new();
    for (severity, mode) in &p.mode_by_severity {
        let severity = severity
            .parse::<Severity>()
            .map_err(|e| invalid_argument("policy.mode_by_severity", e.to_string()))?;
        mode_by_severity.insert(severity, mode_from(*mode, "policy.mode_by_severity")?);
    }
    let automatic_actions = p
        .automatic_actions
        .iter()
        .map(|k| {
            ActionKind::try_from(*k)
                .ok()
                .and_then(kind_name)
                .map(str::to_owned)
                .ok_or_else(|| invalid_argument("policy.automatic_actions", "unknown action"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let min_severity = tokenwatch_proto::severity_from_proto(p.min_severity)
        .ok_or_else(|| invalid_argument("policy.min_severity", "is required"))?;
    let policy = Policy {
        default_mode: mode_from(p.default_mode, "policy.default_mode")?,
        mode_by_severity,
        automatic_actions,
        excluded_users: p
            .excluded_users
            .iter()
            .map(|u| u.trim().to_owned())
            .filter(|u| !u.is_empty())
            .collect(),
        min_severity,
        dry_run: p.dry_run,
    };
    let problems = policy.problems();
    if !problems.is_empty() {
        return Err(invalid_argument("policy", problems.join("; ")));
    }
    Ok(policy)
}

/// A webhook as readers see it: the URL's origin only (Slack and Teams URLs carry a secret in
/// their path), never the HMAC key.
pub(crate) fn webhook_to_proto(tenant: &str, w: &notifications::WebhookRow) -> Webhook {
    let origin = reqwest::Url::parse(&w.url)
        .map(|u| format!("{}/…", u.origin().ascii_serialization()))
        .unwrap_or_default();
    Webhook {
        webhook_id: w.webhook_id.to_string(),
        tenant_id: tenant.to_owned(),
        url: origin,
        format: match w.format.as_str() {
            "slack" => WebhookFormat::Slack,
            "teams" => WebhookFormat::Teams,
            _ => WebhookFormat::Generic,
        }
        .into(),
        min_severity: w
            .min_severity
            .parse()
            .map_or(
                tokenwatch_proto::common::v1::Severity::Unspecified,
                |s: Severity| tokenwatch_proto::severity_to_proto(s),
            )
            .into(),
        created_by: w.created_by.clone(),
        create_time: Some(tokenwatch_proto::to_timestamp(w.create_time)),
    }
}
