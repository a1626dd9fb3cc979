//! Builds the client-credentials token request (RFC 6749 §4.4.2) from a [`Config`],
//! with no I/O.

use crate::config::{basic_credential, AuthMethod, BodyEncoding, Config};
use crate::encoding::{form_urlencode_into, json_string_into};
#[allow(unused_imports)]
use crate::prelude::*;
use core::fmt;

/// RFC 7523 §2.2: the `client_assertion_type` of `private_key_jwt`.
pub const CLIENT_ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// An HTTP request ready to send: always `POST`, with `redirect: "manual"`.
#[derive(Clone, PartialEq, Eq)]
pub struct TokenRequest {
    /// The token endpoint.
    pub url: String,
    /// Header names (lower case) and values, in order.
    pub headers: Vec<(&'static str, String)>,
    /// The encoded body.
    pub body: String,
}

/// `Debug` leaves out the body and the `Authorization` value: both carry the secret.
impl fmt::Debug for TokenRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.headers.iter().map(|(n, _)| *n).collect();
        f.debug_struct("TokenRequest")
            .field("url", &self.url)
            .field("headers", &names)
            .field(
                "body",
                &format_args!("[redacted; {} bytes]", self.body.len()),
            )
            .finish()
    }
}

/// The token request for `config`.
///
/// Parameters, in order: `grant_type=client_credentials`, then `client_id` and
/// `client_secret` (only with `client_secret_post`; `client_id` and
/// `client_assertion_type` with `private_key_jwt`; `client_id` alone with `none`, whose
/// driver replaces the grant per request), `audience`, `scope`, then
/// `extraParams`. With `client_secret_basic` the id and secret are form-urlencoded,
/// joined by `:` and Base64-encoded (RFC 6749 §2.3.1).
pub fn build(config: &Config) -> TokenRequest {
    let mut params: Vec<(&str, &str)> = Vec::with_capacity(6 + config.extra_params().len());
    params.push(("grant_type", "client_credentials"));
    let mut headers = Vec::with_capacity(3);
    match config.auth_method() {
        AuthMethod::ClientSecretPost => {
            params.push(("client_id", config.client_id()));
            params.push(("client_secret", config.client_secret().expose()));
        }
        AuthMethod::ClientSecretBasic => {
            let credential = basic_credential(config.client_id(), config.client_secret().expose());
            headers.push(("authorization", "Basic ".to_owned() + &credential));
        }
        AuthMethod::None => params.push(("client_id", config.client_id())),
        AuthMethod::PrivateKeyJwt => {
            params.push(("client_id", config.client_id()));
            params.push(("client_assertion_type", CLIENT_ASSERTION_TYPE));
        }
    }
    if let Some(a) = &config.audience() {
        params.push(("audience", a));
    }
    if let Some(s) = &config.scope() {
        params.push(("scope", s));
    }
    for (k, v) in config.extra_params() {
        params.push((k, v));
    }

    let mut body = String::with_capacity(256);
    let content_type = match config.body_encoding() {
        BodyEncoding::Form => {
            for (i, (k, v)) in params.iter().enumerate() {
                if i > 0 {
                    body.push('&');
                }
                form_urlencode_into(&mut body, k);
                body.push('=');
                form_urlencode_into(&mut body, v);
            }
            "application/x-www-form-urlencoded"
        }
        BodyEncoding::Json => {
            body.push('{');
            for (i, (k, v)) in params.iter().enumerate() {
                if i > 0 {
                    body.push(',');
                }
                json_string_into(&mut body, k);
                body.push(':');
                json_string_into(&mut body, v);
            }
            body.push('}');
            "application/json"
        }
    };
    headers.push(("content-type", content_type.to_owned()));
    headers.push(("accept", "application/json".to_owned()));
    TokenRequest {
        url: config.token_url().to_owned(),
        headers,
        body,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Audience, ClientSecret, ConfigInput};

    fn config(id: &str, secret: &str, auth: &str, enc: &str) -> Config {
        Config::new(ConfigInput {
            client_id: Some(id.into()),
            client_secret: Some(ClientSecret::new(secret)),
            auth_method: Some(auth.into()),
            body_encoding: Some(enc.into()),
            ..ConfigInput::default()
        })
        .unwrap()
    }

    fn header<'a>(r: &'a TokenRequest, name: &str) -> Option<&'a str> {
        r.headers
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }

    #[test]
    fn post_form() {
        let r = build(&config("my id", "p@ss&=", "client_secret_post", "form"));
        assert_eq!(r.url, "https://login.open-cosmos.com/oauth/token");
        assert_eq!(
            r.body,
            "grant_type=client_credentials&client_id=my+id&client_secret=p%40ss%26%3D\
             &audience=https%3A%2F%2Fbeeapp.open-cosmos.com"
        );
        assert_eq!(
            header(&r, "content-type"),
            Some("application/x-www-form-urlencoded")
        );
        assert_eq!(header(&r, "accept"), Some("application/json"));
        assert_eq!(header(&r, "authorization"), None);
    }

    #[test]
    fn post_json_matches_the_datacosmos_curl_example() {
        let r = build(&config("id\"1", "se\\cret", "client_secret_post", "json"));
        assert_eq!(
            r.body,
            r#"{"grant_type":"client_credentials","client_id":"id\"1","client_secret":"se\\cret","audience":"https://beeapp.open-cosmos.com"}"#
        );
        assert_eq!(header(&r, "content-type"), Some("application/json"));
    }

    #[test]
    fn basic_form_encodes_id_and_secret_first() {
        // RFC 6749 §2.3.1: "aaa/;&" -> "aaa%2F%3B%26"; "p:%é" -> "p%3A%25%C3%A9".
        let r = build(&config("aaa/;&", "p:%é", "client_secret_basic", "form"));
        assert_eq!(
            header(&r, "authorization"),
            Some("Basic YWFhJTJGJTNCJTI2OnAlM0ElMjUlQzMlQTk=")
        );
        assert_eq!(
            r.body,
            "grant_type=client_credentials&audience=https%3A%2F%2Fbeeapp.open-cosmos.com"
        );
        assert!(!r.body.contains("client_secret"));
    }

    #[test]
    fn basic_json() {
        let r = build(&config("id", "secret", "client_secret_basic", "json"));
        assert_eq!(header(&r, "authorization"), Some("Basic aWQ6c2VjcmV0"));
        assert_eq!(
            r.body,
            r#"{"grant_type":"client_credentials","audience":"https://beeapp.open-cosmos.com"}"#
        );
    }

    #[test]
    fn audience_scope_and_extra_params() {
        let c = Config::new(ConfigInput {
            client_id: Some("id".into()),
            client_secret: Some(ClientSecret::new("s")),
            audience: Audience::Omit,
            scope: Some("read:stac write".into()),
            extra_params: Some(vec![("resource".into(), "https://api/x".into())]),
            ..ConfigInput::default()
        })
        .unwrap();
        let r = build(&c);
        assert_eq!(
            r.body,
            "grant_type=client_credentials&client_id=id&client_secret=s\
             &scope=read%3Astac+write&resource=https%3A%2F%2Fapi%2Fx"
        );
    }

    #[test]
    fn private_key_jwt_sends_the_id_and_the_assertion_type() {
        // The driver appends a fresh `client_assertion` to this body per attempt.
        let c = Config::new(ConfigInput {
            client_id: Some("id".into()),
            auth_method: Some("private_key_jwt".into()),
            audience: Audience::Omit,
            ..ConfigInput::default()
        })
        .unwrap();
        let r = build(&c);
        assert_eq!(
            r.body,
            "grant_type=client_credentials&client_id=id&client_assertion_type=\
             urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer"
        );
        assert_eq!(header(&r, "authorization"), None);
    }

    #[test]
    fn a_public_client_sends_its_id_only() {
        let c = Config::new(ConfigInput {
            client_id: Some("id".into()),
            auth_method: Some("none".into()),
            audience: Audience::Omit,
            ..ConfigInput::default()
        })
        .unwrap();
        let r = build(&c);
        assert_eq!(r.body, "grant_type=client_credentials&client_id=id");
        assert_eq!(header(&r, "authorization"), None);
    }

    #[test]
    fn debug_hides_body_and_authorization() {
        let r = build(&config("id", "topsecret", "client_secret_basic", "form"));
        let d = format!("{r:?}");
        let r2 = build(&config("id", "topsecret", "client_secret_post", "form"));
        let d2 = format!("{r2:?}");
        for s in [d, d2] {
            assert!(!s.contains("topsecret"), "{s}");
            assert!(!s.contains("aWQ6dG9wc2VjcmV0"), "{s}");
            assert!(s.contains("redacted"));
        }
    }
}
