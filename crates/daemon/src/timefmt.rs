//! Time and duration text exactly as Go prints and parses it.
//!
//! - [`rfc3339_nano`]: Go's `time.Time` JSON (RFC3339Nano, trailing zeros of the fraction trimmed)
//!   in the daemon's local zone (`Z` when the offset is zero);
//! - [`rfc3339_secs`]: `time.RFC3339` (whole seconds), local zone (task log lines);
//! - [`http_date`]: the `Date` response header;
//! - [`timestamp_millis`]: the daemon log's UTC timestamp with milliseconds.
//!
//! Go durations are parsed and printed by [`pebble_plan::go_duration`].

use jiff::Timestamp;
use jiff::tz::{Offset, TimeZone};
use std::sync::OnceLock;

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

/// Go `time.Time.String()` without the monotonic part, in the local zone:
/// `2006-01-02 15:04:05.999999999 -0700 MST` (fraction trimmed, omitted when zero).
pub fn go_time_string(ts: Timestamp) -> String {
    let dt = local_tz().to_datetime(ts);
    let abbrev = local_tz().to_offset_info(ts).abbreviation().to_string();
    let off = local_offset(ts).seconds();
    let sign = if off < 0 { '-' } else { '+' };
    let off = off.unsigned_abs();
    let nanos = dt.subsec_nanosecond();
    let mut frac = if nanos == 0 {
        String::new()
    } else {
        format!(".{nanos:09}")
    };
    while frac.ends_with('0') {
        frac.pop();
    }
    // Go prints the offset as the name of zones without an abbreviation.
    let name = if abbrev.is_empty() || abbrev.starts_with(['+', '-']) {
        format!("{sign}{:02}{:02}", off / 3600, off / 60 % 60)
    } else {
        abbrev
    };
    format!(
        "{} {}{} {sign}{:02}{:02} {}",
        dt.date(),
        dt.time().strftime("%H:%M:%S"),
        frac,
        off / 3600,
        off / 60 % 60,
        name
    )
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
    let (y, m, d) = civil_from_days(days);
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

/// Format `now` as Pebble's log timestamp: `2006-01-02T15:04:05.000Z` (UTC, exactly 3 digits).
pub fn timestamp_millis(now: std::time::SystemTime) -> String {
    let d = now
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let secs = d.as_secs() as i64;
    let millis = d.subsec_millis();
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, dd) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{dd:02}T{:02}:{:02}:{:02}.{millis:03}Z",
        rem / 3600,
        (rem / 60) % 60,
        rem % 60
    )
}

/// Convert days since 1970-01-01 into (year, month, day) in the proleptic Gregorian calendar.
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn formats_millis_timestamp() {
        use std::time::{Duration, UNIX_EPOCH};
        let t = UNIX_EPOCH + Duration::from_millis(1_666_747_106_904);
        assert_eq!(timestamp_millis(t), "2022-10-26T01:18:26.904Z");
        assert_eq!(timestamp_millis(UNIX_EPOCH), "1970-01-01T00:00:00.000Z");
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
