//! The HTML of the authorization endpoint's pages: login, consent, error and signed
//! out. Plain server-rendered HTML5 that needs no JavaScript, one stylesheet served by
//! the binary, a mobile viewport. Every value that did not come from this file passes
//! through [`esc`] (text and attribute context alike), so a page cannot be injected into.

use portcullis_core::scope::Scope;

/// The stylesheet, compiled into the binary.
pub const CSS: &str = include_str!("../../assets/portcullis.css");
/// Where the stylesheet is served; the version in the link busts caches on upgrade.
pub const CSS_PATH: &str = "/oauth2/assets/portcullis.css";

/// HTML-escapes `s` for text and double-quoted attribute values.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn hidden(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| {
            format!(
                "<input type=\"hidden\" name=\"{}\" value=\"{}\">",
                esc(k),
                esc(v)
            )
        })
        .collect()
}

/// A page around `body`; `footer` adds the reassurance under the login and consent
/// forms.
fn layout(title: &str, body: &str, footer: bool) -> String {
    let footer = if footer {
        "<footer>Your password is never shared with the application.</footer>\n"
    } else {
        ""
    };
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta name=\"referrer\" content=\"no-referrer\">\n\
         <title>{title} · Portcullis</title>\n\
         <link rel=\"stylesheet\" href=\"{CSS_PATH}?v={version}\">\n</head>\n<body>\n\
         <div class=\"brand\"><span class=\"brand-mark\" aria-hidden=\"true\">P</span>Portcullis</div>\n\
         <main class=\"card\">\n{body}\n</main>\n{footer}</body>\n</html>\n",
        title = esc(title),
        version = env!("CARGO_PKG_VERSION"),
    )
}

/// What the login page shows.
#[derive(Debug)]
pub struct Login<'a> {
    pub app_name: &'a str,
    /// `Some(prefill)` shows the tenant field (the server has several tenants).
    pub tenant: Option<&'a str>,
    pub username: &'a str,
    pub error: Option<&'a str>,
    pub csrf: &'a str,
    /// The authorization request, carried to the next step.
    pub params: &'a [(&'a str, &'a str)],
}

pub fn login(p: &Login<'_>) -> String {
    let error = p
        .error
        .map(|e| format!("<p class=\"error\" role=\"alert\">{}</p>\n", esc(e)))
        .unwrap_or_default();
    let tenant = p
        .tenant
        .map(|t| {
            format!(
                "<label for=\"tenant\">Tenant</label>\n\
                 <input type=\"text\" id=\"tenant\" name=\"tenant\" value=\"{}\" autocomplete=\"organization\" autocapitalize=\"none\" spellcheck=\"false\" required>\n\
                 <p class=\"hint\">The organisation your account belongs to.</p>\n",
                esc(t)
            )
        })
        .unwrap_or_default();
    let autofocus_user = if p.username.is_empty() {
        " autofocus"
    } else {
        ""
    };
    let autofocus_password = if p.username.is_empty() {
        ""
    } else {
        " autofocus"
    };
    let body = format!(
        "<h1>Sign in</h1>\n<p class=\"lead\">to continue to <span class=\"app\">{app}</span></p>\n{error}\
         <form method=\"post\" action=\"/oauth2/login\">\n{hidden}\n\
         <input type=\"hidden\" name=\"csrf_token\" value=\"{csrf}\">\n{tenant}\
         <label for=\"username\">User name</label>\n\
         <input type=\"text\" id=\"username\" name=\"username\" value=\"{user}\" autocomplete=\"username\" autocapitalize=\"none\" spellcheck=\"false\" required{autofocus_user}>\n\
         <label for=\"password\">Password</label>\n\
         <input type=\"password\" id=\"password\" name=\"password\" autocomplete=\"current-password\" required{autofocus_password}>\n\
         <button type=\"submit\" class=\"primary\">Sign in</button>\n</form>",
        app = esc(p.app_name),
        hidden = hidden(p.params),
        csrf = esc(p.csrf),
        user = esc(p.username),
    );
    layout("Sign in", &body, true)
}

/// What the consent page shows.
#[derive(Debug)]
pub struct Consent<'a> {
    pub app_name: &'a str,
    pub app_description: &'a str,
    pub scopes: &'a [String],
    pub user: &'a str,
    pub csrf: &'a str,
    pub params: &'a [(&'a str, &'a str)],
}

pub fn consent(p: &Consent<'_>) -> String {
    let description = if p.app_description.trim().is_empty() {
        String::new()
    } else {
        format!("<p class=\"description\">{}</p>\n", esc(p.app_description))
    };
    let scopes: String = p
        .scopes
        .iter()
        .map(|s| {
            let words = Scope::parse(s).map(|x| x.description()).unwrap_or(s);
            format!(
                "<li><span class=\"tick\" aria-hidden=\"true\">✓</span><span>{}<span class=\"scope-name\">{}</span></span></li>\n",
                esc(words),
                esc(s)
            )
        })
        .collect();
    let hidden = hidden(p.params);
    let csrf = esc(p.csrf);
    let body = format!(
        "<h1><span class=\"app\">{app}</span> wants access to your account</h1>\n\
         <p class=\"lead\">Signed in as <strong>{user}</strong></p>\n{description}\
         <p>If you allow it, <span class=\"app\">{app}</span> will be able to:</p>\n\
         <ul class=\"scopes\">\n{scopes}</ul>\n\
         <p class=\"hint\">You can withdraw this at any time; the application's access ends at once.</p>\n\
         <form method=\"post\" action=\"/oauth2/consent\" class=\"actions\">\n{hidden}\n\
         <input type=\"hidden\" name=\"csrf_token\" value=\"{csrf}\">\n\
         <button type=\"submit\" name=\"decision\" value=\"deny\" class=\"secondary\">Deny</button>\n\
         <button type=\"submit\" name=\"decision\" value=\"allow\" class=\"primary\">Allow</button>\n\
         </form>\n\
         <div class=\"who\">Not {user}?\n<form method=\"post\" action=\"/oauth2/logout\">{hidden}\
         <input type=\"hidden\" name=\"csrf_token\" value=\"{csrf}\">\
         <button type=\"submit\" class=\"link\">Sign in as someone else</button></form></div>",
        app = esc(p.app_name),
        user = esc(p.user),
    );
    layout("Allow access", &body, true)
}

