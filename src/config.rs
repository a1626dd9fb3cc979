//! Validated client configuration.
//!
//! [`ConfigInput`] is what a caller gives (every field optional, as in JavaScript);
//! [`Config::new`] checks it once and fills in the DataCosmos defaults, so the rest of
//! the client works only with valid values.

use crate::encoding::{form_urlencode, form_urlencode_into};
#[allow(unused_imports)]
use crate::prelude::*;
use crate::redact::Redactor;
use crate::Error;
use core::fmt;

/// The DataCosmos token endpoint (an Auth0 tenant).
pub const DEFAULT_TOKEN_URL: &str = "https://login.open-cosmos.com/oauth/token";
/// The audience DataCosmos APIs expect in their access tokens.
pub const DEFAULT_AUDIENCE: &str = "https://beeapp.open-cosmos.com";
/// Default time before expiry at which a token is renewed (the official Python SDK's 60 s).
pub const DEFAULT_REFRESH_LEEWAY_SECONDS: f64 = 60.0;
/// Default limit for one attempt (request and response body).
pub const DEFAULT_TIMEOUT_MS: u32 = 10_000;
/// Default number of retries after the first attempt.
pub const DEFAULT_MAX_RETRIES: u32 = 2;
/// Default time during which an authentication failure is answered without a request.
pub const DEFAULT_NEGATIVE_CACHE_SECONDS: f64 = 30.0;
/// The most retries a config may ask for.
pub const MAX_RETRIES_LIMIT: u32 = 10;
/// The longest per-attempt timeout a config may ask for (JS timers hold 2^31-1 ms).
pub const MAX_TIMEOUT_MS: u32 = 600_000;

/// The client secret. Its `Debug` prints `ClientSecret([redacted])`; it has no
/// `PartialEq` (comparing secrets is not something the client does by accident).
///
/// # Security
/// The value is only read to build the request ([`ClientSecret::expose`]) and to
/// [`redact`](ClientSecret::redact) text that might echo it, through one
/// [`Redactor`] compiled when the client id is known.
#[derive(Clone)]
pub struct ClientSecret {
    secret: String,
    /// For the forms that include it (compiled with the secret when text is redacted:
    /// only on errors, so constructing a client compiles nothing).
    client_id: String,
}

impl ClientSecret {
    /// Wraps a secret.
    pub fn new(secret: impl Into<String>) -> Self {
        ClientSecret {
            secret: secret.into(),
            client_id: String::new(),
        }
    }

    /// The secret itself, for the request only.
    pub fn expose(&self) -> &str {
        &self.secret
    }

    /// Also redact the forms that include `client_id` (the HTTP Basic credential and
    /// base64 of `id:secret`), which some servers echo back.
    fn bind_client_id(&mut self, client_id: &str) {
        self.client_id = client_id.to_owned();
    }

    fn redactor(&self) -> Redactor {
        Redactor::new(&self.client_id, &self.secret)
    }

    /// Whether `other` is the same secret (the one-shot `getToken` cache reuses a
    /// client only for the same secret).
    pub fn same_as(&self, other: &ClientSecret) -> bool {
        self.secret == other.secret
    }

    /// `text` with every form of the secret replaced by `[redacted]`
    /// (see [`Redactor::text`]).
    pub fn redact(&self, text: &str) -> String {
        self.redactor().text(text)
    }

    /// A server's `error` code, safe to keep (see [`Redactor::code`]).
    pub fn redact_code<'a>(&self, code: &'a str) -> &'a str {
        self.redactor().code(code)
    }
}

/// The HTTP Basic credential: base64 of the form-urlencoded `id:secret` (RFC 6749 §2.3.1).
pub(crate) fn basic_credential(client_id: &str, secret: &str) -> String {
    let mut pair = form_urlencode(client_id);
    pair.push(':');
    form_urlencode_into(&mut pair, secret);
    crate::encoding::base64_encode(pair.as_bytes())
}

impl fmt::Debug for ClientSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ClientSecret([redacted])")
    }
}

