//! `POST /v1/exec` and its websockets: run a command in the workload with streamed I/O.
//!
//! ```no_run
//! # async fn demo(client: &pebble_client::Client) -> Result<(), pebble_client::Error> {
//! use pebble_client::ExecOptions;
//! let mut process = client.exec(&ExecOptions::new(["echo", "hi"])).await?;
//! let mut out = Vec::new();
//! process.stream(Some(tokio::io::empty()), &mut out, None::<tokio::io::Sink>).await?;
//! let exit_code = process.wait().await?;
//! assert_eq!((exit_code, &out[..]), (0, &b"hi\n"[..]));
//! # Ok(()) }
//! ```

use std::collections::BTreeMap;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use futures_util::{SinkExt, StreamExt};
use http::{Method, Request, StatusCode, header};
use http_body_util::{BodyExt, Empty};
use hyper::upgrade::Upgraded;
use hyper_util::rt::TokioIo;
use pebble_api::{ExecRequest, ExecResult};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::mpsc;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};

use crate::{Client, Error, Query, decode_envelope, go_duration};

/// The end-of-stream text frame of the exec protocol (both directions).
pub const EXEC_END: &str = r#"{"command":"end"}"#;
const CHUNK: usize = 1 << 20;

/// A websocket of an exec session.
pub type ExecSocket = WebSocketStream<TokioIo<Upgraded>>;

/// What to run and how ([`Client::exec`]).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ExecOptions {
    /// The command and its arguments.
    pub command: Vec<String>,
    /// Take environment, user, group and working dir defaults from this plan service.
    pub service_context: Option<String>,
    /// Extra environment variables.
    pub environment: BTreeMap<String, String>,
    /// Working directory.
    pub working_dir: Option<String>,
    /// Kill the command after this long (the change then fails).
    pub timeout: Option<Duration>,
    /// Run as this uid.
    pub user_id: Option<u32>,
    /// Run as this user.
    pub user: Option<String>,
    /// Run with this gid.
    pub group_id: Option<u32>,
    /// Run with this group.
    pub group: Option<String>,
    /// Allocate a pseudo-terminal.
    pub terminal: bool,
    /// Send stdin through the terminal (requires `terminal`).
    pub interactive: bool,
    /// Keep stderr separate from stdout (a third websocket).
    pub split_stderr: bool,
    /// Initial terminal width.
    pub width: u32,
    /// Initial terminal height.
    pub height: u32,
}

impl ExecOptions {
    /// Options for `command` with every other setting at its default.
    pub fn new<I, S>(command: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        ExecOptions {
            command: command.into_iter().map(Into::into).collect(),
            ..Default::default()
        }
    }

    fn request(&self) -> ExecRequest {
        ExecRequest {
            command: self.command.clone(),
            service_context: self.service_context.clone().unwrap_or_default(),
            environment: self.environment.clone(),
            working_dir: self.working_dir.clone().unwrap_or_default(),
            timeout: self.timeout.map(go_duration).unwrap_or_default(),
            user_id: self.user_id,
            user: self.user.clone().unwrap_or_default(),
            group_id: self.group_id,
            group: self.group.clone().unwrap_or_default(),
            terminal: self.terminal,
            interactive: self.interactive,
            split_stderr: self.split_stderr,
            width: self.width,
            height: self.height,
        }
    }
}

/// A control message for a running command (sent on the `control` websocket).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExecControl {
    /// Send a signal, by `SIG`-prefixed name (`SIGTERM`).
    Signal(String),
    /// Resize the terminal.
    Resize {
        /// Columns.
        width: u32,
        /// Rows.
        height: u32,
    },
}

impl ExecControl {
    fn to_json(&self) -> String {
        match self {
            ExecControl::Signal(name) => serde_json::json!({
                "command": "signal", "signal": {"name": name}
            })
            .to_string(),
            ExecControl::Resize { width, height } => serde_json::json!({
                "command": "resize", "resize": {"width": width, "height": height}
            })
            .to_string(),
        }
    }
}

/// A cloneable handle that sends [`ExecControl`] messages while the command runs.
#[derive(Debug, Clone)]
pub struct ExecController {
    tx: mpsc::UnboundedSender<ExecControl>,
}

impl ExecController {
    /// Queue `msg` for the control websocket (ignored once the command has finished).
    pub fn send(&self, msg: ExecControl) {
        let _ = self.tx.send(msg);
    }

    /// Send a signal by name (`SIGTERM`).
    pub fn signal(&self, name: &str) {
        self.send(ExecControl::Signal(name.to_string()));
    }

    /// Resize the terminal.
    pub fn resize(&self, width: u32, height: u32) {
        self.send(ExecControl::Resize { width, height });
    }
}

