//! Which failed attempts are retried and after how long, with no I/O.
//!
//! Network errors, timeouts, 408, 429 and 5xx are retried up to `maxRetries` times
//! with jittered exponential backoff. `Retry-After` (RFC 9110 §10.2.3: seconds or an
//! HTTP date) is honoured up to [`MAX_RETRY_AFTER_MS`]; a longer one ends retrying.

use crate::encoding::parse_decimal;
#[allow(unused_imports)]
use crate::prelude::*;
use crate::Error;

/// The first backoff step.
pub const BASE_DELAY_MS: f64 = 250.0;
/// The largest backoff step.
pub const MAX_DELAY_MS: f64 = 8_000.0;
/// The longest `Retry-After` waited for.
pub const MAX_RETRY_AFTER_MS: f64 = 60_000.0;

/// What to do after a failed attempt.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Decision {
    /// Wait this many milliseconds, then send again.
    RetryIn(f64),
    /// Give up with the error.
    Stop,
}

/// The decision after `retries_done` retries have already failed with `error`.
/// `retry_after` is the response's header, `random` a number in `[0, 1)`.
pub fn decide(
    error: &Error,
    retries_done: u32,
    max_retries: u32,
    retry_after_ms: Option<f64>,
    random: f64,
) -> Decision {
    if retries_done >= max_retries || !error.is_transient() {
        return Decision::Stop;
    }
    if let Some(wait) = retry_after_ms.filter(|w| !w.is_nan()) {
        return if wait > MAX_RETRY_AFTER_MS {
            Decision::Stop
        } else {
            Decision::RetryIn(wait)
        };
    }
    Decision::RetryIn(backoff(retries_done, random))
}

/// The longest one token flight may legitimately take: every attempt's timeout, every
/// retry's longest wait, the store's lease wait and a few bounded store calls. A flight
/// older than this is stuck (in workerd: its request context was torn down) and is
/// replaced by a new one instead of being waited for forever.
pub fn flight_limit_ms(timeout_ms: u32, max_retries: u32, lease_ms: f64) -> f64 {
    let attempts = f64::from(timeout_ms) * f64::from(max_retries + 1);
    attempts + f64::from(max_retries) * MAX_RETRY_AFTER_MS + lease_ms + 5_000.0
}

/// "Equal jitter" exponential backoff: half the step fixed, half random.
pub fn backoff(retries_done: u32, random: f64) -> f64 {
    let step =
        (BASE_DELAY_MS * crate::num::powi(2.0, retries_done.min(30) as i32)).min(MAX_DELAY_MS);
    let r = if (0.0..1.0).contains(&random) {
        random
    } else {
        0.5
    };
    step / 2.0 + r * step / 2.0
}

/// A `Retry-After` value in milliseconds from `now_ms`: delay-seconds, or an HTTP
/// date (IMF-fixdate, RFC 850 or asctime form). A date in the past is 0. Seconds or a
/// year too large to represent are the largest value (RFC 9111 §1.2.2): a long wait,
/// so [`decide`] stops. `None` for anything else.
pub fn parse_retry_after(value: &str, now_ms: f64) -> Option<f64> {
    let v = value.trim();
    if !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()) {
        return Some(parse_decimal(v)? * 1000.0);
    }
    let at = parse_http_date(v)?;
    Some((at - now_ms).max(0.0))
}

/// The largest year read; a longer one saturates to it (the far future).
const MAX_YEAR: i64 = 1_000_000_000;

