//! What identifies a finding and an incident, and where a finding is in triage.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::{IdError, Named, named_enum_impls};

/// A session's finding. Derived from the tenant, user and session, so the same session gives
/// the same id offline and online, before and after a rebuild.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct FindingId(Uuid);

/// A user's incident, grouping the user's findings: one per tenant and user.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct IncidentId(Uuid);

impl FindingId {
    /// The finding of `session` of `user` in `tenant`.
    pub fn of_session(tenant: &str, user: &str, session: &str) -> Self {
        FindingId(stable_uuid(&["finding", tenant, user, session]))
    }
}

impl IncidentId {
    /// The incident of `user` in `tenant`.
    pub fn of_user(tenant: &str, user: &str) -> Self {
        IncidentId(stable_uuid(&["incident", tenant, user]))
    }
}

/// What both ids share: a UUID underneath, parsed from text strictly.
macro_rules! uuid_id {
    ($type:ident, $kind:literal) => {
        impl $type {
            /// Reads an id a caller or a stored row gives.
            pub fn parse(text: &str) -> Result<Self, IdError> {
                Uuid::parse_str(text.trim())
                    .map($type)
                    .map_err(|_| IdError::InvalidId {
                        kind: $kind,
                        value: text.to_owned(),
                    })
            }

            /// Wraps a UUID read from storage.
            pub fn from_uuid(uuid: Uuid) -> Self {
                $type(uuid)
            }

            /// The UUID, for storage.
            pub fn as_uuid(&self) -> Uuid {
                self.0
            }
        }

        impl fmt::Display for $type {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.hyphenated().fmt(f)
            }
        }

        impl FromStr for $type {
            type Err = IdError;

            fn from_str(text: &str) -> Result<Self, Self::Err> {
                $type::parse(text)
            }
        }

        impl TryFrom<String> for $type {
            type Error = IdError;

            fn try_from(text: String) -> Result<Self, Self::Error> {
                $type::parse(&text)
            }
        }

        impl From<$type> for String {
            fn from(id: $type) -> String {
                id.to_string()
            }
        }
    };
}

uuid_id!(FindingId, "finding id");
uuid_id!(IncidentId, "incident id");

/// A UUID (version 8, RFC 9562's custom layout) from the SHA-256 of `parts`.
fn stable_uuid(parts: &[&str]) -> Uuid {
    let digest = Sha256::digest(parts.join("\n").as_bytes());
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    bytes[6] = (bytes[6] & 0x0f) | 0x80;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    Uuid::from_bytes(bytes)
}

/// Where a finding is in triage. A verdict resolves it; the three resolved states are the
/// verdicts' names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FindingStatus {
    /// New, nobody has looked.
    Open,
    /// An analyst is on it.
    Acknowledged,
    /// Resolved: it was an attack.
    TruePositive,
    /// Resolved: it was not.
    FalsePositive,
    /// Resolved: real, but expected (a sanctioned VPN, a test).
    Benign,
}

impl FindingStatus {
    /// Every status, in triage order.
    pub const ALL: [FindingStatus; 5] = [
        FindingStatus::Open,
        FindingStatus::Acknowledged,
        FindingStatus::TruePositive,
        FindingStatus::FalsePositive,
        FindingStatus::Benign,
    ];

    /// The name used in storage, JSON and the CLI.
    pub fn as_str(self) -> &'static str {
        self.name()
    }

    /// Whether a verdict has closed it.
    pub fn is_resolved(self) -> bool {
        !matches!(self, FindingStatus::Open | FindingStatus::Acknowledged)
    }
}

impl Named for FindingStatus {
    const KIND: &'static str = "finding status";
    const EXPECTED: &'static str = "open, acknowledged, true_positive, false_positive, benign";
    const ALL: &'static [Self] = &FindingStatus::ALL;

    fn name(self) -> &'static str {
        match self {
            FindingStatus::Open => "open",
            FindingStatus::Acknowledged => "acknowledged",
            FindingStatus::TruePositive => "true_positive",
            FindingStatus::FalsePositive => "false_positive",
            FindingStatus::Benign => "benign",
        }
    }
}

named_enum_impls!(FindingStatus);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_stable_and_distinct() {
        // The value pins the derivation: stored findings keep their ids across releases.
        assert_eq!(
            FindingId::of_session("t", "alice", "s1"),
            FindingId::of_session("t", "alice", "s1")
        );
        assert_ne!(
            FindingId::of_session("t", "alice", "s1"),
            FindingId::of_session("t", "alice", "s2")
        );
        assert_eq!(
            IncidentId::of_user("t", "alice"),
            IncidentId::of_user("t", "alice")
        );
        assert_ne!(
            IncidentId::of_user("t", "alice"),
            IncidentId::of_user("t", "bob")
        );
        assert_ne!(
            IncidentId::of_user("t1", "alice"),
            IncidentId::of_user("t2", "alice")
        );
        assert_ne!(
            FindingId::of_session("t", "alice", "").as_uuid(),
            IncidentId::of_user("t", "alice").as_uuid()
        );
        let id = FindingId::of_session("t", "alice", "s1");
        assert_eq!(id.to_string(), "790644a7-b423-8fd2-81a1-13862ae30efa");
        assert_eq!(id.as_uuid().get_version_num(), 8);
        assert_eq!(id.to_string().parse::<FindingId>(), Ok(id));
        let json = serde_json::to_string(&id).unwrap();
        assert_eq!(serde_json::from_str::<FindingId>(&json).unwrap(), id);
        assert!(matches!(
            "f-1".parse::<FindingId>(),
            Err(IdError::InvalidId {
                kind: "finding id",
                ..
            })
        ));
    }

    #[test]
    fn statuses_read_back_from_their_names() {
        for status in FindingStatus::ALL {
            assert_eq!(status.to_string().parse::<FindingStatus>(), Ok(status));
        }
        assert!(FindingStatus::Benign.is_resolved());
        assert!(!FindingStatus::Acknowledged.is_resolved());
        assert!("closed".parse::<FindingStatus>().is_err());
    }
}
