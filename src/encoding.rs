//! The few encodings the client needs, written out so the wasm carries no codec crates:
//! `application/x-www-form-urlencoded` (WHATWG URL §5.2, as RFC 6749 Appendix B asks),
//! Base64 (RFC 4648 §4) for HTTP Basic, Base64url decoding (RFC 4648 §5) for JWT
//! payloads, and JSON string escaping (RFC 8259 §7).

#[allow(unused_imports)]
use crate::prelude::*;
const HEX: &[u8; 16] = b"0123456789ABCDEF";

/// Appends `s` form-urlencoded: ASCII alphanumerics and `*-._` stay, space becomes `+`,
/// every other byte of the UTF-8 encoding becomes `%XX`.
pub fn form_urlencode_into(out: &mut String, s: &str) {
    for &b in s.as_bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'*' | b'-' | b'.' | b'_' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => {
                out.push('%');
                out.push(HEX[(b >> 4) as usize] as char);
                out.push(HEX[(b & 15) as usize] as char);
            }
        }
    }
}

/// `s` form-urlencoded (see [`form_urlencode_into`]).
pub fn form_urlencode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    form_urlencode_into(&mut out, s);
    out
}

/// Appends `n` in decimal (what `{}` prints, without `core::fmt`).
/// A non-empty run of ASCII digits as a number (saturating: a value that overflows is
/// the largest, RFC 9111 §1.2.2); `None` for anything else, signs included. Written
/// out because `str::parse` brings its error formatting into the wasm.
pub fn parse_digits(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(s.bytes().fold(0u64, |n, b| {
        n.saturating_mul(10).saturating_add(u64::from(b - b'0'))
    }))
}