/// How the client authenticates at the token endpoint (RFC 6749 §2.3.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum AuthMethod {
    /// `client_id` and `client_secret` in the request body (Auth0's default).
    #[default]
    ClientSecretPost,
    /// HTTP Basic with the form-urlencoded id and secret.
    ClientSecretBasic,
    /// `client_id` and `client_assertion_type` in the body; the driver adds a fresh
    /// `client_assertion` signed with the private key to each attempt (RFC 7523 §2.2).
    PrivateKeyJwt,
    /// A public client (RFC 7591 §2 `token_endpoint_auth_method` `none`): only
    /// `client_id` in the body. Used by user login (authorization code with PKCE,
    /// RFC 7636, then refresh tokens), whose driver supplies each request's grant.
    None,
}

/// The token request's body format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum BodyEncoding {
    /// `application/x-www-form-urlencoded`, as RFC 6749 §4.4.2 specifies.
    #[default]
    Form,
    /// `application/json`, as in the DataCosmos curl example (Auth0 accepts both).
    Json,
}

/// The `audience` option: absent (DataCosmos default), explicitly omitted, or a value.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub enum Audience {
    /// Not given: [`DEFAULT_AUDIENCE`].
    #[default]
    Default,
    /// `null`: no `audience` parameter is sent.
    Omit,
    /// This value.
    Value(String),
}

/// A configuration as given, before validation. `None` means "not given".
#[derive(Clone, Debug, Default)]
pub struct ConfigInput {
    /// The client id.
    pub client_id: Option<String>,
    /// The client secret.
    pub client_secret: Option<ClientSecret>,
    /// See [`Audience`].
    pub audience: Audience,
    /// The token endpoint URL.
    pub token_url: Option<String>,
    /// The `scope` parameter.
    pub scope: Option<String>,
    /// More body parameters (e.g. RFC 8707 `resource`).
    pub extra_params: Option<Vec<(String, String)>>,
    /// `client_secret_post` or `client_secret_basic`.
    pub auth_method: Option<String>,
    /// `form` or `json`.
    pub body_encoding: Option<String>,
    /// Seconds before expiry at which a token is renewed.
    pub refresh_leeway_seconds: Option<f64>,
    /// Per-attempt timeout in milliseconds.
    pub timeout_ms: Option<f64>,
    /// Retries after the first attempt.
    pub max_retries: Option<f64>,
    /// Seconds during which `invalid_client`, `unauthorized_client`, `access_denied` and `invalid_grant`
    /// are answered without a request.
    pub negative_cache_seconds: Option<f64>,
    /// A static access token (`fromEnv` only): used when neither a client id nor a
    /// secret is given.
    pub access_token: Option<String>,
}

impl ConfigInput {
    /// `self` with every field that `overrides` gives replaced by it.
    pub fn merged(mut self, overrides: ConfigInput) -> ConfigInput {
        macro_rules! take {
            ($($f:ident),*) => {$( if overrides.$f.is_some() { self.$f = overrides.$f; } )*};
        }
        take!(
            client_id,
            client_secret,
            token_url,
            scope,
            extra_params,
            auth_method,
            body_encoding,
            refresh_leeway_seconds,
            timeout_ms,
            max_retries,
            negative_cache_seconds,
            access_token
        );
        if overrides.audience != Audience::Default {
            self.audience = overrides.audience;
        }
        self
    }
}

/// A validated configuration: made only by [`Config::new`] (or
/// [`Config::datacosmos`]), so every value is valid; read it through its getters.
#[derive(Clone, Debug)]
pub struct Config {
    /// The client id (non-empty).
    client_id: String,
    /// The client secret (non-empty).
    client_secret: ClientSecret,
    /// The `audience` parameter, if sent.
    audience: Option<String>,
    /// The token endpoint: `https:`, or `http:` on a loopback host.
    token_url: String,
    /// The `scope` parameter, if sent.
    scope: Option<String>,
    /// More body parameters, in the order given.
    extra_params: Vec<(String, String)>,
    /// Client authentication.
    auth_method: AuthMethod,
    /// Body format.
    body_encoding: BodyEncoding,
    /// Renewal margin before expiry, in milliseconds.
    refresh_leeway_ms: f64,
    /// Per-attempt timeout in milliseconds.
    timeout_ms: u32,
    /// Retries after the first attempt.
    max_retries: u32,
    /// The negative cache's duration, in milliseconds.
    negative_cache_ms: f64,
    /// A static token, served as it is until its JWT `exp` (then `client_id` and
    /// `client_secret` are empty and nothing is ever sent).
    access_token: Option<String>,
}

