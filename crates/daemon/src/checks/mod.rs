//! Health checks: the check manager, its `perform-check`/`recover-check` task handlers, and the
//! `/v1/checks` and `/v1/health` handlers ([`api`]).
//!
//! Pebble concept: `internals/overlord/checkstate`. Each running check is driven by one change
//! holding one task, run by the daemon's task runner on the current-thread runtime:
//!
//! - `perform-check` (`Perform HTTP|TCP|exec check "<name>"`) while the check is `up`: every
//!   `period` (first attempt one period after the start) it runs the checker with `timeout`.
//!   Failures below the threshold are logged on the task; at the threshold the `on-check-failure`
//!   handler runs, a `recover-check` change is created and the task fails (change `Error`).
//! - `recover-check` (`Recover ... check "<name>"`) while `down`: failures are logged; the first
//!   success creates a new `perform-check` change and the task is `Done`.
//!
//! The manager keeps each check's info (status, counters, change ids) and the configuration
//! each check change runs with. Plan changes abort changed or removed checks and start new or
//! changed `startup: enabled` ones; `replan` starts inactive enabled checks; the API starts,
//! stops and refreshes checks. Checkers are built by a [`CheckerFactory`] so tests can use fake
//! ones on tokio's paused clock.

pub mod api;
pub mod checkers;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};

use pebble_api::CheckInfo;
use pebble_plan::quote::go_quote;
use pebble_plan::{Check, Plan};
use serde_json::Value;
use tokio::sync::{mpsc, oneshot};

pub use checkers::{CheckError, Checker, CheckerFactory, run_check};

use crate::state::{ChangeBuilder, State, TaskContext, TaskRunner};
use crate::tasklog::TaskLog;

/// Task and change kind of a healthy check.
pub const PERFORM_CHECK: &str = "perform-check";
/// Task and change kind of a failed check.
pub const RECOVER_CHECK: &str = "recover-check";

/// Called with the check name when a check reaches its failure threshold.
pub type FailureHandler = Arc<dyn Fn(&str) + Send + Sync>;

/// Errors of [`CheckManager::start_checks`] / [`CheckManager::stop_checks`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChecksError {
    /// Some names are not in the plan (sorted).
    #[error("cannot find checks in plan: {}", .0.join(", "))]
    NotFound(Vec<String>),
}

/// Errors of [`CheckManager::refresh`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RefreshError {
    /// The check is not in the plan (404).
    #[error("cannot find check with name {}", go_quote(.0))]
    NotFound(String),
}

/// A refresh request sent to a running check task.
struct RefreshReq {
    reply: oneshot::Sender<Result<(), CheckError>>,
}

/// What the manager knows of one check.
#[derive(Debug, Clone, Default)]
struct Info {
    level: String,
    startup: String,
    successes: i64,
    failures: i64,
    threshold: i64,
    change_id: Option<u64>,
    prev_change_id: Option<u64>,
}

struct CheckData {
    info: Info,
    /// Refresh requests to the task of `info.change_id`.
    refresh: Option<mpsc::UnboundedSender<RefreshReq>>,
    /// Metrics counters (never reset).
    success_count: u64,
    failure_count: u64,
}

/// Per-change run data: the merged configuration and the refresh receiver its task takes.
struct ChangeRun {
    config: Arc<Check>,
    refresh_rx: Option<mpsc::UnboundedReceiver<RefreshReq>>,
}

#[derive(Default)]
struct Inner {
    checks: BTreeMap<String, CheckData>,
    runs: HashMap<u64, ChangeRun>,
    plan: Arc<Plan>,
}

/// Success and failure counters of one check (for metrics).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckMetrics {
    /// Check name.
    pub name: String,
    /// Whether the check is running (`pebble_check_up` is omitted otherwise).
    pub active: bool,
    /// Whether it is up.
    pub up: bool,
    /// Successes since the daemon started.
    pub successes: u64,
    /// Failures since the daemon started.
    pub failures: u64,
}

/// The check manager (one per daemon; see the module docs).
pub struct CheckManager {
    state: State,
    runner: TaskRunner,
    factory: CheckerFactory,
    failure: Mutex<Option<FailureHandler>>,
    inner: Mutex<Inner>,
}

