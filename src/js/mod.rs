//! The thin JavaScript layer: the only code that touches `wasm_bindgen` and `js_sys`.
//!
//! - [`TokenClient`]: the client for Rust code on wasm32 (and the engine of the JS class);
//! - `api`: the `#[wasm_bindgen]` exports (`TokenClient`, `getToken`, `OAuthError`);
//! - `io.js`: runtime primitives (one fetch attempt with timeout and capped read,
//!   timers, environment, the sealed store over WebCrypto, the `OAuthError` class).
//!
//! # Single flight
//! Concurrent callers share one exchange as a JavaScript `Promise` that resolves to a
//! plain `TokenInfo` object. Waiters only attach JS reactions to it: no Rust future,
//! timer or I/O object runs on a waiter's behalf. The exchange itself runs in the
//! context of the request that started it; workerd cancels that context's I/O when
//! the request ends, so each new flight is handed to `waitUntil` (the workerd entry's
//! `cloudflare:workers` one, and `config.waitUntil`), and a flight older than
//! [`retry::flight_limit_ms`] is replaced rather than waited for.

mod api;
mod config;
#[cfg(test)]
mod tests;

use crate::cache::{self, Clock, TokenCache};
use crate::config::{ClientSecret, Config};
use crate::json::Field;
use crate::response::{self, Answer, MAX_BODY_BYTES};
use crate::retry::{self, Decision};
use crate::{request, Error, Token};
use js_sys::{Object, Promise, Reflect};
use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::{future_to_promise, JsFuture};

#[wasm_bindgen(module = "/src/js/io.js")]
extern "C" {
    #[wasm_bindgen(js_name = errorClass)]
    fn error_class() -> JsValue;

    #[wasm_bindgen(js_name = OAuthError)]
    type JsOAuthError;
    #[wasm_bindgen(constructor, js_class = OAuthError)]
    fn new(
        code: &str,
        message: &str,
        status: Option<u16>,
        description: Option<String>,
        uri: Option<String>,
    ) -> JsOAuthError;

    fn send(
        fetch: &JsValue,
        url: &str,
        headers: &JsValue,
        body: &str,
        timeout_ms: u32,
        cap: u32,
    ) -> Promise;
    fn sleep(ms: f64) -> Promise;
    #[wasm_bindgen(js_name = keepAlive)]
    fn keep_alive(wait_until: &JsValue, promise: &Promise);
    #[wasm_bindgen(js_name = setKeepAlive)]
    pub(crate) fn set_keep_alive(f: &JsValue);
    #[wasm_bindgen(js_name = pluckToken)]
    fn pluck_token(info: &Promise) -> Promise;
    #[wasm_bindgen(js_name = pluckHeader)]
    fn pluck_header(info: &Promise) -> Promise;
    #[wasm_bindgen(js_name = readEnv)]
    fn read_env(name: &str) -> JsValue;

    type SealedStore;
    #[wasm_bindgen(constructor)]
    fn new(
        store: &JsValue,
        secret: &str,
        parts: &str,
        timeout_ms: u32,
        wait_until: &JsValue,
    ) -> SealedStore;
    /// Takes the refresh lease for `ms` (resolves whether taken); `0` gives it back.
    #[wasm_bindgen(method)]
    fn lease(this: &SealedStore, ms: f64) -> Promise;
    #[wasm_bindgen(method)]
    fn get(this: &SealedStore) -> Promise;
    #[wasm_bindgen(method)]
    fn put(this: &SealedStore, entry: &str, ttl_seconds: f64) -> Promise;
    #[wasm_bindgen(method)]
    fn delete(this: &SealedStore) -> Promise;
}

/// `future_to_promise` for any future, compiled once: each instance is another copy of
/// the executor's glue in the wasm.
pub(crate) fn spawn(future: impl Future<Output = Result<JsValue, JsValue>> + 'static) -> Promise {
    let future: Pin<Box<dyn Future<Output = Result<JsValue, JsValue>>>> = Box::pin(future);
    future_to_promise(future)
}

