//! The narrow system-call seam of the service manager (youki's `Syscall` trait idea).
//!
//! The service state machine only talks to the system through [`Spawner`]: spawning a service
//! process, and sending signals to a pid or a process group. [`RealSpawner`] does it for real on
//! top of the [`Reaper`]; [`FakeSpawner`] lets tests drive exits and output and records signals,
//! so the state machine runs on tokio's paused clock without processes.

use std::collections::HashMap;
use std::ffi::OsString;
use std::future::Future;
use std::io;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::pin::Pin;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};

use nix::sys::signal::Signal;
use tokio::io::AsyncRead;

use crate::reaper::Reaper;

/// A boxed future of a process exit code.
pub type ExitFuture = Pin<Box<dyn Future<Output = i32> + Send>>;
/// A boxed reader of a process's merged stdout and stderr.
pub type OutputReader = Pin<Box<dyn AsyncRead + Send>>;

/// Everything needed to start one service process.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SpawnSpec {
    /// argv; `argv[0]` is looked up in the daemon's `PATH` if it has no slash.
    pub argv: Vec<String>,
    /// The complete environment of the process (nothing is inherited beyond this).
    pub env: Vec<(OsString, OsString)>,
    /// Working directory; `None` = the daemon's.
    pub dir: Option<PathBuf>,
    /// User id to switch to (`None` = keep the daemon's).
    pub uid: Option<u32>,
    /// Group id to switch to (`None` = keep the daemon's).
    pub gid: Option<u32>,
}

/// A started process.
pub struct Spawned {
    /// Its pid (also its process group id).
    pub pid: i32,
    /// Its merged stdout and stderr; EOF once every writer (incl. grandchildren) closed it.
    pub output: OutputReader,
    /// Resolves to the exit code (`WEXITSTATUS` or 128 + signal).
    pub exit: ExitFuture,
}

impl std::fmt::Debug for Spawned {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Spawned").field("pid", &self.pid).finish()
    }
}

/// What the service manager needs from the operating system.
pub trait Spawner: Send + Sync {
    /// Start a process in a new process group, stdin `/dev/null`, stdout and stderr one pipe.
    /// Must be called within a tokio runtime.
    fn spawn(&self, spec: &SpawnSpec) -> io::Result<Spawned>;
    /// Send `sig` to the process `pid` only.
    fn kill(&self, pid: i32, sig: Signal) -> io::Result<()>;
    /// Send `sig` to the process group whose id is `pid`.
    fn kill_group(&self, pid: i32, sig: Signal) -> io::Result<()>;
}

/// The real [`Spawner`]: `std::process::Command` started through the [`Reaper`].
#[derive(Debug, Clone)]
pub struct RealSpawner {
    reaper: Arc<Reaper>,
}

impl RealSpawner {
    /// A spawner registering its children with `reaper`.
    pub fn new(reaper: Arc<Reaper>) -> Self {
        Self { reaper }
    }
}

/// Error text the way Go's `os/exec` words a failed lookup or exec (kept for compatibility of
/// `cannot start service: ...` messages).
#[derive(Debug, thiserror::Error)]
pub enum SpawnError {
    /// `argv[0]` without a slash was not found in `PATH`.
    #[error("exec: \"{0}\": executable file not found in $PATH")]
    NotFound(String),
    /// The command line was empty.
    #[error("exec: no command")]
    NoCommand,
}

/// Go-style (lower-case, no "(os error N)") text of an errno.
pub fn errno_text(err: &io::Error) -> String {
    match err.raw_os_error() {
        Some(code) => {
            let s = nix::errno::Errno::from_raw(code).desc().to_string();
            let mut c = s.chars();
            match c.next() {
                Some(first) => first.to_lowercase().collect::<String>() + c.as_str(),
                None => s,
            }
        }
        None => err.to_string(),
    }
}

/// Look `name` up in `path` (a `PATH` value) the way Go's `exec.LookPath` does.
pub fn look_path(name: &str, path: Option<&std::ffi::OsStr>) -> Result<PathBuf, SpawnError> {
    use std::os::unix::fs::PermissionsExt;
    if name.contains('/') {
        return Ok(PathBuf::from(name));
    }
    if let Some(path) = path {
        for dir in std::env::split_paths(path) {
            let dir = if dir.as_os_str().is_empty() {
                PathBuf::from(".")
            } else {
                dir
            };
            let candidate = dir.join(name);
            if let Ok(meta) = std::fs::metadata(&candidate)
                && meta.is_file()
                && meta.permissions().mode() & 0o111 != 0
            {
                return Ok(candidate);
            }
        }
    }
    Err(SpawnError::NotFound(name.to_string()))
}