/// A started command: its change, its websockets, and the means to stream and wait.
#[derive(Debug)]
pub struct ExecProcess {
    client: Client,
    /// The exec change id.
    pub change_id: String,
    /// The exec task id.
    pub task_id: String,
    /// The resolved environment and working directory the daemon reported.
    pub result: ExecResult,
    timeout: Option<Duration>,
    stdio: Option<ExecSocket>,
    stderr: Option<ExecSocket>,
    controller: ExecController,
    control_task: tokio::task::JoinHandle<()>,
}

/// Websocket settings. The read buffer is allocated and zeroed for every websocket, so it is
/// sized for what the daemon sends on it: output on `stdio` and `stderr` (64 KiB reads, below
/// malloc's mmap threshold so the memory is reused across execs), a few small messages on
/// `control`.
fn ws_config(ws_id: &str) -> WebSocketConfig {
    let read_buffer = if ws_id == "control" { 4 } else { 64 } * 1024;
    WebSocketConfig::default()
        .read_buffer_size(read_buffer)
        .write_buffer_size(0)
        .max_message_size(Some(1 << 30))
        .max_frame_size(Some(1 << 30))
}

impl Client {
    /// Open websocket `ws_id` of exec task `task_id`.
    pub async fn exec_websocket(&self, task_id: &str, ws_id: &str) -> Result<ExecSocket, Error> {
        let key = tokio_tungstenite::tungstenite::handshake::client::generate_key();
        let req = Request::builder()
            .method(Method::GET)
            .uri(format!("/v1/tasks/{task_id}/websocket/{ws_id}"))
            .header(header::HOST, "localhost")
            .header(header::CONNECTION, "Upgrade")
            .header(header::UPGRADE, "websocket")
            .header(header::SEC_WEBSOCKET_VERSION, "13")
            .header(header::SEC_WEBSOCKET_KEY, key)
            .body(Empty::<Bytes>::new())
            .map_err(|e| Error::Protocol(format!("cannot build request: {e}")))?;
        let mut resp = self.send(req).await?;
        if resp.status() != StatusCode::SWITCHING_PROTOCOLS {
            let (parts, body) = resp.into_parts();
            let bytes = body
                .collect()
                .await
                .map_err(|e| Error::Connection(format!("cannot read response: {e}")))?
                .to_bytes();
            decode_envelope(parts.status, &parts.headers, &bytes)?;
            return Err(Error::Protocol(format!(
                "cannot connect to {ws_id} websocket: status {}",
                parts.status
            )));
        }
        let upgraded = hyper::upgrade::on(&mut resp)
            .await
            .map_err(|e| Error::Connection(format!("websocket upgrade: {e}")))?;
        Ok(WebSocketStream::from_raw_socket(
            TokioIo::new(upgraded),
            Role::Client,
            Some(ws_config(ws_id)),
        )
        .await)
    }

    /// `POST /v1/exec`, then connect the `control`, `stdio` (and `stderr`) websockets.
    pub async fn exec(&self, opts: &ExecOptions) -> Result<ExecProcess, Error> {
        let body = serde_json::to_vec(&opts.request())
            .map_err(|e| Error::Protocol(format!("cannot encode request: {e}")))?;
        let env = self
            .request_envelope(Method::POST, "/v1/exec", &Query::new(), Some(body))
            .await?;
        let change_id = env
            .change
            .clone()
            .filter(|c| !c.is_empty())
            .ok_or_else(|| Error::Protocol("async response without change reference".into()))?;
        let result: ExecResult = serde_json::from_value(env.result.unwrap_or_default())
            .map_err(|e| Error::Protocol(format!("cannot decode exec result: {e}")))?;
        let task_id = result.task_id.clone();
        let connected = async {
            let (control, stdio) = tokio::try_join!(
                self.exec_websocket(&task_id, "control"),
                self.exec_websocket(&task_id, "stdio")
            )?;
            let stderr = if opts.split_stderr {
                Some(self.exec_websocket(&task_id, "stderr").await?)
            } else {
                None
            };
            Ok::<_, Error>((control, stdio, stderr))
        };
        let (control, stdio, stderr) = match connected.await {
            Ok(c) => c,
            Err(e) => {
                // As ops does: prefer the change's error if the exec failed.
                if let Ok(change) = self.change(&change_id).await
                    && !change.err.is_empty()
                {
                    return Err(Error::Change {
                        err: change.err.clone(),
                        change: Box::new(change),
                    });
                }
                return Err(e);
            }
        };
        let (tx, rx) = mpsc::unbounded_channel();
        let control_task = tokio::spawn(control_loop(control, rx));
        Ok(ExecProcess {
            client: self.clone(),
            change_id,
            task_id,
            result,
            timeout: opts.timeout,
            stdio: Some(stdio),
            stderr,
            controller: ExecController { tx },
            control_task,
        })
    }
}

