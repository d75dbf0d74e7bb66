//! CSV exports: Purview audit search (each row's `AuditData` cell is the UAL record) and Log
//! Analytics / Sentinel (one column per field, nested objects as JSON strings).

use std::borrow::Cow;

use crate::event::SourceFormat;
use crate::parse::fields::Fields;
use crate::parse::{Limits, ParsedRecord, RejectReason, Rejection, normalize_fields};

/// What a CSV document is, from its header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Layout {
    /// Purview: the record is the `AuditData` column.
    Purview { audit_data: usize },
    /// Sentinel: the row's columns are the record's fields.
    Sentinel,
}

fn layout(header: &csv::ByteRecord) -> Option<Layout> {
    let names: Vec<&[u8]> = header.iter().collect();
    if let Some(audit_data) = names.iter().position(|n| *n == b"AuditData") {
        return Some(Layout::Purview { audit_data });
    }
    let known: &[&[u8]] = &[b"UserPrincipalName", b"OfficeWorkload", b"UserId", b"Type"];
    names
        .iter()
        .any(|n| known.contains(n))
        .then_some(Layout::Sentinel)
}

pub(super) fn parse<'a>(
    content: &'a [u8],
    declared: Option<SourceFormat>,
    limits: &Limits,
    records: &mut Vec<ParsedRecord<'a>>,
) {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .has_headers(true)
        .from_reader(content);
    let header = match reader.byte_headers() {
        Ok(header) => header.clone(),
        Err(error) => {
            records.push(reject(
                0,
                content,
                RejectReason::MalformedCsv,
                format!("unreadable header: {error}"),
            ));
            return;
        }
    };
    let header_end = usize::try_from(reader.position().byte())
        .unwrap_or(0)
        .min(content.len());
    let header_text = &content[..header_end];
    let layout = layout(&header);

    let first_row = records.len();
    let mut row = csv::ByteRecord::new();
    loop {
        let start = usize::try_from(reader.position().byte())
            .unwrap_or(0)
            .min(content.len());
        let index = records.len();
        match reader.read_byte_record(&mut row) {
            Ok(false) => break,
            Ok(true) => {}
            Err(error) => {
                let end = usize::try_from(reader.position().byte()).unwrap_or(content.len());
                let raw = &content[start..end.clamp(start, content.len())];
                records.push(reject(
                    index,
                    raw,
                    RejectReason::MalformedCsv,
                    error.to_string(),
                ));
                // The reader cannot resume reliably after a broken quote; stop here.
                break;
            }
        }
        let end = usize::try_from(reader.position().byte())
            .unwrap_or(content.len())
            .min(content.len());
        let row_text = trim_newline(&content[start..end]);
        if row.iter().all(|cell| cell.is_empty()) {
            continue;
        }
        let record = match layout {
            None => reject(
                index,
                row_text,
                RejectReason::UnsupportedRecord,
                "the CSV columns match no supported export (Purview audit search or a Log Analytics table)",
            ),
            Some(_) if row.len() != header.len() => reject(
                index,
                row_text,
                RejectReason::MalformedCsv,
                format!("row has {} cells, the header {}", row.len(), header.len()),
            ),
            Some(Layout::Purview { audit_data }) => {
                purview_row(index, &row, audit_data, row_text, declared, limits)
            }
            Some(Layout::Sentinel) => sentinel_row(
                index,
                &header,
                &row,
                header_text,
                row_text,
                declared,
                limits,
            ),
        };
        records.push(record);
    }
    if records.len() == first_row {
        // Nothing but a header (or one line of text): say so rather than return nothing.
        let (reason, message) = match layout {
            Some(_) => (
                RejectReason::EmptyDocument,
                "the CSV has a header and no rows",
            ),
            None => (
                RejectReason::UnsupportedRecord,
                "neither JSON nor a CSV export of a supported kind",
            ),
        };
        records.push(reject(first_row, content, reason, message));
    }
}

fn reject<'a>(
    index: usize,
    raw: &'a [u8],
    reason: RejectReason,
    message: impl Into<String>,
) -> ParsedRecord<'a> {
    ParsedRecord {
        index,
        raw: Cow::Borrowed(raw),
        outcome: Err(Rejection::new(reason, message)),
    }
}

fn trim_newline(bytes: &[u8]) -> &[u8] {
    let mut end = bytes.len();
    while end > 0 && matches!(bytes[end - 1], b'\n' | b'\r') {
        end -= 1;
    }
    &bytes[..end]
}

fn too_large(len: usize, limits: &Limits) -> Option<Rejection> {
    (len > limits.max_record_bytes).then(|| {
        Rejection::new(
            RejectReason::RecordTooLarge,
            format!(
                "record of {len} bytes exceeds the limit of {}",
                limits.max_record_bytes
            ),
        )
    })
}

