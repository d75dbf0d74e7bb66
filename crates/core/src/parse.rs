//! Documents in, records out: every supported export format, split into records, each
//! normalized or rejected with a reason. One bad record never costs another.
//!
//! A document is JSON (an array, JSON lines, an API page such as `{"value": [...]}` or
//! `{"records": [...]}`, or an array of such pages) or CSV with a header row. The format of each
//! record is recognized from its fields unless the caller declares it.

mod audit;
mod delimited;
mod fields;
mod signin;
mod split;

use std::borrow::Cow;
use std::fmt;

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

use crate::event::{NormalizedEvent, SourceFormat};
use fields::{Fields, with_object};
use split::Piece;

/// Why a record was rejected. The names are stable: clients count rejections by them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RejectReason {
    /// Not valid JSON, or cut short.
    MalformedJson,
    /// A CSV row that does not fit its header.
    MalformedCsv,
    /// Bytes that are not UTF-8.
    InvalidUtf8,
    /// A field normalization needs (time, user) is absent.
    MissingField,
    /// A field is present but unreadable (a time that is not a time).
    InvalidField,
    /// A record of a kind tokenwatch does not use, or of another format than declared.
    UnsupportedRecord,
    /// The record names another tenant than the one it was sent for.
    TenantMismatch,
    /// Larger than the per-record limit.
    RecordTooLarge,
    /// The document holds nothing.
    EmptyDocument,
    /// The event is older than the operator keeps: refused by ingest, not quarantined.
    Expired,
}

impl RejectReason {
    /// The stable name (`MALFORMED_JSON`...).
    pub fn as_str(self) -> &'static str {
        match self {
            RejectReason::MalformedJson => "MALFORMED_JSON",
            RejectReason::MalformedCsv => "MALFORMED_CSV",
            RejectReason::InvalidUtf8 => "INVALID_UTF8",
            RejectReason::MissingField => "MISSING_FIELD",
            RejectReason::InvalidField => "INVALID_FIELD",
            RejectReason::UnsupportedRecord => "UNSUPPORTED_RECORD",
            RejectReason::TenantMismatch => "TENANT_MISMATCH",
            RejectReason::RecordTooLarge => "RECORD_TOO_LARGE",
            RejectReason::EmptyDocument => "EMPTY_DOCUMENT",
            RejectReason::Expired => "EXPIRED",
        }
    }
}

impl fmt::Display for RejectReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A rejected record's reason and a message saying what exactly is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    /// The reason code.
    pub reason: RejectReason,
    /// Details for a human.
    pub message: String,
}

impl Rejection {
    pub(crate) fn new(reason: RejectReason, message: impl Into<String>) -> Self {
        Rejection {
            reason,
            message: message.into(),
        }
    }
}

/// One record of a document and what became of it.
#[derive(Debug, Clone)]
pub struct ParsedRecord<'a> {
    /// Position in the document, from 0.
    pub index: usize,
    /// The record as received: its JSON text, a Purview row's AuditData, or a CSV header and row.
    pub raw: Cow<'a, [u8]>,
    /// The normalized event, or why there is none.
    pub outcome: Result<NormalizedEvent, Rejection>,
}

/// Limits applied while parsing.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Largest record accepted, in bytes.
    pub max_record_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        // UAL records are a few KB; Exchange records listing many items reach hundreds of KB.
        Limits {
            max_record_bytes: 1024 * 1024,
        }
    }
}

