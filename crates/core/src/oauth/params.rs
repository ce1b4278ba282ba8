//! The parameters of an authorization request (RFC 6749 §4.1.1, RFC 7636 §4.3,
//! OpenID Connect Core §3.1.2.1) as collected from the query or form, before any rule
//! is applied ([`super::authorize::validate`] applies them): each parameter at most
//! once (except `resource`, which RFC 8707 §2 lets a client repeat), HDP's `clientId`
//! spelling accepted; and the two parameters with a closed set
//! of values, `response_mode` and `prompt`.

/// What every pushed `request_uri` starts with (RFC 9126 §2.2).
pub const REQUEST_URI_PREFIX: &str = "urn:ietf:params:oauth:request_uri:";

/// The hidden parameter that carries the proof of a taken push through the forms
/// (see [`super::par`]).
pub const PROOF_PARAM: &str = "pushed_request";

/// The hidden parameter that carries the proof of an accepted user code through the
/// forms (see [`super::device`]).
pub const DEVICE_PROOF_PARAM: &str = "device_request";

/// The parameters of an authorization request, as sent (query or form): RFC 6749's
/// and RFC 7636's, and OpenID Connect Core §3.1.2.1's.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuthorizeParams {
    pub response_type: Option<String>,
    pub client_id: Option<String>,
    pub redirect_uri: Option<String>,
    pub scope: Option<String>,
    pub state: Option<String>,
    pub code_challenge: Option<String>,
    pub code_challenge_method: Option<String>,
    pub response_mode: Option<String>,
    pub nonce: Option<String>,
    pub prompt: Option<String>,
    pub max_age: Option<String>,
    pub login_hint: Option<String>,
    pub ui_locales: Option<String>,
    pub id_token_hint: Option<String>,
    pub claims: Option<String>,
    pub acr_values: Option<String>,
    pub display: Option<String>,
    pub request: Option<String>,
    pub request_uri: Option<String>,
    /// The proof that the parameters came from a taken pushed request
    /// ([`PROOF_PARAM`]), carried through the forms.
    pub pushed_request: Option<String>,
    /// The user code of a device request being approved (RFC 8628, [`super::device`]),
    /// carried through the forms with its proof [`DEVICE_PROOF_PARAM`].
    pub user_code: Option<String>,
    /// The keyed proof that [`Self::user_code`] was accepted at the verification page.
    pub device_request: Option<String>,
    /// The DPoP key the code is to be bound to (RFC 9449 §10): a JWK thumbprint.
    pub dpop_jkt: Option<String>,
    /// The resource indicators (RFC 8707 §2), in the order sent: the one parameter
    /// that may be repeated. Empty values are dropped.
    pub resource: Vec<String>,
    /// The first parameter sent more than once (RFC 6749 §3.1 forbids that).
    pub duplicate: Option<String>,
}

/// The repeatable resource indicator parameter (RFC 8707 §2).
pub const RESOURCE_PARAM: &str = "resource";

impl AuthorizeParams {
    /// The names of the parameters, in the order [`Self::pairs`] yields them.
    pub const NAMES: [&'static str; 23] = [
        "response_type",
        "client_id",
        "redirect_uri",
        "scope",
        "state",
        "code_challenge",
        "code_challenge_method",
        "response_mode",
        "nonce",
        "prompt",
        "max_age",
        "login_hint",
        "ui_locales",
        "id_token_hint",
        "claims",
        "acr_values",
        "display",
        "request",
        "request_uri",
        PROOF_PARAM,
        "user_code",
        DEVICE_PROOF_PARAM,
        "dpop_jkt",
    ];

    /// The value slots, in the order of [`Self::NAMES`].
    fn slots(&mut self) -> [&mut Option<String>; 23] {
        [
            &mut self.response_type,
            &mut self.client_id,
            &mut self.redirect_uri,
            &mut self.scope,
            &mut self.state,
            &mut self.code_challenge,
            &mut self.code_challenge_method,
            &mut self.response_mode,
            &mut self.nonce,
            &mut self.prompt,
            &mut self.max_age,
            &mut self.login_hint,
            &mut self.ui_locales,
            &mut self.id_token_hint,
            &mut self.claims,
            &mut self.acr_values,
            &mut self.display,
            &mut self.request,
            &mut self.request_uri,
            &mut self.pushed_request,
            &mut self.user_code,
            &mut self.device_request,
            &mut self.dpop_jkt,
        ]
    }

