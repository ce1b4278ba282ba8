//! Parsing errors in our own words. serde and serde_json describe a failure in Rust's
//! terms ("invalid type: integer `1`, expected a string at line 1 column 9"); clients
//! get the field at fault and what was expected instead ("name: expected a string, got
//! the number 1", "the body is not valid JSON (line 1, column 9)"). serde's messages
//! have a fixed shape (`serde::de::Error`'s provided methods), which is what is read
//! here; a message of another shape (one of our own deserializers') is kept as it is.

use serde::de::DeserializeOwned;

/// At most this many characters of a client's value are quoted back.
const QUOTE_MAX: usize = 40;

/// Why a JSON body could not be read into the expected shape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JsonProblem {
    /// Not JSON at all: the reason and where.
    Syntax(String),
    /// JSON of the wrong shape: which field and what was wrong.
    Shape(String),
}

impl JsonProblem {
    pub fn message(&self) -> &str {
        match self {
            Self::Syntax(m) | Self::Shape(m) => m,
        }
    }
}

/// Parses a JSON body, which must be an object, into `T`, describing any failure in
/// plain words. (serde would read a struct from an array by position.)
pub fn from_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, JsonProblem> {
    if bytes.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return Err(
            match serde_json::from_slice::<serde::de::IgnoredAny>(bytes) {
                Err(e) => JsonProblem::Syntax(syntax(&e)),
                Ok(_) => JsonProblem::Shape("the body must be a JSON object".to_owned()),
            },
        );
    }
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    let value: Result<T, _> = serde_path_to_error::deserialize(&mut *de);
    match value {
        // The same check serde_json::from_slice makes: nothing after the value.
        Ok(v) => de
            .end()
            .map(|()| v)
            .map_err(|e| JsonProblem::Syntax(syntax(&e))),
        Err(e) => {
            let path = e.path().to_string();
            let inner = e.into_inner();
            if inner.is_syntax() || inner.is_eof() || inner.is_io() {
                Err(JsonProblem::Syntax(syntax(&inner)))
            } else {
                Err(JsonProblem::Shape(describe(
                    &path,
                    &without_position(&inner),
                )))
            }
        }
    }
}

/// A syntax error: "the body is not valid JSON (line 1, column 9)".
pub fn syntax(e: &serde_json::Error) -> String {
    let reason = if e.is_eof() {
        ": it ends before the value is complete"
    } else {
        let raw = without_position(e);
        match raw.as_str() {
            "trailing characters" => ": there is more after the value",
            "key must be a string" => ": object keys must be strings",
            "recursion limit exceeded" => ": it is nested too deeply",
            "number out of range" => ": a number is out of range",
            "invalid escape" | "invalid unicode code point" => ": a string has an invalid escape",
            r if r.starts_with("control character") => ": a string contains a control character",
            _ => "",
        }
    };
    format!(
        "the body is not valid JSON{reason} (line {}, column {})",
        e.line(),
        e.column()
    )
}

/// serde_json's message without its " at line L column C" suffix.
fn without_position(e: &serde_json::Error) -> String {
    let text = e.to_string();
    let suffix = format!(" at line {} column {}", e.line(), e.column());
    text.strip_suffix(&suffix).unwrap_or(&text).to_owned()
}

/// True when the value of the field at `path` must never be quoted back.
fn is_secret(path: &str) -> bool {
    let last = path
        .rsplit(['.', '['])
        .next()
        .unwrap_or(path)
        .to_ascii_lowercase();
    ["password", "secret", "token", "code", "verifier"]
        .iter()
        .any(|s| last.contains(s))
}

