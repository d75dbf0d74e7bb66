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
    assert!(
        !records.is_empty(),
        "every document yields at least one outcome"
    );
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
