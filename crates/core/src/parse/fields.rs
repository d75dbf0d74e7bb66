//! Lazy access to a JSON object's fields: the object is split into `name -> raw value` without
//! building a tree, and only the fields normalization reads are decoded.

use std::borrow::Cow;
use std::collections::HashMap;

use serde::Deserialize;
use serde_json::value::RawValue;

/// A record's fields by name. foldhash rather than SipHash: every record builds one of these,
/// and SipHash was 7 % of the scan's CPU time in a profile of the dev set. It is seeded per
/// process, so a record's field names still cannot be chosen to collide.
type FieldMap<'a> = HashMap<Cow<'a, str>, &'a RawValue, foldhash::fast::RandomState>;

/// A JSON object whose values are still raw text.
#[derive(Debug)]
pub(crate) struct Fields<'a> {
    values: FieldMap<'a>,
    /// Every key is lower-case: a pipeline (Panther, some SIEM exports) folded the names, so
    /// lookups fold theirs too.
    folded: bool,
}

#[derive(Deserialize)]
struct Object<'a>(#[serde(borrow)] FieldMap<'a>);

impl<'a> Fields<'a> {
    /// Splits a JSON object; fails on anything else.
    pub(crate) fn parse(text: &'a str) -> Result<Self, serde_json::Error> {
        let Object(values) = serde_json::from_str(text)?;
        let folded = values.len() > 1
            && values
                .keys()
                .all(|k| !k.bytes().any(|b| b.is_ascii_uppercase()));
        Ok(Fields { values, folded })
    }

    fn get(&self, name: &str) -> Option<&'a RawValue> {
        match self.values.get(name) {
            Some(raw) => Some(*raw),
            None if self.folded && name.bytes().any(|b| b.is_ascii_uppercase()) => {
                self.values.get(name.to_ascii_lowercase().as_str()).copied()
            }
            None => None,
        }
    }

    /// The raw value of the first of `names` present and not null.
    pub(crate) fn raw(&self, names: &[&str]) -> Option<&'a RawValue> {
        names
            .iter()
            .filter_map(|name| self.get(name))
            .find(|raw| raw.get() != "null")
    }

    /// The first of `names` that holds a non-empty string (numbers and booleans as text).
    pub(crate) fn text(&self, names: &[&str]) -> Option<Cow<'a, str>> {
        names
            .iter()
            .filter_map(|name| self.get(name))
            .find_map(raw_text)
    }

    /// Like [`Fields::text`], owned.
    pub(crate) fn string(&self, names: &[&str]) -> Option<String> {
        self.text(names).map(Cow::into_owned)
    }

    /// A boolean field, accepting `true`, `"true"`, `"TRUE"`, `1`.
    pub(crate) fn boolean(&self, names: &[&str]) -> Option<bool> {
        self.text(names)
            .and_then(|text| match text.to_ascii_lowercase().as_str() {
                "true" | "1" => Some(true),
                "false" | "0" => Some(false),
                _ => None,
            })
    }

    /// Whether any of `names` is present (even null).
    pub(crate) fn has(&self, names: &[&str]) -> bool {
        names.iter().any(|name| self.get(name).is_some())
    }
}

/// A scalar as text: strings unescaped, numbers and booleans as written; empty strings, null,
/// objects and arrays are `None`.
pub(crate) fn raw_text(raw: &RawValue) -> Option<Cow<'_, str>> {
    let text = raw.get();
    match text.as_bytes().first()? {
        b'"' => serde_json::from_str::<Cow<'_, str>>(text)
            .ok()
            .filter(|s| !s.trim().is_empty()),
        b'{' | b'[' | b'n' => None,
        _ => Some(Cow::Borrowed(text)),
    }
}

