//! The child reaper: the one place in the daemon that waits for child processes.
//!
//! Pebble concept: `internals/reaper`. The daemon makes itself a *child subreaper*
//! (`PR_SET_CHILD_SUBREAPER`), so orphaned grandchildren of services are re-parented to it
//! whether or not it runs as PID 1. A dedicated thread reaps **every** exited child with
//! `waitpid(-1, WNOHANG)` whenever `SIGCHLD` arrives and routes the exit status of registered
//! children to their [`ExitWaiter`]; unregistered ones (orphans) are simply reaped.
//!
//! Because `waitpid(-1)` would steal the status of any child that someone else waits for, every
//! supervised process (services, exec sessions, exec health checks) must be started through
//! [`Reaper::spawn`], and nobody may call `std::process::Child::wait` or use `tokio::process`.
//!
//! [`Reaper::spawn`] holds the registry lock across `fork`/`exec`: the reaper thread takes the
//! same lock around its `waitpid` calls, so it can neither reap a child before its pid is
//! registered nor race with std's own `waitpid` on a child whose `exec` failed.

use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::pin::Pin;
use std::process::{ChildStderr, ChildStdin, ChildStdout, Command};
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::task::{Context, Poll};

use tokio::sync::oneshot;

/// Errors starting the reaper.
#[derive(Debug, thiserror::Error)]
pub enum ReaperError {
    /// A system call needed to set up the reaper failed.
    #[error("cannot start reaper: {0}")]
    Setup(#[from] io::Error),
}

/// The process-wide reaper (see the module docs).
#[derive(Debug)]
pub struct Reaper {
    /// Registered children: pid to the sender of its exit code.
    pids: Mutex<HashMap<i32, oneshot::Sender<i32>>>,
}

/// A child started by [`Reaper::spawn`].
#[derive(Debug)]
pub struct Child {
    /// The child's process id.
    pub pid: i32,
    /// Resolves to the exit code once the reaper has reaped the child.
    pub exit: ExitWaiter,
    /// The child's stdin, if the caller asked for a pipe.
    pub stdin: Option<ChildStdin>,
    /// The child's stdout, if the caller asked for a pipe.
    pub stdout: Option<ChildStdout>,
    /// The child's stderr, if the caller asked for a pipe.
    pub stderr: Option<ChildStderr>,
}

/// A future of a child's exit code: `WEXITSTATUS`, or 128 + the signal number if the child was
/// killed by a signal. If the reaper can no longer deliver (it never happens while the process
/// lives) it resolves to -1.
#[derive(Debug)]
pub struct ExitWaiter {
    rx: oneshot::Receiver<i32>,
}

impl Future for ExitWaiter {
    type Output = i32;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<i32> {
        Pin::new(&mut self.rx).poll(cx).map(|r| r.unwrap_or(-1))
    }
}

/// What [`Reaper::output`] returns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Output {
    /// Exit code (`WEXITSTATUS` or 128 + signal).
    pub code: i32,
    /// Everything written to stdout.
    pub stdout: Vec<u8>,
    /// Everything written to stderr.
    pub stderr: Vec<u8>,
}

static REAPER: OnceLock<Arc<Reaper>> = OnceLock::new();
static START_LOCK: Mutex<()> = Mutex::new(());
/// Write end of the self-pipe the SIGCHLD handler writes to (-1 before start).
static WAKE_FD: AtomicI32 = AtomicI32::new(-1);

extern "C" fn on_sigchld(_sig: libc::c_int) {
    // Only async-signal-safe calls here: write(2), and errno preserved around it.
    // SAFETY: __errno_location is async-signal-safe and returns this thread's errno.
    let saved = unsafe { *libc::__errno_location() };
    let fd = WAKE_FD.load(Ordering::Relaxed);
    if fd >= 0 {
        let byte = 1u8;
        // SAFETY: writing one byte from a valid stack buffer to a non-blocking pipe.
        unsafe {
            libc::write(fd, (&byte as *const u8).cast(), 1);
        }
    }
    // SAFETY: see above.
    unsafe { *libc::__errno_location() = saved };
}

/// Decode a `waitpid` status into Pebble's exit code.
pub fn exit_code_from_status(status: libc::c_int) -> i32 {
    if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else if libc::WIFSIGNALED(status) {
        128 + libc::WTERMSIG(status)
    } else {
        -1
    }
}

