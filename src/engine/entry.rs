//! The shared store's values: the token entry (sealed by the driver) and the lease.

use crate::encoding::{json_string_into, push_decimal};
use crate::json::{parse_object, Field};
#[allow(unused_imports)]
use crate::prelude::*;
use crate::response::Token;

/// A token as a store entry (JSON; the driver seals it with AES-GCM before writing).
pub fn encode(t: &Token) -> String {
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

/// A store entry back as a token; `None` for anything malformed (a miss).
pub fn decode(text: &str) -> Option<Token> {
    let obj = parse_object(text).ok()?;
    let num = |n: &str| match obj.field(n) {
        Field::Num(v) if v.is_finite() => Some(v),
        _ => None,
    };
    let access_token = obj.field("accessToken").as_str()?.to_owned();
    let token_type = obj.field("tokenType").as_str()?.to_owned();
    if access_token.is_empty()
        || !access_token.bytes().all(|b| (0x20..=0x7e).contains(&b))
        || !token_type.eq_ignore_ascii_case("bearer")
    {
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

/// A lease value: a random id and the lease's expiry (ms), `"<hex id>.<expiry>"`.
pub fn lease_value(id: u64, expires_at_ms: f64) -> String {
    let mut s = String::with_capacity(40);
    for shift in (0..16).rev() {
        let nibble = ((id >> (shift * 4)) & 0xf) as u8;
        s.push(char::from(if nibble < 10 {
            b'0' + nibble
        } else {
            b'a' + nibble - 10
        }));
    }
    s.push('.');
    push_decimal(&mut s, expires_at_ms.max(0.0) as u64);
    s
}

/// The same lease marked as given back (expiry 0), for stores without `delete`.
pub fn released_lease(value: &str) -> String {
    let id = value.split_once('.').map_or(value, |(id, _)| id);
    let mut s = id.to_owned();
    s.push_str(".0");
    s
}

/// When a lease value expires (ms); anything malformed has expired.
pub fn lease_expiry(value: &str) -> f64 {
    value
        .split_once('.')
        .and_then(|(_, at)| {
            (!at.is_empty() && at.len() < 17 && at.bytes().all(|b| b.is_ascii_digit()))
                .then(|| at.bytes().fold(0.0, |n, b| n * 10.0 + f64::from(b - b'0')))
        })
        .unwrap_or(f64::NEG_INFINITY)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(name: &str) -> Token {
        Token {
            access_token: name.into(),
            token_type: "Bearer".into(),
            obtained_at_ms: 1_700_000_000_123.0,
            expires_at_ms: 1_700_003_600_123.0,
            scope: Some("read write".into()),
        }
    }

    #[test]
    fn entries_round_trip() {
        let mut t = token("tok\"en");
        assert_eq!(decode(&encode(&t)), Some(t.clone()));
        t.scope = None;
        assert_eq!(decode(&encode(&t)), Some(t));
    }

    #[test]
    fn malformed_entries_are_misses() {
        for bad in [
            "",
            "[]",
            r#"{"accessToken":"a","tokenType":"Bearer","obtainedAt":1}"#,
            r#"{"accessToken":"","tokenType":"Bearer","obtainedAt":1,"expiresAt":2}"#,
            r#"{"accessToken":"a","tokenType":"Bearer","obtainedAt":"1","expiresAt":2}"#,
            r#"{"accessToken":"a","tokenType":"Bearer","obtainedAt":1,"expiresAt":2,"scope":3}"#,
            r#"{"accessToken":"a\r\nX: y","tokenType":"Bearer","obtainedAt":1,"expiresAt":2}"#,
            r#"{"accessToken":"a","tokenType":"DPoP","obtainedAt":1,"expiresAt":2}"#,
        ] {
            assert_eq!(decode(bad), None, "{bad}");
        }
    }

    #[test]
    fn lease_values() {
        let v = lease_value(0xdead_beef, 1_700_000_030_000.0);
        assert_eq!(v, "00000000deadbeef.1700000030000");
        assert_eq!(lease_expiry(&v), 1_700_000_030_000.0);
        assert_eq!(released_lease(&v), "00000000deadbeef.0");
        assert_eq!(lease_expiry(&released_lease(&v)), 0.0);
        for bad in ["", "x", "a.", "a.b", "a.-1", "a.99999999999999999999"] {
            assert_eq!(lease_expiry(bad), f64::NEG_INFINITY, "{bad}");
        }
    }
}
