//! JSON output identical to Go's `encoding/json` (`json.Marshal`).
//!
//! serde_json already escapes like Go for quotes, backslashes and control characters (Go ≥ 1.22
//! writes `\b` and `\f` too). What Go adds is HTML escaping of `<`, `>` and `&` as `\u003c`,
//! `\u003e`, `\u0026`, plus `\u2028` and `\u2029`, which [`to_go_json`] reproduces.

use serde::Serialize;
use std::io::{self, Write};

/// A serde_json formatter that escapes strings the way Go's `json.Marshal` does.
#[derive(Debug, Clone, Copy)]
pub struct GoFormatter {
    /// Escape `<`, `>`, `&` (Go's default `SetEscapeHTML(true)`).
    pub escape_html: bool,
}

impl serde_json::ser::Formatter for GoFormatter {
    fn write_string_fragment<W>(&mut self, writer: &mut W, fragment: &str) -> io::Result<()>
    where
        W: ?Sized + Write,
    {
        let bytes = fragment.as_bytes();
        let mut start = 0;
        let mut i = 0;
        while i < bytes.len() {
            let b = bytes[i];
            let esc: Option<(&[u8], usize)> = match b {
                b'<' if self.escape_html => Some((b"\\u003c", 1)),
                b'>' if self.escape_html => Some((b"\\u003e", 1)),
                b'&' if self.escape_html => Some((b"\\u0026", 1)),
                // U+2028 and U+2029 are E2 80 A8 / E2 80 A9 in UTF-8.
                0xE2 if i + 2 < bytes.len() && bytes[i + 1] == 0x80 => match bytes[i + 2] {
                    0xA8 => Some((b"\\u2028", 3)),
                    0xA9 => Some((b"\\u2029", 3)),
                    _ => None,
                },
                _ => None,
            };
            match esc {
                Some((rep, len)) => {
                    writer.write_all(&bytes[start..i])?;
                    writer.write_all(rep)?;
                    i += len;
                    start = i;
                }
                None => i += 1,
            }
        }
        writer.write_all(&bytes[start..])
    }
}

/// Bytes that [`write_go_json`] copies as they are into a JSON string, with and without HTML
/// escaping: not controls, `"`, `\\`, the lead byte 0xE2 of U+2028/U+2029, nor `<`, `>`, `&`.
const fn plain_bytes(escape_html: bool) -> [bool; 256] {
    let mut t = [false; 256];
    let mut b = 0x20;
    while b < 256 {
        t[b] = !(b == b'"' as usize
            || b == b'\\' as usize
            || b == 0xE2
            || (escape_html && (b == b'<' as usize || b == b'>' as usize || b == b'&' as usize)));
        b += 1;
    }
    t
}

static PLAIN_HTML: [bool; 256] = plain_bytes(true);
static PLAIN: [bool; 256] = plain_bytes(false);

/// Append `s` as a JSON string exactly as [`write_go_json`] would, without going through serde
/// when nothing in it needs escaping (the common case: names, states, timestamps).
pub fn write_go_str(out: &mut Vec<u8>, s: &str, escape_html: bool) {
    let table = if escape_html { &PLAIN_HTML } else { &PLAIN };
    if s.bytes().all(|b| table[usize::from(b)]) {
        out.reserve(s.len() + 2);
        out.push(b'"');
        out.extend_from_slice(s.as_bytes());
        out.push(b'"');
    } else {
        // Strings always serialize.
        let _ = write_go_json(out, s, escape_html);
    }
}

fn to_vec_with<T: Serialize + ?Sized>(value: &T, escape_html: bool) -> Vec<u8> {
    let mut out = Vec::with_capacity(128);
    let mut ser = serde_json::Serializer::with_formatter(&mut out, GoFormatter { escape_html });
    // Serialising our own types into a Vec cannot fail (no non-string map keys, no I/O errors).
    if value.serialize(&mut ser).is_err() {
        return b"null".to_vec();
    }
    out
}

/// Serialise `value` exactly as Go's `json.Marshal` would (HTML characters escaped).
pub fn to_go_json<T: Serialize + ?Sized>(value: &T) -> Vec<u8> {
    to_vec_with(value, true)
}

/// Serialise `value` as a Go `json.Encoder` with `SetEscapeHTML(false)` would (no trailing
/// newline; the caller adds it). Used by `/v1/logs` lines.
pub fn to_go_json_no_html_escape<T: Serialize + ?Sized>(value: &T) -> Vec<u8> {
    to_vec_with(value, false)
}

/// Write `value` with Go escaping into `out` (HTML characters escaped when `escape_html`).
pub fn write_go_json<T: Serialize + ?Sized>(
    out: &mut Vec<u8>,
    value: &T,
    escape_html: bool,
) -> Result<(), serde_json::Error> {
    let mut ser = serde_json::Serializer::with_formatter(out, GoFormatter { escape_html });
    value.serialize(&mut ser)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn write_go_str_matches_the_serde_path() {
        let cases = [
            "",
            "svc1",
            "active",
            "2026-11-27T01:15:58.123456789+01:00",
            "a <b> & c",
            "quote \" backslash \\ tab \t nl \n bell \u{7} del \u{7f}",
            "é ü 中 \u{2028} \u{2029} \u{2027} \u{e000}",
            "\u{1F600}",
        ];
        for s in cases {
            for html in [true, false] {
                let mut fast = b"x".to_vec();
                write_go_str(&mut fast, s, html);
                let mut slow = b"x".to_vec();
                write_go_json(&mut slow, s, html).unwrap();
                assert_eq!(
                    String::from_utf8(fast).unwrap(),
                    String::from_utf8(slow).unwrap(),
                    "{s:?} html={html}"
                );
            }
        }
    }

    #[test]
    fn escapes_like_go() {
        let s = "a <ok> & done\u{2028}\u{2029}\n\t\u{1}\"\\é";
        assert_eq!(
            String::from_utf8(to_go_json(s)).unwrap(),
            r#""a \u003cok\u003e \u0026 done\u2028\u2029\n\t\u0001\"\\é""#
        );
        assert_eq!(
            String::from_utf8(to_go_json_no_html_escape("<&>")).unwrap(),
            r#""<&>""#
        );
    }
}
