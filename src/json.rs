//! A small, strict JSON reader (RFC 8259) for what the client reads: token responses,
//! JWT payloads, store entries and the credentials file.
//!
//! The text crosses into wasm once and is read here, so only the object's own members
//! exist: there is no prototype to inherit from, and `__proto__` is an ordinary key.
//!
//! - [`parse_object`] accepts exactly one JSON value, surrounded by JSON whitespace
//!   (space, tab, LF, CR); the value must be an object. Anything else after it is an
//!   error.
//! - Only the top-level members are kept. Nested objects and arrays are checked and
//!   kept as [`Field::Other`], without recursion, at most [`MAX_DEPTH`] deep.
//! - Duplicate keys: the last one wins (as `JSON.parse`).
//! - Strings: every RFC 8259 §7 escape, surrogate pairs joined; a lone surrogate
//!   (`"\ud800"`) becomes U+FFFD, which is what `JSON.parse` followed by the
//!   conversion into a Rust `String` gave. Raw control characters are rejected.
//! - Numbers: the RFC 8259 §6 grammar exactly; the value is computed without the float
//!   parser (its tables cost kilobytes of wasm), within a few ulp (relative 1e-15). A
//!   number too large for `f64` (or within a few ulp of `f64::MAX`) is `+-inf` ("the
//!   largest value", RFC 9111 §1.2.2), a tiny one `0`; an exponent of any length is
//!   read in constant space.

#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

#[allow(unused_imports)]
use crate::prelude::*;

/// The deepest nesting accepted, counting the top-level object as 1.
pub const MAX_DEPTH: u32 = 64;

/// One member of a parsed JSON object, reduced to what the client uses.
#[derive(Clone, Debug, PartialEq)]
pub enum Field {
    /// The member is absent.
    Missing,
    /// `null`.
    Null,
    /// A string.
    Str(String),
    /// A number; `+-inf` where it is too large for `f64`.
    Num(f64),
    /// `true` or `false`.
    Bool(bool),
    /// An array or an object.
    Other,
}

impl Field {
    /// The string, if the member is a string.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Field::Str(s) => Some(s),
            _ => None,
        }
    }

    /// Whether the member is absent or `null`.
    pub fn is_absent(&self) -> bool {
        matches!(self, Field::Missing | Field::Null)
    }
}

/// The top-level members of a JSON object, in document order.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Object {
    members: Vec<(String, Field)>,
}

impl Object {
    /// Every member in document order (a repeated key appears each time).
    pub fn members(&self) -> impl Iterator<Item = (&str, &Field)> {
        self.members.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// The member `name` (the last one, if the key is repeated).
    pub fn field(&self, name: &str) -> Field {
        self.members
            .iter()
            .rev()
            .find(|(key, _)| key == name)
            .map_or(Field::Missing, |(_, value)| value.clone())
    }
}

/// Why a text did not yield a JSON object.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NotAnObject {
    /// The text is not JSON.
    NotJson,
    /// The text is JSON, but not an object.
    OtherJson,
}

/// Parses `text`, which must be one JSON object (RFC 8259).
///
/// # Errors
/// [`NotAnObject::OtherJson`] for any other JSON value, [`NotAnObject::NotJson`] for
/// anything that is not JSON (including nesting deeper than [`MAX_DEPTH`]).
pub fn parse_object(text: &str) -> Result<Object, NotAnObject> {
    let mut r = Reader { text, pos: 0 };
    r.whitespace();
    let object = r.peek() == Some(b'{');
    let mut members = Vec::new();
    r.document(&mut members)?;
    r.end()?;
    if object {
        Ok(Object { members })
    } else {
        Err(NotAnObject::OtherJson)
    }
}

type Parsed<T> = Result<T, NotAnObject>;

/// A cursor over the text. `pos` is always at a character boundary between tokens.
struct Reader<'a> {
    text: &'a str,
    pos: usize,
}

