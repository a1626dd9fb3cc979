//! When a cached token may still be used, over a [`Clock`], with no I/O.

use crate::encoding::{json_string_into, push_decimal};
use crate::json::{self, Field};
use crate::Token;

/// A source of the current time. In wasm it is `Date.now()`; in tests a fake.
pub trait Clock {
    /// Milliseconds since the Unix epoch.
    fn now_ms(&self) -> f64;
}

/// Whether `token` may still be handed out at `now_ms`.
///
/// A token is renewed once fewer than `min(leeway, lifetime / 2)` remain, so a
/// short-lived token (shorter than twice the leeway) is still reused for half its life.
/// A token with no lifetime is never reused.
pub fn is_fresh(token: &Token, now_ms: f64, leeway_ms: f64) -> bool {
    let lifetime = token.expires_at_ms - token.obtained_at_ms;
    if lifetime.is_nan() || lifetime <= 0.0 {
        return false;
    }
    let margin = leeway_ms.min(lifetime / 2.0);
    now_ms < token.expires_at_ms - margin
}

/// One client's cached token, with a payload `X` kept beside it (the wasm layer keeps
/// the ready-made JavaScript `TokenInfo` there).
#[derive(Debug)]
pub struct TokenCache<X = ()> {
    /// The token, its payload, and until when it is used even though it is due for
    /// renewal (while another holder of the refresh lease renews it).
    entry: Option<(Token, X, f64)>,
}

impl<X> Default for TokenCache<X> {
    fn default() -> Self {
        TokenCache { entry: None }
    }
}

impl<X> TokenCache<X> {
    /// The cached token and its payload, if the token is fresh at `clock`'s time, or
    /// held (see [`TokenCache::put_held`]) and not expired.
    pub fn get(&self, clock: &impl Clock, leeway_ms: f64) -> Option<(&Token, &X)> {
        let now = clock.now_ms();
        self.entry
            .as_ref()
            .filter(|(t, _, hold)| {
                is_fresh(t, now, leeway_ms) || (now < *hold && now < t.expires_at_ms)
            })
            .map(|(t, x, _)| (t, x))
    }

    /// Keeps `token`, unless the cache holds one that expires later.
    pub fn put(&mut self, token: Token, extra: X) {
        self.put_held(token, extra, f64::NEG_INFINITY);
    }

    /// Keeps `token` and uses it until `hold_until_ms` (never past its expiry) even
    /// though it is due for renewal: someone else renews it.
    pub fn put_held(&mut self, token: Token, extra: X, hold_until_ms: f64) {
        match &self.entry {
            Some((t, _, _)) if t.expires_at_ms > token.expires_at_ms => {}
            _ => self.entry = Some((token, extra, hold_until_ms)),
        }
    }

    /// Forgets the token if it is `access_token` (or any token, for `None`).
    /// Returns whether something was forgotten.
    pub fn forget(&mut self, access_token: Option<&str>) -> bool {
        let hit = match (&self.entry, access_token) {
            (Some(_), None) => true,
            (Some((t, _, _)), Some(a)) => t.access_token == a,
            (None, _) => false,
        };
        if hit {
            self.entry = None;
        }
        hit
    }
}

/// What a client does with the entry it read from the shared store.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StorePlan {
    /// Fresh: use it.
    Use,
    /// Due for renewal but still valid for at least [`MIN_VALIDITY_MS`]: renew it if
    /// this client wins the refresh lease, else keep using it.
    Renew,
    /// Missing, expired or about to: whoever wins the lease fetches a token; the others
    /// wait for it in the store, for at most the lease time.
    Fetch,
}

/// A stored token with less validity left than this is not handed out.
pub const MIN_VALIDITY_MS: f64 = 5_000.0;
/// How often a client waiting for the lease holder looks into the store.
pub const POLL_MS: f64 = 250.0;

/// The plan for `entry` at `now_ms`.
pub fn plan(entry: Option<&Token>, now_ms: f64, leeway_ms: f64) -> StorePlan {
    match entry {
        Some(t) if is_fresh(t, now_ms, leeway_ms) => StorePlan::Use,
        Some(t) if now_ms + MIN_VALIDITY_MS < t.expires_at_ms => StorePlan::Renew,
        _ => StorePlan::Fetch,
    }
}

