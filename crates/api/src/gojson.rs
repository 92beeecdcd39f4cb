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
