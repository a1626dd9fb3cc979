//! The exports the npm package's JavaScript driver (`pkg/core.js`) calls: strings in,
//! one JSON string out per step ([`crate::wire`]). No JS object is touched from here,
//! so no JS exception can unwind through wasm frames, and nothing is decided here:
//! [`crate::options`] reads the options, [`Engine`] decides, [`crate::wire`] encodes.
//!
//! Engines live in a slot table; a freed or unknown id answers with an error instead
//! of touching freed memory. Quota blocks are shared by the engines of one client id
//! at one token URL (API.md "Quota").

use crate::config::{Config, ConfigInput};
use crate::credentials;
use crate::encoding::{json_string_into, push_decimal};
use crate::engine::{AnswerHeaders, Engine, Outcome, Policy, StoreCaps};
use crate::json::Field;
use crate::options::{self, JsSide};
#[allow(unused_imports)]
use crate::prelude::*;
use crate::{request, wire, Error};
use core::cell::RefCell;
use wasm_bindgen::prelude::*;

struct Slot {
    engine: Engine,
    /// The token URL and client id, NUL-separated: quota blocks are shared by key.
    quota_key: String,
}

/// The engines, by id. A `static` rather than `thread_local!` (std only).
struct Slots(RefCell<Vec<Option<Slot>>>);

// SAFETY: this module is compiled only for wasm32 without the atomics feature, where
// there is exactly one thread: the table is never reached from two threads.
#[allow(unsafe_code)]
unsafe impl Sync for Slots {}

static SLOTS: Slots = Slots(RefCell::new(Vec::new()));

/// The table. Never borrowed twice (each export borrows it once and calls no JS), so
/// the impossible case traps without `borrow_mut`'s panic message and location.
fn slots() -> core::cell::RefMut<'static, Vec<Option<Slot>>> {
    match SLOTS.0.try_borrow_mut() {
        Ok(s) => s,
        Err(_) => core::arch::wasm32::unreachable(),
    }
}

fn error_out(e: &Error) -> String {
    let mut s = String::from("{\"error\":");
    wire::error_json(&mut s, e, &[]);
    s.push('}');
    s
}

fn freed() -> String {
    error_out(&Error::config("this TokenClient was freed"))
}