    /// Collects the authorization parameters from decoded pairs, ignoring others
    /// (RFC 6749 §3.1: unknown parameters are ignored). Empty values count as absent,
    /// but a name sent twice is a duplicate even when one of its values is empty.
    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        // HDP's 4.x documentation spells it `clientId`.
        let pairs: Vec<(&str, &str)> = pairs
            .into_iter()
            .map(|(k, v)| (if k == "clientId" { "client_id" } else { k }, v))
            .collect();
        let resource = pairs
            .iter()
            .filter(|(k, v)| *k == RESOURCE_PARAM && !v.is_empty())
            .map(|(_, v)| (*v).to_owned())
            .collect();
        let (values, duplicate) = collect_once(&Self::NAMES, pairs);
        let mut p = Self {
            duplicate,
            resource,
            ..Self::default()
        };
        for (slot, value) in p.slots().into_iter().zip(values) {
            *slot = value;
        }
        p
    }

    /// The parameters that are present, for carrying them to the next step: each
    /// `resource` value last, in order.
    pub fn pairs(&self) -> Vec<(&'static str, &str)> {
        let mut out = present(
            &Self::NAMES,
            [
                &self.response_type,
                &self.client_id,
                &self.redirect_uri,
                &self.scope,
                &self.state,
                &self.code_challenge,
                &self.code_challenge_method,
                &self.response_mode,
                &self.nonce,
                &self.prompt,
                &self.max_age,
                &self.login_hint,
                &self.ui_locales,
                &self.id_token_hint,
                &self.claims,
                &self.acr_values,
                &self.display,
                &self.request,
                &self.request_uri,
                &self.pushed_request,
                &self.user_code,
                &self.device_request,
                &self.dpop_jkt,
            ],
        );
        out.extend(self.resource.iter().map(|r| (RESOURCE_PARAM, r.as_str())));
        out
    }

    /// The request to continue with once the user has just signed in: without what
    /// asked for that sign-in (`prompt=login`/`select_account`, `max_age`,
    /// `id_token_hint`), which would otherwise ask again forever. `auth_time` is in
    /// every ID token anyway.
    pub fn after_sign_in(&self) -> Self {
        let prompt: Vec<&str> = self
            .prompt
            .as_deref()
            .unwrap_or("")
            .split(' ')
            .filter(|p| !p.is_empty() && *p != "login" && *p != "select_account")
            .collect();
        Self {
            prompt: (!prompt.is_empty()).then(|| prompt.join(" ")),
            max_age: None,
            // Whoever signed in is who the flow continues with.
            id_token_hint: None,
            ..self.clone()
        }
    }
}

/// Collects each of `names` once from decoded `pairs`, as RFC 6749 §3.1 asks of a
/// request's parameters: other names are ignored, an empty value counts as absent,
/// and the first name sent more than once is returned as the duplicate (even when
/// one of its values is empty). The values come back in the order of `names`. Used
/// by the authorization and the end-session endpoints.
pub fn collect_once<'a, const N: usize>(
    names: &[&'static str; N],
    pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> ([Option<String>; N], Option<String>) {
    let mut values: [Option<String>; N] = std::array::from_fn(|_| None);
    let mut seen = [false; N];
    let mut duplicate = None;
    for (k, v) in pairs {
        let Some(i) = names.iter().position(|n| *n == k) else {
            continue;
        };
        if std::mem::replace(&mut seen[i], true) {
            duplicate.get_or_insert_with(|| k.to_owned());
        } else if !v.is_empty() {
            values[i] = Some(v.to_owned());
        }
    }
    (values, duplicate)
}

/// The present ones of `values` with their `names`, in order: the parameters to
/// carry to the next step.
pub fn present<'v, const N: usize>(
    names: &[&'static str; N],
    values: [&'v Option<String>; N],
) -> Vec<(&'static str, &'v str)> {
    names
        .iter()
        .zip(values)
        .filter_map(|(k, v)| v.as_deref().map(|v| (*k, v)))
        .collect()
}

/// How the answer reaches the client (OAuth 2.0 Multiple Response Type Encoding
/// Practices §2.1, Form Post Response Mode).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ResponseMode {
    /// In the redirect URI's query (the default for `response_type=code`).
    #[default]
    Query,
    /// In the redirect URI's fragment.
    Fragment,
    /// POSTed by the browser to the redirect URI from an auto-submitting form.
    FormPost,
}

impl ResponseMode {
    /// The mode named `s`, one of [`super::oidc::RESPONSE_MODES_SUPPORTED`].
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "query" => Some(Self::Query),
            "fragment" => Some(Self::Fragment),
            "form_post" => Some(Self::FormPost),
            _ => None,
        }
    }
}

/// The `prompt` parameter (OIDC Core §3.1.2.1): which interactions the client wants
/// or forbids.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Prompt {
    /// No page may be shown: answer with an error instead.
    pub none: bool,
    /// Sign in again even with a live session (`select_account` counts as this: a
    /// browser holds one session at a time).
    pub login: bool,
    /// Ask for consent even when it was given before.
    pub consent: bool,
}

