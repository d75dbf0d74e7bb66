//! The record splitter: spans lie in the document, complete ones in order without
//! overlapping; and for a JSON array serde reads, they are exactly its elements (unless an
//! element is an API page, which the splitter opens).
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::value::RawValue;
use tokenwatch_core::parse::json_record_spans;

fuzz_target!(|data: &[u8]| {
    let spans = json_record_spans(data);
    let mut end = 0;
    for (span, truncated) in &spans {
        assert!(span.end <= data.len() && span.start <= span.end, "{span:?}");
        // The tail of a document cut off starts at its last complete value, which may be a
        // page whose items came before it.
        if !truncated {
            assert!(
                span.start >= end,
                "{span:?} overlaps the span before, ending at {end}"
            );
            end = span.end;
        }
    }
    if let Ok(elements) = serde_json::from_slice::<Vec<&RawValue>>(data) {
        let pages = elements.iter().any(|e| {
            let text = e.get();
            text.starts_with('{') && (text.contains("\"value\"") || text.contains("\"records\""))
        });
        if !pages && data.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'[') {
            let split: Vec<&[u8]> = spans.iter().map(|(s, _)| &data[s.clone()]).collect();
            let read: Vec<&[u8]> = elements.iter().map(|e| e.get().as_bytes()).collect();
            assert_eq!(split, read, "the splitter and serde disagree");
        }
    }
});