/// `Date.now()`.
struct JsClock;
impl Clock for JsClock {
    fn now_ms(&self) -> f64 {
        js_sys::Date::now()
    }
}

/// A JavaScript object read member by member.
struct JsObject(JsValue);

impl JsObject {
    fn field(&self, name: &str) -> Field {
        let v = Reflect::get(&self.0, &JsValue::from_str(name)).unwrap_or(JsValue::UNDEFINED);
        if v.is_undefined() {
            Field::Missing
        } else if v.is_null() {
            Field::Null
        } else if let Some(s) = v.as_string() {
            Field::Str(s)
        } else if let Some(n) = v.as_f64() {
            Field::Num(n)
        } else {
            Field::Other
        }
    }
}

/// `err` as a JavaScript `OAuthError`, its text redacted once more.
fn to_js_error(err: &Error, secret: &ClientSecret) -> JsValue {
    JsOAuthError::new(
        &secret.redact(err.code()),
        &secret.redact(&err.message()),
        err.status(),
        err.description().map(|d| secret.redact(d)),
        err.uri().map(|u| secret.redact(u)),
    )
    .into()
}

/// A JavaScript `OAuthError` (or anything thrown) back as an [`Error`].
fn from_js_error(v: &JsValue) -> Error {
    let get = |k: &str| Reflect::get(v, &JsValue::from_str(k)).ok();
    let code = get("code").and_then(|c| c.as_string());
    let status = get("status").and_then(|s| s.as_f64()).map(|s| s as u16);
    let message = get("message")
        .and_then(|m| m.as_string())
        .or_else(|| v.as_string())
        .unwrap_or_else(|| "unknown error".into());
    match (code.as_deref(), status) {
        (Some("timeout"), _) => Error::Timeout { after_ms: 0 },
        (Some("invalid_config"), _) => Error::InvalidConfig { reason: message },
        (Some("http_error"), Some(status)) => Error::Http { status },
        (Some("invalid_response"), Some(status)) => Error::InvalidResponse {
            status,
            reason: "see the JavaScript error",
        },
        (Some(code), Some(status)) if code != "network_error" => Error::OAuth {
            error: code.to_owned(),
            description: get("description").and_then(|d| d.as_string()),
            uri: get("uri").and_then(|d| d.as_string()),
            status,
        },
        _ => Error::Network { message },
    }
}

/// The JS `TokenInfo` object for `token`.
fn token_info(token: &Token) -> JsValue {
    let o = Object::new();
    let set = |k: &str, v: JsValue| {
        let _ = Reflect::set(&o, &JsValue::from_str(k), &v);
    };
    set("accessToken", JsValue::from_str(&token.access_token));
    set("tokenType", JsValue::from_str(&token.token_type));
    set("expiresAt", JsValue::from_f64(token.expires_at_ms.round()));
    if let Some(s) = &token.scope {
        set("scope", JsValue::from_str(s));
    }
    o.into()
}

/// The token URL, client id, audience and scope, NUL-separated (`\u{1}` for none):
/// what identifies a token in the store and in `getToken`'s shared clients.
fn store_key(config: &Config) -> String {
    let mut key = String::with_capacity(128);
    for (i, part) in [
        config.token_url.as_str(),
        &config.client_id,
        config.audience.as_deref().unwrap_or("\u{1}"),
        config.scope.as_deref().unwrap_or("\u{1}"),
    ]
    .into_iter()
    .enumerate()
    {
        if i > 0 {
            key.push('\0');
        }
        key.push_str(part);
    }
    key
}

/// What [`TokenClient::token_info`] returns (the JavaScript `TokenInfo`).
#[derive(Clone, Debug, PartialEq)]
pub struct TokenInfo {
    /// The access token.
    pub access_token: String,
    /// The token type, `Bearer`.
    pub token_type: String,
    /// Expiry, in ms since the epoch.
    pub expires_at_ms: f64,
    /// The granted scope, if the server said.
    pub scope: Option<String>,
}

