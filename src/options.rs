//! JavaScript options, read in Rust from one JSON document per object.
//!
//! The JS driver copies the **own** enumerable members of the user's object into a
//! prototype-less object (a throwing getter or Proxy trap is `invalid_config` there) and
//! sends it as JSON text, so the object crosses into wasm once and inherited
//! (polluted) members never exist. JSON primitives are sent as they are; any other
//! value `v` of member `name` is sent as `"name#": typeof v` (`"array"` for arrays), so
//! that a function given as `clientId` cannot pass for a string. Two members carry more:
//! `"extraParams#json"` (its own string members, as JSON text) and `"store#caps"` (the
//! store's methods: `get,put,add,delete`).
//!
//! Every decision is made here: which options exist (unknown ones are rejected, as
//! serde's `deny_unknown_fields`), their types, and then [`crate::config::Config::new`] for ranges.

use crate::config::{Audience, ClientSecret, ConfigInput};
use crate::json::{parse_object, Field, NotAnObject, Object};
#[allow(unused_imports)]
use crate::prelude::*;
use crate::Error;

/// The options of API.md's `ClientConfig`.
pub const OPTIONS: [&str; 21] = [
    "clientId",
    "clientSecret",
    "audience",
    "tokenUrl",
    "scope",
    "extraParams",
    "authMethod",
    "bodyEncoding",
    "refreshLeewaySeconds",
    "timeoutMs",
    "maxRetries",
    "negativeCacheSeconds",
    "store",
    "fetch",
    "waitUntil",
    "onEvent",
    "privateKey",
    "keyId",
    "signingAlgorithm",
    "assertionAudience",
    "assertionLifetimeSeconds",
];

/// What the JS driver keeps on its side (functions and objects), as validated here.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct JsSide {
    /// `fetch` was given (a function).
    pub fetch: bool,
    /// `waitUntil` was given (a function).
    pub wait_until: bool,
    /// `onEvent` was given (a function).
    pub on_event: bool,
    /// `store` was given: whether it has `add` and `delete`.
    pub store: Option<(bool, bool)>,
}

impl JsSide {
    /// `self` with every member that `o` gives replaced by it.
    pub fn merged(self, o: JsSide) -> JsSide {
        JsSide {
            fetch: self.fetch || o.fetch,
            wait_until: self.wait_until || o.wait_until,
            on_event: self.on_event || o.on_event,
            store: o.store.or(self.store),
        }
    }
}

/// The document as an [`Object`]; `what` names it in errors.
pub fn document(text: &str, what: &str) -> Result<Object, Error> {
    parse_object(text).map_err(|e| {
        Error::config(
            what.to_owned()
                + match e {
                    NotAnObject::NotJson => " is not valid JSON",
                    NotAnObject::OtherJson => " must be an object",
                },
        )
    })
}

fn kind_of(obj: &Object, name: &str) -> Option<String> {
    let mut marker = name.to_owned();
    marker.push('#');
    obj.field(&marker).as_str().map(str::to_owned)
}

fn wrong(name: &str, what: &str) -> Error {
    Error::config(name.to_owned() + " must be " + what)
}

fn string(obj: &Object, name: &str) -> Result<Option<String>, Error> {
    match obj.field(name) {
        Field::Missing if kind_of(obj, name).is_none() => Ok(None),
        Field::Str(s) => Ok(Some(s)),
        _ => Err(wrong(name, "a string")),
    }
}

fn number(obj: &Object, name: &str) -> Result<Option<f64>, Error> {
    match obj.field(name) {
        Field::Missing if kind_of(obj, name).is_none() => Ok(None),
        Field::Num(n) => Ok(Some(n)),
        _ => Err(wrong(name, "a number")),
    }
}

fn function(obj: &Object, name: &str) -> Result<bool, Error> {
    match (obj.field(name), kind_of(obj, name).as_deref()) {
        (Field::Missing, None) => Ok(false),
        (Field::Missing, Some("function")) => Ok(true),
        _ => Err(wrong(name, "a function")),
    }
}

