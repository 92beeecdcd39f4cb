//! Time formatting of the CLI: relative ("today at 15:04 UTC") and absolute (RFC 3339) times,
//! and the log line time format.

use jiff::Timestamp;
use jiff::tz::{Offset, TimeZone};

/// A time as sent by the daemon: the instant plus the UTC offset it was written with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ApiTime {
    /// The instant.
    pub timestamp: Timestamp,
    /// The offset of the original text (`Z` is 0).
    pub offset: Offset,
}

impl ApiTime {
    /// Parses an RFC 3339 time such as `2026-11-26T22:23:44.617853505Z` or `...+02:00`.
    pub fn parse(s: &str) -> Option<ApiTime> {
        let timestamp: Timestamp = s.parse().ok()?;
        let offset = if s.ends_with('Z') || s.ends_with('z') {
            Offset::UTC
        } else {
            let tail = s.get(s.len().checked_sub(6)?..)?;
            let sign = match tail.as_bytes().first()? {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            let h: i32 = tail.get(1..3)?.parse().ok()?;
            let m: i32 = tail.get(4..6)?.parse().ok()?;
            Offset::from_seconds(sign * (h * 3600 + m * 60)).ok()?
        };
        Some(ApiTime { timestamp, offset })
    }

    /// RFC 3339 with whole seconds in the original offset (Go's `time.RFC3339`).
    pub fn rfc3339(&self) -> String {
        let z = self
            .timestamp
            .to_zoned_datetime(TimeZone::fixed(self.offset));
        let base = z.strftime("%Y-%m-%dT%H:%M:%S").to_string();
        format!("{base}{}", offset_suffix(self.offset))
    }

    /// Go's `2006-01-02T15:04:05.000Z07:00` (used by `pebble logs`).
    pub fn log_format(&self) -> String {
        let z = self
            .timestamp
            .to_zoned_datetime(TimeZone::fixed(self.offset));
        let base = z.strftime("%Y-%m-%dT%H:%M:%S%.3f").to_string();
        format!("{base}{}", offset_suffix(self.offset))
    }
}

fn offset_suffix(offset: Offset) -> String {
    let secs = offset.seconds();
    if secs == 0 {
        return "Z".to_string();
    }
    let sign = if secs < 0 { '-' } else { '+' };
    let a = secs.abs();
    format!("{sign}{:02}:{:02}", a / 3600, (a % 3600) / 60)
}

/// Relative time as Pebble prints it, in the time zone `tz`, relative to `now`:
/// `today at 15:04 UTC`, `yesterday at ...`, `N days ago, at ...`, `tomorrow at ...`,
/// `in N days, at ...`, or `2006-01-02` beyond 60 days.
pub fn human_at(then: Timestamp, now: Timestamp, tz: &TimeZone) -> String {
    const CUTOFF_DAYS: i64 = 60;
    let then_z = then.to_zoned_datetime(tz.clone());
    let now_z = now.to_zoned_datetime(tz.clone());
    let days = now_z
        .date()
        .since(then_z.date())
        .map(|s| s.get_days())
        .unwrap_or(0) as i64;
    let clock = format!("{} {}", then_z.strftime("%H:%M"), then_z.strftime("%Z"));
    if !(-CUTOFF_DAYS..=CUTOFF_DAYS).contains(&days) {
        return then_z.strftime("%Y-%m-%d").to_string();
    }
    match days {
        d if d < -1 => format!("in {} days, at {clock}", -d),
        -1 => format!("tomorrow at {clock}"),
        0 => format!("today at {clock}"),
        1 => format!("yesterday at {clock}"),
        d => format!("{d} days ago, at {clock}"),
    }
}

/// The local time zone (`TZ`, else the system's), UTC if it cannot be found.
pub fn local_tz() -> TimeZone {
    TimeZone::try_system().unwrap_or(TimeZone::UTC)
}

/// How table times are shown: absolute (`--abs-time`) or relative to `now` in `tz`.
#[derive(Debug, Clone)]
pub struct TimeFmt {
    /// RFC 3339 instead of relative times.
    pub abs: bool,
    /// The reference time of relative times.
    pub now: Timestamp,
    /// The zone of relative times.
    pub tz: TimeZone,
}

impl TimeFmt {
    /// Relative to the current time in the local zone, or absolute.
    pub fn new(abs: bool) -> Self {
        TimeFmt {
            abs,
            now: Timestamp::now(),
            tz: local_tz(),
        }
    }

    /// Formats a daemon time (unparsable text is shown as is).
    pub fn fmt(&self, s: &str) -> String {
        match ApiTime::parse(s) {
            Some(t) if self.abs => t.rfc3339(),
            Some(t) => human_at(t.timestamp, self.now, &self.tz),
            None => s.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn abs_time_matches_golden() {
        let t = ApiTime::parse("2026-11-26T22:23:44.617853505Z").unwrap();
        assert_eq!(t.rfc3339(), "2026-11-26T22:23:44Z");
        let t = ApiTime::parse("2024-12-27T10:08:14.399194229+08:00").unwrap();
        assert_eq!(t.rfc3339(), "2024-12-27T10:08:14+08:00");
    }

    #[test]
    fn log_time_has_three_digits() {
        assert_eq!(
            ApiTime::parse("2026-11-26T22:23:44.619Z")
                .unwrap()
                .log_format(),
            "2026-11-26T22:23:44.619Z"
        );
        assert_eq!(
            ApiTime::parse("2026-11-26T22:23:37.65Z")
                .unwrap()
                .log_format(),
            "2026-11-26T22:23:37.650Z"
        );
        assert_eq!(
            ApiTime::parse("2026-11-26T22:23:37Z").unwrap().log_format(),
            "2026-11-26T22:23:37.000Z"
        );
    }

    #[test]
    fn relative_times() {
        let tz = TimeZone::UTC;
        let now = ts("2026-11-26T22:30:00Z");
        assert_eq!(
            human_at(ts("2026-11-26T22:23:44.6Z"), now, &tz),
            "today at 22:23 UTC"
        );
        assert_eq!(
            human_at(ts("2026-11-25T23:59:00Z"), now, &tz),
            "yesterday at 23:59 UTC"
        );
        assert_eq!(
            human_at(ts("2026-11-20T08:00:00Z"), now, &tz),
            "6 days ago, at 08:00 UTC"
        );
        assert_eq!(
            human_at(ts("2026-11-27T01:00:00Z"), now, &tz),
            "tomorrow at 01:00 UTC"
        );
        assert_eq!(
            human_at(ts("2026-11-29T01:00:00Z"), now, &tz),
            "in 3 days, at 01:00 UTC"
        );
        assert_eq!(human_at(ts("2026-01-01T00:00:00Z"), now, &tz), "2026-01-01");
    }

    #[test]
    fn relative_times_use_the_zone() {
        let tz = TimeZone::posix("CET-1CEST,M3.5.0,M10.5.0/3").unwrap();
        let now = ts("2026-11-26T22:30:00Z");
        // 23:30 in Paris is still today; 23:10 UTC is already tomorrow there.
        assert_eq!(
            human_at(ts("2026-11-26T22:23:00Z"), now, &tz),
            "today at 23:23 CET"
        );
        assert_eq!(
            human_at(ts("2026-11-26T23:10:00Z"), now, &tz),
            "tomorrow at 00:10 CET"
        );
    }
}
