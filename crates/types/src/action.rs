//! A response action's state machine.
//!
//! ```text
//! proposed ──approve──▶ approved ──start──▶ executing ──▶ succeeded
//!    │  └──reject──▶ rejected      │            │ ▲  └──▶ failed ──retry──┐
//!    └──cancel──▶ cancelled ◀──────┘            └─┘ (resume)   ▲          │
//!                                                              └──────────┘
//! ```

use crate::{Named, named_enum_impls};

/// Where a response action is. Storage moves an action only along [`ActionState::can_move_to`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ActionState {
    /// Waiting for a second person's approval.
    Proposed,
    /// Approved (by a person or by an automatic policy), not started.
    Approved,
    /// Refused by the approver.
    Rejected,
    /// Graph is being called; the move commits before the call, so replicas never both run it.
    Executing,
    /// Graph did it.
    Succeeded,
    /// Graph refused or could not be reached; an administrator may retry.
    Failed,
    /// Withdrawn before it ran.
    Cancelled,
}

impl ActionState {
    /// Every state.
    pub const ALL: [ActionState; 7] = [
        ActionState::Proposed,
        ActionState::Approved,
        ActionState::Rejected,
        ActionState::Executing,
        ActionState::Succeeded,
        ActionState::Failed,
        ActionState::Cancelled,
    ];

    /// The name used in storage, JSON, the CLI and webhooks.
    pub fn as_str(self) -> &'static str {
        self.name()
    }

    /// Whether an action may move from this state to `next`. Executing → executing is a
    /// stopped process's execution resumed by the sweep; failed → executing is a retry.
    pub fn can_move_to(self, next: ActionState) -> bool {
        use ActionState::*;
        matches!(
            (self, next),
            (Proposed, Approved | Rejected | Cancelled)
                | (Approved, Executing | Cancelled)
                | (Executing, Executing | Succeeded | Failed)
                | (Failed, Executing)
        )
    }

    /// Whether the action has come to rest: nothing more happens to it unless a person acts.
    /// The moves into these states are the ones webhooks announce.
    pub fn is_settled(self) -> bool {
        matches!(
            self,
            ActionState::Succeeded
                | ActionState::Failed
                | ActionState::Rejected
                | ActionState::Cancelled
        )
    }

    /// Whether the action may still be cancelled.
    pub fn is_cancellable(self) -> bool {
        self.can_move_to(ActionState::Cancelled)
    }
}

impl Named for ActionState {
    const KIND: &'static str = "action state";
    const EXPECTED: &'static str =
        "proposed, approved, rejected, executing, succeeded, failed, cancelled";
    const ALL: &'static [Self] = &ActionState::ALL;

    fn name(self) -> &'static str {
        match self {
            ActionState::Proposed => "proposed",
            ActionState::Approved => "approved",
            ActionState::Rejected => "rejected",
            ActionState::Executing => "executing",
            ActionState::Succeeded => "succeeded",
            ActionState::Failed => "failed",
            ActionState::Cancelled => "cancelled",
        }
    }
}

named_enum_impls!(ActionState);

#[cfg(test)]
mod tests {
    use super::ActionState::{self, *};

    #[test]
    fn the_allowed_moves_are_exactly_the_diagram() {
        let allowed: Vec<(ActionState, ActionState)> = ActionState::ALL
            .into_iter()
            .flat_map(|from| ActionState::ALL.into_iter().map(move |to| (from, to)))
            .filter(|(from, to)| from.can_move_to(*to))
            .collect();
        assert_eq!(
            allowed,
            [
                (Proposed, Approved),
                (Proposed, Rejected),
                (Proposed, Cancelled),
                (Approved, Executing),
                (Approved, Cancelled),
                (Executing, Executing),
                (Executing, Succeeded),
                (Executing, Failed),
                (Failed, Executing),
            ]
        );
    }

    #[test]
    fn finished_actions_never_run_again() {
        for end in [Succeeded, Rejected, Cancelled] {
            assert!(end.is_settled());
            assert!(ActionState::ALL.into_iter().all(|to| !end.can_move_to(to)));
        }
        // A failed action waits for a person; only a retry moves it.
        assert!(Failed.is_settled() && Failed.can_move_to(Executing));
        assert!(!Executing.is_cancellable() && Proposed.is_cancellable());
    }

    #[test]
    fn states_read_back_from_their_names() {
        for state in ActionState::ALL {
            assert_eq!(state.to_string().parse::<ActionState>(), Ok(state));
        }
        assert!("done".parse::<ActionState>().is_err());
    }
}
