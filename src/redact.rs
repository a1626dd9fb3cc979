//! Redaction of the client secret: the one place the crate decides what server text
//! may keep.
//!
//! Some authorization servers echo request parameters back in `error_description`,
//! `error_uri` or even `error` (RFC 6749 §5.2), and a runtime's network error may quote
//! the request. Whatever reaches an [`Error`](crate::Error), a log line or an event goes
//! through a [`Redactor`] first:
//!
//! - [`Redactor::text`] for free text: every form in which the secret can be written
//!   becomes [`PLACEHOLDER`];
//! - [`Redactor::code`] for a server's `error` code: registered codes are never
//!   changed, any other code that holds the secret becomes `http_error`.
//!
//! # Forms of the secret
//! A [`Redactor`] looks for the secret
//! - as it is;
//! - percent-encoded, each character as it is (but `%`) or as `%XX` per UTF-8 byte in
//!   either hex case, space also as `+`: so as `application/x-www-form-urlencoded`
//!   writes it (RFC 6749 Appendix B), as RFC 3986 writes it (`%20`), and as JavaScript's
//!   `encodeURIComponent` (`!'()*~` kept) and `encodeURI` write it;
//! - JSON-escaped (RFC 8259 §7): `\"`, `\\`, `\/`, `\n`..., any character also as
//!   `\uXXXX` in either case (a surrogate pair beyond the BMP);
//! - HTML-escaped: `&amp;`, `&lt;`, `&gt;`; `"` and `'` as they are or as `&quot;`,
//!   `&apos;`, `&#39;`, `&#039;`; any character also as `&#DDD;` or `&#xHH;`; names and
//!   hex in either case;
//! - in Base64 and Base64url (RFC 4648 §4, §5), padded or not, of the secret alone, of
//!   `client_id:secret`, and of the HTTP Basic credential `form(client_id):form(secret)`
//!   (RFC 6749 §2.3.1); inside a longer Base64 text the secret may start at any of the
//!   three byte offsets of a 3-byte group, so each offset gives its own run of symbols
//!   (without the edge symbols that also depend on the neighbouring bytes).
//!
//! # Laws
//! Proven by the property tests below, for any secret and any text:
//! - every occurrence of any form of the secret in the output lies inside a
//!   [`PLACEHOLDER`] (which a secret such as `a` or `dact` cannot avoid);
//! - redacting twice changes nothing more than redacting once;
//! - a text without any form of the secret comes back byte for byte;
//! - registered and library codes are returned as they are.
//!
//! # Cost
//! The forms are compiled once, in [`Redactor::new`], into small match programs;
//! redaction is then one left-to-right scan of the text without allocating per
//! position, and without `core::fmt`, regular expressions or `str::replace`, which would
//! add to the `.wasm`.

use crate::encoding::{base64_encode, form_urlencode, push_decimal};
#[allow(unused_imports)]
use crate::prelude::*;
use core::fmt;

/// What replaces each redacted part of a text.
pub const PLACEHOLDER: &str = "[redacted]";

/// The codes of this crate's own errors (API.md), never redacted.
pub const LIBRARY_CODES: &[&str] = &[
    "invalid_config",
    "network_error",
    "timeout",
    "invalid_response",
    "http_error",
    "aborted",
    "quota_exceeded",
    "token_expired",
];

/// Registered OAuth error codes, never redacted: RFC 6749 §4.1.2.1 and §5.2, RFC 6750
/// §3.1, and the other entries of the IANA "OAuth Extensions Error" registry (RFC 7009,
/// RFC 7591, RFC 8628, RFC 8707, RFC 9200, RFC 9396, RFC 9449, RFC 9470, OpenID Connect
/// Core 1.0, OpenID Connect Registration 1.0, UMA 2.0 Grant).
pub const OAUTH_ERROR_CODES: &[&str] = &[
    "invalid_request",
    "invalid_client",
    "invalid_grant",
    "unauthorized_client",
    "unsupported_grant_type",
    "invalid_scope",
    "access_denied",
    "unsupported_response_type",
    "server_error",
    "temporarily_unavailable",
    "invalid_token",
    "insufficient_scope",
    "unsupported_token_type",
    "interaction_required",
    "login_required",
    "account_selection_required",
    "consent_required",
    "invalid_request_uri",
    "invalid_request_object",
    "request_not_supported",
    "request_uri_not_supported",
    "registration_not_supported",
    "need_info",
    "request_denied",
    "request_submitted",
    "invalid_redirect_uri",
    "invalid_client_metadata",
    "invalid_software_statement",
    "unapproved_software_statement",
    "authorization_pending",
    "slow_down",
    "expired_token",
    "invalid_target",
    "unsupported_pop_key",
    "incompatible_ace_profiles",
    "invalid_authorization_details",
    "invalid_dpop_proof",
    "use_dpop_nonce",
    "insufficient_user_authentication",
];

