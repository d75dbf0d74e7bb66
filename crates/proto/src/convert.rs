//! Between the wire and the domain: timestamps, and the domain's closed sets
//! (`tokenwatch-types`) to and from their proto enums. The only place these mappings are
//! written; an UNSPECIFIED value has no domain counterpart (`None`).

use chrono::{DateTime, Utc};
use prost_types::Timestamp;
use tokenwatch_types::{ActionState, FindingStatus, Severity};

use crate::common::v1 as common;
use crate::response::v1 as response;

/// A UTC time as a protobuf `Timestamp`.
pub fn to_timestamp(time: DateTime<Utc>) -> Timestamp {
    Timestamp {
        seconds: time.timestamp(),
        // Always below 1e9, so the conversion cannot fail.
        nanos: i32::try_from(time.timestamp_subsec_nanos()).unwrap_or(0),
    }
}

/// A protobuf `Timestamp` as a UTC time, `None` if it is out of range or not normalized.
pub fn from_timestamp(timestamp: &Timestamp) -> Option<DateTime<Utc>> {
    let nanos = u32::try_from(timestamp.nanos).ok()?;
    DateTime::from_timestamp(timestamp.seconds, nanos)
}

/// A domain severity on the wire.
pub fn severity_to_proto(severity: Severity) -> common::Severity {
    match severity {
        Severity::Info => common::Severity::Info,
        Severity::Low => common::Severity::Low,
        Severity::Medium => common::Severity::Medium,
        Severity::High => common::Severity::High,
        Severity::Critical => common::Severity::Critical,
    }
}

/// A wire severity (the raw `i32` of a request) in the domain; `None` for UNSPECIFIED or a
/// value this build does not know.
pub fn severity_from_proto(value: i32) -> Option<Severity> {
    match common::Severity::try_from(value).ok()? {
        common::Severity::Unspecified => None,
        common::Severity::Info => Some(Severity::Info),
        common::Severity::Low => Some(Severity::Low),
        common::Severity::Medium => Some(Severity::Medium),
        common::Severity::High => Some(Severity::High),
        common::Severity::Critical => Some(Severity::Critical),
    }
}

/// A domain finding status on the wire.
pub fn finding_status_to_proto(status: FindingStatus) -> common::FindingStatus {
    match status {
        FindingStatus::Open => common::FindingStatus::Open,
        FindingStatus::Acknowledged => common::FindingStatus::Acknowledged,
        FindingStatus::TruePositive => common::FindingStatus::ResolvedTruePositive,
        FindingStatus::FalsePositive => common::FindingStatus::ResolvedFalsePositive,
        FindingStatus::Benign => common::FindingStatus::ResolvedBenign,
    }
}

/// A wire finding status in the domain; `None` for UNSPECIFIED or an unknown value.
pub fn finding_status_from_proto(value: i32) -> Option<FindingStatus> {
    match common::FindingStatus::try_from(value).ok()? {
        common::FindingStatus::Unspecified => None,
        common::FindingStatus::Open => Some(FindingStatus::Open),
        common::FindingStatus::Acknowledged => Some(FindingStatus::Acknowledged),
        common::FindingStatus::ResolvedTruePositive => Some(FindingStatus::TruePositive),
        common::FindingStatus::ResolvedFalsePositive => Some(FindingStatus::FalsePositive),
        common::FindingStatus::ResolvedBenign => Some(FindingStatus::Benign),
    }
}

/// A domain action state on the wire.
pub fn action_state_to_proto(state: ActionState) -> response::ActionState {
    match state {
        ActionState::Proposed => response::ActionState::Proposed,
        ActionState::Approved => response::ActionState::Approved,
        ActionState::Rejected => response::ActionState::Rejected,
        ActionState::Executing => response::ActionState::Executing,
        ActionState::Succeeded => response::ActionState::Succeeded,
        ActionState::Failed => response::ActionState::Failed,
        ActionState::Cancelled => response::ActionState::Cancelled,
    }
}

/// A wire action state in the domain; `None` for UNSPECIFIED or an unknown value.
pub fn action_state_from_proto(value: i32) -> Option<ActionState> {
    match response::ActionState::try_from(value).ok()? {
        response::ActionState::Unspecified => None,
        response::ActionState::Proposed => Some(ActionState::Proposed),
        response::ActionState::Approved => Some(ActionState::Approved),
        response::ActionState::Rejected => Some(ActionState::Rejected),
        response::ActionState::Executing => Some(ActionState::Executing),
        response::ActionState::Succeeded => Some(ActionState::Succeeded),
        response::ActionState::Failed => Some(ActionState::Failed),
        response::ActionState::Cancelled => Some(ActionState::Cancelled),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domain_sets_round_trip_and_unspecified_is_none() {
        for severity in Severity::ALL {
            let wire = severity_to_proto(severity) as i32;
            assert_eq!(severity_from_proto(wire), Some(severity));
        }
        for status in FindingStatus::ALL {
            let wire = finding_status_to_proto(status) as i32;
            assert_eq!(finding_status_from_proto(wire), Some(status));
        }
        for state in ActionState::ALL {
            let wire = action_state_to_proto(state) as i32;
            assert_eq!(action_state_from_proto(wire), Some(state));
        }
        assert_eq!(severity_from_proto(0), None);
        assert_eq!(finding_status_from_proto(99), None);
        assert_eq!(action_state_from_proto(0), None);
    }

    #[test]
    fn timestamps_round_trip() {
        let time = DateTime::parse_from_rfc3339("2026-11-27T21:40:58.123456789Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(from_timestamp(&to_timestamp(time)), Some(time));
        let negative = Timestamp {
            seconds: 0,
            nanos: -1,
        };
        assert_eq!(from_timestamp(&negative), None);
    }
}
