//! Turns the token endpoint's answer into a [`Token`] or an [`Error`]
//! (RFC 6749 §5.1 and §5.2), with no I/O.

use crate::config::ClientSecret;
use crate::encoding::{base64url_decode, parse_decimal};
use crate::json::{self, Field, NotAnObject};
#[allow(unused_imports)]
use crate::prelude::*;
use crate::Error;
use core::fmt;

/// The largest response body read, in bytes (1 MiB).
pub const MAX_BODY_BYTES: usize = 1 << 20;
/// Lifetime assumed when the response has neither `expires_in` nor a JWT `exp`
/// (as the official DataCosmos SDK does).
pub const DEFAULT_LIFETIME_SECONDS: f64 = 3600.0;
/// The longest lifetime believed: one year. A larger `expires_in` is capped.
pub const MAX_LIFETIME_SECONDS: f64 = 365.0 * 86_400.0;
/// The largest difference between the server's `Date` and the local clock that is
/// ignored when a lifetime comes from a JWT `exp` (see [`parse`]).
pub const MAX_CLOCK_SKEW_MS: f64 = 5_000.0;
/// The longest server text kept in an error.
const MAX_TEXT: usize = 1024;

/// An access token and what the client knows about it.
#[derive(Clone, PartialEq)]
pub struct Token {
    /// The access token: non-empty VSCHAR (RFC 6749 Appendix A.12).
    pub access_token: String,
    /// The token type: always `Bearer` (RFC 6750), whatever case the server used.
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
    /// The response's `Date` header in ms since the epoch
    /// ([`crate::retry::parse_http_date`]), `None` when absent or unreadable.
    pub date_ms: Option<f64>,
}

/// Interprets `answer`.
///
/// - A JSON object with a string `error` is [`Error::OAuth`], whatever the status.
/// - Any other non-2xx answer is [`Error::Http`].
/// - A 2xx answer must be a JSON object (RFC 8259, read by [`json::parse_object`]:
///   own members only) with a non-empty `access_token` of VSCHAR (RFC 6749
///   Appendix A.12: `0x20`–`0x7E`); `token_type`, where present, must be `Bearer` in
///   any case (RFC 6750; `DPoP`, `mac` and others are refused); `scope` must be a
///   string where present, and `expires_in` a non-negative number or numeric string.
///   Else [`Error::InvalidResponse`].
///
/// Lifetime: `expires_in` counted from [`Answer::sent_at_ms`], but never past the JWT
/// `exp` where the `Date` header is within [`MAX_CLOCK_SKEW_MS`]; without it the JWT
/// `exp` claim, corrected for clock skew: when the `Date` header is more than
/// [`MAX_CLOCK_SKEW_MS`] off `sent_at_ms`, the token expires at
/// `sent_at + (exp − Date)`; without either, one hour. Never before `sent_at`, never
/// after [`MAX_LIFETIME_SECONDS`]; a number too large for `f64` is the largest value
/// (RFC 9111 §1.2.2), so capped.
///
/// # Security
/// Server text in errors is passed through [`ClientSecret::redact`] and truncated.
pub fn parse(answer: Answer<'_>, secret: &ClientSecret) -> Result<Token, Error> {
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
    let obj = match json::parse_object(text) {
        Ok(obj) => obj,
        Err(_) if !success => return Err(Error::Http { status }),
        Err(NotAnObject::NotJson) => return Err(invalid("the body is not JSON")),
        Err(NotAnObject::OtherJson) => return Err(invalid("the body is not a JSON object")),
    };
    if let Field::Str(error) = obj.field("error") {
        let text = |name| obj.field(name).as_str().map(|s| clean(s, secret));
        return Err(Error::OAuth {
            error: secret.redact_code(&error).to_owned(),
            description: text("error_description"),
            uri: text("error_uri"),
            status,
        });
    }
    if !success {
        return Err(Error::Http { status });
    }
    let access_token = match obj.field("access_token") {
        Field::Str(s) if s.is_empty() => return Err(invalid("access_token is empty")),
        Field::Str(s) if crate::config::is_vschar(&s) => s,
        Field::Str(_) => {
            return Err(invalid(
                "access_token has characters outside RFC 6749 VSCHAR",
            ))
        }
        Field::Missing | Field::Null => return Err(invalid("access_token is missing")),
        _ => return Err(invalid("access_token is not a string")),
    };
    match obj.field("token_type") {
        Field::Missing | Field::Null => {}
        Field::Str(t) if t.eq_ignore_ascii_case("bearer") => {}
        Field::Str(t) => return Err(invalid(unsupported_token_type(&t))),
        _ => return Err(invalid("token_type is not a string")),
    }
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
        Field::Bool(_) | Field::Other => return Err(invalid("expires_in is not a number")),
    };
    let sent = answer.sent_at_ms;
    let latest = sent + MAX_LIFETIME_SECONDS * 1000.0;
    let expires_at_ms = match lifetime_s {
        Some(n) if n.is_nan() || n < 0.0 => return Err(invalid("expires_in is negative")),
        Some(n) => {
            let at = sent + n.min(MAX_LIFETIME_SECONDS) * 1000.0;
            // Auth0's exp is its iat (whole seconds, rounded down) + expires_in: counted
            // from `sent`, expires_in can end up to a second after it. Where the Date
            // header shows the clocks agree, the JWT exp can only bring expiry forward.
            match (jwt_exp(&access_token), answer.date_ms) {
                (Some(exp_s), Some(date)) if (date - sent).abs() <= MAX_CLOCK_SKEW_MS => {
                    at.min(exp_s * 1000.0).max(sent)
                }
                _ => at,
            }
        }
        None => match jwt_exp(&access_token) {
            Some(exp_s) => {
                let exp_ms = exp_s * 1000.0;
                let at = match answer.date_ms {
                    Some(date) if crate::num::abs(date - sent) > MAX_CLOCK_SKEW_MS => {
                        sent + (exp_ms - date)
                    }
                    _ => exp_ms,
                };
                at.max(sent).min(latest)
            }
            None => sent + DEFAULT_LIFETIME_SECONDS * 1000.0,
        },
    };
    Ok(Token {
        access_token,
        token_type: "Bearer".to_owned(),
        obtained_at_ms: sent,
        expires_at_ms,
        scope,
    })
}