/// Runtime extras that only exist in JavaScript.
#[derive(Clone, Default)]
pub(crate) struct Extras {
    /// `config.fetch`, or undefined for `globalThis.fetch` at call time.
    pub fetch: JsValue,
    /// `config.store`, or undefined.
    pub store: JsValue,
    /// `config.waitUntil` (Workers' `ctx.waitUntil`), or undefined.
    pub wait_until: JsValue,
}

struct State {
    cache: TokenCache<JsValue>,
    /// The shared flight and when it started.
    inflight: Option<(Promise, f64)>,
    /// Bumped by `clear()`: an exchange started before does not fill the cache.
    generation: u32,
}

pub(crate) struct Inner {
    config: Config,
    extras: Extras,
    store: Option<SealedStore>,
    state: RefCell<State>,
}

/// A DataCosmos token client for Rust code compiled to wasm32.
///
/// It caches the token, renews it `refresh_leeway` before expiry, shares one
/// exchange between concurrent callers and retries transient failures, exactly as
/// the JavaScript `TokenClient` (which is a wrapper around this type).
#[derive(Clone)]
pub struct TokenClient {
    inner: Rc<Inner>,
}

impl TokenClient {
    /// A client for `config`, using the global `fetch`.
    pub fn new(config: Config) -> TokenClient {
        TokenClient::with_extras(config, Extras::default())
    }

    pub(crate) fn with_extras(config: Config, extras: Extras) -> TokenClient {
        let store = (!extras.store.is_undefined() && !extras.store.is_null()).then(|| {
            let parts = store_key(&config);
            SealedStore::new(
                &extras.store,
                config.client_secret.expose(),
                &parts,
                config.timeout_ms.min(1000),
                &extras.wait_until,
            )
        });
        TokenClient {
            inner: Rc::new(Inner {
                config,
                extras,
                store,
                state: RefCell::new(State {
                    cache: TokenCache::default(),
                    inflight: None,
                    generation: 0,
                }),
            }),
        }
    }

    /// The config this client was built with.
    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// The access token, from the cache or a new exchange.
    ///
    /// # Errors
    /// Any [`Error`] of the exchange.
    pub async fn get_token(&self) -> Result<String, Error> {
        Ok(self.token_info().await?.access_token)
    }

    /// The `Authorization` header value, e.g. `Bearer eyJ...`.
    ///
    /// # Errors
    /// Any [`Error`] of the exchange.
    pub async fn authorization_header(&self) -> Result<String, Error> {
        let info = self.token_info().await?;
        let mut header = info.token_type;
        header.push(' ');
        header.push_str(&info.access_token);
        Ok(header)
    }

    /// The token with its type, expiry and scope.
    ///
    /// # Errors
    /// Any [`Error`] of the exchange.
    pub async fn token_info(&self) -> Result<TokenInfo, Error> {
        let info = JsFuture::from(self.info_promise(None))
            .await
            .map_err(|e| from_js_error(&e))?;
        let o = JsObject(info);
        Ok(TokenInfo {
            access_token: o.field("accessToken").as_str().unwrap_or("").to_owned(),
            token_type: o.field("tokenType").as_str().unwrap_or("Bearer").to_owned(),
            expires_at_ms: match o.field("expiresAt") {
                Field::Num(n) => n,
                _ => 0.0,
            },
            scope: o.field("scope").as_str().map(str::to_owned),
        })
    }

    /// `config.fetch`, else the global `fetch` as it is now.
    pub(crate) fn fetch_fn(&self) -> JsValue {
        if self.inner.extras.fetch.is_undefined() {
            Reflect::get(&js_sys::global(), &JsValue::from_str("fetch")).unwrap_or_default()
        } else {
            self.inner.extras.fetch.clone()
        }
    }

    /// Forgets the cached token, in memory and in the store.
    pub fn clear(&self) {
        let mut st = self.inner.state.borrow_mut();
        st.cache.forget(None);
        st.inflight = None;
        st.generation = st.generation.wrapping_add(1);
        drop(st);
        if let Some(store) = &self.inner.store {
            // Bounded and never rejecting; nobody needs to wait for it.
            let _ = store.delete();
        }
    }

