//! JavaScript option objects into [`ConfigInput`] (serde-wasm-bindgen, at the edge only).

use super::{Extras, JsJson, JsObject};
use crate::config::{Audience, ClientSecret, ConfigInput};
use crate::credentials;
use crate::json::{Json, NotAnObject};
use crate::Error;
use js_sys::{Object, Reflect};
use serde::Deserialize;
use std::collections::BTreeMap;
use wasm_bindgen::prelude::*;

/// `ClientConfig` as JavaScript passes it. Values that must never be echoed (the
/// secret) or that serde cannot tell apart (`audience: null` vs absent) are kept as
/// raw `JsValue`s and checked by hand.
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct JsConfig {
    #[serde(default)]
    client_id: Option<String>,
    #[serde(default, with = "serde_wasm_bindgen::preserve")]
    client_secret: JsValue,
    #[serde(default, with = "serde_wasm_bindgen::preserve")]
    audience: JsValue,
    #[serde(default)]
    token_url: Option<String>,
    #[serde(default)]
    scope: Option<String>,
    #[serde(default)]
    extra_params: Option<BTreeMap<String, String>>,
    #[serde(default)]
    auth_method: Option<String>,
    #[serde(default)]
    body_encoding: Option<String>,
    #[serde(default)]
    refresh_leeway_seconds: Option<f64>,
    #[serde(default)]
    timeout_ms: Option<f64>,
    #[serde(default)]
    max_retries: Option<f64>,
    #[serde(default, with = "serde_wasm_bindgen::preserve")]
    store: JsValue,
    #[serde(default, with = "serde_wasm_bindgen::preserve")]
    fetch: JsValue,
}

fn absent(v: &JsValue) -> bool {
    v.is_undefined()
}

/// Reads a `ClientConfig` (or a `Partial<ClientConfig>` of overrides).
///
/// # Errors
/// `invalid_config` for a value that is not an object, unknown options and wrong
/// types. Messages never hold the secret.
pub(crate) fn read(value: &JsValue) -> Result<(ConfigInput, Extras), Error> {
    if value.is_undefined() || value.is_null() {
        return Ok((ConfigInput::default(), Extras::default()));
    }
    if !value.is_object() {
        return Err(Error::config("the config must be an object"));
    }
    let c: JsConfig = serde_wasm_bindgen::from_value(value.clone()).map_err(|e| {
        // serde's messages name the field and the expected type; they can only quote
        // strings that are not the secret (the secret is not deserialised by serde).
        Error::config(e.to_string())
    })?;
    let client_secret = if absent(&c.client_secret) {
        None
    } else if let Some(s) = c.client_secret.as_string() {
        Some(ClientSecret::new(s))
    } else {
        return Err(Error::config("clientSecret must be a string"));
    };
    let audience = if absent(&c.audience) {
        Audience::Default
    } else if c.audience.is_null() {
        Audience::Omit
    } else if let Some(a) = c.audience.as_string() {
        Audience::Value(a)
    } else {
        return Err(Error::config("audience must be a string or null"));
    };
    if !absent(&c.fetch) && !c.fetch.is_function() {
        return Err(Error::config("fetch must be a function"));
    }
    if !absent(&c.store) {
        let has = |m: &str| {
            Reflect::get(&c.store, &JsValue::from_str(m))
                .map(|f| f.is_function())
                .unwrap_or(false)
        };
        if !c.store.is_object() || !has("get") || !has("put") {
            return Err(Error::config(
                "store must have get(key) and put(key, value, options) methods",
            ));
        }
    }
    let input = ConfigInput {
        client_id: c.client_id,
        client_secret,
        audience,
        token_url: c.token_url,
        scope: c.scope,
        extra_params: c.extra_params.map(|m| m.into_iter().collect()),
        auth_method: c.auth_method,
        body_encoding: c.body_encoding,
        refresh_leeway_seconds: c.refresh_leeway_seconds,
        timeout_ms: c.timeout_ms,
        max_retries: c.max_retries,
    };
    Ok((
        input,
        Extras {
            fetch: c.fetch,
            store: c.store,
        },
    ))
}

/// `overrides` on top of `(input, extras)`: every option they give wins.
pub(crate) fn with_overrides(
    input: ConfigInput,
    extras: Extras,
    overrides: &JsValue,
) -> Result<(ConfigInput, Extras), Error> {
    let (o, ox) = read(overrides)?;
    Ok((
        input.merged(o),
        Extras {
            fetch: if absent(&ox.fetch) { extras.fetch } else { ox.fetch },
            store: if absent(&ox.store) { extras.store } else { ox.store },
        },
    ))
}

/// The DataCosmos credentials file, as a JSON string or an object.
pub(crate) fn from_credentials(json: &JsValue) -> Result<ConfigInput, Error> {
    if let Some(text) = json.as_string() {
        return match JsJson.parse_object(&text) {
            Ok(obj) => credentials::from_credentials(&obj),
            Err(NotAnObject::NotJson) => Err(Error::config("credentials are not valid JSON")),
            Err(NotAnObject::OtherJson) => {
                Err(Error::config("credentials must be a JSON object"))
            }
        };
    }
    if json.is_object() && !js_sys::Array::is_array(json) {
        return credentials::from_credentials(&JsObject(json.clone()));
    }
    Err(Error::config(
        "credentials must be a JSON string or an object",
    ))
}

/// The environment: `env` if given (e.g. a Worker's `env` binding), else `Deno.env`
/// or `process.env`.
pub(crate) fn from_env(env: &JsValue) -> Result<ConfigInput, Error> {
    if !env.is_undefined() && !env.is_null() {
        if !env.is_object() {
            return Err(Error::config("env must be an object"));
        }
        let env: Object = env.clone().unchecked_into();
        return Ok(credentials::from_env(|name| {
            Reflect::get(&env, &JsValue::from_str(name))
                .ok()
                .and_then(|v| v.as_string())
        }));
    }
    // Read every variable once up front, so a permission error surfaces as an error.
    let mut values = Vec::with_capacity(9);
    for (name, fallback) in credentials::ENV_VARS {
        for n in std::iter::once(name).chain(fallback) {
            let v = super::read_env(n).map_err(|e| super::from_js_error(&e))?;
            values.push((n, v));
        }
    }
    Ok(credentials::from_env(|name| {
        values
            .iter()
            .find(|(n, _)| *n == name)
            .and_then(|(_, v)| v.clone())
    }))
}