impl std::fmt::Debug for CheckManager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CheckManager").finish_non_exhaustive()
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// `HTTP`, `TCP` or `exec`, as in change summaries.
pub fn check_type(c: &Check) -> &'static str {
    if c.http.is_some() {
        "HTTP"
    } else if c.tcp.is_some() {
        "TCP"
    } else if c.exec.is_some() {
        "exec"
    } else {
        "<unknown>"
    }
}

/// The check with its exec `service-context` merged in (the service's environment under the
/// check's, its user, group and working dir where the check sets none).
pub fn merge_service_context(plan: &Plan, check: &Check) -> Check {
    let mut c = check.clone();
    let Some(exec) = c.exec.as_mut() else {
        return c;
    };
    if exec.service_context.is_empty() {
        return c;
    }
    // The service as it runs: its workload's environment and identity included.
    let Some(svc) = plan.resolved_service(&exec.service_context) else {
        return c;
    };
    let mut env = svc.environment.clone();
    env.extend(exec.environment.iter().map(|(k, v)| (k.clone(), v.clone())));
    exec.environment = env;
    if exec.user_id.is_none() {
        exec.user_id = svc.user_id;
    }
    if exec.user.is_empty() {
        exec.user = svc.user.clone();
    }
    if exec.group_id.is_none() {
        exec.group_id = svc.group_id;
    }
    if exec.group.is_empty() {
        exec.group = svc.group.clone();
    }
    if exec.working_dir.is_empty() {
        exec.working_dir = svc.working_dir.clone();
    }
    c
}

fn startup_of(c: &Check) -> String {
    if c.startup.is_empty() {
        "enabled".into()
    } else {
        c.startup.clone()
    }
}

fn new_info(c: &Check) -> Info {
    Info {
        level: c.level.clone(),
        startup: startup_of(c),
        threshold: c.effective_threshold() as i64,
        ..Info::default()
    }
}

impl Info {
    fn status(&self) -> &'static str {
        match self.change_id {
            None => "inactive",
            Some(_) if self.failures >= self.threshold => "down",
            Some(_) => "up",
        }
    }

    fn api(&self, name: &str) -> CheckInfo {
        CheckInfo {
            name: name.to_string(),
            level: self.level.clone(),
            startup: self.startup.clone(),
            status: self.status().to_string(),
            successes: self.successes,
            failures: self.failures,
            threshold: self.threshold,
            change_id: self.change_id.map(|i| i.to_string()).unwrap_or_default(),
            prev_change_id: self
                .prev_change_id
                .map(|i| i.to_string())
                .unwrap_or_default(),
        }
    }
}

/// How a check task's loop ends.
enum Step {
    Continue,
    Exit(Result<(), String>),
}

impl CheckManager {
    /// A manager over `state` and `runner` (registers the check task handlers). Call
    /// [`CheckManager::plan_changed`] with the initial plan afterwards.
    pub fn new(state: State, runner: TaskRunner, factory: CheckerFactory) -> Arc<CheckManager> {
        let m = Arc::new(CheckManager {
            state,
            runner: runner.clone(),
            factory,
            failure: Mutex::new(None),
            inner: Mutex::new(Inner::default()),
        });
        for (kind, recover) in [(PERFORM_CHECK, false), (RECOVER_CHECK, true)] {
            let mgr = m.clone();
            runner.add_handler(kind, move |ctx: TaskContext| {
                let mgr = mgr.clone();
                async move { mgr.run_task(ctx, recover).await }
            });
        }
        m
    }

    /// Set the function called when a check reaches its failure threshold.
    pub fn set_failure_handler(&self, f: FailureHandler) {
        *lock(&self.failure) = Some(f);
    }

    /// Every check, sorted by name (`GET /v1/checks` before filtering).
    pub fn checks(&self) -> Vec<CheckInfo> {
        let g = lock(&self.inner);
        g.checks.iter().map(|(n, d)| d.info.api(n)).collect()
    }

    /// One check's info.
    pub fn check(&self, name: &str) -> Option<CheckInfo> {
        lock(&self.inner).checks.get(name).map(|d| d.info.api(name))
    }