/// A sign-out form to show on an error page (when someone is signed in).
#[derive(Debug)]
pub struct SignOut<'a> {
    pub csrf: &'a str,
    pub params: &'a [(&'a str, &'a str)],
}

/// An error page: what went wrong, in words, and what to do.
pub fn error(title: &str, message: &str, sign_out: Option<&SignOut<'_>>) -> String {
    let action = sign_out
        .map(|s| {
            format!(
                "<form method=\"post\" action=\"/oauth2/logout\">{}\
                 <input type=\"hidden\" name=\"csrf_token\" value=\"{}\">\
                 <button type=\"submit\" class=\"secondary\">Sign in as someone else</button></form>",
                hidden(s.params),
                esc(s.csrf)
            )
        })
        .unwrap_or_else(|| {
            "<p class=\"hint\">You can close this page and return to the application.</p>".into()
        });
    let body = format!(
        "<h1>{}</h1>\n<p class=\"error\" role=\"alert\">{}</p>\n{action}",
        esc(title),
        esc(message)
    );
    layout(title, &body, false)
}

/// After signing out with nothing to go back to.
pub fn signed_out() -> String {
    layout(
        "Signed out",
        "<h1>You are signed out</h1>\n<p class=\"lead\">You can close this page.</p>",
        false,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Sample pages covering every branch, rendered for the golden files in
    /// `tests/golden/` (the HTML of the hand-written pages, kept byte for byte).
    pub(crate) fn samples() -> Vec<(&'static str, String)> {
        let params: &[(&str, &str)] = &[
            ("response_type", "code"),
            ("client_id", "c<1>"),
            ("state", "\"><img src=x> & 'q'"),
        ];
        let scopes = ["api.access.odata".to_owned(), "odata.read<x>".to_owned()];
        vec![
            (
                "login_first",
                login(&Login {
                    app_name: "Reports",
                    tenant: None,
                    username: "",
                    error: None,
                    csrf: "csrf1",
                    params,
                }),
            ),
            (
                "login_again",
                login(&Login {
                    app_name: "<Reports & Co>",
                    tenant: Some("acme\"x"),
                    username: "a'b",
                    error: Some("Wrong <password>."),
                    csrf: "t&",
                    params,
                }),
            ),
            (
                "consent_described",
                consent(&Consent {
                    app_name: "Reports",
                    app_description: "Monthly <reports>",
                    scopes: &scopes,
                    user: "alice'o",
                    csrf: "c2",
                    params,
                }),
            ),
            (
                "consent_plain",
                consent(&Consent {
                    app_name: "R",
                    app_description: "  ",
                    scopes: &[],
                    user: "bob",
                    csrf: "c3",
                    params: &[],
                }),
            ),
            (
                "error_plain",
                error("Invalid <request>", "It's \"wrong\" & bad.", None),
            ),
            (
                "error_sign_out",
                error(
                    "Another tenant's application",
                    "You are signed in as x.",
                    Some(&SignOut { csrf: "c4", params }),
                ),
            ),
            ("signed_out", signed_out()),
        ]
    }

    #[test]
    #[ignore = "writes the golden files from the current renderer"]
    fn write_golden() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/golden");
        std::fs::create_dir_all(dir).unwrap();
        for (name, html) in samples() {
            std::fs::write(format!("{dir}/{name}.html"), html).unwrap();
        }
    }

    #[test]
    fn everything_dynamic_is_escaped() {
        let html = login(&Login {
            app_name: "<script>x</script>",
            tenant: Some("\"onfocus=\"x"),
            username: "a'b",
            error: Some("<b>"),
            csrf: "t&",
            params: &[("state", "\"><img src=x>")],
        });
        assert!(!html.contains("<script>x"));
        assert!(!html.contains("\"onfocus"));
        assert!(!html.contains("<img"));
        assert!(!html.contains("<b>"));
        assert!(html.contains("&lt;script&gt;"));
        assert!(html.contains("a&#39;b"));
        assert!(html.contains("t&amp;"));
    }

    #[test]
    fn the_consent_page_names_scopes_in_words() {
        let html = consent(&Consent {
            app_name: "Reports",
            app_description: "Monthly reports",
            scopes: &["api.access.odata".to_owned()],
            user: "alice",
            csrf: "t",
            params: &[],
        });
        assert!(html.contains("Allow data access via OData"));
        assert!(html.contains("Monthly reports"));
        assert!(html.contains("value=\"allow\"") && html.contains("value=\"deny\""));
    }
}
