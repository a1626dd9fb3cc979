//! Turns the token endpoint's answer into a [`Token`] or an [`Error`]
//! (RFC 6749 §5.1 and §5.2), with no I/O.

use crate::config::ClientSecret;
use crate::encoding::{base64url_decode, parse_decimal};
use crate::json::{Field, Json, JsonObject, NotAnObject};
use crate::Error;
use core::fmt;

/// The largest response body read, in bytes (1 MiB).
pub const MAX_BODY_BYTES: usize = 1 << 20;
/// Lifetime assumed when the response has neither `expires_in` nor a JWT `exp`
/// (as the official DataCosmos SDK does).
pub const DEFAULT_LIFETIME_SECONDS: f64 = 3600.0;
/// The longest lifetime believed: one year. A larger `expires_in` is capped.
pub const MAX_LIFETIME_SECONDS: f64 = 365.0 * 86_400.0;
/// The longest server text kept in an error.
const MAX_TEXT: usize = 1024;

/// An access token and what the client knows about it.
#[derive(Clone, PartialEq)]
pub struct Token {
    /// The access token.
    pub access_token: String,
    /// The token type, `Bearer` for DataCosmos (any case of "bearer" is normalised).
    pub token_type: String,
    /// When the request that produced it was sent, in ms since the epoch.
    pub obtained_at_ms: f64,
    /// When it expires, in ms since the epoch.
    pub expires_at_ms: f64,
    /// The granted scope, if the server said.
    pub scope: Option<String>,
}

impl Token {
    /// The `Authorization` header value, e.g. `Bearer eyJ...`.
    pub fn authorization(&self) -> String {
        let mut header = self.token_type.clone();
        header.push(' ');
        header.push_str(&self.access_token);
        header
    }
}

/// `Debug` shows the token's first characters only.
impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let head: String = self.access_token.chars().take(6).collect();
        f.debug_struct("Token")
            .field("access_token", &format_args!("{head}…"))
            .field("token_type", &self.token_type)
            .field("obtained_at_ms", &self.obtained_at_ms)
            .field("expires_at_ms", &self.expires_at_ms)
            .field("scope", &self.scope)
            .finish()
    }
}

/// The token endpoint's answer, as read.
#[derive(Clone, Copy, Debug)]
pub struct Answer<'a> {
    /// The HTTP status.
    pub status: u16,
    /// The body as text, or `None` when it exceeded [`MAX_BODY_BYTES`].
    pub body: Option<&'a str>,
    /// When the request was sent, in ms since the epoch.
    pub sent_at_ms: f64,
}

