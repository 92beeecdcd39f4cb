//! The `pebble run` entry points.
//!
//! - [`run`]: everything `pebble run` does (directories, socket, plan, `--args`, autostart,
//!   signals, shutdown) on a current-thread tokio runtime; returns the process exit code.
//! - [`serve`]: serve an already-created [`Daemon`] on a bound Unix listener until `shutdown`
//!   resolves (or a service action requests a shutdown), then stop services; used by `run` and
//!   by in-process tests.

use crate::http::server::{ServerCtx, serve_tcp, serve_unix};
use crate::overlord::{ActionError, Daemon, DaemonError, DaemonOptions, security_event};
use std::future::Future;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::time::Instant;
use tokio::net::{TcpListener, UnixListener};
use tokio::sync::watch;

/// How often old changes are pruned.
pub const PRUNE_INTERVAL: std::time::Duration = std::time::Duration::from_secs(600);

/// Default `$PEBBLE`.
pub const DEFAULT_PEBBLE_DIR: &str = "/var/lib/pebble/default";

/// Options of `pebble run` (filled by the CLI's parser; see [`RunOptions::from_env`]).
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// `$PEBBLE` (default `/var/lib/pebble/default`).
    pub pebble_dir: PathBuf,
    /// Socket path (`$PEBBLE_SOCKET`, default `$PEBBLE/.pebble.socket`); `None` = default.
    pub socket_path: Option<PathBuf>,
    /// `--create-dirs`: create `$PEBBLE` (mode 0700) if missing.
    pub create_dirs: bool,
    /// `--hold`: do not start default services.
    pub hold: bool,
    /// `--verbose` / `PEBBLE_VERBOSE=1`: copy service output to stdout.
    pub verbose: bool,
    /// `--http ADDR`: also serve open endpoints over plain HTTP.
    pub http_addr: Option<String>,
    /// `--args SVC ARGS... ;` (repeatable).
    pub args: Vec<(String, Vec<String>)>,
    /// Persist state (`PEBBLE_PERSIST=never` turns it off).
    pub persist: bool,
    /// `--identities FILE`: replace identities from this YAML file at startup.
    pub identities_file: Option<PathBuf>,
}

impl RunOptions {
    /// Options from the environment: `PEBBLE`, `PEBBLE_SOCKET`, `PEBBLE_VERBOSE`,
    /// `PEBBLE_PERSIST`. Flags are then set by the caller.
    pub fn from_env() -> RunOptions {
        let pebble_dir = std::env::var_os("PEBBLE")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(DEFAULT_PEBBLE_DIR));
        let socket_path = std::env::var_os("PEBBLE_SOCKET")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from);
        let verbose = std::env::var("PEBBLE_VERBOSE").is_ok_and(|v| v == "1");
        let persist = std::env::var("PEBBLE_PERSIST").map_or(true, |v| v != "never");
        RunOptions {
            pebble_dir,
            socket_path,
            verbose,
            persist,
            ..RunOptions::default()
        }
    }

    /// The socket path to use.
    pub fn socket(&self) -> PathBuf {
        self.socket_path
            .clone()
            .unwrap_or_else(|| self.pebble_dir.join(".pebble.socket"))
    }
}

/// Check `$PEBBLE`: absolute, existing, writable (creating it with `--create-dirs`).
pub fn check_pebble_dir(dir: &Path, create: bool) -> Result<(), DaemonError> {
    let shown = dir.display();
    if !dir.is_absolute() {
        return Err(DaemonError::Dir(format!(
            "directory \"{shown}\" must be absolute"
        )));
    }
    if create && !dir.exists() {
        let mut b = std::fs::DirBuilder::new();
        b.recursive(true);
        std::os::unix::fs::DirBuilderExt::mode(&mut b, 0o700);
        b.create(dir).map_err(|e| {
            DaemonError::Dir(format!(
                "cannot create directory \"{shown}\": {}",
                crate::sys::errno_text(&e)
            ))
        })?;
    }
    match std::fs::metadata(dir) {
        Ok(m) if m.is_dir() => {}
        _ => {
            return Err(DaemonError::Dir(format!(
                "directory \"{shown}\" does not exist"
            )));
        }
    }
    if nix::unistd::access(dir, nix::unistd::AccessFlags::W_OK).is_err() {
        return Err(DaemonError::Dir(format!(
            "directory \"{shown}\" not writable"
        )));
    }
    Ok(())
}

/// Bind the Unix socket: fail if something answers on it, remove a stale file, mode 0666.
pub fn bind_socket(path: &Path) -> Result<UnixListener, DaemonError> {
    let shown = path.display();
    let wrap =
        |msg: String| DaemonError::Listen(format!("when trying to listen on {shown}: {msg}"));
    if std::os::unix::net::UnixStream::connect(path).is_ok() {
        return Err(wrap(format!("socket \"{shown}\" already in use")));
    }
    if path.exists() {
        let _ = std::fs::remove_file(path);
    }
    let listener = UnixListener::bind(path).map_err(|e| wrap(crate::sys::errno_text(&e)))?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o666))
        .map_err(|e| wrap(crate::sys::errno_text(&e)))?;
    Ok(listener)
}

