//! The Rust driver, run (not only compiled) under `wasm-bindgen-test-runner` in Node
//! against the loopback token server that `make test-wasm` starts
//! (`tests/servers/demo.mjs`, its URL and credentials in `DATACOSMOS_TEST_*`).

use super::TokenClient;
use crate::config::{Config, ConfigInput};
use crate::ClientSecret;
use js_sys::Reflect;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::wasm_bindgen_test;

fn env(name: &str) -> String {
    let global = js_sys::global();
    let process = Reflect::get(&global, &"process".into()).unwrap_or(JsValue::UNDEFINED);
    let vars = Reflect::get(&process, &"env".into()).unwrap_or(JsValue::UNDEFINED);
    Reflect::get(&vars, &name.into())
        .ok()
        .and_then(|v| v.as_string())
        .unwrap_or_else(|| panic!("make test-wasm sets {name}"))
}

fn client(secret: &str) -> TokenClient {
    TokenClient::new(
        Config::new(ConfigInput {
            client_id: Some(env("DATACOSMOS_TEST_CLIENT_ID")),
            client_secret: Some(ClientSecret::new(secret)),
            token_url: Some(env("DATACOSMOS_TEST_TOKEN_URL")),
            max_retries: Some(0.0),
            ..ConfigInput::default()
        })
        .unwrap(),
    )
}

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_name = fetch)]
    fn fetch_with_init(url: &str, init: &JsValue) -> js_sys::Promise;
}

#[wasm_bindgen_test]
async fn fetches_a_token_the_resource_accepts_and_shares_it() {
    let c = client(&env("DATACOSMOS_TEST_CLIENT_SECRET"));
    let (a, b) = futures_join(c.get_token(), c.get_token()).await;
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(a, b, "concurrent callers share one exchange");
    assert_eq!(c.get_token().await.unwrap(), a, "cached");
    let header = c.authorization_header().await.unwrap();
    assert_eq!(header, "Bearer ".to_owned() + &a);
    // The protected resource accepts it.
    let init = js_sys::Object::new();
    let headers = js_sys::Object::new();
    Reflect::set(&headers, &"authorization".into(), &header.into()).unwrap();
    Reflect::set(&init, &"headers".into(), &headers).unwrap();
    let res = JsFuture::from(fetch_with_init(&env("DATACOSMOS_TEST_RESOURCE_URL"), &init))
        .await
        .unwrap();
    let status = Reflect::get(&res, &"status".into()).unwrap().as_f64();
    assert_eq!(status, Some(200.0));
    let info = c.token_info().await.unwrap();
    assert!(info.expires_at_ms > js_sys::Date::now());
    c.clear();
    assert_ne!(c.get_token().await.unwrap(), a, "clear() forgets the token");
}

#[wasm_bindgen_test]
async fn a_wrong_secret_is_refused_with_the_servers_code() {
    let err = client("wrong-secret").get_token().await.unwrap_err();
    // Auth0 (and the demo server) answer `access_denied` with 401 for a wrong secret.
    assert_eq!(err.code(), "access_denied");
    assert_eq!(err.status(), Some(401));
    assert!(!err.to_string().contains("wrong-secret"));
}

/// Both futures polled together (no extra crate for `join`).
async fn futures_join<A: core::future::Future, B: core::future::Future>(
    a: A,
    b: B,
) -> (A::Output, B::Output) {
    use core::pin::pin;
    use core::task::Poll;
    let (mut a, mut b) = (pin!(a), pin!(b));
    let (mut ra, mut rb) = (None, None);
    core::future::poll_fn(|cx| {
        if ra.is_none() {
            if let Poll::Ready(v) = a.as_mut().poll(cx) {
                ra = Some(v);
            }
        }
        if rb.is_none() {
            if let Poll::Ready(v) = b.as_mut().poll(cx) {
                rb = Some(v);
            }
        }
        if ra.is_some() && rb.is_some() {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    })
    .await;
    (ra.unwrap(), rb.unwrap())
}
