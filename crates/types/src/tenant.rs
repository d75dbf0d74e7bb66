//! The tenant id.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::IdError;

/// A customer tenant, identified by its Microsoft Entra tenant id (the GUID records carry as
/// `OrganizationId` or `tenantId`).
///
/// Always displayed lower-case and hyphenated, whatever form it was parsed from, so that string
/// comparisons against token claims and log fields are exact.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct TenantId(Uuid);

impl TenantId {
    /// Parses a GUID in any of the usual spellings (braces, upper case, no hyphens).
    pub fn parse(text: &str) -> Result<Self, IdError> {
        let trimmed = text.trim();
        if trimmed.is_empty() {
            return Err(IdError::Empty("tenant_id"));
        }
        Uuid::parse_str(trimmed.trim_start_matches('{').trim_end_matches('}'))
            .map(TenantId)
            .map_err(|_| IdError::InvalidTenantId(text.to_owned()))
    }

    /// Wraps a UUID read from storage.
    pub fn from_uuid(uuid: Uuid) -> Self {
        TenantId(uuid)
    }

    /// The GUID, for storage.
    pub fn as_uuid(&self) -> Uuid {
        self.0
    }
}

impl fmt::Display for TenantId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.hyphenated().fmt(f)
    }
}

impl FromStr for TenantId {
    type Err = IdError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        TenantId::parse(text)
    }
}

impl TryFrom<String> for TenantId {
    type Error = IdError;

    fn try_from(text: String) -> Result<Self, Self::Error> {
        TenantId::parse(&text)
    }
}

impl From<TenantId> for String {
    fn from(id: TenantId) -> String {
        id.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tenant_ids_normalize_to_lower_case_hyphenated() {
        let canonical = "72f988bf-86f1-41af-91ab-2d7cd011db47";
        for spelling in [
            canonical,
            "72F988BF-86F1-41AF-91AB-2D7CD011DB47",
            "{72f988bf-86f1-41af-91ab-2d7cd011db47}",
            "72f988bf86f141af91ab2d7cd011db47",
            " 72f988bf-86f1-41af-91ab-2d7cd011db47 ",
        ] {
            assert_eq!(TenantId::parse(spelling).unwrap().to_string(), canonical);
        }
    }

    #[test]
    fn tenant_ids_reject_non_guids() {
        assert_eq!(TenantId::parse(""), Err(IdError::Empty("tenant_id")));
        assert!(matches!(
            TenantId::parse("contoso.onmicrosoft.com"),
            Err(IdError::InvalidTenantId(_))
        ));
        assert!(TenantId::parse("72f988bf-86f1-41af-91ab").is_err());
    }

    #[test]
    fn tenant_ids_round_trip_through_serde() {
        let id = TenantId::parse("72F988BF-86F1-41AF-91AB-2D7CD011DB47").unwrap();
        let json = serde_json::to_string(&id).unwrap();
        assert_eq!(json, "\"72f988bf-86f1-41af-91ab-2d7cd011db47\"");
        assert_eq!(serde_json::from_str::<TenantId>(&json).unwrap(), id);
        assert!(serde_json::from_str::<TenantId>("\"nope\"").is_err());
    }
}
