//! The `#[wasm_bindgen]` exports: the JavaScript `TokenClient` class, the one-shot
//! `getToken(config)` and access to the `OAuthError` class. Types for TypeScript are
//! hand-written in `pkg/index.d.ts`.

use super::{config, pluck_header, pluck_token, to_js_error, Extras, TokenClient};
use crate::config::{Config, ConfigInput};
use crate::Error;
use js_sys::Promise;
use std::cell::RefCell;
use wasm_bindgen::prelude::*;

/// `err` for JavaScript, before any secret is known (nothing to redact).
fn throw(err: &Error) -> JsValue {
    to_js_error(err, &crate::ClientSecret::new(""))
}

/// `input` validated, or the JS error, redacted with the secret it gave.
fn validate(input: ConfigInput) -> Result<Config, JsValue> {
    let secret = input.client_secret.clone();
    Config::new(input).map_err(|e| match &secret {
        Some(secret) => to_js_error(&e, secret),
        None => throw(&e),
    })
}

fn build(input: ConfigInput, extras: Extras) -> Result<TokenClient, JsValue> {
    Ok(TokenClient::with_extras(validate(input)?, extras))
}

/// A client from `base` (a credentials file or the environment) and `overrides`.
fn client_from(
    base: Result<ConfigInput, Error>,
    overrides: &JsValue,
) -> Result<JsTokenClient, JsValue> {
    let (input, extras) = base
        .and_then(|base| config::with_overrides(base, Extras::default(), overrides))
        .map_err(|e| throw(&e))?;
    Ok(JsTokenClient {
        client: build(input, extras)?,
    })
}

/// The JavaScript `TokenClient`.
#[wasm_bindgen(js_name = TokenClient)]
pub struct JsTokenClient {
    client: TokenClient,
}

#[wasm_bindgen(js_class = TokenClient)]
impl JsTokenClient {
    /// Validates `config`; throws `OAuthError("invalid_config")` synchronously.
    #[wasm_bindgen(constructor)]
    pub fn new(config: JsValue) -> Result<JsTokenClient, JsValue> {
        if config.is_undefined() || config.is_null() {
            return Err(throw(&Error::config("a config object is required")));
        }
        let (input, extras) = config::read(&config).map_err(|e| throw(&e))?;
        Ok(JsTokenClient {
            client: build(input, extras)?,
        })
    }

    /// A client from the DataCosmos credentials file (string or object) and overrides.
    #[wasm_bindgen(js_name = fromCredentials)]
    pub fn from_credentials(json: JsValue, overrides: JsValue) -> Result<JsTokenClient, JsValue> {
        client_from(config::from_credentials(&json), &overrides)
    }

    /// A client from environment variables (`env`, or `Deno.env` / `process.env`).
    #[wasm_bindgen(js_name = fromEnv)]
    pub fn from_env(env: JsValue, overrides: JsValue) -> Result<JsTokenClient, JsValue> {
        client_from(config::from_env(&env), &overrides)
    }

    /// The access token (cached; concurrent callers share one request).
    #[wasm_bindgen(js_name = getToken)]
    pub fn get_token(&self) -> Promise {
        pluck_token(&self.client.info_promise(None))
    }

    /// `{accessToken, tokenType, expiresAt, scope?}`.
    #[wasm_bindgen(js_name = getTokenInfo)]
    pub fn get_token_info(&self) -> Promise {
        self.client.info_promise(None)
    }

    /// `"Bearer <token>"`.
    #[wasm_bindgen(js_name = authorizationHeader)]
    pub fn authorization_header(&self) -> Promise {
        pluck_header(&self.client.info_promise(None))
    }

    /// For `client.fetch` (pkg/fetch.js): the Authorization header value; with the
    /// header a server rejected, a fresh one (unless the cache already holds a newer
    /// token than the rejected one).
    #[wasm_bindgen(js_name = __header)]
    pub fn header(&self, rejected: Option<String>) -> Promise {
        let token = rejected
            .as_deref()
            .map(|h| h.split_once(' ').map_or(h, |(_, t)| t));
        pluck_header(&self.client.info_promise(token))
    }

    /// For `client.fetch`: `config.fetch`, else the global `fetch`.
    #[wasm_bindgen(js_name = __fetchFn)]
    pub fn fetch_fn(&self) -> JsValue {
        self.client.fetch_fn()
    }

    /// Forgets the cached token (memory and store).
    pub fn clear(&self) {
        self.client.clear();
    }
}

/// Clients of the one-shot `getToken(config)`, by token URL, client id, audience and
/// scope; an entry is reused only for the same secret and options.
struct Shared {
    key: String,
    config: Config,
    extras: Extras,
    client: TokenClient,
}

const MAX_SHARED: usize = 32;

thread_local! {
    static SHARED: RefCell<Vec<Shared>> = const { RefCell::new(Vec::new()) };
}

/// One-shot: the token for `config`, through a module-level cache.
#[wasm_bindgen(js_name = getToken)]
pub fn get_token(config: JsValue) -> Promise {
    let (input, extras) = match config::read(&config) {
        Ok(v) => v,
        Err(e) => return Promise::reject(&throw(&e)),
    };
    let config = match validate(input) {
        Ok(c) => c,
        Err(e) => return Promise::reject(&e),
    };
    let key = super::store_key(&config);
    let client = SHARED.with(|shared| {
        let mut shared = shared.borrow_mut();
        let same = |s: &Shared| {
            s.key == key
                && s.config == config
                && js_sys::Object::is(&s.extras.fetch, &extras.fetch)
                && js_sys::Object::is(&s.extras.store, &extras.store)
        };
        if let Some(s) = shared.iter().find(|s| same(s)) {
            return s.client.clone();
        }
        shared.retain(|s| s.key != key);
        if shared.len() >= MAX_SHARED {
            shared.remove(0);
        }
        let client = TokenClient::with_extras(config.clone(), extras.clone());
        shared.push(Shared {
            key,
            config,
            extras,
            client: client.clone(),
        });
        client
    });
    pluck_token(&client.info_promise(None))
}

/// For the workerd entry: the `waitUntil` of `cloudflare:workers`, which keeps a token
/// flight alive after the request that started it has ended.
#[wasm_bindgen(js_name = __setKeepAlive)]
pub fn set_keep_alive(f: JsValue) {
    super::set_keep_alive(&f);
}

/// The `OAuthError` class, for the package entries to export.
#[wasm_bindgen(js_name = __OAuthError)]
pub fn oauth_error_class() -> JsValue {
    super::error_class()
}
