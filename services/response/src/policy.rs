//! A tenant's response policy and what it decides: pure logic, no I/O.
//!
//! A mode applies per finding severity (`mode_by_severity`, else `default_mode`):
//!
//! - **notify**: tell the analysts (webhooks); nothing is proposed on the policy's own account,
//!   and an analyst's proposal waits for approval;
//! - **require approval**: findings at or above `min_severity` get the `automatic_actions`
//!   proposed, waiting for a second person's approval, as does every analyst's proposal;
//! - **automatic**: those actions run at once, and so does an analyst's proposal of one of them.
//!
//! Excluded users (break-glass accounts) are never acted on without approval. A new tenant's
//! policy is "require approval", proposing a session revocation for high and critical findings.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use tokenwatch_types::Severity;

/// What the policy does at a severity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Mode {
    /// Tell, do not act.
    Notify,
    /// Propose; a second person approves.
    RequireApproval,
    /// Act at once.
    Automatic,
}

/// The actions (the storage names).
pub(crate) const KINDS: [&str; 4] = [
    "revoke_sessions",
    "disable_user",
    "enable_user",
    "confirm_compromised",
];

/// A tenant's policy, as stored (JSON).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Policy {
    /// Mode when the severity has none of its own.
    pub(crate) default_mode: Mode,
    /// Mode per severity.
    #[serde(default)]
    pub(crate) mode_by_severity: BTreeMap<Severity, Mode>,
    /// Actions the policy itself proposes or takes.
    #[serde(default)]
    pub(crate) automatic_actions: Vec<String>,
    /// Users never acted on without approval (UPN or object id, compared case-insensitively).
    #[serde(default)]
    pub(crate) excluded_users: Vec<String>,
    /// Findings below this severity prompt nothing on the policy's own account.
    pub(crate) min_severity: Severity,
    /// Every action is a dry run.
    #[serde(default)]
    pub(crate) dry_run: bool,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            default_mode: Mode::RequireApproval,
            mode_by_severity: BTreeMap::new(),
            automatic_actions: vec!["revoke_sessions".to_owned()],
            excluded_users: Vec::new(),
            min_severity: Severity::High,
            dry_run: false,
        }
    }
}

/// What the policy decides about one action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Decision {
    /// Create it, waiting for approval.
    Propose,
    /// Create it approved by the policy, and run it.
    Execute,
}

