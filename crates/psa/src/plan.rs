//! What an outbox event does to its incident's ticket: open one, add a note (and reopen or
//! close it), or nothing. Pure, so every rule is a unit test.

use tokenwatch_types::Severity;

/// Where an incident's ticket stands, as tokenwatch knows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TicketState {
    /// Open.
    Open,
    /// Closed by tokenwatch: every finding of the incident had its verdict.
    Resolved,
    /// Closed by a technician in the PSA.
    ClosedInPsa,
}

impl TicketState {
    /// The name kept in storage.
    pub fn as_str(self) -> &'static str {
        match self {
            TicketState::Open => "open",
            TicketState::Resolved => "resolved",
            TicketState::ClosedInPsa => "closed_in_psa",
        }
    }

    /// From its stored name.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "open" => Some(TicketState::Open),
            "resolved" => Some(TicketState::Resolved),
            "closed_in_psa" => Some(TicketState::ClosedInPsa),
            _ => None,
        }
    }
}

/// What to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Nothing, for this reason.
    Skip(&'static str),
    /// Open the incident's ticket.
    Open,
    /// Add the event's note; reopen the ticket first, or close it after.
    Note {
        /// Set the ticket back to the new status.
        reopen: bool,
        /// Set it to the closed status.
        close: bool,
    },
}

/// The event's facts that matter here.
#[derive(Debug, Clone, Copy)]
pub struct EventFacts<'a> {
    /// `finding.created`, `action.succeeded`...
    pub event: &'a str,
    /// The finding's severity (finding events).
    pub severity: Option<Severity>,
    /// For `finding.resolved`: the incident's findings still without a verdict.
    pub open_findings: i64,
}

/// Decides the step for an event, given the incident's ticket (state and the most severe
/// finding it was told of) and the lowest severity that opens a ticket.
pub fn decide(
    facts: EventFacts<'_>,
    ticket: Option<(TicketState, Severity)>,
    min_severity: Severity,
) -> Step {
    let note = Step::Note {
        reopen: false,
        close: false,
    };
    match facts.event {
        "finding.created" | "finding.escalated" => {
            let severity = facts.severity.unwrap_or(Severity::Info);
            match ticket {
                None if severity >= min_severity => Step::Open,
                None => Step::Skip("below the severity that opens a ticket"),
                Some((TicketState::Open, _)) => note,
                Some((TicketState::Resolved, _)) if severity >= min_severity => Step::Note {
                    reopen: true,
                    close: false,
                },
                Some((TicketState::Resolved, _)) => {
                    Step::Skip("the ticket was resolved and this finding is below the minimum")
                }
                Some((TicketState::ClosedInPsa, told)) if severity > told => Step::Note {
                    reopen: true,
                    close: false,
                },
                Some((TicketState::ClosedInPsa, _)) => Step::Skip(
                    "a technician closed the ticket; it reopens only if the incident escalates",
                ),
            }
        }
        "finding.resolved" | "finding.retracted" => match ticket {
            Some((TicketState::Open, _)) => Step::Note {
                reopen: false,
                close: facts.open_findings == 0,
            },
            Some(_) => Step::Skip("the ticket is already closed"),
            None => Step::Skip("the incident has no ticket"),
        },
        event if event.starts_with("action.") => match ticket {
            // A note does not reopen a closed ticket, and keeps the record complete.
            Some(_) => note,
            None => Step::Skip("the incident has no ticket"),
        },
        _ => Step::Skip("not an event tickets hear of"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finding(event: &str, severity: Severity) -> EventFacts<'_> {
        EventFacts {
            event,
            severity: Some(severity),
            open_findings: 0,
        }
    }

    const NOTE: Step = Step::Note {
        reopen: false,
        close: false,
    };
    const REOPEN: Step = Step::Note {
        reopen: true,
        close: false,
    };

    #[test]
    fn a_finding_at_the_minimum_opens_a_ticket_and_later_ones_add_notes() {
        let high = Severity::High;
        let created = finding("finding.created", high);
        assert_eq!(decide(created, None, high), Step::Open);
        assert!(matches!(
            decide(finding("finding.created", Severity::Medium), None, high),
            Step::Skip(_)
        ));
        assert_eq!(
            decide(finding("finding.escalated", high), None, high),
            Step::Open
        );
        let open = Some((TicketState::Open, high));
        assert_eq!(decide(created, open, high), NOTE);
        assert_eq!(
            decide(finding("finding.created", Severity::Low), open, high),
            NOTE
        );
    }

    #[test]
    fn a_technicians_closing_holds_until_the_incident_escalates() {
        let high = Severity::High;
        let closed = Some((TicketState::ClosedInPsa, high));
        assert!(matches!(
            decide(finding("finding.created", high), closed, high),
            Step::Skip(_)
        ));
        assert_eq!(
            decide(
                finding("finding.escalated", Severity::Critical),
                closed,
                high
            ),
            REOPEN
        );
        // tokenwatch's own closing reopens for any new finding worth a ticket.
        let resolved = Some((TicketState::Resolved, high));
        assert_eq!(
            decide(finding("finding.created", high), resolved, high),
            REOPEN
        );
        assert!(matches!(
            decide(finding("finding.created", Severity::Low), resolved, high),
            Step::Skip(_)
        ));
    }

    #[test]
    fn verdicts_close_the_ticket_when_none_is_left_open() {
        let open = Some((TicketState::Open, Severity::High));
        let resolved = |open_findings| EventFacts {
            event: "finding.resolved",
            severity: Some(Severity::High),
            open_findings,
        };
        assert_eq!(
            decide(resolved(1), open, Severity::High),
            Step::Note {
                reopen: false,
                close: false
            }
        );
        assert_eq!(
            decide(resolved(0), open, Severity::High),
            Step::Note {
                reopen: false,
                close: true
            }
        );
        assert!(matches!(
            decide(
                resolved(0),
                Some((TicketState::ClosedInPsa, Severity::High)),
                Severity::High
            ),
            Step::Skip(_)
        ));
    }

    #[test]
    fn a_retraction_closes_the_ticket_of_an_incident_left_empty() {
        let retracted = |open_findings| EventFacts {
            event: "finding.retracted",
            severity: Some(Severity::Medium),
            open_findings,
        };
        let open = Some((TicketState::Open, Severity::Medium));
        assert_eq!(
            decide(retracted(0), open, Severity::Medium),
            Step::Note {
                reopen: false,
                close: true
            }
        );
        assert_eq!(decide(retracted(1), open, Severity::Medium), NOTE);
        assert!(matches!(
            decide(retracted(0), None, Severity::Medium),
            Step::Skip(_)
        ));
    }

    #[test]
    fn actions_are_noted_on_a_ticket_and_open_none() {
        let action = EventFacts {
            event: "action.succeeded",
            severity: Some(Severity::High),
            open_findings: 0,
        };
        assert!(matches!(
            decide(action, None, Severity::High),
            Step::Skip(_)
        ));
        assert_eq!(
            decide(
                action,
                Some((TicketState::ClosedInPsa, Severity::High)),
                Severity::High
            ),
            NOTE
        );
    }
}
