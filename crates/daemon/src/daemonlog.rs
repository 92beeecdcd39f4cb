//! The daemon's own log: every line on stderr is `<timestamp> [pebble] <message>`.

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};

static SILENT: AtomicBool = AtomicBool::new(false);

/// Silence the daemon log (used by tests that run many daemons in one process).
pub fn set_silent(silent: bool) {
    SILENT.store(silent, Ordering::Relaxed);
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

/// Write one line `<timestamp> [pebble] <message>` to stderr.
pub fn log_line(message: &str) {
    if SILENT.load(Ordering::Relaxed) {
        return;
    }
    let line = format!(
        "{} [pebble] {}\n",
        timestamp_millis(std::time::SystemTime::now()),
        message
    );
    // A failed write to stderr cannot be reported anywhere else.
    let _ = std::io::stderr().lock().write_all(line.as_bytes());
}

/// `pebble_log!("Service {:?} starting: {}", name, cmd)` writes one daemon log line.
#[macro_export]
macro_rules! pebble_log {
    ($($arg:tt)*) => {
        $crate::daemonlog::log_line(&format!($($arg)*))
    };
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    #[test]
    fn formats_millis_timestamp() {
        let t = UNIX_EPOCH + Duration::from_millis(1_666_747_106_904);
        assert_eq!(timestamp_millis(t), "2022-10-26T01:18:26.904Z");
        assert_eq!(timestamp_millis(UNIX_EPOCH), "1970-01-01T00:00:00.000Z");
    }
}