/// Rewrites one serde message about the value at `path` (serde_path_to_error's
/// notation: `a.b[0]`, `.` or empty for the body itself, `?` where it lost track).
pub fn describe(path: &str, raw: &str) -> String {
    let path = match path {
        "" | "." | "?" => None,
        p => Some(p),
    };
    let at = |s: String| match path {
        Some(p) => format!("{p}: {s}"),
        None => s,
    };
    let secret = path.is_some_and(is_secret);
    let nested = |field: &str| match path {
        Some(p) => format!("{p}.{field}"),
        None => field.to_owned(),
    };
    // A wrong type names what was expected as a type; a wrong value, as a value.
    for (prefix, value) in [("invalid type: ", false), ("invalid value: ", true)] {
        if let Some((unexp, exp)) = raw
            .strip_prefix(prefix)
            .and_then(|rest| rest.split_once(", expected "))
        {
            return at(format!(
                "expected {}, got {}",
                expected(exp, value),
                got(unexp, secret)
            ));
        }
    }
    if let Some(rest) = raw.strip_prefix("invalid length ") {
        if let Some((len, exp)) = rest.split_once(", expected ") {
            // serde reads a struct from an array by position; HDP's are objects.
            if exp.starts_with("struct ") {
                return at("expected an object, got an array".to_owned());
            }
            let items = if len == "1" { "item" } else { "items" };
            return at(format!(
                "expected {}, got {len} {items}",
                expected(exp, true)
            ));
        }
    }
    if let Some(rest) = raw.strip_prefix("unknown field ") {
        // serde_path_to_error's path ends at the unknown field itself.
        let (field, allowed) = split_name(rest);
        let parent = path
            .and_then(|p| p.strip_suffix(field.as_str()))
            .and_then(|p| p.strip_suffix('.'))
            .filter(|p| !p.is_empty());
        let msg = format!(
            "unknown field {}; {}",
            quote(&field),
            one_of(allowed, "fields")
        );
        return match parent {
            Some(p) => format!("{p}: {msg}"),
            None => msg,
        };
    }
    if let Some(rest) = raw.strip_prefix("unknown variant ") {
        let (value, allowed) = split_name(rest);
        let value = if secret {
            "(hidden)".to_owned()
        } else {
            quote(&value)
        };
        return at(format!(
            "unknown value {value}; {}",
            one_of(allowed, "values")
        ));
    }
    if let Some(rest) = raw.strip_prefix("missing field ") {
        let (field, _) = split_name(rest);
        return format!("missing field \"{}\"", nested(&field));
    }
    if let Some(rest) = raw.strip_prefix("duplicate field ") {
        let (field, _) = split_name(rest);
        return format!("the field \"{}\" is sent more than once", nested(&field));
    }
    if raw == "data did not match any variant of untagged enum" || raw.contains("untagged enum") {
        return at("has a value of the wrong type".to_owned());
    }
    at(raw.to_owned())
}

/// "`name`, expected …" → ("name", "expected …").
fn split_name(rest: &str) -> (String, &str) {
    let rest = rest.strip_prefix('`').unwrap_or(rest);
    match rest.split_once('`') {
        Some((name, tail)) => (name.to_owned(), tail.trim_start_matches(',').trim_start()),
        None => (rest.to_owned(), ""),
    }
}

/// serde's list of allowed names ("expected one of `a`, `b`", "expected `a` or `b`",
/// "there are no fields") in plain words.
fn one_of(allowed: &str, what: &str) -> String {
    if allowed.starts_with("there are no") || allowed.is_empty() {
        return format!("no {what} are accepted here");
    }
    let list = allowed
        .trim_start_matches("expected ")
        .trim_start_matches("one of ")
        .replace('`', "\"");
    format!("expected one of {}", list.replace("\" or \"", "\", \""))
}

/// A field name the client chose, fit to quote in a message: as it is when it looks
/// like a name, otherwise quoted, escaped and cut.
pub fn field_name(name: &str) -> String {
    let plain = !name.is_empty()
        && name.len() <= QUOTE_MAX
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-.".contains(c));
    if plain {
        name.to_owned()
    } else {
        quote(name)
    }
}

fn quote(s: &str) -> String {
    let mut cut: String = s.chars().take(QUOTE_MAX).collect();
    if s.chars().count() > QUOTE_MAX {
        cut.push('…');
    }
    format!("{cut:?}")
}

/// serde's description of the value received, in plain words.
fn got(unexp: &str, secret: bool) -> String {
    let between = |s: &str| s.split('`').nth(1).unwrap_or("").to_owned();
    if let Some(s) = unexp.strip_prefix("string ") {
        if secret {
            return "a string".to_owned();
        }
        // serde quotes strings with Rust's Debug escaping; undo the quotes only.
        let inner = s
            .strip_prefix('"')
            .and_then(|s| s.strip_suffix('"'))
            .unwrap_or(s);
        let inner = inner.replace("\\\"", "\"").replace("\\\\", "\\");
        return quote(&inner);
    }
    if unexp.starts_with("integer ") || unexp.starts_with("floating point ") {
        return if secret {
            "a number".to_owned()
        } else {
            format!("the number {}", between(unexp))
        };
    }
    if unexp.starts_with("boolean ") {
        return between(unexp);
    }
    if unexp.starts_with("character ") {
        return if secret {
            "a string".to_owned()
        } else {
            quote(&between(unexp))
        };
    }
    match unexp {
        "null" | "unit value" | "Option value" => "null".to_owned(),
        "sequence" => "an array".to_owned(),
        "map" => "an object".to_owned(),
        "byte array" => "bytes".to_owned(),
        other => other.to_owned(),
    }
}

