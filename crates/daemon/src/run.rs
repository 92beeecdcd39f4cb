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

/// How often old changes, notices and service records are pruned.
pub const PRUNE_INTERVAL: std::time::Duration = std::time::Duration::from_secs(600);

/// Stopped services whose status changed longer ago than this lose their record and logs.
pub const SERVICE_PRUNE_WAIT: std::time::Duration = std::time::Duration::from_secs(7 * 86_400);

/// At most this many stopped services keep their record and logs.
pub const SERVICE_PRUNE_MAX: usize = 100;

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
    /// `PEBBLE_COPY_ONCE`: a directory copied into `$PEBBLE` at startup when `$PEBBLE` is
    /// missing or empty (see [`copy_once`]).
    pub copy_once: Option<PathBuf>,
}

impl RunOptions {
    /// Options from the environment: `PEBBLE`, `PEBBLE_SOCKET`, `PEBBLE_VERBOSE`,
    /// `PEBBLE_PERSIST`, `PEBBLE_COPY_ONCE`. Flags are then set by the caller.
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
        let copy_once = std::env::var_os("PEBBLE_COPY_ONCE")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from);
        RunOptions {
            copy_once,
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

/// `PEBBLE_COPY_ONCE`: when `src` is a directory and `dest` is missing or empty, copy `src`
/// into `dest` recursively, keeping modes and symlinks (`dest` is created with `src`'s mode
/// when missing). Does nothing otherwise.
pub fn copy_once(src: &Path, dest: &Path) -> Result<(), DaemonError> {
    if !src.is_dir() {
        return Ok(());
    }
    match std::fs::read_dir(dest) {
        Ok(mut entries) => {
            if entries.next().is_some() {
                return Ok(());
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => {
            return Err(DaemonError::Dir(format!(
                "cannot read directory \"{}\": {}",
                dest.display(),
                crate::sys::errno_text(&e)
            )));
        }
    }
    copy_tree(src, dest).map_err(|e| {
        DaemonError::Dir(format!(
            "cannot copy \"{}\" to \"{}\": {}",
            src.display(),
            dest.display(),
            crate::sys::errno_text(&e)
        ))
    })
}

fn copy_tree(src: &Path, dest: &Path) -> std::io::Result<()> {
    let meta = std::fs::symlink_metadata(src)?;
    let ft = meta.file_type();
    if ft.is_symlink() {
        std::os::unix::fs::symlink(std::fs::read_link(src)?, dest)?;
    } else if ft.is_dir() {
        match std::fs::create_dir(dest) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && dest.is_dir() => {}
            Err(e) => return Err(e),
        }
        for entry in std::fs::read_dir(src)? {
            let entry = entry?;
            copy_tree(&entry.path(), &dest.join(entry.file_name()))?;
        }
        std::fs::set_permissions(dest, meta.permissions())?;
    } else {
        // Copies the permission bits too.
        std::fs::copy(src, dest)?;
    }
    Ok(())
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

/// The prune loop's clock: a timerfd in the daemon (no tokio timer pending at rest, see
/// [`crate::timerfd`]), tokio's interval where that fails and in tests (paused clock).
enum PruneTicks {
    TimerFd(crate::timerfd::PeriodicTimer),
    Tokio(tokio::time::Interval),
}

impl PruneTicks {
    /// Ticks every [`PRUNE_INTERVAL`], the first one an interval from now.
    fn new(timerfd: bool) -> PruneTicks {
        if timerfd && let Ok(t) = crate::timerfd::PeriodicTimer::new(PRUNE_INTERVAL) {
            return PruneTicks::TimerFd(t);
        }
        let start = tokio::time::Instant::now() + PRUNE_INTERVAL;
        PruneTicks::Tokio(tokio::time::interval_at(start, PRUNE_INTERVAL))
    }

    async fn tick(&mut self) {
        match self {
            PruneTicks::TimerFd(t) => {
                if t.tick().await.is_err() {
                    // Not expected of a timerfd; go on with tokio's clock.
                    *self = PruneTicks::new(false);
                }
            }
            PruneTicks::Tokio(i) => {
                i.tick().await;
            }
        }
    }
}

/// Every [`PRUNE_INTERVAL`] (first one interval after start): prune the state (changes, tasks,
/// notices; `start_of_operation` is the daemon start) and the records of stopped services.
async fn prune_loop(
    runner: crate::state::TaskRunner,
    services: Arc<crate::servstate::ServiceManager>,
    start_of_operation: jiff::Timestamp,
    mut ticks: PruneTicks,
) {
    loop {
        ticks.tick().await;
        runner.prune(
            start_of_operation,
            jiff::Timestamp::now(),
            &crate::state::PruneLimits::default(),
        );
        services.prune(
            std::time::SystemTime::now(),
            SERVICE_PRUNE_WAIT,
            SERVICE_PRUNE_MAX,
        );
    }
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
        hyper_only: false,
    });
    let (stop_tx, stop_rx) = watch::channel(false);
    let unix_task = tokio::spawn(serve_unix(listener, ctx.clone(), stop_rx.clone()));
    let tcp_task = http.map(|l| tokio::spawn(serve_tcp(l, ctx.clone(), stop_rx.clone())));

    // Resume changes left pending by a previous run.
    daemon.runner().ensure();
    let pruner = tokio::spawn(prune_loop(
        daemon.runner().clone(),
        daemon.services().clone(),
        jiff::Timestamp::now(),
        PruneTicks::new(true),
    ));
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
    crate::daemonlog::flush();
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
    if let Some(src) = &opts.copy_once {
        copy_once(src, &opts.pebble_dir)?;
    }
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

    #[tokio::test(start_paused = true)]
    async fn prune_loop_runs_every_ten_minutes() {
        use crate::state::{ChangeBuilder, State, Status, TaskRunner};
        crate::daemonlog::set_silent(true);
        let state = State::in_memory();
        let start = jiff::Timestamp::now() - jiff::SignedDuration::from_hours(24 * 30);
        let mut b = ChangeBuilder::new("replan", "Replan - no services");
        b.set_status(Status::Done);
        let id = state.add_change(b).change;
        state.modify(|d| {
            d.changes.get_mut(&id).unwrap().ready_time =
                Some(jiff::Timestamp::now() - jiff::SignedDuration::from_hours(24 * 8));
        });
        let services = crate::servstate::ServiceManager::new(
            crate::sys::FakeSpawner::new(),
            crate::servstate::ServiceManagerOptions {
                verbose: false,
                users: Arc::new(crate::users::FileUserDb::default()),
            },
        );
        let task = tokio::spawn(prune_loop(
            TaskRunner::new(state.clone()),
            services,
            start,
            PruneTicks::new(false),
        ));
        tokio::time::sleep(PRUNE_INTERVAL - std::time::Duration::from_secs(1)).await;
        assert!(
            state.lock().changes.contains_key(&id),
            "not before 10 minutes"
        );
        tokio::time::sleep(std::time::Duration::from_secs(2)).await;
        assert!(
            !state.lock().changes.contains_key(&id),
            "pruned at 10 minutes"
        );
        task.abort();
    }

    #[test]
    fn copy_once_copies_into_missing_or_empty_dirs_only() {
        use std::os::unix::fs::PermissionsExt;
        let t = tempfile::tempdir().unwrap();
        let src = t.path().join("src");
        std::fs::create_dir_all(src.join("layers/sub")).unwrap();
        std::fs::write(src.join("layers/001-a.yaml"), "summary: a\n").unwrap();
        std::fs::set_permissions(
            src.join("layers/001-a.yaml"),
            std::fs::Permissions::from_mode(0o640),
        )
        .unwrap();
        std::fs::set_permissions(
            src.join("layers/sub"),
            std::fs::Permissions::from_mode(0o711),
        )
        .unwrap();
        std::os::unix::fs::symlink("001-a.yaml", src.join("layers/link")).unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o7777;

        // Missing destination: created and filled.
        let dest = t.path().join("dest");
        copy_once(&src, &dest).unwrap();
        assert_eq!(
            std::fs::read_to_string(dest.join("layers/001-a.yaml")).unwrap(),
            "summary: a\n"
        );
        assert_eq!(mode(&dest.join("layers/001-a.yaml")), 0o640);
        assert_eq!(mode(&dest.join("layers/sub")), 0o711);
        assert_eq!(
            std::fs::read_link(dest.join("layers/link")).unwrap(),
            Path::new("001-a.yaml")
        );

        // Empty destination: filled.
        let empty = t.path().join("empty");
        std::fs::create_dir(&empty).unwrap();
        copy_once(&src, &empty).unwrap();
        assert!(empty.join("layers/001-a.yaml").exists());

        // Non-empty destination: untouched.
        let full = t.path().join("full");
        std::fs::create_dir(&full).unwrap();
        std::fs::write(full.join("x"), "").unwrap();
        copy_once(&src, &full).unwrap();
        assert!(!full.join("layers").exists());

        // Missing source: nothing happens.
        let none = t.path().join("none");
        copy_once(&t.path().join("nosuch"), &none).unwrap();
        assert!(!none.exists());
    }

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