/// Interprets `answer`.
///
/// - A JSON object with a string `error` is [`Error::OAuth`], whatever the status.
/// - Any other non-2xx answer is [`Error::Http`].
/// - A 2xx answer must be a JSON object with a non-empty string `access_token`;
///   `token_type` (default `Bearer`) and `scope` must be strings where present, and
///   `expires_in` a non-negative number or numeric string. Else [`Error::InvalidResponse`].
///
/// Lifetime: `expires_in`; without it the JWT `exp` claim; without that one hour.
///
/// # Security
/// Server text in errors is passed through [`ClientSecret::redact`] and truncated.
pub fn parse<J: Json>(json: &J, answer: Answer<'_>, secret: &ClientSecret) -> Result<Token, Error> {
    let status = answer.status;
    let success = (200..300).contains(&status);
    let invalid = |reason| Error::InvalidResponse { status, reason };
    let Some(text) = answer.body else {
        return Err(if success {
            invalid("the body is larger than 1 MiB")
        } else {
            Error::Http { status }
        });
    };
    let obj = match json.parse_object(text) {
        Ok(obj) => obj,
        Err(_) if !success => return Err(Error::Http { status }),
        Err(NotAnObject::NotJson) => return Err(invalid("the body is not JSON")),
        Err(NotAnObject::OtherJson) => return Err(invalid("the body is not a JSON object")),
    };
    if let Field::Str(error) = obj.field("error") {
        let text = |name| obj.field(name).as_str().map(|s| clean(s, secret));
        return Err(Error::OAuth {
            error: clean(&error, secret),
            description: text("error_description"),
            uri: text("error_uri"),
            status,
        });
    }
    if !success {
        return Err(Error::Http { status });
    }
    let access_token = match obj.field("access_token") {
        Field::Str(s) if !s.is_empty() => s,
        Field::Str(_) => return Err(invalid("access_token is empty")),
        Field::Missing | Field::Null => return Err(invalid("access_token is missing")),
        _ => return Err(invalid("access_token is not a string")),
    };
    let token_type = match obj.field("token_type") {
        Field::Missing | Field::Null => "Bearer".to_owned(),
        Field::Str(t) if t.eq_ignore_ascii_case("bearer") => "Bearer".to_owned(),
        Field::Str(t) if !t.is_empty() && t.bytes().all(|b| b.is_ascii_graphic()) => t,
        _ => return Err(invalid("token_type is not a valid token type")),
    };
    let scope = match obj.field("scope") {
        Field::Missing | Field::Null => None,
        Field::Str(s) => Some(s),
        _ => return Err(invalid("scope is not a string")),
    };
    let lifetime_s = match obj.field("expires_in") {
        Field::Num(n) => Some(n),
        Field::Str(s) => match parse_decimal(s.trim()) {
            Some(n) => Some(n),
            None => return Err(invalid("expires_in is not a number")),
        },
        Field::Missing | Field::Null => None,
        Field::Other => return Err(invalid("expires_in is not a number")),
    };
    let expires_at_ms = match lifetime_s {
        Some(n) if n.is_nan() || n < 0.0 => return Err(invalid("expires_in is negative")),
        Some(n) => answer.sent_at_ms + n.min(MAX_LIFETIME_SECONDS) * 1000.0,
        None => match jwt_exp(json, &access_token) {
            Some(exp_s) => {
                let max = answer.sent_at_ms + MAX_LIFETIME_SECONDS * 1000.0;
                (exp_s * 1000.0).max(answer.sent_at_ms).min(max)
            }
            None => answer.sent_at_ms + DEFAULT_LIFETIME_SECONDS * 1000.0,
        },
    };
    Ok(Token {
        access_token,
        token_type,
        obtained_at_ms: answer.sent_at_ms,
        expires_at_ms,
        scope,
    })
}

/// The `exp` claim (seconds since the epoch) of a JWT, if `token` is one. The
/// signature is not checked: the client only uses it as a renewal hint.
pub fn jwt_exp<J: Json>(json: &J, token: &str) -> Option<f64> {
    let mut parts = token.split('.');
    let (_, payload, _) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    let bytes = base64url_decode(payload)?;
    let text = core::str::from_utf8(&bytes).ok()?;
    match json.parse_object(text).ok()?.field("exp") {
        Field::Num(n) if n.is_finite() && n > 0.0 => Some(n),
        _ => None,
    }
}