/// Whether `code` is one of this crate's [`LIBRARY_CODES`] or a registered OAuth error
/// code ([`OAUTH_ERROR_CODES`]); such codes are never redacted. Exact, case-sensitive
/// comparison, as RFC 6749 §5.2 codes are.
pub fn is_registered_code(code: &str) -> bool {
    LIBRARY_CODES.contains(&code) || OAUTH_ERROR_CODES.contains(&code)
}

/// Finds and removes every form of one client secret from server text (see the
/// [module docs](self) for the forms and laws).
///
/// # Security
/// Holds the secret in its compiled forms; `Debug` prints `Redactor([redacted])` and
/// there is no comparison.
#[derive(Clone)]
pub struct Redactor {
    /// One match program per form (see [`Program`]); empty for an empty secret.
    needles: Vec<Vec<u8>>,
    /// The bytes any program (or the placeholder) can start with, one bit each.
    first: [u64; 4],
    /// The most bytes one occurrence of a form can span.
    longest: usize,
    /// Whether the secret holds `[` or `]`, the only way an occurrence of a form can
    /// run into or out of a placeholder.
    brackets: bool,
}

impl fmt::Debug for Redactor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Redactor([redacted])")
    }
}

impl Redactor {
    /// Compiles every form of `secret` (see the [module docs](self)), including the
    /// Base64 forms of `client_id:secret` and of the HTTP Basic credential of RFC 6749
    /// §2.3.1. An empty secret redacts nothing; a one-character secret is redacted all
    /// the same (security over readability).
    pub fn new(client_id: &str, secret: &str) -> Self {
        let mut r = Redactor {
            needles: Vec::new(),
            first: [0; 4],
            longest: PLACEHOLDER.len(),
            brackets: secret.bytes().any(|b| b == b'[' || b == b']'),
        };
        if secret.is_empty() {
            return r;
        }
        r.add(literal(secret.as_bytes()));
        r.add(percent(secret));
        r.add(json(secret));
        r.add(html(secret));
        let mut pair = String::from(client_id);
        pair.push(':');
        pair.push_str(secret);
        let mut basic = form_urlencode(client_id);
        basic.push(':');
        basic.push_str(&form_urlencode(secret));
        for plain in [secret, &pair, &basic] {
            for run in base64_runs(plain.as_bytes()) {
                let url: Vec<u8> = run
                    .iter()
                    .map(|&b| match b {
                        b'+' => b'-',
                        b'/' => b'_',
                        b => b,
                    })
                    .collect();
                r.add(literal(&run));
                r.add(literal(&url));
            }
        }
        r.set(b'[');
        r
    }

    /// `text` with every occurrence of every form of the secret replaced by
    /// [`PLACEHOLDER`], in one left-to-right scan: at each position the longest form
    /// wins, and occurrences that overlap it (or a `[redacted]` already in the text)
    /// are covered by the same placeholder. A placeholder is never searched inside, so
    /// placeholders never nest. Nothing else is changed: control characters are for the
    /// caller to escape.
    pub fn text(&self, text: &str) -> String {
        if self.needles.is_empty() {
            return text.to_owned();
        }
        let s = text.as_bytes();
        let mut out = Vec::with_capacity(s.len());
        let mut i = 0;
        while let Some(&b) = s.get(i) {
            let rest = s.get(i..).unwrap_or_default();
            let len = self.occurrence(View::new(&[], rest));
            if len == 0 {
                out.push(b);
                i += 1;
                continue;
            }
            let start = out.len();
            let end = self.extend(&out, rest, start, start + len);
            let unchanged = end == start + PLACEHOLDER.len() && rest.starts_with(PH);
            cover(&mut out, &mut i, start, end);
            if self.brackets && !unchanged {
                self.settle(&mut out, s, &mut i);
            }
        }
        // Every cut is at the start or end of a whole form or placeholder, and those
        // are whole characters, so this cannot fail; if it did, nothing leaks.
        String::from_utf8(out).unwrap_or_else(|_| PLACEHOLDER.to_owned())
    }

