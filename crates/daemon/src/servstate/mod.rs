//! The service manager (Pebble's `internals/overlord/servstate`): the per-service state machine,
//! start/stop with the okay delay and kill escalation, exit actions, backoff, signals, replan.
//!
//! All process interaction goes through a [`Spawner`] so the state machine runs on tokio's
//! paused clock in tests. Timers and exit watchers are tokio tasks that call back into the
//! manager with the *generation* of the process they belong to; stale callbacks are ignored.

mod errors;

pub use errors::ServiceError;

use std::collections::HashMap;
use std::ffi::OsString;
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::{Duration, SystemTime};

use nix::sys::signal::Signal;
use pebble_plan::{Plan, Service, ServiceAction};
use tokio::io::AsyncReadExt;
use tokio::sync::{oneshot, watch};
use tokio::task::AbortHandle;

use crate::logs::{LogRing, LogWriter};
use crate::pebble_log;
use crate::sys::{OutputReader, SpawnSpec, Spawner};
use crate::tasklog::TaskLog;
use crate::users::UserDb;

/// A started process must stay up this long for its start to succeed.
pub const OKAY_DELAY: Duration = Duration::from_secs(1);
/// SIGTERM to SIGKILL delay when the service sets no `kill-delay`.
pub const DEFAULT_KILL_DELAY: Duration = Duration::from_secs(5);
/// After SIGKILL, how long to wait before giving up on the process.
pub const FAIL_DELAY: Duration = Duration::from_secs(5);
/// Default `backoff-delay`.
pub const DEFAULT_BACKOFF_DELAY: Duration = Duration::from_millis(500);
/// Default `backoff-factor`.
pub const DEFAULT_BACKOFF_FACTOR: f64 = 2.0;
/// Default `backoff-limit`.
pub const DEFAULT_BACKOFF_LIMIT: Duration = Duration::from_secs(30);
/// Lines of recent output copied into the log of a failed start task.
pub const LAST_LOG_LINES: usize = 20;

/// Daemon exit code requested by a success shutdown.
pub const EXIT_SUCCESS: i32 = 0;
/// Daemon exit code requested by a service failure shutdown.
pub const EXIT_SERVICE_FAILURE: i32 = 10;
/// Daemon exit code requested by a check failure shutdown.
pub const EXIT_CHECK_FAILURE: i32 = 11;

/// Options of the [`ServiceManager`].
#[derive(Clone)]
pub struct ServiceManagerOptions {
    /// Copy service output to the daemon's stdout (`--verbose`).
    pub verbose: bool,
    /// User and group database (for `user`/`group` of services).
    pub users: Arc<dyn UserDb>,
}

impl std::fmt::Debug for ServiceManagerOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceManagerOptions")
            .field("verbose", &self.verbose)
            .finish_non_exhaustive()
    }
}

/// Internal state of a service (see Pebble's state machine).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// About to start.
    Initial,
    /// Process running, within the okay delay.
    Starting,
    /// Process running.
    Running,
    /// SIGTERM sent, waiting up to kill-delay.
    Terminating,
    /// SIGKILL sent, waiting up to the fail delay.
    Killing,
    /// Stopped by the user (or exited 0 with `ignore`).
    Stopped,
    /// Waiting to restart.
    Backoff,
    /// Exited and will not be restarted.
    Exited,
}

impl State {
    /// The API status (`current` field) of this state.
    pub fn status(self) -> &'static str {
        match self {
            State::Starting | State::Running => "active",
            State::Terminating | State::Killing | State::Stopped => "inactive",
            State::Backoff => "backoff",
            State::Initial | State::Exited => "error",
        }
    }
}

/// One entry of [`ServiceManager::services`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceStatus {
    /// Service name.
    pub name: String,
    /// `enabled` or `disabled`.
    pub startup: String,
    /// `active`, `inactive`, `backoff` or `error`.
    pub current: &'static str,
    /// When `current` last changed; `None` if never started.
    pub current_since: Option<SystemTime>,
}

/// A service's `startup` as the API shows it: `enabled`, or `disabled` for anything else.
fn startup_str(startup: &str) -> &'static str {
    if startup == "enabled" {
        "enabled"
    } else {
        "disabled"
    }
}

/// A [`ServiceStatus`] borrowed from the manager (see [`ServiceManager::services_with`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServiceStatusRef<'a> {
    /// Service name.
    pub name: &'a str,
    /// `enabled` or `disabled`.
    pub startup: &'static str,
    /// `active`, `inactive`, `backoff` or `error`.
    pub current: &'static str,
    /// When `current` last changed; `None` if never started.
    pub current_since: Option<SystemTime>,
    /// `current_since` as the API shows it (RFC 3339 in the local zone, Go's trimmed
    /// fraction), made once per change.
    pub current_since_text: Option<&'a str>,
}

