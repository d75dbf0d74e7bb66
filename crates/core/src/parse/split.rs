//! Splits a JSON document into its records' byte ranges without parsing them, so that one bad
//! record costs only itself: a JSON array, JSON lines, or concatenated values.

/// One piece of a document: a complete value, or what was left when the text broke off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Piece<'a> {
    pub(crate) bytes: &'a [u8],
    /// The value is not closed: the document ended (or the line ended) inside it.
    pub(crate) truncated: bool,
    /// Not a value: the document ended between an array's elements, and this is its tail
    /// from the last complete element on (where it broke off).
    pub(crate) cut_off: bool,
}

fn skip_whitespace(bytes: &[u8], mut at: usize) -> usize {
    while at < bytes.len() && bytes[at].is_ascii_whitespace() {
        at += 1;
    }
    at
}

/// Where the JSON value at the start of `bytes` ends, or `None` if the input ends inside it.
pub(crate) fn value_end(bytes: &[u8]) -> Option<usize> {
    scan_value(bytes, 0)
}

/// Scans one JSON value starting at `start` (an object, array, string or scalar); returns the
/// end offset, or `None` if the input ends inside it.
fn scan_value(bytes: &[u8], start: usize) -> Option<usize> {
    let mut depth = 0usize;
    let mut in_string = false;
    let mut at = start;
    while at < bytes.len() {
        let byte = bytes[at];
        if in_string {
            // Strings are most of a record's bytes: jump to the next quote or escape.
            at += memchr::memchr2(b'"', b'\\', &bytes[at..])?;
            if bytes[at] == b'\\' {
                // The escaped byte cannot close the string, whatever it is.
                at += 2;
                continue;
            }
            in_string = false;
            if depth == 0 {
                return Some(at + 1);
            }
        } else {
            match byte {
                b'"' => in_string = true,
                b'{' | b'[' => depth += 1,
                // A scalar that is an array's last element ends at the array's close (a stray
                // close with nothing before it is no value, below).
                b'}' | b']' if depth == 0 && at > start => return Some(at),
                b'}' | b']' => {
                    depth = depth.checked_sub(1)?;
                    if depth == 0 {
                        return Some(at + 1);
                    }
                }
                b',' | b'\n' | b'\r' | b' ' | b'\t' if depth == 0 => return Some(at),
                _ => {}
            }
        }
        at += 1;
    }
    // A bare scalar may end with the input; anything open may not.
    (depth == 0 && !in_string).then_some(bytes.len())
}

/// The elements of a JSON array given as text (`[ ... ]`), each as its own piece. An array cut
/// short yields its complete elements and then the broken one, marked truncated.
pub(crate) fn array_elements(bytes: &[u8]) -> Vec<Piece<'_>> {
    let mut pieces = Vec::new();
    let mut at = skip_whitespace(bytes, 0);
    if bytes.get(at) != Some(&b'[') {
        return pieces;
    }
    let mut last_start = at;
    at += 1;
    loop {
        at = skip_whitespace(bytes, at);
        match bytes.get(at) {
            None => {
                // The array never closed: every element so far was complete, but the document
                // was cut off and whatever followed is lost, which must not pass in silence.
                pieces.push(Piece {
                    bytes: trim_end(&bytes[last_start..]),
                    truncated: true,
                    cut_off: true,
                });
                return pieces;
            }
            Some(b']') => return pieces,
            Some(b',') => {
                at += 1;
                continue;
            }
            Some(_) => match scan_value(bytes, at) {
                Some(end) => {
                    last_start = at;
                    pieces.push(Piece {
                        bytes: &bytes[at..end],
                        truncated: false,
                        cut_off: false,
                    });
                    at = end;
                }
                None => {
                    pieces.push(Piece {
                        bytes: trim_end(&bytes[at..]),
                        truncated: true,
                        cut_off: false,
                    });
                    return pieces;
                }
            },
        }
    }
}

