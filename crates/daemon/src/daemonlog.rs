//! The daemon's own log: every line on stderr is `<timestamp> [pebble] <message>`.

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};

static SILENT: AtomicBool = AtomicBool::new(false);

/// Silence the daemon log (used by tests that run many daemons in one process).
pub fn set_silent(silent: bool) {
    SILENT.store(silent, Ordering::Relaxed);
}

/// Write one line `<timestamp> [pebble] <message>` to stderr.
pub fn log_line(message: &str) {
    if SILENT.load(Ordering::Relaxed) {
        return;
    }
    let line = format!(
        "{} [pebble] {}\n",
        crate::timefmt::timestamp_millis(std::time::SystemTime::now()),
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