/// The plan's services, sorted by name, with their status (see
/// [`ServiceManager::services_with`]).
pub struct ServiceStatusIter<'a> {
    inner: &'a Inner,
    names: &'a [String],
    order: std::slice::Iter<'a, usize>,
}

impl<'a> Iterator for ServiceStatusIter<'a> {
    type Item = ServiceStatusRef<'a>;

    fn next(&mut self) -> Option<ServiceStatusRef<'a>> {
        for &i in self.order.by_ref() {
            let Some((_, s)) = self.inner.plan.services.get_index(i) else {
                continue;
            };
            if !self.names.is_empty() && !self.names.contains(&s.name) {
                continue;
            }
            let data = self.inner.services.get(&s.name);
            return Some(ServiceStatusRef {
                name: &s.name,
                startup: startup_str(&s.startup),
                current: data.map_or("inactive", |d| d.state.status()),
                current_since: data.map(|d| d.since),
                current_since_text: data.map(ServiceData::since_text),
            });
        }
        None
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (0, Some(self.order.len()))
    }
}

/// One entry of [`ServiceManager::metrics`]: a service started at least once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceMetrics {
    /// Service name.
    pub name: String,
    /// Whether the service is `active` (starting or running).
    pub active: bool,
    /// How many times a process of this service was started since the daemon started.
    pub start_count: u64,
}

/// How a pending start ended (sent from the state machine to the `start` future).
#[derive(Debug)]
enum StartOutcome {
    Running,
    ExitedQuickly { code: i32, action: &'static str },
    StoppedEarly,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TimerKind {
    Okay,
    KillDelay,
    FailDelay,
    Backoff,
}

struct ServiceData {
    config: Service,
    state: State,
    since: SystemTime,
    /// `since` as the API shows it, made when first asked for.
    since_text: std::cell::OnceCell<String>,
    backoff_num: u32,
    backoff_time: Duration,
    pid: Option<i32>,
    generation: u64,
    /// Processes started so far (`pebble_service_start_count`).
    start_count: u64,
    ring: Arc<LogRing>,
    start_tx: Option<oneshot::Sender<StartOutcome>>,
    stop_txs: Vec<oneshot::Sender<Result<(), ServiceError>>>,
    restarting: bool,
    timer: Option<AbortHandle>,
    /// When the backoff counters reset if the process is running then (`backoff-limit` after
    /// it was spawned). Checked when it exits, instead of a timer pending for every service.
    reset_due: Option<tokio::time::Instant>,
    /// When the current process entered `Running`.
    running_from: Option<tokio::time::Instant>,
}

impl ServiceData {
    fn new(config: Service) -> Self {
        let ring = LogRing::new(&config.name);
        ServiceData {
            config,
            state: State::Initial,
            since: SystemTime::now(),
            since_text: std::cell::OnceCell::new(),
            backoff_num: 0,
            backoff_time: Duration::ZERO,
            pid: None,
            generation: 0,
            start_count: 0,
            ring,
            start_tx: None,
            stop_txs: Vec::new(),
            restarting: false,
            timer: None,
            reset_due: None,
            running_from: None,
        }
    }

    fn set_state(&mut self, state: State) {
        if state.status() != self.state.status() {
            self.set_since(SystemTime::now());
        }
        if state != State::Running {
            self.running_from = None;
        } else if self.state != State::Running {
            self.running_from = Some(tokio::time::Instant::now());
        }
        self.state = state;
    }

    /// Reset the backoff counters if the process that exits now was running at its
    /// [`ServiceData::reset_due`] time, as Pebble's reset timer would have done then.
    fn reset_backoff_if_due(&mut self) {
        let now = tokio::time::Instant::now();
        if let (Some(due), Some(from)) = (self.reset_due, self.running_from)
            && from <= due
            && due <= now
        {
            self.backoff_num = 0;
            self.backoff_time = Duration::ZERO;
        }
    }

    fn set_since(&mut self, since: SystemTime) {
        self.since = since;
        self.since_text = std::cell::OnceCell::new();
    }

    fn since_text(&self) -> &str {
        self.since_text.get_or_init(|| {
            jiff::Timestamp::try_from(self.since)
                .map(crate::timefmt::rfc3339_nano)
                .unwrap_or_default()
        })
    }

    fn cancel_timer(&mut self) {
        if let Some(t) = self.timer.take() {
            t.abort();
        }
    }

    fn kill_delay(&self) -> Duration {
        self.config
            .kill_delay
            .map(|d| d.0)
            .filter(|d| !d.is_zero())
            .unwrap_or(DEFAULT_KILL_DELAY)
    }
}

struct Inner {
    /// Bumped whenever the state may have changed (each [`ServiceManager::lock`]).
    version: u64,
    /// [`ServiceManager::full_list_rendered`]'s last rendering, and the version it shows.
    rendered: Option<(u64, bytes::Bytes)>,
    plan: Arc<Plan>,
    /// Indexes of `plan.services`, in the order of their names.
    by_name: Vec<usize>,
    services: HashMap<String, ServiceData>,
}

/// The service manager (see the module docs).
pub struct ServiceManager {
    me: Weak<ServiceManager>,
    spawner: Arc<dyn Spawner>,
    opts: ServiceManagerOptions,
    inner: Mutex<Inner>,
    shutdown_tx: watch::Sender<Option<i32>>,
}

impl std::fmt::Debug for ServiceManager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceManager").finish_non_exhaustive()
    }
}

