//! The `claims` request parameter (OpenID Connect Core §5.5): a JSON object whose
//! `id_token` and `userinfo` members name individual claims the client wants in the ID
//! token or from the UserInfo endpoint. Only the names matter here: this server has
//! one value per claim and no way to satisfy `value`/`values`, and §5.5 lets an OP
//! return a claim without honouring `essential`. Claims it does not know are ignored,
//! as §5.5.1 says; a malformed request is refused with `invalid_request`.

use serde_json::{json, Value};

/// The claims named for each target, in name order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClaimsRequest {
    pub id_token: Vec<String>,
    pub userinfo: Vec<String>,
}

/// Members of a claims request an OP may ignore but a client may send.
const TARGETS: [&str; 2] = ["id_token", "userinfo"];

impl ClaimsRequest {
    /// Parses the parameter as sent; the error says what is wrong with it.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let value: Value = serde_json::from_str(raw).map_err(|e| {
            format!(
                "The claims parameter is not valid JSON (it breaks off at character {}).",
                e.column()
            )
        })?;
        let Value::Object(members) = value else {
            return Err("The claims parameter must be a JSON object.".to_owned());
        };
        let mut out = ClaimsRequest::default();
        for (target, names) in &members {
            let list = match target.as_str() {
                "id_token" => &mut out.id_token,
                "userinfo" => &mut out.userinfo,
                _ => continue,
            };
            let Value::Object(names) = names else {
                return Err(format!(
                    "claims.{target} must be a JSON object of claim names."
                ));
            };
            for (name, request) in names {
                check_individual(target, name, request)?;
                if !list.contains(name) {
                    list.push(name.clone());
                }
            }
        }
        Ok(out)
    }

    /// The compact form stored with the code and the grant.
    pub fn to_json(&self) -> String {
        json!({ TARGETS[0]: self.id_token, TARGETS[1]: self.userinfo }).to_string()
    }

    /// Reads back [`Self::to_json`]; anything else is an empty request.
    pub fn from_json(stored: Option<&str>) -> Self {
        let Some(value) = stored.and_then(|s| serde_json::from_str::<Value>(s).ok()) else {
            return Self::default();
        };
        let names = |target: &str| -> Vec<String> {
            value[target]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|v| v.as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default()
        };
        Self {
            id_token: names(TARGETS[0]),
            userinfo: names(TARGETS[1]),
        }
    }
}

/// One claim's request: `null`, or an object with optional `essential` (boolean),
/// `value` or `values` (array).
fn check_individual(target: &str, name: &str, request: &Value) -> Result<(), String> {
    let bad = |what: &str| Err(format!("claims.{target}.{name}: {what}"));
    match request {
        Value::Null => Ok(()),
        Value::Object(m) => {
            if m.get("essential").is_some_and(|e| !e.is_boolean()) {
                return bad("essential must be true or false.");
            }
            if m.get("values").is_some_and(|v| !v.is_array()) {
                return bad("values must be an array.");
            }
            Ok(())
        }
        _ => bad("must be null or an object."),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_collected_per_target_and_round_trip() {
        let r = ClaimsRequest::parse(
            r#"{"userinfo":{"email":{"essential":true},"given_name":null},
                "id_token":{"auth_time":{"essential":true},"acr":{"values":["1"]}},
                "other":{"x":1}}"#,
        )
        .expect("valid");
        assert_eq!(r.userinfo, vec!["email", "given_name"]);
        assert_eq!(r.id_token, vec!["acr", "auth_time"]);
        assert_eq!(ClaimsRequest::from_json(Some(&r.to_json())), r);
        assert_eq!(ClaimsRequest::from_json(None), ClaimsRequest::default());
    }

    #[test]
    fn malformed_requests_say_what_is_wrong() {
        for (raw, says) in [
            ("{", "not valid JSON (it breaks off at character 1)"),
            ("[]", "must be a JSON object"),
            (r#"{"userinfo":["email"]}"#, "claims.userinfo must be"),
            (
                r#"{"id_token":{"email":3}}"#,
                "claims.id_token.email: must be null",
            ),
            (
                r#"{"id_token":{"email":{"essential":"yes"}}}"#,
                "essential must be",
            ),
            (
                r#"{"id_token":{"email":{"values":"a"}}}"#,
                "values must be an array",
            ),
        ] {
            let e = ClaimsRequest::parse(raw).expect_err(raw);
            assert!(e.contains(says), "{raw}: {e}");
        }
    }
}
