//! Go `time.Duration` syntax: [`parse_nanos`] accepts exactly what `time.ParseDuration` accepts and
//! [`format_nanos`] prints exactly what `Duration.String()` prints.

use crate::types::GoDuration;
use std::fmt;
use std::str::FromStr;
use std::time::Duration;

/// Error from parsing a Go duration; its text is Go's (`time: invalid duration "x"`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("time: {0}")]
pub struct ParseDurationError(String);

impl ParseDurationError {
    fn new(kind: &str, input: &str) -> Self {
        ParseDurationError(format!("{kind} {}", crate::quote::go_quote(input)))
    }
}

const NS: u64 = 1;
const US: u64 = 1_000;
const MS: u64 = 1_000_000;
const SEC: u64 = 1_000_000_000;
const MIN: u64 = 60 * SEC;
const HOUR: u64 = 60 * MIN;

fn unit_of(u: &str) -> Option<u64> {
    Some(match u {
        "ns" => NS,
        "us" | "\u{b5}s" | "\u{3bc}s" => US,
        "ms" => MS,
        "s" => SEC,
        "m" => MIN,
        "h" => HOUR,
        _ => return None,
    })
}

/// Parses a Go duration string into signed nanoseconds, like Go's `time.ParseDuration`.
pub fn parse_nanos(input: &str) -> Result<i64, ParseDurationError> {
    let mut s = input;
    let mut neg = false;
    if let Some(rest) = s.strip_prefix('-') {
        neg = true;
        s = rest;
    } else if let Some(rest) = s.strip_prefix('+') {
        s = rest;
    }
    if s == "0" {
        return Ok(0);
    }
    if s.is_empty() {
        return Err(ParseDurationError::new("invalid duration", input));
    }
    let invalid = || ParseDurationError::new("invalid duration", input);
    const LIMIT: u64 = 1 << 63;
    let mut total: u64 = 0;
    while !s.is_empty() {
        let b = s.as_bytes();
        if !(b[0] == b'.' || b[0].is_ascii_digit()) {
            return Err(invalid());
        }
        // Integer part.
        let digits = b.iter().take_while(|c| c.is_ascii_digit()).count();
        let mut v: u64 = 0;
        for &c in &b[..digits] {
            if v > (LIMIT - 1) / 10 {
                return Err(invalid());
            }
            v = v * 10 + u64::from(c - b'0');
            if v > LIMIT {
                return Err(invalid());
            }
        }
        let pre = digits > 0;
        s = &s[digits..];
        // Fraction part.
        let mut f: u64 = 0;
        let mut scale: f64 = 1.0;
        let mut post = false;
        if let Some(rest) = s.strip_prefix('.') {
            s = rest;
            let fd = s.bytes().take_while(|c| c.is_ascii_digit()).count();
            let mut overflow = false;
            for c in s[..fd].bytes() {
                if overflow {
                    continue;
                }
                if f > (LIMIT - 1) / 10 {
                    overflow = true;
                    continue;
                }
                let y = f * 10 + u64::from(c - b'0');
                if y > LIMIT {
                    overflow = true;
                    continue;
                }
                f = y;
                scale *= 10.0;
            }
            post = fd > 0;
            s = &s[fd..];
        }
        if !pre && !post {
            return Err(invalid());
        }
        // Unit.
        let ulen = s
            .char_indices()
            .find(|(_, c)| *c == '.' || c.is_ascii_digit())
            .map(|(i, _)| i)
            .unwrap_or(s.len());
        if ulen == 0 {
            return Err(ParseDurationError::new("missing unit in duration", input));
        }
        let u = &s[..ulen];
        s = &s[ulen..];
        let Some(unit) = unit_of(u) else {
            return Err(ParseDurationError(format!(
                "unknown unit {} in duration {}",
                crate::quote::go_quote(u),
                crate::quote::go_quote(input)
            )));
        };
        if v > LIMIT / unit {
            return Err(invalid());
        }
        v *= unit;
        if f > 0 {
            v += (f as f64 * (unit as f64 / scale)) as u64;
            if v > LIMIT {
                return Err(invalid());
            }
        }
        total += v;
        if total > LIMIT {
            return Err(invalid());
        }
    }
    if neg {
        return Ok((total as i128).wrapping_neg() as i64);
    }
    if total > LIMIT - 1 {
        return Err(invalid());
    }
    Ok(total as i64)
}