/// Parses a document into records. `declared` is the format the sender says it is; `None`
/// recognizes each record's format from its fields.
pub fn parse_document<'a>(
    content: &'a [u8],
    declared: Option<SourceFormat>,
    limits: &Limits,
) -> Vec<ParsedRecord<'a>> {
    let content = content.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(content);
    let start = content.iter().position(|b| !b.is_ascii_whitespace());
    let Some(start) = start else {
        return vec![ParsedRecord {
            index: 0,
            raw: Cow::Borrowed(content),
            outcome: Err(Rejection::new(
                RejectReason::EmptyDocument,
                "the document is empty",
            )),
        }];
    };
    if let Some(json) = JsonRecords::split(content, declared, limits) {
        return (0..json.len())
            .filter_map(|index| json.parse(index))
            .collect();
    }
    let mut records = Vec::new();
    delimited::parse(&content[start..], declared, limits, &mut records);
    records
}

/// A JSON document split into its records, to be parsed one by one, on as many threads as the
/// caller likes: splitting is one quick pass, parsing and normalizing are most of the work.
#[derive(Debug)]
pub struct JsonRecords<'a> {
    pieces: Vec<Piece<'a>>,
    declared: Option<SourceFormat>,
    limits: Limits,
}

impl<'a> JsonRecords<'a> {
    /// Splits a JSON document as [`parse_document`] does; `None` when it is not JSON (CSV), or
    /// empty.
    pub fn split(
        content: &'a [u8],
        declared: Option<SourceFormat>,
        limits: &Limits,
    ) -> Option<Self> {
        let content = content.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(content);
        let start = content.iter().position(|b| !b.is_ascii_whitespace())?;
        if !matches!(content[start], b'[' | b'{') {
            return None;
        }
        Some(JsonRecords {
            pieces: json_records(&content[start..]),
            declared,
            limits: *limits,
        })
    }

    /// How many records the document holds.
    pub fn len(&self) -> usize {
        self.pieces.len()
    }

    /// Whether it holds none.
    pub fn is_empty(&self) -> bool {
        self.pieces.is_empty()
    }

    /// Record `index`, parsed; `None` past the last.
    pub fn parse(&self, index: usize) -> Option<ParsedRecord<'a>> {
        let piece = *self.pieces.get(index)?;
        Some(ParsedRecord {
            index,
            raw: Cow::Borrowed(piece.bytes),
            outcome: parse_json_record(piece, self.declared, &self.limits),
        })
    }
}

/// Where each record of a JSON document lies in it, as [`parse_document`] splits it (arrays,
/// JSON lines, API pages, arrays of pages), and whether the document broke off inside it.
/// Offsets are into `content` as given.
pub fn json_record_spans(content: &[u8]) -> Vec<(std::ops::Range<usize>, bool)> {
    let start = content
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(content.len());
    let base = content.as_ptr() as usize;
    json_records(&content[start..])
        .into_iter()
        .map(|piece| {
            let from = piece.bytes.as_ptr() as usize - base;
            (from..from + piece.bytes.len(), piece.truncated)
        })
        .collect()
}

/// Every record of a JSON document, unwrapping arrays, API pages and arrays of pages. Whatever
/// follows a closed top-level array (a second export appended to the first) is read too, never
/// dropped.
fn json_records(content: &[u8]) -> Vec<Piece<'_>> {
    let mut top = Vec::new();
    let mut rest = content;
    while rest.first() == Some(&b'[') {
        let Some(end) = split::value_end(rest) else {
            // Cut off inside the array: its complete elements, then where it broke.
            top.extend(split::array_elements(rest));
            rest = &[];
            break;
        };
        top.extend(split::array_elements(&rest[..end]));
        rest = rest[end..].trim_ascii_start();
    }
    if !rest.is_empty() {
        top.extend(split::top_level_values(rest));
    }
    let mut records = Vec::with_capacity(top.len());
    for piece in top {
        match page_items(piece) {
            Some(items) => records.extend(split::array_elements(items)),
            None => records.push(piece),
        }
    }
    records
}

