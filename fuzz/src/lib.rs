//! What every document target checks beyond "does not panic": the parser's answer is
//! well-formed whatever the input.

use tokenwatch_core::event::SourceFormat;
use tokenwatch_core::parse::{Limits, parse_document};

/// Parses `data` as `declared` and checks the records' shape.
pub fn check_document(data: &[u8], declared: Option<SourceFormat>) {
    // A small record limit, so "record too large" is reached too.
    let limits = Limits {
        max_record_bytes: 64 * 1024,
    };
    let records = parse_document(data, declared, &limits);
    let text = data
        .strip_prefix(b"\xEF\xBB\xBF")
        .unwrap_or(data)
        .trim_ascii();
    if records.is_empty() {
        // No records and no rejection: only an empty export may give that, a JSON document
        // with nothing in it (`[]`, `{"value": []}`) or a CSV of its header row alone.
        // Documents may be separated by any ASCII whitespace, form feeds included (JSON's own
        // whitespace lacks them); the parser skips it between documents as the splitter does.
        let spaced: Vec<u8> = with_missing_commas(&without_stray_commas(text))
            .iter()
            .map(|&b| if b == b'\x0c' { b' ' } else { b })
            .collect();
        let empty_json = serde_json::Deserializer::from_slice(&spaced)
            .into_iter::<serde_json::Value>()
            .all(|value| value.is_ok());
        let header_only = !text.starts_with(b"[") && !text.starts_with(b"{");
        // Stray commas between elements (`[,]`, `[{...},]`) carry nothing: the splitter skips
        // them, as exporters' trailing commas need.
        let only_punctuation = text
            .iter()
            .all(|b| matches!(b, b'[' | b']' | b',') || b.is_ascii_whitespace());
        assert!(
            empty_json || header_only || only_punctuation || only_empty_wrappers(text),
            "a document yielded no outcome at all"
        );
    }
    let input = data.as_ptr_range();
    for (position, record) in records.iter().enumerate() {
        assert_eq!(record.index, position, "records are numbered in order");
        if let std::borrow::Cow::Borrowed(raw) = &record.raw {
            let range = raw.as_ptr_range();
            assert!(
                raw.is_empty() || (input.start <= range.start && range.end <= input.end),
                "a borrowed record lies inside the document"
            );
        }
        if let Err(rejection) = &record.outcome {
            assert!(!rejection.message.is_empty(), "a rejection says why");
        }
    }
}

/// Where a byte stands in JSON text read from the start: in a string or not.
#[derive(Default)]
struct Strings {
    in_string: bool,
    escaped: bool,
}

impl Strings {
    /// Whether `b` belongs to a string (its content or closing quote); an opening quote
    /// starts one and is reported outside.
    fn inside(&mut self, b: u8) -> bool {
        if !self.in_string {
            self.in_string = b == b'"';
            return false;
        }
        match (self.escaped, b) {
            (true, _) => self.escaped = false,
            (false, b'\\') => self.escaped = true,
            (false, b'"') => self.in_string = false,
            _ => {}
        }
        true
    }
}

/// `text` without the commas that separate nothing (after `[` or `,`, before `]` or `,`),
/// outside strings: what the splitter skips.
fn without_stray_commas(text: &[u8]) -> Vec<u8> {
    let mut out: Vec<u8> = Vec::with_capacity(text.len());
    let mut strings = Strings::default();
    for (i, &b) in text.iter().enumerate() {
        if strings.inside(b) {
            out.push(b);
            continue;
        }
        if b == b',' {
            let before = out.iter().rev().find(|c| !c.is_ascii_whitespace());
            let after = text[i + 1..].iter().find(|c| !c.is_ascii_whitespace());
            if matches!(before, Some(b'[' | b',')) || matches!(after, Some(b']' | b',')) {
                continue;
            }
        }
        out.push(b);
    }
    out
}

/// `text` with a comma put between elements of an array that lack one (`[{...}{...}]`),
/// outside strings: the splitter does not need them, so neither does the check.
fn with_missing_commas(text: &[u8]) -> Vec<u8> {
    let mut out: Vec<u8> = Vec::with_capacity(text.len());
    let mut open: Vec<u8> = Vec::new();
    let mut strings = Strings::default();
    for &b in text {
        if strings.inside(b) {
            out.push(b);
            continue;
        }
        if matches!(b, b'{' | b'[' | b'"') && open.last() == Some(&b'[') {
            let before = out.iter().rev().find(|c| !c.is_ascii_whitespace());
            if matches!(before, Some(b'}' | b']' | b'"')) {
                out.push(b',');
            }
        }
        match b {
            b'{' | b'[' => open.push(b),
            b'}' | b']' => {
                open.pop();
            }
            _ => {}
        }
        out.push(b);
    }
    out
}

/// Whether `text` holds only empty arrays and wrappers of them (`[{"records": []} {"value":
/// []}]`), however its commas and whitespace fall: the splitter, lenient about commas between
/// elements, rightly finds no record in it.
fn only_empty_wrappers(text: &[u8]) -> bool {
    let mut rest: Vec<u8> = text
        .iter()
        .copied()
        .filter(|b| !b.is_ascii_whitespace() && *b != b',' && *b != b'\x0c')
        .collect();
    loop {
        let before = rest.len();
        // `[]` goes, then `{"key":}` (a wrapper whose array went).
        let mut next = Vec::with_capacity(rest.len());
        let mut i = 0;
        while i < rest.len() {
            if rest[i..].starts_with(b"[]") {
                i += 2;
            } else if rest[i..].starts_with(b"{\"") {
                let key_end = rest[i + 2..]
                    .iter()
                    .position(|b| *b == b'"')
                    .map(|p| i + 2 + p);
                match key_end {
                    Some(end) if rest[end + 1..].starts_with(b":}") => i = end + 3,
                    _ => {
                        next.push(rest[i]);
                        i += 1;
                    }
                }
            } else {
                next.push(rest[i]);
                i += 1;
            }
        }
        rest = next;
        if rest.is_empty() {
            return true;
        }
        if rest.len() == before {
            return false;
        }
    }
}