/// Top-level values of a document that is not an array: one object, JSON lines, or values one
/// after another. A line that is not JSON becomes a piece of its own (its parse will fail), so a
/// stray line never swallows the records after it.
pub(crate) fn top_level_values(bytes: &[u8]) -> Vec<Piece<'_>> {
    let mut pieces = Vec::new();
    let mut at = 0;
    loop {
        at = skip_whitespace(bytes, at);
        if at >= bytes.len() {
            return pieces;
        }
        let line_end = bytes[at..]
            .iter()
            .position(|b| *b == b'\n')
            .map_or(bytes.len(), |i| at + i);
        if matches!(bytes[at], b'{' | b'[') {
            match scan_value(bytes, at) {
                Some(end) => {
                    pieces.push(Piece {
                        bytes: &bytes[at..end],
                        truncated: false,
                        cut_off: false,
                    });
                    at = end;
                }
                None => {
                    // Broken value: in JSON lines it breaks at its line; keep the rest.
                    pieces.push(Piece {
                        bytes: trim_end(&bytes[at..line_end]),
                        truncated: true,
                        cut_off: false,
                    });
                    at = line_end;
                }
            }
        } else {
            pieces.push(Piece {
                bytes: trim_end(&bytes[at..line_end]),
                truncated: false,
                cut_off: false,
            });
            at = line_end;
        }
    }
}

fn trim_end(bytes: &[u8]) -> &[u8] {
    let end = bytes
        .iter()
        .rposition(|b| !b.is_ascii_whitespace())
        .map_or(0, |i| i + 1);
    &bytes[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(pieces: &[Piece<'_>]) -> Vec<(String, bool)> {
        pieces
            .iter()
            .map(|p| (String::from_utf8_lossy(p.bytes).into_owned(), p.truncated))
            .collect()
    }

    #[test]
    fn arrays_split_into_elements_respecting_strings() {
        let doc = br#" [ {"a": "x,]}"}, {"b": [1, {"c": "\"}"}]} ,{"d":1} ] "#;
        assert_eq!(
            texts(&array_elements(doc)),
            [
                (r#"{"a": "x,]}"}"#.to_owned(), false),
                (r#"{"b": [1, {"c": "\"}"}]}"#.to_owned(), false),
                (r#"{"d":1}"#.to_owned(), false),
            ]
        );
        assert!(array_elements(b"[]").is_empty());
        assert!(array_elements(b"{}").is_empty());
    }

    #[test]
    fn a_truncated_array_keeps_its_complete_elements() {
        let doc = br#"[{"a":1},{"b":2},{"c":"unfinish"#;
        assert_eq!(
            texts(&array_elements(doc)),
            [
                (r#"{"a":1}"#.to_owned(), false),
                (r#"{"b":2}"#.to_owned(), false),
                (r#"{"c":"unfinish"#.to_owned(), true),
            ]
        );
    }

    #[test]
    fn an_array_cut_off_between_elements_says_so() {
        assert_eq!(
            texts(&array_elements(br#"[{"a":1}, "#)),
            [
                (r#"{"a":1}"#.to_owned(), false),
                (r#"{"a":1},"#.to_owned(), true)
            ]
        );
        let pieces = array_elements(b"[\n ");
        assert_eq!(texts(&pieces), [("[".to_owned(), true)]);
        assert!(pieces[0].cut_off);
        assert!(
            array_elements(b"[ ]").is_empty(),
            "an empty array is not cut off"
        );
    }

    #[test]
    fn scalars_end_at_the_close_of_their_array() {
        // Found by the record_splitter fuzzer: `null]` was read as a value never closed.
        let doc = br#"[{"a":[1,{"b":"x\"]"}]}, "s",3,null]"#;
        assert_eq!(
            texts(&array_elements(doc)),
            [
                (r#"{"a":[1,{"b":"x\"]"}]}"#.to_owned(), false),
                (r#""s""#.to_owned(), false),
                ("3".to_owned(), false),
                ("null".to_owned(), false),
            ]
        );
    }

    #[test]
    fn a_stray_close_is_a_broken_element_not_an_endless_one() {
        // Found by the azure_monitor fuzzer: `[}` split into empty pieces forever.
        assert_eq!(texts(&array_elements(b"[}")), [("}".to_owned(), true)]);
        assert_eq!(
            texts(&array_elements(b"[1,}]")),
            [("1".to_owned(), false), ("}]".to_owned(), true)]
        );
    }

    #[test]
    fn json_lines_with_a_broken_line_lose_only_that_line() {
        let doc = b"{\"a\":1}\n{\"b\":\n{\"c\":3}\nnot json\n\n{\"d\":{\"e\":4}}\n";
        // The broken second line is cut at its end, not allowed to swallow {"c":3}.
        let pieces = top_level_values(doc);
        let texts = texts(&pieces);
        assert_eq!(texts[0], (r#"{"a":1}"#.to_owned(), false));
        assert!(texts[1].1, "second line is truncated: {texts:?}");
        assert_eq!(
            texts.last().unwrap(),
            &(r#"{"d":{"e":4}}"#.to_owned(), false)
        );
        assert!(texts.contains(&("not json".to_owned(), false)));
    }
}
