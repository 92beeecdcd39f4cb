//! The error type of the high-level container API.

use std::fmt;

use pebble_api::ChangeInfo;

/// Errors of [`crate::container::Workload`] calls, mirroring the exceptions of `ops.pebble`
/// (`APIError`, `ChangeError`, `ExecError`, `PathError`, `ProtocolError`, `ConnectionError`,
/// `TimeoutError`) plus `ops.ModelError` and the aggregated `MultiPushPullError`.
///
/// The fake container of `pebble-testing` fails with the same variants as the real
/// [`crate::container::Container`], so error handling can be unit-tested.
#[derive(Debug, thiserror::Error)]
pub enum ContainerError {
    /// The daemon answered with an error (HTTP status >= 400).
    #[error("{message}")]
    Api {
        /// HTTP status code (400, 404, 500, ...).
        code: u16,
        /// HTTP status text, e.g. `Bad Request`.
        status: String,
        /// Error kind (e.g. `not-found`, `no-default-services`; empty when none).
        kind: String,
        /// The daemon's message.
        message: String,
    },
    /// A change (service action, exec) finished with an error.
    #[error("{err}")]
    Change {
        /// The change's `err` text.
        err: String,
        /// The finished change.
        change: Box<ChangeInfo>,
    },
    /// A command exited with a non-zero exit code.
    #[error(transparent)]
    Exec(#[from] Box<ExecError>),
    /// A file operation failed for one path (`not-found`, `permission-denied`,
    /// `generic-file-error`).
    #[error("{message}")]
    Path {
        /// The error kind.
        kind: String,
        /// The daemon's message.
        message: String,
    },
    /// The daemon's answer broke the protocol.
    #[error("{0}")]
    Protocol(String),
    /// Pebble could not be reached (socket missing, refused, connection broken).
    #[error("{0}")]
    Connection(String),
    /// A wait deadline passed.
    #[error("{0}")]
    Timeout(String),
    /// A lookup in the model failed (e.g. `get_service` of a service not in the plan).
    #[error("{0}")]
    Model(String),
    /// An argument was rejected before anything was sent.
    #[error("{0}")]
    InvalidArgument(String),
    /// `push_path`/`pull_path` failed for some files (the others were copied).
    #[error("{}", multi_message(.0))]
    MultiPushPull(Vec<PushPullFailure>),
    /// A local I/O error (reading a push source, writing a pulled file).
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

fn multi_message(f: &[PushPullFailure]) -> String {
    let mut s = format!("failed to copy {} path(s):", f.len());
    for one in f {
        s.push_str(&format!(" {}: {};", one.path, one.error));
    }
    s
}

/// One failed path of `push_path`/`pull_path`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushPullFailure {
    /// The source path.
    pub path: String,
    /// What went wrong.
    pub error: String,
}

impl PushPullFailure {
    pub(crate) fn new(path: &std::path::Path, e: impl fmt::Display) -> Self {
        PushPullFailure {
            path: path.display().to_string(),
            error: e.to_string(),
        }
    }
}

impl ContainerError {
    /// The HTTP status code of an [`ContainerError::Api`] error.
    pub fn api_code(&self) -> Option<u16> {
        match self {
            ContainerError::Api { code, .. } => Some(*code),
            _ => None,
        }
    }

    /// The kind of an [`ContainerError::Api`] or [`ContainerError::Path`] error.
    pub fn kind(&self) -> Option<&str> {
        match self {
            ContainerError::Api { kind, .. } | ContainerError::Path { kind, .. } => Some(kind),
            _ => None,
        }
    }

    /// The exec failure, if this is an [`ContainerError::Exec`] error.
    pub fn as_exec(&self) -> Option<&ExecError> {
        match self {
            ContainerError::Exec(e) => Some(e),
            _ => None,
        }
    }

    /// A short name of the variant (`api`, `change`, `exec`, `path`, ...), handy in tests.
    pub fn variant(&self) -> &'static str {
        match self {
            ContainerError::Api { .. } => "api",
            ContainerError::Change { .. } => "change",
            ContainerError::Exec(_) => "exec",
            ContainerError::Path { .. } => "path",
            ContainerError::Protocol(_) => "protocol",
            ContainerError::Connection(_) => "connection",
            ContainerError::Timeout(_) => "timeout",
            ContainerError::Model(_) => "model",
            ContainerError::InvalidArgument(_) => "invalid-argument",
            ContainerError::MultiPushPull(_) => "multi-push-pull",
            ContainerError::Io(_) => "io",
        }
    }