    /// Counters of every check, sorted by name.
    pub fn metrics(&self) -> Vec<CheckMetrics> {
        let g = lock(&self.inner);
        g.checks
            .iter()
            .map(|(n, d)| CheckMetrics {
                name: n.clone(),
                active: d.info.change_id.is_some(),
                up: d.info.status() == "up",
                successes: d.success_count,
                failures: d.failure_count,
            })
            .collect()
    }

    /// Health as `GET /v1/health` computes it: unhealthy iff a matching check is `down`.
    /// `level` `alive` matches alive checks, `ready` ready and alive ones, `""` all.
    pub fn healthy(&self, level: &str, names: &[String]) -> bool {
        let g = lock(&self.inner);
        !g.checks.iter().any(|(n, d)| {
            let level_ok = match level {
                "" => true,
                "alive" => d.info.level == "alive",
                "ready" => d.info.level == "ready" || d.info.level == "alive",
                _ => false,
            };
            level_ok && (names.is_empty() || names.contains(n)) && d.info.status() == "down"
        })
    }

    /// Create a check change of `kind` for `config` (not started: call `runner.ensure()`).
    /// Must be called with `inner` locked (passed in).
    fn add_check_change(
        &self,
        g: &mut Inner,
        kind: &str,
        config: Arc<Check>,
        successes: i64,
        failures: i64,
    ) -> u64 {
        let verb = if kind == PERFORM_CHECK {
            "Perform"
        } else {
            "Recover"
        };
        let summary = format!(
            "{verb} {} check {}",
            check_type(&config),
            go_quote(&config.name)
        );
        let mut b = ChangeBuilder::new(kind, &summary);
        b.set_data("check-name", Value::String(config.name.clone()));
        b.set_data("check-no-prune", Value::Bool(true));
        // Extra `last-data` of the change's `change-update` notices.
        b.set_data(
            "notice-data",
            serde_json::json!({ "check-name": config.name.clone() }),
        );
        let t = b.add_task(kind, &summary);
        b.set_task_data(t, "check-name", Value::String(config.name.clone()));
        b.set_task_data(t, "successes", Value::from(successes));
        b.set_task_data(t, "failures", Value::from(failures));
        let ids = self.state.add_change(b);
        let (tx, rx) = mpsc::unbounded_channel();
        g.runs.insert(
            ids.change,
            ChangeRun {
                config: config.clone(),
                refresh_rx: Some(rx),
            },
        );
        if let Some(d) = g.checks.get_mut(&config.name) {
            d.refresh = Some(tx);
        }
        ids.change
    }

    /// Start a fresh perform-check for `config` (counters reset). `inner` locked.
    fn start_locked(&self, g: &mut Inner, config: &Check) {
        let merged = Arc::new(merge_service_context(&g.plan, config));
        let name = config.name.clone();
        let data = g.checks.entry(name.clone()).or_insert_with(|| CheckData {
            info: new_info(config),
            refresh: None,
            success_count: 0,
            failure_count: 0,
        });
        let prev = data.info.prev_change_id;
        data.info = new_info(config);
        data.info.prev_change_id = prev;
        let id = self.add_check_change(g, PERFORM_CHECK, merged, 0, 0);
        if let Some(d) = g.checks.get_mut(&name) {
            d.info.change_id = Some(id);
        }
    }

