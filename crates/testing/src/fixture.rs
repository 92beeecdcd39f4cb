//! A real pebble-rs daemon for tests, run in-process (or as a child process) on a temporary
//! directory.

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::Duration;

use pebble_client::container::Container;

/// Errors starting the fixture.
#[derive(Debug, thiserror::Error)]
pub enum FixtureError {
    /// Setting up the directory or the runtime failed.
    #[error("cannot set up the daemon fixture: {0}")]
    Io(#[from] std::io::Error),
    /// The daemon failed to start.
    #[error("cannot start the daemon: {0}")]
    Daemon(String),
}

/// A pebble-rs daemon serving a temporary `$PEBBLE` directory from a background thread (with
/// its own current-thread runtime, as `pebble run` uses). Dropping it shuts the daemon down
/// (stopping its services) and removes the directory.
///
/// The in-process daemon ([`DaemonFixture::start`]) starts the process-wide reaper, which
/// reaps *every* child of the test process: a test that also runs its own commands with
/// `std::process::Command::output()`/`status()`/`wait()` can find them already reaped
/// ("No child processes"). Such tests should use [`DaemonFixture::spawn_binary`] (the daemon in
/// a child process) instead.
pub struct DaemonFixture {
    dir: tempfile::TempDir,
    socket: PathBuf,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
    child: Option<std::process::Child>,
}

impl std::fmt::Debug for DaemonFixture {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DaemonFixture")
            .field("dir", &self.dir.path())
            .finish()
    }
}

impl DaemonFixture {
    /// Starts a daemon with no layers.
    pub fn start() -> Result<Self, FixtureError> {
        Self::start_with_layers(&[])
    }

    /// Starts a daemon whose `layers/` directory holds `files` (`("001-base.yaml", yaml)`).
    pub fn start_with_layers(files: &[(&str, &str)]) -> Result<Self, FixtureError> {
        let dir = tempfile::Builder::new()
            .prefix("pebble-fixture-")
            .tempdir()?;
        let pebble_dir = dir.path().to_path_buf();
        std::fs::create_dir_all(pebble_dir.join("layers"))?;
        for (name, yaml) in files {
            std::fs::write(pebble_dir.join("layers").join(name), yaml)?;
        }
        let socket = pebble_dir.join(".pebble.socket");
        let (ready_tx, ready_rx) = mpsc::channel::<Result<(), String>>();
        let (shutdown_tx, shutdown_rx) = tokio::sync::oneshot::channel::<()>();
        let sock = socket.clone();
        let thread = std::thread::Builder::new()
            .name("pebble-fixture".to_string())
            .spawn(move || {
                let rt = match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(rt) => rt,
                    Err(e) => {
                        let _ = ready_tx.send(Err(e.to_string()));
                        return;
                    }
                };
                rt.block_on(async move {
                    let mut opts = pebble_daemon::DaemonOptions::new(&pebble_dir);
                    opts.persist = false;
                    let daemon = match pebble_daemon::Daemon::new(opts) {
                        Ok(d) => d,
                        Err(e) => {
                            let _ = ready_tx.send(Err(e.to_string()));
                            return;
                        }
                    };
                    let listener = match pebble_daemon::run::bind_socket(&sock) {
                        Ok(l) => l,
                        Err(e) => {
                            let _ = ready_tx.send(Err(e.to_string()));
                            return;
                        }
                    };
                    let _ = ready_tx.send(Ok(()));
                    let shutdown = async move {
                        let _ = shutdown_rx.await;
                    };
                    let _ = pebble_daemon::serve(daemon, listener, shutdown).await;
                });
            })?;
        match ready_rx.recv_timeout(Duration::from_secs(30)) {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                let _ = thread.join();
                return Err(FixtureError::Daemon(e));
            }
            Err(_) => return Err(FixtureError::Daemon("daemon did not start".to_string())),
        }
        Ok(DaemonFixture {
            dir,
            socket,
            shutdown: Some(shutdown_tx),
            thread: Some(thread),
            child: None,
        })
    }

    /// Starts the `pebble` binary at `binary` as a child process (`pebble run --hold` with
    /// `$PEBBLE` set to a temporary directory holding `files` in `layers/`), and waits until its
    /// API answers. Dropping the fixture sends `SIGTERM` and waits for the process.
    pub fn spawn_binary(
        binary: impl AsRef<Path>,
        files: &[(&str, &str)],
    ) -> Result<Self, FixtureError> {
        let dir = tempfile::Builder::new()
            .prefix("pebble-fixture-")
            .tempdir()?;
        std::fs::create_dir_all(dir.path().join("layers"))?;
        for (name, yaml) in files {
            std::fs::write(dir.path().join("layers").join(name), yaml)?;
        }
        let socket = dir.path().join(".pebble.socket");
        let child = std::process::Command::new(binary.as_ref())
            .args(["run", "--hold"])
            .env("PEBBLE", dir.path())
            .env_remove("PEBBLE_SOCKET")
            .stdin(std::process::Stdio::null())
            .spawn()?;
        let mut fixture = DaemonFixture {
            dir,
            socket,
            shutdown: None,
            thread: None,
            child: Some(child),
        };
        // Wait (bounded) for the API to answer: poll the condition, not a fixed delay.
        let client = pebble_client::Client::new(&fixture.socket);
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let ready = rt.block_on(async {
            let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
            while tokio::time::Instant::now() < deadline {
                if client.system_info().await.is_ok() {
                    return true;
                }
                if let Some(c) = fixture.child.as_mut()
                    && let Ok(Some(_)) = c.try_wait()
                {
                    return false;
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            false
        });
        if !ready {
            return Err(FixtureError::Daemon(format!(
                "{} did not start serving {}",
                binary.as_ref().display(),
                fixture.socket.display()
            )));
        }
        Ok(fixture)
    }

    /// A [`Container`] connected to the daemon.
    pub fn container(&self) -> Container {
        Container::from_socket(&self.socket)
    }

    /// The daemon's `$PEBBLE` directory.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The API socket.
    pub fn socket(&self) -> &Path {
        &self.socket
    }
}

impl Drop for DaemonFixture {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            // SAFETY: `kill` has no memory-safety preconditions; the pid is our own child,
            // not yet waited for.
            unsafe {
                libc::kill(c.id() as libc::pid_t, libc::SIGTERM);
            }
            let _ = c.wait();
        }
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