fn fmt_frac(buf: &mut Vec<u8>, mut v: u64, prec: usize) -> u64 {
    // Writes the fraction of v/10^prec (without trailing zeros) in reverse into buf.
    let mut print = false;
    for _ in 0..prec {
        let digit = v % 10;
        print = print || digit != 0;
        if print {
            buf.push(b'0' + digit as u8);
        }
        v /= 10;
    }
    if print {
        buf.push(b'.');
    }
    v
}

fn fmt_int(buf: &mut Vec<u8>, mut v: u64) {
    if v == 0 {
        buf.push(b'0');
        return;
    }
    while v > 0 {
        buf.push(b'0' + (v % 10) as u8);
        v /= 10;
    }
}

/// Formats signed nanoseconds exactly like Go's `Duration.String()` (`1h0m0s`, `1.5s`, `500ms`, `0s`).
pub fn format_nanos(d: i64) -> String {
    let mut buf = Vec::with_capacity(32);
    push_nanos(&mut buf, d);
    String::from_utf8(buf).unwrap_or_default()
}

/// Appends [`format_nanos`]`(d)` to `out` (no allocation beyond `out`'s growth).
pub fn push_nanos(out: &mut Vec<u8>, d: i64) {
    if d == 0 {
        out.extend_from_slice(b"0s");
        return;
    }
    let start = out.len();
    let buf = out;
    let neg = d < 0;
    let mut u = d.unsigned_abs();
    // Built in reverse.
    if u < SEC {
        let prec;
        buf.push(b's');
        if u < US {
            buf.push(b'n');
            prec = 0;
        } else if u < MS {
            // "µs" reversed (UTF-8 bytes of U+00B5 are C2 B5).
            buf.push(0xB5);
            buf.push(0xC2);
            prec = 3;
        } else {
            buf.push(b'm');
            prec = 6;
        }
        u = fmt_frac(buf, u, prec);
        fmt_int(buf, u);
    } else {
        buf.push(b's');
        u = fmt_frac(buf, u, 9);
        fmt_int(buf, u % 60);
        u /= 60;
        if u > 0 {
            buf.push(b'm');
            fmt_int(buf, u % 60);
            u /= 60;
            if u > 0 {
                buf.push(b'h');
                fmt_int(buf, u);
            }
        }
    }
    if neg {
        buf.push(b'-');
    }
    buf[start..].reverse();
}

impl GoDuration {
    /// The duration in nanoseconds, saturating at `i64::MAX`.
    pub fn as_nanos_i64(&self) -> i64 {
        i64::try_from(self.0.as_nanos()).unwrap_or(i64::MAX)
    }

    /// Builds a duration from milliseconds.
    pub const fn from_millis(ms: u64) -> Self {
        GoDuration(Duration::from_millis(ms))
    }

    /// Builds a duration from seconds.
    pub const fn from_secs(s: u64) -> Self {
        GoDuration(Duration::from_secs(s))
    }

    /// Whether the duration is zero.
    pub fn is_zero(&self) -> bool {
        self.0.is_zero()
    }
}

impl From<Duration> for GoDuration {
    fn from(d: Duration) -> Self {
        GoDuration(d)
    }
}

impl From<GoDuration> for Duration {
    fn from(d: GoDuration) -> Self {
        d.0
    }
}

impl FromStr for GoDuration {
    type Err = ParseDurationError;

    /// Parses Go syntax; negative durations (valid in Go) are rejected because
    /// [`GoDuration`] is unsigned.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let n = parse_nanos(s)?;
        if n < 0 {
            return Err(ParseDurationError::new("negative duration", s));
        }
        Ok(GoDuration(Duration::from_nanos(n as u64)))
    }
}

