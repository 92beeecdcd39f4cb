//! Persistence of the state to `$PEBBLE/.pebble.state`.
//!
//! Writes are coalesced by a background task: every modification schedules a write, and the
//! writer serialises the latest data and replaces the file atomically (temporary file in the same
//! directory, `fsync`, `rename`, then `fsync` of the directory), with mode 0600. A crash at any
//! point leaves either the old or the new complete file. The format is our own JSON
//! ([`StateData`]).
//!
//! Writes start at least [`WRITE_SPACING`] apart: serialising the whole state runs on the
//! runtime thread and grows with the number of changes kept, so a burst of changes (execs in a
//! loop) costs one write per interval rather than one per change. [`State::flush`] (shutdown)
//! skips the wait.

use super::{Inner, State, StateData, StateError};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Weak};
use tokio::sync::{Notify, watch};

/// The least time between the starts of two state-file writes (see the module documentation).
pub const WRITE_SPACING: std::time::Duration = std::time::Duration::from_millis(20);

/// Schedules and performs state-file writes.
pub(crate) struct Persister {
    path: PathBuf,
    notify: Arc<Notify>,
    /// Wakes the writer out of its spacing wait (a flush is waiting).
    urgent: Arc<Notify>,
    written: watch::Sender<u64>,
    /// Writes done (for tests).
    writes: std::sync::atomic::AtomicU64,
}

impl Persister {
    pub(crate) fn new(path: PathBuf) -> Persister {
        let (written, _) = watch::channel(0);
        Persister {
            path,
            notify: Arc::new(Notify::new()),
            urgent: Arc::new(Notify::new()),
            written,
            writes: std::sync::atomic::AtomicU64::new(0),
        }
    }

    /// How many state-file writes were done.
    #[cfg(test)]
    pub(crate) fn writes(&self) -> u64 {
        self.writes.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Ask the writer to write the latest state soon.
    pub(crate) fn schedule(&self) {
        self.notify.notify_one();
    }

    /// Wait until a state at least as new as `version` is on disk.
    pub(crate) async fn flush(&self, version: u64) {
        let mut rx = self.written.subscribe();
        self.notify.notify_one();
        self.urgent.notify_one();
        loop {
            if *rx.borrow_and_update() >= version {
                return;
            }
            if rx.changed().await.is_err() {
                return;
            }
        }
    }
}

/// Start the background writer of a persistent state.
pub(crate) fn spawn_writer(state: &State) {
    let Some(p) = &state.inner.persister else {
        return;
    };
    let weak: Weak<Inner> = Arc::downgrade(&state.inner);
    let notify = p.notify.clone();
    let urgent = p.urgent.clone();
    tokio::spawn(async move {
        let mut last_start: Option<tokio::time::Instant> = None;
        loop {
            notify.notified().await;
            if let Some(at) = last_start {
                tokio::select! {
                    _ = tokio::time::sleep_until(at + WRITE_SPACING) => {}
                    _ = urgent.notified() => {}
                }
            }
            last_start = Some(tokio::time::Instant::now());
            let Some(inner) = weak.upgrade() else {
                return;
            };
            let (version, bytes, path) = {
                let version = *inner.version.borrow();
                let data = match inner.data.lock() {
                    Ok(g) => serde_json::to_vec(&*g),
                    Err(poisoned) => serde_json::to_vec(&*poisoned.into_inner()),
                };
                let path = inner
                    .persister
                    .as_ref()
                    .map(|p| p.path.clone())
                    .unwrap_or_default();
                (version, data, path)
            };
            let bytes = match bytes {
                Ok(b) => b,
                Err(e) => {
                    crate::pebble_log!("Cannot write state file: {}", e);
                    continue;
                }
            };
            let res = tokio::task::spawn_blocking(move || write_atomic(&path, &bytes)).await;
            match res {
                Ok(Ok(())) => {}
                Ok(Err(e)) => crate::pebble_log!("Cannot write state file, retrying: {}", e),
                Err(e) => crate::pebble_log!("Cannot write state file, retrying: {}", e),
            }
            if let Some(p) = &inner.persister {
                p.writes.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                p.written.send_modify(|w| *w = (*w).max(version));
            }
        }
    });
}

/// Replace `path` with `bytes` atomically and durably (mode 0600).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "state".into());
    let tmp = dir.join(format!(".{name}.{}~", std::process::id()));
    {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
    }
    if let Err(e) = std::fs::rename(&tmp, path) {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// Read the state file; `Ok(None)` when it does not exist.
pub fn read_state(path: &Path) -> Result<Option<StateData>, StateError> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(StateError::Read(e.to_string())),
    };
    serde_json::from_slice(&bytes)
        .map(Some)
        .map_err(|e| StateError::Read(e.to_string()))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::state::{ChangeBuilder, State};

    #[tokio::test]
    async fn state_round_trips_through_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(".pebble.state");
        {
            let state = State::load(path.clone()).unwrap();
            let mut b = ChangeBuilder::new("start", "Start service \"a\"");
            b.add_task("start", "Start service \"a\"");
            state.add_change(b);
            state.set_data("k", serde_json::json!({"x": 1}));
            state.flush().await;
        }
        let meta = std::fs::metadata(&path).unwrap();
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(meta.permissions().mode() & 0o777, 0o600);
        let state = State::load(path.clone()).unwrap();
        assert_eq!(state.lock().last_change_id, 1);
        assert_eq!(state.get_data("k").unwrap()["x"], 1);
        let mut b = ChangeBuilder::new("stop", "Stop service \"a\"");
        b.add_task("stop", "Stop service \"a\"");
        let ids = state.add_change(b);
        assert_eq!(ids.change, 2);
        assert_eq!(ids.tasks, vec![2]);
    }

    /// A burst of modifications is written a few times, not once per modification, and a
    /// flush still gets the latest state on disk without waiting out the spacing.
    #[tokio::test(start_paused = true)]
    async fn bursts_are_coalesced_and_flush_is_prompt() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(".pebble.state");
        let state = State::load(path.clone()).unwrap();
        for i in 0..100 {
            state.set_data("k", serde_json::json!(i));
            tokio::time::sleep(std::time::Duration::from_millis(1)).await;
        }
        let writes = state.inner.persister.as_ref().unwrap().writes();
        // 100 ms of changes, writes at least 20 ms apart: at most 6 (not 100).
        assert!((1..=6).contains(&writes), "{writes} writes");
        state.set_data("k", serde_json::json!("last"));
        let t0 = tokio::time::Instant::now();
        state.flush().await;
        assert!(
            t0.elapsed() < WRITE_SPACING,
            "flush waited {:?}",
            t0.elapsed()
        );
        let on_disk = read_state(&path).unwrap().unwrap();
        assert_eq!(on_disk.data["k"], serde_json::json!("last"));
    }

    #[test]
    fn unreadable_state_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(".pebble.state");
        std::fs::write(&path, b"{not json").unwrap();
        assert!(matches!(read_state(&path), Err(StateError::Read(_))));
        assert!(read_state(&dir.path().join("nope")).unwrap().is_none());
    }
}