/// Forward control messages until the daemon closes the socket (the command finished) or the
/// process handle is dropped; then close cleanly.
async fn control_loop(mut ws: ExecSocket, mut rx: mpsc::UnboundedReceiver<ExecControl>) {
    loop {
        tokio::select! {
            msg = rx.recv() => match msg {
                Some(m) => {
                    if ws.send(Message::text(m.to_json())).await.is_err() {
                        return;
                    }
                }
                None => break,
            },
            incoming = ws.next() => match incoming {
                Some(Ok(_)) => {}
                _ => return, // the daemon closed it: the command has finished
            },
        }
    }
    let _ = ws.close(None).await;
}

/// Copy data frames of `ws` to `out` until the end command (or the socket closes).
async fn copy_out<W: AsyncWrite + Unpin>(
    ws: &mut futures_util::stream::SplitStream<ExecSocket>,
    out: &mut W,
) -> Result<(), Error> {
    let io = |e: std::io::Error| Error::Connection(format!("cannot write output: {e}"));
    while let Some(msg) = ws.next().await {
        match msg {
            Ok(Message::Binary(data)) => out.write_all(&data).await.map_err(io)?,
            Ok(Message::Text(t)) if t.as_str().contains("\"end\"") => break,
            Ok(Message::Close(_)) => break,
            Ok(_) => {}
            Err(_) => break,
        }
    }
    out.flush().await.map_err(io)
}

impl ExecProcess {
    /// A handle to send signals and resizes while the command runs.
    pub fn controller(&self) -> ExecController {
        self.controller.clone()
    }

    /// Stream `stdin` to the command (then end it; `None` ends it at once) and its output to
    /// `stdout` (and `stderr` when split), until the output ends. Input still pending when the
    /// output ends is dropped.
    pub async fn stream<I, O, E>(
        &mut self,
        stdin: Option<I>,
        mut stdout: O,
        stderr: Option<E>,
    ) -> Result<(), Error>
    where
        I: AsyncRead + Unpin,
        O: AsyncWrite + Unpin,
        E: AsyncWrite + Unpin,
    {
        let stdio = self
            .stdio
            .take()
            .ok_or_else(|| Error::Protocol("exec output already streamed".into()))?;
        let (mut sink, mut stream) = stdio.split();
        let input = async {
            if let Some(mut r) = stdin {
                let mut buf = BytesMut::new();
                loop {
                    buf.reserve(CHUNK);
                    match r.read_buf(&mut buf).await {
                        Ok(0) | Err(_) => break,
                        Ok(_) => {
                            let chunk = buf.split().freeze();
                            if sink.send(Message::Binary(chunk)).await.is_err() {
                                return;
                            }
                        }
                    }
                }
            }
            let _ = sink.send(Message::text(EXEC_END)).await;
        };
        let err_ws = self.stderr.take();
        let output = async {
            let err_copy = async {
                match (err_ws, stderr) {
                    (Some(ws), Some(mut e)) => {
                        let (_s, mut st) = ws.split();
                        copy_out(&mut st, &mut e).await
                    }
                    (Some(ws), None) => {
                        let (_s, mut st) = ws.split();
                        copy_out(&mut st, &mut tokio::io::sink()).await
                    }
                    _ => Ok(()),
                }
            };
            let (a, b) = tokio::join!(copy_out(&mut stream, &mut stdout), err_copy);
            a.and(b)
        };
        tokio::pin!(input);
        tokio::pin!(output);
        let mut input_done = false;
        loop {
            tokio::select! {
                r = &mut output => return r,
                _ = &mut input, if !input_done => input_done = true,
            }
        }
    }

    /// Wait for the exec change to finish and return the command's exit code. A failed change
    /// (e.g. the timeout fired) is [`Error::Change`].
    pub async fn wait(self) -> Result<i32, Error> {
        drop(self.stdio);
        drop(self.stderr);
        let timeout = self.timeout.map(|t| t + Duration::from_secs(1));
        let change = self.client.wait_change_ok(&self.change_id, timeout).await;
        drop(self.controller);
        let _ = self.control_task.await;
        let change = change?;
        Ok(change
            .tasks
            .first()
            .and_then(|t| t.data.get("exit-code"))
            .and_then(serde_json::Value::as_i64)
            .map(|c| c as i32)
            .unwrap_or(-1))
    }
}

/// Run `opts` to completion with no stdin, returning `(exit code, stdout, stderr)` (stderr is
/// empty unless `split_stderr` is set).
pub async fn exec_output(
    client: &Client,
    opts: &ExecOptions,
    stdin: Option<&[u8]>,
) -> Result<(i32, Vec<u8>, Vec<u8>), Error> {
    let mut p = client.exec(opts).await?;
    let (mut out, mut err) = (Vec::new(), Vec::new());
    p.stream(Some(stdin.unwrap_or_default()), &mut out, Some(&mut err))
        .await?;
    let code = p.wait().await?;
    Ok((code, out, err))
}