/// An HTTP date (RFC 9110 §5.6.7) in ms since the epoch, in any of its three forms:
/// `Sun, 06 Nov 1994 08:49:37 GMT`, `Sunday, 06-Nov-94 08:49:37 GMT` (a two-digit
/// year below 70 is 20xx, else 19xx) or `Sun Nov  6 08:49:37 1994`. A year too large
/// to represent is the largest value (RFC 9111 §1.2.2): it saturates at 10^9, some
/// 3·10^19 ms from now. `None` for anything else.
pub fn parse_http_date(s: &str) -> Option<f64> {
    let mut words = [""; 6];
    let mut n = 0;
    for w in s.split_whitespace() {
        *words.get_mut(n)? = w;
        n += 1;
    }
    let (day, month, year, time) = match words.get(..n)? {
        // Sun, 06 Nov 1994 08:49:37 GMT
        [_, d, m, y, t, "GMT"] => (*d, *m, year(y)?, *t),
        // Sunday, 06-Nov-94 08:49:37 GMT
        [_, dmy, t, "GMT"] => {
            let mut p = dmy.split('-');
            let (d, m, y) = (p.next()?, p.next()?, p.next()?);
            let year = match (y.len(), year(y)?) {
                (2, yy) if yy < 70 => 2000 + yy,
                (2, yy) => 1900 + yy,
                (_, yyyy) => yyyy,
            };
            (d, m, year, *t)
        }
        // Sun Nov  6 08:49:37 1994
        [_, m, d, t, y] => (*d, *m, year(y)?, *t),
        _ => return None,
    };
    let day = crate::encoding::parse_digits(day)?.min(99) as i64;
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let month = MONTHS.iter().position(|m| *m == month)? as i64 + 1;
    let mut hms = time
        .split(':')
        .map(|x| crate::encoding::parse_digits(x).map(|n| n.min(99) as i64));
    let (h, mi, se) = (hms.next()??, hms.next()??, hms.next()??);
    if hms.next().is_some()
        || !(1..=31).contains(&day)
        || !(0..24).contains(&h)
        || !(0..60).contains(&mi)
        || !(0..61).contains(&se)
    {
        return None;
    }
    // In f64: 10^9 years of milliseconds overflow i64.
    let days = days_from_civil(year, month, day) as f64;
    Some((days * 86_400.0 + (h * 3600 + mi * 60 + se) as f64) * 1000.0)
}

