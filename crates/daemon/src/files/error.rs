//! File errors with Go Pebble's messages and kinds.
//!
//! Messages follow Go's `*os.PathError` (`<op> <path>: <errno text>`) and `*os.LinkError`
//! (`<op> <old> <new>: <errno text>`) formats, with Go's lower-case errno texts.

use pebble_api::{ErrorResult, kinds};
use std::io;

/// The error kind reported in per-path results and list errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileErrorKind {
    /// The path (or a parent) does not exist (`ENOENT`).
    NotFound,
    /// `EACCES` or `EPERM`.
    PermissionDenied,
    /// Anything else.
    Generic,
}

impl FileErrorKind {
    /// The wire name of the kind.
    pub fn as_str(self) -> &'static str {
        match self {
            FileErrorKind::NotFound => kinds::NOT_FOUND,
            FileErrorKind::PermissionDenied => kinds::PERMISSION_DENIED,
            FileErrorKind::Generic => kinds::GENERIC_FILE_ERROR,
        }
    }

    /// The HTTP status used when the error is a whole-response error (list).
    pub fn http_status(self) -> u16 {
        match self {
            FileErrorKind::NotFound => 404,
            FileErrorKind::PermissionDenied => 403,
            FileErrorKind::Generic => 400,
        }
    }

    fn from_errno(errno: i32) -> Self {
        match errno {
            libc::ENOENT => FileErrorKind::NotFound,
            libc::EACCES | libc::EPERM => FileErrorKind::PermissionDenied,
            _ => FileErrorKind::Generic,
        }
    }
}

/// A file operation error: the message Go Pebble would print and its kind.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct FileError {
    /// The kind (decides the `kind` field and, for list, the HTTP status).
    pub kind: FileErrorKind,
    /// The full message.
    pub message: String,
}

impl FileError {
    /// A generic-file-error with the given message.
    pub fn generic(message: impl Into<String>) -> Self {
        FileError {
            kind: FileErrorKind::Generic,
            message: message.into(),
        }
    }

    /// Go `*os.PathError`: `<op> <path>: <errno text>`.
    pub fn path(op: &str, path: &str, err: &io::Error) -> Self {
        let (kind, text) = errno_parts(err);
        FileError {
            kind,
            message: format!("{op} {path}: {text}"),
        }
    }

    /// Go `*os.PathError` from a raw errno.
    pub fn path_errno(op: &str, path: &str, errno: i32) -> Self {
        Self::path(op, path, &io::Error::from_raw_os_error(errno))
    }

    /// Go `*os.LinkError`: `<op> <old> <new>: <errno text>`.
    pub fn link(op: &str, old: &str, new: &str, err: &io::Error) -> Self {
        let (kind, text) = errno_parts(err);
        FileError {
            kind,
            message: format!("{op} {old} {new}: {text}"),
        }
    }

    /// Prefix the message (Go `fmt.Errorf("prefix: %w", err)`), keeping the kind.
    pub fn wrap(self, prefix: &str) -> Self {
        FileError {
            kind: self.kind,
            message: format!("{prefix}: {}", self.message),
        }
    }

    /// `paths must be absolute, got "<p>"`.
    pub fn not_absolute(path: &str) -> Self {
        Self::generic(format!("paths must be absolute, got {}", go_quote(path)))
    }

    /// The wire form of this error.
    pub fn to_result(&self) -> ErrorResult {
        ErrorResult {
            message: self.message.clone(),
            kind: self.kind.as_str().to_string(),
            value: None,
        }
    }
}

/// Go's text for an I/O error: the lower-case errno description, or the error's own text.
fn errno_parts(err: &io::Error) -> (FileErrorKind, String) {
    match err.raw_os_error() {
        Some(errno) => (FileErrorKind::from_errno(errno), errno_text(errno)),
        None => {
            let kind = match err.kind() {
                io::ErrorKind::NotFound => FileErrorKind::NotFound,
                io::ErrorKind::PermissionDenied => FileErrorKind::PermissionDenied,
                _ => FileErrorKind::Generic,
            };
            (kind, err.to_string())
        }
    }
}

/// Go's `syscall.Errno.Error()` text on Linux: glibc's description with a lower-case first letter.
pub fn errno_text(errno: i32) -> String {
    let desc = nix::errno::Errno::from_raw(errno).desc();
    let mut chars = desc.chars();
    match chars.next() {
        Some(first) if !desc.starts_with("I/O") => first.to_lowercase().chain(chars).collect(),
        _ => desc.to_string(),
    }
}

/// Go's `%q` for a string: double-quoted with Go escapes.
pub fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\u{b}' => out.push_str("\\v"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                out.push_str(&format!("\\x{:02x}", c as u32));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_errno_texts() {
        assert_eq!(errno_text(libc::ENOENT), "no such file or directory");
        assert_eq!(errno_text(libc::EEXIST), "file exists");
        assert_eq!(errno_text(libc::ENOTDIR), "not a directory");
        assert_eq!(errno_text(libc::ENOTEMPTY), "directory not empty");
        assert_eq!(errno_text(libc::EACCES), "permission denied");
        assert_eq!(errno_text(libc::EISDIR), "is a directory");
    }

    #[test]
    fn path_error_kinds() {
        let e = FileError::path_errno("stat", "/nope", libc::ENOENT);
        assert_eq!(e.message, "stat /nope: no such file or directory");
        assert_eq!(e.kind, FileErrorKind::NotFound);
        let e = FileError::path_errno("open", "/x", libc::EACCES);
        assert_eq!(e.kind, FileErrorKind::PermissionDenied);
        let e = FileError::link(
            "rename",
            "/a~",
            "/a",
            &io::Error::from_raw_os_error(libc::EEXIST),
        )
        .wrap("cannot create directory");
        assert_eq!(
            e.message,
            "cannot create directory: rename /a~ /a: file exists"
        );
        assert_eq!(e.kind, FileErrorKind::Generic);
    }

    #[test]
    fn quotes_like_go() {
        assert_eq!(go_quote(r#"a"b\c"#), r#""a\"b\\c""#);
        assert_eq!(go_quote("x\ny"), r#""x\ny""#);
    }
}