/// The item array of an API page (`{"value": [...]}` from Graph, `{"records": [...]}` from
/// Azure Monitor), or `None` if the piece is a record itself.
fn page_items(piece: Piece<'_>) -> Option<&[u8]> {
    if piece.truncated || piece.bytes.first() != Some(&b'{') {
        return None;
    }
    // Most pieces are records: without either key's text (or an escape that might spell one)
    // the piece is no page, and it is not parsed twice to find that out.
    let mentions = |needle: &[u8]| memchr::memmem::find(piece.bytes, needle).is_some();
    if !mentions(b"\"value\"") && !mentions(b"\"records\"") && !mentions(b"\\u") {
        return None;
    }
    let text = std::str::from_utf8(piece.bytes).ok()?;
    let fields = Fields::parse(text).ok()?;
    let items = fields.raw(&["value", "records"])?;
    items
        .get()
        .starts_with('[')
        .then(|| items.get().as_bytes())
        // Borrow from the piece, not from the parsed map.
        .map(|bytes| {
            let offset = bytes.as_ptr() as usize - piece.bytes.as_ptr() as usize;
            &piece.bytes[offset..offset + bytes.len()]
        })
}

fn parse_json_record(
    piece: Piece<'_>,
    declared: Option<SourceFormat>,
    limits: &Limits,
) -> Result<NormalizedEvent, Rejection> {
    if piece.bytes.len() > limits.max_record_bytes {
        return Err(Rejection::new(
            RejectReason::RecordTooLarge,
            format!(
                "record of {} bytes exceeds the limit of {}",
                piece.bytes.len(),
                limits.max_record_bytes
            ),
        ));
    }
    let text = std::str::from_utf8(piece.bytes).map_err(|e| {
        Rejection::new(
            RejectReason::InvalidUtf8,
            format!("invalid UTF-8 at byte {}", e.valid_up_to()),
        )
    })?;
    if piece.cut_off {
        return Err(Rejection::new(
            RejectReason::MalformedJson,
            "the document ends before its array closes: it was cut off here, and any records after this point are missing",
        ));
    }
    if piece.truncated {
        return Err(Rejection::new(
            RejectReason::MalformedJson,
            "the record is cut short",
        ));
    }
    let fields = Fields::parse(text).map_err(|e| {
        Rejection::new(
            RejectReason::MalformedJson,
            format!("not a JSON object: {e}"),
        )
    })?;
    normalize_fields(&fields, declared, piece.bytes)
}

/// The family of a record, recognized from its fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    AzureMonitor,
    Audit(SourceFormat),
    SignIn(SourceFormat),
    DirectoryAudit(SourceFormat),
}

fn recognize(fields: &Fields<'_>) -> Option<Kind> {
    let sentinel_type = fields.text(&["Type"]);
    match sentinel_type.as_deref() {
        Some("SigninLogs" | "AADNonInteractiveUserSignInLogs") => {
            return Some(Kind::SignIn(SourceFormat::Sentinel));
        }
        Some("OfficeActivity") => return Some(Kind::Audit(SourceFormat::Sentinel)),
        Some("AuditLogs") => return Some(Kind::DirectoryAudit(SourceFormat::Sentinel)),
        _ => {}
    }
    if fields.has(&["properties"]) && fields.has(&["category", "operationName"]) {
        Some(Kind::AzureMonitor)
    } else if fields.has(&["OfficeWorkload", "OfficeId"]) {
        Some(Kind::Audit(SourceFormat::Sentinel))
    } else if fields.has(&["Workload", "RecordType"])
        || (fields.has(&["CreationTime"]) && fields.has(&["Operation"]))
    {
        Some(Kind::Audit(SourceFormat::ManagementActivity))
    } else if fields.has(&["createdDateTime", "userPrincipalName"]) {
        Some(Kind::SignIn(SourceFormat::GraphSignIns))
    } else if fields.has(&["UserPrincipalName"]) && fields.has(&["IPAddress", "AppId"]) {
        Some(Kind::SignIn(SourceFormat::Sentinel))
    } else {
        None
    }
}