    /// A promise of the JS `TokenInfo`: the cached one, the in-flight exchange, or a
    /// new one. With `stale`, that token is known to be rejected: it is dropped and,
    /// unless the cache already holds a newer one, a new exchange skips the store.
    fn info_promise(&self, stale: Option<&str>) -> Promise {
        let inner = &self.inner;
        let mut st = inner.state.borrow_mut();
        let leeway = inner.config.refresh_leeway_ms;
        if let Some(stale) = stale {
            st.cache.forget(Some(stale));
        }
        if let Some((_, info)) = st.cache.get(&JsClock, leeway) {
            return Promise::resolve(info);
        }
        let now = JsClock.now_ms();
        if let Some((p, started)) = &st.inflight {
            let config = &inner.config;
            // A waiter may wait for two holders' leases (see obtain).
            let lease = 2.0 * cache::lease_ms(config.timeout_ms, config.max_retries);
            if now - started < retry::flight_limit_ms(config.timeout_ms, config.max_retries, lease)
            {
                return p.clone();
            }
            // Stuck past every bound: do not wait for it, start anew.
        }
        let generation = st.generation;
        drop(st);
        let this = self.clone();
        let use_store = stale.is_none();
        let promise = spawn(async move {
            let result = this.obtain(use_store).await;
            let inner = &this.inner;
            let mut st = inner.state.borrow_mut();
            if st.generation == generation {
                st.inflight = None;
            }
            match result {
                Ok((token, hold)) => {
                    let info = token_info(&token);
                    if st.generation == generation {
                        st.cache.put_held(token, info.clone(), hold);
                    }
                    Ok(info)
                }
                Err(e) => Err(to_js_error(&e, &inner.config.client_secret)),
            }
        });
        // Keep the flight alive beyond the request that started it: workerd cancels a
        // request's I/O when its handler returns (see set_keep_alive), and Workers users
        // may pass their ctx.waitUntil.
        keep_alive(&inner.extras.wait_until, &promise);
        let mut st = inner.state.borrow_mut();
        if st.generation == generation {
            st.inflight = Some((promise.clone(), now));
        }
        promise
    }

    /// A token from the shared store or, failing that, the token endpoint (then
    /// written to the store), with the time until which the memory cache may keep
    /// using it although it is due (see [`cache::plan`]).
    ///
    /// With a store, one client at a time renews: the holder of the refresh lease.
    /// The others keep using the stored token while it is still valid, or, when there
    /// is none, look into the store until the holder has written one, trying the lease
    /// again at every look; a waiter fetches its own only after two lease times (its
    /// first holder's and, should that one die, the next holder's). A store that fails
    /// is skipped.
    async fn obtain(&self, use_store: bool) -> Result<(Token, f64), Error> {
        let inner = &self.inner;
        let config = &inner.config;
        let Some(store) = inner.store.as_ref().filter(|_| use_store) else {
            return Ok((self.fetch_and_store(None).await?, f64::NEG_INFINITY));
        };
        let lease_ms = cache::lease_ms(config.timeout_ms, config.max_retries);
        // Two lease times: the first holder's and, should it die, the next one's.
        let deadline = JsClock.now_ms() + 2.0 * lease_ms;
        loop {
            let read = JsFuture::from(store.get()).await.unwrap_or_default();
            if read.is_undefined() {
                // The store failed: no lease, no waiting.
                return Ok((self.fetch_and_store(None).await?, f64::NEG_INFINITY));
            }
            let entry = read.as_string().and_then(|text| cache::decode_entry(&text));
            let now = JsClock.now_ms();
            let plan = cache::plan(entry.as_ref(), now, config.refresh_leeway_ms);
            let renew = match (plan, entry) {
                (cache::StorePlan::Use, Some(t)) => return Ok((t, f64::NEG_INFINITY)),
                (cache::StorePlan::Renew, Some(t)) => Some(t),
                _ => None,
            };
            // Tried at every look: a lease given back or lapsed (its holder died) is
            // taken by exactly one waiter where the store's `add` is atomic.
            if JsFuture::from(store.lease(lease_ms))
                .await
                .is_ok_and(|v| v.is_truthy())
            {
                return Ok((self.fetch_and_store(Some(store)).await?, f64::NEG_INFINITY));
            }
            if let Some(t) = renew {
                // Another client renews it: keep using the valid token meanwhile.
                let hold = cache::hold_until(&t, now, lease_ms);
                return Ok((t, hold));
            }
            if now >= deadline {
                return Ok((self.fetch_and_store(None).await?, f64::NEG_INFINITY));
            }
            let _ = JsFuture::from(sleep(cache::POLL_MS)).await;
        }
    }

