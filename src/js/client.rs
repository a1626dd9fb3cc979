//! [`TokenClient`] for Rust code compiled to wasm32 (a Worker written in Rust): the
//! same [`Engine`] as the npm package, driven with `web-sys`'s Fetch API types and
//! `wasm-bindgen-futures`. It keeps the token in memory (no shared store) and shares one
//! exchange between concurrent callers.
//!
//! Nothing here is exported to JavaScript, so none of it reaches the npm package's
//! `.wasm` (link-time optimisation drops it).

use crate::config::Config;
use crate::engine::{Action, AnswerHeaders, Engine, FlightId, Outcome, Policy, Verdict};
use crate::request::{self, TokenRequest};
use crate::response::MAX_BODY_BYTES;
use crate::{Error, Token};
use js_sys::{Date, Promise};
use std::cell::RefCell;
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::{spawn_local, JsFuture};
use web_sys::{AbortController, Headers, RequestInit, RequestRedirect, Response};

#[wasm_bindgen]
extern "C" {
    // The global `fetch` and `setTimeout`: `window` does not exist in Node or workers.
    #[wasm_bindgen(js_name = fetch, catch)]
    fn global_fetch(input: &str, init: &RequestInit) -> Result<Promise, JsValue>;
    #[wasm_bindgen(js_name = setTimeout, catch)]
    fn set_timeout(f: &js_sys::Function, ms: f64) -> Result<JsValue, JsValue>;
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

impl From<Token> for TokenInfo {
    fn from(t: Token) -> Self {
        TokenInfo {
            access_token: t.access_token,
            token_type: t.token_type,
            expires_at_ms: t.expires_at_ms,
            scope: t.scope,
        }
    }
}

#[derive(Default)]
struct Slot {
    result: Option<Result<Token, Error>>,
    waker: Option<Waker>,
}

struct Wait(Rc<RefCell<Slot>>);

impl Future for Wait {
    type Output = Result<Token, Error>;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut slot = self.0.borrow_mut();
        match slot.result.take() {
            Some(r) => Poll::Ready(r),
            None => {
                slot.waker = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    }
}

struct State {
    engine: Engine,
    waiters: HashMap<FlightId, Vec<Rc<RefCell<Slot>>>>,
    timer: Option<f64>,
}

struct Inner {
    state: RefCell<State>,
    request: TokenRequest,
    timeout_ms: u32,
}

/// A DataCosmos token client for Rust code compiled to wasm32.
///
/// It caches the token, renews it before expiry (serving the valid token while a
/// renewal fails), shares one exchange between concurrent callers and retries transient
/// failures, with the decisions of [`Engine`].
#[derive(Clone)]
pub struct TokenClient {
    inner: Rc<Inner>,
}

impl TokenClient {
    /// A client for `config`, using the global `fetch`.
    pub fn new(config: Config) -> TokenClient {
        let seed = (js_sys::Math::random() * 9_007_199_254_740_991.0) as u64;
        TokenClient {
            inner: Rc::new(Inner {
                state: RefCell::new(State {
                    engine: Engine::new(Policy::new(&config, None), seed),
                    waiters: HashMap::new(),
                    timer: None,
                }),
                request: request::build(&config),
                timeout_ms: config.timeout_ms(),
            }),
        }
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
        Ok(info.token_type + " " + &info.access_token)
    }

    /// The token with its type, expiry and scope.
    ///
    /// # Errors
    /// Any [`Error`] of the exchange.
    pub async fn token_info(&self) -> Result<TokenInfo, Error> {
        let verdict = self.inner.state.borrow_mut().engine.call(Date::now());
        let result = match verdict {
            Verdict::Ready(r) => {
                self.pump();
                r
            }
            Verdict::Wait(flight) => {
                let slot = Rc::new(RefCell::new(Slot::default()));
                self.inner
                    .state
                    .borrow_mut()
                    .waiters
                    .entry(flight)
                    .or_default()
                    .push(slot.clone());
                self.pump();
                Wait(slot).await
            }
        };
        result.map(TokenInfo::from)
    }

    /// Forgets the cached token.
    pub fn clear(&self) {
        self.inner.state.borrow_mut().engine.clear(Date::now());
        self.pump();
    }

    /// Performs every pending action and arms the timer.
    fn pump(&self) {
        loop {
            let action = self.inner.state.borrow_mut().engine.poll_action();
            let Some(action) = action else { break };
            match action {
                Action::Send { op } => {
                    let this = self.clone();
                    spawn_local(async move { this.send(op).await });
                }
                Action::Settle { flight, outcome } => {
                    let slots = self.inner.state.borrow_mut().waiters.remove(&flight);
                    for slot in slots.unwrap_or_default() {
                        let mut s = slot.borrow_mut();
                        s.result = Some(outcome.clone());
                        if let Some(w) = s.waker.take() {
                            w.wake();
                        }
                    }
                }
                // No store in this driver; events have no listener.
                _ => {}
            }
        }
        let next = self.inner.state.borrow().engine.poll_timeout();
        let mut st = self.inner.state.borrow_mut();
        if next != st.timer {
            st.timer = next;
            drop(st);
            if let Some(at) = next {
                let this = self.clone();
                spawn_local(async move {
                    sleep((at - Date::now()).max(0.0)).await;
                    let now = Date::now();
                    this.inner.state.borrow_mut().timer = None;
                    this.inner.state.borrow_mut().engine.handle_timeout(now);
                    this.pump();
                });
            }
        }
    }

    async fn send(&self, op: u32) {
        let outcome = attempt(&self.inner.request, self.inner.timeout_ms).await;
        let now = Date::now();
        {
            let mut st = self.inner.state.borrow_mut();
            match &outcome {
                Ok((status, body, h)) => st.engine.handle(
                    now,
                    op,
                    Outcome::Answer {
                        status: *status,
                        body: body.as_deref(),
                        headers: AnswerHeaders {
                            retry_after_ms: h
                                .first()
                                .and_then(|v| v.as_deref())
                                .and_then(|v| crate::retry::parse_retry_after(v, now)),
                            date_ms: h
                                .get(1)
                                .and_then(|v| v.as_deref())
                                .and_then(crate::retry::parse_http_date),
                            client_quota: h.get(2).and_then(|v| v.as_deref()),
                            organization_quota: h.get(3).and_then(|v| v.as_deref()),
                            rate_limit: None,
                        },
                    },
                ),
                Err((timeout, message)) => st.engine.handle(
                    now,
                    op,
                    Outcome::Failed {
                        timeout: *timeout,
                        message,
                    },
                ),
            }
        }
        self.pump();
    }
}

async fn sleep(ms: f64) {
    let p = Promise::new(&mut |resolve, _| {
        let _ = set_timeout(&resolve, ms);
    });
    let _ = JsFuture::from(p).await;
}

type Answer = (u16, Option<String>, Vec<Option<String>>);

/// One attempt: POST, then read the body, aborted after `timeout_ms`.
async fn attempt(req: &TokenRequest, timeout_ms: u32) -> Result<Answer, (bool, String)> {
    let controller =
        AbortController::new().map_err(|_| (false, "no AbortController".to_owned()))?;
    let headers = Headers::new().map_err(|_| (false, "no Headers".to_owned()))?;
    for (name, value) in &req.headers {
        let _ = headers.set(name, value);
    }
    let init = RequestInit::new();
    init.set_method("POST");
    init.set_headers(&headers);
    init.set_body(&JsValue::from_str(&req.body));
    init.set_redirect(RequestRedirect::Manual);
    init.set_signal(Some(&controller.signal()));
    let abort = controller.clone();
    let timed_out = Rc::new(RefCell::new(false));
    let flag = timed_out.clone();
    spawn_local(async move {
        sleep(f64::from(timeout_ms)).await;
        *flag.borrow_mut() = true;
        abort.abort();
    });
    let failed = |e: JsValue| {
        let timeout = *timed_out.borrow();
        let message = e
            .dyn_ref::<js_sys::Error>()
            .map(|e| String::from(e.message()))
            .unwrap_or_else(|| "fetch failed".to_owned());
        (timeout, message)
    };
    let promise = global_fetch(&req.url, &init).map_err(failed)?;
    let res: Response = JsFuture::from(promise)
        .await
        .map_err(failed)?
        .unchecked_into();
    let h = res.headers();
    let pick: Vec<Option<String>> = [
        "retry-after",
        "date",
        "auth0-client-quota-limit",
        "auth0-organization-quota-limit",
    ]
    .iter()
    .map(|n| h.get(n).ok().flatten())
    .collect();
    let text = res.text().map_err(failed)?;
    let body = JsFuture::from(text).await.map_err(failed)?.as_string();
    controller.abort();
    let body = body.filter(|b| b.len() <= MAX_BODY_BYTES);
    Ok((res.status(), body, pick))
}
