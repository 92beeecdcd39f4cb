//! Errors of the service manager; `Display` is exactly Pebble's message.

/// A service operation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ServiceError {
    /// The service is not in the plan.
    #[error("cannot find service {0:?} in plan")]
    NotFound(String),
    /// Start requested while the service is being stopped (`terminating` or `killing`).
    #[error("cannot start service while {0}")]
    StartWhile(&'static str),
    /// The process could not be started (exec error, user/group error, ...).
    #[error("cannot start service: {0}")]
    CannotStart(String),
    /// The service could not be prepared (command, user or group error): the bare message.
    #[error("{0}")]
    Prepare(String),
    /// The process exited within the okay delay; `action` is what happens next.
    #[error("service start attempt: exited quickly with code {code}, will {action}")]
    ExitedQuickly {
        /// Exit code.
        code: i32,
        /// The applied action (`restart`, `ignore`, `shutdown`, ...).
        action: &'static str,
    },
    /// A stop arrived while the start was still within the okay delay.
    #[error("service start attempt: stopped before the 1s okay delay")]
    StoppedEarly,
    /// The start was aborted (its future dropped) while starting.
    #[error("start aborted, sent SIGKILL to process")]
    StartAborted,
    /// The process survived SIGTERM and SIGKILL.
    #[error("cannot stop service: process still running after SIGTERM and SIGKILL")]
    StillRunning,
    /// Signal errors for one or more services, joined with `; `.
    #[error("{0}")]
    Signal(String),
}
