//! Exec: run commands in the workload with streamed I/O (`POST /v1/exec` and the
//! `GET /v1/tasks/{task-id}/websocket/{control|stdio|stderr}` websockets).
//!
//! Flow (Pebble's exec protocol):
//! 1. [`prepare`] validates a request into an [`ExecSetup`] (400/500 errors as Pebble's).
//! 2. The API handler creates the `exec` change and task, then [`ExecManager::register`]s the
//!    setup under the task id, so websocket connects can be accepted at once.
//! 3. The task runner calls [`ExecManager::run`]: it waits up to 5 s for `stdio` (and `stderr`)
//!    to connect, starts the command through the [`crate::reaper::Reaper`] (new session,
//!    controlling PTY when terminal and interactive), pumps I/O, serves control messages,
//!    enforces the timeout, and returns the [`ExecOutcome`] once the output reached EOF.
//! 4. The websocket endpoint calls [`ExecManager::connect`] and hands the upgraded connection
//!    to the returned [`WsClaim`].

pub mod api;
pub mod pty;
pub mod session;
pub mod setup;
pub mod spawn;
pub mod ws;

use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::sync::{Arc, Mutex};

pub use session::{CONNECT_TIMEOUT, END_COMMAND, ExecOutcome, ExecWebSocket, WsTransport};
pub use setup::{ExecContext, ExecRequestError, ExecSetup, prepare, summary_for};

use crate::reaper::Reaper;
use session::Execution;

/// Go-style (lower-case, no "(os error N)") text of an I/O error.
pub(crate) fn errno_text(err: &io::Error) -> String {
    match err.raw_os_error() {
        Some(code) => {
            let s = nix::errno::Errno::from_raw(code).desc();
            let mut c = s.chars();
            match c.next() {
                Some(first) => first.to_lowercase().collect::<String>() + c.as_str(),
                None => String::new(),
            }
        }
        None => err.to_string(),
    }
}

/// Why a websocket cannot be connected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConnectError {
    /// No running execution has this task id (not an exec task, or it already finished): the
    /// caller answers from the change state.
    #[error("exec task {0:?} is not running")]
    NotRunning(String),
    /// 404: not one of `control`, `stdio`, or `stderr` when stderr is split.
    #[error("cannot find {ws} websocket for task {task:?}")]
    UnknownWebsocket {
        /// The websocket id asked for.
        ws: String,
        /// The task id.
        task: String,
    },
    /// 500: that websocket is already connected.
    #[error("websocket {0:?} already connected")]
    AlreadyConnected(String),
}

impl ConnectError {
    /// HTTP status of this error (`NotRunning` is decided by the caller; 500 here).
    pub fn status(&self) -> u16 {
        match self {
            ConnectError::UnknownWebsocket { .. } => 404,
            ConnectError::NotRunning(_) | ConnectError::AlreadyConnected(_) => 500,
        }
    }
}

/// A claimed websocket slot: give it the upgraded connection with [`WsClaim::attach`].
pub struct WsClaim {
    tx: tokio::sync::oneshot::Sender<ExecWebSocket>,
    /// How much the websocket reads at once (see [`ws::read_buffer_size`]).
    read_buffer: usize,
}

impl std::fmt::Debug for WsClaim {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WsClaim")
    }
}

impl WsClaim {
    /// Run the websocket protocol (server role) over `io` and hand it to the execution. If the
    /// execution is already over, the connection is simply closed.
    pub async fn attach<T: WsTransport>(self, io: T) {
        let boxed: Box<dyn WsTransport> = Box::new(io);
        let ws = ws::server_websocket(boxed, self.read_buffer).await;
        let _ = self.tx.send(ws);
    }
}

/// Registry of exec executions keyed by task id.
#[derive(Debug, Clone)]
pub struct ExecManager {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    reaper: Arc<Reaper>,
    executions: Mutex<HashMap<String, Arc<Execution>>>,
}

impl ExecManager {
    /// A manager spawning every command through `reaper`.
    pub fn new(reaper: Arc<Reaper>) -> Self {
        ExecManager {
            inner: Arc::new(Inner {
                reaper,
                executions: Mutex::new(HashMap::new()),
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<Execution>>> {
        self.inner
            .executions
            .lock()
            .unwrap_or_else(|e| e.into_inner())
    }

    /// Register `setup` under `task_id` (call before the 202 goes out).
    pub fn register(&self, task_id: &str, setup: ExecSetup) {
        let exec = Arc::new(Execution::new(task_id.to_string(), setup));
        self.lock().insert(task_id.to_string(), exec);
    }

    /// Forget a registered execution that will never run (e.g. its change was aborted before
    /// the task started).
    pub fn unregister(&self, task_id: &str) {
        self.lock().remove(task_id);
    }

    /// Number of registered executions (waiting or running).
    pub fn active(&self) -> usize {
        self.lock().len()
    }

    /// The setup of a registered execution.
    pub fn setup(&self, task_id: &str) -> Option<ExecSetup> {
        self.lock().get(task_id).map(|e| e.setup.clone())
    }

    /// Claim websocket `ws_id` of the execution of `task_id`.
    pub fn connect(&self, task_id: &str, ws_id: &str) -> Result<WsClaim, ConnectError> {
        let exec = self
            .lock()
            .get(task_id)
            .cloned()
            .ok_or_else(|| ConnectError::NotRunning(task_id.to_string()))?;
        let slot = match ws_id {
            "control" => Some(&exec.control),
            "stdio" => Some(&exec.stdio),
            "stderr" => exec.stderr.as_ref(),
            _ => None,
        }
        .ok_or_else(|| ConnectError::UnknownWebsocket {
            ws: ws_id.to_string(),
            task: task_id.to_string(),
        })?;
        let tx = slot
            .claim()
            .ok_or_else(|| ConnectError::AlreadyConnected(ws_id.to_string()))?;
        Ok(WsClaim {
            tx,
            read_buffer: ws::read_buffer_size(ws_id),
        })
    }

    /// The exec task handler: run the execution registered under `task_id` to completion.
    /// `abort` resolving kills the command (change abort, daemon shutdown).
    pub async fn run(&self, task_id: &str, abort: impl Future<Output = ()>) -> ExecOutcome {
        let Some(exec) = self.lock().get(task_id).cloned() else {
            return ExecOutcome {
                exit_code: None,
                error: Some(format!(
                    "internal error: cannot get exec setup object for task {}",
                    pebble_plan::quote::go_quote(task_id)
                )),
            };
        };
        let outcome = exec.run(&self.inner.reaper, abort).await;
        self.lock().remove(task_id);
        outcome
    }
}

#[cfg(test)]
mod tests;
