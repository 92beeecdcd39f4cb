//! The CLI's error type and how errors are printed.

use crate::format::fill::fill;

/// The prefix of error lines on stderr.
pub const ERROR_PREFIX: &str = "error: ";

/// An error that ends a command.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// An error from the API client (API errors are word-wrapped like Pebble does).
    #[error("{}", client_error_message(.0))]
    Client(#[from] pebble_client::Error),
    /// A message printed as is after `error: `.
    #[error("{0}")]
    Msg(String),
    /// Exit with this code without printing anything more.
    #[error("exit status {0}")]
    Exit(i32),
}

impl CliError {
    /// A plain message error.
    pub fn msg(s: impl Into<String>) -> Self {
        CliError::Msg(s.into())
    }
}

impl From<std::io::Error> for CliError {
    fn from(e: std::io::Error) -> Self {
        CliError::Msg(pebble_client::errno_text(&e))
    }
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

/// The text printed for a client error: API errors get the kind-specific wording and are
/// wrapped to the terminal width with a hanging indent; other errors are printed as is.
pub fn client_error_message(e: &pebble_client::Error) -> String {
    match e {
        pebble_client::Error::Api { kind, message, .. } => {
            let msg = match kind.as_str() {
                "login-required" if !is_root() => format!("{message} (try with sudo)"),
                "no-default-services" => "no default services".to_string(),
                _ => message.clone(),
            };
            fill(&msg, ERROR_PREFIX.len())
        }
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_errors_use_message() {
        let e = CliError::from(pebble_client::Error::Api {
            code: 400,
            status: "Bad Request".into(),
            kind: String::new(),
            message: "layer \"base\" already exists".into(),
        });
        assert_eq!(e.to_string(), "layer \"base\" already exists");
    }

    #[test]
    fn no_default_services_wording() {
        let e = CliError::from(pebble_client::Error::Api {
            code: 400,
            status: "Bad Request".into(),
            kind: "no-default-services".into(),
            message: "whatever".into(),
        });
        assert_eq!(e.to_string(), "no default services");
    }

    #[test]
    fn change_errors_are_not_wrapped() {
        let long = "cannot perform the following tasks:\n- Start service \"quickfail\" (service start attempt: exited quickly with code 1, will restart)";
        let e = CliError::msg(long);
        assert_eq!(e.to_string(), long);
    }
}
