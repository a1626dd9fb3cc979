//! Auth0's quota headers, read on every answer of the token endpoint.
//!
//! `Auth0-Client-Quota-Limit` and `Auth0-Organization-Quota-Limit` carry one bucket per
//! comma-separated item, `b=per_hour;q=10;r=7;t=3540`: the bucket's name, its limit, the
//! requests remaining and the seconds until it resets. On a 429 Auth0 also sends
//! `X-RateLimit-Limit`, `X-RateLimit-Remaining` and `X-RateLimit-Reset` (a Unix time in
//! seconds). While any bucket reads `remaining: 0` the engine sends nothing until it resets.

use crate::encoding::push_decimal;
#[allow(unused_imports)]
use crate::prelude::*;

/// One quota bucket as the server reported it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Bucket {
    /// The bucket's name, e.g. `per_hour`, `per_day` (Auth0) or `rate_limit` (the
    /// `X-RateLimit-*` headers).
    pub bucket: String,
    /// Requests allowed per period.
    pub limit: u64,
    /// Requests left in this period.
    pub remaining: u64,
    /// Seconds until the bucket resets.
    pub reset_seconds: u64,
}

/// A whole number of the header grammar; one that overflows is the largest (RFC 9111 §1.2.2).
fn number(s: &str) -> Option<u64> {
    let s = s.trim();
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(s.bytes().fold(0u64, |n, b| {
        n.saturating_mul(10).saturating_add(u64::from(b - b'0'))
    }))
}

/// The buckets of one `Auth0-*-Quota-Limit` header value; malformed items are skipped.
pub fn parse_quota_header(value: &str) -> Vec<Bucket> {
    let mut out = Vec::new();
    for item in value.split(',') {
        let (mut name, mut limit, mut remaining, mut reset) = (None, None, None, None);
        for part in item.split(';') {
            let Some((k, v)) = part.split_once('=') else {
                continue;
            };
            match k.trim() {
                "b" => name = Some(v.trim()).filter(|v| !v.is_empty()),
                "q" => limit = number(v),
                "r" => remaining = number(v),
                "t" => reset = number(v),
                _ => {}
            }
        }
        if let (Some(bucket), Some(limit), Some(remaining), Some(reset_seconds)) =
            (name, limit, remaining, reset)
        {
            out.push(Bucket {
                bucket: bucket.to_owned(),
                limit,
                remaining,
                reset_seconds,
            });
        }
    }
    out
}

/// The bucket of the `X-RateLimit-*` headers (Auth0 sends them on a 429), where all three
/// are present; `reset` is a Unix time in seconds, made relative to `now_ms`.
pub fn parse_rate_limit(limit: &str, remaining: &str, reset: &str, now_ms: f64) -> Option<Bucket> {
    let reset_at = number(reset)?;
    let now_s = (now_ms / 1000.0).max(0.0) as u64;
    Some(Bucket {
        bucket: "rate_limit".to_owned(),
        limit: number(limit)?,
        remaining: number(remaining)?,
        reset_seconds: reset_at.saturating_sub(now_s),
    })
}

/// The longest block believed, in seconds: one day, Auth0's longest bucket (`per_day`).
/// A server (or whoever can write the shared store) cannot stop a fleet for longer.
pub const MAX_BLOCK_SECONDS: u64 = 86_400;

/// Until when (ms since the epoch) no request may be made: the latest reset among the
/// buckets that read `remaining: 0` (each at most [`MAX_BLOCK_SECONDS`]), or `None` when
/// every bucket has requests left.
pub fn blocked_until(buckets: &[Bucket], now_ms: f64) -> Option<f64> {
    buckets
        .iter()
        .filter(|b| b.remaining == 0)
        .map(|b| now_ms + (b.reset_seconds.min(MAX_BLOCK_SECONDS) as f64) * 1000.0)
        .reduce(f64::max)
}

/// The buckets as the JSON array of API.md (`{bucket, limit, remaining, resetSeconds}`).
pub fn buckets_json(out: &mut String, buckets: &[Bucket]) {
    out.push('[');
    for (i, b) in buckets.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str("{\"bucket\":");
        crate::encoding::json_string_into(out, &b.bucket);
        out.push_str(",\"limit\":");
        push_decimal(out, b.limit);
        out.push_str(",\"remaining\":");
        push_decimal(out, b.remaining);
        out.push_str(",\"resetSeconds\":");
        push_decimal(out, b.reset_seconds);
        out.push('}');
    }
    out.push(']');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auth0_header() {
        let b = parse_quota_header("b=per_hour;q=10;r=7;t=3540,b=per_day;q=50;r=47;t=43200");
        assert_eq!(b.len(), 2);
        assert_eq!(
            b[0],
            Bucket {
                bucket: "per_hour".into(),
                limit: 10,
                remaining: 7,
                reset_seconds: 3540
            }
        );
        assert_eq!(b[1].bucket, "per_day");
        assert_eq!(blocked_until(&b, 0.0), None);
    }

    #[test]
    fn exhausted_bucket_blocks_until_its_reset() {
        let b = parse_quota_header("b=per_hour;q=10;r=0;t=120, b=per_day;q=50;r=0;t=600");
        assert_eq!(blocked_until(&b, 1000.0), Some(601_000.0));
    }

    #[test]
    fn malformed_items_are_skipped_and_overflow_is_largest() {
        let b = parse_quota_header(
            "garbage,b=x;q=1;r=;t=5,b=y;q=18446744073709551616;r=0;t=99999999999999999999999,;;=",
        );
        assert_eq!(b.len(), 1);
        assert_eq!(b[0].limit, u64::MAX);
        assert_eq!(b[0].reset_seconds, u64::MAX);
        assert_eq!(blocked_until(&b, 0.0), Some(86_400_000.0), "at most a day");
        assert!(parse_quota_header("").is_empty());
    }

    #[test]
    fn rate_limit_headers() {
        let b = parse_rate_limit("25", "0", "1700000010", 1_700_000_000_000.0).unwrap();
        assert_eq!((b.limit, b.remaining, b.reset_seconds), (25, 0, 10));
        assert!(parse_rate_limit("x", "0", "1", 0.0).is_none());
        // A reset in the past is now.
        assert_eq!(
            parse_rate_limit("1", "0", "5", 1e13).unwrap().reset_seconds,
            0
        );
    }

    #[test]
    fn json_shape() {
        let mut s = String::new();
        buckets_json(&mut s, &parse_quota_header("b=per_hour;q=10;r=7;t=3540"));
        assert_eq!(
            s,
            r#"[{"bucket":"per_hour","limit":10,"remaining":7,"resetSeconds":3540}]"#
        );
    }
}