/// Serve `daemon` on `listener` until `shutdown` resolves or a service action asks the daemon
/// to exit; then stop the running services and return the exit code (0, or 10/11 as requested).
pub async fn serve(
    daemon: Daemon,
    listener: UnixListener,
    shutdown: impl Future<Output = ()>,
) -> Result<i32, DaemonError> {
    serve_with(daemon, listener, None, false, shutdown).await
}

/// [`serve`] with an optional plain-HTTP listener and the autostart of default services.
pub async fn serve_with(
    daemon: Daemon,
    listener: UnixListener,
    http: Option<TcpListener>,
    autostart: bool,
    shutdown: impl Future<Output = ()>,
) -> Result<i32, DaemonError> {
    serve_ready(daemon, listener, http, autostart, None, shutdown).await
}

/// Called once the daemon is ready (see [`Embedding::ready`]).
pub type ReadyHook = Box<dyn FnOnce() + Send>;

/// [`serve_with`], calling `ready` once the listeners serve and the autostart (if any) has
/// finished, successfully or not.
async fn serve_ready(
    daemon: Daemon,
    listener: UnixListener,
    http: Option<TcpListener>,
    autostart: bool,
    ready: Option<ReadyHook>,
    shutdown: impl Future<Output = ()>,
) -> Result<i32, DaemonError> {
    let ctx = Arc::new(ServerCtx {
        daemon: daemon.clone(),
        router: Arc::new(crate::http::handlers::router()),
    });
    let (stop_tx, stop_rx) = watch::channel(false);
    let unix_task = tokio::spawn(serve_unix(listener, ctx.clone(), stop_rx.clone()));
    let tcp_task = http.map(|l| tokio::spawn(serve_tcp(l, ctx.clone(), stop_rx.clone())));

    // Resume changes left pending by a previous run.
    daemon.runner().ensure();
    let pruner = {
        let state = daemon.state().clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(PRUNE_INTERVAL);
            tick.tick().await;
            loop {
                tick.tick().await;
                state.prune(
                    jiff::Timestamp::now(),
                    jiff::SignedDuration::from_hours(24 * 7),
                    1000,
                );
            }
        })
    };
    if autostart {
        let d = daemon.clone();
        tokio::spawn(async move {
            autostart_default_services(&d).await;
            if let Some(ready) = ready {
                ready();
            }
        });
    } else if let Some(ready) = ready {
        ready();
    }

    let mut svc_requests = daemon.services().shutdown_requests();
    let mut daemon_requests = daemon.shutdown_requests();
    let code = tokio::select! {
        _ = shutdown => 0,
        r = svc_requests.wait_for(|v| v.is_some()) => r.ok().and_then(|v| *v).unwrap_or(0),
        r = daemon_requests.wait_for(|v| v.is_some()) => r.ok().and_then(|v| *v).unwrap_or(0),
    };
    security_event(
        &format!("sys_shutdown:{}", daemon.uid()),
        "Shutting down daemon",
    );
    daemon.stop_running_services().await;
    pruner.abort();
    let _ = stop_tx.send(true);
    let _ = unix_task.await;
    if let Some(t) = tcp_task {
        let _ = t.await;
    }
    daemon.state().flush().await;
    Ok(code)
}

/// Autostart as `pebble run` does through its own client: log the two request lines, then
/// `Started default services with change N.` or `Cannot start default services: <err>`.
pub async fn autostart_default_services(daemon: &Daemon) {
    let start = Instant::now();
    match daemon.service_action("autostart", &[]) {
        Ok(ids) => {
            crate::pebble_log!(
                "POST /v1/services {} 202 (http+unix)",
                pebble_plan::GoDuration::from(start.elapsed())
            );
            let start = Instant::now();
            let info = daemon.state().wait_change_ready(ids.change).await;
            crate::pebble_log!(
                "GET /v1/changes/{}/wait {} 200 (http+unix)",
                ids.change,
                pebble_plan::GoDuration::from(start.elapsed())
            );
            match info {
                Some(c) if !c.err.is_empty() => {
                    crate::pebble_log!("Cannot start default services: {}", c.err)
                }
                _ => crate::pebble_log!("Started default services with change {}.", ids.change),
            }
        }
        Err(e) => {
            crate::pebble_log!(
                "POST /v1/services {} 400 (http+unix)",
                pebble_plan::GoDuration::from(start.elapsed())
            );
            let msg = match e {
                ActionError::NoDefaultServices => "no default services".to_string(),
                ActionError::BadRequest(m) => m,
            };
            crate::pebble_log!("Cannot start default services: {}", msg);
        }
    }
}