/// Reads a `ClientConfig` (or `Partial<ClientConfig>` of overrides) document.
///
/// # Errors
/// `invalid_config` for unknown options and wrong types; messages name the option,
/// never its value.
pub fn read(text: &str) -> Result<(ConfigInput, JsSide), Error> {
    let obj = document(text, "the config")?;
    for (key, _) in obj.members() {
        let name = key.split('#').next().unwrap_or(key);
        if !OPTIONS.contains(&name) {
            return Err(Error::config("unknown option `".to_owned() + name + "`"));
        }
    }
    let client_secret = string(&obj, "clientSecret")?.map(ClientSecret::new);
    let audience = match (obj.field("audience"), kind_of(&obj, "audience")) {
        (Field::Missing, None) => Audience::Default,
        (Field::Null, _) => Audience::Omit,
        (Field::Str(a), _) => Audience::Value(a),
        _ => return Err(wrong("audience", "a string or null")),
    };
    let extra_params = match (
        kind_of(&obj, "extraParams").as_deref(),
        obj.field("extraParams#json"),
    ) {
        (None, Field::Missing) if obj.field("extraParams").is_absent() => {
            if matches!(obj.field("extraParams"), Field::Null) {
                return Err(wrong("extraParams", "an object of strings"));
            }
            None
        }
        (Some("object"), Field::Str(json)) => {
            let params = document(&json, "extraParams")?;
            let mut out = Vec::new();
            for (name, v) in params.members() {
                match v {
                    Field::Str(s) => out.push((name.to_owned(), s.clone())),
                    _ => {
                        return Err(Error::config(
                            "extraParams.".to_owned()
                                + name.split('#').next().unwrap_or(name)
                                + " must be a string",
                        ))
                    }
                }
            }
            Some(out)
        }
        _ => return Err(wrong("extraParams", "an object of strings")),
    };
    let store = match (kind_of(&obj, "store").as_deref(), obj.field("store#caps")) {
        (None, Field::Missing) if matches!(obj.field("store"), Field::Missing) => None,
        (Some("object" | "function"), Field::Str(caps)) => {
            let has = |m: &str| caps.split(',').any(|c| c == m);
            if !has("get") || !has("put") {
                return Err(wrong(
                    "store",
                    "an object with get(key) and put(key, value, options) methods",
                ));
            }
            Some((has("add"), has("delete")))
        }
        _ => {
            return Err(wrong(
                "store",
                "an object with get(key) and put(key, value, options) methods",
            ))
        }
    };
    let js = JsSide {
        fetch: function(&obj, "fetch")?,
        wait_until: function(&obj, "waitUntil")?,
        on_event: function(&obj, "onEvent")?,
        store,
    };
    let auth_method = string(&obj, "authMethod")?;
    // private_key_jwt: its options go with that authMethod only, which needs privateKey.
    // Their values are checked by the signer module (pkg/private-key-jwt.js), which has
    // the key parser: its bytes stay out of the wasm of clients that do not sign.
    let given = |n: &str| !obj.field(n).is_absent() || kind_of(&obj, n).is_some();
    match (
        auth_method.as_deref() == Some("private_key_jwt"),
        given("privateKey"),
    ) {
        (true, false) => return Err(Error::config("privateKey is required with private_key_jwt")),
        (false, key) if key || OPTIONS[17..].iter().any(|n| given(n)) => {
            return Err(Error::config(
                "privateKey, keyId, signingAlgorithm, assertionAudience and assertionLifetimeSeconds need authMethod \"private_key_jwt\"",
            ))
        }
        _ => {}
    }
    let input = ConfigInput {
        client_id: string(&obj, "clientId")?,
        client_secret,
        audience,
        token_url: string(&obj, "tokenUrl")?,
        scope: string(&obj, "scope")?,
        extra_params,
        auth_method,
        body_encoding: string(&obj, "bodyEncoding")?,
        refresh_leeway_seconds: number(&obj, "refreshLeewaySeconds")?,
        timeout_ms: number(&obj, "timeoutMs")?,
        max_retries: number(&obj, "maxRetries")?,
        negative_cache_seconds: number(&obj, "negativeCacheSeconds")?,
        access_token: None,
    };
    Ok((input, js))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str) -> String {
        read(text).unwrap_err().to_string()
    }

    #[test]
    fn reads_every_option() {
        let (input, js) = read(
            r#"{"clientId":"id","clientSecret":"s","audience":null,"tokenUrl":"http://127.0.0.1:1/t",
                "scope":"a b","extraParams#":"object","extraParams#json":"{\"resource\":\"r\"}",
                "authMethod":"client_secret_basic","bodyEncoding":"json","refreshLeewaySeconds":5,
                "timeoutMs":100,"maxRetries":1,"negativeCacheSeconds":0,"fetch#":"function",
                "store#":"object","store#caps":"get,put,add","onEvent#":"function"}"#,
        )
        .unwrap();
        assert_eq!(input.client_id.as_deref(), Some("id"));
        assert_eq!(input.audience, Audience::Omit);
        assert_eq!(
            input.extra_params,
            Some(vec![("resource".into(), "r".into())])
        );
        assert_eq!(input.negative_cache_seconds, Some(0.0));
        assert_eq!(
            js,
            JsSide {
                fetch: true,
                wait_until: false,
                on_event: true,
                store: Some((true, false))
            }
        );
    }

    #[test]
    fn rejects_unknown_options_and_wrong_types_without_values() {
        assert!(err(r#"{"tokenURL":"x"}"#).contains("unknown option `tokenURL`"));
        assert!(err(r#"{"__proto__":"x"}"#).contains("unknown option `__proto__`"));
        assert!(err(r#"{"clientId#":"function"}"#).contains("clientId must be a string"));
        assert!(err(r#"{"clientSecret":42}"#).contains("clientSecret must be a string"));
        assert!(err(r#"{"timeoutMs":null}"#).contains("timeoutMs must be a number"));
        assert!(err(r#"{"timeoutMs":"5"}"#).contains("timeoutMs must be a number"));
        assert!(err(r#"{"fetch":"x"}"#).contains("fetch must be a function"));
        assert!(err(r#"{"fetch#":"object"}"#).contains("fetch must be a function"));
        assert!(err(r#"{"extraParams":"a=b"}"#).contains("extraParams must be an object"));
        assert!(err(r#"{"extraParams#":"array"}"#).contains("extraParams must be an object"));
        assert!(
            err(r#"{"extraParams#":"object","extraParams#json":"{\"a\":1}"}"#)
                .contains("extraParams.a must be a string")
        );
        assert!(err(r#"{"store#":"object","store#caps":"get"}"#).contains("store must be"));
        assert!(err(r#"{"audience":5}"#).contains("audience must be a string or null"));
        assert!(err("[]").contains("the config must be an object"));
        assert!(err("{").contains("the config is not valid JSON"));
        // The secret is never quoted.
        assert!(!err(r#"{"clientSecret":"s3cret","bogus":1}"#).contains("s3cret"));
    }

    #[test]
    fn private_key_jwt_options_go_with_that_method_only() {
        let pk = r#""authMethod":"private_key_jwt","clientId":"id""#;
        for ok in [
            format!(r#"{{{pk},"privateKey":"-----BEGIN PRIVATE KEY-----"}}"#),
            format!(
                r#"{{{pk},"privateKey#":"object","keyId":"k","signingAlgorithm":"ES256",
                    "assertionAudience":"https://a/","assertionLifetimeSeconds":300}}"#
            ),
        ] {
            assert!(read(&ok).is_ok(), "{ok}");
        }
        assert!(err(&format!("{{{pk}}}")).contains("privateKey is required"));
        for name in [
            r#""privateKey":"pem""#,
            r#""privateKey#":"object""#,
            r#""keyId":"k""#,
            r#""signingAlgorithm":"RS256""#,
            r#""assertionAudience":"a""#,
            r#""assertionLifetimeSeconds":60"#,
        ] {
            let e = err(&format!(r#"{{"clientId":"id",{name}}}"#));
            assert!(e.contains("need authMethod"), "{name}: {e}");
            assert!(!e.contains("pem"));
        }
    }

    #[test]
    fn absent_options_are_none() {
        let (input, js) = read("{}").unwrap();
        assert_eq!(
            format!("{input:?}"),
            format!("{:?}", ConfigInput::default())
        );
        assert_eq!(js, JsSide::default());
    }
}