/// Runs `read` over a nested object, which exports give either as an object or as a string
/// holding the object's JSON (Log Analytics `DeviceDetail`, Purview `AuditData`).
pub(crate) fn with_object<T>(
    raw: Option<&RawValue>,
    read: impl FnOnce(&Fields<'_>) -> Option<T>,
) -> Option<T> {
    let raw = raw?;
    match raw.get().as_bytes().first()? {
        b'{' => Fields::parse(raw.get()).ok().as_ref().and_then(read),
        b'"' => {
            let inner: String = serde_json::from_str(raw.get()).ok()?;
            let trimmed = inner.trim();
            if !trimmed.starts_with('{') {
                return None;
            }
            Fields::parse(trimmed).ok().as_ref().and_then(read)
        }
        _ => None,
    }
}

/// A `[{"Name": ..., "Value": ...}]` list (UAL `ExtendedProperties`, `DeviceProperties`), given
/// as an array or as a string holding one: the value of the entry named `name`.
pub(crate) fn name_value(raw: Option<&RawValue>, name: &str) -> Option<String> {
    #[derive(Deserialize)]
    struct Entry<'a> {
        #[serde(borrow, alias = "name")]
        #[serde(rename = "Name")]
        entry_name: Option<Cow<'a, str>>,
        #[serde(borrow, alias = "value")]
        #[serde(rename = "Value")]
        value: Option<&'a RawValue>,
    }
    let raw = raw?;
    let owned;
    let text = match raw.get().as_bytes().first()? {
        b'[' => raw.get(),
        b'"' => {
            owned = serde_json::from_str::<String>(raw.get()).ok()?;
            owned.as_str()
        }
        _ => return None,
    };
    let entries: Vec<Entry<'_>> = serde_json::from_str(text).ok()?;
    entries
        .iter()
        .find(|entry| entry.entry_name.as_deref() == Some(name))
        .and_then(|entry| entry.value)
        .and_then(raw_text)
        .map(Cow::into_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_read_lazily_with_aliases() {
        let fields = Fields::parse(
            r#"{"ClientIP": null, "ClientIPAddress": "1.2.3.4", "N": 7, "B": "TRUE", "E": "", "Esc": "a\"b"}"#,
        )
        .unwrap();
        assert_eq!(
            fields.text(&["ClientIP", "ClientIPAddress"]).as_deref(),
            Some("1.2.3.4")
        );
        assert_eq!(fields.text(&["N"]).as_deref(), Some("7"));
        assert_eq!(fields.boolean(&["B"]), Some(true));
        assert_eq!(fields.text(&["E"]), None);
        assert_eq!(fields.text(&["Esc"]).as_deref(), Some("a\"b"));
        assert!(fields.has(&["ClientIP"]));
    }

    #[test]
    fn folded_names_are_found_by_their_usual_spelling() {
        let fields = Fields::parse(r#"{"clientip": "1.2.3.4", "workload": "Exchange"}"#).unwrap();
        assert_eq!(fields.text(&["ClientIP"]).as_deref(), Some("1.2.3.4"));
        let mixed = Fields::parse(r#"{"clientip": "1.2.3.4", "Workload": "Exchange"}"#).unwrap();
        assert_eq!(
            mixed.text(&["ClientIP"]),
            None,
            "only a wholly folded object is folded"
        );
    }

    #[test]
    fn nested_objects_as_objects_or_strings() {
        let fields =
            Fields::parse(r#"{"A": {"x": "1"}, "B": "{\"x\": \"2\"}", "C": "not json", "D": [1]}"#)
                .unwrap();
        let x = |name: &str| with_object(fields.raw(&[name]), |f| f.string(&["x"]));
        assert_eq!(x("A").as_deref(), Some("1"));
        assert_eq!(x("B").as_deref(), Some("2"));
        assert_eq!(x("C"), None);
        assert_eq!(x("D"), None);
    }

    #[test]
    fn name_value_lists() {
        let fields = Fields::parse(
            r#"{"P": [{"Name": "SessionId", "Value": "s-1"}, {"Name": "OS", "Value": "Windows"}],
                "Q": "[{\"Name\": \"UserAgent\", \"Value\": \"curl/8\"}]"}"#,
        )
        .unwrap();
        assert_eq!(
            name_value(fields.raw(&["P"]), "SessionId").as_deref(),
            Some("s-1")
        );
        assert_eq!(
            name_value(fields.raw(&["Q"]), "UserAgent").as_deref(),
            Some("curl/8")
        );
        assert_eq!(name_value(fields.raw(&["P"]), "Missing"), None);
    }
}