    /// Apply a new plan (also the initial one): abort the changes of removed or modified checks
    /// (and changes carried over from a previous run), start new and modified enabled checks,
    /// register new disabled ones as inactive.
    pub fn plan_changed(&self, plan: &Arc<Plan>) {
        let mut to_abort = Vec::new();
        {
            let mut g = lock(&self.inner);
            g.plan = plan.clone();
            let mut existing: BTreeSet<String> = BTreeSet::new();
            let mut start: BTreeSet<String> = BTreeSet::new();
            let pending: Vec<(u64, String)> = {
                let d = self.state.lock();
                d.changes
                    .values()
                    .filter(|c| c.kind == PERFORM_CHECK || c.kind == RECOVER_CHECK)
                    .filter(|c| !d.change_status(c).is_ready())
                    .map(|c| {
                        let name = c
                            .data
                            .get("check-name")
                            .and_then(|v| v.as_str())
                            .unwrap_or_default()
                            .to_string();
                        (c.id, name)
                    })
                    .collect()
            };
            for (id, name) in pending {
                let Some(old) = g.runs.get(&id).map(|r| r.config.clone()) else {
                    // Carried over from a previous run of the daemon.
                    to_abort.push(id);
                    continue;
                };
                existing.insert(old.name.clone());
                if let Some(new) = plan.checks.get(&name) {
                    let merged = merge_service_context(plan, new);
                    if *old == merged {
                        continue;
                    }
                    if new.startup == "disabled" && old.startup != "disabled" {
                        continue;
                    }
                    start.insert(name.clone());
                }
                to_abort.push(id);
                g.runs.remove(&id);
                g.checks.remove(&name);
            }
            for (name, c) in &plan.checks {
                if existing.contains(name) {
                    continue;
                }
                if c.startup != "disabled" {
                    start.insert(name.clone());
                } else {
                    g.checks.insert(
                        name.clone(),
                        CheckData {
                            info: new_info(c),
                            refresh: None,
                            success_count: 0,
                            failure_count: 0,
                        },
                    );
                }
            }
            g.checks.retain(|n, _| plan.checks.contains_key(n));
            for (name, c) in &plan.checks {
                if start.contains(name) {
                    if let Some(d) = g.checks.get_mut(name) {
                        d.info.prev_change_id = None;
                    }
                    self.start_locked(&mut g, c);
                }
            }
        }
        for id in to_abort {
            let _ = self.runner.abort_change(&id.to_string());
        }
        self.runner.ensure();
    }

    fn missing(plan: &Plan, names: &[String]) -> Result<(), ChecksError> {
        let mut missing: Vec<String> = names
            .iter()
            .filter(|n| !plan.checks.contains_key(*n))
            .cloned()
            .collect();
        if missing.is_empty() {
            return Ok(());
        }
        missing.sort();
        Err(ChecksError::NotFound(missing))
    }

    /// Start the named checks that are not running; returns those started (sorted).
    pub fn start_checks(&self, names: &[String]) -> Result<Vec<String>, ChecksError> {
        let mut started = Vec::new();
        {
            let mut g = lock(&self.inner);
            let plan = g.plan.clone();
            Self::missing(&plan, names)?;
            for name in names {
                let Some(c) = plan.checks.get(name) else {
                    continue;
                };
                if g.checks
                    .get(name)
                    .is_some_and(|d| d.info.change_id.is_some())
                {
                    continue;
                }
                if started.contains(name) {
                    continue;
                }
                self.start_locked(&mut g, c);
                started.push(name.clone());
            }
        }
        self.runner.ensure();
        started.sort();
        Ok(started)
    }

    /// Stop the named running checks (counters are kept); returns those stopped (sorted).
    pub fn stop_checks(&self, names: &[String]) -> Result<Vec<String>, ChecksError> {
        let mut stopped = Vec::new();
        let mut to_abort = Vec::new();
        {
            let mut g = lock(&self.inner);
            let plan = g.plan.clone();
            Self::missing(&plan, names)?;
            for name in names {
                let Some(d) = g.checks.get_mut(name) else {
                    continue;
                };
                let Some(id) = d.info.change_id.take() else {
                    continue;
                };
                d.refresh = None;
                to_abort.push(id);
                g.runs.remove(&id);
                stopped.push(name.clone());
            }
        }
        for id in to_abort {
            let _ = self.runner.abort_change(&id.to_string());
        }
        stopped.sort();
        Ok(stopped)
    }

    /// `replan`: start every enabled check that is not running.
    pub fn replan(&self) {
        {
            let mut g = lock(&self.inner);
            let plan = g.plan.clone();
            for (name, c) in &plan.checks {
                if c.startup == "disabled" {
                    continue;
                }
                if g.checks
                    .get(name)
                    .is_some_and(|d| d.info.change_id.is_some())
                {
                    continue;
                }
                self.start_locked(&mut g, c);
            }
        }
        self.runner.ensure();
    }