/// Resolve on SIGTERM, SIGINT or SIGQUIT, logging `Exiting on <name> signal.`.
pub async fn exit_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut term), Ok(mut int), Ok(mut quit)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
        signal(SignalKind::quit()),
    ) else {
        std::future::pending::<()>().await;
        return;
    };
    let name = tokio::select! {
        _ = term.recv() => "terminated",
        _ = int.recv() => "interrupt",
        _ = quit.recv() => "quit",
    };
    crate::pebble_log!("Exiting on {} signal.", name);
}

/// Hooks of a daemon run inside another command (`pebble enter`): see [`run_embedded`].
pub struct Embedding {
    /// Called once the socket is served and the autostart of default services (unless held)
    /// has finished, successfully or not.
    pub ready: ReadyHook,
    /// The daemon stops (services stopped, socket removed) when this resolves, as it does on
    /// an exit signal.
    pub stop: Pin<Box<dyn Future<Output = ()> + Send>>,
}

impl std::fmt::Debug for Embedding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Embedding").finish_non_exhaustive()
    }
}

async fn run_async(opts: RunOptions, embedding: Option<Embedding>) -> Result<i32, DaemonError> {
    check_pebble_dir(&opts.pebble_dir, opts.create_dirs)?;
    let daemon = Daemon::new(DaemonOptions {
        pebble_dir: opts.pebble_dir.clone(),
        persist: opts.persist,
        verbose: opts.verbose,
        http_address: opts.http_addr.clone(),
        spawner: None,
        users: None,
    })?;
    security_event(&format!("sys_startup:{}", daemon.uid()), "Starting daemon");
    let listener = bind_socket(&opts.socket())?;
    let http = match &opts.http_addr {
        Some(addr) => {
            let bind = if addr.starts_with(':') {
                format!("0.0.0.0{addr}")
            } else {
                addr.clone()
            };
            let l = TcpListener::bind(&bind).await.map_err(|e| {
                DaemonError::Listen(format!(
                    "cannot listen on {addr}: {}",
                    crate::sys::errno_text(&e)
                ))
            })?;
            Some(l)
        }
        None => None,
    };
    daemon.set_service_args(&opts.args)?;
    crate::pebble_log!("Started daemon.");
    if let Some(addr) = &opts.http_addr {
        crate::pebble_log!("HTTP API server listening on \"{}\".", addr);
    }
    if let Some(path) = &opts.identities_file
        && let Err(e) = crate::identities::seed_from_file(&daemon, path)
    {
        daemon.state().flush().await;
        let _ = std::fs::remove_file(opts.socket());
        return Err(DaemonError::Identities(e));
    }
    let (ready, stop) = match embedding {
        Some(e) => (Some(e.ready), Some(e.stop)),
        None => (None, None),
    };
    let shutdown = async move {
        match stop {
            Some(stop) => {
                tokio::select! {
                    _ = exit_signal() => {}
                    _ = stop => {}
                }
            }
            None => exit_signal().await,
        }
    };
    let code = serve_ready(daemon, listener, http, !opts.hold, ready, shutdown).await?;
    let _ = std::fs::remove_file(opts.socket());
    Ok(code)
}

/// Run the daemon as `pebble run` does; returns the exit code (1 with `cannot run daemon: ...`
/// on stderr for startup errors).
pub fn run(opts: RunOptions) -> i32 {
    run_inner(opts, None)
}

/// [`run`] for a daemon embedded in another command: `embedding.ready` is called once the
/// daemon is ready, and the daemon stops when `embedding.stop` resolves (or on an exit signal).
/// Blocks the calling thread (which gets its own current-thread runtime) until the daemon has
/// stopped; returns the exit code as [`run`] does.
pub fn run_embedded(opts: RunOptions, embedding: Embedding) -> i32 {
    run_inner(opts, Some(embedding))
}

fn run_inner(opts: RunOptions, embedding: Option<Embedding>) -> i32 {
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("cannot run daemon: {e}");
            return 1;
        }
    };
    match rt.block_on(run_async(opts, embedding)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("cannot run daemon: {e}");
            1
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn dir_checks() {
        assert_eq!(
            check_pebble_dir(Path::new("rel"), false)
                .unwrap_err()
                .to_string(),
            "directory \"rel\" must be absolute"
        );
        let t = tempfile::tempdir().unwrap();
        let missing = t.path().join("x");
        assert_eq!(
            check_pebble_dir(&missing, false).unwrap_err().to_string(),
            format!("directory \"{}\" does not exist", missing.display())
        );
        check_pebble_dir(&missing, true).unwrap();
        let mode = std::fs::metadata(&missing).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o700);
    }

    #[tokio::test]
    async fn socket_in_use() {
        let t = tempfile::tempdir().unwrap();
        let p = t.path().join("sock");
        let _l = bind_socket(&p).unwrap();
        let mode = std::fs::metadata(&p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o666);
        let err = bind_socket(&p).unwrap_err().to_string();
        assert_eq!(
            err,
            format!(
                "when trying to listen on {0}: socket \"{0}\" already in use",
                p.display()
            )
        );
    }
}