    /// A new token from the endpoint, written to the store; `leased` is given back.
    async fn fetch_and_store(&self, leased: Option<&SealedStore>) -> Result<Token, Error> {
        let result = self.exchange().await;
        if let (Ok((token, _)), Some(store)) = (&result, &self.inner.store) {
            let ttl = (token.expires_at_ms - JsClock.now_ms()) / 1000.0;
            if ttl > 0.0 {
                let _ = JsFuture::from(store.put(&cache::encode_entry(token), ttl)).await;
            }
        }
        if let Some(store) = leased {
            let _ = JsFuture::from(store.lease(0.0)).await;
        }
        result.map(|(token, _)| token)
    }

    /// The token request, sent until it succeeds, fails for good, or the retries are
    /// spent. Returns the token and the response body.
    async fn exchange(&self) -> Result<(Token, String), Error> {
        let config = &self.inner.config;
        let req = request::build(config);
        let headers = Object::new();
        for (name, value) in &req.headers {
            let _ = Reflect::set(
                &headers,
                &JsValue::from_str(name),
                &JsValue::from_str(value),
            );
        }
        let fetch = self.fetch_fn();
        if !fetch.is_function() {
            return Err(Error::config(
                "no fetch function in this runtime (pass config.fetch)",
            ));
        }
        let mut retries = 0;
        loop {
            let sent_at = JsClock.now_ms();
            let attempt = JsFuture::from(send(
                &fetch,
                &req.url,
                &headers,
                &req.body,
                config.timeout_ms,
                MAX_BODY_BYTES as u32,
            ))
            .await;
            let (result, retry_after) = match attempt {
                Ok(answer) => {
                    let get = |k: &str| Reflect::get(&answer, &JsValue::from_str(k)).ok();
                    let status = get("status").and_then(|s| s.as_f64()).unwrap_or(0.0) as u16;
                    let body = get("body").and_then(|b| b.as_string());
                    let retry_after = get("retryAfter").and_then(|r| r.as_string());
                    let parsed = response::parse(
                        Answer {
                            status,
                            body: body.as_deref(),
                            sent_at_ms: sent_at,
                            date_ms: None,
                        },
                        &config.client_secret,
                    );
                    (parsed.map(|t| (t, body.unwrap_or_default())), retry_after)
                }
                Err(e) => {
                    let timeout = Reflect::get(&e, &JsValue::from_str("timeout"))
                        .map(|t| t.is_truthy())
                        .unwrap_or(false);
                    let err = if timeout {
                        Error::Timeout {
                            after_ms: config.timeout_ms,
                        }
                    } else {
                        let message = Reflect::get(&e, &JsValue::from_str("network"))
                            .ok()
                            .and_then(|m| m.as_string())
                            .unwrap_or_else(|| "fetch failed".into());
                        Error::Network {
                            message: config.client_secret.redact(&message),
                        }
                    };
                    (Err(err), None)
                }
            };
            let err = match result {
                Ok(ok) => return Ok(ok),
                Err(err) => err,
            };
            match retry::decide(
                &err,
                retries,
                config.max_retries,
                retry_after.as_deref(),
                JsClock.now_ms(),
                js_sys::Math::random(),
            ) {
                Decision::Stop => return Err(err),
                Decision::RetryIn(ms) => {
                    let _ = JsFuture::from(sleep(ms)).await;
                    retries += 1;
                }
            }
        }
    }
}