    /// A server's RFC 6749 §5.2 `error` code, safe to keep: a registered or library
    /// code ([`is_registered_code`]) exactly as it is, even when it contains the
    /// secret (secret `client`, code `invalid_client`); any other code that contains a
    /// form of the secret becomes `http_error`; any other code as it is.
    pub fn code<'a>(&self, code: &'a str) -> &'a str {
        if is_registered_code(code) || !self.finds(code) {
            code
        } else {
            "http_error"
        }
    }

    /// Whether `text` contains any form of the secret.
    pub fn finds(&self, text: &str) -> bool {
        let s = text.as_bytes();
        (0..s.len()).any(|i| self.needle(View::new(&[], s.get(i..).unwrap_or_default())) > 0)
    }

    fn add(&mut self, needle: Vec<u8>) {
        if needle.is_empty() || self.needles.contains(&needle) {
            return;
        }
        let mut longest = 0;
        let mut units = Units(&needle);
        if let Some(alts) = units.next() {
            longest = widest(alts);
            for (alt, fold) in alts {
                if let Some(&b) = alt.first() {
                    self.set(b);
                    if fold {
                        self.set(b.to_ascii_lowercase());
                        self.set(b.to_ascii_uppercase());
                    }
                }
            }
        }
        longest += units.map(widest).sum::<usize>();
        self.longest = self.longest.max(longest);
        self.needles.push(needle);
    }

    fn set(&mut self, b: u8) {
        if let Some(w) = self.first.get_mut(usize::from(b >> 6)) {
            *w |= 1 << (b & 63);
        }
    }

    fn may_start(&self, b: u8) -> bool {
        self.first
            .get(usize::from(b >> 6))
            .is_some_and(|w| (w >> (b & 63)) & 1 == 1)
    }

    /// The length of the longest form of the secret at the start of `v`, or 0.
    fn needle(&self, v: View) -> usize {
        if !v.byte(0).is_some_and(|b| self.may_start(b)) {
            return 0;
        }
        let lens = self.needles.iter().filter_map(|n| match_len(n, v));
        lens.max().unwrap_or(0)
    }

    /// The length of the longest form or placeholder at the start of `v`, or 0.
    fn occurrence(&self, v: View) -> usize {
        let ph = if v.has(0, PH, false) { PH.len() } else { 0 };
        self.needle(v).max(ph)
    }

    /// The end of the region `start..end` of `out ++ rest` once every occurrence that
    /// starts inside it is covered too.
    fn extend(&self, out: &[u8], rest: &[u8], start: usize, mut end: usize) -> usize {
        let mut j = start + 1;
        while j < end {
            end = end.max(j + self.occurrence(view(out, rest, j)));
            j += 1;
        }
        end
    }

    /// After `out` got a new placeholder at its end: covers, with that placeholder,
    /// every occurrence that now runs into it or out of it (only possible when a form
    /// contains `[` or `]`), so the output satisfies the laws in one scan.
    fn settle(&self, out: &mut Vec<u8>, s: &[u8], i: &mut usize) {
        loop {
            let rest = s.get(*i..).unwrap_or_default();
            let last = out.len().saturating_sub(PH.len());
            let crossing = (last.saturating_sub(self.longest)..out.len()).find_map(|q| {
                let len = self.needle(view(out, rest, q));
                if len == 0 {
                    return None;
                }
                match placeholder_around(out, q) {
                    Some(h) if q + len <= h + PH.len() => None,
                    home => Some((home.unwrap_or(q), q + len)),
                }
            });
            let Some((start, end)) = crossing else {
                return;
            };
            let end = self.extend(out, rest, start, end.max(out.len()));
            cover(out, i, start, end);
        }
    }
}

const PH: &[u8] = PLACEHOLDER.as_bytes();

/// Replaces `start..end` of `out ++ s[i..]` (with `start <= out.len() <= end`) by the
/// placeholder, at the end of `out`.
fn cover(out: &mut Vec<u8>, i: &mut usize, start: usize, end: usize) {
    *i += end.saturating_sub(out.len());
    out.truncate(start);
    out.extend_from_slice(PH);
}

/// The start of the placeholder in `out` that covers position `q`, if any. Every
/// `[redacted]` in `out` is a placeholder: residual text holds none, and two cannot
/// overlap.
fn placeholder_around(out: &[u8], q: usize) -> Option<usize> {
    (q.saturating_sub(PH.len() - 1)..=q).find(|&h| out.get(h..).is_some_and(|t| t.starts_with(PH)))
}

/// The text `head ++ tail` without copying: the output so far followed by the input
/// still to scan.
#[derive(Clone, Copy)]
struct View<'a> {
    head: &'a [u8],
    tail: &'a [u8],
}

impl<'a> View<'a> {
    fn new(head: &'a [u8], tail: &'a [u8]) -> Self {
        View { head, tail }
    }

    fn byte(&self, k: usize) -> Option<u8> {
        match self.head.get(k) {
            Some(&b) => Some(b),
            None => self.tail.get(k - self.head.len()).copied(),
        }
    }

    /// Whether `alt` is at offset `at`, ASCII letters compared case-insensitively if
    /// `fold`.
    fn has(&self, at: usize, alt: &[u8], fold: bool) -> bool {
        alt.iter().enumerate().all(|(k, &a)| {
            self.byte(at + k)
                .is_some_and(|b| b == a || (fold && b.eq_ignore_ascii_case(&a)))
        })
    }
}

