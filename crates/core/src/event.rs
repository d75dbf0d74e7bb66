//! The normalized event: what every record of every format becomes.

use std::fmt;
use std::net::IpAddr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::useragent::ClientInfo;

/// Where a record came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SourceFormat {
    /// Office 365 Management Activity API content (AuditData objects).
    ManagementActivity,
    /// Microsoft Purview audit search CSV export.
    PurviewCsv,
    /// Microsoft Graph `/auditLogs/signIns`.
    GraphSignIns,
    /// Microsoft Sentinel / Log Analytics export.
    Sentinel,
    /// Azure Monitor diagnostic-settings export of Entra logs.
    AzureMonitor,
}

impl SourceFormat {
    /// Every format, in a fixed order.
    pub const ALL: [SourceFormat; 5] = [
        SourceFormat::ManagementActivity,
        SourceFormat::PurviewCsv,
        SourceFormat::GraphSignIns,
        SourceFormat::Sentinel,
        SourceFormat::AzureMonitor,
    ];

    /// A stable name, for storage, metrics and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            SourceFormat::ManagementActivity => "management_activity",
            SourceFormat::PurviewCsv => "purview_csv",
            SourceFormat::GraphSignIns => "graph_signins",
            SourceFormat::Sentinel => "sentinel",
            SourceFormat::AzureMonitor => "azure_monitor",
        }
    }

    /// The format of a stable name, as [`SourceFormat::as_str`] writes it.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|format| format.as_str() == name)
    }
}

impl fmt::Display for SourceFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which field a session id was read from. They are not all the same kind of id (an Exchange
/// `SessionId` is not proven to be the Entra session), so detection may weigh them differently.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SessionIdSource {
    /// UAL `AppAccessContext.AADSessionId`.
    AppAccessContext,
    /// UAL AzureActiveDirectory `DeviceProperties[Name=SessionId]`.
    DeviceProperties,
    /// UAL Exchange top-level `SessionId`.
    ExchangeSessionId,
    /// UAL OneDrive/SharePoint `UserSessionId`.
    UserSessionId,
    /// Entra sign-in `sessionId` / `SessionId` (Graph, Sentinel, Azure Monitor).
    SignIn,
}

impl SessionIdSource {
    /// Every source, in a fixed order.
    pub const ALL: [SessionIdSource; 5] = [
        SessionIdSource::AppAccessContext,
        SessionIdSource::DeviceProperties,
        SessionIdSource::ExchangeSessionId,
        SessionIdSource::UserSessionId,
        SessionIdSource::SignIn,
    ];

    /// The source of a stable name, as [`SessionIdSource::as_str`] writes it.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|source| source.as_str() == name)
    }

    /// A stable name, for storage.
    pub fn as_str(self) -> &'static str {
        match self {
            SessionIdSource::AppAccessContext => "app_access_context",
            SessionIdSource::DeviceProperties => "device_properties",
            SessionIdSource::ExchangeSessionId => "exchange_session_id",
            SessionIdSource::UserSessionId => "user_session_id",
            SessionIdSource::SignIn => "sign_in",
        }
    }
}

/// Enrichment of an event's IP address.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Network {
    /// Autonomous system number.
    pub asn: Option<u32>,
    /// The AS organisation's name.
    pub as_org: Option<String>,
    /// ISO 3166 alpha-2 country code.
    pub country: Option<String>,
    /// The ASN belongs to a hosting, cloud or VPN provider.
    pub hosting: bool,
}

/// One audit or sign-in record, normalized.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NormalizedEvent {
    /// The record's own id (`Id`, `id`), or `sha256:<hex>` of its bytes when it has none.
    pub record_id: String,
    /// The format it came in.
    pub source_format: SourceFormat,
    /// When it happened, UTC.
    #[serde(with = "crate::time::compact")]
    pub event_time: DateTime<Utc>,
    /// The tenant the record names (`OrganizationId`, `tenantId`, `AADTenantId`), as written.
    pub tenant_hint: Option<String>,
    /// User principal name, lower-cased.
    pub user_id: String,
    /// The user's Entra object id, where the record has it.
    pub user_object_id: Option<String>,
    /// The session the record belongs to.
    pub session_id: Option<String>,
    /// The field the session id came from.
    pub session_id_source: Option<SessionIdSource>,
    /// The token id (`uniqueTokenIdentifier`, `AppAccessContext.UniqueTokenId`).
    pub token_id: Option<String>,
    /// Client IP address, cleaned.
    pub ip: Option<IpAddr>,
    /// User agent as sent.
    pub user_agent: Option<String>,
    /// Device id, where the record has one.
    pub device_id: Option<String>,
    /// Browser and OS, from the record's device details or the user agent.
    pub client: ClientInfo,
    /// The operation (`UserLoggedIn`, `New-InboxRule`, `Sign-in activity`...).
    pub operation: String,
    /// Workload (`Exchange`, `SharePoint`, `AzureActiveDirectory`...).
    pub workload: Option<String>,
    /// Result status or error code as the record gives it.
    pub result_status: Option<String>,
    /// Application id.
    pub app_id: Option<String>,
    /// Whether the sign-in was interactive, for sign-in records.
    pub interactive: Option<bool>,
    /// IP enrichment.
    pub network: Network,
}