fn purview_row<'a>(
    index: usize,
    row: &csv::ByteRecord,
    audit_data: usize,
    row_text: &'a [u8],
    declared: Option<SourceFormat>,
    limits: &Limits,
) -> ParsedRecord<'a> {
    let cell = row.get(audit_data).unwrap_or_default();
    if let Some(rejection) = too_large(cell.len(), limits) {
        return ParsedRecord {
            index,
            raw: Cow::Borrowed(row_text),
            outcome: Err(rejection),
        };
    }
    let outcome = std::str::from_utf8(cell)
        .map_err(|e| {
            Rejection::new(
                RejectReason::InvalidUtf8,
                format!("invalid UTF-8 in AuditData at byte {}", e.valid_up_to()),
            )
        })
        .and_then(|text| {
            Fields::parse(text).map_err(|e| {
                Rejection::new(
                    RejectReason::MalformedJson,
                    format!("AuditData is not a JSON object: {e}"),
                )
            })
        })
        .and_then(|fields| {
            normalize_fields(
                &fields,
                Some(declared.unwrap_or(SourceFormat::PurviewCsv)),
                cell,
            )
        });
    // An accepted row is kept as its AuditData, the UAL record itself; a rejected one whole.
    let raw = match &outcome {
        Ok(_) => Cow::Owned(cell.to_vec()),
        Err(_) => Cow::Borrowed(row_text),
    };
    ParsedRecord {
        index,
        raw,
        outcome,
    }
}

fn sentinel_row<'a>(
    index: usize,
    header: &csv::ByteRecord,
    row: &csv::ByteRecord,
    header_text: &[u8],
    row_text: &'a [u8],
    declared: Option<SourceFormat>,
    limits: &Limits,
) -> ParsedRecord<'a> {
    // Kept with its header, so the stored record can be read again without the file.
    let mut raw = Vec::with_capacity(header_text.len() + row_text.len() + 1);
    raw.extend_from_slice(trim_newline(header_text));
    raw.push(b'\n');
    raw.extend_from_slice(row_text);
    if let Some(rejection) = too_large(row_text.len(), limits) {
        return ParsedRecord {
            index,
            raw: Cow::Owned(raw),
            outcome: Err(rejection),
        };
    }
    let outcome = as_json_object(header, row).and_then(|json| {
        let fields = Fields::parse(&json).map_err(|e| {
            Rejection::new(
                RejectReason::MalformedCsv,
                format!("row is not representable: {e}"),
            )
        })?;
        normalize_fields(
            &fields,
            Some(declared.unwrap_or(SourceFormat::Sentinel)),
            row_text,
        )
    });
    ParsedRecord {
        index,
        raw: Cow::Owned(raw),
        outcome,
    }
}

/// The row as a JSON object of strings, `{"column": "cell", ...}`; empty cells are left out.
fn as_json_object(header: &csv::ByteRecord, row: &csv::ByteRecord) -> Result<String, Rejection> {
    let mut object = serde_json::Map::with_capacity(header.len());
    for (name, cell) in header.iter().zip(row.iter()) {
        if cell.is_empty() {
            continue;
        }
        let utf8 = |bytes| {
            std::str::from_utf8(bytes)
                .map_err(|_| Rejection::new(RejectReason::InvalidUtf8, "a cell is not UTF-8"))
        };
        object.insert(
            utf8(name)?.to_owned(),
            serde_json::Value::String(utf8(cell)?.to_owned()),
        );
    }
    serde_json::to_string(&object)
        .map_err(|e| Rejection::new(RejectReason::MalformedCsv, e.to_string()))
}

/// The header line (with its line break) and each row's bytes (with theirs), for splitting a
/// CSV document into smaller ones. `None` if the header cannot be read.
pub(super) fn rows(content: &[u8]) -> Option<(&[u8], Vec<&[u8]>)> {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .has_headers(true)
        .from_reader(content);
    reader.byte_headers().ok()?;
    let header_end = usize::try_from(reader.position().byte())
        .ok()?
        .min(content.len());
    let mut rows = Vec::new();
    let mut row = csv::ByteRecord::new();
    let mut start = header_end;
    loop {
        match reader.read_byte_record(&mut row) {
            Ok(true) => {
                let end = usize::try_from(reader.position().byte())
                    .unwrap_or(content.len())
                    .min(content.len());
                rows.push(&content[start..end]);
                start = end;
            }
            // The rest, broken or not, travels as one piece for the server to judge.
            _ => {
                if start < content.len() {
                    rows.push(&content[start..]);
                }
                break;
            }
        }
    }
    Some((&content[..header_end], rows))
}
