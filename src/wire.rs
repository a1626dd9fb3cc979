//! The engine's output for the JavaScript driver, as one JSON text per step.
//!
//! One string crosses the boundary per step (the driver runs `JSON.parse` once), so a
//! cold exchange costs two crossings (the call and the answer) plus the store's, and building
//! JS objects field by field from wasm (a crossing per field) never happens.
//!
//! ```text
//! {"v": VERDICT?, "a": [ACTION...], "m": MEMO, "t": TIMEOUT}
//! VERDICT  {"w": flight} | {"ok": TOKEN} | {"err": ERROR}
//! ACTION   ["s", op]                      send the token request
//!          ["g", op, key]                 store get (key 0 entry, 1 lease, 2 quota)
//!          ["p", op, key, value, ttlS]    store put
//!          ["a", op, key, value, ttlMs]   store add
//!          ["d", op, key]                 store delete
//!          ["x", flight, TOKEN|null, ERROR|null]   settle the flight's callers
//!          ["e", EVENT]                   onEvent
//! MEMO     {"tok": TOKEN, "until": ms} | {"join": flight} | null
//! TIMEOUT  ms since the epoch, or null
//! TOKEN    {"accessToken", "tokenType", "expiresAt", "scope"?, "quota"?}  (API.md TokenInfo)
//! ERROR    {"code", "message", "status"?, "description"?, "uri"?, "retryAfterSeconds"?, "quota"?}
//! ```

use crate::encoding::{json_string_into, push_decimal};
use crate::engine::quota::{buckets_json, Bucket};
use crate::engine::{Action, Engine, Event, Key, LeaseState, Source, Verdict};
#[allow(unused_imports)]
use crate::prelude::*;
use crate::{Error, Token};

fn num(out: &mut String, n: f64) {
    if n.is_finite() && n >= 0.0 {
        push_decimal(out, crate::num::round(n) as u64);
    } else {
        out.push('0');
    }
}

fn field_str(out: &mut String, name: &str, value: &str) {
    out.push_str(",\"");
    out.push_str(name);
    out.push_str("\":");
    json_string_into(out, value);
}

/// A `TokenInfo` object.
pub fn token_json(out: &mut String, t: &Token, quota: &[Bucket]) {
    out.push_str("{\"accessToken\":");
    json_string_into(out, &t.access_token);
    field_str(out, "tokenType", &t.token_type);
    out.push_str(",\"expiresAt\":");
    num(out, t.expires_at_ms);
    if let Some(s) = &t.scope {
        field_str(out, "scope", s);
    }
    if !quota.is_empty() {
        out.push_str(",\"quota\":");
        buckets_json(out, quota);
    }
    out.push('}');
}

/// An `OAuthError`'s fields.
pub fn error_json(out: &mut String, e: &Error, quota: &[Bucket]) {
    out.push_str("{\"code\":");
    json_string_into(out, e.code());
    field_str(out, "message", &e.message());
    if let Some(s) = e.status() {
        out.push_str(",\"status\":");
        push_decimal(out, u64::from(s));
    }
    if let Some(d) = e.description() {
        field_str(out, "description", d);
    }
    if let Some(u) = e.uri() {
        field_str(out, "uri", u);
    }
    if let Some(r) = e.retry_after_seconds() {
        out.push_str(",\"retryAfterSeconds\":");
        push_decimal(out, r);
    }
    if !quota.is_empty() {
        out.push_str(",\"quota\":");
        buckets_json(out, quota);
    }
    out.push('}');
}

fn key(k: Key) -> char {
    match k {
        Key::Entry => '0',
        Key::Lease => '1',
        Key::Quota => '2',
    }
}

fn event_json(out: &mut String, e: &Event) {
    out.push_str("{\"type\":");
    match e {
        Event::Token {
            source,
            duration_ms,
        } => {
            out.push_str("\"token\"");
            field_str(
                out,
                "source",
                match source {
                    Source::Endpoint => "endpoint",
                    Source::Store => "store",
                },
            );
            out.push_str(",\"durationMs\":");
            num(out, *duration_ms);
        }
        Event::Retry {
            attempt,
            delay_ms,
            reason,
        } => {
            out.push_str("\"retry\",\"attempt\":");
            push_decimal(out, u64::from(*attempt));
            out.push_str(",\"delayMs\":");
            num(out, *delay_ms);
            field_str(out, "reason", reason);
        }
        Event::StaleServed {
            reason,
            expires_at_ms,
        } => {
            out.push_str("\"stale_served\"");
            field_str(out, "reason", reason);
            out.push_str(",\"expiresAt\":");
            num(out, *expires_at_ms);
        }
        Event::StoreError { operation } => {
            out.push_str("\"store_error\"");
            field_str(out, "operation", operation);
        }
        Event::Lease { state } => {
            out.push_str("\"lease\"");
            field_str(
                out,
                "state",
                match state {
                    LeaseState::Taken => "taken",
                    LeaseState::Waited => "waited",
                    LeaseState::Released => "released",
                },
            );
        }
        Event::Quota { buckets } => {
            out.push_str("\"quota\",\"quota\":");
            buckets_json(out, buckets);
        }
        Event::NegativeCache { code } => {
            out.push_str("\"negative_cache\"");
            field_str(out, "code", code);
        }
    }
    out.push('}');
}

