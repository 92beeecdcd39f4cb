//! One running exec: websocket slots, process start through the reaper, I/O pumps, control
//! messages, timeout and completion.

use std::future::Future;
use std::io;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::BytesMut;
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::{oneshot, watch};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};

use super::pty::{FdStream, open_pty, set_size, veof_char};
use super::setup::ExecSetup;
use crate::reaper::Reaper;
use pebble_plan::go_duration::format_nanos;
use pebble_plan::quote::go_quote;

/// Any byte stream a websocket can run over (a hyper upgrade, a Unix stream in tests).
pub trait WsTransport: AsyncRead + AsyncWrite + Send + Unpin + 'static {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin + 'static> WsTransport for T {}

/// A server-side exec websocket.
pub type ExecWebSocket = WebSocketStream<Box<dyn WsTransport>>;

/// How long the client has to connect `stdio` (and `stderr`) once the task started.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a finished exec keeps reading a client's stdio/stderr websocket for its close.
const LINGER: Duration = Duration::from_secs(2);
/// Read size for output (pipes are grown to 1 MiB, so reads can return up to that).
const CHUNK: usize = 256 * 1024;
/// The end-of-stream text frame, both ways.
pub const END_COMMAND: &str = r#"{"command":"end"}"#;

/// The result of running an exec task.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecOutcome {
    /// `exit-code` for the task's `api-data` (absent when the command never started because
    /// the websockets did not connect).
    pub exit_code: Option<i32>,
    /// The task error, if the task failed.
    pub error: Option<String>,
}

/// One websocket slot: the connect side takes `tx`, the session takes `rx`.
pub(crate) struct Slot {
    tx: Mutex<Option<oneshot::Sender<ExecWebSocket>>>,
    rx: Mutex<Option<oneshot::Receiver<ExecWebSocket>>>,
}

impl Slot {
    fn new() -> Self {
        let (tx, rx) = oneshot::channel();
        Slot {
            tx: Mutex::new(Some(tx)),
            rx: Mutex::new(Some(rx)),
        }
    }

    pub(crate) fn claim(&self) -> Option<oneshot::Sender<ExecWebSocket>> {
        self.tx.lock().unwrap_or_else(|e| e.into_inner()).take()
    }

    fn take_rx(&self) -> Option<oneshot::Receiver<ExecWebSocket>> {
        self.rx.lock().unwrap_or_else(|e| e.into_inner()).take()
    }
}

impl std::fmt::Debug for Slot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Slot")
    }
}

/// A registered execution, waiting for its websockets and its task.
#[derive(Debug)]
pub(crate) struct Execution {
    pub(crate) task_id: String,
    pub(crate) setup: ExecSetup,
    pub(crate) control: Slot,
    pub(crate) stdio: Slot,
    pub(crate) stderr: Option<Slot>,
}

/// The state of the started process shared with the control loop.
#[derive(Debug)]
struct Proc {
    pid: i32,
    alive: AtomicBool,
}

impl Proc {
    fn kill(&self, sig: nix::sys::signal::Signal) -> nix::Result<()> {
        if !self.alive.load(Ordering::Acquire) {
            return Err(nix::errno::Errno::ESRCH);
        }
        nix::sys::signal::kill(nix::unistd::Pid::from_raw(self.pid), sig)
    }
}

/// Where stdin frames go.
enum StdinSink {
    Pipe(tokio::net::unix::pipe::Sender),
    Pty(FdStream, u8),
}

fn is_end(text: &str) -> bool {
    #[derive(serde::Deserialize)]
    struct Cmd {
        #[serde(default)]
        command: Option<String>,
    }
    serde_json::from_str::<Cmd>(text)
        .ok()
        .and_then(|c| c.command)
        .is_some_and(|c| c == "end")
}

fn pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    Ok(nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)?)
}

/// Grow a pipe to 1 MiB (best effort) so output moves in big reads and frames.
fn grow_pipe(fd: &OwnedFd) {
    let _ = nix::fcntl::fcntl(fd.as_fd(), nix::fcntl::FcntlArg::F_SETPIPE_SZ(1 << 20));
}

fn receiver(fd: OwnedFd) -> io::Result<tokio::net::unix::pipe::Receiver> {
    tokio::net::unix::pipe::Receiver::from_owned_fd(fd)
}

