//! Entra sign-in records: Graph `signIn` objects, Sentinel `SigninLogs` /
//! `AADNonInteractiveUserSignInLogs` rows, and the `properties` of Azure Monitor exports.

use crate::event::{NormalizedEvent, SessionIdSource, SourceFormat};
use crate::ip::parse_ip;
use crate::parse::fields::{Fields, with_object};
use crate::parse::{Rejection, record_id_or_hash, require_time, require_user};
use crate::useragent::ClientInfo;

/// What the envelope around a record says, when there is one (Azure Monitor).
#[derive(Debug, Default)]
pub(crate) struct Envelope {
    pub(crate) time: Option<String>,
    pub(crate) tenant_id: Option<String>,
    pub(crate) caller_ip: Option<String>,
    /// `SignInLogs`, `NonInteractiveUserSignInLogs`, `ServicePrincipalSignInLogs`...
    pub(crate) category: Option<String>,
}

impl Envelope {
    /// The record's own time from `names`, else the envelope's `time`.
    pub(crate) fn time_of(
        &self,
        record: &Fields<'_>,
        names: &[&str],
    ) -> Result<chrono::DateTime<chrono::Utc>, Rejection> {
        require_time(record, names).or_else(|rejection| {
            self.time
                .as_deref()
                .and_then(crate::time::parse_time)
                .ok_or(rejection)
        })
    }
}

/// Normalizes one sign-in.
pub(crate) fn normalize(
    fields: &Fields<'_>,
    envelope: &Envelope,
    format: SourceFormat,
    raw: &[u8],
) -> Result<NormalizedEvent, Rejection> {
    let event_time = envelope.time_of(
        fields,
        &[
            "createdDateTime",
            "CreatedDateTime",
            "CreatedDateTime [UTC]",
            "TimeGenerated",
            "TimeGenerated [UTC]",
        ],
    )?;
    let user_id = require_user(fields, &["userPrincipalName", "UserPrincipalName"])?;

    let device = fields.raw(&[
        "deviceDetail",
        "DeviceDetail",
        "DeviceDetail_dynamic",
        "DeviceDetail_string",
    ]);
    let user_agent = fields.string(&["userAgent", "UserAgent"]);
    let mut client = user_agent
        .as_deref()
        .map(ClientInfo::from_user_agent)
        .unwrap_or_default();
    client.fill_from_device_detail(
        with_object(device, |d| d.string(&["operatingSystem"])).as_deref(),
        with_object(device, |d| d.string(&["browser"])).as_deref(),
    );

    let session_id = fields.string(&["sessionId", "SessionId"]);
    let interactive = fields
        .boolean(&["isInteractive", "IsInteractive"])
        .or(match envelope.category.as_deref() {
            Some("NonInteractiveUserSignInLogs") => Some(false),
            Some("SignInLogs") => Some(true),
            _ => None,
        })
        .or(match fields.text(&["Type"]).as_deref() {
            Some("AADNonInteractiveUserSignInLogs") => Some(false),
            Some("SigninLogs") => Some(true),
            _ => None,
        });
    let result_status = with_object(fields.raw(&["status", "Status", "Status_dynamic"]), |s| {
        s.string(&["errorCode"])
    })
    .or_else(|| fields.string(&["ResultType", "resultType"]));

    Ok(NormalizedEvent {
        record_id: record_id_or_hash(fields, &["id", "Id"], raw),
        source_format: format,
        event_time,
        tenant_hint: envelope
            .tenant_id
            .clone()
            .or_else(|| fields.string(&["AADTenantId", "tenantId", "resourceTenantId"])),
        user_id,
        user_object_id: fields.string(&["userId", "UserId"]),
        session_id_source: session_id.as_ref().map(|_| SessionIdSource::SignIn),
        session_id,
        token_id: fields.string(&["uniqueTokenIdentifier", "UniqueTokenIdentifier"]),
        ip: fields
            .text(&["ipAddress", "IPAddress"])
            .and_then(|text| parse_ip(&text))
            .or_else(|| envelope.caller_ip.as_deref().and_then(parse_ip)),
        user_agent,
        device_id: with_object(device, |d| d.string(&["deviceId"])),
        client,
        operation: "SignIn".to_owned(),
        workload: Some("AzureActiveDirectory".to_owned()),
        result_status,
        app_id: fields.string(&["appId", "AppId"]),
        interactive,
        // Microsoft's own enrichment of the address: a second word beside our IP data, which
        // has gaps (much of 2003::/19) and errors (carrier space mapped to hosting).
        network: crate::event::Network {
            asn: fields
                .text(&["autonomousSystemNumber", "AutonomousSystemNumber"])
                .and_then(|text| text.trim().parse::<u32>().ok())
                .filter(|asn| *asn != 0),
            country: with_object(
                fields.raw(&["location", "LocationDetails", "LocationDetails_dynamic"]),
                |l| l.string(&["countryOrRegion"]),
            )
            .or_else(|| fields.string(&["Location"]))
            .filter(|c| c.len() == 2 && c.chars().all(|ch| ch.is_ascii_alphabetic()))
            .map(|c| c.to_ascii_uppercase()),
            ..Default::default()
        },
    })
}
