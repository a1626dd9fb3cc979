//! JavaScript option objects into [`ConfigInput`], read member by member.
//!
//! serde-wasm-bindgen would do this in one derive, but it and serde's number and
//! `Debug` formatting cost about half of the `.wasm`; the edge pays for every byte,
//! so the few checks are written out. Unknown options are rejected (as
//! `deny_unknown_fields` would), and the secret is never quoted.

use super::Extras;
use crate::config::{Audience, ClientSecret, ConfigInput};
use crate::credentials;
use crate::json::{self, NotAnObject};
use crate::Error;
use js_sys::{Object, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

const OPTIONS: [&str; 14] = [
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
    "store",
    "fetch",
    "waitUntil",
];

fn absent(v: &JsValue) -> bool {
    v.is_undefined()
}

fn member(obj: &JsValue, name: &str) -> JsValue {
    Reflect::get(obj, &JsValue::from_str(name)).unwrap_or(JsValue::UNDEFINED)
}

fn string(obj: &JsValue, name: &str) -> Result<Option<String>, Error> {
    let v = member(obj, name);
    if absent(&v) {
        Ok(None)
    } else {
        v.as_string()
            .map(Some)
            .ok_or_else(|| Error::config(name.to_owned() + " must be a string"))
    }
}

fn number(obj: &JsValue, name: &str) -> Result<Option<f64>, Error> {
    let v = member(obj, name);
    if absent(&v) {
        Ok(None)
    } else {
        v.as_f64()
            .map(Some)
            .ok_or_else(|| Error::config(name.to_owned() + " must be a number"))
    }
}

/// Reads a `ClientConfig` (or a `Partial<ClientConfig>` of overrides).
///
/// # Errors
/// `invalid_config` for a value that is not an object, unknown options and wrong
/// types. Messages name the option, never its value.
pub(crate) fn read(value: &JsValue) -> Result<(ConfigInput, Extras), Error> {
    if value.is_undefined() || value.is_null() {
        return Ok((ConfigInput::default(), Extras::default()));
    }
    if !value.is_object() || js_sys::Array::is_array(value) {
        return Err(Error::config("the config must be an object"));
    }
    for key in Object::keys(value.unchecked_ref::<Object>()).iter() {
        let key = key.as_string().unwrap_or_default();
        if !OPTIONS.contains(&key.as_str()) {
            return Err(Error::config("unknown option `".to_owned() + &key + "`"));
        }
    }
    let secret = member(value, "clientSecret");
    let client_secret = if absent(&secret) {
        None
    } else if let Some(s) = secret.as_string() {
        Some(ClientSecret::new(s))
    } else {
        return Err(Error::config("clientSecret must be a string"));
    };
    let aud = member(value, "audience");
    let audience = if absent(&aud) {
        Audience::Default
    } else if aud.is_null() {
        Audience::Omit
    } else if let Some(a) = aud.as_string() {
        Audience::Value(a)
    } else {
        return Err(Error::config("audience must be a string or null"));
    };
    let extra = member(value, "extraParams");
    let extra_params = if absent(&extra) {
        None
    } else if extra.is_object() && !js_sys::Array::is_array(&extra) {
        let mut params = Vec::new();
        for key in Object::keys(extra.unchecked_ref::<Object>()).iter() {
            let name = key.as_string().unwrap_or_default();
            let v = string(&extra, &name).map_err(|_| {
                Error::config("extraParams.".to_owned() + &name + " must be a string")
            })?;
            params.push((name, v.unwrap_or_default()));
        }
        Some(params)
    } else {
        return Err(Error::config("extraParams must be an object of strings"));
    };
    let fetch = member(value, "fetch");
    if !absent(&fetch) && !fetch.is_function() {
        return Err(Error::config("fetch must be a function"));
    }
    let store = member(value, "store");
    if !absent(&store) {
        let has = |m: &str| member(&store, m).is_function();
        if !store.is_object() || !has("get") || !has("put") {
            return Err(Error::config(
                "store must have get(key) and put(key, value, options) methods",
            ));
        }
    }
    let input = ConfigInput {
        client_id: string(value, "clientId")?,
        client_secret,
        audience,
        token_url: string(value, "tokenUrl")?,
        scope: string(value, "scope")?,
        extra_params,
        auth_method: string(value, "authMethod")?,
        body_encoding: string(value, "bodyEncoding")?,
        refresh_leeway_seconds: number(value, "refreshLeewaySeconds")?,
        timeout_ms: number(value, "timeoutMs")?,
        max_retries: number(value, "maxRetries")?,
    };
    let wait_until = member(value, "waitUntil");
    if !absent(&wait_until) && !wait_until.is_function() {
        return Err(Error::config("waitUntil must be a function"));
    }
    Ok((
        input,
        Extras {
            fetch,
            store,
            wait_until,
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
            fetch: if absent(&ox.fetch) {
                extras.fetch
            } else {
                ox.fetch
            },
            store: if absent(&ox.store) {
                extras.store
            } else {
                ox.store
            },
            wait_until: if absent(&ox.wait_until) {
                extras.wait_until
            } else {
                ox.wait_until
            },
        },
    ))
}

/// The DataCosmos credentials file, as a JSON string or an object.
/// An object is read through `JSON.stringify`: its own enumerable members only.
pub(crate) fn from_credentials(json: &JsValue) -> Result<ConfigInput, Error> {
    let text = if let Some(text) = json.as_string() {
        text
    } else if json.is_object() && !js_sys::Array::is_array(json) {
        js_sys::JSON::stringify(json)
            .ok()
            .and_then(|s| s.as_string())
            .ok_or_else(|| Error::config("credentials object could not be read"))?
    } else {
        return Err(Error::config(
            "credentials must be a JSON string or an object",
        ));
    };
    match json::parse_object(&text) {
        Ok(obj) => credentials::from_credentials(&obj),
        Err(NotAnObject::NotJson) => Err(Error::config("credentials are not valid JSON")),
        Err(NotAnObject::OtherJson) => Err(Error::config("credentials must be a JSON object")),
    }
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
            let v = super::read_env(n);
            if let Some(why) = v.as_f64() {
                return Err(Error::config(if why == 1.0 {
                    "reading the environment is not permitted (Deno: --allow-env)"
                } else {
                    "no environment here (pass an env object)"
                }));
            }
            let v = v.as_string();
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