    /// An API error with the standard status text for `code`.
    pub fn api(code: u16, kind: &str, message: impl Into<String>) -> Self {
        ContainerError::Api {
            code,
            status: pebble_api::status_text(code).to_string(),
            kind: kind.to_string(),
            message: message.into(),
        }
    }

    /// A per-path file error.
    pub fn path(kind: &str, message: impl Into<String>) -> Self {
        ContainerError::Path {
            kind: kind.to_string(),
            message: message.into(),
        }
    }
}

impl From<crate::Error> for ContainerError {
    fn from(e: crate::Error) -> Self {
        match e {
            // The files calls report per-path errors as API errors with code 200.
            crate::Error::Api {
                code: 200,
                kind,
                message,
                ..
            } => ContainerError::Path { kind, message },
            crate::Error::Api {
                code,
                status,
                kind,
                message,
            } => ContainerError::Api {
                code,
                status,
                kind,
                message,
            },
            crate::Error::Connection(m) => ContainerError::Connection(m),
            crate::Error::Protocol(m) => ContainerError::Protocol(m),
            crate::Error::Timeout(m) => ContainerError::Timeout(m),
            crate::Error::Change { err, change } => ContainerError::Change { err, change },
            #[allow(unreachable_patterns)]
            other => ContainerError::Protocol(other.to_string()),
        }
    }
}

/// A command exited with a non-zero exit code (`ops.pebble.ExecError`).
///
/// `stdout`/`stderr` hold the captured output when the process was waited with
/// [`crate::container::ExecProcess::wait_output`], and are empty after
/// [`crate::container::ExecProcess::wait`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecError {
    /// The command and its arguments.
    pub command: Vec<String>,
    /// The exit code (128 + signal number when killed by a signal).
    pub exit_code: i32,
    /// Captured standard output.
    pub stdout: Vec<u8>,
    /// Captured standard error.
    pub stderr: Vec<u8>,
}

impl ExecError {
    /// Standard output as text (invalid UTF-8 replaced).
    pub fn stdout_text(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }

    /// Standard error as text (invalid UTF-8 replaced).
    pub fn stderr_text(&self) -> String {
        String::from_utf8_lossy(&self.stderr).into_owned()
    }
}

const MAX_SHOWN: usize = 1024;

fn truncated(b: &[u8]) -> String {
    let s = String::from_utf8_lossy(b);
    if s.chars().count() > MAX_SHOWN {
        let cut: String = s.chars().take(MAX_SHOWN).collect();
        format!("{cut} [truncated]")
    } else {
        s.into_owned()
    }
}

impl fmt::Display for ExecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "non-zero exit code {} executing {:?}",
            self.exit_code, self.command
        )?;
        if !self.stdout.is_empty() {
            write!(f, ", stdout={:?}", truncated(&self.stdout))?;
        }
        if !self.stderr.is_empty() {
            write!(f, ", stderr={:?}", truncated(&self.stderr))?;
        }
        Ok(())
    }
}

impl std::error::Error for ExecError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exec_error_display_mentions_code_and_output() {
        let e = ExecError {
            command: vec!["cat".into(), "--bad-arg".into()],
            exit_code: 1,
            stdout: Vec::new(),
            stderr: b"cat: unrecognized option".to_vec(),
        };
        let s = e.to_string();
        assert!(
            s.starts_with(r#"non-zero exit code 1 executing ["cat", "--bad-arg"]"#),
            "{s}"
        );
        assert!(s.contains("unrecognized"), "{s}");
    }

    #[test]
    fn long_output_is_truncated() {
        let e = ExecError {
            command: vec!["x".into()],
            exit_code: 2,
            stdout: vec![b'a'; 5000],
            stderr: Vec::new(),
        };
        assert!(e.to_string().contains("[truncated]"));
        assert!(e.to_string().len() < 1200);
    }

    #[test]
    fn client_errors_convert() {
        let e: ContainerError = crate::Error::Api {
            code: 404,
            status: "Not Found".into(),
            kind: "not-found".into(),
            message: "stat /x: no such file or directory".into(),
        }
        .into();
        assert_eq!(e.api_code(), Some(404));
        assert_eq!(e.kind(), Some("not-found"));
        assert_eq!(e.variant(), "api");
    }
}