/// `out ++ rest` from position `at`.
fn view<'a>(out: &'a [u8], rest: &'a [u8], at: usize) -> View<'a> {
    match out.get(at..) {
        Some(head) => View::new(head, rest),
        None => View::new(&[], rest.get(at - out.len()..).unwrap_or_default()),
    }
}

// A match program: a sequence of units, each matching one of a few alternatives.
// A unit is its byte length then its alternatives; an alternative is a header (its
// length, plus FOLD if ASCII letters match in either case) then its bytes. The
// alternatives of a unit never start one another, so at most one matches and the
// scan needs no backtracking.
const FOLD: u8 = 0x80;
const MAX_ALT: usize = 0x7f;

/// A match program (described above) under construction.
#[derive(Default)]
struct Program {
    bytes: Vec<u8>,
    unit: usize,
    alt: usize,
}

impl Program {
    fn unit(&mut self) -> &mut Self {
        self.unit = self.bytes.len();
        self.bytes.push(0);
        self
    }

    fn alt(&mut self, fold: bool) -> &mut Self {
        self.alt = self.bytes.len();
        self.bytes.push(if fold { FOLD } else { 0 });
        let unit = self.unit;
        self.grow(unit, 1)
    }

    fn push(&mut self, b: &[u8]) -> &mut Self {
        self.bytes.extend_from_slice(b);
        let (n, alt, unit) = (b.len() as u8, self.alt, self.unit);
        self.grow(alt, n).grow(unit, n)
    }

    fn grow(&mut self, at: usize, n: u8) -> &mut Self {
        if let Some(len) = self.bytes.get_mut(at) {
            *len = len.wrapping_add(n);
        }
        self
    }

    /// Adds `alt` as an alternative unless it is empty.
    fn option(&mut self, fold: bool, alt: &[u8]) -> &mut Self {
        if !alt.is_empty() {
            self.alt(fold).push(alt);
        }
        self
    }

    fn char(&mut self, c: char) -> &mut Self {
        self.push(c.encode_utf8(&mut [0; 4]).as_bytes())
    }

    fn hex(&mut self, n: u32, digits: u32) -> &mut Self {
        const HEX: &[u8; 16] = b"0123456789ABCDEF";
        let mut d = digits;
        while d < 8 && n >> (4 * d) != 0 {
            d += 1;
        }
        for k in (0..d).rev() {
            let digit = HEX
                .get((n >> (4 * k) & 15) as usize)
                .copied()
                .unwrap_or(b'0');
            self.push(&[digit]);
        }
        self
    }

    fn dec(&mut self, n: u32) -> &mut Self {
        let mut s = String::new();
        push_decimal(&mut s, n.into());
        self.push(s.as_bytes())
    }
}

/// The units of a match program.
struct Units<'a>(&'a [u8]);

impl<'a> Iterator for Units<'a> {
    type Item = Alts<'a>;
    fn next(&mut self) -> Option<Alts<'a>> {
        let (&len, rest) = self.0.split_first()?;
        let (unit, rest) = rest.split_at_checked(usize::from(len))?;
        self.0 = rest;
        Some(Alts(unit))
    }
}

/// The alternatives of one unit, each with its fold flag.
#[derive(Clone, Copy)]
struct Alts<'a>(&'a [u8]);

