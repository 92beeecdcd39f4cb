//! The daemon's own log: every line on stderr is `<timestamp> [pebble] <message>`.
//!
//! A line is formatted into a reused buffer (the `2006-01-02T15:04:05.` part of the timestamp
//! is cached per second) and written with a single `write` to stderr, so that the request log
//! line written for every API request costs one system call and no allocation.

use std::fmt;
use std::io::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

static SILENT: AtomicBool = AtomicBool::new(false);

/// Buffers larger than this are not kept between lines.
const KEEP_CAPACITY: usize = 16 * 1024;

/// Length of the cached `2006-01-02T15:04:05.` prefix.
const PREFIX_LEN: usize = 20;

struct LineBuf {
    /// The line being written.
    buf: Vec<u8>,
    /// Seconds since the epoch that `prefix` was made for.
    sec: u64,
    /// `2006-01-02T15:04:05.` for `sec`.
    prefix: [u8; PREFIX_LEN],
}

static LINE: Mutex<LineBuf> = Mutex::new(LineBuf {
    buf: Vec::new(),
    sec: u64::MAX,
    prefix: [0; PREFIX_LEN],
});

/// Silence the daemon log (used by tests that run many daemons in one process).
pub fn set_silent(silent: bool) {
    SILENT.store(silent, Ordering::Relaxed);
}

/// Write one line `<timestamp> [pebble] <message>` to stderr.
pub fn log_line(message: &str) {
    log_args(format_args!("{message}"));
}

/// Write one line `<timestamp> [pebble] <formatted args>` to stderr (what [`pebble_log!`]
/// expands to).
///
/// [`pebble_log!`]: crate::pebble_log
pub fn log_args(args: fmt::Arguments<'_>) {
    log_with(|buf| match args.as_str() {
        Some(s) => buf.extend_from_slice(s.as_bytes()),
        // Writing into a Vec cannot fail short of a panicking `Display` impl.
        None => {
            let _ = buf.write_fmt(args);
        }
    });
}

/// Write one line `<timestamp> [pebble] <message>` to stderr, where `message` appends the
/// message bytes (no newline) to the buffer it is given.
pub fn log_with(message: impl FnOnce(&mut Vec<u8>)) {
    if SILENT.load(Ordering::Relaxed) {
        return;
    }
    let now = SystemTime::now();
    match LINE.try_lock() {
        Ok(mut line) => {
            let line = &mut *line;
            line.buf.clear();
            format_line(&mut line.buf, &mut line.sec, &mut line.prefix, now, message);
            write_stderr(&line.buf);
            if line.buf.capacity() > KEEP_CAPACITY {
                line.buf = Vec::new();
            }
        }
        // Another thread is writing a line (or a `Display` impl inside the message logs): use
        // a buffer of our own rather than wait.
        Err(_) => {
            let mut buf = Vec::with_capacity(128);
            let (mut sec, mut prefix) = (u64::MAX, [0; PREFIX_LEN]);
            format_line(&mut buf, &mut sec, &mut prefix, now, message);
            write_stderr(&buf);
        }
    }
}

fn write_stderr(line: &[u8]) {
    // A failed write to stderr cannot be reported anywhere else.
    let _ = std::io::stderr().lock().write_all(line);
}

/// Append `<timestamp> [pebble] <message>\n` to `buf`, reusing `prefix` when `sec` is current.
fn format_line(
    buf: &mut Vec<u8>,
    sec: &mut u64,
    prefix: &mut [u8; PREFIX_LEN],
    now: SystemTime,
    message: impl FnOnce(&mut Vec<u8>),
) {
    let d = now.duration_since(UNIX_EPOCH).unwrap_or_default();
    if d.as_secs() != *sec {
        *sec = d.as_secs();
        *prefix = second_prefix(*sec);
    }
    buf.extend_from_slice(prefix);
    let ms = d.subsec_millis();
    // Each digit is below 10, so the casts cannot truncate.
    buf.extend_from_slice(&[
        b'0' + (ms / 100) as u8,
        b'0' + (ms / 10 % 10) as u8,
        b'0' + (ms % 10) as u8,
    ]);
    buf.extend_from_slice(b"Z [pebble] ");
    message(buf);
    buf.push(b'\n');
}

/// `2006-01-02T15:04:05.` (UTC) for `secs` since the epoch.
fn second_prefix(secs: u64) -> [u8; PREFIX_LEN] {
    let secs = i64::try_from(secs).unwrap_or(i64::MAX);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = crate::timefmt::civil_from_days(days);
    let mut out = [0u8; PREFIX_LEN];
    let mut w = &mut out[..];
    let _ = write!(
        w,
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.",
        rem / 3600,
        (rem / 60) % 60,
        rem % 60
    );
    out
}

/// `pebble_log!("Service {:?} starting: {}", name, cmd)` writes one daemon log line.
#[macro_export]
macro_rules! pebble_log {
    ($($arg:tt)*) => {
        $crate::daemonlog::log_args(format_args!($($arg)*))
    };
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use std::time::Duration;

    fn line(now: SystemTime, sec: &mut u64, prefix: &mut [u8; PREFIX_LEN], msg: &str) -> String {
        let mut buf = Vec::new();
        format_line(&mut buf, sec, prefix, now, |b| {
            let _ = write!(b, "GET {msg} 200");
        });
        String::from_utf8(buf).unwrap()
    }

    #[test]
    fn lines_match_the_timestamp_format_across_seconds() {
        let (mut sec, mut prefix) = (u64::MAX, [0; PREFIX_LEN]);
        for ms in [
            0u64,
            5,
            999,
            1_000,
            59_999,
            86_399_999,
            1_666_747_106_904,
            1_666_747_106_999,
            1_666_747_107_000,
            253_402_300_799_999, // 9999-12-31T23:59:59.999Z
        ] {
            let t = UNIX_EPOCH + Duration::from_millis(ms);
            let want = format!(
                "{} [pebble] GET /v1/x 200\n",
                crate::timefmt::timestamp_millis(t)
            );
            assert_eq!(line(t, &mut sec, &mut prefix, "/v1/x"), want, "{ms} ms");
            // And again with the prefix cached for this second.
            assert_eq!(
                line(t, &mut sec, &mut prefix, "/v1/x"),
                want,
                "{ms} ms cached"
            );
        }
    }

    #[test]
    fn plain_and_formatted_messages() {
        let t = UNIX_EPOCH + Duration::from_millis(1_666_747_106_904);
        let (mut sec, mut prefix) = (u64::MAX, [0; PREFIX_LEN]);
        let mut buf = Vec::new();
        format_line(&mut buf, &mut sec, &mut prefix, t, |b| {
            b.extend_from_slice(b"plain");
        });
        let n = 7;
        format_line(&mut buf, &mut sec, &mut prefix, t, |b| {
            let _ = write!(b, "n={n} {:?}", "q");
        });
        assert_eq!(
            String::from_utf8(buf).unwrap(),
            "2022-10-26T01:18:26.904Z [pebble] plain\n2022-10-26T01:18:26.904Z [pebble] n=7 \"q\"\n"
        );
    }
}