    /// Run a check now. A running check runs it in its task (counters, logs and actions apply,
    /// its ticker restarts); an inactive one is run directly without effect. Returns the check
    /// info after the attempt and the attempt's error.
    pub async fn refresh(
        &self,
        name: &str,
    ) -> Result<(CheckInfo, Option<CheckError>), RefreshError> {
        let (sender, config) = {
            let g = lock(&self.inner);
            let Some(c) = g.plan.checks.get(name) else {
                return Err(RefreshError::NotFound(name.to_string()));
            };
            let running = g
                .checks
                .get(name)
                .filter(|d| d.info.change_id.is_some())
                .and_then(|d| d.refresh.clone());
            (running, merge_service_context(&g.plan, c))
        };
        let mut result = None;
        if let Some(tx) = sender {
            let (reply, rx) = oneshot::channel();
            if tx.send(RefreshReq { reply }).is_ok()
                && let Ok(r) = rx.await
            {
                result = Some(r);
            }
        }
        let result = match result {
            Some(r) => r,
            None => {
                let checker = (self.factory)(&config);
                run_check(&*checker, config.effective_timeout().0).await
            }
        };
        let info = self
            .check(name)
            .unwrap_or_else(|| new_info(&config).api(name));
        Ok((info, result.err()))
    }

    /// Update a check's info if `change` is still its current change.
    fn update(&self, name: &str, change: u64, f: impl FnOnce(&mut CheckData)) -> bool {
        let mut g = lock(&self.inner);
        match g.checks.get_mut(name) {
            Some(d) if d.info.change_id == Some(change) => {
                f(d);
                true
            }
            _ => false,
        }
    }

    /// The perform-check / recover-check task handler.
    async fn run_task(self: Arc<Self>, mut ctx: TaskContext, recover: bool) -> Result<(), String> {
        let change = ctx.change_id;
        let (config, refresh_rx) = {
            let mut g = lock(&self.inner);
            match g.runs.get_mut(&change) {
                Some(r) => (r.config.clone(), r.refresh_rx.take()),
                // A change carried over from a previous run: it is aborted.
                None => return Ok(()),
            }
        };
        let mut refresh_rx = refresh_rx.unwrap_or_else(|| mpsc::unbounded_channel().1);
        let period = config.effective_period().0;
        let timeout = config.effective_timeout().0;
        let checker = (self.factory)(&config);
        let num = |k: &str| ctx.data.get(k).and_then(|v| v.as_i64()).unwrap_or(0);
        let mut successes = num("successes");
        let mut failures = num("failures");
        let start = tokio::time::Instant::now() + period;
        let mut ticker = tokio::time::interval_at(start, period);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let result = loop {
            let reply = tokio::select! {
                _ = ctx.abort.aborted() => break Ok(()),
                _ = ticker.tick() => None,
                Some(req) = refresh_rx.recv() => {
                    ticker.reset();
                    Some(req.reply)
                }
            };
            let attempt = tokio::select! {
                r = run_check(&*checker, timeout) => r,
                _ = ctx.abort.aborted() => break Ok(()),
            };
            let step = if recover {
                self.recover_step(&ctx, &config, &attempt, &mut successes, &mut failures)
            } else {
                self.perform_step(&ctx, &config, &attempt, &mut successes, &mut failures)
            };
            if let Some(reply) = reply {
                let _ = reply.send(attempt);
            }
            if let Step::Exit(r) = step {
                break r;
            }
        };
        lock(&self.inner).runs.remove(&change);
        result
    }

    fn count(&self, name: &str, ok: bool) {
        if let Some(d) = lock(&self.inner).checks.get_mut(name) {
            if ok {
                d.success_count += 1;
            } else {
                d.failure_count += 1;
            }
        }
    }

    /// Record the running counters of the check's current change.
    fn store_counts(&self, name: &str, change: u64, successes: i64, failures: i64) {
        self.update(name, change, |d| {
            d.info.successes = successes;
            d.info.failures = failures;
        });
    }