impl Reaper {
    /// Start (once per process) and return the reaper: sets `PR_SET_CHILD_SUBREAPER`, installs a
    /// `SIGCHLD` handler and starts the reaping thread. Later calls return the same instance.
    pub fn start() -> Result<Arc<Reaper>, ReaperError> {
        if let Some(r) = REAPER.get() {
            return Ok(r.clone());
        }
        let _guard = START_LOCK.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(r) = REAPER.get() {
            return Ok(r.clone());
        }
        // SAFETY: plain prctl call with integer arguments.
        if unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) } != 0 {
            return Err(io::Error::last_os_error().into());
        }
        let mut fds = [0 as RawFd; 2];
        // SAFETY: fds is a valid array of two ints.
        if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
            return Err(io::Error::last_os_error().into());
        }
        // SAFETY: pipe2 just returned these two fresh descriptors; we own them.
        let (rd, wr) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
        // SAFETY: fcntl on a descriptor we own.
        unsafe {
            let fl = libc::fcntl(wr.as_raw_fd(), libc::F_GETFL);
            libc::fcntl(wr.as_raw_fd(), libc::F_SETFL, fl | libc::O_NONBLOCK);
        }
        // The write end lives for the rest of the process (the handler may run at any time).
        WAKE_FD.store(std::os::fd::IntoRawFd::into_raw_fd(wr), Ordering::SeqCst);

        // SAFETY: installing a handler that only calls async-signal-safe functions.
        unsafe {
            let mut sa: libc::sigaction = std::mem::zeroed();
            sa.sa_sigaction = on_sigchld as *const () as usize;
            sa.sa_flags = libc::SA_RESTART | libc::SA_NOCLDSTOP;
            libc::sigemptyset(&mut sa.sa_mask);
            if libc::sigaction(libc::SIGCHLD, &sa, std::ptr::null_mut()) != 0 {
                return Err(io::Error::last_os_error().into());
            }
        }

        let reaper = Arc::new(Reaper {
            pids: Mutex::new(HashMap::new()),
        });
        let r2 = reaper.clone();
        std::thread::Builder::new()
            .name("pebble-reaper".into())
            .spawn(move || r2.run(rd))?;
        let _ = REAPER.set(reaper.clone());
        Ok(reaper)
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<i32, oneshot::Sender<i32>>> {
        self.pids.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The reaping loop: wait for a wake-up byte, then reap everything that has exited.
    fn run(&self, wake: OwnedFd) {
        let mut buf = [0u8; 64];
        loop {
            self.reap_all();
            // SAFETY: reading into a valid buffer from a descriptor we own.
            let n = unsafe { libc::read(wake.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
            if n < 0 {
                let err = io::Error::last_os_error();
                if err.kind() != io::ErrorKind::Interrupted {
                    // Should never happen; avoid a busy loop and keep reaping periodically.
                    std::thread::sleep(std::time::Duration::from_millis(100));
                }
            }
        }
    }

    /// Reap every exited child now, delivering statuses of registered pids.
    fn reap_all(&self) {
        let mut pids = self.lock();
        loop {
            let mut status: libc::c_int = 0;
            // SAFETY: status is a valid out-pointer.
            let pid = unsafe { libc::waitpid(-1, &mut status, libc::WNOHANG) };
            if pid > 0 {
                let code = exit_code_from_status(status);
                if let Some(tx) = pids.remove(&pid) {
                    let _ = tx.send(code);
                }
                continue;
            }
            if pid < 0 && io::Error::last_os_error().kind() == io::ErrorKind::Interrupted {
                continue;
            }
            break; // 0: children exist but none exited; -1 ECHILD: no children.
        }
    }

    /// Spawn `cmd` and register its pid for exit delivery, all under the registry lock.
    ///
    /// The caller configures stdio, environment, credentials, process group and any `pre_exec`
    /// (which must be async-signal-safe). Never call `wait` on anything related to the child:
    /// use the returned [`ExitWaiter`].
    pub fn spawn(&self, cmd: &mut Command) -> io::Result<Child> {
        let mut pids = self.lock();
        let mut child = cmd.spawn()?;
        let pid = child.id() as i32;
        let (tx, rx) = oneshot::channel();
        pids.insert(pid, tx);
        drop(pids);
        Ok(Child {
            pid,
            exit: ExitWaiter { rx },
            stdin: child.stdin.take(),
            stdout: child.stdout.take(),
            stderr: child.stderr.take(),
        })
        // Dropping std's Child neither waits nor kills.
    }

    /// Register a pid created by other means (e.g. a raw `fork`) while holding the lock returned
    /// by this call's closure. `f` must return the new pid; its exit status is then delivered.
    pub fn spawn_with<F>(&self, f: F) -> io::Result<(i32, ExitWaiter)>
    where
        F: FnOnce() -> io::Result<i32>,
    {
        let mut pids = self.lock();
        let pid = f()?;
        let (tx, rx) = oneshot::channel();
        pids.insert(pid, tx);
        Ok((pid, ExitWaiter { rx }))
    }

    /// Run `cmd` to completion (stdin `/dev/null`, stdout and stderr captured), like
    /// `Command::output` but through the reaper. Use this instead of std's `output()`/`status()`
    /// anywhere in a process where the reaper runs. Needs a tokio runtime (blocking pool).
    pub async fn output(&self, cmd: &mut Command) -> io::Result<Output> {
        use std::io::Read;
        cmd.stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        let mut child = self.spawn(cmd)?;
        let read = |r: Option<Box<dyn Read + Send>>| {
            tokio::task::spawn_blocking(move || {
                let mut buf = Vec::new();
                if let Some(mut r) = r {
                    r.read_to_end(&mut buf)?;
                }
                Ok::<_, io::Error>(buf)
            })
        };
        let out = read(
            child
                .stdout
                .take()
                .map(|r| Box::new(r) as Box<dyn Read + Send>),
        );
        let err = read(
            child
                .stderr
                .take()
                .map(|r| Box::new(r) as Box<dyn Read + Send>),
        );
        let code = child.exit.await;
        let stdout = out.await.map_err(io::Error::other)??;
        let stderr = err.await.map_err(io::Error::other)??;
        Ok(Output {
            code,
            stdout,
            stderr,
        })
    }

    /// Number of children currently registered and not yet reaped (for tests and metrics).
    pub fn registered(&self) -> usize {
        self.lock().len()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn decodes_exit_status() {
        // Exit code 3: status = 3 << 8. Killed by SIGTERM (15): status = 15.
        assert_eq!(exit_code_from_status(3 << 8), 3);
        assert_eq!(exit_code_from_status(15), 143);
        assert_eq!(exit_code_from_status(0), 0);
    }
}
