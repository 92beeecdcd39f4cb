//! The narrow interface through which managers write to the log of the task they run.

/// Where a running task writes its log entries (`INFO` and `ERROR` lines of a task).
pub trait TaskLog: Send + Sync {
    /// Append an `INFO` entry.
    fn info(&self, message: &str);
    /// Append an `ERROR` entry.
    fn error(&self, message: &str);
}

/// A task log that drops everything (for tests and internal operations).
#[derive(Debug, Default, Clone, Copy)]
pub struct NoTaskLog;

impl TaskLog for NoTaskLog {
    fn info(&self, _message: &str) {}
    fn error(&self, _message: &str) {}
}
