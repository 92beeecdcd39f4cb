//! Exec options and the process handle shared by the real and the fake containers.

use std::collections::BTreeMap;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use super::{ContainerError, ExecError};

/// A readable stream of process output.
pub type ExecReader = Pin<Box<dyn AsyncRead + Send>>;

/// A writable stream to process input. Shutting it down (`AsyncWriteExt::shutdown`) or dropping
/// it sends end-of-file.
pub type ExecWriter = Pin<Box<dyn AsyncWrite + Send>>;

/// Options of [`super::Workload::exec`] (every option of `ops.Container.exec`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExecOptions {
    /// Variables added to the environment (merged over the service context's).
    pub environment: BTreeMap<String, String>,
    /// Working directory.
    pub working_dir: Option<String>,
    /// Time limit enforced by Pebble; when it passes the wait fails with
    /// [`ContainerError::Change`] (`... timed out ...`).
    pub timeout: Option<Duration>,
    /// Run as this user id.
    pub user_id: Option<u32>,
    /// Run as this user.
    pub user: Option<String>,
    /// Run with this group id.
    pub group_id: Option<u32>,
    /// Run with this group.
    pub group: Option<String>,
    /// Inherit environment, user/group and working directory from this plan service.
    pub service_context: Option<String>,
    /// Send stderr into stdout (no separate stderr stream).
    pub combine_stderr: bool,
    /// Standard input sent in full, then closed. When set, [`ExecProcess::stdin`] is `None`.
    pub stdin: Option<Vec<u8>>,
}

impl ExecOptions {
    /// Default options.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds one environment variable.
    pub fn env(mut self, key: &str, value: &str) -> Self {
        self.environment.insert(key.to_string(), value.to_string());
        self
    }

    /// Sets the working directory.
    pub fn working_dir(mut self, dir: &str) -> Self {
        self.working_dir = Some(dir.to_string());
        self
    }

    /// Sets the timeout.
    pub fn timeout(mut self, t: Duration) -> Self {
        self.timeout = Some(t);
        self
    }

    /// Runs as a user id.
    pub fn user_id(mut self, uid: u32) -> Self {
        self.user_id = Some(uid);
        self
    }

    /// Runs as a user.
    pub fn user(mut self, user: &str) -> Self {
        self.user = Some(user.to_string());
        self
    }

    /// Runs with a group id.
    pub fn group_id(mut self, gid: u32) -> Self {
        self.group_id = Some(gid);
        self
    }

    /// Runs with a group.
    pub fn group(mut self, group: &str) -> Self {
        self.group = Some(group.to_string());
        self
    }

    /// Uses a plan service's context.
    pub fn service_context(mut self, service: &str) -> Self {
        self.service_context = Some(service.to_string());
        self
    }

    /// Merges stderr into stdout.
    pub fn combine_stderr(mut self, yes: bool) -> Self {
        self.combine_stderr = yes;
        self
    }

    /// Sends `data` as the whole standard input (text or bytes).
    pub fn stdin(mut self, data: impl Into<Vec<u8>>) -> Self {
        self.stdin = Some(data.into());
        self
    }
}

/// A boxed `Send` future.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// What drives a process behind an [`ExecProcess`]: the real websocket session or a test mock.
///
/// Implement this to plug a custom process into [`ExecProcess::new`] (the testing kit does).
pub trait ExecBackend: Send {
    /// Waits until the process finished and its output ended; returns its exit code.
    /// A failed change is [`ContainerError::Change`]; the exit code is interpreted by the caller.
    fn wait(&mut self) -> BoxFuture<'_, Result<i32, ContainerError>>;

    /// Sends a signal (`SIGTERM`, ...) to the process.
    fn send_signal<'a>(&'a mut self, signal: &'a str) -> BoxFuture<'a, Result<(), ContainerError>>;
}

/// A running command (`ops.pebble.ExecProcess`).
///
/// `stdin`, `stdout` and `stderr` are public so they can be taken and streamed concurrently
/// (e.g. one task writing stdin while another reads stdout). Whatever is left in the handle when
/// waiting is handled by the wait: stdin is closed, output is drained (and returned by
/// [`ExecProcess::wait_output`]). A stdin taken out of the handle must be shut down (or
/// dropped) by its holder, or a command reading to end-of-file never finishes.
pub struct ExecProcess {
    /// Standard input (`None` when [`ExecOptions::stdin`] was given).
    pub stdin: Option<ExecWriter>,
    /// Standard output (also stderr with `combine_stderr`).
    pub stdout: Option<ExecReader>,
    /// Standard error (`None` with `combine_stderr`).
    pub stderr: Option<ExecReader>,
    command: Vec<String>,
    backend: Box<dyn ExecBackend>,
}

impl fmt::Debug for ExecProcess {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ExecProcess")
            .field("command", &self.command)
            .field("stdin", &self.stdin.is_some())
            .field("stdout", &self.stdout.is_some())
            .field("stderr", &self.stderr.is_some())
            .finish()
    }
}

async fn read_all(r: Option<ExecReader>) -> Result<Vec<u8>, ContainerError> {
    let mut out = Vec::new();
    if let Some(mut r) = r {
        r.read_to_end(&mut out)
            .await
            .map_err(|e| ContainerError::Connection(format!("cannot read output: {e}")))?;
    }
    Ok(out)
}