impl<'a> Iterator for Alts<'a> {
    type Item = (&'a [u8], bool);
    fn next(&mut self) -> Option<(&'a [u8], bool)> {
        let (&h, rest) = self.0.split_first()?;
        let (alt, rest) = rest.split_at_checked(usize::from(h & !FOLD))?;
        self.0 = rest;
        Some((alt, h & FOLD != 0))
    }
}

fn widest(alts: Alts) -> usize {
    alts.map(|(alt, _)| alt.len()).max().unwrap_or(0)
}

/// The length of the match of `program` at the start of `v`.
fn match_len(program: &[u8], v: View) -> Option<usize> {
    let mut at = 0;
    for mut alts in Units(program) {
        at += alts.find(|&(alt, fold)| v.has(at, alt, fold))?.0.len();
    }
    (at > 0).then_some(at)
}

/// `bytes` exactly.
fn literal(bytes: &[u8]) -> Vec<u8> {
    let mut p = Program::default();
    for chunk in bytes.chunks(MAX_ALT) {
        p.unit().alt(false).push(chunk);
    }
    p.bytes
}

/// A program with one unit per character of `secret`, whose alternatives `each` adds.
fn per_char(secret: &str, each: impl Fn(&mut Program, char)) -> Vec<u8> {
    let mut p = Program::default();
    for c in secret.chars() {
        each(p.unit(), c);
    }
    p.bytes
}

/// Percent-encoded: each character as it is (but `%`) or as `%XX` per UTF-8 byte
/// (either case), space also as `+`. Covers WHATWG form encoding, RFC 3986,
/// `encodeURIComponent` and `encodeURI`, whichever characters they keep.
fn percent(secret: &str) -> Vec<u8> {
    per_char(secret, |p, c| {
        if c != '%' {
            p.alt(false).char(c);
        }
        p.option(false, if c == ' ' { b"+" } else { b"" }).alt(true);
        for b in c.encode_utf8(&mut [0; 4]).bytes() {
            p.push(b"%").hex(b.into(), 2);
        }
    })
}

/// JSON string contents (RFC 8259 §7): `"` and `\` escaped, control characters as
/// their short escape, any character also as `\uXXXX` (either case; a surrogate pair
/// beyond the BMP), `/` also as `\/`.
fn json(secret: &str) -> Vec<u8> {
    per_char(secret, |p, c| {
        let short: &[u8] = match c {
            '"' => b"\\\"",
            '\\' => b"\\\\",
            '/' => b"\\/",
            '\u{8}' => b"\\b",
            '\u{c}' => b"\\f",
            '\n' => b"\\n",
            '\r' => b"\\r",
            '\t' => b"\\t",
            _ => b"",
        };
        p.option(false, short);
        if c >= ' ' && c != '"' && c != '\\' {
            p.alt(false).char(c);
        }
        p.alt(true);
        for unit in c.encode_utf16(&mut [0; 2]) {
            p.push(b"\\u").hex(u32::from(*unit), 4);
        }
    })
}

/// HTML-escaped: `& < >` only as entities, `" '` as they are or as entities
/// (`&quot;`, `&apos;`, `&#39;`, `&#039;`), every character also as `&#DDD;` and
/// `&#xHH;`; entity names and hex digits in either case.
fn html(secret: &str) -> Vec<u8> {
    per_char(secret, |p, c| {
        let named: &[u8] = match c {
            '&' => b"&amp;",
            '<' => b"&lt;",
            '>' => b"&gt;",
            '"' => b"&quot;",
            '\'' => b"&apos;",
            _ => b"",
        };
        p.option(true, named);
        if !matches!(c, '&' | '<' | '>') {
            p.alt(false).char(c);
        }
        p.option(false, if c == '\'' { b"&#039;" } else { b"" });
        p.alt(false).push(b"&#").dec(c.into()).push(b";");
        p.alt(true).push(b"&#x").hex(c.into(), 1).push(b";");
    })
}

/// The Base64 runs (standard alphabet) that `plain` gives: its whole encoding, padded
/// and not, and for each byte offset 0, 1, 2 within a 3-byte group the symbols that
/// depend on `plain` alone (symbol k holds bits 6k..6k+6 of the group-aligned input).
fn base64_runs(plain: &[u8]) -> Vec<Vec<u8>> {
    let whole = base64_encode(plain).into_bytes();
    let mut unpadded = whole.clone();
    while unpadded.last() == Some(&b'=') {
        unpadded.pop();
    }
    let mut runs = vec![whole, unpadded];
    for offset in 0..3 {
        let mut aligned = Vec::with_capacity(offset + plain.len());
        aligned.extend_from_slice([0, 0].get(..offset).unwrap_or_default());
        aligned.extend_from_slice(plain);
        let enc = base64_encode(&aligned).into_bytes();
        let (from, to) = ((8 * offset).div_ceil(6), 8 * aligned.len() / 6);
        runs.extend(enc.get(from..to).map(<[u8]>::to_vec));
    }
    runs
}

// Host only: proptest does not build for wasm32.
#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use crate::config::basic_credential;
    use proptest::prelude::*;
    use proptest::sample::{select, Index};

    /// The needles the redactor compiled, checked against `out`: true if an
    /// occurrence lies outside every placeholder.
    fn leaks(r: &Redactor, out: &str) -> bool {
        let s = out.as_bytes();
        (0..s.len()).any(|i| {
            let len = r.needle(View::new(&[], &s[i..]));
            len > 0 && !inside_placeholder(s, i, len)
        })
    }

    fn inside_placeholder(s: &[u8], at: usize, len: usize) -> bool {
        (at.saturating_sub(PH.len() - 1)..=at)
            .any(|h| s[h..].starts_with(PH) && at + len <= h + PH.len())
    }

    /// Every occurrence of `needle` in `out` that lies outside every placeholder.
    fn survives(out: &str, needle: &str) -> bool {
        let (s, n) = (out.as_bytes(), needle.as_bytes());
        !n.is_empty()
            && (0..s.len()).any(|i| s[i..].starts_with(n) && !inside_placeholder(s, i, n.len()))
    }