/// Make the read end of a pipe as large as the kernel allows without privileges (best effort):
/// fewer, larger reads when a service writes a lot.
fn grow_pipe(fd: &OwnedFd) {
    // SAFETY: fcntl on a descriptor we own; failure is harmless.
    unsafe {
        libc::fcntl(fd.as_raw_fd(), libc::F_SETPIPE_SZ, 1 << 20);
    }
}

impl Spawner for RealSpawner {
    fn spawn(&self, spec: &SpawnSpec) -> io::Result<Spawned> {
        let Some(first) = spec.argv.first() else {
            return Err(io::Error::other(SpawnError::NoCommand));
        };
        let path =
            look_path(first, std::env::var_os("PATH").as_deref()).map_err(io::Error::other)?;
        if let Some(dir) = &spec.dir
            && let Err(e) = std::fs::metadata(dir)
        {
            return Err(io::Error::other(format!(
                "chdir {}: {}",
                dir.display(),
                errno_text(&e)
            )));
        }
        let (rd, wr) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).map_err(io::Error::from)?;
        grow_pipe(&rd);
        let wr2 = wr.try_clone()?;
        let output = tokio::net::unix::pipe::Receiver::from_owned_fd(rd)?;
        let child = {
            // The Command owns the write ends: it is dropped at the end of this block so that
            // only the child holds them and the reader sees EOF when it exits.
            let mut cmd = Command::new(&path);
            cmd.arg0(first)
                .args(&spec.argv[1..])
                .env_clear()
                .envs(spec.env.iter().map(|(k, v)| (k, v)))
                .stdin(Stdio::null())
                .stdout(Stdio::from(wr))
                .stderr(Stdio::from(wr2))
                .process_group(0);
            if let Some(dir) = &spec.dir {
                cmd.current_dir(dir);
            }
            if let Some(gid) = spec.gid {
                cmd.gid(gid);
            }
            if let Some(uid) = spec.uid {
                cmd.uid(uid);
            }
            self.reaper.spawn(&mut cmd).map_err(|e| {
                io::Error::other(format!("fork/exec {}: {}", path.display(), errno_text(&e)))
            })?
        };
        Ok(Spawned {
            pid: child.pid,
            output: Box::pin(output),
            exit: Box::pin(child.exit),
        })
    }

    fn kill(&self, pid: i32, sig: Signal) -> io::Result<()> {
        nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), sig).map_err(io::Error::from)
    }

    fn kill_group(&self, pid: i32, sig: Signal) -> io::Result<()> {
        nix::sys::signal::killpg(nix::unistd::Pid::from_raw(pid), sig).map_err(io::Error::from)
    }
}

/// One process of the [`FakeSpawner`], controlled by the test.
#[derive(Debug)]
pub struct FakeProcess {
    /// The fake pid.
    pub pid: i32,
    /// The spec it was spawned with.
    pub spec: SpawnSpec,
    exit_tx: Mutex<Option<tokio::sync::oneshot::Sender<i32>>>,
    output_tx: Mutex<Option<tokio::io::DuplexStream>>,
}

impl FakeProcess {
    /// Write `data` to the process's output (as if the process printed it).
    pub async fn write_output(&self, data: &[u8]) {
        use tokio::io::AsyncWriteExt;
        let w = self
            .output_tx
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        if let Some(mut w) = w {
            let _ = w.write_all(data).await;
            let _ = w.flush().await;
            *self.output_tx.lock().unwrap_or_else(|e| e.into_inner()) = Some(w);
        }
    }

    /// Make the process exit with `code` (closes its output first). No-op if it already exited.
    pub fn exit(&self, code: i32) {
        self.output_tx
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        if let Some(tx) = self
            .exit_tx
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
        {
            let _ = tx.send(code);
        }
    }

    /// Whether the process has exited.
    pub fn exited(&self) -> bool {
        self.exit_tx
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .is_none()
    }
}

/// A signal recorded by the [`FakeSpawner`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SentSignal {
    /// Target pid (or process group id).
    pub pid: i32,
    /// The signal.
    pub signal: Signal,
    /// Whether it was sent to the process group.
    pub group: bool,
}

/// How the [`FakeSpawner`] reacts to signals.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FakeSignalMode {
    /// Record only; the test decides when processes exit.
    #[default]
    Record,
    /// Any terminating signal except SIGTERM is obeyed (exit 128+sig); SIGTERM is ignored.
    IgnoreTerm,
    /// Every signal other than SIGCHLD/SIGWINCH/SIGCONT/SIGURG kills the process (128+sig).
    Obey,
}