/// A year of ASCII digits, saturating at [`MAX_YEAR`].
fn year(digits: &str) -> Option<i64> {
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(
        digits
            .bytes()
            .fold(0, |y, b| (y * 10 + i64::from(b - b'0')).min(MAX_YEAR)),
    )
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    /// `decide` with the header as the driver gets it, parsed as the Rust driver does.
    fn decide_str(
        e: &Error,
        done: u32,
        max: u32,
        retry_after: Option<&str>,
        now: f64,
        random: f64,
    ) -> Decision {
        decide(
            e,
            done,
            max,
            retry_after.and_then(|v| parse_retry_after(v, now)),
            random,
        )
    }

    use super::*;

    const NOV_6_1994: f64 = 784_111_777_000.0;

    fn http(status: u16) -> Error {
        Error::Http { status }
    }

    #[test]
    fn http_dates_in_all_three_forms() {
        for s in [
            "Sun, 06 Nov 1994 08:49:37 GMT",
            "Sunday, 06-Nov-94 08:49:37 GMT",
            "Sun Nov  6 08:49:37 1994",
        ] {
            assert_eq!(parse_http_date(s), Some(NOV_6_1994), "{s}");
        }
        assert_eq!(parse_http_date("Thu, 01 Jan 1970 00:00:00 GMT"), Some(0.0));
        assert_eq!(
            parse_http_date("Tue, 29 Feb 2028 23:59:59 GMT"),
            Some(1_835_481_599_000.0)
        );
        for bad in [
            "",
            "tomorrow",
            "Sun, 06 Foo 1994 08:49:37 GMT",
            "Sun, 06 Nov 1994 25:00:00 GMT",
            "Sun, 06 Nov 1994 08:49:37 CET",
        ] {
            assert_eq!(parse_http_date(bad), None, "{bad}");
        }
    }

    #[test]
    fn retry_after_seconds_and_dates() {
        assert_eq!(parse_retry_after("0", 0.0), Some(0.0));
        assert_eq!(parse_retry_after(" 2 ", 0.0), Some(2000.0));
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", NOV_6_1994 - 1500.0),
            Some(1500.0)
        );
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", NOV_6_1994 + 9.0),
            Some(0.0)
        );
        assert_eq!(parse_retry_after("-1", 0.0), None);
        assert_eq!(parse_retry_after("1.5", 0.0), None);
        assert_eq!(parse_retry_after("soon", 0.0), None);
    }

    #[test]
    fn overflowing_retry_after_is_the_largest_so_stops() {
        for big in [
            "18446744073709551615",
            "18446744073709551616",
            "1000000000000000000000000000000",
            "99999999999999999999999999999999999999999999",
        ] {
            let ms = parse_retry_after(big, 0.0).unwrap();
            assert!(ms >= 1.8e22, "{big}: {ms}");
            assert_eq!(
                decide_str(&http(503), 0, 2, Some(big), 0.0, 0.5),
                Decision::Stop,
                "{big}"
            );
        }
        let huge = "9".repeat(400);
        assert_eq!(parse_retry_after(&huge, 0.0), Some(f64::INFINITY));
        assert_eq!(
            decide_str(&http(429), 0, 2, Some(&huge), 0.0, 0.5),
            Decision::Stop
        );
        assert_eq!(
            decide_str(&http(429), 0, 2, Some(&u64::MAX.to_string()), 0.0, 0.5),
            Decision::Stop
        );
    }

    #[test]
    fn retry_after_dates_at_the_minute_in_all_three_forms() {
        // 60 s before Nov 6 1994 08:49:37 is honoured, 61 s is not.
        for date in [
            "Sun, 06 Nov 1994 08:49:37 GMT",
            "Sunday, 06-Nov-94 08:49:37 GMT",
            "Sun Nov  6 08:49:37 1994",
        ] {
            let at = |now| decide_str(&http(503), 0, 2, Some(date), now, 0.5);
            assert_eq!(
                at(NOV_6_1994 - 60_000.0),
                Decision::RetryIn(60_000.0),
                "{date}"
            );
            assert_eq!(at(NOV_6_1994 - 60_001.0), Decision::Stop, "{date}");
            assert_eq!(at(NOV_6_1994 - 61_000.0), Decision::Stop, "{date}");
            assert_eq!(at(NOV_6_1994 + 1.0), Decision::RetryIn(0.0), "{date}");
        }
    }

    #[test]
    fn overflowing_years_are_the_far_future() {
        let far = 1e9 * 365.2425 * 86_400_000.0;
        for date in [
            "Sun, 06 Nov 99999999999999999999 08:49:37 GMT",
            "Sunday, 06-Nov-99999999999999999999 08:49:37 GMT",
            "Sun Nov  6 08:49:37 99999999999999999999",
            "Sun, 06 Nov 1000000000 08:49:37 GMT",
            &format!("Sun, 06 Nov {} 08:49:37 GMT", "9".repeat(1000)),
        ] {
            let at = parse_http_date(date).unwrap();
            assert!(at >= far * 0.99 && at.is_finite(), "{date}: {at}");
            assert_eq!(
                decide_str(&http(503), 0, 2, Some(date), 0.0, 0.5),
                Decision::Stop,
                "{date}"
            );
        }
        // Years past 9999 still count (as larger values), and are ordered.
        let y = |year: &str| parse_http_date(&format!("Sun, 06 Nov {year} 08:49:37 GMT")).unwrap();
        assert!(y("9999") < y("10000") && y("10000") < y("999999999"));
        assert!(y("999999999") < y("1000000000"));
        assert_eq!(y("1000000000"), y("1000000001"));
        // Four-digit years in the RFC 850 form are years, not 19xx offsets.
        assert_eq!(
            parse_http_date("Sunday, 06-Nov-1994 08:49:37 GMT"),
            Some(NOV_6_1994)
        );
        assert_eq!(
            parse_http_date("Friday, 01-Jan-27 00:00:00 GMT"),
            parse_http_date("Fri, 01 Jan 2027 00:00:00 GMT")
        );
        for bad in [
            "Sun, 06 Nov +1994 08:49:37 GMT",
            "Sun, 06 Nov -1994 08:49:37 GMT",
            "Sun, 06 Nov 19x4 08:49:37 GMT",
            "Sunday, 06-Nov- 08:49:37 GMT",
            "Sun Nov  6 08:49:37 ",
        ] {
            assert_eq!(parse_http_date(bad), None, "{bad}");
        }
    }

    #[test]
    fn what_is_retried() {
        for e in [
            http(408),
            http(429),
            http(500),
            http(503),
            Error::Timeout { after_ms: 1 },
            Error::Network {
                message: String::new(),
            },
        ] {
            assert!(
                matches!(decide_str(&e, 0, 2, None, 0.0, 0.5), Decision::RetryIn(_)),
                "{e:?}"
            );
        }
        for e in [
            http(400),
            http(401),
            http(404),
            Error::InvalidResponse {
                status: 200,
                reason: "x",
            },
            Error::config("x"),
        ] {
            assert_eq!(
                decide_str(&e, 0, 2, None, 0.0, 0.5),
                Decision::Stop,
                "{e:?}"
            );
        }
    }

    #[test]
    fn retries_are_bounded() {
        assert!(matches!(
            decide_str(&http(503), 1, 2, None, 0.0, 0.0),
            Decision::RetryIn(_)
        ));
        assert_eq!(decide_str(&http(503), 2, 2, None, 0.0, 0.0), Decision::Stop);
        assert_eq!(decide_str(&http(503), 0, 0, None, 0.0, 0.0), Decision::Stop);
    }

    #[test]
    fn retry_after_is_honoured_up_to_a_minute() {
        assert_eq!(
            decide_str(&http(429), 0, 2, Some("1"), 0.0, 0.9),
            Decision::RetryIn(1000.0)
        );
        assert_eq!(
            decide_str(&http(503), 0, 2, Some("60"), 0.0, 0.9),
            Decision::RetryIn(60_000.0)
        );
        assert_eq!(
            decide_str(&http(429), 0, 2, Some("61"), 0.0, 0.9),
            Decision::Stop
        );
        assert_eq!(
            decide_str(&http(429), 0, 2, Some("060"), 0.0, 0.9),
            Decision::RetryIn(60_000.0)
        );
        assert_eq!(
            decide_str(&http(429), 0, 2, Some("3600"), 0.0, 0.9),
            Decision::Stop
        );
        // Unparseable: ordinary backoff.
        assert_eq!(
            decide_str(&http(429), 0, 2, Some("later"), 0.0, 0.0),
            Decision::RetryIn(125.0)
        );
        // Never overrides a final answer.
        assert_eq!(
            decide_str(&http(400), 0, 2, Some("1"), 0.0, 0.0),
            Decision::Stop
        );
    }

    #[test]
    fn flights_have_a_limit() {
        assert_eq!(
            flight_limit_ms(10_000, 2, 30_000.0),
            30_000.0 + 120_000.0 + 35_000.0
        );
        assert_eq!(flight_limit_ms(1_000, 0, 2_000.0), 8_000.0);
    }

    #[test]
    fn backoff_doubles_with_jitter_and_caps() {
        assert_eq!(backoff(0, 0.0), 125.0);
        assert_eq!(backoff(0, 0.999_999), 250.0 - 0.000_125);
        assert_eq!(backoff(1, 0.0), 250.0);
        assert_eq!(backoff(2, 0.5), 750.0);
        assert_eq!(backoff(10, 0.0), MAX_DELAY_MS / 2.0);
        assert_eq!(
            backoff(u32::MAX, 1.0 - f64::EPSILON),
            MAX_DELAY_MS - MAX_DELAY_MS / 2.0 * f64::EPSILON
        );
        assert_eq!(backoff(0, f64::NAN), 187.5);
        for n in 0..12 {
            for r in [0.0, 0.3, 0.99] {
                let d = backoff(n, r);
                assert!(d > 0.0 && d <= MAX_DELAY_MS);
            }
        }
    }
}