/// The step's output: the verdict (for calls), every pending action, the memo and the
/// next timeout, at `now_ms`.
pub fn step(engine: &mut Engine, verdict: Option<&Verdict>, now_ms: f64) -> String {
    let mut out = String::with_capacity(256);
    out.push('{');
    if let Some(v) = verdict {
        out.push_str("\"v\":");
        match v {
            Verdict::Wait(f) => {
                out.push_str("{\"w\":");
                push_decimal(&mut out, u64::from(*f));
                out.push('}');
            }
            Verdict::Ready(Ok(t)) => {
                out.push_str("{\"ok\":");
                token_json(&mut out, t, engine.quota());
                out.push('}');
            }
            Verdict::Ready(Err(e)) => {
                out.push_str("{\"err\":");
                error_json(&mut out, e, engine.quota());
                out.push('}');
            }
        }
        out.push(',');
    }
    out.push_str("\"a\":[");
    let mut first = true;
    while let Some(a) = engine.poll_action() {
        if !first {
            out.push(',');
        }
        first = false;
        action_json(&mut out, &a, engine.quota());
    }
    out.push_str("],\"m\":");
    let memo = engine.memo(now_ms);
    match (memo.serve, memo.join) {
        (Some((t, until)), _) => {
            out.push_str("{\"tok\":");
            token_json(&mut out, t, engine.quota());
            out.push_str(",\"until\":");
            num(&mut out, until);
            out.push('}');
        }
        (None, Some(f)) => {
            out.push_str("{\"join\":");
            push_decimal(&mut out, u64::from(f));
            out.push('}');
        }
        (None, None) => out.push_str("null"),
    }
    out.push_str(",\"t\":");
    match engine.poll_timeout() {
        Some(t) if t.is_finite() => num(&mut out, crate::num::ceil(t)),
        _ => out.push_str("null"),
    }
    out.push('}');
    out
}

fn op_head(out: &mut String, tag: &str, op: u32) {
    out.push_str("[\"");
    out.push_str(tag);
    out.push_str("\",");
    push_decimal(out, u64::from(op));
}

fn action_json(out: &mut String, a: &Action, quota: &[Bucket]) {
    match a {
        Action::Send { op } => op_head(out, "s", *op),
        Action::Get { op, key: k } => {
            op_head(out, "g", *op);
            out.push(',');
            out.push(key(*k));
        }
        Action::Put {
            op,
            key: k,
            value,
            ttl_seconds,
        } => {
            op_head(out, "p", *op);
            out.push(',');
            out.push(key(*k));
            out.push(',');
            json_string_into(out, value);
            out.push(',');
            push_decimal(out, *ttl_seconds);
        }
        Action::Add {
            op,
            key: k,
            value,
            ttl_ms,
        } => {
            op_head(out, "a", *op);
            out.push(',');
            out.push(key(*k));
            out.push(',');
            json_string_into(out, value);
            out.push(',');
            push_decimal(out, *ttl_ms);
        }
        Action::Delete { op, key: k } => {
            op_head(out, "d", *op);
            out.push(',');
            out.push(key(*k));
        }
        Action::Settle { flight, outcome } => {
            op_head(out, "x", *flight);
            match outcome {
                Ok(t) => {
                    out.push(',');
                    token_json(out, t, quota);
                    out.push_str(",null");
                }
                Err(e) => {
                    out.push_str(",null,");
                    error_json(out, e, quota);
                }
            }
        }
        Action::Event(e) => {
            out.push_str("[\"e\",");
            event_json(out, e);
        }
    }
    out.push(']');
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Config, ConfigInput};
    use crate::engine::{AnswerHeaders, Outcome, Policy};

    #[test]
    fn a_cold_exchange_on_the_wire() {
        let config = Config::new(ConfigInput {
            client_id: Some("id".into()),
            client_secret: Some(crate::ClientSecret::new("s")),
            ..ConfigInput::default()
        })
        .unwrap();
        let mut e = Engine::new(Policy::new(&config, None), 1);
        let v = e.call(1000.0);
        assert_eq!(
            step(&mut e, Some(&v), 1000.0),
            r#"{"v":{"w":1},"a":[["s",2]],"m":{"join":1},"t":12000}"#
        );
        e.handle(
            1500.0,
            2,
            Outcome::Answer {
                status: 200,
                body: Some(r#"{"access_token":"t\"1","expires_in":3600,"scope":"a"}"#),
                headers: AnswerHeaders {
                    client_quota: Some("b=per_hour;q=10;r=7;t=3540"),
                    ..AnswerHeaders::default()
                },
            },
        );
        let out = step(&mut e, None, 1500.0);
        let q = r#""quota":[{"bucket":"per_hour","limit":10,"remaining":7,"resetSeconds":3540}]"#;
        assert!(out.contains(&format!(
            r#"["x",1,{{"accessToken":"t\"1","tokenType":"Bearer","expiresAt":3601000,"scope":"a",{q}}},null]"#
        )), "{out}");
        assert!(
            out.contains(r#"["e",{"type":"token","source":"endpoint","durationMs":500}]"#),
            "{out}"
        );
        assert!(out.contains(r#""until":3541000}"#), "{out}");
        assert!(out.ends_with(r#","t":null}"#), "{out}");
        crate::json::parse_object(&out).expect("valid JSON");
    }

    #[test]
    fn errors_on_the_wire() {
        let mut s = String::new();
        error_json(
            &mut s,
            &Error::QuotaExceeded {
                retry_after_seconds: 9,
            },
            &[],
        );
        assert_eq!(
            s,
            r#"{"code":"quota_exceeded","message":"the token endpoint's quota is used up; retry in 9 s","retryAfterSeconds":9}"#
        );
    }
}