/// serde's description of what was expected, in plain words. `range` adds an
/// integer type's bounds (for a value of the right type out of range).
fn expected(exp: &str, range: bool) -> String {
    macro_rules! int {
        ($($t:ident),*) => {
            match exp {
                $(stringify!($t) => Some((i128::from($t::MIN), i128::from($t::MAX))),)*
                _ => None,
            }
        };
    }
    let bounds = int!(i8, i16, i32, i64, u8, u16, u32, u64);
    if let Some((lo, hi)) = bounds {
        return if range {
            format!("an integer from {lo} to {hi}")
        } else {
            "an integer".to_owned()
        };
    }
    match exp {
        "f32" | "f64" => "a number".to_owned(),
        "a borrowed string" | "a string" | "a character" | "char" => "a string".to_owned(),
        "a sequence" => "an array".to_owned(),
        "a map" => "an object".to_owned(),
        "unit" => "null".to_owned(),
        "a boolean" => "true or false".to_owned(),
        e if e.starts_with("struct ") || e.starts_with("struct variant ") => "an object".to_owned(),
        e if e.starts_with("tuple") => "an array".to_owned(),
        e if e.starts_with("enum ") || e == "variant identifier" => {
            "one of the listed values".to_owned()
        }
        e if e.starts_with("an array of length ") => e.to_owned(),
        e => e.replace('`', "\""),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields, rename_all = "camelCase")]
    #[allow(dead_code)]
    struct Body {
        name: String,
        count: Option<u32>,
        id: Option<i64>,
        tags: Option<Vec<String>>,
        status_info: Option<Status>,
        kind: Option<Kind>,
        active: Option<bool>,
        password: Option<String>,
        secret_id: Option<i64>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Status {
        status: i32,
    }

    #[derive(Debug, Deserialize)]
    #[serde(rename_all = "snake_case")]
    enum Kind {
        Public,
        Confidential,
    }

    fn err(json: &str) -> JsonProblem {
        match from_json::<Body>(json.as_bytes()) {
            Ok(b) => panic!("accepted {b:?}"),
            Err(e) => e,
        }
    }

    fn shape(json: &str) -> String {
        match err(json) {
            JsonProblem::Shape(m) => m,
            s => panic!("{json}: not a shape error: {s:?}"),
        }
    }

    #[test]
    fn wrong_types_name_the_field_and_what_was_expected() {
        assert_eq!(
            shape(r#"{"name":1}"#),
            "name: expected a string, got the number 1"
        );
        assert_eq!(
            shape(r#"{"name":"n","count":"5"}"#),
            r#"count: expected an integer, got "5""#
        );
        assert_eq!(
            shape(r#"{"name":"n","count":-1}"#),
            "count: expected an integer from 0 to 4294967295, got the number -1"
        );
        assert_eq!(
            shape(r#"{"name":"n","id":9223372036854775808}"#),
            "id: expected an integer from -9223372036854775808 to 9223372036854775807, got the number 9223372036854775808"
        );
        assert_eq!(
            shape(r#"{"name":"n","id":1.5}"#),
            "id: expected an integer, got the number 1.5"
        );
        assert_eq!(
            shape(r#"{"name":"n","tags":"a"}"#),
            r#"tags: expected an array, got "a""#
        );
        assert_eq!(
            shape(r#"{"name":"n","tags":[true]}"#),
            "tags[0]: expected a string, got true"
        );
        assert_eq!(
            shape(r#"{"name":"n","statusInfo":[]}"#),
            "statusInfo: expected an object, got an array"
        );
        assert_eq!(
            shape(r#"{"name":"n","statusInfo":{"status":null}}"#),
            "statusInfo.status: expected an integer, got null"
        );
        assert_eq!(
            shape(r#"{"name":"n","active":"yes"}"#),
            r#"active: expected true or false, got "yes""#
        );
        assert_eq!(
            shape(r#"{"name":{}}"#),
            "name: expected a string, got an object"
        );
    }

    #[test]
    fn unknown_missing_and_duplicate_fields() {
        let m = shape(r#"{"name":"n","foo":1}"#);
        assert!(
            m.starts_with(r#"unknown field "foo"; expected one of "name", "count""#),
            "{m}"
        );
        assert_eq!(
            shape(r#"{"name":"n","statusInfo":{"x":1}}"#),
            r#"statusInfo: unknown field "x"; expected one of "status""#
        );
        assert_eq!(
            shape(r#"{"name":"n","statusInfo":{"x.y":1}}"#),
            r#"statusInfo: unknown field "x.y"; expected one of "status""#
        );
        assert!(shape(r#"{"a.b":1}"#).starts_with(r#"unknown field "a.b"; expected one of"#));
        assert_eq!(shape(r#"{}"#), r#"missing field "name""#);
        assert_eq!(
            shape(r#"{"name":"n","statusInfo":{}}"#),
            r#"missing field "statusInfo.status""#
        );
        assert_eq!(
            shape(r#"{"name":"n","name":"m"}"#),
            r#"the field "name" is sent more than once"#
        );
        assert_eq!(
            shape(r#"{"name":"n","kind":"other"}"#),
            r#"kind: unknown value "other"; expected one of "public", "confidential""#
        );
    }

    #[test]
    fn secrets_are_never_quoted() {
        assert_eq!(
            shape(r#"{"name":"n","password":12345}"#),
            "password: expected a string, got a number"
        );
        assert_eq!(
            shape(r#"{"name":"n","secretId":"hunter2"}"#),
            "secretId: expected an integer, got a string"
        );
    }

    #[test]
    fn syntax_errors_say_where() {
        assert_eq!(
            err(r#"{"name": "#),
            JsonProblem::Syntax(
                "the body is not valid JSON: it ends before the value is complete (line 1, column 9)"
                    .into()
            )
        );
        assert_eq!(
            err("{\"name\": x}"),
            JsonProblem::Syntax("the body is not valid JSON (line 1, column 10)".into())
        );
        assert_eq!(
            err("{\"name\": \"n\"} x"),
            JsonProblem::Syntax(
                "the body is not valid JSON: there is more after the value (line 1, column 15)"
                    .into()
            )
        );
        assert_eq!(
            err("{1: 2}"),
            JsonProblem::Syntax(
                "the body is not valid JSON: object keys must be strings (line 1, column 2)".into()
            )
        );
    }

    #[test]
    fn long_values_are_cut() {
        let long = "x".repeat(100);
        let m = shape(&format!(r#"{{"name":"n","count":"{long}"}}"#));
        assert!(
            m.ends_with(&format!("got \"{}…\"", "x".repeat(QUOTE_MAX))),
            "{m}"
        );
    }

    #[test]
    fn no_message_keeps_serde_wording() {
        let samples = [
            r#"{"name":1}"#,
            r#"{"name":"n","count":"5"}"#,
            r#"{"name":"n","foo":1}"#,
            r#"{}"#,
            r#"{"name":"n","kind":"x"}"#,
            r#"{"name":"n","tags":{}}"#,
            "[1]",
            "\"s\"",
            "{",
        ];
        for s in samples {
            let m = err(s).message().to_owned();
            for serde_word in [
                "invalid type",
                "invalid value",
                "`",
                " at line ",
                "sequence",
                " map",
            ] {
                assert!(!m.contains(serde_word), "{s}: {m}");
            }
        }
    }

    /// Property tests of the parsers of untrusted token-endpoint bodies.
    mod props {
        use super::super::from_json;
        use crate::http::oauth::{form_fields, json_fields};
        use portcullis_core::oauth::error::ErrorCode;
        use proptest::prelude::*;
        use serde_json::Value;
        use std::collections::{BTreeMap, HashMap};

        const SERDE_WORDS: &[&str] = &[
            "invalid type",
            "invalid value",
            "`",
            " at line ",
            "EOF while",
            "expected struct",
            "expected a map",
            "sequence",
        ];

        /// `msg` without the client's own text, which we quote ("…", Debug-escaped).
        fn unquoted(msg: &str) -> String {
            let mut out = String::new();
            let (mut inside, mut escaped) = (false, false);
            for c in msg.chars() {
                match (inside, escaped, c) {
                    (true, false, '\\') => escaped = true,
                    (true, true, _) => escaped = false,
                    (_, _, '"') => inside = !inside,
                    (false, _, c) => out.push(c),
                    _ => {}
                }
            }
            out
        }

        fn assert_our_words(msg: &str) -> Result<(), TestCaseError> {
            let ours = unquoted(msg);
            for w in SERDE_WORDS {
                prop_assert!(!ours.contains(w), "serde's '{}' in {}", w, msg);
            }
            Ok(())
        }

        fn json_value() -> impl Strategy<Value = Value> {
            let leaf = prop_oneof![
                Just(Value::Null),
                any::<bool>().prop_map(Value::Bool),
                any::<i64>().prop_map(Value::from),
                any::<u64>().prop_map(Value::from),
                (-1e9f64..1e9).prop_map(Value::from),
                ".{0,12}".prop_map(Value::String),
            ];
            leaf.prop_recursive(3, 24, 4, |inner| {
                prop_oneof![
                    proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                    proptest::collection::btree_map("[a-zA-Z_]{1,8}|.{0,6}", inner, 0..4)
                        .prop_map(|m| Value::Object(m.into_iter().collect())),
                ]
            })
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(256))]

            #[test]
            fn form_bodies_never_panic(body in proptest::collection::vec(any::<u8>(), 0..256)) {
                if let Err(e) = form_fields(&body) {
                    prop_assert_eq!(e.code, ErrorCode::InvalidRequest);
                    prop_assert!(e.description.contains("more than once"));
                }
            }

            #[test]
            fn encoded_form_pairs_round_trip(
                pairs in proptest::collection::btree_map(".{1,12}", ".{0,40}", 0..8)
            ) {
                let mut ser = form_urlencoded::Serializer::new(String::new());
                for (k, v) in &pairs {
                    ser.append_pair(k, v);
                }
                let got = form_fields(ser.finish().as_bytes());
                let want: HashMap<String, String> = pairs.into_iter().collect();
                prop_assert_eq!(got.ok(), Some(want));
            }

            #[test]
            fn a_form_parameter_sent_twice_is_refused_by_name(
                pairs in proptest::collection::btree_map("[a-z_]{1,12}", ".{0,20}", 1..6),
                pick in any::<prop::sample::Index>(),
                again in ".{0,20}",
            ) {
                let dup = pick.get(&pairs.keys().cloned().collect::<Vec<_>>()).clone();
                let mut ser = form_urlencoded::Serializer::new(String::new());
                for (k, v) in &pairs {
                    ser.append_pair(k, v);
                }
                ser.append_pair(&dup, &again);
                let err = form_fields(ser.finish().as_bytes()).err();
                prop_assert!(err.is_some());
                let e = err.unwrap_or_else(|| unreachable!());
                prop_assert_eq!(e.code, ErrorCode::InvalidRequest);
                prop_assert_eq!(
                    e.description,
                    format!("The {dup} parameter was sent more than once.")
                );
            }

            #[test]
            fn json_token_bodies_never_panic(body in proptest::collection::vec(any::<u8>(), 0..256)) {
                if let Err(e) = json_fields(&body) {
                    prop_assert_eq!(e.code, ErrorCode::InvalidRequest);
                    assert_our_words(&e.description)?;
                }
            }

            #[test]
            fn json_token_refusals_name_the_field_in_our_words(value in json_value()) {
                let body = serde_json::to_vec(&value).unwrap_or_default();
                match json_fields(&body) {
                    Ok(fields) => {
                        let Value::Object(m) = &value else {
                            return Err(TestCaseError::fail("a non-object was accepted"));
                        };
                        for (k, v) in m {
                            let want = match v {
                                Value::String(s) => Some(s.clone()),
                                // Floats: serde_json's parsing is not an exact round trip.
                                Value::Number(n) if n.is_f64() => fields.get(k).cloned(),
                                Value::Number(n) => Some(n.to_string()),
                                _ => None,
                            };
                            prop_assert_eq!(fields.get(k).cloned(), want);
                        }
                    }
                    Err(e) => {
                        prop_assert_eq!(e.code, ErrorCode::InvalidRequest);
                        assert_our_words(&e.description)?;
                        if let Value::Object(m) = &value {
                            let bad = m.iter().find(|(_, v)| {
                                matches!(v, Value::Bool(_) | Value::Array(_) | Value::Object(_))
                            });
                            prop_assert!(bad.is_some(), "refused {}: {}", value, e.description);
                            if let Some((k, _)) = bad {
                                prop_assert!(
                                    e.description.starts_with(&super::super::field_name(k)),
                                    "{} does not name {}", e.description, k
                                );
                            }
                        } else {
                            prop_assert_eq!(e.description, "The body must be a JSON object.");
                        }
                    }
                }
            }

            #[test]
            fn json_string_fields_round_trip(
                fields in proptest::collection::btree_map(".{0,12}", ".{0,40}", 0..8)
            ) {
                let body = serde_json::to_vec(&fields).unwrap_or_default();
                let got: Option<BTreeMap<String, String>> =
                    json_fields(&body).ok().map(|f| f.into_iter().collect());
                prop_assert_eq!(got, Some(fields));
            }

            #[test]
            fn typed_bodies_are_refused_in_our_words(value in json_value()) {
                let body = serde_json::to_vec(&value).unwrap_or_default();
                if let Err(e) = from_json::<super::Body>(&body) {
                    assert_our_words(e.message())?;
                }
            }
        }
    }
}