/// Server text made safe to keep: redacted, truncated to a character boundary.
fn clean(text: &str, secret: &ClientSecret) -> String {
    let mut s = secret.redact(text);
    if s.len() > MAX_TEXT {
        let mut end = MAX_TEXT;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        s.truncate(end);
        s.push('…');
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json::testing::SerdeJson;

    const T0: f64 = 1_700_000_000_000.0;

    fn answer(status: u16, body: &str) -> Result<Token, Error> {
        parse(
            &SerdeJson,
            Answer {
                status,
                body: Some(body),
                sent_at_ms: T0,
            },
            &ClientSecret::new("s3cr3t-value"),
        )
    }

    fn jwt(payload: &str) -> String {
        let enc = crate::encoding::base64_encode(payload.as_bytes())
            .replace('+', "-")
            .replace('/', "_")
            .replace('=', "");
        format!("eyJhbGciOiJSUzI1NiJ9.{enc}.c2ln")
    }

    #[test]
    fn auth0_success() {
        let t = answer(
            200,
            r#"{"access_token":"eyJ.a.b","expires_in":86400,"token_type":"Bearer","scope":"read"}"#,
        )
        .unwrap();
        assert_eq!(t.access_token, "eyJ.a.b");
        assert_eq!(t.token_type, "Bearer");
        assert_eq!(t.obtained_at_ms, T0);
        assert_eq!(t.expires_at_ms, T0 + 86_400_000.0);
        assert_eq!(t.scope.as_deref(), Some("read"));
        assert_eq!(t.authorization(), "Bearer eyJ.a.b");
    }

    #[test]
    fn token_type_is_normalised_or_rejected() {
        let t = answer(200, r#"{"access_token":"x","token_type":"bearer"}"#).unwrap();
        assert_eq!(t.token_type, "Bearer");
        let t = answer(200, r#"{"access_token":"x"}"#).unwrap();
        assert_eq!(t.token_type, "Bearer");
        let t = answer(200, r#"{"access_token":"x","token_type":"DPoP"}"#).unwrap();
        assert_eq!(t.token_type, "DPoP");
        for bad in [r#""""#, "5", r#""Bear er""#] {
            let e = answer(
                200,
                &format!(r#"{{"access_token":"x","token_type":{bad}}}"#),
            );
            assert_eq!(e.unwrap_err().code(), "invalid_response", "{bad}");
        }
    }

    #[test]
    fn expires_in_forms() {
        let exp = |v: &str| {
            answer(200, &format!(r#"{{"access_token":"x","expires_in":{v}}}"#))
                .map(|t| t.expires_at_ms - T0)
        };
        assert_eq!(exp("3600").unwrap(), 3_600_000.0);
        assert_eq!(exp(r#""120""#).unwrap(), 120_000.0);
        assert_eq!(exp(r#"" 7 ""#).unwrap(), 7_000.0);
        assert_eq!(exp("0").unwrap(), 0.0);
        assert_eq!(exp("1.5").unwrap(), 1_500.0);
        assert_eq!(exp("1e300").unwrap(), MAX_LIFETIME_SECONDS * 1000.0);
        assert_eq!(exp("null").unwrap(), 3_600_000.0);
        for bad in [
            "-1",
            r#""soon""#,
            "true",
            "[1]",
            r#""""#,
            r#""-5""#,
            r#""1e3""#,
        ] {
            let e = exp(bad).unwrap_err();
            assert_eq!(e.code(), "invalid_response", "{bad}");
            assert_eq!(e.status(), Some(200));
        }
    }

    #[test]
    fn lifetime_from_jwt_exp_then_default() {
        let exp_s = T0 / 1000.0 + 900.0;
        let tok = jwt(&format!(r#"{{"sub":"c@clients","exp":{exp_s}}}"#));
        let t = answer(200, &format!(r#"{{"access_token":"{tok}"}}"#)).unwrap();
        assert_eq!(t.expires_at_ms, T0 + 900_000.0);
        // An exp in the past: expired at once, never in the past of the request.
        let tok = jwt(r#"{"exp":1000}"#);
        let t = answer(200, &format!(r#"{{"access_token":"{tok}"}}"#)).unwrap();
        assert_eq!(t.expires_at_ms, T0);
        // Not a JWT, a JWT without exp, a JWT with a non-JSON payload: one hour.
        for tok in ["opaque", &jwt(r#"{"sub":"x"}"#), &jwt("nope"), "a.b.c.d"] {
            let t = answer(200, &format!(r#"{{"access_token":"{tok}"}}"#)).unwrap();
            assert_eq!(t.expires_at_ms, T0 + 3_600_000.0, "{tok}");
        }
    }

    #[test]
    fn rfc6749_error_shapes() {
        let e = answer(
            400,
            r#"{"error":"invalid_request","error_description":"bad","error_uri":"https://e/x"}"#,
        )
        .unwrap_err();
        assert_eq!(e.code(), "invalid_request");
        assert_eq!(e.description(), Some("bad"));
        assert_eq!(e.uri(), Some("https://e/x"));
        assert_eq!(e.status(), Some(400));
        for code in [
            "invalid_client",
            "invalid_grant",
            "unauthorized_client",
            "unsupported_grant_type",
            "invalid_scope",
            "access_denied",
        ] {
            let e = answer(401, &format!(r#"{{"error":"{code}"}}"#)).unwrap_err();
            assert_eq!(e.code(), code);
            assert_eq!(e.description(), None);
        }
        // An error object wins even on 200, and on 5xx.
        let e = answer(200, r#"{"error":"server_error"}"#).unwrap_err();
        assert_eq!((e.code(), e.status()), ("server_error", Some(200)));
        let e = answer(503, r#"{"error":"temporarily_unavailable"}"#).unwrap_err();
        assert!(e.is_transient());
        // Non-string members are ignored, not trusted.
        let e = answer(400, r#"{"error":"invalid_request","error_description":7}"#).unwrap_err();
        assert_eq!(e.description(), None);
        // `error` that is not a string: just an HTTP error.
        let e = answer(400, r#"{"error":42}"#).unwrap_err();
        assert_eq!((e.code(), e.status()), ("http_error", Some(400)));
    }

    #[test]
    fn non_json_and_odd_bodies() {
        let cases = [
            (200, "", "invalid_response"),
            (200, "<html>ok</html>", "invalid_response"),
            (200, "[]", "invalid_response"),
            (200, "\"token\"", "invalid_response"),
            (200, "{}", "invalid_response"),
            (200, r#"{"access_token":42}"#, "invalid_response"),
            (200, r#"{"access_token":""}"#, "invalid_response"),
            (200, r#"{"access_token":null}"#, "invalid_response"),
            (
                200,
                r#"{"access_token":"x","scope":["a"]}"#,
                "invalid_response",
            ),
            (502, "<html>Bad gateway</html>", "http_error"),
            (500, "", "http_error"),
            (404, "{}", "http_error"),
            (401, "null", "http_error"),
        ];
        for (status, body, code) in cases {
            let e = answer(status, body).unwrap_err();
            assert_eq!(e.code(), code, "{status} {body}");
            assert_eq!(e.status(), Some(status));
        }
    }

    #[test]
    fn oversized_bodies() {
        let ans = |status| {
            parse(
                &SerdeJson,
                Answer {
                    status,
                    body: None,
                    sent_at_ms: T0,
                },
                &ClientSecret::new("s"),
            )
            .unwrap_err()
        };
        assert_eq!(ans(200).code(), "invalid_response");
        assert_eq!(ans(500).code(), "http_error");
    }

    #[test]
    fn echoed_secret_is_redacted() {
        let e = answer(
            401,
            r#"{"error":"invalid_client s3cr3t-value","error_description":"secret s3cr3t-value is wrong","error_uri":"https://x/?s=s3cr3t-value"}"#,
        )
        .unwrap_err();
        let all = format!(
            "{} {:?} {} {:?} {:?}",
            e,
            e,
            e.code(),
            e.description(),
            e.uri()
        );
        assert!(!all.contains("s3cr3t-value"), "{all}");
        assert_eq!(e.description(), Some("secret [redacted] is wrong"));
    }

    #[test]
    fn long_server_text_is_truncated() {
        let long = "é".repeat(2000);
        let e = answer(
            400,
            &format!(r#"{{"error":"x","error_description":"{long}"}}"#),
        )
        .unwrap_err();
        let d = e.description().unwrap();
        assert!(d.len() <= MAX_TEXT + 3);
        assert!(d.ends_with('…'));
    }

    #[test]
    fn token_debug_hides_the_token() {
        let t = answer(200, r#"{"access_token":"abcdefghijklmnop"}"#).unwrap();
        let d = format!("{t:?}");
        assert!(d.contains("abcdef…"));
        assert!(!d.contains("abcdefghijklmnop"));
    }
}