#[derive(Debug, Default)]
struct FakeInner {
    next_pid: i32,
    processes: Vec<Arc<FakeProcess>>,
    signals: Vec<SentSignal>,
    fail_next: Option<String>,
    mode: FakeSignalMode,
}

/// A test [`Spawner`]: processes exit only when told to, signals are recorded.
#[derive(Debug, Default)]
pub struct FakeSpawner {
    inner: Mutex<FakeInner>,
    spawned: tokio::sync::Notify,
}

impl FakeSpawner {
    /// A new fake spawner (pids start at 1000).
    pub fn new() -> Arc<Self> {
        let s = Self::default();
        s.lock().next_pid = 1000;
        Arc::new(s)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, FakeInner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Choose how signals affect processes.
    pub fn set_signal_mode(&self, mode: FakeSignalMode) {
        self.lock().mode = mode;
    }

    /// Make the next spawn fail with this message.
    pub fn fail_next_spawn(&self, message: &str) {
        self.lock().fail_next = Some(message.to_string());
    }

    /// All processes spawned so far, oldest first.
    pub fn processes(&self) -> Vec<Arc<FakeProcess>> {
        self.lock().processes.clone()
    }

    /// The most recently spawned process.
    pub fn last(&self) -> Option<Arc<FakeProcess>> {
        self.lock().processes.last().cloned()
    }

    /// Number of processes spawned so far.
    pub fn spawn_count(&self) -> usize {
        self.lock().processes.len()
    }

    /// Wait until at least `n` processes have been spawned; returns the `n`th (1-based).
    pub async fn wait_spawned(&self, n: usize) -> Arc<FakeProcess> {
        loop {
            let notified = self.spawned.notified();
            if let Some(p) = self.lock().processes.get(n.wrapping_sub(1)).cloned() {
                return p;
            }
            notified.await;
        }
    }

    /// Signals sent so far.
    pub fn signals(&self) -> Vec<SentSignal> {
        self.lock().signals.clone()
    }

    fn signal(&self, pid: i32, sig: Signal, group: bool) -> io::Result<()> {
        let mut inner = self.lock();
        inner.signals.push(SentSignal {
            pid,
            signal: sig,
            group,
        });
        let Some(p) = inner.processes.iter().find(|p| p.pid == pid).cloned() else {
            return Err(io::Error::from_raw_os_error(libc::ESRCH));
        };
        let mode = inner.mode;
        drop(inner);
        if p.exited() {
            return Err(io::Error::from_raw_os_error(libc::ESRCH));
        }
        let harmless = matches!(
            sig,
            Signal::SIGCHLD | Signal::SIGWINCH | Signal::SIGCONT | Signal::SIGURG
        );
        let dies = match mode {
            FakeSignalMode::Record => false,
            FakeSignalMode::IgnoreTerm => !harmless && sig != Signal::SIGTERM,
            FakeSignalMode::Obey => !harmless,
        };
        if dies {
            p.exit(128 + sig as i32);
        }
        Ok(())
    }
}

impl Spawner for FakeSpawner {
    fn spawn(&self, spec: &SpawnSpec) -> io::Result<Spawned> {
        let mut inner = self.lock();
        if let Some(msg) = inner.fail_next.take() {
            return Err(io::Error::other(msg));
        }
        let pid = inner.next_pid;
        inner.next_pid += 1;
        let (exit_tx, exit_rx) = tokio::sync::oneshot::channel();
        let (w, r) = tokio::io::duplex(64 * 1024);
        let p = Arc::new(FakeProcess {
            pid,
            spec: spec.clone(),
            exit_tx: Mutex::new(Some(exit_tx)),
            output_tx: Mutex::new(Some(w)),
        });
        inner.processes.push(p);
        drop(inner);
        self.spawned.notify_waiters();
        Ok(Spawned {
            pid,
            output: Box::pin(r),
            exit: Box::pin(async move { exit_rx.await.unwrap_or(-1) }),
        })
    }

    fn kill(&self, pid: i32, sig: Signal) -> io::Result<()> {
        self.signal(pid, sig, false)
    }

    fn kill_group(&self, pid: i32, sig: Signal) -> io::Result<()> {
        self.signal(pid, sig, true)
    }
}

/// Processes by pid, for callers that want to look a fake process up.
pub fn fake_by_pid(fake: &FakeSpawner) -> HashMap<i32, Arc<FakeProcess>> {
    fake.processes().into_iter().map(|p| (p.pid, p)).collect()
}