/// Cancels a pending start if the `start` future is dropped while `starting`.
struct StartGuard<'a> {
    mgr: &'a ServiceManager,
    name: &'a str,
    generation: u64,
    armed: bool,
}

impl Drop for StartGuard<'_> {
    fn drop(&mut self) {
        if self.armed {
            self.mgr.abort_start(self.name, self.generation);
        }
    }
}

/// Build argv from a service's command (base arguments plus the default `[ ... ]` arguments).
fn command_argv(svc: &Service) -> Result<Vec<String>, String> {
    svc.argv().map_err(|e| e.to_string())
}

impl ServiceManager {
    /// A manager spawning processes through `spawner`.
    pub fn new(spawner: Arc<dyn Spawner>, opts: ServiceManagerOptions) -> Arc<ServiceManager> {
        let (shutdown_tx, _) = watch::channel(None);
        Arc::new_cyclic(|me| ServiceManager {
            me: me.clone(),
            spawner,
            opts,
            inner: Mutex::new(Inner {
                version: 0,
                rendered: None,
                plan: Arc::new(Plan::default()),
                by_name: Vec::new(),
                services: HashMap::new(),
            }),
            shutdown_tx,
        })
    }

    /// The state, for any use: the holder may change it, so renderings made before are stale.
    fn lock(&self) -> MutexGuard<'_, Inner> {
        let mut inner = self.lock_read();
        inner.version = inner.version.wrapping_add(1);
        inner
    }

    /// The state, to read it without changing it.
    fn lock_read(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Use `plan` from now on (running services are not restarted; see [`Self::replan_lists`]).
    pub fn set_plan(&self, plan: Arc<Plan>) {
        let mut by_name: Vec<usize> = (0..plan.services.len()).collect();
        by_name.sort_unstable_by(|&a, &b| {
            let name = |i| plan.services.get_index(i).map(|(n, _)| n);
            name(a).cmp(&name(b))
        });
        let mut inner = self.lock();
        inner.plan = plan;
        inner.by_name = by_name;
    }

    /// Receiver of daemon shutdown requests made by service actions: `Some(exit code)`.
    pub fn shutdown_requests(&self) -> watch::Receiver<Option<i32>> {
        self.shutdown_tx.subscribe()
    }

    fn request_shutdown(&self, code: i32) {
        self.shutdown_tx.send_if_modified(|cur| {
            if cur.is_none() {
                *cur = Some(code);
                true
            } else {
                false
            }
        });
    }

    /// Start service `name`; resolves once it has stayed up for the okay delay (or failed).
    ///
    /// Cancel-safe: dropping the future while the service is `starting` sends SIGKILL to its
    /// process group and marks it stopped (report [`ServiceError::StartAborted`]).
    pub async fn start(&self, name: &str, log: &dyn TaskLog) -> Result<(), ServiceError> {
        let (rx, generation) = {
            let mut inner = self.lock();
            // The config as it runs: with its workload's environment and identity.
            let Some(config) = inner.plan.resolved_service(name) else {
                return Err(ServiceError::NotFound(name.to_string()));
            };
            let data = inner
                .services
                .entry(name.to_string())
                .or_insert_with(|| ServiceData::new(config.clone()));
            match data.state {
                State::Initial | State::Starting | State::Running if data.generation > 0 => {
                    // Deliberate difference (docs/compatibility.md, item 17): Pebble copies the
                    // current plan config here although the process keeps running with the old
                    // one, so a later replan would not restart it. We keep the config the
                    // process was started with, so the next replan restarts it.
                    log.info(&format!("Service {name:?} already started."));
                    return Ok(());
                }
                State::Terminating => return Err(ServiceError::StartWhile("terminating")),
                State::Killing => return Err(ServiceError::StartWhile("killing")),
                _ => {}
            }
            data.config = config;
            data.backoff_num = 0;
            data.backoff_time = Duration::ZERO;
            data.restarting = false;
            data.cancel_timer();
            data.set_state(State::Initial);
            if let Err(e) = self.spawn_process(name, data) {
                data.set_state(State::Stopped);
                return Err(e);
            }
            data.set_state(State::Starting);
            self.arm_timer(name, data, OKAY_DELAY, TimerKind::Okay);
            let (tx, rx) = oneshot::channel();
            data.start_tx = Some(tx);
            (rx, data.generation)
        };
        let mut guard = StartGuard {
            mgr: self,
            name,
            generation,
            armed: true,
        };
        let outcome = rx.await;
        guard.armed = false;
        match outcome {
            Ok(StartOutcome::Running) => Ok(()),
            Ok(StartOutcome::ExitedQuickly { code, action }) => {
                self.log_recent_output(name, log);
                Err(ServiceError::ExitedQuickly { code, action })
            }
            Ok(StartOutcome::StoppedEarly) => {
                self.log_recent_output(name, log);
                Err(ServiceError::StoppedEarly)
            }
            Err(_) => Err(ServiceError::StartAborted),
        }
    }

    fn log_recent_output(&self, name: &str, log: &dyn TaskLog) {
        let Some(ring) = self.log_ring(name) else {
            return;
        };
        let entries = ring.last_entries(Some(LAST_LOG_LINES + 1));
        if entries.is_empty() {
            return;
        }
        let mut text = String::from("Most recent service output:");
        let skip = if entries.len() > LAST_LOG_LINES {
            text.push_str("\n    (...)");
            1
        } else {
            0
        };
        for e in &entries[skip..] {
            text.push_str("\n    ");
            text.push_str(&e.message);
        }
        log.info(&text);
    }

    /// The `start` future was dropped while pending: SIGKILL the group and mark stopped.
    fn abort_start(&self, name: &str, generation: u64) {
        let mut inner = self.lock();
        let Some(data) = inner.services.get_mut(name) else {
            return;
        };
        if data.generation != generation || data.state != State::Starting {
            return;
        }
        data.start_tx = None;
        if let Some(pid) = data.pid {
            let _ = self.spawner.kill_group(pid, Signal::SIGKILL);
        }
        data.cancel_timer();
        data.set_state(State::Stopped);
    }

    /// Stop service `name` (SIGTERM to its group, SIGKILL after kill-delay).
    pub async fn stop(&self, name: &str, log: &dyn TaskLog) -> Result<(), ServiceError> {
        let rx = {
            let mut inner = self.lock();
            let Some(data) = inner.services.get_mut(name) else {
                log.info(&format!("Service {name:?} has never been started."));
                return Ok(());
            };
            match data.state {
                State::Starting | State::Running => {
                    if let Some(tx) = data.start_tx.take() {
                        let _ = tx.send(StartOutcome::StoppedEarly);
                    }
                    self.signal_group(data, Signal::SIGTERM);
                    data.set_state(State::Terminating);
                    let delay = data.kill_delay();
                    self.arm_timer(name, data, delay, TimerKind::KillDelay);
                    let (tx, rx) = oneshot::channel();
                    data.stop_txs.push(tx);
                    rx
                }
                State::Terminating | State::Killing => {
                    log.info(&format!("Service {name:?} already stopping."));
                    return Ok(());
                }
                State::Backoff => {
                    data.cancel_timer();
                    data.set_state(State::Stopped);
                    pebble_log!("Service {:?} stopped while waiting for backoff", name);
                    return Ok(());
                }
                State::Stopped | State::Initial => {
                    log.info(&format!("Service {name:?} already stopped."));
                    return Ok(());
                }
                State::Exited => {
                    data.set_state(State::Stopped);
                    log.info(&format!("Service {name:?} had already exited."));
                    return Ok(());
                }
            }
        };
        rx.await.unwrap_or(Ok(()))
    }

    /// Status of the plan's services (all if `names` is empty), sorted by name; unknown names
    /// are omitted.
    pub fn services(&self, names: &[String]) -> Vec<ServiceStatus> {
        self.services_with(names, |list| {
            list.map(|s| ServiceStatus {
                name: s.name.to_string(),
                startup: s.startup.to_string(),
                current: s.current,
                current_since: s.current_since,
            })
            .collect()
        })
    }

    /// [`Self::services`] without copying: `f` goes through the list, sorted by name, under the
    /// manager's lock (so `f` must not call back into the manager).
    pub fn services_with<R>(
        &self,
        names: &[String],
        f: impl FnOnce(ServiceStatusIter<'_>) -> R,
    ) -> R {
        let inner = self.lock_read();
        f(ServiceStatusIter {
            inner: &inner,
            names,
            order: inner.by_name.iter(),
        })
    }

    /// What `render` makes of the whole list (as [`Self::services_with`] with no names), made
    /// again only once the state has changed since the last call: clients poll the list. One
    /// caller only (`GET /v1/services`): the rendering is kept whatever made it.
    pub fn full_list_rendered(
        &self,
        render: impl FnOnce(ServiceStatusIter<'_>) -> bytes::Bytes,
    ) -> bytes::Bytes {
        let mut inner = self.lock_read();
        if let Some((version, bytes)) = &inner.rendered
            && *version == inner.version
        {
            return bytes.clone();
        }
        let bytes = render(ServiceStatusIter {
            inner: &inner,
            names: &[],
            order: inner.by_name.iter(),
        });
        inner.rendered = Some((inner.version, bytes.clone()));
        bytes
    }

    /// Metrics of every service the manager has tried to start (whether or not it is still in
    /// the plan), sorted by name.
    pub fn metrics(&self) -> Vec<ServiceMetrics> {
        let inner = self.lock();
        let mut out: Vec<ServiceMetrics> = inner
            .services
            .iter()
            .map(|(name, d)| ServiceMetrics {
                name: name.clone(),
                active: d.state.status() == "active",
                start_count: d.start_count,
            })
            .collect();
        out.sort_by(|a, b| a.name.cmp(&b.name));
        out
    }

    /// Replan: services whose stored config differs from the plan get the new config and are
    /// returned in `to_stop`; `to_start` = those plus every `startup: enabled` service. Both
    /// sorted; the caller applies stop/start ordering (`requires` closures).
    pub fn replan_lists(&self) -> (Vec<String>, Vec<String>) {
        let mut inner = self.lock();
        let plan = inner.plan.clone();
        let mut restart = Vec::new();
        for (name, data) in inner.services.iter_mut() {
            // Compared with its workload resolved, so a changed workload restarts it too.
            let Some(config) = plan.resolved_service(name) else {
                continue;
            };
            if config != data.config {
                data.config = config;
                restart.push(name.clone());
            }
        }
        restart.sort();
        let mut start = restart.clone();
        for s in plan.services.values() {
            if s.startup == "enabled" && !start.contains(&s.name) {
                start.push(s.name.clone());
            }
        }
        start.sort();
        (restart, start)
    }

    /// Send `signal` (e.g. `SIGHUP`) to the main process of each named service.
    pub fn send_signal(&self, names: &[String], signal: &str) -> Result<(), ServiceError> {
        let inner = self.lock();
        let mut errors = Vec::new();
        for name in names {
            let running = inner
                .services
                .get(name)
                .filter(|d| matches!(d.state, State::Starting | State::Running))
                .and_then(|d| d.pid);
            let Some(pid) = running else {
                errors.push(format!(
                    "cannot send signal to {name:?}: service is not running"
                ));
                continue;
            };
            let Some(sig) = parse_signal(signal) else {
                errors.push(format!(
                    "cannot send signal to {name:?}: invalid signal name {signal:?}"
                ));
                continue;
            };
            pebble_log!("Sending {} to service {:?}", signal, name);
            if let Err(e) = self.spawner.kill(pid, sig) {
                errors.push(format!(
                    "cannot send signal to {name:?}: {}",
                    crate::sys::errno_text(&e)
                ));
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(ServiceError::Signal(errors.join("; ")))
        }
    }

    /// Services that are starting, running or in backoff (what a daemon shutdown stops).
    pub fn active_services(&self) -> Vec<String> {
        let inner = self.lock();
        let mut v: Vec<String> = inner
            .services
            .iter()
            .filter(|(_, d)| matches!(d.state, State::Starting | State::Running | State::Backoff))
            .map(|(n, _)| n.clone())
            .collect();
        v.sort();
        v
    }

    /// The kill-delay of a started service (default 5 s), for shutdown timeouts.
    pub fn kill_delay(&self, name: &str) -> Duration {
        self.lock()
            .services
            .get(name)
            .map_or(DEFAULT_KILL_DELAY, |d| d.kill_delay())
    }

    /// The output ring of a service that has been started at least once.
    pub fn log_ring(&self, name: &str) -> Option<Arc<LogRing>> {
        self.lock().services.get(name).map(|d| d.ring.clone())
    }

    /// Every service's output ring, sorted by service name.
    pub fn log_rings(&self) -> Vec<(String, Arc<LogRing>)> {
        let inner = self.lock();
        let mut v: Vec<_> = inner
            .services
            .iter()
            .map(|(n, d)| (n.clone(), d.ring.clone()))
            .collect();
        v.sort_by(|a, b| a.0.cmp(&b.0));
        v
    }

    /// Drop the records (state, start count and output ring) of stopped services whose status
    /// changed more than `prune_wait` before `now`, then, while more than `max_inactive` stopped
    /// services remain, those that stopped first (Pebble's 10-minute service prune: 7 days,
    /// 100). A pruned service shows as `inactive` and never started. Returns how many went.
    pub fn prune(&self, now: SystemTime, prune_wait: Duration, max_inactive: usize) -> usize {
        let limit = now
            .checked_sub(prune_wait)
            .unwrap_or(SystemTime::UNIX_EPOCH);
        let mut inner = self.lock();
        let before = inner.services.len();
        // Only fully stopped services: terminating/killing ones still own timers and a process.
        inner
            .services
            .retain(|_, d| !(d.state == State::Stopped && d.since < limit));
        let mut stopped: Vec<(SystemTime, String)> = inner
            .services
            .iter()
            .filter(|(_, d)| d.state == State::Stopped)
            .map(|(n, d)| (d.since, n.clone()))
            .collect();
        if stopped.len() > max_inactive {
            stopped.sort();
            let excess = stopped.len() - max_inactive;
            for (_, name) in stopped.into_iter().take(excess) {
                inner.services.remove(&name);
            }
        }
        before - inner.services.len()
    }

    /// A health check reached its failure threshold: apply `on-check-failure` actions.
    pub fn check_failed(&self, check: &str) {
        let mut inner = self.lock();
        let mut names: Vec<String> = inner.services.keys().cloned().collect();
        names.sort();
        for name in names {
            let Some(data) = inner.services.get_mut(&name) else {
                continue;
            };
            let Some(&action) = data.config.on_check_failure.get(check) else {
                continue;
            };
            if !matches!(data.state, State::Running | State::Backoff | State::Exited) {
                continue;
            }
            let an = pebble_plan::action_str(action);
            match action {
                // Pebble only logs this at debug level.
                ServiceAction::Ignore => {}
                ServiceAction::Shutdown | ServiceAction::FailureShutdown => {
                    pebble_log!(
                        "Service {:?} on-check-failure action is {:?}, triggering failure shutdown",
                        name,
                        an
                    );
                    self.request_shutdown(EXIT_CHECK_FAILURE);
                }
                ServiceAction::SuccessShutdown => {
                    pebble_log!(
                        "Service {:?} on-check-failure action is {:?}, triggering success shutdown",
                        name,
                        an
                    );
                    self.request_shutdown(EXIT_SUCCESS);
                }
                ServiceAction::Restart => match data.state {
                    State::Running => {
                        pebble_log!(
                            "Service {:?} on-check-failure action is \"restart\", terminating process before restarting",
                            name
                        );
                        self.signal_group(data, Signal::SIGTERM);
                        data.restarting = true;
                        data.set_state(State::Terminating);
                        let delay = data.kill_delay();
                        self.arm_timer(&name, data, delay, TimerKind::KillDelay);
                    }
                    State::Backoff => {
                        pebble_log!(
                            "Service {:?} on-check-failure action is \"restart\", waiting for current backoff",
                            name
                        );
                    }
                    _ => self.do_backoff(&name, data, "on-check-failure"),
                },
            }
        }
    }

    // ---- internals -------------------------------------------------------------------------

    /// Signal the service's process group, logging failures like Pebble.
    fn signal_group(&self, data: &ServiceData, sig: Signal) {
        if let Some(pid) = data.pid
            && let Err(e) = self.spawner.kill_group(pid, sig)
        {
            pebble_log!(
                "Cannot send {} to process: {}",
                sig.as_str(),
                crate::sys::errno_text(&e)
            );
        }
    }

    /// Resolve the spawn spec of a service config.
    fn spawn_spec(&self, config: &Service) -> Result<SpawnSpec, String> {
        let argv = command_argv(config)?;
        let ids = self.opts.users.normalize_uid_gid(
            config.user_id,
            config.group_id,
            &config.user,
            &config.group,
        )?;
        let mut env: Vec<(OsString, OsString)> = std::env::vars_os().collect();
        let mut set = |k: &str, v: &str| {
            if let Some(slot) = env.iter_mut().find(|(ek, _)| ek == k) {
                slot.1 = v.into();
            } else {
                env.push((k.into(), v.into()));
            }
        };
        for (k, v) in &config.environment {
            set(k, v);
        }
        let (mut uid, mut gid) = (None, None);
        if let Some((u, g)) = ids {
            let set_in = |k: &str| config.environment.get(k).is_some_and(|v| !v.is_empty());
            let (has_home, has_user) = (set_in("HOME"), set_in("USER"));
            if !has_home || !has_user {
                match self.opts.users.lookup_uid(u) {
                    Ok(entry) => {
                        if !has_home {
                            set("HOME", &entry.home);
                        }
                        if !has_user {
                            set("USER", &entry.name);
                        }
                    }
                    Err(e) => pebble_log!("Cannot look up user {}: {}", u, e),
                }
            }
            // SAFETY: getuid/getgid cannot fail.
            let (cur_uid, cur_gid) = unsafe { (libc::getuid(), libc::getgid()) };
            if u != cur_uid || g != cur_gid {
                uid = Some(u);
                gid = Some(g);
            }
        }
        Ok(SpawnSpec {
            argv,
            env,
            dir: (!config.working_dir.is_empty()).then(|| config.working_dir.clone().into()),
            uid,
            gid,
        })
    }

    /// Spawn the service's process and start its exit watcher and output pump. On error nothing changed except nothing.
    fn spawn_process(&self, name: &str, data: &mut ServiceData) -> Result<(), ServiceError> {
        let spec = self
            .spawn_spec(&data.config)
            .map_err(ServiceError::Prepare)?;
        pebble_log!("Service {:?} starting: {}", name, data.config.command);
        let spawned = self
            .spawner
            .spawn(&spec)
            .map_err(|e| ServiceError::CannotStart(e.to_string()))?;
        data.generation += 1;
        data.start_count += 1;
        data.pid = Some(spawned.pid);
        let generation = data.generation;
        let writer = LogWriter::new(data.ring.clone(), self.opts.verbose);
        let mut pump = tokio::spawn(pump_output(spawned.output, writer));
        let wait_delay = data.kill_delay().mul_f64(0.9);
        let weak = self.me.clone();
        let exit = spawned.exit;
        let svc = name.to_string();
        tokio::spawn(async move {
            let code = exit.await;
            // Let the output drain, as Go's cmd.Wait does (WaitDelay), then stop reading.
            if tokio::time::timeout(wait_delay, &mut pump).await.is_err() {
                pump.abort();
            }
            if let Some(m) = weak.upgrade() {
                m.on_exit(&svc, generation, code);
            }
        });
        let limit = data
            .config
            .backoff_limit
            .map(|d| d.0)
            .unwrap_or(DEFAULT_BACKOFF_LIMIT);
        data.reset_due = Some(tokio::time::Instant::now() + limit);
        Ok(())
    }

    fn arm_timer(&self, name: &str, data: &mut ServiceData, delay: Duration, kind: TimerKind) {
        data.cancel_timer();
        let weak = self.me.clone();
        let svc = name.to_string();
        let generation = data.generation;
        data.timer = Some(
            tokio::spawn(async move {
                tokio::time::sleep(delay).await;
                if let Some(m) = weak.upgrade() {
                    m.on_timer(&svc, generation, kind);
                }
            })
            .abort_handle(),
        );
    }

    fn on_timer(&self, name: &str, generation: u64, kind: TimerKind) {
        let mut inner = self.lock();
        let Some(data) = inner.services.get_mut(name) else {
            return;
        };
        if data.generation != generation {
            return;
        }
        match (kind, data.state) {
            (TimerKind::Okay, State::Starting) => {
                data.timer = None;
                data.set_state(State::Running);
                if let Some(tx) = data.start_tx.take() {
                    let _ = tx.send(StartOutcome::Running);
                }
            }
            (TimerKind::KillDelay, State::Terminating) => {
                self.signal_group(data, Signal::SIGKILL);
                data.set_state(State::Killing);
                self.arm_timer(name, data, FAIL_DELAY, TimerKind::FailDelay);
            }
            (TimerKind::FailDelay, State::Killing) => {
                data.timer = None;
                data.restarting = false;
                data.set_state(State::Stopped);
                pebble_log!("Service {:?} still running after SIGTERM and SIGKILL", name);
                for tx in data.stop_txs.drain(..) {
                    let _ = tx.send(Err(ServiceError::StillRunning));
                }
            }
            (TimerKind::Backoff, State::Backoff) => {
                data.timer = None;
                match self.spawn_process(name, data) {
                    Ok(()) => data.set_state(State::Running),
                    // As in Pebble: logged, and the service stays in backoff.
                    Err(e) => pebble_log!("{}", e),
                }
            }
            _ => {}
        }
    }

    fn on_exit(&self, name: &str, generation: u64, code: i32) {
        let mut inner = self.lock();
        let Some(data) = inner.services.get_mut(name) else {
            return;
        };
        if data.generation != generation {
            return;
        }
        data.pid = None;
        data.reset_backoff_if_due();
        match data.state {
            State::Starting | State::Running => {
                pebble_log!("Service {:?} stopped unexpectedly with code {}", name, code);
                let (on_type, action) = if code == 0 {
                    ("on-success", data.config.on_success)
                } else {
                    ("on-failure", data.config.on_failure)
                };
                let action = action.unwrap_or(ServiceAction::Restart);
                let start_tx = data.start_tx.take();
                data.cancel_timer();
                self.apply_action(name, data, on_type, action, code);
                if let Some(tx) = start_tx {
                    let _ = tx.send(StartOutcome::ExitedQuickly {
                        code,
                        action: pebble_plan::action_str(action),
                    });
                }
            }
            State::Terminating | State::Killing => {
                data.cancel_timer();
                if data.restarting {
                    data.restarting = false;
                    pebble_log!("Service {:?} exited after check failure, restarting", name);
                    self.do_backoff(name, data, "on-check-failure");
                } else {
                    pebble_log!("Service {:?} stopped", name);
                    data.set_state(State::Stopped);
                }
                for tx in data.stop_txs.drain(..) {
                    let _ = tx.send(Ok(()));
                }
            }
            _ => {}
        }
    }

    fn apply_action(
        &self,
        name: &str,
        data: &mut ServiceData,
        on_type: &str,
        action: ServiceAction,
        code: i32,
    ) {
        let an = pebble_plan::action_str(action);
        match action {
            ServiceAction::Restart => self.do_backoff(name, data, on_type),
            ServiceAction::Ignore => {
                pebble_log!(
                    "Service {:?} {} action is {:?}, not doing anything further",
                    name,
                    on_type,
                    an
                );
                data.set_state(if code == 0 {
                    State::Stopped
                } else {
                    State::Exited
                });
            }
            ServiceAction::Shutdown
            | ServiceAction::SuccessShutdown
            | ServiceAction::FailureShutdown => {
                let success = match action {
                    ServiceAction::Shutdown => code == 0,
                    ServiceAction::SuccessShutdown => true,
                    _ => false,
                };
                pebble_log!(
                    "Service {:?} {} action is {:?}, triggering {} shutdown",
                    name,
                    on_type,
                    an,
                    if success { "success" } else { "failure" }
                );
                data.set_state(State::Exited);
                self.request_shutdown(if success {
                    EXIT_SUCCESS
                } else {
                    EXIT_SERVICE_FAILURE
                });
            }
        }
    }

    fn do_backoff(&self, name: &str, data: &mut ServiceData, on_type: &str) {
        let delay = data
            .config
            .backoff_delay
            .map(|d| d.0)
            .unwrap_or(DEFAULT_BACKOFF_DELAY);
        let factor = data.config.backoff_factor.unwrap_or(DEFAULT_BACKOFF_FACTOR);
        let limit = data
            .config
            .backoff_limit
            .map(|d| d.0)
            .unwrap_or(DEFAULT_BACKOFF_LIMIT);
        data.backoff_num += 1;
        data.backoff_time = next_backoff(data.backoff_time, delay, factor, limit);
        pebble_log!(
            "Service {:?} {} action is \"restart\", waiting ~{} before restart (backoff {})",
            name,
            on_type,
            pebble_plan::GoDuration::from(data.backoff_time),
            data.backoff_num
        );
        data.set_state(State::Backoff);
        let jitter = data.backoff_time.mul_f64(fastrand::f64() * 0.1);
        let wait = data.backoff_time + jitter;
        self.arm_timer(name, data, wait, TimerKind::Backoff);
    }
}

/// Pebble's backoff step: first `delay`, then ×`factor` capped at `limit` (nanosecond
/// arithmetic truncated like Go's).
pub fn next_backoff(current: Duration, delay: Duration, factor: f64, limit: Duration) -> Duration {
    if current.is_zero() {
        delay
    } else if current >= limit {
        limit
    } else {
        let nanos = (current.as_nanos() as f64 * factor) as u64;
        Duration::from_nanos(nanos).min(limit)
    }
}

/// Parse a signal name the way Pebble does (`SIGHUP`; exact upper-case with the prefix).
pub fn parse_signal(name: &str) -> Option<Signal> {
    if !name.starts_with("SIG") {
        return None;
    }
    name.parse::<Signal>().ok()
}

async fn pump_output(mut output: OutputReader, mut writer: LogWriter) {
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        match output.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => writer.write(&buf[..n]),
        }
    }
}

#[cfg(test)]
mod tests;