/// Copy `reader` to `sink` as binary frames, then send the end frame. Keeps draining (and
/// discarding) if the client went away, so the command never blocks on a full pipe.
async fn pump_output<R: AsyncRead + Unpin>(
    mut reader: R,
    mut sink: SplitSink<ExecWebSocket, Message>,
) -> SplitSink<ExecWebSocket, Message> {
    let mut ok = true;
    let mut buf = BytesMut::new();
    loop {
        buf.reserve(CHUNK);
        match reader.read_buf(&mut buf).await {
            Ok(0) => break,
            Ok(_) => {
                let chunk = buf.split().freeze();
                if ok && sink.send(Message::Binary(chunk)).await.is_err() {
                    ok = false;
                }
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(_) => break,
        }
    }
    if ok {
        let _ = sink.send(Message::text(END_COMMAND)).await;
    }
    sink
}

/// Read stdin frames from `stream` into `stdin` until the client ends it, then (once `done`
/// flips) linger briefly for the client's close so its last writes do not fail.
async fn pump_input(
    mut stream: SplitStream<ExecWebSocket>,
    mut stdin: Option<StdinSink>,
    mut done: watch::Receiver<bool>,
) {
    let mut open = true;
    while open {
        let msg = tokio::select! {
            m = stream.next() => m,
            _ = done.wait_for(|d| *d) => break,
        };
        match msg {
            Some(Ok(Message::Binary(data))) => {
                let failed = match &mut stdin {
                    Some(StdinSink::Pipe(w)) => w.write_all(&data).await.is_err(),
                    Some(StdinSink::Pty(w, _)) => w.write_all(&data).await.is_err(),
                    None => false,
                };
                if failed {
                    stdin = None;
                }
            }
            Some(Ok(Message::Text(text))) => {
                if is_end(&text) {
                    close_stdin(stdin.take()).await;
                }
            }
            Some(Ok(Message::Close(_))) | Some(Err(_)) | None => open = false,
            Some(Ok(_)) => {}
        }
    }
    close_stdin(stdin.take()).await;
    if open {
        // Finished: give the client a moment to close its side cleanly.
        let _ = tokio::time::timeout(LINGER, async {
            while let Some(Ok(m)) = stream.next().await {
                if m.is_close() {
                    break;
                }
            }
        })
        .await;
    }
}

async fn close_stdin(stdin: Option<StdinSink>) {
    match stdin {
        Some(StdinSink::Pipe(w)) => drop(w),
        Some(StdinSink::Pty(mut w, veof)) => {
            let _ = w.write_all(&[veof]).await;
        }
        None => {}
    }
}

#[derive(serde::Deserialize)]
struct ControlCommand {
    #[serde(default)]
    command: String,
    #[serde(default)]
    signal: Option<SignalArgs>,
    #[serde(default)]
    resize: Option<ResizeArgs>,
}

#[derive(serde::Deserialize)]
struct SignalArgs {
    #[serde(default)]
    name: String,
}

#[derive(serde::Deserialize)]
struct ResizeArgs {
    #[serde(default)]
    width: u32,
    #[serde(default)]
    height: u32,
}

/// Serve the control websocket until `stop` flips; an abnormal drop kills the process.
async fn control_loop(
    task_id: String,
    rx: Option<oneshot::Receiver<ExecWebSocket>>,
    proc_: Arc<Proc>,
    pty: Option<Arc<OwnedFd>>,
    mut stop: watch::Receiver<bool>,
) {
    let Some(rx) = rx else { return };
    let mut ws = tokio::select! {
        r = rx => match r { Ok(ws) => ws, Err(_) => return },
        _ = stop.wait_for(|s| *s) => return,
    };
    loop {
        let msg = tokio::select! {
            m = ws.next() => m,
            _ = stop.wait_for(|s| *s) => break,
        };
        let data = match msg {
            Some(Ok(Message::Text(t))) => t.as_bytes().to_vec(),
            Some(Ok(Message::Binary(b))) => b.to_vec(),
            Some(Ok(Message::Close(_))) | None => {
                // Closed properly: nothing to do until the command finishes.
                let _ = stop.wait_for(|s| *s).await;
                break;
            }
            Some(Ok(_)) => continue,
            Some(Err(WsError::Protocol(_) | WsError::Io(_) | WsError::ConnectionClosed)) => {
                // Gone without a close frame (Go's 1006 abnormal closure): kill the command.
                if let Err(e) = proc_.kill(nix::sys::signal::Signal::SIGKILL)
                    && e != nix::errno::Errno::ESRCH
                {
                    crate::pebble_log!(
                        "Exec {task_id}: cannot send SIGKILL to pid {}: {}",
                        proc_.pid,
                        e.desc().to_lowercase()
                    );
                }
                let _ = stop.wait_for(|s| *s).await;
                break;
            }
            Some(Err(_)) => {
                let _ = stop.wait_for(|s| *s).await;
                break;
            }
        };
        let cmd: ControlCommand = match serde_json::from_slice(&data) {
            Ok(c) => c,
            Err(e) => {
                crate::pebble_log!("Exec {task_id}: cannot decode control websocket command: {e}");
                continue;
            }
        };
        match (cmd.command.as_str(), &pty) {
            ("resize", Some(fd)) => match cmd.resize {
                None => crate::pebble_log!(
                    "Exec {task_id}: control command \"resize\" requires terminal width and height"
                ),
                Some(r) => {
                    if let Err(e) = set_size(fd.as_fd(), r.width, r.height) {
                        crate::pebble_log!(
                            "Exec {task_id}: control command \"resize\" cannot set terminal size to {}x{}: {}",
                            r.width,
                            r.height,
                            super::errno_text(&e)
                        );
                    }
                }
            },
            ("signal", _) => {
                let Some(sig) = cmd.signal else {
                    crate::pebble_log!(
                        "Exec {task_id}: control command \"signal\" requires signal name"
                    );
                    continue;
                };
                let name = sig.name;
                let Ok(signal) = name.parse::<nix::sys::signal::Signal>() else {
                    crate::pebble_log!("Exec {task_id}: invalid signal name {}", go_quote(&name));
                    continue;
                };
                match proc_.kill(signal) {
                    Ok(()) => crate::pebble_log!(
                        "Exec {task_id}: forwarded signal {name} to PID {}",
                        proc_.pid
                    ),
                    Err(e) => crate::pebble_log!(
                        "Exec {task_id}: control command \"signal\" cannot forward {name} to PID {}: {}",
                        proc_.pid,
                        e.desc().to_lowercase()
                    ),
                }
            }
            (other, _) => crate::pebble_log!(
                "Exec {task_id}: invalid control websocket command {}",
                go_quote(other)
            ),
        }
    }
    // Dropping the websocket closes the connection without a close frame, as Pebble does.
    drop(ws);
}

impl Execution {
    pub(crate) fn new(task_id: String, setup: ExecSetup) -> Self {
        let stderr = setup.split_stderr.then(Slot::new);
        Execution {
            task_id,
            setup,
            control: Slot::new(),
            stdio: Slot::new(),
            stderr,
        }
    }

    /// Run the command to completion (see the module docs). `abort` kills it.
    pub(crate) async fn run(
        &self,
        reaper: &Reaper,
        abort: impl Future<Output = ()>,
    ) -> ExecOutcome {
        tokio::pin!(abort);
        let id = &self.task_id;
        let (Some(stdio_rx), control_rx) = (self.stdio.take_rx(), self.control.take_rx()) else {
            return ExecOutcome {
                exit_code: None,
                error: Some(format!("internal error: exec {id} already started")),
            };
        };
        let stderr_rx = self.stderr.as_ref().and_then(Slot::take_rx);
        let wait_io = async {
            let stdio = match stdio_rx.await {
                Ok(ws) => ws,
                Err(_) => std::future::pending().await,
            };
            let stderr = match stderr_rx {
                Some(rx) => match rx.await {
                    Ok(ws) => Some(ws),
                    Err(_) => std::future::pending().await,
                },
                None => None,
            };
            (stdio, stderr)
        };
        let (stdio_ws, stderr_ws) = tokio::select! {
            r = wait_io => r,
            _ = tokio::time::sleep(CONNECT_TIMEOUT) => {
                crate::pebble_log!(
                    "Exec {id}: timeout waiting for websocket connections: context deadline exceeded"
                );
                return ExecOutcome {
                    exit_code: None,
                    error: Some(format!(
                        "exec {id}: timeout waiting for websocket connections: context deadline exceeded"
                    )),
                };
            }
            _ = &mut abort => {
                return ExecOutcome { exit_code: None, error: Some("context canceled".into()) };
            }
        };
        match self
            .start(reaper, stdio_ws, stderr_ws, control_rx, abort)
            .await
        {
            Ok(outcome) => outcome,
            Err(e) => ExecOutcome {
                exit_code: Some(-1),
                error: Some(e),
            },
        }
    }

    /// Start the command with `stdio` as its fds 0-2, in a new session (with `ctty`, the
    /// PTY on fd 0 as controlling terminal), as `creds` if set. Our copies of the fds are
    /// closed on return, so EOF comes once the child (and anything it started) is gone.
    fn spawn(
        &self,
        reaper: &Reaper,
        stdio: [OwnedFd; 3],
        creds: Option<(u32, u32)>,
        ctty: bool,
    ) -> io::Result<(i32, crate::reaper::ExitWaiter)> {
        let s = &self.setup;
        if creds.is_none() && !ctty && stdio.iter().all(|fd| fd.as_raw_fd() > 2) {
            // The common case: posix_spawn (vfork-like), much cheaper than fork.
            let fds = [stdio[0].as_fd(), stdio[1].as_fd(), stdio[2].as_fd()];
            return reaper.spawn_with(|| {
                super::spawn::spawn_session(
                    &s.program,
                    &s.command,
                    &s.environment,
                    &s.working_dir,
                    fds,
                )
            });
        }
        let [stdin, stdout, stderr] = stdio;
        let mut cmd = Command::new(&s.program);
        cmd.arg0(&s.command[0])
            .args(&s.command[1..])
            .env_clear()
            .envs(&s.environment)
            .current_dir(&s.working_dir)
            .stdin(Stdio::from(stdin))
            .stdout(Stdio::from(stdout))
            .stderr(Stdio::from(stderr));
        if let Some((uid, gid)) = creds {
            cmd.uid(uid).gid(gid);
        }
        // SAFETY: the closure only makes async-signal-safe system calls (setsid, ioctl).
        unsafe {
            cmd.pre_exec(move || {
                if libc::setsid() < 0 {
                    return Err(io::Error::last_os_error());
                }
                if ctty && libc::ioctl(0, libc::TIOCSCTTY, 0) < 0 {
                    return Err(io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let child = reaper.spawn(&mut cmd)?;
        Ok((child.pid, child.exit))
    }

    async fn start(
        &self,
        reaper: &Reaper,
        stdio_ws: ExecWebSocket,
        stderr_ws: Option<ExecWebSocket>,
        control_rx: Option<oneshot::Receiver<ExecWebSocket>>,
        abort: std::pin::Pin<&mut impl Future<Output = ()>>,
    ) -> Result<ExecOutcome, String> {
        let s = &self.setup;
        let io_err = |e: io::Error| super::errno_text(&e);
        let (stdio_sink, stdio_stream) = stdio_ws.split();

        let mut pty_fd: Option<Arc<OwnedFd>> = None;
        let stdin_sink;
        let out_reader: Box<dyn AsyncRead + Send + Unpin>;
        // The child's fds 0, 1 and 2.
        let (child_in, child_out, child_err): (OwnedFd, OwnedFd, Option<OwnedFd>);
        if s.terminal {
            let owner = match (s.uid, s.gid) {
                (Some(u), Some(g)) => Some((u, g)),
                _ => None,
            };
            let (master, slave) = open_pty(owner, s.width, s.height).map_err(io_err)?;
            let reader = FdStream::new(master.try_clone().map_err(io_err)?).map_err(io_err)?;
            out_reader = Box::new(reader);
            if s.interactive {
                let veof = veof_char(master.as_fd());
                let writer = FdStream::new(master.try_clone().map_err(io_err)?).map_err(io_err)?;
                stdin_sink = StdinSink::Pty(writer, veof);
                child_in = slave.try_clone().map_err(io_err)?;
            } else {
                let (r, w) = pipe().map_err(io_err)?;
                stdin_sink = StdinSink::Pipe(
                    tokio::net::unix::pipe::Sender::from_owned_fd(w).map_err(io_err)?,
                );
                child_in = r;
            }
            child_err = if s.split_stderr {
                None
            } else {
                Some(slave.try_clone().map_err(io_err)?)
            };
            child_out = slave;
            pty_fd = Some(Arc::new(master));
        } else {
            let (r, w) = pipe().map_err(io_err)?;
            stdin_sink =
                StdinSink::Pipe(tokio::net::unix::pipe::Sender::from_owned_fd(w).map_err(io_err)?);
            child_in = r;
            let (out_r, out_w) = pipe().map_err(io_err)?;
            grow_pipe(&out_r);
            child_err = if s.split_stderr {
                None
            } else {
                Some(out_w.try_clone().map_err(io_err)?)
            };
            child_out = out_w;
            out_reader = Box::new(receiver(out_r).map_err(io_err)?);
        }
        let mut err_reader = None;
        let child_err = match child_err {
            Some(fd) => fd,
            None => {
                let (r, w) = pipe().map_err(io_err)?;
                grow_pipe(&r);
                err_reader = Some(receiver(r).map_err(io_err)?);
                w
            }
        };

        // Credentials only when they differ from the daemon's own.
        let creds = match (s.uid, s.gid) {
            (Some(uid), Some(gid))
                if uid != nix::unistd::getuid().as_raw()
                    || gid != nix::unistd::getgid().as_raw() =>
            {
                Some((uid, gid))
            }
            _ => None,
        };
        let ctty = s.terminal && s.interactive;

        // Output pumps run from now on: they end at EOF, i.e. once every writer is closed.
        let out_task = tokio::spawn(pump_output(out_reader, stdio_sink));
        let err_task = match (err_reader, stderr_ws) {
            (Some(r), Some(ws)) => {
                let (sink, stream) = ws.split();
                Some((tokio::spawn(pump_output(r, sink)), stream))
            }
            _ => None,
        };
        let (done_tx, done_rx) = watch::channel(false);
        tokio::spawn(pump_input(stdio_stream, Some(stdin_sink), done_rx.clone()));
        let (err_handle, err_stream) = match err_task {
            Some((h, st)) => (Some(h), Some(st)),
            None => (None, None),
        };
        if let Some(st) = err_stream {
            // The server never reads stderr data; it only waits for the client's close.
            tokio::spawn(pump_input(st, None, done_rx.clone()));
        }

        let spawned = self.spawn(reaper, [child_in, child_out, child_err], creds, ctty);
        let (pid, exit) = match spawned {
            Ok(c) => c,
            Err(e) => {
                let _ = done_tx.send(true);
                let _ = out_task.await;
                if let Some(h) = err_handle {
                    let _ = h.await;
                }
                return Err(format!(
                    "fork/exec {}: {}",
                    s.program.display(),
                    super::errno_text(&e)
                ));
            }
        };
        let proc_ = Arc::new(Proc {
            pid,
            alive: AtomicBool::new(true),
        });
        let (stop_tx, stop_rx) = watch::channel(false);
        let control = tokio::spawn(control_loop(
            self.task_id.clone(),
            control_rx,
            proc_.clone(),
            pty_fd.clone(),
            stop_rx,
        ));

        let mut exit = exit;
        let timeout = async {
            if s.timeout_nanos == 0 {
                std::future::pending::<()>().await
            }
            let nanos = u64::try_from(s.timeout_nanos).unwrap_or(0);
            tokio::time::sleep(Duration::from_nanos(nanos)).await
        };
        let mut abort = abort;
        enum End {
            Exited(i32),
            TimedOut,
            Aborted,
        }
        let end = tokio::select! {
            code = &mut exit => End::Exited(code),
            _ = timeout => End::TimedOut,
            _ = &mut abort => End::Aborted,
        };
        let end = match end {
            End::Exited(code) => End::Exited(code),
            other => {
                let _ = proc_.kill(nix::sys::signal::Signal::SIGKILL);
                let _ = (&mut exit).await;
                other
            }
        };
        proc_.alive.store(false, Ordering::Release);
        let _ = stop_tx.send(true);
        let _ = control.await;

        // Wait for the output to drain (a grandchild holding the pipes keeps us here).
        let drain = async {
            let _ = out_task.await;
            if let Some(h) = err_handle {
                let _ = h.await;
            }
        };
        tokio::select! {
            _ = drain => {}
            _ = &mut abort, if !matches!(end, End::Aborted) => {}
        }
        let _ = done_tx.send(true);
        drop(pty_fd);

        Ok(match end {
            End::Exited(code) => ExecOutcome {
                exit_code: Some(code),
                error: None,
            },
            End::TimedOut => ExecOutcome {
                exit_code: Some(-1),
                error: Some(format!(
                    "timed out after {}: context deadline exceeded",
                    format_nanos(s.timeout_nanos)
                )),
            },
            End::Aborted => ExecOutcome {
                exit_code: Some(-1),
                error: Some("context canceled".into()),
            },
        })
    }
}