/// The identity of a token: what the store key and the one-shot cache are derived
/// from (token URL, client id, audience, scope; `\u{1}` for none, NUL-separated).
fn store_parts(c: &Config) -> String {
    let mut key = String::with_capacity(128);
    for (i, part) in [
        c.token_url(),
        c.client_id(),
        c.audience().unwrap_or("\u{1}"),
        c.scope().unwrap_or("\u{1}"),
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

fn input_for(kind: u32, doc: &str, base: &str) -> Result<(ConfigInput, JsSide), Error> {
    match kind {
        0 => options::read(doc),
        _ => {
            let base = options::document(
                base,
                if kind == 1 {
                    "the credentials"
                } else {
                    "the environment"
                },
            )?;
            let input = if kind == 1 {
                credentials::from_credentials(&base)?
            } else {
                credentials::from_env(|n| match base.field(n) {
                    Field::Str(s) => Some(s),
                    _ => None,
                })
            };
            let (o, js) = options::read(doc)?;
            Ok((input.merged(o), js))
        }
    }
}

/// Creates an engine. `kind`: 0 a `ClientConfig` document; 1 a credentials file (`base`)
/// with overrides (`doc`); 2 environment variables (`base`, see [`env_names`]) with
/// overrides. Answers `{"id", "request": {"url","headers","body"}, "key", "storeMs",
/// "timeoutMs"}` or `{"error": ERROR}`.
#[wasm_bindgen]
pub fn create(kind: u32, doc: &str, base: &str, seed: f64) -> String {
    let (input, js) = match input_for(kind, doc, base) {
        Ok(v) => v,
        Err(e) => return error_out(&e),
    };
    let secret = input.client_secret.clone();
    let config = match Config::new(input) {
        Ok(c) => c,
        Err(e) => {
            let mut e = e;
            if let (Error::InvalidConfig { reason }, Some(s)) = (&mut e, secret) {
                *reason = s.redact(reason);
            }
            return error_out(&e);
        }
    };
    let store_ms = f64::from(config.timeout_ms().min(1000));
    // A static token is never stored.
    let caps = js
        .store
        .filter(|_| config.access_token().is_none())
        .map(|(atomic_add, delete)| StoreCaps {
            atomic_add,
            delete,
            timeout_ms: store_ms,
        });
    let req = request::build(&config);
    let mut out = String::with_capacity(512);
    out.push_str("{\"request\":{\"url\":");
    json_string_into(&mut out, &req.url);
    out.push_str(",\"headers\":[");
    for (i, (name, value)) in req.headers.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push('[');
        json_string_into(&mut out, name);
        out.push(',');
        json_string_into(&mut out, value);
        out.push(']');
    }
    out.push_str("],\"body\":");
    json_string_into(&mut out, &req.body);
    out.push_str("},\"key\":");
    json_string_into(&mut out, &store_parts(&config));
    out.push_str(",\"timeoutMs\":");
    push_decimal(&mut out, u64::from(config.timeout_ms()));
    out.push_str(",\"storeMs\":");
    push_decimal(&mut out, store_ms as u64);
    if caps.is_some() {
        // The store is sealed with exactly the secret validated here: the driver does
        // not read it again (a getter may answer differently the second time).
        out.push_str(",\"seal\":");
        json_string_into(&mut out, config.client_secret().expose());
    }
    let mut quota_key = config.token_url().to_owned();
    quota_key.push('\0');
    quota_key.push_str(config.client_id());
    let mut engine = Engine::new(Policy::new(&config, caps), seed.to_bits());
    if let Some(t) = &config.access_token() {
        engine.serve_static(t);
    }
    let id = {
        let mut slots = slots();
        // A client made while its id is blocked is blocked too (a past block is inert).
        for s in slots.iter().flatten().filter(|s| s.quota_key == quota_key) {
            if let Some(until) = s.engine.quota_blocked_until(f64::NEG_INFINITY) {
                engine.block_quota(until);
            }
        }
        let slot = Some(Slot { engine, quota_key });
        match slots.iter().position(Option::is_none) {
            Some(i) => {
                if let Some(s) = slots.get_mut(i) {
                    *s = slot;
                }
                i
            }
            None => {
                slots.push(slot);
                slots.len() - 1
            }
        }
    };
    out.push_str(",\"id\":");
    push_decimal(&mut out, id as u64);
    out.push('}');
    out
}

/// The environment variables `create(2, …)` reads, as a JSON array, in order.
#[wasm_bindgen(js_name = envNames)]
pub fn env_names() -> String {
    let mut out = String::from("[");
    let names = credentials::ENV_VARS.iter().flat_map(|n| n.iter());
    for (i, n) in names.enumerate() {
        if i > 0 {
            out.push(',');
        }
        json_string_into(&mut out, n);
    }
    out.push(']');
    out
}

/// Runs `f` on engine `id`, then shares a quota block with its siblings and encodes
/// the step.
fn with(
    id: u32,
    now: f64,
    f: impl FnOnce(&mut Engine) -> Option<crate::engine::Verdict>,
) -> String {
    {
        let mut slots = slots();
        let Some(Some(slot)) = slots.get_mut(id as usize) else {
            return freed();
        };
        let verdict = f(&mut slot.engine);
        let out = wire::step(&mut slot.engine, verdict.as_ref(), now);
        if let Some(until) = slot.engine.quota_blocked_until(now) {
            let key = slot.quota_key.clone();
            for s in slots.iter_mut().flatten() {
                if s.quota_key == key {
                    s.engine.block_quota(until);
                }
            }
        }
        out
    }
}

/// One event for engine `id` at `now` (one export for all of them: each export costs
/// the `.wasm` its own copy of the string glue and of the step encoder):
///
/// - `kind` 0 a call, 1 a 401 to the token `text`, 2 `clear()`, 3 the timeout;
/// - 10: the token endpoint's answer to `op`: `status`, the headers the engine reads in
///   `text` (a JSON object with lower-case names; `Retry-After` and `Date` already parsed
///   by the driver as `retry-after-ms` and `date-ms`) and the `body` (`None` when larger
///   than 1 MiB);
/// - 20 + k, any other outcome of `op`: k = 0 network failure (`text`: what the runtime
///   said), 1 timeout, 2 store value (`text`, or none), 3 `add` won, 4 `add` lost,
///   5 done, 6 the store failed.
#[wasm_bindgen]
pub fn step(
    id: u32,
    now: f64,
    kind: u32,
    op: u32,
    status: u16,
    text: Option<String>,
    body: Option<String>,
) -> String {
    let text = text.as_deref();
    if kind < 10 {
        return with(id, now, |e| match kind {
            0 => Some(e.call(now)),
            1 => Some(e.reject(now, text.unwrap_or(""))),
            2 => {
                e.clear(now);
                None
            }
            _ => {
                e.handle_timeout(now);
                None
            }
        });
    }
    let h = options::document(text.unwrap_or("{}"), "headers").unwrap_or_default();
    let get = |n: &str| h.field(n).as_str().map(str::to_owned);
    let num = |n: &str| match h.field(n) {
        Field::Num(v) => Some(v),
        _ => None,
    };
    let (cq, oq) = (
        get("auth0-client-quota-limit"),
        get("auth0-organization-quota-limit"),
    );
    let (rl, rr, rt) = (
        get("x-ratelimit-limit"),
        get("x-ratelimit-remaining"),
        get("x-ratelimit-reset"),
    );
    let rate_limit = match (&rl, &rr, &rt) {
        (Some(l), Some(r), Some(t)) => Some((l.as_str(), r.as_str(), t.as_str())),
        _ => None,
    };
    let o = match kind {
        10 => Outcome::Answer {
            status,
            body: body.as_deref(),
            headers: AnswerHeaders {
                retry_after_ms: num("retry-after-ms"),
                date_ms: num("date-ms"),
                client_quota: cq.as_deref(),
                organization_quota: oq.as_deref(),
                rate_limit,
            },
        },
        20 => Outcome::Failed {
            timeout: false,
            message: text.unwrap_or("fetch failed"),
        },
        21 => Outcome::Failed {
            timeout: true,
            message: "",
        },
        22 => Outcome::Value(text),
        23 => Outcome::Added(true),
        24 => Outcome::Added(false),
        25 => Outcome::Done,
        _ => Outcome::StoreFailed,
    };
    with(id, now, |e| {
        e.handle(now, op, o);
        None
    })
}

/// Frees engine `id` (the JS client was collected or `free()`d).
#[wasm_bindgen]
pub fn free(id: u32) {
    {
        if let Some(s) = slots().get_mut(id as usize) {
            *s = None;
        }
    }
}
