//! The daemon's own log: every line on stderr is `<timestamp> [pebble] <message>`.
//!
//! A line is formatted into a reused buffer (the `2006-01-02T15:04:05.` part of the timestamp
//! is cached per second) and written with a single `write` to stderr.
//!
//! Request log lines ([`log_deferred_with`]) are not written one by one: they wait in a
//! buffer that a `pebble-log` thread writes out 10 ms after its first line (or at once when it
//! holds 8 KiB). Every other line writes the waiting ones first, in the same `write`, so the
//! order of lines is kept; [`flush`] writes them at exit. A busy API thus costs one `write`
//! per batch instead of one per request (on one CPU, a request's write to a log file was a
//! tenth of its round trip).

use std::fmt;
use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

static SILENT: AtomicBool = AtomicBool::new(false);

/// Buffers larger than this are not kept between lines.
const KEEP_CAPACITY: usize = 16 * 1024;

/// Length of the cached `2006-01-02T15:04:05.` prefix.
const PREFIX_LEN: usize = 20;

/// Deferred lines wait at most this long.
const FLUSH_DELAY: Duration = Duration::from_millis(10);

/// Deferred lines are written at once when they reach this size.
const PENDING_MAX: usize = 8 * 1024;

struct LineBuf {
    /// The line being written.
    buf: Vec<u8>,
    /// Deferred lines not written yet.
    pending: Vec<u8>,
    /// Seconds since the epoch that `prefix` was made for.
    sec: u64,
    /// `2006-01-02T15:04:05.` for `sec`.
    prefix: [u8; PREFIX_LEN],
}

static LINE: Mutex<LineBuf> = Mutex::new(LineBuf {
    buf: Vec::new(),
    pending: Vec::new(),
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
            // The deferred lines go first, in the same write.
            line.buf.append(&mut line.pending);
            format_line(&mut line.buf, &mut line.sec, &mut line.prefix, now, message);
            write_stderr(&line.buf);
            if line.buf.capacity() > KEEP_CAPACITY {
                line.buf = Vec::new();
            }
        }
        Err(_) => write_own(now, message),
    }
}

/// Another thread is writing a line (or a `Display` impl inside the message logs): use a
/// buffer of our own rather than wait.
fn write_own(now: SystemTime, message: impl FnOnce(&mut Vec<u8>)) {
    let mut buf = Vec::with_capacity(128);
    let (mut sec, mut prefix) = (u64::MAX, [0; PREFIX_LEN]);
    format_line(&mut buf, &mut sec, &mut prefix, now, message);
    write_stderr(&buf);
}

/// The wall-clock time of the monotonic instant `at`. The wall clock is read again when a
/// second has passed since this thread last read it (a line's time has millisecond precision,
/// and this saves a clock read per request line).
fn wall_time(at: Instant) -> SystemTime {
    thread_local! {
        static BASE: std::cell::Cell<Option<(Instant, SystemTime)>> =
            const { std::cell::Cell::new(None) };
    }
    BASE.with(|base| {
        if let Some((mono, wall)) = base.get()
            && let Some(d) = at.checked_duration_since(mono)
            && d < Duration::from_secs(1)
        {
            return wall + d;
        }
        let (mono, wall) = clock_pair();
        base.set(Some((mono, wall)));
        wall.checked_sub(mono.saturating_duration_since(at))
            .unwrap_or(wall)
    })
}

/// The monotonic and the wall clock at one moment: the wall clock is read before and after
/// the monotonic one (again if the thread was interrupted in between), and the middle taken.
fn clock_pair() -> (Instant, SystemTime) {
    let mut best: Option<(Duration, Instant, SystemTime)> = None;
    for _ in 0..3 {
        let before = SystemTime::now();
        let mono = Instant::now();
        let after = SystemTime::now();
        let gap = after.duration_since(before).unwrap_or_default();
        let wall = before + gap / 2;
        if best.is_none_or(|(g, _, _)| gap < g) {
            best = Some((gap, mono, wall));
        }
        if gap < Duration::from_micros(50) {
            break;
        }
    }
    best.map_or_else(|| (Instant::now(), SystemTime::now()), |(_, m, w)| (m, w))
}

/// Like [`log_with`], for a line that may be written a little later (at most 10 ms) together
/// with others: the request log lines. `at` is when the line was made.
pub fn log_deferred_with(at: Instant, message: impl FnOnce(&mut Vec<u8>)) {
    if SILENT.load(Ordering::Relaxed) {
        return;
    }
    let now = wall_time(at);
    let Ok(mut line) = LINE.try_lock() else {
        return write_own(now, message);
    };
    let line = &mut *line;
    let first = line.pending.is_empty();
    format_line(
        &mut line.pending,
        &mut line.sec,
        &mut line.prefix,
        now,
        message,
    );
    if line.pending.len() >= PENDING_MAX || (first && !wake_flusher()) {
        write_stderr(&line.pending);
        line.pending.clear();
    }
}

/// Write the deferred lines now.
pub fn flush() {
    let mut line = match LINE.lock() {
        Ok(g) => g,
        Err(p) => p.into_inner(),
    };
    if !line.pending.is_empty() {
        write_stderr(&line.pending);
        line.pending.clear();
    }
    if line.pending.capacity() > KEEP_CAPACITY {
        line.pending = Vec::new();
    }
}

/// Have the `pebble-log` thread flush in [`FLUSH_DELAY`] (started on first use). False if the
/// thread could not be started.
fn wake_flusher() -> bool {
    static FLUSHER: OnceLock<Option<std::thread::Thread>> = OnceLock::new();
    let flusher = FLUSHER.get_or_init(|| {
        std::thread::Builder::new()
            .name("pebble-log".into())
            .stack_size(64 * 1024)
            .spawn(|| {
                loop {
                    std::thread::park();
                    std::thread::sleep(FLUSH_DELAY);
                    flush();
                }
            })
            .ok()
            .map(|h| h.thread().clone())
    });
    match flusher {
        Some(t) => {
            t.unpark();
            true
        }
        None => false,
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

    /// A monotonic instant maps to the wall clock read around it (within a millisecond),
    /// whether the base is fresh or a moment old, and for instants before the base. Each check
    /// brackets the instant with wall-clock reads, so a preempted test thread cannot fail it.
    #[test]
    fn wall_time_follows_the_wall_clock() {
        let within = |w: SystemTime, lo: SystemTime, hi: SystemTime| {
            let slack = Duration::from_millis(1);
            w + slack >= lo && w <= hi + slack
        };
        let w0 = SystemTime::now();
        let earlier = Instant::now();
        let w1 = SystemTime::now();
        std::thread::sleep(Duration::from_millis(2));
        for pause in [0, 20] {
            std::thread::sleep(Duration::from_millis(pause));
            let lo = SystemTime::now();
            let w = wall_time(Instant::now());
            let hi = SystemTime::now();
            assert!(within(w, lo, hi), "{w:?} not in {lo:?}..{hi:?}");
        }
        let w = wall_time(earlier);
        assert!(within(w, w0, w1), "{w:?} not in {w0:?}..{w1:?}");
    }
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