impl Reader<'_> {
    fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.pos).copied()
    }

    fn next(&mut self) -> Option<u8> {
        let b = self.peek()?;
        self.pos += 1;
        Some(b)
    }

    fn eat(&mut self, b: u8) -> bool {
        let hit = self.peek() == Some(b);
        if hit {
            self.pos += 1;
        }
        hit
    }

    fn whitespace(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.pos += 1;
        }
    }

    /// Only whitespace is left.
    fn end(&mut self) -> Parsed<()> {
        self.whitespace();
        match self.peek() {
            None => Ok(()),
            Some(_) => Err(NotAnObject::NotJson),
        }
    }

    /// One JSON value; where it is an object, its members go to `members`. Nested
    /// arrays and objects are walked with a bit stack (1 = object), not recursion.
    fn document(&mut self, members: &mut Vec<(String, Field)>) -> Parsed<()> {
        let mut stack: u64 = 0;
        let mut depth = 0;
        let mut key = String::new();
        loop {
            self.whitespace();
            let mut field = Field::Other;
            match self.peek() {
                Some(open @ (b'{' | b'[')) => {
                    self.pos += 1;
                    depth += 1;
                    if depth > MAX_DEPTH {
                        return Err(NotAnObject::NotJson);
                    }
                    let object = open == b'{';
                    stack = stack << 1 | u64::from(object);
                    self.whitespace();
                    if !self.eat(if object { b'}' } else { b']' }) {
                        if object {
                            self.member_key(depth, &mut key)?;
                        }
                        continue;
                    }
                    depth -= 1;
                    stack >>= 1;
                }
                _ => field = self.scalar()?,
            }
            // A value is complete: keep it if it is a top-level member, then close
            // containers until a `,` asks for the next value.
            loop {
                if depth == 0 {
                    return Ok(());
                }
                let object = stack & 1 == 1;
                if depth == 1 && object {
                    members.push((core::mem::take(&mut key), field));
                }
                self.whitespace();
                match self.next() {
                    Some(b',') if object => {
                        self.member_key(depth, &mut key)?;
                        break;
                    }
                    Some(b',') => break,
                    Some(b'}') if object => {}
                    Some(b']') if !object => {}
                    _ => return Err(NotAnObject::NotJson),
                }
                depth -= 1;
                stack >>= 1;
                field = Field::Other;
            }
        }
    }

    /// `"key" :` in an object at `depth`; kept in `key` at the top level.
    fn member_key(&mut self, depth: u32, key: &mut String) -> Parsed<()> {
        self.whitespace();
        let name = self.string()?;
        self.whitespace();
        if !self.eat(b':') {
            return Err(NotAnObject::NotJson);
        }
        if depth == 1 {
            *key = name;
        }
        Ok(())
    }

    /// A string, number, `true`, `false` or `null`.
    fn scalar(&mut self) -> Parsed<Field> {
        let (word, field): (&[u8], _) = match self.peek() {
            Some(b'"') => return self.string().map(Field::Str),
            Some(b'-' | b'0'..=b'9') => return self.number().map(Field::Num),
            Some(b't') => (b"true", Field::Bool(true)),
            Some(b'f') => (b"false", Field::Bool(false)),
            Some(b'n') => (b"null", Field::Null),
            _ => return Err(NotAnObject::NotJson),
        };
        let rest = self.text.as_bytes().get(self.pos..).unwrap_or_default();
        if !rest.starts_with(word) {
            return Err(NotAnObject::NotJson);
        }
        self.pos += word.len();
        Ok(field)
    }

    /// A string literal (RFC 8259 §7).
    fn string(&mut self) -> Parsed<String> {
        if !self.eat(b'"') {
            return Err(NotAnObject::NotJson);
        }
        let mut out = String::new();
        let mut start = self.pos;
        loop {
            let end = self.pos;
            match self.next() {
                Some(b @ (b'"' | b'\\')) => {
                    // Quote and backslash are ASCII: the run before them is whole UTF-8.
                    out.push_str(self.text.get(start..end).ok_or(NotAnObject::NotJson)?);
                    if b == b'"' {
                        return Ok(out);
                    }
                    out.push(self.escape()?);
                    start = self.pos;
                }
                Some(0..=0x1f) | None => return Err(NotAnObject::NotJson),
                Some(_) => {}
            }
        }
    }

    /// The character of the escape after a backslash.
    fn escape(&mut self) -> Parsed<char> {
        Ok(match self.next() {
            Some(b'"') => '"',
            Some(b'\\') => '\\',
            Some(b'/') => '/',
            Some(b'b') => '\u{8}',
            Some(b'f') => '\u{c}',
            Some(b'n') => '\n',
            Some(b'r') => '\r',
            Some(b't') => '\t',
            Some(b'u') => {
                let unit = self.hex4()?;
                if (0xD800..0xDC00).contains(&unit) {
                    // A high surrogate: joined with a low one that follows, else U+FFFD
                    // (and whatever follows is read on its own).
                    let back = self.pos;
                    if self.eat(b'\\') && self.eat(b'u') {
                        let low = self.hex4()?;
                        if (0xDC00..0xE000).contains(&low) {
                            let c = 0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00);
                            return Ok(char::from_u32(c).unwrap_or('\u{FFFD}'));
                        }
                    }
                    self.pos = back;
                }
                // A lone low surrogate is not a char either.
                char::from_u32(unit).unwrap_or('\u{FFFD}')
            }
            _ => return Err(NotAnObject::NotJson),
        })
    }

    /// Four hex digits.
    fn hex4(&mut self) -> Parsed<u32> {
        let mut unit = 0;
        for _ in 0..4 {
            let digit = self
                .next()
                .and_then(|b| char::from(b).to_digit(16))
                .ok_or(NotAnObject::NotJson)?;
            unit = unit << 4 | digit;
        }
        Ok(unit)
    }

    /// A decimal digit, consumed.
    fn digit(&mut self) -> Option<u8> {
        let d = self.peek().filter(u8::is_ascii_digit)?;
        self.pos += 1;
        Some(d - b'0')
    }

    /// A number (RFC 8259 §6): `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`.
    ///
    /// The first 18 significant digits are kept as an integer mantissa, the rest only
    /// move the decimal exponent; the exponent saturates at ±10^6, far beyond `f64`.
    fn number(&mut self) -> Parsed<f64> {
        const KEEP: u64 = 100_000_000_000_000_000; // 10^17: below it, one more digit fits
        let negative = self.eat(b'-');
        let mut mantissa: u64 = 0;
        let mut exponent: i64 = 0;
        match self.digit() {
            Some(0) => {}
            Some(d) => {
                mantissa = u64::from(d);
                while let Some(d) = self.digit() {
                    if mantissa < KEEP {
                        mantissa = mantissa * 10 + u64::from(d);
                    } else {
                        exponent = exponent.saturating_add(1);
                    }
                }
            }
            None => return Err(NotAnObject::NotJson),
        }
        if self.eat(b'.') {
            self.digit_run(|d| {
                if mantissa < KEEP {
                    mantissa = mantissa * 10 + u64::from(d);
                    exponent = exponent.saturating_sub(1);
                }
            })?;
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.pos += 1;
            let minus = self.eat(b'-');
            if !minus {
                self.eat(b'+');
            }
            let mut e: i64 = 0;
            self.digit_run(|d| e = (e * 10 + i64::from(d)).min(1_000_000))?;
            exponent = exponent.saturating_add(if minus { -e } else { e });
        }
        let value = scale(mantissa, exponent);
        Ok(if negative { -value } else { value })
    }

    /// One or more digits, each given to `each`.
    fn digit_run(&mut self, mut each: impl FnMut(u8)) -> Parsed<()> {
        let first = self.digit().ok_or(NotAnObject::NotJson)?;
        each(first);
        while let Some(d) = self.digit() {
            each(d);
        }
        Ok(())
    }
}

