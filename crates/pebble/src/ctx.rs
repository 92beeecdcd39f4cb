//! What every command gets: the API client, terminal facts and output helpers.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;

use pebble_client::Client;

/// Per-invocation context passed to commands.
#[derive(Debug, Clone)]
pub struct Ctx {
    /// API client for `$PEBBLE_SOCKET` / `$PEBBLE/.pebble.socket` (or `$PEBBLE_BASEURL`).
    pub client: Client,
    /// The Pebble directory (`$PEBBLE`).
    pub pebble_dir: PathBuf,
    /// Whether stdout is a terminal.
    pub stdout_tty: bool,
    /// Whether stdin is a terminal.
    pub stdin_tty: bool,
}

impl Ctx {
    /// The context from the environment.
    pub fn from_env() -> Self {
        Ctx {
            client: client_from_env(),
            pebble_dir: pebble_client::pebble_dir_from_env(),
            stdout_tty: std::io::stdout().is_terminal(),
            stdin_tty: std::io::stdin().is_terminal(),
        }
    }
}

/// The API client: plain HTTP to `$PEBBLE_BASEURL` when it is set, else the socket. An
/// unusable base URL (not `http://...`) is an error: exit code 1.
fn client_from_env() -> Client {
    let socket = pebble_client::socket_path_from_env();
    match std::env::var("PEBBLE_BASEURL") {
        Ok(url) if !url.is_empty() => match pebble_client::BaseUrl::parse(&url) {
            Ok(base) => Client::with_base_url(socket, base),
            Err(e) => {
                err(&format!("error: {e}\n"));
                std::process::exit(1);
            }
        },
        _ => Client::new(socket),
    }
}

/// Writes `s` to stdout and flushes (a closed pipe is ignored).
pub fn out(s: &str) {
    let mut o = std::io::stdout().lock();
    let _ = o.write_all(s.as_bytes());
    let _ = o.flush();
}

/// Writes `s` to stderr.
pub fn err(s: &str) {
    let mut e = std::io::stderr().lock();
    let _ = e.write_all(s.as_bytes());
    let _ = e.flush();
}