    // Encoders written independently of the module, as the servers write them.

    fn pct(s: &str, keep: &[u8], space: &str, lower: bool) -> String {
        let mut out = String::new();
        for b in s.bytes() {
            if b.is_ascii_alphanumeric() || keep.contains(&b) {
                out.push(b as char);
            } else if b == b' ' && !space.is_empty() {
                out.push_str(space);
            } else {
                let e = format!("%{b:02X}");
                out.push_str(&if lower { e.to_lowercase() } else { e });
            }
        }
        out
    }

    fn json_ascii(s: &str, upper: bool) -> String {
        let mut out = String::new();
        for c in s.chars() {
            match c {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                '/' => out.push_str("\\/"),
                ' '..='~' => out.push(c),
                _ => {
                    for u in c.encode_utf16(&mut [0; 2]) {
                        let hex = format!("{u:04x}");
                        out.push_str("\\u");
                        out.push_str(&if upper { hex.to_uppercase() } else { hex });
                    }
                }
            }
        }
        out
    }

    fn html_escape(s: &str, apos: &str) -> String {
        let mut out = String::new();
        for c in s.chars() {
            match c {
                '&' => out.push_str("&amp;"),
                '<' => out.push_str("&lt;"),
                '>' => out.push_str("&gt;"),
                '"' => out.push_str("&quot;"),
                '\'' => out.push_str(apos),
                c => out.push(c),
            }
        }
        out
    }

    fn b64url(s: &str) -> String {
        s.replace('+', "-").replace('/', "_")
    }

    /// Every whole encoding of the secret that the brief lists.
    fn encodings(id: &str, secret: &str) -> Vec<String> {
        let mut v = vec![secret.to_owned(), form_urlencode(secret)];
        for lower in [false, true] {
            v.push(pct(secret, b"-._~", "", lower));
            v.push(pct(secret, b"-_.!~*'()", "", lower));
            v.push(pct(secret, b"*-._", "+", lower));
        }
        let serde = serde_json::to_string(secret).unwrap();
        v.push(serde[1..serde.len() - 1].to_owned());
        v.push(json_ascii(secret, false));
        v.push(json_ascii(secret, true));
        for apos in ["&#39;", "&#x27;", "&#039;", "&apos;"] {
            v.push(html_escape(secret, apos));
        }
        v.push(secret.chars().map(|c| format!("&#{};", c as u32)).collect());
        v.push(
            secret
                .chars()
                .map(|c| format!("&#x{:x};", c as u32))
                .collect(),
        );
        let basic = basic_credential(id, secret);
        for plain in [secret.to_owned(), format!("{id}:{secret}")] {
            let b = base64_encode(plain.as_bytes());
            v.extend([b.clone(), b.trim_end_matches('=').to_owned()]);
            v.extend([b64url(&b), b64url(b.trim_end_matches('='))]);
        }
        v.extend([basic.clone(), b64url(&basic)]);
        v
    }

    /// The Base64 symbols of `text = base64(prefix ++ secret ++ suffix)` that hold
    /// only bits of the secret.
    fn embedded_core(prefix: usize, secret: usize, text: &str) -> String {
        let (from, to) = ((8 * prefix).div_ceil(6), 8 * (prefix + secret) / 6);
        text.get(from..to.max(from)).unwrap_or_default().to_owned()
    }

