//! The client's error type.

use pebble_api::ChangeInfo;

/// Errors returned by [`crate::Client`], mirroring the exceptions of the Python `ops` client.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The daemon answered with an error envelope (HTTP status >= 400).
    #[error("{message}")]
    Api {
        /// HTTP status code.
        code: u16,
        /// HTTP status text, e.g. `Bad Request`.
        status: String,
        /// Error kind, e.g. `no-default-services` (empty when the daemon sent none).
        kind: String,
        /// The daemon's message.
        message: String,
    },
    /// The daemon could not be reached, or the connection broke.
    #[error("cannot communicate with server: {0}")]
    Connection(String),
    /// The daemon's answer was not what the API promises (bad JSON, wrong content type, ...).
    #[error("{0}")]
    Protocol(String),
    /// A wait deadline passed.
    #[error("{0}")]
    Timeout(String),
    /// A change finished with an error.
    #[error("{err}")]
    Change {
        /// The change's `err` text (`cannot perform the following tasks: ...`).
        err: String,
        /// The finished change.
        change: Box<ChangeInfo>,
    },
}

impl Error {
    /// The API error kind, if this is an [`Error::Api`].
    pub fn kind(&self) -> Option<&str> {
        match self {
            Error::Api { kind, .. } => Some(kind),
            _ => None,
        }
    }

    /// The HTTP status code, if this is an [`Error::Api`].
    pub fn code(&self) -> Option<u16> {
        match self {
            Error::Api { code, .. } => Some(*code),
            _ => None,
        }
    }

    /// Builds a [`Error::Connection`] from a failed `connect(2)`, worded as Go's net package does:
    /// `dial unix <path>: connect: <errno text>`.
    pub(crate) fn dial_tcp(addr: &str, err: &std::io::Error) -> Error {
        Error::Connection(format!("dial tcp {addr}: connect: {}", errno_text(err)))
    }

    pub(crate) fn dial(path: &std::path::Path, err: &std::io::Error) -> Error {
        Error::Connection(format!(
            "dial unix {}: connect: {}",
            path.display(),
            errno_text(err)
        ))
    }
}

/// The text of an I/O error in Go's style: lowercase, without Rust's ` (os error N)` suffix.
pub fn errno_text(err: &std::io::Error) -> String {
    let s = err.to_string();
    let s = match s.find(" (os error ") {
        Some(i) => s[..i].to_string(),
        None => s,
    };
    let mut chars = s.chars();
    match chars.next() {
        Some(c) => c.to_lowercase().collect::<String>() + chars.as_str(),
        None => s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errno_text_is_go_like() {
        let e = std::io::Error::from_raw_os_error(2);
        assert_eq!(errno_text(&e), "no such file or directory");
        let e = std::io::Error::from_raw_os_error(111);
        assert_eq!(errno_text(&e), "connection refused");
    }

    #[test]
    fn dial_error_message() {
        let e = Error::dial(
            std::path::Path::new("/x/.pebble.socket"),
            &std::io::Error::from_raw_os_error(2),
        );
        assert_eq!(
            e.to_string(),
            "cannot communicate with server: dial unix /x/.pebble.socket: connect: no such file or directory"
        );
    }
}
