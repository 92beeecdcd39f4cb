//! Exec mocks: results chosen by the longest matching command prefix, and the exec history.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use pebble_client::container::BoxFuture;
use pebble_client::container::{
    ContainerError, ExecBackend, ExecOptions, ExecProcess, ExecReader, ExecWriter,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// What a mocked command does: exit code, output, or a Pebble-side timeout.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MockResult {
    /// Exit code (0 by default).
    pub exit_code: i32,
    /// Standard output.
    pub stdout: Vec<u8>,
    /// Standard error.
    pub stderr: Vec<u8>,
    /// Simulate the exec `timeout` passing: the wait fails with [`ContainerError::Change`].
    pub timed_out: bool,
}

impl MockResult {
    /// Exit code 0, no output.
    pub fn ok() -> Self {
        MockResult::default()
    }

    /// Exit with `code`.
    pub fn exit(code: i32) -> Self {
        MockResult {
            exit_code: code,
            ..Self::default()
        }
    }

    /// The command times out (as if Pebble killed it at its `timeout`).
    pub fn timeout() -> Self {
        MockResult {
            timed_out: true,
            ..Self::default()
        }
    }

    /// Sets standard output (text or bytes).
    pub fn stdout(mut self, out: impl Into<Vec<u8>>) -> Self {
        self.stdout = out.into();
        self
    }

    /// Sets standard error (text or bytes).
    pub fn stderr(mut self, err: impl Into<Vec<u8>>) -> Self {
        self.stderr = err.into();
        self
    }
}

/// One recorded `exec` call: every option as requested, plus what was written to stdin.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExecRecord {
    /// The command and its arguments.
    pub command: Vec<String>,
    /// Requested environment variables.
    pub environment: BTreeMap<String, String>,
    /// Requested working directory.
    pub working_dir: Option<String>,
    /// Requested timeout.
    pub timeout: Option<Duration>,
    /// Requested user id.
    pub user_id: Option<u32>,
    /// Requested user.
    pub user: Option<String>,
    /// Requested group id.
    pub group_id: Option<u32>,
    /// Requested group.
    pub group: Option<String>,
    /// Requested service context.
    pub service_context: Option<String>,
    /// Whether stderr was combined into stdout.
    pub combine_stderr: bool,
    /// Everything the process received on stdin (complete once the process was waited).
    pub stdin: Vec<u8>,
    /// Signals sent to the process, in order.
    pub signals: Vec<String>,
}

impl ExecRecord {
    /// Stdin as text.
    pub fn stdin_text(&self) -> String {
        String::from_utf8_lossy(&self.stdin).into_owned()
    }

    pub(crate) fn from_options(command: &[String], o: &ExecOptions) -> Self {
        ExecRecord {
            command: command.to_vec(),
            environment: o.environment.clone(),
            working_dir: o.working_dir.clone(),
            timeout: o.timeout,
            user_id: o.user_id,
            user: o.user.clone(),
            group_id: o.group_id,
            group: o.group.clone(),
            service_context: o.service_context.clone(),
            combine_stderr: o.combine_stderr,
            stdin: Vec::new(),
            signals: Vec::new(),
        }
    }
}

/// A handler computing a result from the call (its stdin is complete when it runs).
pub type Handler = Arc<dyn Fn(&ExecRecord) -> MockResult + Send + Sync>;

/// A registered mock.
#[derive(Clone)]
pub(crate) struct Mock {
    pub(crate) prefix: Vec<String>,
    pub(crate) handler: Handler,
}

impl fmt::Debug for Mock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Mock")
            .field("prefix", &self.prefix)
            .finish()
    }
}

/// The mock for `command`: the full command first, then shorter prefixes down to `[]`.
pub(crate) fn find<'a>(mocks: &'a [Mock], command: &[String]) -> Option<&'a Mock> {
    (0..=command.len()).rev().find_map(|n| {
        mocks
            .iter()
            .rev()
            .find(|m| m.prefix.as_slice() == &command[..n])
    })
}