    fn all_codes() -> impl Iterator<Item = &'static str> {
        LIBRARY_CODES.iter().chain(OAUTH_ERROR_CODES).copied()
    }

    // Example tests: the inputs of issue 8 and issue 9.

    #[test]
    fn codes_are_never_redacted_for_secrets_inside_them() {
        for secret in [
            "client",
            "error",
            "time",
            "s",
            "a",
            "_",
            "invalid_client",
            "e",
            "[redacted]",
        ] {
            let r = Redactor::new("id", secret);
            for code in all_codes() {
                assert_eq!(r.code(code), code, "secret {secret:?}");
            }
        }
        assert!(is_registered_code("invalid_client") && is_registered_code("quota_exceeded"));
        assert!(!is_registered_code("Invalid_Client") && !is_registered_code(""));
    }

    #[test]
    fn the_placeholder_does_not_nest() {
        let r = Redactor::new("id", "a");
        assert_eq!(r.text("invalid_client"), "inv[redacted]lid_client");
        assert_eq!(r.text("aaa"), "[redacted][redacted][redacted]");
        let r = Redactor::new("id", "client");
        assert_eq!(r.text("bad client: client"), "bad [redacted]: [redacted]");
        for secret in ["error", "time", "s"] {
            let r = Redactor::new("id", secret);
            for code in ["http_error", "timeout", "invalid_response"] {
                assert_eq!(r.code(code), code);
                assert!(!r.text(code).contains("[red[red"));
            }
        }
    }

    #[test]
    fn other_codes_with_the_secret_become_http_error() {
        let r = Redactor::new("id", "s3cr3t");
        assert_eq!(r.code("bad_s3cr3t"), "http_error");
        assert_eq!(r.code("bad_s3cr3t_x"), "http_error");
        assert_eq!(r.code("bad_czNjcjN0"), "http_error"); // base64
        assert_eq!(r.code("weird_code"), "weird_code");
        assert_eq!(Redactor::new("id", "").code("anything"), "anything");
    }

    #[test]
    fn uri_component_and_form_encodings_are_redacted() {
        let r = Redactor::new("id", "p@ss w/rd'!(x)*~");
        for text in [
            "p%40ss%20w%2Frd'!(x)*~",           // encodeURIComponent
            "p%40ss%20w%2frd'!(x)*~",           // lower-case hex
            "p%40ss+w%2Frd%27%21%28x%29*%7E",   // form-urlencoded
            "p%40ss%20w%2Frd%27%21%28x%29%2A~", // RFC 3986
            "p%40ss%20w%2frd%27%21%28x%29%2a~",
            "p@ss%20w/rd'!(x)*~", // encodeURI
        ] {
            assert_eq!(
                r.text(&format!("error_uri=https://x/?s={text}&y")),
                "error_uri=https://x/?s=[redacted]&y",
                "{text}"
            );
        }
    }

    #[test]
    fn html_and_json_escapes_are_redacted() {
        let r = Redactor::new("id", "a&b\"c'd<e>f/é");
        for text in [
            "a&amp;b&quot;c&#39;d&lt;e&gt;f/é",
            "a&amp;b&quot;c&#x27;d&lt;e&gt;f/é",
            "a&amp;b&#34;c&#039;d&#60;e&#x3E;f/&#233;",
            "a&AMP;b\"c'd&LT;e&gt;f&#x2f;&#xE9;",
            "a&b\\\"c'd<e>f\\/\\u00e9",
            "a&b\\u0022c'd<e>f/\\u00E9",
        ] {
            assert_eq!(
                r.text(&format!("<p>{text}</p>")),
                "<p>[redacted]</p>",
                "{text}"
            );
        }
        let r = Redactor::new("id", "x\u{1F600}\n");
        assert_eq!(r.text("\"x\\ud83d\\ude00\\n\""), "\"[redacted]\"");
    }

    #[test]
    fn base64_is_redacted_at_every_alignment() {
        let secret = "hunter2!";
        let r = Redactor::new("client", secret);
        for prefix in ["", "a", "ab", "abc", "abcd", "abcde"] {
            let text = base64_encode(format!("{prefix}{secret}-and-more").as_bytes());
            let out = r.text(&text);
            let core = embedded_core(prefix.len(), secret.len(), &text);
            assert!(core.len() >= 9 && !survives(&out, &core), "{prefix}: {out}");
            assert!(out.contains(PLACEHOLDER));
        }
        let basic = basic_credential("aaa/;&", "s e/cret");
        let r = Redactor::new("aaa/;&", "s e/cret");
        assert_eq!(
            r.text(&format!("got Basic {basic}, ok")),
            "got Basic [redacted], ok"
        );
        let pair = base64_encode(b"aaa/;&:s e/cret");
        assert_eq!(r.text(&b64url(&pair)), PLACEHOLDER);
        assert_eq!(r.text(pair.trim_end_matches('=')), PLACEHOLDER);
    }

    #[test]
    fn placeholders_in_the_text_absorb_what_overlaps_them() {
        let r = Redactor::new("id", "]q");
        assert_eq!(r.text("]qq"), PLACEHOLDER);
        assert_eq!(r.text("x[redacted]q y"), "x[redacted] y");
        let r = Redactor::new("id", "a[r");
        assert_eq!(r.text("aa[r"), PLACEHOLDER);
        assert_eq!(r.text("[redacted]"), "[redacted]");
        let r = Redactor::new("id", "dact");
        assert_eq!(r.text("[redacted] dact"), "[redacted] [redacted]");
    }

    #[test]
    fn long_secrets_and_empty_secrets() {
        let secret: String = "0123456789abcdef".repeat(20);
        let r = Redactor::new("id", &secret);
        assert_eq!(r.text(&format!("<{secret}>")), "<[redacted]>");
        let b = base64_encode(secret.as_bytes());
        assert_eq!(r.text(&b), PLACEHOLDER);
        let r = Redactor::new("id", "");
        assert_eq!(r.text("a [redacted] b"), "a [redacted] b");
        assert!(!r.finds("anything"));
    }

    #[test]
    fn debug_shows_nothing() {
        assert_eq!(
            format!("{:?}", Redactor::new("id", "hunter2")),
            "Redactor([redacted])"
        );
    }

    // Laws.

    fn secrets() -> impl Strategy<Value = String> {
        let words: Vec<&str> = all_codes().chain([PLACEHOLDER]).collect();
        prop_oneof![
            any::<char>().prop_map(String::from),
            "[ -~]{1,12}",
            "[!-/:-@\\[-`{-~ ]{1,8}",
            "[a-zé中😀 &<>\"'%+/\\\\\\[\\]]{1,10}",
            "\\PC{1,16}",
            // Secrets that run into or out of a placeholder.
            "(\\]|d\\]|ted\\])[acq\\[]{0,2}|[acq\\]]{0,2}(\\[|\\[r|\\[red)",
            (select(words), any::<Index>(), any::<Index>()).prop_map(|(w, a, b)| {
                let (a, b) = (a.index(w.len()), b.index(w.len()));
                w[a.min(b)..=a.max(b)].to_owned()
            }),
        ]
    }

    fn fillers() -> impl Strategy<Value = String> {
        prop_oneof![
            "\\PC{0,8}",
            "[ -~]{0,8}",
            "[\\[\\]redactq]{1,4}",
            select(vec![
                "[redacted]",
                "[redac",
                "ted]",
                "[",
                "]",
                "%",
                "&#",
                "\\u",
                "=="
            ])
            .prop_map(str::to_owned),
        ]
    }

    /// A text made of filler and encodings of the secret (`Err(k)`: encoding k, or
    /// for even k the raw secret, the form most likely to meet a placeholder).
    fn pieces() -> impl Strategy<Value = Vec<Result<String, usize>>> {
        prop::collection::vec(
            prop_oneof![fillers().prop_map(Ok), any::<usize>().prop_map(Err)],
            0..8,
        )
    }

    fn assemble(pieces: &[Result<String, usize>], encs: &[String]) -> String {
        pieces
            .iter()
            .map(|p| match p {
                Ok(s) => s.as_str(),
                Err(k) if k % 2 == 0 => &encs[0],
                Err(k) => &encs[k % encs.len()],
            })
            .collect()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(1000))]

        #[test]
        fn no_form_of_the_secret_survives_and_redaction_is_idempotent(
            id in "[a-zA-Z0-9/;&: ]{0,8}",
            secret in secrets(),
            pieces in pieces(),
        ) {
            let r = Redactor::new(&id, &secret);
            let encs = encodings(&id, &secret);
            let text = assemble(&pieces, &encs);
            let out = r.text(&text);
            prop_assert!(!leaks(&r, &out), "{:?} -> {:?}", text, out);
            for e in &encs {
                prop_assert!(!survives(&out, e), "{:?} survives in {:?}", e, out);
            }
            prop_assert_eq!(r.text(&out), out.clone());
            for code in all_codes() {
                prop_assert_eq!(r.code(code), code);
            }
        }

        #[test]
        fn base64_embedded_at_any_offset_is_redacted(
            id in "[a-z0-9]{0,6}",
            secret in secrets(),
            prefix in prop::collection::vec(any::<u8>(), 0..7),
            suffix in prop::collection::vec(any::<u8>(), 0..4),
            url in any::<bool>(),
        ) {
            let r = Redactor::new(&id, &secret);
            let plain = [&prefix[..], secret.as_bytes(), &suffix[..]].concat();
            let mut text = base64_encode(&plain);
            if url {
                text = b64url(&text);
            }
            let out = r.text(&text);
            let core = embedded_core(prefix.len(), secret.len(), &text);
            prop_assert!(!survives(&out, &core), "{:?} survives in {:?}", core, out);
            prop_assert!(!leaks(&r, &out));
            prop_assert_eq!(r.text(&out), out.clone());
        }

        #[test]
        fn text_without_the_secret_is_returned_byte_for_byte(
            secret in "[ -~]{4,12}|\\PC{3,8}",
            pieces in prop::collection::vec(fillers(), 0..12),
        ) {
            let r = Redactor::new("id", &secret);
            let text: String = pieces.concat();
            prop_assume!(!r.finds(&text));
            prop_assert_eq!(r.text(&text), text);
        }

        #[test]
        fn unregistered_codes_are_kept_unless_they_hold_the_secret(
            secret in secrets(),
            code in "[a-z_]{1,20}",
            wrap in any::<bool>(),
        ) {
            let r = Redactor::new("id", &secret);
            let code = if wrap { format!("x_{secret}_y") } else { code };
            let expect = if is_registered_code(&code) || !r.finds(&code) { code.as_str() } else { "http_error" };
            prop_assert_eq!(r.code(&code), expect);
            if wrap {
                prop_assert_eq!(r.code(&code), "http_error");
            }
        }
    }
}
