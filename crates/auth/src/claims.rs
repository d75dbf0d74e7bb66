use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use tokenwatch_types::TenantId;

/// What a token holder is, in the MSP's organisation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Runs the MSP's tokenwatch: every tenant, every operation.
    MspAdmin,
    /// Works findings, submits verdicts, requests actions on its tenants.
    Analyst,
    /// Tunes weights, thresholds and suppressions on its tenants.
    DetectionEngineer,
    /// Reads a customer's findings and nothing else.
    TenantViewer,
    /// Another tokenwatch component or an integration (connectors, automation).
    Service,
}

impl Role {
    /// Every role, in a fixed order.
    pub const ALL: [Role; 5] = [
        Role::MspAdmin,
        Role::Analyst,
        Role::DetectionEngineer,
        Role::TenantViewer,
        Role::Service,
    ];

    /// The name used in tokens and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::MspAdmin => "msp_admin",
            Role::Analyst => "analyst",
            Role::DetectionEngineer => "detection_engineer",
            Role::TenantViewer => "tenant_viewer",
            Role::Service => "service",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|role| role.as_str() == text)
            .ok_or_else(|| {
                let names: Vec<&str> = Role::ALL.iter().map(|r| r.as_str()).collect();
                format!(
                    "unknown role {text:?}, expected one of {}",
                    names.join(", ")
                )
            })
    }
}

/// The tenants a caller may act for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TenantScope {
    /// Every tenant (msp_admin, or a token whose `tenants` claim is `["*"]`).
    All,
    /// Only these.
    Some(BTreeSet<TenantId>),
}

impl TenantScope {
    /// Whether the scope includes the tenant.
    pub fn contains(&self, tenant: &TenantId) -> bool {
        match self {
            TenantScope::All => true,
            TenantScope::Some(tenants) => tenants.contains(tenant),
        }
    }
}

/// The registered claims tokenwatch reads from a token, as they travel in the JWT.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct WireClaims {
    pub(crate) iss: String,
    pub(crate) aud: String,
    pub(crate) sub: String,
    pub(crate) exp: u64,
    pub(crate) nbf: u64,
    pub(crate) iat: u64,
    #[serde(default)]
    pub(crate) roles: Vec<String>,
    #[serde(default)]
    pub(crate) tenants: Vec<String>,
}

/// A verified caller: who it is, what it is, and which tenants it may act for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claims {
    /// The token's subject, recorded as the actor in audit trails.
    pub subject: String,
    /// Roles the caller holds; unknown role names in the token are ignored.
    pub roles: BTreeSet<Role>,
    /// Tenants the caller may act for.
    pub tenants: TenantScope,
    /// Expiry, seconds since the epoch.
    pub expires_at: u64,
}

impl Claims {
    pub(crate) fn from_wire(wire: WireClaims) -> Self {
        let roles: BTreeSet<Role> = wire
            .roles
            .iter()
            .filter_map(|name| name.parse().ok())
            .collect();
        let tenants = if roles.contains(&Role::MspAdmin) || wire.tenants.iter().any(|t| t == "*") {
            TenantScope::All
        } else {
            // An entry that is not a GUID can never match a request; dropping it is safe.
            TenantScope::Some(
                wire.tenants
                    .iter()
                    .filter_map(|t| TenantId::parse(t).ok())
                    .collect(),
            )
        };
        Claims {
            subject: wire.sub,
            roles,
            tenants,
            expires_at: wire.exp,
        }
    }
}
