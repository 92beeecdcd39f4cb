//! Time and duration text exactly as Go prints and parses it.
//!
//! - [`rfc3339_nano`]: Go's `time.Time` JSON (RFC3339Nano, trailing zeros of the fraction trimmed)
//!   in the daemon's local zone (`Z` when the offset is zero);
//! - [`rfc3339_secs`]: `time.RFC3339` (whole seconds), local zone (task log lines);
//! - [`http_date`]: the `Date` response header;
//! - [`go_duration`] / [`parse_go_duration`]: Go's `Duration.String()` and `time.ParseDuration`.

use jiff::Timestamp;
use jiff::tz::{Offset, TimeZone};
use std::sync::OnceLock;
use std::time::Duration;

fn local_tz() -> &'static TimeZone {
    static TZ: OnceLock<TimeZone> = OnceLock::new();
    TZ.get_or_init(TimeZone::system)
}

fn local_offset(ts: Timestamp) -> Offset {
    local_tz().to_offset(ts)
}

/// Go RFC3339Nano with trimmed fraction, in the local zone.
pub fn rfc3339_nano(ts: Timestamp) -> String {
    let off = local_offset(ts);
    if off.seconds() == 0 {
        ts.to_string()
    } else {
        ts.display_with_offset(off).to_string()
    }
}

/// Go RFC3339Nano with trimmed fraction, in UTC (`Z`).
pub fn rfc3339_nano_utc(ts: Timestamp) -> String {
    ts.to_string()
}

/// Go `time.RFC3339` (whole seconds), local zone.
pub fn rfc3339_secs(ts: Timestamp) -> String {
    let secs = ts.as_second();
    let whole = Timestamp::from_second(secs).unwrap_or(ts);
    rfc3339_nano(whole)
}

/// The `Date` header value, e.g. `Thu, 26 Nov 2026 22:23:21 GMT`.
pub fn http_date(ts: Timestamp) -> String {
    let secs = ts.as_second();
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = crate::daemonlog::civil_from_days(days);
    // 1970-01-01 was a Thursday.
    const WD: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MO: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let wd = WD[days.rem_euclid(7) as usize];
    let mo = MO[(m as usize).saturating_sub(1).min(11)];
    format!(
        "{wd}, {d:02} {mo} {y:04} {:02}:{:02}:{:02} GMT",
        rem / 3600,
        (rem / 60) % 60,
        rem % 60
    )
}

fn frac_trimmed(mut value: u128, digits: usize) -> String {
    if value == 0 {
        return String::new();
    }
    let mut digits = digits;
    while value.is_multiple_of(10) {
        value /= 10;
        digits -= 1;
    }
    format!(".{value:0digits$}")
}

/// Go's `time.Duration.String()` for a non-negative duration (`1.5s`, `1m30s`, `226.019µs`).
pub fn go_duration(d: Duration) -> String {
    let n = d.as_nanos();
    if n == 0 {
        return "0s".into();
    }
    if n < 1_000 {
        return format!("{n}ns");
    }
    if n < 1_000_000 {
        return format!("{}{}µs", n / 1_000, frac_trimmed(n % 1_000, 3));
    }
    if n < 1_000_000_000 {
        return format!("{}{}ms", n / 1_000_000, frac_trimmed(n % 1_000_000, 6));
    }
    let secs = n / 1_000_000_000;
    let frac = frac_trimmed(n % 1_000_000_000, 9);
    let (h, m, s) = (secs / 3600, (secs / 60) % 60, secs % 60);
    if h > 0 {
        format!("{h}h{m}m{s}{frac}s")
    } else if m > 0 {
        format!("{m}m{s}{frac}s")
    } else {
        format!("{s}{frac}s")
    }
}

/// Go's `Duration.String()` for a signed number of nanoseconds.
pub fn go_duration_signed(nanos: i128) -> String {
    let abs = Duration::from_nanos(nanos.unsigned_abs().min(u64::MAX as u128) as u64);
    if nanos < 0 {
        format!("-{}", go_duration(abs))
    } else {
        go_duration(abs)
    }
}