impl Config {
    /// The client id (non-empty).
    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    /// The client secret.
    pub fn client_secret(&self) -> &ClientSecret {
        &self.client_secret
    }

    /// The `audience` parameter, if sent.
    pub fn audience(&self) -> Option<&str> {
        self.audience.as_deref()
    }

    /// The token endpoint: `https:`, or `http:` on a loopback host.
    pub fn token_url(&self) -> &str {
        &self.token_url
    }

    /// The `scope` parameter, if sent.
    pub fn scope(&self) -> Option<&str> {
        self.scope.as_deref()
    }

    /// More body parameters, in the order given.
    pub fn extra_params(&self) -> &[(String, String)] {
        &self.extra_params
    }

    /// Client authentication (RFC 6749 §2.3.1).
    pub fn auth_method(&self) -> AuthMethod {
        self.auth_method
    }

    /// Body format.
    pub fn body_encoding(&self) -> BodyEncoding {
        self.body_encoding
    }

    /// Renewal margin before expiry, in milliseconds.
    pub fn refresh_leeway_ms(&self) -> f64 {
        self.refresh_leeway_ms
    }

    /// Per-attempt timeout in milliseconds.
    pub fn timeout_ms(&self) -> u32 {
        self.timeout_ms
    }

    /// Retries after the first attempt.
    pub fn max_retries(&self) -> u32 {
        self.max_retries
    }

    /// The negative cache's duration, in milliseconds.
    pub fn negative_cache_ms(&self) -> f64 {
        self.negative_cache_ms
    }

    /// The static token (`DATACOSMOS_USER_TOKEN`, `DATACOSMOS_ACCESS_TOKEN`), if this
    /// config serves one instead of asking a token endpoint.
    pub fn access_token(&self) -> Option<&str> {
        self.access_token.as_deref()
    }
}

// The limits are spelled out in their messages (no integer formatting in the wasm).
const _: () = assert!(MAX_TIMEOUT_MS == 600_000 && MAX_RETRIES_LIMIT == 10);

/// Body parameters the client sets itself; `extraParams` may not set them.
const RESERVED_PARAMS: [&str; 7] = [
    "grant_type",
    "client_id",
    "client_secret",
    "audience",
    "scope",
    "client_assertion",
    "client_assertion_type",
];

impl Config {
    /// A config with the DataCosmos defaults for this id and secret.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] when the id or the secret is empty.
    pub fn datacosmos(
        client_id: impl Into<String>,
        client_secret: impl Into<String>,
    ) -> Result<Config, Error> {
        Config::new(ConfigInput {
            client_id: Some(client_id.into()),
            client_secret: Some(ClientSecret::new(client_secret)),
            ..ConfigInput::default()
        })
    }