/// Whether a record recognized as `natural` may arrive in a document declared as `declared`.
fn fits(declared: SourceFormat, natural: SourceFormat) -> bool {
    declared == natural
        // A Purview row's AuditData is a Management Activity record.
        || (declared == SourceFormat::PurviewCsv && natural == SourceFormat::ManagementActivity)
}

pub(crate) fn normalize_fields(
    fields: &Fields<'_>,
    declared: Option<SourceFormat>,
    raw: &[u8],
) -> Result<NormalizedEvent, Rejection> {
    let kind = recognize(fields).ok_or_else(|| {
        Rejection::new(
            RejectReason::UnsupportedRecord,
            "not an audit or sign-in record of a supported format",
        )
    })?;
    let natural = match kind {
        Kind::AzureMonitor => SourceFormat::AzureMonitor,
        Kind::Audit(format) | Kind::SignIn(format) | Kind::DirectoryAudit(format) => format,
    };
    let format = match declared {
        Some(declared) if !fits(declared, natural) => {
            return Err(Rejection::new(
                RejectReason::UnsupportedRecord,
                format!("declared {declared} but the record is {natural}"),
            ));
        }
        Some(declared) => declared,
        None => natural,
    };
    match kind {
        Kind::Audit(_) => audit::normalize(fields, format, raw),
        Kind::SignIn(_) => signin::normalize(fields, &signin::Envelope::default(), format, raw),
        Kind::DirectoryAudit(_) => {
            audit::directory_audit(fields, fields, &signin::Envelope::default(), format, raw)
        }
        Kind::AzureMonitor => azure_monitor(fields, raw),
    }
}

/// An Azure Monitor diagnostic record: the envelope, and the sign-in or audit in `properties`.
fn azure_monitor(fields: &Fields<'_>, raw: &[u8]) -> Result<NormalizedEvent, Rejection> {
    let envelope = signin::Envelope {
        time: fields.string(&["time"]),
        tenant_id: fields.string(&["tenantId"]),
        caller_ip: fields.string(&["callerIpAddress"]),
        category: fields.string(&["category"]),
    };
    let category = envelope.category.clone().unwrap_or_default();
    let properties = fields.raw(&["properties"]);
    let result = match category.as_str() {
        "SignInLogs" | "NonInteractiveUserSignInLogs" => with_object(properties, |p| {
            Some(signin::normalize(
                p,
                &envelope,
                SourceFormat::AzureMonitor,
                raw,
            ))
        }),
        "ServicePrincipalSignInLogs" | "ManagedIdentitySignInLogs" => {
            return Err(Rejection::new(
                RejectReason::UnsupportedRecord,
                format!("{category} records are sign-ins of applications, not users"),
            ));
        }
        // Directory audits: `AuditLogs`, and the audit categories some exporters put in its
        // place (`ApplicationManagement`, `Policy`...). They all say who initiated them.
        other => with_object(properties, |p| {
            if !p.has(&["initiatedBy"]) {
                return Some(Err(Rejection::new(
                    RejectReason::UnsupportedRecord,
                    format!("Azure Monitor category {other:?} is not used"),
                )));
            }
            Some(audit::directory_audit(
                p,
                fields,
                &envelope,
                SourceFormat::AzureMonitor,
                raw,
            ))
        }),
    };
    result.unwrap_or_else(|| {
        Err(Rejection::new(
            RejectReason::MissingField,
            "the record has no properties object",
        ))
    })
}

/// The record's id, or a hash of its bytes when it has none (so dedupe still works).
pub(crate) fn record_id_or_hash(fields: &Fields<'_>, names: &[&str], raw: &[u8]) -> String {
    fields.string(names).unwrap_or_else(|| content_hash(raw))
}

/// `sha256:<hex>` of the bytes.
pub fn content_hash(raw: &[u8]) -> String {
    let digest = Sha256::digest(raw);
    let mut id = String::with_capacity(7 + 64);
    id.push_str("sha256:");
    for byte in digest {
        id.push_str(&format!("{byte:02x}"));
    }
    id
}