/// Linux signal numbers by name.
pub(crate) fn signal_number(name: &str) -> Option<i32> {
    const TABLE: &[(&str, i32)] = &[
        ("SIGHUP", 1),
        ("SIGINT", 2),
        ("SIGQUIT", 3),
        ("SIGILL", 4),
        ("SIGTRAP", 5),
        ("SIGABRT", 6),
        ("SIGIOT", 6),
        ("SIGBUS", 7),
        ("SIGFPE", 8),
        ("SIGKILL", 9),
        ("SIGUSR1", 10),
        ("SIGSEGV", 11),
        ("SIGUSR2", 12),
        ("SIGPIPE", 13),
        ("SIGALRM", 14),
        ("SIGTERM", 15),
        ("SIGSTKFLT", 16),
        ("SIGCHLD", 17),
        ("SIGCONT", 18),
        ("SIGSTOP", 19),
        ("SIGTSTP", 20),
        ("SIGTTIN", 21),
        ("SIGTTOU", 22),
        ("SIGURG", 23),
        ("SIGXCPU", 24),
        ("SIGXFSZ", 25),
        ("SIGVTALRM", 26),
        ("SIGPROF", 27),
        ("SIGWINCH", 28),
        ("SIGIO", 29),
        ("SIGPOLL", 29),
        ("SIGPWR", 30),
        ("SIGSYS", 31),
    ];
    TABLE.iter().find(|(n, _)| *n == name).map(|(_, v)| *v)
}

const PIPE: usize = 64 * 1024;

struct Shared {
    history: Arc<Mutex<Vec<ExecRecord>>>,
    index: usize,
    killed: Mutex<Option<i32>>,
}

struct MockBackend {
    shared: Arc<Shared>,
    done: Option<tokio::sync::oneshot::Receiver<Result<i32, ContainerError>>>,
}

impl ExecBackend for MockBackend {
    fn wait(&mut self) -> BoxFuture<'_, Result<i32, ContainerError>> {
        Box::pin(async move {
            match self.done.take() {
                Some(rx) => rx.await.unwrap_or_else(|_| {
                    Err(ContainerError::Connection(
                        "mock process vanished".to_string(),
                    ))
                }),
                None => Err(ContainerError::InvalidArgument(
                    "process already waited".to_string(),
                )),
            }
        })
    }

    fn send_signal<'a>(&'a mut self, signal: &'a str) -> BoxFuture<'a, Result<(), ContainerError>> {
        Box::pin(async move {
            let Some(num) = signal_number(signal) else {
                return Err(ContainerError::InvalidArgument(format!(
                    "invalid signal name {signal:?}"
                )));
            };
            if let Ok(mut h) = self.shared.history.lock()
                && let Some(r) = h.get_mut(self.shared.index)
            {
                r.signals.push(signal.to_string());
            }
            if let Ok(mut k) = self.shared.killed.lock()
                && k.is_none()
                && !matches!(num, 17 | 18 | 23 | 28)
            {
                *k = Some(num);
            }
            Ok(())
        })
    }
}

fn timeout_change(command: &[String], timeout: Option<Duration>) -> ContainerError {
    let t = timeout
        .map(pebble_client::go_duration)
        .unwrap_or_else(|| "0s".to_string());
    let err = format!(
        "cannot perform the following tasks:\n- Execute command {:?} (timed out after {t}: context deadline exceeded)",
        command.first().cloned().unwrap_or_default()
    );
    let change = pebble_api::ChangeInfo {
        id: "0".to_string(),
        kind: "exec".to_string(),
        summary: format!(
            "Execute command {:?}",
            command.first().cloned().unwrap_or_default()
        ),
        status: "Error".to_string(),
        ready: true,
        err: err.clone(),
        ..Default::default()
    };
    ContainerError::Change {
        err,
        change: Box::new(change),
    }
}