    /// Validates `input` and applies the defaults.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] naming the first problem; the message never holds the
    /// secret.
    pub fn new(input: ConfigInput) -> Result<Config, Error> {
        // A static token only without client credentials (they win; one of the two is
        // "required" below).
        let static_token = input.client_id.is_none() && input.client_secret.is_none();
        let access_token = input.access_token.filter(|_| static_token);
        if access_token.as_deref().is_some_and(|t| !is_vschar(t)) {
            // The text of the token response's check (one string in the wasm).
            return Err(Error::config(
                "access_token has characters outside RFC 6749 VSCHAR",
            ));
        }
        let static_token = access_token.is_some();
        let client_id = match input.client_id {
            Some(id) if !id.is_empty() => id,
            Some(_) => return Err(Error::config("clientId must not be empty")),
            None if static_token => String::new(),
            None => return Err(Error::config("clientId is required")),
        };
        let mut client_secret = match input.client_secret {
            Some(s) if !s.expose().is_empty() => s,
            Some(_) => return Err(Error::config("clientSecret must not be empty")),
            None if static_token
                || matches!(
                    input.auth_method.as_deref(),
                    Some("private_key_jwt" | "none")
                ) =>
            {
                ClientSecret::new("")
            }
            None => return Err(Error::config("clientSecret is required")),
        };
        client_secret.bind_client_id(&client_id);
        let audience = match input.audience {
            Audience::Default => Some(DEFAULT_AUDIENCE.to_owned()),
            Audience::Omit => None,
            Audience::Value(a) if a.is_empty() => {
                return Err(Error::config(
                    "audience must not be empty (use null to send none)",
                ))
            }
            Audience::Value(a) => Some(a),
        };
        let token_url = match input.token_url {
            Some(u) => {
                check_token_url(&u)?;
                u
            }
            None => DEFAULT_TOKEN_URL.to_owned(),
        };
        if input.scope.as_deref() == Some("") {
            return Err(Error::config("scope must not be empty"));
        }
        let extra_params = input.extra_params.unwrap_or_default();
        for (name, _) in &extra_params {
            if name.is_empty() {
                return Err(Error::config("extraParams has an empty name"));
            }
            if RESERVED_PARAMS.contains(&name.as_str()) {
                return Err(Error::config(
                    "extraParams may not set `".to_owned() + name + "`; use the dedicated option",
                ));
            }
        }
        let auth_method = match input.auth_method.as_deref() {
            None | Some("client_secret_post") => AuthMethod::ClientSecretPost,
            Some("client_secret_basic") => AuthMethod::ClientSecretBasic,
            Some("private_key_jwt") => AuthMethod::PrivateKeyJwt,
            Some("none") => AuthMethod::None,
            Some(_) => {
                return Err(Error::config(
                    "authMethod must be \"client_secret_post\", \"client_secret_basic\", \"private_key_jwt\" or \"none\"",
                ))
            }
        };
        let body_encoding = match input.body_encoding.as_deref() {
            None | Some("form") => BodyEncoding::Form,
            Some("json") => BodyEncoding::Json,
            Some(_) => return Err(Error::config("bodyEncoding must be \"form\" or \"json\"")),
        };
        let leeway = input
            .refresh_leeway_seconds
            .unwrap_or(DEFAULT_REFRESH_LEEWAY_SECONDS);
        if !(leeway.is_finite() && (0.0..=86_400.0).contains(&leeway)) {
            return Err(Error::config(
                "refreshLeewaySeconds must be a number from 0 to 86400",
            ));
        }
        let timeout = input.timeout_ms.unwrap_or(f64::from(DEFAULT_TIMEOUT_MS));
        if !(timeout.is_finite() && timeout >= 1.0 && timeout <= f64::from(MAX_TIMEOUT_MS)) {
            return Err(Error::config("timeoutMs must be a number from 1 to 600000"));
        }
        let retries = input.max_retries.unwrap_or(f64::from(DEFAULT_MAX_RETRIES));
        if !(crate::num::fract(retries) == 0.0
            && (0.0..=f64::from(MAX_RETRIES_LIMIT)).contains(&retries))
        {
            return Err(Error::config(
                "maxRetries must be a whole number from 0 to 10",
            ));
        }
        let negative = input
            .negative_cache_seconds
            .unwrap_or(DEFAULT_NEGATIVE_CACHE_SECONDS);
        if !(negative.is_finite() && (0.0..=86_400.0).contains(&negative)) {
            return Err(Error::config(
                "negativeCacheSeconds must be a number from 0 to 86400",
            ));
        }
        Ok(Config {
            client_id,
            client_secret,
            audience,
            token_url,
            scope: input.scope,
            extra_params,
            auth_method,
            body_encoding,
            refresh_leeway_ms: leeway * 1000.0,
            timeout_ms: timeout as u32,
            max_retries: retries as u32,
            negative_cache_ms: negative * 1000.0,
            access_token,
        })
    }
}