/// How long a refresh lease lasts: one full exchange with its retries, plus a second,
/// within 2 to 30 s. A holder that dies delays the renewal by at most this much.
pub fn lease_ms(timeout_ms: u32, max_retries: u32) -> f64 {
    let exchange = u64::from(timeout_ms) * u64::from(max_retries + 1) + 1000;
    exchange.clamp(2_000, 30_000) as f64
}

/// Until when a client that lost the lease keeps using `token` before it looks again.
pub fn hold_until(token: &Token, now_ms: f64, lease_ms: f64) -> f64 {
    now_ms + lease_ms.min((token.expires_at_ms - now_ms) / 2.0)
}

/// A token as a shared-store entry (JSON; the store layer seals it).
pub fn encode_entry(t: &Token) -> String {
    let mut s = String::with_capacity(t.access_token.len() + 128);
    s.push_str("{\"accessToken\":");
    json_string_into(&mut s, &t.access_token);
    s.push_str(",\"tokenType\":");
    json_string_into(&mut s, &t.token_type);
    // Whole milliseconds, printed as integers (float printing costs kilobytes of wasm).
    s.push_str(",\"obtainedAt\":");
    push_decimal(&mut s, t.obtained_at_ms.max(0.0) as u64);
    s.push_str(",\"expiresAt\":");
    push_decimal(&mut s, t.expires_at_ms.max(0.0) as u64);
    if let Some(scope) = &t.scope {
        s.push_str(",\"scope\":");
        json_string_into(&mut s, scope);
    }
    s.push('}');
    s
}