/// Starts a mocked process: records it in `history` and runs `handler` once stdin is complete.
pub(crate) fn start(
    command: Vec<String>,
    options: ExecOptions,
    handler: Handler,
    history: Arc<Mutex<Vec<ExecRecord>>>,
) -> ExecProcess {
    let record = ExecRecord::from_options(&command, &options);
    let index = {
        let mut h = match history.lock() {
            Ok(h) => h,
            Err(p) => p.into_inner(),
        };
        h.push(record.clone());
        h.len() - 1
    };
    let shared = Arc::new(Shared {
        history,
        index,
        killed: Mutex::new(None),
    });
    let (user_stdin, stdin_reader) = match &options.stdin {
        Some(_) => (None, None),
        None => {
            let (w, r) = tokio::io::duplex(PIPE);
            (Some(Box::pin(w) as ExecWriter), Some(r))
        }
    };
    let (mut out_w, out_r) = tokio::io::duplex(PIPE);
    let (err_w, err_r) = if options.combine_stderr {
        (None, None)
    } else {
        let (w, r) = tokio::io::duplex(PIPE);
        (Some(w), Some(Box::pin(r) as ExecReader))
    };
    let (tx, rx) = tokio::sync::oneshot::channel();
    let task_shared = shared.clone();
    let given_stdin = options.stdin.clone();
    let combine = options.combine_stderr;
    let timeout = options.timeout;
    tokio::spawn(async move {
        let mut stdin = given_stdin.unwrap_or_default();
        if let Some(mut r) = stdin_reader {
            let _ = r.read_to_end(&mut stdin).await;
        }
        let mut rec = record;
        rec.stdin = stdin.clone();
        if let Ok(mut h) = task_shared.history.lock()
            && let Some(r) = h.get_mut(task_shared.index)
        {
            r.stdin = stdin;
            rec.signals = r.signals.clone();
        }
        let killed = task_shared.killed.lock().ok().and_then(|k| *k);
        let result = match killed {
            Some(sig) => MockResult::exit(128 + sig),
            None => handler(&rec),
        };
        let write_out = async {
            let _ = out_w.write_all(&result.stdout).await;
            if combine {
                let _ = out_w.write_all(&result.stderr).await;
            }
            let _ = out_w.shutdown().await;
        };
        let write_err = async {
            if let Some(mut w) = err_w {
                let _ = w.write_all(&result.stderr).await;
                let _ = w.shutdown().await;
            }
        };
        tokio::join!(write_out, write_err);
        drop(out_w);
        let outcome = if result.timed_out {
            Err(timeout_change(&rec.command, timeout))
        } else {
            Ok(result.exit_code)
        };
        let _ = tx.send(outcome);
    });
    ExecProcess::new(
        command,
        user_stdin,
        Some(Box::pin(out_r)),
        err_r,
        Box::new(MockBackend {
            shared,
            done: Some(rx),
        }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mock(p: &[&str]) -> Mock {
        Mock {
            prefix: p.iter().map(|s| s.to_string()).collect(),
            handler: Arc::new(|_| MockResult::ok()),
        }
    }

    #[test]
    fn longest_prefix_wins() {
        let mocks = vec![mock(&[]), mock(&["ls"]), mock(&["ls", "-l"])];
        let cmd = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            find(&mocks, &cmd(&["ls", "-l", "/"])).map(|m| m.prefix.len()),
            Some(2)
        );
        assert_eq!(
            find(&mocks, &cmd(&["ls", "-a"])).map(|m| m.prefix.len()),
            Some(1)
        );
        assert_eq!(
            find(&mocks, &cmd(&["cat"])).map(|m| m.prefix.len()),
            Some(0)
        );
        assert!(find(&mocks[1..], &cmd(&["cat"])).is_none());
    }

    #[test]
    fn signal_names() {
        assert_eq!(signal_number("SIGTERM"), Some(15));
        assert_eq!(signal_number("hup"), None);
    }
}
