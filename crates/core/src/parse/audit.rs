//! Unified Audit Log records: Management Activity API AuditData, the AuditData cell of a Purview
//! export, and Sentinel's `OfficeActivity` rows (its own column names for the same fields).

use crate::event::{NormalizedEvent, SessionIdSource, SourceFormat};
use crate::ip::parse_ip;
use crate::parse::fields::{Fields, name_value, with_object};
use crate::parse::{Rejection, record_id_or_hash, require_time, require_user};
use crate::useragent::ClientInfo;

/// Normalizes one UAL record.
pub(crate) fn normalize(
    fields: &Fields<'_>,
    format: SourceFormat,
    raw: &[u8],
) -> Result<NormalizedEvent, Rejection> {
    let event_time = require_time(
        fields,
        &[
            "CreationTime",
            "TimeGenerated",
            "TimeGenerated [UTC]",
            "Start_Time [UTC]",
            "Start_Time",
        ],
    )?;
    let user_id = require_user(fields, &["UserId", "UserId_"])?;

    let app_access = fields.raw(&["AppAccessContext"]);
    let device_properties = fields.raw(&["DeviceProperties"]);
    let extended_properties = fields.raw(&["ExtendedProperties"]);

    let (session_id, session_id_source) = session(fields, app_access, device_properties);
    let token_id = with_object(app_access, |c| c.string(&["UniqueTokenId"]));

    let ip = fields
        .text(&[
            "ClientIP",
            "ClientIPAddress",
            "Client_IPAddress",
            "ActorIpAddress",
            "ClientIP_",
        ])
        .and_then(|text| parse_ip(&text));
    let user_agent = fields
        .string(&["UserAgent"])
        .or_else(|| name_value(extended_properties, "UserAgent"))
        .or_else(|| fields.string(&["ClientInfoString"]));
    let mut client = user_agent
        .as_deref()
        .map(ClientInfo::from_user_agent)
        .unwrap_or_default();
    client.fill_from_device_detail(
        name_value(device_properties, "OS").as_deref(),
        name_value(device_properties, "BrowserType").as_deref(),
    );

    Ok(NormalizedEvent {
        record_id: record_id_or_hash(fields, &["Id", "OfficeId"], raw),
        source_format: format,
        event_time,
        tenant_hint: fields.string(&["OrganizationId", "OrganizationId_"]),
        user_id,
        user_object_id: None,
        session_id,
        session_id_source,
        token_id,
        ip,
        user_agent,
        device_id: name_value(device_properties, "Id"),
        client,
        operation: fields
            .string(&["Operation", "Operations"])
            .unwrap_or_else(|| "Unknown".to_owned()),
        workload: fields.string(&["Workload", "OfficeWorkload"]),
        result_status: fields.string(&["ResultStatus"]),
        app_id: fields
            .string(&["ApplicationId", "AppId"])
            .or_else(|| with_object(app_access, |c| c.string(&["ClientAppId"]))),
        interactive: None,
        network: Default::default(),
    })
}

/// The session id, from the most reliable field that has one.
fn session(
    fields: &Fields<'_>,
    app_access: Option<&serde_json::value::RawValue>,
    device_properties: Option<&serde_json::value::RawValue>,
) -> (Option<String>, Option<SessionIdSource>) {
    let candidates = [
        (
            with_object(app_access, |c| c.string(&["AADSessionId"])),
            SessionIdSource::AppAccessContext,
        ),
        (
            name_value(device_properties, "SessionId"),
            SessionIdSource::DeviceProperties,
        ),
        (
            fields.string(&["SessionId"]),
            SessionIdSource::ExchangeSessionId,
        ),
        (
            fields.string(&["UserSessionId"]),
            SessionIdSource::UserSessionId,
        ),
    ];
    candidates
        .into_iter()
        .find_map(|(id, source)| id.map(|id| (Some(id), Some(source))))
        .unwrap_or((None, None))
}

/// An Entra directory audit: who changed what, from where (consent grants and MFA method
/// registrations live here). Azure Monitor gives it as `properties` under an envelope; Sentinel's
/// `AuditLogs` as one row with PascalCase columns and `InitiatedBy` as a JSON string.
pub(crate) fn directory_audit(
    record: &Fields<'_>,
    envelope_fields: &Fields<'_>,
    envelope: &crate::parse::signin::Envelope,
    format: SourceFormat,
    raw: &[u8],
) -> Result<NormalizedEvent, Rejection> {
    let event_time = envelope.time_of(
        record,
        &["activityDateTime", "ActivityDateTime", "TimeGenerated"],
    )?;
    let initiator = record.raw(&["initiatedBy", "InitiatedBy"]);
    let user_field = |name: &str| {
        with_object(initiator, |i| {
            with_object(i.raw(&["user"]), |u| u.string(&[name]))
        })
    };
    let Some(user_id) = user_field("userPrincipalName").map(|u| u.trim().to_lowercase()) else {
        return Err(Rejection::new(
            crate::parse::RejectReason::MissingField,
            "the audit was not initiated by a user (initiatedBy.user.userPrincipalName)",
        ));
    };
    let ip = user_field("ipAddress")
        .or_else(|| envelope.caller_ip.clone())
        .and_then(|text| parse_ip(&text));
    let user_agent = record.string(&["UserAgent"]);
    Ok(NormalizedEvent {
        record_id: record_id_or_hash(record, &["id", "Id"], raw),
        source_format: format,
        event_time,
        tenant_hint: envelope
            .tenant_id
            .clone()
            .or_else(|| record.string(&["AADTenantId"])),
        user_id,
        user_object_id: user_field("id"),
        session_id: None,
        session_id_source: None,
        token_id: None,
        ip,
        client: user_agent
            .as_deref()
            .map(ClientInfo::from_user_agent)
            .unwrap_or_default(),
        user_agent,
        device_id: None,
        operation: envelope_fields
            .string(&["operationName", "OperationName"])
            .or_else(|| record.string(&["activityDisplayName", "ActivityDisplayName"]))
            .map(|op| op.trim().to_owned())
            .unwrap_or_else(|| "Unknown".to_owned()),
        workload: Some("AzureActiveDirectory".to_owned()),
        result_status: record
            .string(&["result", "Result"])
            .or_else(|| envelope_fields.string(&["resultType"])),
        app_id: None,
        interactive: None,
        network: Default::default(),
    })
}