/// A shared-store entry back as a token; `None` for anything malformed.
pub fn decode_entry(text: &str) -> Option<Token> {
    let obj = json::parse_object(text).ok()?;
    let num = |n: &str| match obj.field(n) {
        Field::Num(v) if v.is_finite() => Some(v),
        _ => None,
    };
    let access_token = obj.field("accessToken").as_str()?.to_owned();
    let token_type = obj.field("tokenType").as_str()?.to_owned();
    if access_token.is_empty() || token_type.is_empty() {
        return None;
    }
    let scope = match obj.field("scope") {
        Field::Missing => None,
        Field::Str(s) => Some(s),
        _ => return None,
    };
    Some(Token {
        access_token,
        token_type,
        obtained_at_ms: num("obtainedAt")?,
        expires_at_ms: num("expiresAt")?,
        scope,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::cell::Cell;

    struct FakeClock(Cell<f64>);
    impl Clock for FakeClock {
        fn now_ms(&self) -> f64 {
            self.0.get()
        }
    }

    fn token(name: &str, obtained: f64, lifetime_s: f64) -> Token {
        Token {
            access_token: name.into(),
            token_type: "Bearer".into(),
            obtained_at_ms: obtained,
            expires_at_ms: obtained + lifetime_s * 1000.0,
            scope: None,
        }
    }

    #[test]
    fn renews_leeway_before_expiry() {
        let t = token("a", 0.0, 3600.0);
        let leeway = 60_000.0;
        assert!(is_fresh(&t, 0.0, leeway));
        assert!(is_fresh(&t, 3_539_999.0, leeway));
        assert!(!is_fresh(&t, 3_540_000.0, leeway));
        assert!(!is_fresh(&t, 3_600_000.0, leeway));
        assert!(!is_fresh(&t, 9e15, leeway));
    }

    #[test]
    fn short_lifetimes_use_half_the_lifetime() {
        // 30 s token, 60 s leeway: min(60, 15) = 15 s margin, reused for 15 s.
        let t = token("a", 1000.0, 30.0);
        assert!(is_fresh(&t, 1000.0 + 14_999.0, 60_000.0));
        assert!(!is_fresh(&t, 1000.0 + 15_000.0, 60_000.0));
        // Zero leeway: used to the last millisecond.
        assert!(is_fresh(&t, 30_999.0, 0.0));
        assert!(!is_fresh(&t, 31_000.0, 0.0));
    }

    #[test]
    fn zero_or_negative_lifetime_is_never_fresh() {
        assert!(!is_fresh(&token("a", 5.0, 0.0), 5.0, 0.0));
        assert!(!is_fresh(&token("a", 5.0, -1.0), 0.0, 0.0));
    }

    #[test]
    fn cache_over_a_fake_clock() {
        let clock = FakeClock(Cell::new(0.0));
        let mut cache: TokenCache = TokenCache::default();
        assert!(cache.get(&clock, 60_000.0).is_none());
        cache.put(token("a", 0.0, 3600.0), ());
        assert_eq!(cache.get(&clock, 60_000.0).unwrap().0.access_token, "a");
        clock.0.set(3_540_000.0);
        assert!(cache.get(&clock, 60_000.0).is_none());
        // A token that expires earlier does not replace a later one.
        cache.put(token("b", 3_540_000.0, 3600.0), ());
        cache.put(token("old", 0.0, 10.0), ());
        assert_eq!(cache.get(&clock, 60_000.0).unwrap().0.access_token, "b");
        assert!(!cache.forget(Some("a")));
        assert!(cache.forget(Some("b")));
        assert!(cache.get(&clock, 60_000.0).is_none());
        cache.put(token("c", 3_540_000.0, 3600.0), ());
        assert!(cache.forget(None));
        assert!(!cache.forget(None));
    }

    #[test]
    fn store_entries_round_trip() {
        let mut t = token("tok\"en", 1_700_000_000_123.0, 3600.0);
        t.expires_at_ms += 0.4; // not a whole millisecond: stored rounded down
        t.scope = Some("read write".into());
        let mut expected = t.clone();
        expected.expires_at_ms -= 0.4;
        let text = encode_entry(&t);
        assert_eq!(decode_entry(&text), Some(expected));
        t.scope = None;
        t.expires_at_ms = 1_700_000_000_999.0;
        assert_eq!(decode_entry(&encode_entry(&t)), Some(t));
        for bad in [
            "",
            "[]",
            r#"{"accessToken":"a","tokenType":"Bearer","obtainedAt":1}"#,
            r#"{"accessToken":"","tokenType":"Bearer","obtainedAt":1,"expiresAt":2}"#,
            r#"{"accessToken":"a","tokenType":"Bearer","obtainedAt":"1","expiresAt":2}"#,
            r#"{"accessToken":"a","tokenType":"Bearer","obtainedAt":1,"expiresAt":2,"scope":3}"#,
        ] {
            assert_eq!(decode_entry(bad), None, "{bad}");
        }
    }

    #[test]
    fn held_tokens_are_used_until_the_hold_ends_but_never_expired() {
        let clock = FakeClock(Cell::new(3_550_000.0)); // inside the 60 s leeway
        let mut cache: TokenCache = TokenCache::default();
        cache.put_held(token("a", 0.0, 3600.0), (), 3_560_000.0);
        assert!(cache.get(&clock, 60_000.0).is_some());
        clock.0.set(3_560_000.0);
        assert!(cache.get(&clock, 60_000.0).is_none(), "hold over");
        cache.put_held(token("b", 0.0, 3600.0), (), f64::INFINITY);
        clock.0.set(3_600_000.0);
        assert!(cache.get(&clock, 60_000.0).is_none(), "expired");
    }

    #[test]
    fn store_plans() {
        let t = token("a", 0.0, 3600.0);
        assert_eq!(plan(Some(&t), 0.0, 60_000.0), StorePlan::Use);
        assert_eq!(plan(Some(&t), 3_540_000.0, 60_000.0), StorePlan::Renew);
        assert_eq!(plan(Some(&t), 3_594_999.0, 60_000.0), StorePlan::Renew);
        assert_eq!(plan(Some(&t), 3_595_000.0, 60_000.0), StorePlan::Fetch);
        assert_eq!(plan(Some(&t), 9e12, 60_000.0), StorePlan::Fetch);
        assert_eq!(plan(None, 0.0, 60_000.0), StorePlan::Fetch);
    }

    #[test]
    fn lease_and_hold_times() {
        assert_eq!(lease_ms(10_000, 2), 30_000.0);
        assert_eq!(lease_ms(1_000, 2), 4_000.0);
        assert_eq!(lease_ms(100, 0), 2_000.0);
        assert_eq!(lease_ms(600_000, 10), 30_000.0);
        let t = token("a", 0.0, 100.0);
        assert_eq!(hold_until(&t, 90_000.0, 30_000.0), 95_000.0);
        assert_eq!(hold_until(&t, 0.0, 2_000.0), 2_000.0);
    }
}
