//! The `#[wasm_bindgen]` exports: the JavaScript `TokenClient` class, the one-shot
//! `getToken(config)` and access to the `OAuthError` class. Types for TypeScript are
//! hand-written in `pkg/index.d.ts`.

use super::{config, pluck_header, pluck_token, to_js_error, Extras, TokenClient};
use crate::config::{Config, ConfigInput};
use crate::Error;
use js_sys::Promise;
use std::cell::RefCell;
use wasm_bindgen::prelude::*;

fn throw(err: &Error, input: &ConfigInput) -> JsValue {
    match &input.client_secret {
        Some(secret) => to_js_error(err, secret),
        None => to_js_error(err, &crate::ClientSecret::new("")),
    }
}

fn build(input: ConfigInput, extras: Extras) -> Result<TokenClient, JsValue> {
    match Config::new(input.clone()) {
        Ok(config) => Ok(TokenClient::with_extras(config, extras)),
        Err(e) => Err(throw(&e, &input)),
    }
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
            return Err(throw(
                &Error::config("a config object is required"),
                &ConfigInput::default(),
            ));
        }
        let (input, extras) =
            config::read(&config).map_err(|e| throw(&e, &ConfigInput::default()))?;
        Ok(JsTokenClient {
            client: build(input, extras)?,
        })
    }

    /// A client from the DataCosmos credentials file (string or object) and overrides.
    #[wasm_bindgen(js_name = fromCredentials)]
    pub fn from_credentials(json: JsValue, overrides: JsValue) -> Result<JsTokenClient, JsValue> {
        let none = ConfigInput::default();
        let base = config::from_credentials(&json).map_err(|e| throw(&e, &none))?;
        let (input, extras) = config::with_overrides(base, Extras::default(), &overrides)
            .map_err(|e| throw(&e, &none))?;
        Ok(JsTokenClient {
            client: build(input, extras)?,
        })
    }

    /// A client from environment variables (`env`, or `Deno.env` / `process.env`).
    #[wasm_bindgen(js_name = fromEnv)]
    pub fn from_env(env: JsValue, overrides: JsValue) -> Result<JsTokenClient, JsValue> {
        let none = ConfigInput::default();
        let base = config::from_env(&env).map_err(|e| throw(&e, &none))?;
        let (input, extras) = config::with_overrides(base, Extras::default(), &overrides)
            .map_err(|e| throw(&e, &none))?;
        Ok(JsTokenClient {
            client: build(input, extras)?,
        })
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

    /// `fetch` with the Authorization header; on 401 one refresh and one retry.
    pub fn fetch(&self, input: JsValue, init: JsValue) -> Promise {
        let client = self.client.clone();
        // header(null) -> the current header; header("Bearer <rejected>") -> a new one.
        let header = Closure::<dyn FnMut(JsValue) -> Promise>::new(move |stale: JsValue| {
            let stale = stale.as_string();
            let token = stale
                .as_deref()
                .map(|h| h.split_once(' ').map_or(h, |(_, t)| t));
            pluck_header(&client.info_promise(token))
        });
        super::authed_fetch(
            &self.client.fetch_fn(),
            &input,
            &init,
            &header.into_js_value(),
        )
    }

    /// A fresh exchange (no cache read; the cache is updated), resolving to the token
    /// endpoint's JSON response as received. Used by the CLI's `--json`.
    #[wasm_bindgen(js_name = fetchTokenResponse)]
    pub fn fetch_token_response(&self) -> Promise {
        let client = self.client.clone();
        wasm_bindgen_futures::future_to_promise(async move {
            let secret = client.inner.config.client_secret.clone();
            let (token, body) = client
                .exchange()
                .await
                .map_err(|e| to_js_error(&e, &secret))?;
            client.remember(token);
            js_sys::JSON::parse(&body)
        })
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
        Err(e) => return Promise::reject(&throw(&e, &ConfigInput::default())),
    };
    let config = match Config::new(input.clone()) {
        Ok(c) => c,
        Err(e) => return Promise::reject(&throw(&e, &input)),
    };
    let key = [
        config.token_url.as_str(),
        &config.client_id,
        config.audience.as_deref().unwrap_or("\u{1}"),
        config.scope.as_deref().unwrap_or("\u{1}"),
    ]
    .join("\0");
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

/// The `OAuthError` class, for the package entries to export.
#[wasm_bindgen(js_name = __OAuthError)]
pub fn oauth_error_class() -> JsValue {
    super::error_class()
}