    /// If `change` is still the check's current change, create its successor of `kind` (a
    /// recover-check after the threshold, a perform-check after recovering) and point the
    /// check at it, then let the runner start it.
    fn hand_over(
        &self,
        config: &Arc<Check>,
        change: u64,
        kind: &str,
        successes: i64,
        failures: i64,
    ) {
        {
            let mut g = lock(&self.inner);
            let current = g
                .checks
                .get(&config.name)
                .is_some_and(|d| d.info.change_id == Some(change));
            if current {
                let id = self.add_check_change(&mut g, kind, config.clone(), successes, failures);
                if let Some(d) = g.checks.get_mut(&config.name) {
                    d.info.successes = successes;
                    d.info.failures = failures;
                    d.info.prev_change_id = Some(change);
                    d.info.change_id = Some(id);
                }
            }
        }
        self.runner.ensure();
    }

    fn perform_step(
        &self,
        ctx: &TaskContext,
        config: &Arc<Check>,
        attempt: &Result<(), CheckError>,
        successes: &mut i64,
        failures: &mut i64,
    ) -> Step {
        let name = &config.name;
        let change = ctx.change_id;
        let threshold = config.effective_threshold() as i64;
        self.count(name, attempt.is_ok());
        match attempt {
            Ok(()) => {
                *successes += 1;
                if *failures > 0 {
                    let n = *failures;
                    *failures = 0;
                    ctx.log.info(&format!(
                        "succeeded after {n} {}",
                        if n == 1 { "failure" } else { "failures" }
                    ));
                }
                self.store_counts(name, change, *successes, *failures);
                Step::Continue
            }
            Err(e) => {
                *failures += 1;
                let (s, f) = (*successes, *failures);
                log_failure(name, f, threshold, e);
                if f < threshold {
                    ctx.log.error(&e.full());
                    self.store_counts(name, change, s, f);
                    return Step::Continue;
                }
                crate::pebble_log!(
                    "Check {} threshold {} hit, triggering action and recovering",
                    go_quote(name),
                    threshold
                );
                let handler = lock(&self.failure).clone();
                if let Some(h) = handler {
                    h(name);
                }
                self.hand_over(config, change, RECOVER_CHECK, s, f);
                Step::Exit(Err(e.full()))
            }
        }
    }

    fn recover_step(
        &self,
        ctx: &TaskContext,
        config: &Arc<Check>,
        attempt: &Result<(), CheckError>,
        successes: &mut i64,
        failures: &mut i64,
    ) -> Step {
        let name = &config.name;
        let change = ctx.change_id;
        let threshold = config.effective_threshold() as i64;
        self.count(name, attempt.is_ok());
        match attempt {
            Err(e) => {
                *failures += 1;
                ctx.log.error(&e.full());
                self.store_counts(name, change, *successes, *failures);
                log_failure(name, *failures, threshold, e);
                Step::Continue
            }
            Ok(()) => {
                *successes = 1;
                *failures = 0;
                self.hand_over(config, change, PERFORM_CHECK, 1, 0);
                Step::Exit(Ok(()))
            }
        }
    }
}

/// The daemon log line of a failed attempt (`Check "x" failure 2/3: ...`).
fn log_failure(name: &str, failures: i64, threshold: i64, e: &CheckError) {
    crate::pebble_log!(
        "Check {} failure {}/{}: {}",
        go_quote(name),
        failures,
        threshold,
        e.message
    );
}

/// Create the daemon's check manager: real checkers (exec through the daemon's spawner),
/// `on-check-failure` wired to the service manager, the plan listener, the health source, and
/// the initial plan applied. Called once by [`crate::Daemon::new`].
pub fn install(daemon: &crate::Daemon) -> Arc<CheckManager> {
    let factory = checkers::real_factory(daemon.spawner().clone(), daemon.users().clone());
    let mgr = CheckManager::new(daemon.state().clone(), daemon.runner().clone(), factory);
    let services = daemon.services().clone();
    mgr.set_failure_handler(Arc::new(move |name: &str| services.check_failed(name)));
    let m = mgr.clone();
    daemon.on_plan_change(move |plan| m.plan_changed(plan));
    let m = mgr.clone();
    daemon.set_health_source(Arc::new(move |level: &str, names: &[String]| {
        Ok(m.healthy(level, names))
    }));
    daemon.set_extension(mgr.clone());
    mgr.plan_changed(&daemon.plan());
    mgr
}