impl ExecProcess {
    /// Assembles a process from its streams and backend.
    pub fn new(
        command: Vec<String>,
        stdin: Option<ExecWriter>,
        stdout: Option<ExecReader>,
        stderr: Option<ExecReader>,
        backend: Box<dyn ExecBackend>,
    ) -> Self {
        ExecProcess {
            stdin,
            stdout,
            stderr,
            command,
            backend,
        }
    }

    /// The command being run.
    pub fn command(&self) -> &[String] {
        &self.command
    }

    /// Sends a signal by name (`SIGTERM`) to the process.
    pub async fn send_signal(&mut self, signal: &str) -> Result<(), ContainerError> {
        self.backend.send_signal(signal).await
    }

    async fn close_stdin(&mut self) {
        if let Some(mut w) = self.stdin.take() {
            // The process may have exited already; a broken pipe is not an error here.
            let _ = w.shutdown().await;
        }
    }

    async fn finish(mut self) -> Result<(i32, Vec<u8>, Vec<u8>), ContainerError> {
        self.close_stdin().await;
        let stdout = self.stdout.take();
        let stderr = self.stderr.take();
        let (out, err, code) =
            tokio::join!(read_all(stdout), read_all(stderr), self.backend.wait());
        let code = code?;
        Ok((code, out?, err?))
    }

    /// Waits for the process to finish; discards output still unread.
    ///
    /// Fails with [`ContainerError::Exec`] (empty stdout/stderr) on a non-zero exit code and with
    /// [`ContainerError::Change`] when Pebble reports an error (e.g. a timeout).
    pub async fn wait(self) -> Result<(), ContainerError> {
        let command = self.command.clone();
        let (code, _, _) = self.finish().await?;
        if code != 0 {
            return Err(ContainerError::Exec(Box::new(ExecError {
                command,
                exit_code: code,
                stdout: Vec::new(),
                stderr: Vec::new(),
            })));
        }
        Ok(())
    }

    /// Waits and returns `(stdout, stderr)` as bytes; output already taken out of the handle is
    /// not included. A non-zero exit fails with [`ContainerError::Exec`] holding the output.
    pub async fn wait_output_bytes(self) -> Result<(Vec<u8>, Vec<u8>), ContainerError> {
        let command = self.command.clone();
        let (code, out, err) = self.finish().await?;
        if code != 0 {
            return Err(ContainerError::Exec(Box::new(ExecError {
                command,
                exit_code: code,
                stdout: out,
                stderr: err,
            })));
        }
        Ok((out, err))
    }

    /// Waits and returns `(stdout, stderr)` as text (invalid UTF-8 is replaced).
    pub async fn wait_output(self) -> Result<(String, String), ContainerError> {
        let (out, err) = self.wait_output_bytes().await?;
        Ok((lossy(out), lossy(err)))
    }
}

fn lossy(b: Vec<u8>) -> String {
    match String::from_utf8(b) {
        Ok(s) => s,
        Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
    }
}

const PIPE: usize = 64 * 1024;

/// The real backend: a task streams the websockets into in-memory pipes, then waits for the
/// change; the handle waits for that task.
struct RealBackend {
    done: Option<tokio::sync::oneshot::Receiver<Result<i32, ContainerError>>>,
    controller: crate::ExecController,
}

impl ExecBackend for RealBackend {
    fn wait(&mut self) -> BoxFuture<'_, Result<i32, ContainerError>> {
        Box::pin(async move {
            match self.done.take() {
                Some(rx) => rx.await.unwrap_or_else(|_| {
                    Err(ContainerError::Connection("exec session ended".to_string()))
                }),
                None => Err(ContainerError::InvalidArgument(
                    "process already waited".to_string(),
                )),
            }
        })
    }

    fn send_signal<'a>(&'a mut self, signal: &'a str) -> BoxFuture<'a, Result<(), ContainerError>> {
        Box::pin(async move {
            self.controller.signal(signal);
            Ok(())
        })
    }
}

pub(crate) fn real_process(
    command: Vec<String>,
    mut process: crate::ExecProcess,
    options: ExecOptions,
) -> ExecProcess {
    let (user_stdin, stdin_reader): (Option<ExecWriter>, ExecReader) = match options.stdin {
        Some(bytes) => (None, Box::pin(std::io::Cursor::new(bytes))),
        None => {
            let (w, r) = tokio::io::duplex(PIPE);
            (Some(Box::pin(w)), Box::pin(r))
        }
    };
    let (out_w, out_r) = tokio::io::duplex(PIPE);
    let (err_w, err_r) = if options.combine_stderr {
        (None, None)
    } else {
        let (w, r) = tokio::io::duplex(PIPE);
        (Some(w), Some(Box::pin(r) as ExecReader))
    };
    let controller = process.controller();
    let (tx, rx) = tokio::sync::oneshot::channel();
    tokio::spawn(async move {
        let streamed = process.stream(Some(stdin_reader), out_w, err_w).await;
        let result = match streamed {
            Ok(()) => process.wait().await.map_err(ContainerError::from),
            Err(e) => {
                // Prefer the change's own outcome (e.g. a timeout) over a broken stream.
                match process.wait().await {
                    Err(we) => Err(we.into()),
                    Ok(_) => Err(e.into()),
                }
            }
        };
        let _ = tx.send(result);
    });
    ExecProcess::new(
        command,
        user_stdin,
        Some(Box::pin(out_r)),
        err_r,
        Box::new(RealBackend {
            done: Some(rx),
            controller,
        }),
    )
}