/// `mantissa * 10^exponent` as the nearest `f64`, to within a few ulp: exact powers of
/// ten up to 10^22 give the correctly rounded value. Overflow is `inf`.
fn scale(mantissa: u64, exponent: i64) -> f64 {
    let m = mantissa as f64;
    if mantissa == 0 {
        return 0.0;
    }
    // m < 10^18, so beyond ±1000 the answer is inf or 0 whatever m is.
    let e = exponent.clamp(-1000, 1000) as i32;
    if e >= 0 {
        m * crate::num::powi(10.0, e)
    } else if e >= -300 {
        m / crate::num::powi(10.0, -e)
    } else {
        // 10^-e itself would overflow; a small m times it may still be normal.
        m / 1e300 / crate::num::powi(10.0, -e - 300)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]
    use super::*;

    fn obj(text: &str) -> Object {
        parse_object(text).unwrap()
    }

    fn num(text: &str) -> f64 {
        match obj(&format!(r#"{{"n":{text}}}"#)).field("n") {
            Field::Num(n) => n,
            other => panic!("{text}: {other:?}"),
        }
    }

    fn string(literal: &str) -> String {
        match obj(&format!(r#"{{"s":{literal}}}"#)).field("s") {
            Field::Str(s) => s,
            other => panic!("{literal}: {other:?}"),
        }
    }

    #[test]
    fn top_level_members_of_each_kind() {
        let o = obj(
            r#" {"s":"x","n":-1.5e2,"t":true,"f":false,"z":null,"a":[1,{"b":[]}],"o":{"k":"v"}} "#,
        );
        assert_eq!(o.field("s"), Field::Str("x".into()));
        assert_eq!(o.field("n"), Field::Num(-150.0));
        assert_eq!(o.field("t"), Field::Bool(true));
        assert_eq!(o.field("f"), Field::Bool(false));
        assert_eq!(o.field("z"), Field::Null);
        assert_eq!(o.field("a"), Field::Other);
        assert_eq!(o.field("o"), Field::Other);
        assert_eq!(
            o.field("k"),
            Field::Missing,
            "nested members are not top-level"
        );
        assert_eq!(o.field("missing"), Field::Missing);
        assert!(o.field("z").is_absent() && o.field("missing").is_absent());
        assert_eq!(o.field("s").as_str(), Some("x"));
        assert_eq!(o.field("n").as_str(), None);
        assert_eq!(obj("{}"), Object::default());
        assert_eq!(obj("\t\r\n{ }\n").field("x"), Field::Missing);
    }

    #[test]
    fn last_duplicate_wins_and_proto_is_a_key() {
        let o = obj(r#"{"a":1,"a":"two","__proto__":{"access_token":"x"},"constructor":3}"#);
        assert_eq!(o.field("a"), Field::Str("two".into()));
        assert_eq!(o.field("__proto__"), Field::Other);
        assert_eq!(o.field("access_token"), Field::Missing);
        assert_eq!(o.field("constructor"), Field::Num(3.0));
        assert_eq!(o.field("toString"), Field::Missing);
        let o = obj(r#"{"__proto__":"tok"}"#);
        assert_eq!(o.field("__proto__"), Field::Str("tok".into()));
    }

    #[test]
    fn other_json_and_not_json() {
        for other in ["[]", "[{}]", "1", "-0", "\"{}\"", "true", "null", " false "] {
            assert_eq!(parse_object(other), Err(NotAnObject::OtherJson), "{other}");
        }
        for bad in [
            "",
            " ",
            "{",
            "}",
            "{\"a\"}",
            "{\"a\":}",
            "{\"a\":1,}",
            "{,}",
            "{\"a\":1 \"b\":2}",
            "{a:1}",
            "{'a':1}",
            "{\"a\":1}}",
            "{\"a\":1} x",
            "{}{}",
            "{} []",
            "\u{feff}{}",
            "{\"a\":[1,]}",
            "{\"a\":[,1]}",
            "{\"a\":[1 2]}",
            "{\"a\":{\"b\"}}",
            "{\"a\":{\"b\":1,}}",
            "{\"a\":[}",
            "{\"a\":{]}",
            "{\"a\":[1}",
            "{\"a\":tru}",
            "{\"a\":nul}",
            "{\"a\":True}",
            "{\"a\":undefined}",
            "{\"a\":NaN}",
            "{\"a\":Infinity}",
            "{\"a\"\u{a0}:1}",
            "{\"a\":1}\u{0}",
            "[1",
            "tru",
            "1 2",
            "\"x",
        ] {
            assert_eq!(parse_object(bad), Err(NotAnObject::NotJson), "{bad:?}");
        }
    }

    #[test]
    fn strings_and_escapes() {
        assert_eq!(string(r#""""#), "");
        assert_eq!(string(r#""a\"b\\c\/d""#), "a\"b\\c/d");
        assert_eq!(string(r#""\b\f\n\r\t""#), "\u{8}\u{c}\n\r\t");
        assert_eq!(string(r#""\u0041\u00e9\u20AC\u0000""#), "Aé€\u{0}");
        assert_eq!(string("\"é€😀\u{7f}\""), "é€😀\u{7f}");
        // Surrogate pairs join; lone halves become U+FFFD and never swallow a neighbour.
        assert_eq!(string(r#""\ud83d\ude00""#), "😀");
        assert_eq!(string(r#""\uD83D\uDE00""#), "😀");
        assert_eq!(string(r#""\ud83d""#), "\u{fffd}");
        assert_eq!(string(r#""\ude00x""#), "\u{fffd}x");
        assert_eq!(string(r#""\ud83dx""#), "\u{fffd}x");
        assert_eq!(string(r#""\ud83d\n""#), "\u{fffd}\n");
        assert_eq!(string(r#""\ud83d\u0041""#), "\u{fffd}A");
        assert_eq!(string(r#""\ud800\ud83d\ude00""#), "\u{fffd}😀");
        assert_eq!(string(r#""\ude00\ud83d""#), "\u{fffd}\u{fffd}");
        for bad in [
            "\"\\x\"",
            "\"\\u12\"",
            "\"\\u12G4\"",
            "\"\\U0041\"",
            "\"\\ud83d\\u12\"",
            "\"\\\"",
            "\"\\",
            "\"a\nb\"",
            "\"a\tb\"",
            "\"\u{1f}\"",
            "\"\u{0}\"",
            "\"abc",
        ] {
            let text = format!(r#"{{"s":{bad}}}"#);
            assert_eq!(parse_object(&text), Err(NotAnObject::NotJson), "{bad:?}");
            let text = format!(r#"{{{bad}:1}}"#);
            assert_eq!(
                parse_object(&text),
                Err(NotAnObject::NotJson),
                "key {bad:?}"
            );
        }
        let o = obj(r#"{"k\u00e9y":1,"a\"b":2}"#);
        assert_eq!(o.field("kéy"), Field::Num(1.0));
        assert_eq!(o.field("a\"b"), Field::Num(2.0));
    }

    #[test]
    fn numbers_by_the_grammar() {
        assert_eq!(num("0"), 0.0);
        assert!(num("-0").is_sign_negative() && num("-0") == 0.0);
        assert_eq!(num("7"), 7.0);
        assert_eq!(num("-12"), -12.0);
        assert_eq!(num("3600"), 3600.0);
        assert_eq!(num("1.5"), 1.5);
        assert_eq!(num("0.1"), 0.1);
        assert_eq!(num("0.30000000000000004"), 0.30000000000000004);
        assert_eq!(num("1e3"), 1000.0);
        assert_eq!(num("1E+3"), 1000.0);
        assert_eq!(num("25e-1"), 2.5);
        assert_eq!(num("0e999"), 0.0);
        assert_eq!(num("0.000e-5"), 0.0);
        assert_eq!(num("1700000000"), 1_700_000_000.0);
        assert_eq!(num("1700000000.123"), 1_700_000_000.123);
        assert_eq!(num("9007199254740993"), 9_007_199_254_740_992.0);
        assert_eq!(num("18446744073709551615"), 18_446_744_073_709_551_615.0);
        assert_eq!(num("18446744073709551616"), 18_446_744_073_709_551_616.0);
        assert_eq!(num("1e22"), 1e22);
        assert_eq!(num("123456789e-9"), 0.123456789);
        let close = |text: &str, want: f64| {
            let got = num(text);
            assert!(
                (got - want).abs() <= want.abs() * 1e-14,
                "{text}: {got} vs {want}"
            );
        };
        close("1.79e308", 1.79e308);
        close("2.2250738585072014e-308", f64::MIN_POSITIVE);
        close(&format!("1{}", "0".repeat(300)), 1e300);
        close(&format!("0.{}1e300", "0".repeat(299)), 1.0);
        close("99999999999999999999999", 1e23);
        // Subnormals: within a step of their grid.
        for (text, want) in [("1e-320", 1e-320), ("123.456e-310", 123.456e-310)] {
            assert!((num(text) - want).abs() <= 1e-323, "{text}");
        }
        for bad in [
            "01", "-", "--1", "+1", "1.", ".5", "-.5", "1.e3", "1e", "1e+", "1e-", "0x10", "1_0",
            "00", "-01", "1ee3", "1e3.5", "٣",
        ] {
            let text = format!(r#"{{"n":{bad}}}"#);
            assert_eq!(parse_object(&text), Err(NotAnObject::NotJson), "{bad}");
        }
    }

    #[test]
    fn overflowing_numbers_are_the_largest() {
        for big in [
            "1e309",
            "1e400",
            "1E999999999",
            "1e99999999999999999999999999999999",
            "0.1e1000001",
        ] {
            assert_eq!(num(big), f64::INFINITY, "{big}");
            assert_eq!(num(&format!("-{big}")), f64::NEG_INFINITY, "-{big}");
        }
        assert_eq!(num(&"9".repeat(400)), f64::INFINITY);
        for tiny in ["1e-400", "1e-999999999", "1e-99999999999999999999999999"] {
            assert_eq!(num(tiny), 0.0, "{tiny}");
        }
        // A huge exponent cancelled by a long fraction, read in constant space.
        let long_zeros = format!("0.{}1e2000", "0".repeat(1999));
        assert_eq!(num(&long_zeros), 1.0);
    }

    #[test]
    fn nesting_is_bounded_without_recursion() {
        let nest = |depth: usize, open: &str, close: &str| {
            // `depth` counts the top-level object.
            format!(
                r#"{{"a":{}0{}}}"#,
                open.repeat(depth - 1),
                close.repeat(depth - 1)
            )
        };
        for (open, close) in [("[", "]"), (r#"{"k":"#, "}")] {
            let ok = nest(MAX_DEPTH as usize, open, close);
            assert_eq!(obj(&ok).field("a"), Field::Other, "{open}");
            let deep = nest(MAX_DEPTH as usize + 1, open, close);
            assert_eq!(parse_object(&deep), Err(NotAnObject::NotJson), "{open}");
        }
        let mixed = format!(r#"{{"a":{}1{}}}"#, r#"[{"x":"#.repeat(31), "}]".repeat(31));
        assert_eq!(obj(&mixed).field("a"), Field::Other);
        // A top-level array gets the same budget; hostile depth is an error, not a crash.
        let arr = "[".repeat(MAX_DEPTH as usize) + &"]".repeat(MAX_DEPTH as usize);
        assert_eq!(parse_object(&arr), Err(NotAnObject::OtherJson));
        let arr = "[".repeat(MAX_DEPTH as usize + 1) + &"]".repeat(MAX_DEPTH as usize + 1);
        assert_eq!(parse_object(&arr), Err(NotAnObject::NotJson));
        let hostile = "[".repeat(1 << 20);
        assert_eq!(parse_object(&hostile), Err(NotAnObject::NotJson));
        let hostile = format!(r#"{{"a":{}"#, r#"{"a":"#.repeat(1 << 16));
        assert_eq!(parse_object(&hostile), Err(NotAnObject::NotJson));
    }

    #[test]
    fn mismatched_brackets_deep_inside() {
        for bad in [
            r#"{"a":[[{"b":[1]]]}"#,
            r#"{"a":[{"b":{}]}]}"#,
            r#"{"a":[[[]]}"#,
            r#"{"a":{"b":{"c":{}}}"#,
        ] {
            assert_eq!(parse_object(bad), Err(NotAnObject::NotJson), "{bad}");
        }
        let ok = r#"{"a":[[{"b":[1,{"c":[]}]},[]],{}],"z":2}"#;
        assert_eq!(obj(ok).field("z"), Field::Num(2.0));
    }

    /// Differential tests against `serde_json` (a test oracle only): random JSON
    /// texts and random mutations of them. Where serde_json reads an object, our
    /// members are the same with the same values; where it rejects the text, so do
    /// we, except for the two documented differences (a lone surrogate is U+FFFD, a
    /// number too large for `f64` is `inf`).
    #[cfg(not(target_arch = "wasm32"))]
    mod differential {
        use super::super::*;
        use proptest::prelude::*;
        use proptest::sample::{select, Index};
        use serde_json::Value;

        fn hex4(unit: u32, upper: bool) -> String {
            if upper {
                format!("\\u{unit:04X}")
            } else {
                format!("\\u{unit:04x}")
            }
        }

        /// One piece of a string literal's contents: a raw character, a short
        /// escape, or a `\u` escape (a surrogate pair beyond the BMP).
        fn piece() -> impl Strategy<Value = String> {
            prop_oneof![
                3 => any::<char>()
                    .prop_filter("raw", |c| !matches!(c, '"' | '\\') && *c >= ' ')
                    .prop_map(String::from),
                2 => "[a-z_ ]{1,4}",
                1 => select(&["\\\"", "\\\\", "\\/", "\\b", "\\f", "\\n", "\\r", "\\t"][..])
                    .prop_map(String::from),
                2 => (any::<char>(), any::<bool>()).prop_map(|(c, upper)| {
                    let mut units = [0u16; 2];
                    c.encode_utf16(&mut units)
                        .iter()
                        .map(|u| hex4(u32::from(*u), upper))
                        .collect()
                }),
            ]
        }

        fn string() -> impl Strategy<Value = String> {
            prop_oneof![
                prop::collection::vec(piece(), 0..6).prop_map(|p| format!("\"{}\"", p.concat())),
                // Keys the client reads, so duplicates are frequent.
                select(
                    &[
                        "\"access_token\"",
                        "\"token_type\"",
                        "\"expires_in\"",
                        "\"__proto__\"",
                        "\"a\"",
                        "\"\"",
                    ][..]
                )
                .prop_map(String::from),
            ]
        }

        fn ws() -> impl Strategy<Value = String> {
            prop_oneof![3 => Just(String::new()), 1 => "[ \t\r\n]{1,3}"]
        }

        fn number() -> impl Strategy<Value = String> {
            "-?(0|[1-9][0-9]{0,24})(\\.[0-9]{1,24})?([eE][+-]?[0-9]{1,2})?"
        }

        /// Mostly `right`; rarely after a trailing comma, or the wrong closer.
        fn close(right: &'static str) -> impl Strategy<Value = String> {
            prop_oneof![
                60 => Just(right.to_owned()),
                1 => Just(",".to_owned() + right),
                1 => select(&["}", "]", ""][..]).prop_map(String::from),
            ]
        }

        fn value() -> impl Strategy<Value = String> {
            let leaf = prop_oneof![
                select(&["null", "true", "false"][..]).prop_map(String::from),
                number(),
                string(),
            ];
            leaf.prop_recursive(5, 48, 6, |inner| {
                let item = (ws(), inner, ws())
                    .prop_map(|(a, v, b)| a + &v + &b)
                    .boxed();
                let member = (ws(), string(), ws(), item.clone())
                    .prop_map(|(a, k, b, v)| a + &k + &b + ":" + &v);
                prop_oneof![
                    (prop::collection::vec(item, 0..6), close("]"))
                        .prop_map(|(items, end)| format!("[{}{end}", items.join(","))),
                    (prop::collection::vec(member, 0..6), close("}"))
                        .prop_map(|(members, end)| format!("{{{}{end}", members.join(","))),
                ]
            })
        }

        /// A text: mostly an object, sometimes any value, in whitespace.
        fn text() -> impl Strategy<Value = String> {
            let member = (ws(), string(), ws(), ws(), value(), ws())
                .prop_map(|(a, k, b, c, v, d)| a + &k + &b + ":" + &c + &v + &d);
            let object = (prop::collection::vec(member, 0..8), close("}"))
                .prop_map(|(m, end)| format!("{{{}{end}", m.join(",")));
            (ws(), prop_oneof![4 => object, 1 => value()], ws()).prop_map(|(a, v, b)| a + &v + &b)
        }

        /// Characters that make or break JSON.
        const NOISE: &[char] = &[
            '{', '}', '[', ']', ':', ',', '"', '\\', ' ', '\n', '\t', 'u', 'd', '8', 'c', '0', '1',
            '9', 'e', 'E', '+', '-', '.', 't', 'n', 'l', 'f', '\u{0}', '\u{1f}', '\u{7f}', 'é',
            '\u{feff}',
        ];
        /// Whole tokens put in by token edits.
        const TOKENS: &[&str] = &["{", "}", "[", "]", ":", ",", "\"\"", "0", "null", " "];

        /// `text` cut into JSON tokens: punctuation, whole string literals, whitespace
        /// runs, and runs of anything else (numbers, words). Never fails.
        fn tokens(text: &str) -> Vec<String> {
            let mut out: Vec<String> = Vec::new();
            let mut chars = text.chars().peekable();
            while let Some(c) = chars.next() {
                let mut token = String::from(c);
                match c {
                    '{' | '}' | '[' | ']' | ':' | ',' => {}
                    '"' => {
                        let mut escaped = false;
                        for c in chars.by_ref() {
                            token.push(c);
                            match c {
                                '"' if !escaped => break,
                                '\\' => escaped = !escaped,
                                _ => escaped = false,
                            }
                        }
                    }
                    _ => {
                        let space = c.is_ascii_whitespace();
                        while let Some(&n) = chars.peek() {
                            if "{}[]:,\"".contains(n) || n.is_ascii_whitespace() != space {
                                break;
                            }
                            token.push(n);
                            chars.next();
                        }
                    }
                }
                out.push(token);
            }
            out
        }

        /// `text` with each (position, operation, character, other) applied. On
        /// characters: 0 deletes, 1 inserts, 2 replaces, 3 duplicates a piece from
        /// there. On whole tokens: 4 deletes, 5 duplicates, 6 replaces with one of
        /// [`TOKENS`], 7 swaps with another token.
        fn mutate(text: &str, edits: &[(Index, u8, char, Index)]) -> String {
            let mut text = text.to_owned();
            for (at, op, c, other) in edits {
                let mut chars: Vec<char> = text.chars().collect();
                let mut toks = tokens(&text);
                let i = at.index(chars.len() + 1);
                let t = at.index(toks.len().max(1));
                let u = other.index(toks.len().max(1));
                match op {
                    0 if i < chars.len() => {
                        chars.remove(i);
                    }
                    2 if i < chars.len() => chars[i] = *c,
                    3 => {
                        let piece: Vec<char> = chars[i..].iter().take(12).copied().collect();
                        chars.splice(i..i, piece);
                    }
                    4..=7 if !toks.is_empty() => {
                        match op {
                            4 => drop(toks.remove(t)),
                            5 => toks.insert(t, toks[t].clone()),
                            6 => toks[t] = TOKENS[other.index(TOKENS.len())].to_owned(),
                            _ => toks.swap(t, u),
                        }
                        chars = toks.concat().chars().collect();
                    }
                    _ => chars.insert(i, *c),
                }
                text = chars.into_iter().collect();
            }
            text
        }

        fn same_number(ours: f64, theirs: f64) -> bool {
            ours == theirs
                || (ours - theirs).abs() <= 1e-12 * ours.abs().max(theirs.abs())
                || (ours.abs() < 1e-290 && theirs.abs() < 1e-290)
        }

        fn agrees(ours: &Field, theirs: &Value) -> bool {
            match (ours, theirs) {
                (Field::Null, Value::Null) => true,
                (Field::Bool(a), Value::Bool(b)) => a == b,
                (Field::Str(a), Value::String(b)) => a == b,
                (Field::Num(a), Value::Number(b)) => b.as_f64().is_some_and(|b| same_number(*a, b)),
                (Field::Other, Value::Array(_) | Value::Object(_)) => true,
                _ => false,
            }
        }

        /// serde_json refuses what we read by design: lone surrogates, overflow.
        fn documented_difference(e: &serde_json::Error) -> bool {
            let m = e.to_string();
            m.contains("surrogate")
                || m.contains("end of hex escape")
                || m.contains("number out of range")
        }

        fn check(text: &str) -> Result<(), TestCaseError> {
            let ours = parse_object(text);
            let theirs = serde_json::from_str::<Value>(text);
            match (&ours, &theirs) {
                (Ok(o), Ok(Value::Object(map))) => {
                    let mut keys: Vec<&str> = o.members.iter().map(|(k, _)| k.as_str()).collect();
                    keys.sort_unstable();
                    keys.dedup();
                    let mut theirs_keys: Vec<&str> = map.keys().map(String::as_str).collect();
                    theirs_keys.sort_unstable();
                    prop_assert_eq!(keys, theirs_keys, "keys of {:?}", text);
                    for (k, v) in map {
                        let f = o.field(k);
                        prop_assert!(agrees(&f, v), "{:?}: {:?} vs {:?} in {:?}", k, f, v, text);
                    }
                }
                (Err(NotAnObject::OtherJson), Ok(v)) => {
                    prop_assert!(!v.is_object(), "{:?}", text);
                }
                (Err(NotAnObject::NotJson), Err(_)) => {}
                (Ok(_) | Err(NotAnObject::OtherJson), Err(e)) if documented_difference(e) => {}
                _ => prop_assert!(
                    false,
                    "{:?}: ours {:?}, serde_json {:?}",
                    text,
                    ours,
                    theirs
                ),
            }
            Ok(())
        }

        proptest! {
            #![proptest_config(ProptestConfig { cases: 1500, ..ProptestConfig::default() })]

            #[test]
            fn random_texts_agree_with_serde_json(text in text()) {
                check(&text)?;
            }

            #[test]
            fn mutated_texts_agree_with_serde_json(
                text in text(),
                edits in prop::collection::vec(
                    (any::<Index>(), 0u8..8, select(NOISE), any::<Index>()),
                    1..4,
                ),
            ) {
                check(&mutate(&text, &edits))?;
            }

            #[test]
            fn any_text_is_read_without_panicking(text in "\\PC{0,64}") {
                let _ = parse_object(&text);
                check(&text)?;
            }
        }

        #[test]
        fn the_documented_differences() {
            for text in [
                r#"{"s":"\ud800"}"#,
                r#"{"s":"\udc00"}"#,
                r#"{"n":1e400}"#,
                r#"{"n":[-1e999]}"#,
            ] {
                let e = serde_json::from_str::<Value>(text).unwrap_err();
                assert!(documented_difference(&e), "{text}: {e}");
                assert!(parse_object(text).is_ok(), "{text}");
            }
        }
    }
}