/// Parse a Go duration (`time.ParseDuration`) into signed nanoseconds.
///
/// Errors carry Go's text, e.g. `time: invalid duration "bogus"`.
pub fn parse_go_duration(s: &str) -> Result<i128, String> {
    let invalid = || format!("time: invalid duration \"{s}\"");
    let mut rest = s;
    let mut neg = false;
    if let Some(r) = rest.strip_prefix('-') {
        neg = true;
        rest = r;
    } else if let Some(r) = rest.strip_prefix('+') {
        rest = r;
    }
    if rest == "0" {
        return Ok(0);
    }
    if rest.is_empty() {
        return Err(invalid());
    }
    let mut total: f64 = 0.0;
    let mut total_int: i128 = 0;
    while !rest.is_empty() {
        let bytes = rest.as_bytes();
        let mut i = 0;
        while i < bytes.len() && bytes[i].is_ascii_digit() {
            i += 1;
        }
        let int_part = &rest[..i];
        let mut frac_part = "";
        if i < bytes.len() && bytes[i] == b'.' {
            let start = i + 1;
            let mut j = start;
            while j < bytes.len() && bytes[j].is_ascii_digit() {
                j += 1;
            }
            frac_part = &rest[start..j];
            i = j;
        }
        if int_part.is_empty() && frac_part.is_empty() {
            return Err(invalid());
        }
        let num_end = i;
        let mut k = i;
        while k < bytes.len() && bytes[k] != b'.' && !bytes[k].is_ascii_digit() {
            k += 1;
        }
        let unit = &rest[num_end..k];
        if unit.is_empty() {
            return Err(format!("time: missing unit in duration \"{s}\""));
        }
        let mult: i128 = match unit {
            "ns" => 1,
            "us" | "\u{b5}s" | "\u{3bc}s" => 1_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60_000_000_000,
            "h" => 3_600_000_000_000,
            _ => return Err(format!("time: unknown unit \"{unit}\" in duration \"{s}\"")),
        };
        let iv: i128 = if int_part.is_empty() {
            0
        } else {
            int_part.parse().map_err(|_| invalid())?
        };
        total_int = total_int
            .checked_add(iv.checked_mul(mult).ok_or_else(invalid)?)
            .ok_or_else(invalid)?;
        if !frac_part.is_empty() {
            let fv: f64 = format!("0.{frac_part}").parse().map_err(|_| invalid())?;
            total += fv * mult as f64;
        }
        rest = &rest[k..];
    }
    let n = total_int + total as i128;
    if n > i64::MAX as i128 {
        return Err(invalid());
    }
    Ok(if neg { -n } else { n })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn durations_print_like_go() {
        assert_eq!(go_duration(Duration::ZERO), "0s");
        assert_eq!(go_duration(Duration::from_nanos(226_019)), "226.019µs");
        assert_eq!(go_duration(Duration::from_nanos(1_341_515)), "1.341515ms");
        assert_eq!(
            go_duration(Duration::from_nanos(1_002_095_901)),
            "1.002095901s"
        );
        assert_eq!(go_duration(Duration::from_millis(100)), "100ms");
        assert_eq!(go_duration(Duration::from_secs(90)), "1m30s");
        assert_eq!(go_duration(Duration::from_secs(168 * 3600)), "168h0m0s");
        assert_eq!(go_duration(Duration::from_nanos(12)), "12ns");
        assert_eq!(go_duration_signed(-1_500_000_000), "-1.5s");
    }

    #[test]
    fn durations_parse_like_go() {
        assert_eq!(parse_go_duration("5s").unwrap(), 5_000_000_000);
        assert_eq!(parse_go_duration("4.000s").unwrap(), 4_000_000_000);
        assert_eq!(parse_go_duration("1m30s").unwrap(), 90_000_000_000);
        assert_eq!(parse_go_duration("100ms").unwrap(), 100_000_000);
        assert_eq!(parse_go_duration("0").unwrap(), 0);
        assert_eq!(parse_go_duration("-1s").unwrap(), -1_000_000_000);
        assert_eq!(parse_go_duration(".5s").unwrap(), 500_000_000);
        assert_eq!(
            parse_go_duration("bogus").unwrap_err(),
            "time: invalid duration \"bogus\""
        );
        assert_eq!(
            parse_go_duration("1").unwrap_err(),
            "time: missing unit in duration \"1\""
        );
        assert_eq!(
            parse_go_duration("1x").unwrap_err(),
            "time: unknown unit \"x\" in duration \"1x\""
        );
        assert!(parse_go_duration("").is_err());
    }

    #[test]
    fn http_date_format() {
        let ts: Timestamp = "2026-11-26T22:23:21Z".parse().unwrap();
        assert_eq!(http_date(ts), "Thu, 26 Nov 2026 22:23:21 GMT");
    }

    #[test]
    fn nano_trimmed() {
        let ts: Timestamp = "2026-11-26T22:23:21.634227100Z".parse().unwrap();
        assert_eq!(rfc3339_nano_utc(ts), "2026-11-26T22:23:21.6342271Z");
        let ts: Timestamp = "2026-11-26T22:23:21Z".parse().unwrap();
        assert_eq!(rfc3339_nano_utc(ts), "2026-11-26T22:23:21Z");
    }
}