impl Prompt {
    /// Parses the space-separated list of [`super::oidc::PROMPT_VALUES_SUPPORTED`];
    /// the error says what is wrong.
    pub fn parse(s: Option<&str>) -> Result<Self, String> {
        let mut p = Prompt::default();
        let values: Vec<&str> = s
            .unwrap_or("")
            .split(' ')
            .filter(|v| !v.is_empty())
            .collect();
        for v in &values {
            match *v {
                "none" => p.none = true,
                "login" | "select_account" => p.login = true,
                "consent" => p.consent = true,
                other => {
                    return Err(format!(
                        "prompt '{other}' is not supported; use none, login, consent or select_account."
                    ))
                }
            }
        }
        if p.none && values.len() > 1 {
            return Err("prompt=none cannot be combined with other prompt values.".to_owned());
        }
        Ok(p)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_are_collected_once_and_duplicates_noticed() {
        let p = AuthorizeParams::from_pairs([
            ("client_id", "c"),
            ("scope", ""),
            ("state", "s1"),
            ("other", "x"),
            ("state", "s2"),
        ]);
        assert_eq!(p.client_id.as_deref(), Some("c"));
        assert_eq!(p.scope, None, "empty is absent");
        assert_eq!(p.state.as_deref(), Some("s1"));
        assert_eq!(p.duplicate.as_deref(), Some("state"));
        assert_eq!(p.pairs(), vec![("client_id", "c"), ("state", "s1")]);
        let hdp = AuthorizeParams::from_pairs([("clientId", "c"), ("clientSecret", "ignored")]);
        assert_eq!(hdp.client_id.as_deref(), Some("c"));
        assert_eq!(hdp.duplicate, None);
        let both = AuthorizeParams::from_pairs([("clientId", "c"), ("client_id", "d")]);
        assert_eq!(both.duplicate.as_deref(), Some("client_id"));
        // An empty first value does not hide the second (RFC 6749 §3.1).
        let sneaky = AuthorizeParams::from_pairs([("redirect_uri", ""), ("redirect_uri", "x")]);
        assert_eq!(sneaky.duplicate.as_deref(), Some("redirect_uri"));
    }

    #[test]
    fn resource_may_be_repeated_and_round_trips_in_order() {
        let p = AuthorizeParams::from_pairs([
            ("resource", "https://b.example/"),
            ("client_id", "c"),
            ("resource", ""),
            ("resource", "https://a.example/"),
        ]);
        assert_eq!(p.duplicate, None);
        assert_eq!(p.resource, vec!["https://b.example/", "https://a.example/"]);
        assert_eq!(
            p.pairs(),
            vec![
                ("client_id", "c"),
                ("resource", "https://b.example/"),
                ("resource", "https://a.example/")
            ]
        );
        let again = AuthorizeParams::from_pairs(p.pairs());
        assert_eq!(again, p);
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        fn name() -> impl Strategy<Value = String> {
            prop_oneof![
                proptest::sample::select(AuthorizeParams::NAMES.to_vec()).prop_map(str::to_owned),
                Just("clientId".to_owned()),
                "[a-z_]{0,12}".prop_filter("resource may repeat", |n| n != RESOURCE_PARAM),
            ]
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(1024))]

            /// Any list of pairs: a duplicate is reported exactly when a parameter name
            /// (`clientId` counting as `client_id`) occurs twice; otherwise each
            /// parameter holds its one non-empty value, and `pairs` gives them back.
            #[test]
            fn duplicates_are_found_and_single_values_round_trip(
                list in proptest::collection::vec((name(), "[ -~]{0,8}"), 0..12)
            ) {
                let p = AuthorizeParams::from_pairs(list.iter().map(|(k, v)| (k.as_str(), v.as_str())));
                let canonical = |k: &str| if k == "clientId" { "client_id".to_owned() } else { k.to_owned() };
                let known: Vec<String> = list
                    .iter()
                    .map(|(k, _)| canonical(k))
                    .filter(|k| AuthorizeParams::NAMES.contains(&k.as_str()))
                    .collect();
                let first_dup = known
                    .iter()
                    .enumerate()
                    .find(|(i, k)| known[..*i].contains(k))
                    .map(|(_, k)| k.clone());
                prop_assert_eq!(p.duplicate.clone(), first_dup.clone());
                if first_dup.is_none() {
                    let expected: Vec<(&str, &str)> = AuthorizeParams::NAMES
                        .iter()
                        .filter_map(|n| {
                            list.iter()
                                .find(|(k, v)| canonical(k) == *n && !v.is_empty())
                                .map(|(_, v)| (*n, v.as_str()))
                        })
                        .collect();
                    prop_assert_eq!(p.pairs(), expected);
                }
            }
        }
    }
}
