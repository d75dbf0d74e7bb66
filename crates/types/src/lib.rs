//! The domain's vocabulary, shared by every crate: validated identifiers and the closed sets
//! of names (severities, finding statuses, action states) that would otherwise be strings
//! compared in several places. Conversions to and from the wire live in `tokenwatch-proto`,
//! to and from SQL in `tokenwatch-storage`; everything else uses these types.
//!
//! # Layout
//!
//! - [`TenantId`]: a Microsoft Entra tenant GUID, the unit of isolation everywhere;
//! - [`Severity`]: how bad a finding is, ordered;
//! - [`FindingId`], [`IncidentId`]: stable ids derived from what they identify;
//! - [`FindingStatus`]: where a finding is in triage;
//! - [`ActionState`]: a response action's state machine and its allowed moves;
//! - [`IdError`]: why a string is not one of these.

mod action;
mod finding;
mod severity;
mod tenant;

pub use action::ActionState;
pub use finding::{FindingId, FindingStatus, IncidentId};
pub use severity::Severity;
pub use tenant::TenantId;

/// Why a string could not be read as an identifier or a name of the domain.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    /// The tenant id is not a GUID.
    #[error("tenant id {0:?} is not a GUID such as 72f988bf-86f1-41af-91ab-2d7cd011db47")]
    InvalidTenantId(String),
    /// The identifier is empty.
    #[error("{0} is empty")]
    Empty(&'static str),
    /// A finding or incident id that is not a UUID.
    #[error("{kind} {value:?} is not a UUID")]
    InvalidId {
        /// `finding id` or `incident id`.
        kind: &'static str,
        /// What was given.
        value: String,
    },
    /// A name outside a closed set.
    #[error("unknown {kind} {value:?}; expected one of {expected}")]
    UnknownName {
        /// What was being named (`severity`, `finding status`...).
        kind: &'static str,
        /// What was given.
        value: String,
        /// The names allowed, comma-separated.
        expected: &'static str,
    },
}

/// A closed set of names: each value has exactly one name, and [`parse_name`] reads it back.
trait Named: Copy + 'static {
    const KIND: &'static str;
    const EXPECTED: &'static str;
    const ALL: &'static [Self];
    fn name(self) -> &'static str;
}

fn parse_name<T: Named>(text: &str) -> Result<T, IdError> {
    // `true-positive` as a command line spells it is `true_positive`.
    let wanted = text.trim().replace('-', "_");
    T::ALL
        .iter()
        .copied()
        .find(|value| value.name().eq_ignore_ascii_case(&wanted))
        .ok_or_else(|| IdError::UnknownName {
            kind: T::KIND,
            value: text.to_owned(),
            expected: T::EXPECTED,
        })
}

/// Display, FromStr and serde as the name, for a [`Named`] enum.
macro_rules! named_enum_impls {
    ($type:ty) => {
        impl std::fmt::Display for $type {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(crate::Named::name(*self))
            }
        }

        impl std::str::FromStr for $type {
            type Err = crate::IdError;

            fn from_str(text: &str) -> Result<Self, Self::Err> {
                crate::parse_name(text)
            }
        }

        impl TryFrom<String> for $type {
            type Error = crate::IdError;

            fn try_from(text: String) -> Result<Self, Self::Error> {
                crate::parse_name(&text)
            }
        }

        impl serde::Serialize for $type {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(crate::Named::name(*self))
            }
        }

        impl<'de> serde::Deserialize<'de> for $type {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let text = <String as serde::Deserialize>::deserialize(deserializer)?;
                crate::parse_name(&text).map_err(serde::de::Error::custom)
            }
        }
    };
}
use named_enum_impls;
