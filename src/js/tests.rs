//! The JS layer in a real runtime (Node, through wasm-bindgen-test-runner), with an
//! injected `fetch`: timeouts abort, errors become `OAuthError`s with the right
//! fields, concurrent callers share one exchange.

use super::api::JsTokenClient;
use super::{Extras, TokenClient};
use crate::config::{ClientSecret, Config, ConfigInput};
use js_sys::{Function, Object, Promise, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::*;

/// A `fetch` written in JS. `calls` counts invocations in `globalThis[counter]`.
fn js_fetch(counter: &str, body: &str) -> JsValue {
    let src = format!("globalThis['{counter}'] = 0; return async (url, init) => {{ globalThis['{counter}']++; {body} }};");
    Function::new_no_args(&src).call0(&JsValue::NULL).unwrap()
}

fn global(name: &str) -> JsValue {
    Reflect::get(&js_sys::global(), &JsValue::from_str(name)).unwrap()
}

fn config(extra: &[(&str, JsValue)], fetch: JsValue) -> JsValue {
    let o = Object::new();
    let set = |k: &str, v: &JsValue| Reflect::set(&o, &JsValue::from_str(k), v).unwrap();
    set("clientId", &"id".into());
    set("clientSecret", &"sup3r-s3cret".into());
    set("tokenUrl", &"http://127.0.0.1:9/oauth/token".into());
    set("fetch", &fetch);
    for (k, v) in extra {
        set(k, v);
    }
    o.into()
}

async fn rejection(p: Promise) -> JsValue {
    JsFuture::from(p).await.expect_err("expected a rejection")
}

fn field(v: &JsValue, k: &str) -> JsValue {
    Reflect::get(v, &JsValue::from_str(k)).unwrap()
}

#[wasm_bindgen_test]
async fn a_token_from_an_injected_fetch() {
    let fetch = js_fetch(
        "okCalls",
        "return new Response(JSON.stringify({access_token: 'tok', token_type: 'bearer', expires_in: 3600}), {status: 200});",
    );
    let c = JsTokenClient::new(config(&[], fetch)).unwrap();
    let t = JsFuture::from(c.get_token()).await.unwrap();
    assert_eq!(t.as_string().as_deref(), Some("tok"));
    let h = JsFuture::from(c.authorization_header()).await.unwrap();
    assert_eq!(h.as_string().as_deref(), Some("Bearer tok"));
    assert_eq!(global("okCalls").as_f64(), Some(1.0));
}

#[wasm_bindgen_test]
async fn concurrent_callers_share_one_exchange() {
    let fetch = js_fetch(
        "flightCalls",
        "await new Promise(r => setTimeout(r, 20)); return new Response(JSON.stringify({access_token: 'shared', expires_in: 60}));",
    );
    let c = JsTokenClient::new(config(&[], fetch)).unwrap();
    let all = js_sys::Array::new();
    for _ in 0..50 {
        all.push(&c.get_token());
    }
    let results = JsFuture::from(Promise::all(&all)).await.unwrap();
    let results: js_sys::Array = results.unchecked_into();
    assert_eq!(results.length(), 50);
    assert!(results
        .iter()
        .all(|v| v.as_string().as_deref() == Some("shared")));
    assert_eq!(global("flightCalls").as_f64(), Some(1.0));
}

#[wasm_bindgen_test]
async fn a_stalled_server_times_out_and_the_request_is_aborted() {
    let fetch = js_fetch(
        "stallCalls",
        "return new Promise((_, reject) => init.signal.addEventListener('abort', () => { globalThis.aborted = true; reject(new Error('aborted')); }));",
    );
    let c = JsTokenClient::new(config(
        &[("timeoutMs", 50.into()), ("maxRetries", 0.into())],
        fetch,
    ))
    .unwrap();
    let err = rejection(c.get_token()).await;
    assert_eq!(field(&err, "code").as_string().as_deref(), Some("timeout"));
    assert!(field(&err, "status").is_undefined());
    assert_eq!(global("aborted"), JsValue::TRUE);
}

#[wasm_bindgen_test]
async fn a_fetch_that_ignores_the_signal_still_times_out() {
    let fetch = js_fetch("deafCalls", "return new Promise(() => {});");
    let c = JsTokenClient::new(config(
        &[("timeoutMs", 30.into()), ("maxRetries", 1.into())],
        fetch,
    ))
    .unwrap();
    let err = rejection(c.get_token()).await;
    assert_eq!(field(&err, "code").as_string().as_deref(), Some("timeout"));
    assert_eq!(global("deafCalls").as_f64(), Some(2.0), "one retry");
}

#[wasm_bindgen_test]
async fn server_errors_become_oauth_errors_without_the_secret() {
    let fetch = js_fetch(
        "denyCalls",
        "return new Response(JSON.stringify({error: 'invalid_client', error_description: 'bad secret sup3r-s3cret', error_uri: 'https://e/'}), {status: 401});",
    );
    let c = JsTokenClient::new(config(&[], fetch)).unwrap();
    let err = rejection(c.get_token()).await;
    let class: Function = super::error_class().unchecked_into();
    assert!(err.is_instance_of::<js_sys::Error>());
    assert!(js_sys::Reflect::get(&class, &"prototype".into())
        .map(|p| js_sys::Object::is(&p, &js_sys::Object::get_prototype_of(&err).into()))
        .unwrap());
    assert_eq!(
        field(&err, "name").as_string().as_deref(),
        Some("OAuthError")
    );
    assert_eq!(
        field(&err, "code").as_string().as_deref(),
        Some("invalid_client")
    );
    assert_eq!(field(&err, "status").as_f64(), Some(401.0));
    assert_eq!(
        field(&err, "uri").as_string().as_deref(),
        Some("https://e/")
    );
    assert_eq!(
        field(&err, "description").as_string().as_deref(),
        Some("bad secret [redacted]")
    );
    let text = js_sys::JSON::stringify(&err).unwrap().as_string().unwrap()
        + &field(&err, "message").as_string().unwrap()
        + &field(&err, "stack").as_string().unwrap_or_default();
    assert!(!text.contains("sup3r-s3cret"), "{text}");
    assert_eq!(
        global("denyCalls").as_f64(),
        Some(1.0),
        "4xx is not retried"
    );
}

#[wasm_bindgen_test]
async fn network_errors_and_bad_bodies() {
    let fetch = js_fetch("netCalls", "throw new TypeError('fetch failed');");
    let c = JsTokenClient::new(config(&[("maxRetries", 0.into())], fetch)).unwrap();
    let err = rejection(c.get_token()).await;
    assert_eq!(
        field(&err, "code").as_string().as_deref(),
        Some("network_error")
    );
    assert!(field(&err, "status").is_undefined());

    let fetch = js_fetch(
        "htmlCalls",
        "return new Response('<html>hi</html>', {status: 200});",
    );
    let c = JsTokenClient::new(config(&[], fetch)).unwrap();
    let err = rejection(c.get_token()).await;
    assert_eq!(
        field(&err, "code").as_string().as_deref(),
        Some("invalid_response")
    );
    assert_eq!(field(&err, "status").as_f64(), Some(200.0));

    let fetch = js_fetch(
        "bigCalls",
        "return new Response(new Uint8Array(2 * 1024 * 1024 + 1), {status: 200});",
    );
    let c = JsTokenClient::new(config(&[], fetch)).unwrap();
    let err = rejection(c.get_token()).await;
    assert_eq!(
        field(&err, "code").as_string().as_deref(),
        Some("invalid_response")
    );
}

#[wasm_bindgen_test]
async fn transient_failures_are_retried() {
    let fetch = js_fetch(
        "flakyCalls",
        "if (globalThis.flakyCalls < 3) return new Response('busy', {status: 503, headers: {'retry-after': '0'}}); return new Response(JSON.stringify({access_token: 'third'}));",
    );
    let c = JsTokenClient::new(config(&[], fetch)).unwrap();
    let t = JsFuture::from(c.get_token()).await.unwrap();
    assert_eq!(t.as_string().as_deref(), Some("third"));
    assert_eq!(global("flakyCalls").as_f64(), Some(3.0));
}

#[wasm_bindgen_test]
fn invalid_configs_throw_synchronously() {
    for cfg in [
        JsValue::UNDEFINED,
        JsValue::from_str("nope"),
        config(
            &[("tokenUrl", "http://example.com/t".into())],
            JsValue::UNDEFINED,
        ),
        config(&[("bogus", 1.into())], JsValue::UNDEFINED),
        config(&[("clientSecret", 42.into())], JsValue::UNDEFINED),
        config(&[("timeoutMs", (-1).into())], JsValue::UNDEFINED),
        config(&[("fetch", "not a function".into())], JsValue::UNDEFINED),
    ] {
        let err = JsTokenClient::new(cfg).err().expect("must throw");
        assert_eq!(
            field(&err, "code").as_string().as_deref(),
            Some("invalid_config")
        );
    }
}

#[wasm_bindgen_test]
async fn the_rust_api_on_wasm32() {
    let fetch = js_fetch(
        "rustCalls",
        "return new Response(JSON.stringify({access_token: 'r', expires_in: 100, scope: 'read'}));",
    );
    let config = Config::new(ConfigInput {
        client_id: Some("id".into()),
        client_secret: Some(ClientSecret::new("s")),
        token_url: Some("http://localhost:1/t".into()),
        ..ConfigInput::default()
    })
    .unwrap();
    let client = TokenClient::with_extras(
        config,
        Extras {
            fetch,
            ..Extras::default()
        },
    );
    assert_eq!(client.authorization_header().await.unwrap(), "Bearer r");
    let info = client.token_info().await.unwrap();
    assert_eq!(info.scope.as_deref(), Some("read"));
    assert!(info.expires_at_ms > js_sys::Date::now());
    client.clear();
    assert_eq!(client.get_token().await.unwrap(), "r");
    assert_eq!(global("rustCalls").as_f64(), Some(2.0), "clear() forgets");
}