/// Whether `s` is a non-empty RFC 6749 VSCHAR string (Appendix A.12): an access token.
pub fn is_vschar(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| (0x20..=0x7e).contains(&b))
}

/// Checks a token endpoint URL: absolute `https:` (or `http:` for a loopback host),
/// no user info, no fragment (RFC 6749 §3.2), no white space, backslashes or control
/// characters (where URL parsers disagree).
pub fn check_token_url(url: &str) -> Result<(), Error> {
    let bad = |why: &str| Err(Error::config("tokenUrl ".to_owned() + why));
    // ASCII checks only: Unicode tables would cost kilobytes of wasm, and a non-ASCII
    // space in a host fails the runtime's own URL parsing anyway.
    if url
        .bytes()
        .any(|b| b.is_ascii_whitespace() || b.is_ascii_control() || b == b'\\')
    {
        return bad("must not contain white space, control characters or backslashes");
    }
    if url.contains('#') {
        return bad("must not contain a fragment (RFC 6749 §3.2)");
    }
    let lower = url.to_ascii_lowercase();
    let (secure, rest) = if let Some(r) = lower.strip_prefix("https://") {
        (true, r)
    } else if let Some(r) = lower.strip_prefix("http://") {
        (false, r)
    } else {
        return bad("must be an absolute https: URL");
    };
    let authority = rest.split(['/', '?']).next().unwrap_or("");
    if authority.contains('@') {
        return bad("must not contain user info");
    }
    let Some((host, port)) = split_host_port(authority) else {
        return bad("has an invalid host");
    };
    if host.is_empty() {
        return bad("has no host");
    }
    if let Some(p) = port {
        if p.is_empty() || p.len() > 5 || !p.bytes().all(|b| b.is_ascii_digit()) {
            return bad("has an invalid port");
        }
        if crate::encoding::parse_digits(p).map_or(true, |n| n > 65535) {
            return bad("has an invalid port");
        }
    }
    if !secure && !is_loopback_host(host) {
        return bad("must use https: (http: is allowed only for localhost, 127.0.0.0/8 and [::1])");
    }
    Ok(())
}

fn split_host_port(authority: &str) -> Option<(&str, Option<&str>)> {
    if let Some(rest) = authority.strip_prefix('[') {
        // `get` and `split_once`, not indexing: a slicing panic would pull its
        // message formatting (char `Debug`, Unicode tables) into the wasm.
        let (inner, after) = rest.split_once(']')?;
        let host = authority.get(..inner.len() + 2)?;
        match after {
            "" => Some((host, None)),
            p => Some((host, Some(p.strip_prefix(':')?))),
        }
    } else {
        match authority.split_once(':') {
            Some((h, p)) => Some((h, Some(p))),
            None => Some((authority, None)),
        }
    }
}