pub(crate) fn require_time(
    fields: &Fields<'_>,
    names: &[&str],
) -> Result<DateTime<Utc>, Rejection> {
    let text = fields.text(names).ok_or_else(|| {
        Rejection::new(
            RejectReason::MissingField,
            format!("no event time ({})", names.join(", ")),
        )
    })?;
    crate::time::parse_time(&text).ok_or_else(|| {
        Rejection::new(
            RejectReason::InvalidField,
            format!("unreadable event time {text:?}"),
        )
    })
}

pub(crate) fn require_user(fields: &Fields<'_>, names: &[&str]) -> Result<String, Rejection> {
    fields
        .text(names)
        .map(|user| user.trim().to_lowercase())
        .ok_or_else(|| {
            Rejection::new(
                RejectReason::MissingField,
                format!("no user ({})", names.join(", ")),
            )
        })
}

/// A tenant id as records write it (any case, braces allowed), lower-case; `None` if it is not
/// GUID-shaped (synthetic samples write things like `tenant-123`).
pub fn tenant_guid(text: &str) -> Option<String> {
    let trimmed = text.trim().trim_start_matches('{').trim_end_matches('}');
    (trimmed.len() == 36 && trimmed.chars().filter(|c| *c == '-').count() == 4)
        .then(|| trimmed.to_ascii_lowercase())
}

/// Rejects an event whose record names another tenant than `expected`. A tenant hint that is not
/// a GUID names no real tenant and is ignored.
pub fn check_tenant(event: &NormalizedEvent, expected: &str) -> Result<(), Rejection> {
    let Some(hint) = event.tenant_hint.as_deref() else {
        return Ok(());
    };
    match (tenant_guid(hint), tenant_guid(expected)) {
        (Some(hint), Some(expected)) if hint != expected => Err(Rejection::new(
            RejectReason::TenantMismatch,
            format!("the record belongs to tenant {hint}, not {expected}"),
        )),
        _ => Ok(()),
    }
}

/// Splits a document into documents of at most about `max_bytes` each, on record boundaries, so
/// a large export can be sent in pieces: JSON becomes arrays of its records (pages unwrapped),
/// CSV keeps its header on every piece. A single record larger than `max_bytes` travels alone.
pub fn chunk_document(content: &[u8], max_bytes: usize) -> Vec<Vec<u8>> {
    if content.len() <= max_bytes {
        return vec![content.to_vec()];
    }
    let body = content.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(content);
    let start = body
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(0);
    let body = &body[start..];
    // Each piece is `prefix`, records joined by `separator`, then `suffix`.
    let json = matches!(body.first(), Some(b'[' | b'{'));
    let (prefix, separator, suffix): (&[u8], &[u8], &[u8]);
    let records: Vec<&[u8]>;
    if json {
        (prefix, separator, suffix) = (b"[", b",", b"]");
        records = json_records(body).into_iter().map(|p| p.bytes).collect();
    } else {
        let Some((header, rows)) = delimited::rows(body) else {
            return vec![content.to_vec()];
        };
        (prefix, separator, suffix) = (header, b"", b"");
        records = rows;
    }
    let mut chunks = Vec::new();
    let mut chunk: Vec<u8> = Vec::new();
    for record in records {
        if !chunk.is_empty() && chunk.len() + record.len() + suffix.len() + 1 > max_bytes {
            chunk.extend_from_slice(suffix);
            chunks.push(std::mem::take(&mut chunk));
        }
        if chunk.is_empty() {
            chunk.extend_from_slice(prefix);
        } else {
            chunk.extend_from_slice(separator);
        }
        chunk.extend_from_slice(record);
    }
    if !chunk.is_empty() {
        chunk.extend_from_slice(suffix);
        chunks.push(chunk);
    }
    chunks
}