pub fn push_decimal(out: &mut String, mut n: u64) {
    // u64::MAX has 20 digits; written from the end, without an index to check.
    let mut digits = [0u8; 20];
    let mut len = 0;
    for d in digits.iter_mut().rev() {
        *d = b'0' + (n % 10) as u8;
        len += 1;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    for &d in digits.iter().skip(20 - len) {
        out.push(char::from(d));
    }
}

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Standard Base64 with padding (RFC 4648 §4).
pub fn base64_encode(input: &[u8]) -> String {
    let mut out = String::with_capacity(input.len().div_ceil(3) * 4);
    for chunk in input.chunks(3) {
        // chunks(3): one to three bytes, big-endian into the low 24 bits.
        let n = chunk
            .iter()
            .zip([16, 8, 0])
            .fold(0u32, |n, (&b, shift)| n | u32::from(b) << shift);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(B64[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Decodes Base64url (RFC 4648 §5), with or without padding. `None` on any other byte.
pub fn base64url_decode(input: &str) -> Option<Vec<u8>> {
    let input = input.trim_end_matches('=');
    let mut out = Vec::with_capacity(input.len() * 3 / 4);
    let mut acc: u32 = 0;
    let mut bits = 0;
    for &c in input.as_bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'-' => 62,
            b'_' => 63,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    // A single leftover symbol (6 bits) cannot come from whole bytes.
    if bits >= 6 {
        return None;
    }
    Some(out)
}

/// Appends `s` as a JSON string literal, quotes included.
pub fn json_string_into(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let b = c as u8;
                out.push_str("\\u00");
                out.push(HEX[(b >> 4) as usize] as char);
                out.push(HEX[(b & 15) as usize] as char);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Parses an unsigned decimal `123` or `123.45` without the float parser (its tables
/// cost kilobytes of wasm), to about 15 significant digits (fraction digits after the
/// ninth are checked and ignored). A value too large for `f64` is `inf`: the largest
/// value (RFC 9111 §1.2.2), never an error. `None` for anything else.
pub fn parse_decimal(s: &str) -> Option<f64> {
    let (int, frac) = s.split_once('.').unwrap_or((s, ""));
    let digits = |p: &str| p.bytes().all(|b| b.is_ascii_digit());
    if int.is_empty() || !digits(int) || !digits(frac) || s.ends_with('.') {
        return None;
    }
    let mut v = 0f64;
    for b in int.bytes() {
        v = v * 10.0 + f64::from(b - b'0');
    }
    let (mut f, mut scale) = (0f64, 1f64);
    for b in frac.bytes().take(9) {
        f = f * 10.0 + f64::from(b - b'0');
        scale *= 10.0;
    }
    Some(v + f / scale)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_in_decimal() {
        for n in [0, 7, 10, 401, 600_000, u64::MAX] {
            let mut s = String::from("x");
            push_decimal(&mut s, n);
            assert_eq!(s, format!("x{n}"));
        }
    }

    #[test]
    fn decimals_without_the_float_parser() {
        assert_eq!(parse_decimal("3600"), Some(3600.0));
        assert_eq!(parse_decimal("0"), Some(0.0));
        assert_eq!(parse_decimal("1.5"), Some(1.5));
        assert_eq!(parse_decimal("007"), Some(7.0));
        assert_eq!(parse_decimal("0.1234567891"), Some(0.123456789));
        // Overflow is the largest value, never an error or a wrap.
        for (text, want) in [
            ("18446744073709551615", 18_446_744_073_709_551_615.0),
            ("18446744073709551616", 18_446_744_073_709_551_616.0),
            ("99999999999999999999999", 1e23),
            ("100000000000000000000000000000", 1e29),
        ] {
            let got = parse_decimal(text).unwrap();
            assert!((got - want).abs() <= want * 1e-15, "{text}: {got}");
        }
        assert_eq!(parse_decimal(&"9".repeat(309)), Some(f64::INFINITY));
        assert_eq!(parse_decimal(&"9".repeat(100_000)), Some(f64::INFINITY));
        assert_eq!(
            parse_decimal(&format!("{}.5", "9".repeat(400))),
            Some(f64::INFINITY)
        );
        for bad in [
            "", ".5", "5.", "-1", "+1", "1e3", "1.2.3", " 1", "0x10", "1,000", "١", "inf", "NaN",
        ] {
            assert_eq!(parse_decimal(bad), None, "{bad}");
        }
    }

    #[test]
    fn form_urlencoding_follows_whatwg() {
        assert_eq!(form_urlencode("aaa/;&"), "aaa%2F%3B%26");
        assert_eq!(form_urlencode("a b+c=d"), "a+b%2Bc%3Dd");
        assert_eq!(form_urlencode("*-._~"), "*-._%7E");
        assert_eq!(form_urlencode("sé:%"), "s%C3%A9%3A%25");
        assert_eq!(form_urlencode(""), "");
    }

    #[test]
    fn base64_matches_rfc4648_vectors() {
        let v = [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ];
        for (plain, enc) in v {
            assert_eq!(base64_encode(plain.as_bytes()), enc);
        }
        assert_eq!(base64_encode(&[0xfb, 0xff]), "+/8=");
    }

    #[test]
    fn base64url_decodes_with_and_without_padding() {
        assert_eq!(base64url_decode("Zm9vYmE").unwrap(), b"fooba");
        assert_eq!(base64url_decode("Zm9vYmE=").unwrap(), b"fooba");
        assert_eq!(base64url_decode("-_8").unwrap(), [0xfb, 0xff]);
        assert_eq!(base64url_decode("").unwrap(), b"");
        assert!(base64url_decode("+/8").is_none());
        assert!(base64url_decode("a").is_none());
        assert!(base64url_decode("Zm9v.").is_none());
    }

    #[test]
    fn json_strings_escape_quotes_and_controls() {
        let mut s = String::new();
        json_string_into(&mut s, "a\"b\\c\nd\u{1}é");
        assert_eq!(s, r#""a\"b\\c\nd\u0001é""#);
    }

    // proptest is a host-only dev-dependency.
    #[cfg(not(target_arch = "wasm32"))]
    mod props {
        use super::super::json_string_into;
        use crate::json::{parse_object, Field};
        use proptest::prelude::*;

        proptest! {
            // Whatever the text (controls, quotes, backslashes, any Unicode), the literal
            // reads back as that text, and it holds no raw control character.
            #[test]
            fn json_string_literals_read_back(text in any::<String>()) {
                let mut doc = String::from("{\"s\":");
                json_string_into(&mut doc, &text);
                doc.push('}');
                prop_assert!(!doc.bytes().any(|b| b < 0x20));
                prop_assert_eq!(parse_object(&doc).map(|o| o.field("s")), Ok(Field::Str(text)));
            }
        }
    }
}