/// `localhost`, `*.localhost`, a dotted-quad in 127.0.0.0/8, or `[::1]` (lower case).
pub fn is_loopback_host(host: &str) -> bool {
    if host == "localhost" || (host.ends_with(".localhost") && host.len() > ".localhost".len()) {
        return true;
    }
    if host == "[::1]" || host == "[0:0:0:0:0:0:0:1]" {
        return true;
    }
    let mut count = 0;
    host.split('.').all(|o| {
        count += 1;
        count <= 4
            && (count > 1 || o == "127")
            && !o.is_empty()
            && o.len() <= 3
            && o.bytes().all(|b| b.is_ascii_digit())
            && o.len() <= 3
            && crate::encoding::parse_digits(o).is_some_and(|n| n <= 255)
    }) && count == 4
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input() -> ConfigInput {
        ConfigInput {
            client_id: Some("id".into()),
            client_secret: Some(ClientSecret::new("s3cr3t")),
            ..ConfigInput::default()
        }
    }

    fn reason(r: Result<Config, Error>) -> String {
        match r {
            Err(Error::InvalidConfig { reason }) => reason,
            other => panic!("expected invalid_config, got {other:?}"),
        }
    }

    #[test]
    fn defaults_are_datacosmos() {
        let c = Config::new(input()).unwrap();
        assert_eq!(c.token_url(), DEFAULT_TOKEN_URL);
        assert_eq!(c.audience(), Some(DEFAULT_AUDIENCE));
        assert_eq!(c.auth_method(), AuthMethod::ClientSecretPost);
        assert_eq!(c.body_encoding(), BodyEncoding::Form);
        assert_eq!(c.refresh_leeway_ms(), 60_000.0);
        assert_eq!(c.timeout_ms(), 10_000);
        assert_eq!(c.max_retries(), 2);
        let d = Config::datacosmos("id", "s3cr3t").unwrap();
        assert_eq!(format!("{d:?}"), format!("{c:?}"));
        assert!(d.client_secret.same_as(c.client_secret()));
        assert!(Config::datacosmos("", "s").is_err());
    }

    #[test]
    fn audience_can_be_omitted_or_replaced() {
        let c = Config::new(ConfigInput {
            audience: Audience::Omit,
            ..input()
        })
        .unwrap();
        assert_eq!(c.audience(), None);
        let c = Config::new(ConfigInput {
            audience: Audience::Value("api://x".into()),
            ..input()
        })
        .unwrap();
        assert_eq!(c.audience(), Some("api://x"));
        assert!(reason(Config::new(ConfigInput {
            audience: Audience::Value(String::new()),
            ..input()
        }))
        .contains("audience"));
    }

    #[test]
    fn required_fields() {
        assert_eq!(
            reason(Config::new(ConfigInput {
                client_id: None,
                ..input()
            })),
            "clientId is required"
        );
        assert_eq!(
            reason(Config::new(ConfigInput {
                client_secret: None,
                ..input()
            })),
            "clientSecret is required"
        );
        assert_eq!(
            reason(Config::new(ConfigInput {
                client_secret: Some(ClientSecret::new("")),
                ..input()
            })),
            "clientSecret must not be empty"
        );
    }

    #[test]
    fn numbers_are_range_checked() {
        for (leeway, ok) in [
            (0.0, true),
            (86_400.0, true),
            (-1.0, false),
            (f64::NAN, false),
        ] {
            let r = Config::new(ConfigInput {
                refresh_leeway_seconds: Some(leeway),
                ..input()
            });
            assert_eq!(r.is_ok(), ok, "leeway {leeway}");
        }
        for (t, ok) in [
            (1.0, true),
            (0.0, false),
            (-5.0, false),
            (f64::INFINITY, false),
            (1e9, false),
        ] {
            let r = Config::new(ConfigInput {
                timeout_ms: Some(t),
                ..input()
            });
            assert_eq!(r.is_ok(), ok, "timeout {t}");
        }
        for (m, ok) in [
            (0.0, true),
            (10.0, true),
            (11.0, false),
            (1.5, false),
            (-1.0, false),
        ] {
            let r = Config::new(ConfigInput {
                max_retries: Some(m),
                ..input()
            });
            assert_eq!(r.is_ok(), ok, "retries {m}");
        }
    }

    #[test]
    fn enums_are_checked() {
        let c = Config::new(ConfigInput {
            auth_method: Some("client_secret_basic".into()),
            body_encoding: Some("json".into()),
            ..input()
        })
        .unwrap();
        assert_eq!(c.auth_method, AuthMethod::ClientSecretBasic);
        assert_eq!(c.body_encoding, BodyEncoding::Json);
        // private_key_jwt needs no secret (the driver signs with the private key).
        let c = Config::new(ConfigInput {
            auth_method: Some("private_key_jwt".into()),
            client_secret: None,
            ..input()
        })
        .unwrap();
        assert_eq!(c.auth_method, AuthMethod::PrivateKeyJwt);
        // A public client ("none") has no secret either.
        let c = Config::new(ConfigInput {
            auth_method: Some("none".into()),
            client_secret: None,
            ..input()
        })
        .unwrap();
        assert_eq!(c.auth_method, AuthMethod::None);
        assert!(reason(Config::new(ConfigInput {
            auth_method: Some("client_secret_jwt".into()),
            ..input()
        }))
        .contains("\"private_key_jwt\""));
        assert!(Config::new(ConfigInput {
            body_encoding: Some("xml".into()),
            ..input()
        })
        .is_err());
    }

    #[test]
    fn extra_params_cannot_override_the_grant() {
        for name in [
            "grant_type",
            "client_secret",
            "client_id",
            "audience",
            "scope",
            "client_assertion",
            "client_assertion_type",
            "",
        ] {
            let r = Config::new(ConfigInput {
                extra_params: Some(vec![(name.into(), "x".into())]),
                ..input()
            });
            assert!(r.is_err(), "{name}");
        }
        let c = Config::new(ConfigInput {
            extra_params: Some(vec![("resource".into(), "https://r".into())]),
            ..input()
        })
        .unwrap();
        assert_eq!(
            c.extra_params,
            vec![("resource".into(), "https://r".into())]
        );
    }

    #[test]
    fn token_urls() {
        let ok = [
            "https://login.open-cosmos.com/oauth/token",
            "HTTPS://Example.com:443/t?x=1",
            "http://localhost:8080/oauth/token",
            "http://LOCALHOST/t",
            "http://auth.localhost/t",
            "http://127.0.0.1:1/t",
            "http://127.255.0.9/t",
            "http://[::1]:9000/t",
            "http://[::1]",
        ];
        for u in ok {
            assert!(check_token_url(u).is_ok(), "{u}");
        }
        let bad = [
            "http://example.com/t",
            "http://localhost.evil.com/t",
            "http://128.0.0.1/t",
            "http://127.0.0.1.evil.com/t",
            "http://127.0.0.256/t",
            "http://127.1/t",
            "http://[::2]/t",
            "http://.localhost/t",
            "ftp://localhost/t",
            "//example.com/t",
            "/oauth/token",
            "https://user:pw@example.com/t",
            "http://localhost\\@evil.com/",
            "https://example.com/t#frag",
            "https://exa mple.com/t",
            "https://example.com:99999/t",
            "https://example.com:/t",
            "https://example.com:8a/t",
            "https:///t",
            "http://[::1/t",
            "",
        ];
        for u in bad {
            assert!(check_token_url(u).is_err(), "{u}");
        }
    }

    #[test]
    fn secret_debug_is_redacted() {
        let s = ClientSecret::new("hunter2");
        assert_eq!(format!("{s:?}"), "ClientSecret([redacted])");
        let c = Config::new(ConfigInput {
            client_secret: Some(s),
            ..input()
        })
        .unwrap();
        assert!(!format!("{c:?}").contains("hunter2"));
        assert!(!format!("{:?}", input()).contains("s3cr3t"));
    }

    #[test]
    fn redaction_covers_encoded_forms() {
        let s = ClientSecret::new("a b/c");
        assert_eq!(
            s.redact("x a b/c y a+b%2Fc z a%20b%2Fc"),
            "x [redacted] y [redacted] z [redacted]"
        );
        assert_eq!(s.redact("nothing here"), "nothing here");
        // Once bound to its client, the Basic credential too (RFC 6749 §2.3.1 form).
        let c = Config::new(ConfigInput {
            client_secret: Some(s),
            ..input()
        })
        .unwrap();
        let basic = crate::encoding::base64_encode(b"id:a+b%2Fc");
        assert_eq!(
            c.client_secret().redact(&format!("got Basic {basic}")),
            "got Basic [redacted]"
        );
    }

    #[test]
    fn overrides_win() {
        let base = ConfigInput {
            audience: Audience::Value("a".into()),
            scope: Some("s".into()),
            ..input()
        };
        let merged = base.clone().merged(ConfigInput {
            client_id: Some("other".into()),
            audience: Audience::Omit,
            ..ConfigInput::default()
        });
        assert_eq!(merged.client_id.as_deref(), Some("other"));
        assert_eq!(merged.audience, Audience::Omit);
        assert_eq!(merged.scope.as_deref(), Some("s"));
        assert_eq!(
            format!("{:?}", base.clone().merged(ConfigInput::default())),
            format!("{base:?}")
        );
    }
}