/// The reason for refusing a `token_type` other than `Bearer` (a fixed text: the
/// server's value is not echoed).
fn unsupported_token_type(token_type: &str) -> &'static str {
    const KNOWN: [(&str, &str); 3] = [
        ("DPoP", "token_type DPoP is not supported; only Bearer"),
        ("mac", "token_type mac is not supported; only Bearer"),
        ("N_A", "token_type N_A is not supported; only Bearer"),
    ];
    KNOWN
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case(token_type))
        .map_or("token_type is not supported; only Bearer", |(_, why)| why)
}

/// The `exp` claim (seconds since the epoch) of a JWT, if `token` is one; `inf`
/// where it is too large for `f64`. The signature is not checked: the client only
/// uses it as a renewal hint.
pub fn jwt_exp(token: &str) -> Option<f64> {
    let mut parts = token.split('.');
    let (_, payload, _) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    let bytes = base64url_decode(payload)?;
    let text = core::str::from_utf8(&bytes).ok()?;
    match json::parse_object(text).ok()?.field("exp") {
        Field::Num(n) if n > 0.0 => Some(n),
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

    const T0: f64 = 1_700_000_000_000.0;

    fn answer(status: u16, body: &str) -> Result<Token, Error> {
        dated(status, body, None)
    }

    fn dated(status: u16, body: &str, date_ms: Option<f64>) -> Result<Token, Error> {
        parse(
            Answer {
                status,
                body: Some(body),
                sent_at_ms: T0,
                date_ms,
            },
            &ClientSecret::new("s3cr3t-value"),
        )
    }

    fn reason(e: Error) -> &'static str {
        match e {
            Error::InvalidResponse {
                status: 200,
                reason,
            } => reason,
            other => panic!("not an invalid_response on 200: {other:?}"),
        }
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
    fn token_type_must_be_bearer_in_any_case() {
        for ok in [
            r#""Bearer""#,
            r#""bearer""#,
            r#""BEARER""#,
            r#""bEaReR""#,
            "null",
        ] {
            let t = answer(200, &format!(r#"{{"access_token":"x","token_type":{ok}}}"#)).unwrap();
            assert_eq!(t.token_type, "Bearer", "{ok}");
        }
        let t = answer(200, r#"{"access_token":"x"}"#).unwrap();
        assert_eq!(t.token_type, "Bearer");
        for (bad, why) in [
            ("DPoP", "token_type DPoP is not supported; only Bearer"),
            ("dpop", "token_type DPoP is not supported; only Bearer"),
            ("mac", "token_type mac is not supported; only Bearer"),
            ("MAC", "token_type mac is not supported; only Bearer"),
            ("N_A", "token_type N_A is not supported; only Bearer"),
            ("Basic", "token_type is not supported; only Bearer"),
            ("Bearer ", "token_type is not supported; only Bearer"),
            (" Bearer", "token_type is not supported; only Bearer"),
            ("Bearerx", "token_type is not supported; only Bearer"),
            ("", "token_type is not supported; only Bearer"),
            ("Bear er", "token_type is not supported; only Bearer"),
            ("bearer\\u0000", "token_type is not supported; only Bearer"),
            ("s3cr3t-value", "token_type is not supported; only Bearer"),
        ] {
            let e = answer(
                200,
                &format!(r#"{{"access_token":"x","token_type":"{bad}"}}"#),
            );
            assert_eq!(reason(e.unwrap_err()), why, "{bad}");
        }
        for bad in ["5", "true", "[\"Bearer\"]", "{}"] {
            let e = answer(
                200,
                &format!(r#"{{"access_token":"x","token_type":{bad}}}"#),
            );
            assert_eq!(
                reason(e.unwrap_err()),
                "token_type is not a string",
                "{bad}"
            );
        }
    }

    #[test]
    fn access_token_must_be_vschar() {
        let vschar: String = (0x20u8..=0x7e).map(char::from).collect();
        let literal = vschar.replace('\\', "\\\\").replace('"', "\\\"");
        let t = answer(200, &format!(r#"{{"access_token":"{literal}"}}"#)).unwrap();
        assert_eq!(t.access_token, vschar);
        for ok in [" ", "~", "a b", "eyJ.a-b_c.d~+/="] {
            let t = answer(200, &format!(r#"{{"access_token":"{ok}"}}"#)).unwrap();
            assert_eq!(t.access_token, ok);
        }
        for bad in [
            "\\u001f",
            "\\u007f",
            "tok\\r\\nX-Injected: 1",
            "tok\\n",
            "tok\\r",
            "tok\\u0000",
            "tok\\t",
            "tok\\u0080",
            "tok\\u00e9",
            "tëk",
            "tok😀",
            "tok\\ud800",
        ] {
            let e = answer(200, &format!(r#"{{"access_token":"{bad}"}}"#)).unwrap_err();
            assert_eq!(
                reason(e),
                "access_token has characters outside RFC 6749 VSCHAR",
                "{bad}"
            );
        }
        let e = answer(200, r#"{"access_token":""}"#).unwrap_err();
        assert_eq!(reason(e), "access_token is empty");
    }

    fn lifetime_ms(v: &str) -> Result<f64, Error> {
        answer(200, &format!(r#"{{"access_token":"x","expires_in":{v}}}"#))
            .map(|t| t.expires_at_ms - T0)
    }

    #[test]
    fn expires_in_forms() {
        assert_eq!(lifetime_ms("3600").unwrap(), 3_600_000.0);
        assert_eq!(lifetime_ms(r#""120""#).unwrap(), 120_000.0);
        assert_eq!(lifetime_ms(r#"" 7 ""#).unwrap(), 7_000.0);
        assert_eq!(lifetime_ms("0").unwrap(), 0.0);
        assert_eq!(lifetime_ms("1.5").unwrap(), 1_500.0);
        assert_eq!(lifetime_ms("36e2").unwrap(), 3_600_000.0);
        assert_eq!(lifetime_ms("null").unwrap(), 3_600_000.0);
        for bad in [
            "-1",
            "-1e400",
            r#""soon""#,
            "true",
            "false",
            "[1]",
            "{}",
            r#""""#,
            r#""-5""#,
            r#""1e3""#,
            r#""0x10""#,
            r#""Infinity""#,
            r#""NaN""#,
        ] {
            let e = lifetime_ms(bad).unwrap_err();
            assert_eq!(e.code(), "invalid_response", "{bad}");
            assert_eq!(e.status(), Some(200));
        }
    }

    #[test]
    fn overflowing_expires_in_is_the_largest() {
        let year_ms = MAX_LIFETIME_SECONDS * 1000.0;
        assert_eq!(lifetime_ms("31536000").unwrap(), year_ms);
        assert_eq!(lifetime_ms("31536001").unwrap(), year_ms);
        assert_eq!(lifetime_ms("31535999").unwrap(), year_ms - 1000.0);
        for big in [
            "18446744073709551615",
            "18446744073709551616",
            "99999999999999999999999",
            "1e300",
            "1e400",
            "1E999999999",
            r#""18446744073709551616""#,
            r#""99999999999999999999999""#,
        ] {
            assert_eq!(lifetime_ms(big).unwrap(), year_ms, "{big}");
        }
        let huge = "9".repeat(400);
        assert_eq!(lifetime_ms(&huge).unwrap(), year_ms);
        assert_eq!(lifetime_ms(&format!(r#""{huge}""#)).unwrap(), year_ms);
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
        // expires_in always wins over exp.
        let t = answer(
            200,
            &format!(r#"{{"access_token":"{tok}","expires_in":60}}"#),
        )
        .unwrap();
        assert_eq!(t.expires_at_ms, T0 + 60_000.0);
        // Not a JWT, a JWT without exp or with a bad one, a non-JSON payload: one hour.
        for tok in [
            "opaque",
            &jwt(r#"{"sub":"x"}"#),
            &jwt(r#"{"exp":"1800000000"}"#),
            &jwt(r#"{"exp":-5}"#),
            &jwt(r#"{"exp":0}"#),
            &jwt(r#"{"exp":1e3,}"#),
            &jwt("nope"),
            "a.b.c.d",
        ] {
            let t = answer(200, &format!(r#"{{"access_token":"{tok}"}}"#)).unwrap();
            assert_eq!(t.expires_at_ms, T0 + 3_600_000.0, "{tok}");
        }
        // The payload's own members only; the last duplicate wins.
        assert_eq!(jwt_exp(&jwt(r#"{"__proto__":{"exp":5}}"#)), None);
        assert_eq!(jwt_exp(&jwt(r#"{"exp":5,"exp":7}"#)), Some(7.0));
    }

    #[test]
    fn overflowing_jwt_exp_is_the_largest() {
        let latest = T0 + MAX_LIFETIME_SECONDS * 1000.0;
        let tok = jwt(r#"{"exp":1e400}"#);
        assert_eq!(jwt_exp(&tok), Some(f64::INFINITY));
        for exp in [
            "1e400",
            "18446744073709551616",
            "99999999999999999999999",
            "1e999999999",
        ] {
            let tok = jwt(&format!(r#"{{"exp":{exp}}}"#));
            assert!(jwt_exp(&tok).unwrap() >= 1.8e19, "{exp}");
            let t = answer(200, &format!(r#"{{"access_token":"{tok}"}}"#)).unwrap();
            assert_eq!(t.expires_at_ms, latest, "{exp}");
            let t = dated(
                200,
                &format!(r#"{{"access_token":"{tok}"}}"#),
                Some(T0 - 60_000.0),
            )
            .unwrap();
            assert_eq!(t.expires_at_ms, latest, "{exp} with skew");
        }
        let one_year_on = T0 / 1000.0 + MAX_LIFETIME_SECONDS;
        let tok = jwt(&format!(r#"{{"exp":{}}}"#, one_year_on + 1.0));
        let t = answer(200, &format!(r#"{{"access_token":"{tok}"}}"#)).unwrap();
        assert_eq!(t.expires_at_ms, latest);
    }

    #[test]
    fn jwt_exp_is_corrected_for_clock_skew() {
        let exp_s = T0 / 1000.0 + 900.0;
        let tok = jwt(&format!(r#"{{"exp":{exp_s}}}"#));
        let body = format!(r#"{{"access_token":"{tok}"}}"#);
        let at = |date_ms| dated(200, &body, date_ms).unwrap().expires_at_ms;
        // Within 5 s either way (or no Date): exp as it is.
        for date in [None, Some(T0), Some(T0 + 5_000.0), Some(T0 - 5_000.0)] {
            assert_eq!(at(date), T0 + 900_000.0, "{date:?}");
        }
        // The server's clock 10 min ahead: exp is 5 min after its Date, so 5 min here.
        assert_eq!(at(Some(T0 + 600_000.0)), T0 + 300_000.0);
        // Just past the threshold, both ways.
        assert_eq!(at(Some(T0 + 5_001.0)), T0 + 900_000.0 - 5_001.0);
        assert_eq!(at(Some(T0 - 5_001.0)), T0 + 900_000.0 + 5_001.0);
        // Server 2 h behind: 2 h 15 min here.
        assert_eq!(at(Some(T0 - 7_200_000.0)), T0 + 8_100_000.0);
        // A server so far ahead that exp is already past by its clock: expired at once.
        assert_eq!(at(Some(T0 + 3_600_000.0)), T0);
        // A Date far in the future (an overflowing year): expired at once, no panic.
        assert_eq!(at(Some(f64::INFINITY)), T0);
        assert_eq!(at(Some(f64::NAN)), T0 + 900_000.0);
        // expires_in wins over exp whatever the Date says.
        let body = format!(r#"{{"access_token":"{tok}","expires_in":60}}"#);
        let t = dated(200, &body, Some(T0 + 600_000.0)).unwrap();
        assert_eq!(t.expires_at_ms, T0 + 60_000.0);
        for date in [None, Some(T0), Some(T0 - 4_000.0)] {
            assert_eq!(
                dated(200, &body, date).unwrap().expires_at_ms,
                T0 + 60_000.0
            );
        }
        // ... except that, with the clocks in agreement, it never ends after exp:
        // Auth0 counts exp from its iat in whole seconds, rounded down.
        let tok = jwt(&format!(r#"{{"exp":{}}}"#, T0 / 1000.0 + 59.0));
        let body = format!(r#"{{"access_token":"{tok}","expires_in":60}}"#);
        assert_eq!(
            dated(200, &body, Some(T0)).unwrap().expires_at_ms,
            T0 + 59_000.0
        );
        assert_eq!(
            dated(200, &body, Some(T0 + 600_000.0))
                .unwrap()
                .expires_at_ms,
            T0 + 60_000.0
        );
        assert_eq!(
            dated(200, &body, None).unwrap().expires_at_ms,
            T0 + 60_000.0
        );
        // Without exp the Date does not matter: one hour.
        let t = dated(200, r#"{"access_token":"opaque"}"#, Some(T0 + 600_000.0)).unwrap();
        assert_eq!(t.expires_at_ms, T0 + 3_600_000.0);
    }

    #[test]
    fn only_own_members_count() {
        for body in [
            r#"{"__proto__":{"access_token":"polluted"}}"#,
            r#"{"constructor":{"prototype":{"access_token":"polluted"}}}"#,
            r#"{"nested":{"access_token":"polluted"}}"#,
        ] {
            let e = answer(200, body).unwrap_err();
            assert_eq!(reason(e), "access_token is missing", "{body}");
        }
        let t = answer(
            200,
            r#"{"access_token":"first","__proto__":null,"access_token":"last"}"#,
        )
        .unwrap();
        assert_eq!(t.access_token, "last");
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
                Answer {
                    status,
                    body: None,
                    sent_at_ms: T0,
                    date_ms: None,
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