impl Policy {
    /// Problems that make the policy unusable, in words.
    pub(crate) fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        for kind in &self.automatic_actions {
            if kind == "enable_user" {
                problems
                    .push("automatic_actions: re-enabling a user is never automatic".to_owned());
            } else if !KINDS.contains(&kind.as_str()) {
                problems.push(format!("automatic_actions: unknown action {kind:?}"));
            }
        }
        problems
    }

    /// The mode at `severity`.
    pub(crate) fn mode(&self, severity: Severity) -> Mode {
        self.mode_by_severity
            .get(&severity)
            .copied()
            .unwrap_or(self.default_mode)
    }

    fn excluded(&self, user: &str) -> bool {
        self.excluded_users
            .iter()
            .any(|u| u.eq_ignore_ascii_case(user))
    }

    fn at_or_above_minimum(&self, severity: Severity) -> bool {
        severity >= self.min_severity
    }

    /// What to do with an analyst's (or a service's) proposal of `kind` against `user`, for a
    /// finding of `severity` (`None` without a finding: never automatic).
    pub(crate) fn on_request(
        &self,
        kind: &str,
        user: &str,
        severity: Option<Severity>,
    ) -> Decision {
        let automatic = severity.is_some_and(|severity| {
            self.mode(severity) == Mode::Automatic && self.at_or_above_minimum(severity)
        }) && self.automatic_actions.iter().any(|k| k == kind)
            && !self.excluded(user);
        if automatic {
            Decision::Execute
        } else {
            Decision::Propose
        }
    }

    /// What to do, for each automatic action, when a finding of `severity` about `user` is
    /// created or escalated.
    pub(crate) fn on_finding(&self, user: &str, severity: Severity) -> Vec<(&str, Decision)> {
        if !self.at_or_above_minimum(severity) || self.excluded(user) {
            return Vec::new();
        }
        let decision = match self.mode(severity) {
            Mode::Notify => return Vec::new(),
            Mode::RequireApproval => Decision::Propose,
            Mode::Automatic => Decision::Execute,
        };
        self.automatic_actions
            .iter()
            .map(|kind| (kind.as_str(), decision))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn automatic_from_high() -> Policy {
        Policy {
            default_mode: Mode::Notify,
            mode_by_severity: [
                (Severity::High, Mode::Automatic),
                (Severity::Critical, Mode::Automatic),
            ]
            .into(),
            automatic_actions: vec!["revoke_sessions".to_owned()],
            excluded_users: vec!["BreakGlass@contoso.com".to_owned()],
            min_severity: Severity::Medium,
            dry_run: false,
        }
    }

    #[test]
    fn a_new_tenant_proposes_revocation_for_high_findings_and_waits() {
        let policy = Policy::default();
        assert!(policy.problems().is_empty());
        assert_eq!(
            policy.on_finding("a@contoso.com", Severity::High),
            vec![("revoke_sessions", Decision::Propose)]
        );
        assert!(
            policy
                .on_finding("a@contoso.com", Severity::Medium)
                .is_empty()
        );
        assert_eq!(
            policy.on_request("disable_user", "a@contoso.com", Some(Severity::Critical)),
            Decision::Propose
        );
    }

    #[test]
    fn automatic_mode_acts_at_its_severities_only_and_never_on_excluded_users() {
        let policy = automatic_from_high();
        assert_eq!(
            policy.on_finding("a@contoso.com", Severity::High),
            vec![("revoke_sessions", Decision::Execute)]
        );
        // Medium is at the minimum, but its mode is notify.
        assert!(
            policy
                .on_finding("a@contoso.com", Severity::Medium)
                .is_empty()
        );
        assert!(
            policy
                .on_finding("breakglass@contoso.com", Severity::Critical)
                .is_empty()
        );
        assert_eq!(
            policy.on_request("revoke_sessions", "a@contoso.com", Some(Severity::Critical)),
            Decision::Execute
        );
        // Not an automatic action, an excluded user, or no finding: approval.
        assert_eq!(
            policy.on_request("disable_user", "a@contoso.com", Some(Severity::Critical)),
            Decision::Propose
        );
        assert_eq!(
            policy.on_request(
                "revoke_sessions",
                "breakglass@contoso.com",
                Some(Severity::Critical)
            ),
            Decision::Propose
        );
        assert_eq!(
            policy.on_request("revoke_sessions", "a@contoso.com", None),
            Decision::Propose
        );
    }

    #[test]
    fn problems_name_what_is_wrong() {
        let policy = Policy {
            automatic_actions: vec!["enable_user".to_owned(), "wipe".to_owned()],
            ..Policy::default()
        };
        let problems = policy.problems().join("\n");
        assert!(problems.contains("never automatic"), "{problems}");
        assert!(problems.contains("\"wipe\""), "{problems}");
    }

    #[test]
    fn the_stored_form_round_trips_and_old_fields_default() {
        let policy = automatic_from_high();
        let json = serde_json::to_value(&policy).unwrap();
        assert_eq!(serde_json::from_value::<Policy>(json).unwrap(), policy);
        let minimal: Policy =
            serde_json::from_str(r#"{"default_mode":"notify","min_severity":"low"}"#).unwrap();
        assert!(minimal.automatic_actions.is_empty() && !minimal.dry_run);
        let unknown = r#"{"default_mode":"notify","min_severity":"hi"}"#;
        assert!(serde_json::from_str::<Policy>(unknown).is_err());
    }
}