impl fmt::Display for GoDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&format_nanos(self.as_nanos_i64()))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn parse_table() {
        let ok: &[(&str, i64)] = &[
            ("0", 0),
            ("5s", 5 * SEC as i64),
            ("30s", 30 * SEC as i64),
            ("1478s", 1478 * SEC as i64),
            ("-5s", -5 * SEC as i64),
            ("+5s", 5 * SEC as i64),
            ("-0", 0),
            ("+0", 0),
            ("5.0s", 5 * SEC as i64),
            ("5.6s", 5 * SEC as i64 + 600 * MS as i64),
            ("5.s", 5 * SEC as i64),
            (".5s", 500 * MS as i64),
            ("1.0s", SEC as i64),
            ("1.00s", SEC as i64),
            ("1.004s", SEC as i64 + 4 * MS as i64),
            ("1.0040s", SEC as i64 + 4 * MS as i64),
            ("100.00100s", 100 * SEC as i64 + MS as i64),
            ("10ns", 10),
            ("11us", 11 * US as i64),
            ("12µs", 12 * US as i64),
            ("12μs", 12 * US as i64),
            ("13ms", 13 * MS as i64),
            ("14s", 14 * SEC as i64),
            ("15m", 15 * MIN as i64),
            ("16h", 16 * HOUR as i64),
            ("3h30m", 3 * HOUR as i64 + 30 * MIN as i64),
            (
                "10.5s4m",
                4 * MIN as i64 + 10 * SEC as i64 + 500 * MS as i64,
            ),
            (
                "-2m3.4s",
                -(2 * MIN as i64 + 3 * SEC as i64 + 400 * MS as i64),
            ),
            ("1h2m3s4ms5us6ns", 3_723_004_005_006),
            ("39h9m14.425s", 140_954_425 * MS as i64),
            ("52763797000ns", 52_763_797_000),
            ("0.3333333333333333333h", 20 * MIN as i64),
            ("9007199254740993ns", 9_007_199_254_740_993),
            ("9223372036854775807ns", i64::MAX),
            ("9223372036854775.807us", i64::MAX),
            ("-9223372036854775808ns", i64::MIN),
            ("0.100000000000000000000h", 6 * MIN as i64),
            (
                "0.830103483285477580700h",
                49 * MIN as i64 + 48 * SEC as i64 + 372_539_827,
            ),
        ];
        for (s, want) in ok {
            assert_eq!(parse_nanos(s), Ok(*want), "{s}");
        }
        let bad = [
            "",
            "3",
            "-",
            "s",
            ".",
            "-.",
            ".s",
            "+.s",
            "1d",
            "\u{FFFD}",
            "5 parsecs",
            "9223372036854775808ns",
            "9223372036854775.808us",
            "1 s",
            "1s ",
            " 1s",
            "1S",
            "1.5",
        ];
        for s in bad {
            assert!(parse_nanos(s).is_err(), "{s:?} should fail");
        }
        assert_eq!(
            parse_nanos("3").unwrap_err().to_string(),
            "time: missing unit in duration \"3\""
        );
        assert_eq!(
            parse_nanos("1d").unwrap_err().to_string(),
            "time: unknown unit \"d\" in duration \"1d\""
        );
        assert_eq!(
            parse_nanos("x").unwrap_err().to_string(),
            "time: invalid duration \"x\""
        );
    }

    #[test]
    fn format_table() {
        let cases: &[(i64, &str)] = &[
            (0, "0s"),
            (1, "1ns"),
            (1100, "1.1µs"),
            (2200 * US as i64, "2.2ms"),
            (3300 * MS as i64, "3.3s"),
            (500 * MS as i64, "500ms"),
            (90 * SEC as i64, "1m30s"),
            (HOUR as i64, "1h0m0s"),
            (30 * SEC as i64, "30s"),
            (1500 * MS as i64, "1.5s"),
            (4 * MIN as i64 + 5 * SEC as i64, "4m5s"),
            (4 * MIN as i64 + 5001 * MS as i64, "4m5.001s"),
            (
                5 * HOUR as i64 + 6 * MIN as i64 + 7001 * MS as i64,
                "5h6m7.001s",
            ),
            (8 * MIN as i64 + 1, "8m0.000000001s"),
            (i64::MAX, "2562047h47m16.854775807s"),
            (i64::MIN, "-2562047h47m16.854775808s"),
            (-1, "-1ns"),
            (2 * HOUR as i64 + 45 * MIN as i64, "2h45m0s"),
        ];
        for (d, want) in cases {
            assert_eq!(format_nanos(*d), *want);
            // Appended after other bytes, as the request log line does.
            let mut line = b"GET / ".to_vec();
            push_nanos(&mut line, *d);
            assert_eq!(String::from_utf8(line).unwrap(), format!("GET / {want}"));
        }
    }

    #[test]
    fn go_duration_traits() {
        let d: GoDuration = "1m30s".parse().unwrap();
        assert_eq!(d.0, Duration::from_secs(90));
        assert_eq!(d.to_string(), "1m30s");
        assert!("-1s".parse::<GoDuration>().is_err());
        assert_eq!("0".parse::<GoDuration>().unwrap().to_string(), "0s");
    }
}
