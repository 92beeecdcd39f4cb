//! The task runner: runs the tasks of changes by kind, honouring wait dependencies and lanes.
//!
//! - A task in `Do` whose wait tasks are all `Done` is set to `Doing` and its kind's handler runs
//!   (a kind without a handler succeeds at once, as Pebble does for unknown kinds).
//! - `Ok(())` sets `Done`; `Err(msg)` logs `ERROR msg` on the task, sets `Error`, writes
//!   `Change N task (summary) failed: msg` to the daemon log, and aborts the other tasks of the
//!   same lane(s) and every task waiting on an aborted one: `Do` becomes `Hold`, `Doing` becomes
//!   `Abort` (its handler sees [`AbortSignal`]), `Done` becomes `Undo`.
//! - There are no undo handlers: `Undo` tasks go back to `Done` on the next ensure pass.
//!
//! Register handlers with [`TaskRunner::add_handler`]; after adding a change call
//! [`TaskRunner::ensure`].

use super::{State, StateData, Status};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use tokio::sync::watch;

/// The future returned by a task handler: `Err` carries the task error text.
pub type TaskFuture = Pin<Box<dyn Future<Output = Result<(), String>> + Send>>;

/// Runs tasks of one kind.
pub trait TaskHandler: Send + Sync + 'static {
    /// Run the task described by `ctx` to completion.
    fn run(&self, ctx: TaskContext) -> TaskFuture;
}

impl<F, Fut> TaskHandler for F
where
    F: Fn(TaskContext) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), String>> + Send + 'static,
{
    fn run(&self, ctx: TaskContext) -> TaskFuture {
        Box::pin(self(ctx))
    }
}

/// Tells a running handler that its change was aborted.
#[derive(Debug, Clone)]
pub struct AbortSignal {
    rx: watch::Receiver<bool>,
}

impl AbortSignal {
    /// A signal that never fires (for tests and internal operations).
    pub fn never() -> AbortSignal {
        let (tx, rx) = watch::channel(false);
        // Keep the sender alive forever so `aborted()` stays pending.
        std::mem::forget(tx);
        AbortSignal { rx }
    }

    /// Whether the abort was requested.
    pub fn is_aborted(&self) -> bool {
        *self.rx.borrow()
    }

    /// Resolve when the abort is requested (never if it is not).
    pub async fn aborted(&mut self) {
        loop {
            if *self.rx.borrow_and_update() {
                return;
            }
            if self.rx.changed().await.is_err() {
                std::future::pending::<()>().await;
            }
        }
    }
}

/// What a handler gets: the task identity, its data, its log and the abort signal.
pub struct TaskContext {
    /// The daemon state.
    pub state: State,
    /// Task id.
    pub task_id: u64,
    /// Change id.
    pub change_id: u64,
    /// Task kind.
    pub kind: String,
    /// Task summary.
    pub summary: String,
    /// Internal task data (as given to `ChangeBuilder::set_task_data`).
    pub data: BTreeMap<String, Value>,
    /// Fires when the change is aborted.
    pub abort: AbortSignal,
    /// The task's log.
    pub log: TaskLogger,
}

impl TaskContext {
    /// A string value of the task data.
    pub fn data_str(&self, key: &str) -> Option<&str> {
        self.data.get(key).and_then(|v| v.as_str())
    }
}

/// Writes a task's log entries (`INFO`/`ERROR` lines, last 10 kept).
#[derive(Clone)]
pub struct TaskLogger {
    state: State,
    task_id: u64,
}

impl TaskLogger {
    /// A logger for `task_id`.
    pub fn new(state: State, task_id: u64) -> TaskLogger {
        TaskLogger { state, task_id }
    }
}

impl crate::tasklog::TaskLog for TaskLogger {
    fn info(&self, message: &str) {
        self.state.task_log(self.task_id, "INFO", message);
    }
    fn error(&self, message: &str) {
        self.state.task_log(self.task_id, "ERROR", message);
    }
}

struct RunnerInner {
    state: State,
    handlers: Mutex<HashMap<String, Arc<dyn TaskHandler>>>,
    aborts: Mutex<HashMap<u64, watch::Sender<bool>>>,
}

/// Runs tasks; cheap to clone.
#[derive(Clone)]
pub struct TaskRunner {
    inner: Arc<RunnerInner>,
}

impl std::fmt::Debug for TaskRunner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TaskRunner").finish_non_exhaustive()
    }
}

/// Errors of [`TaskRunner::abort_change`].
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AbortError {
    /// No such change.
    #[error("cannot find change with id \"{0}\"")]
    NotFound(String),
    /// The change is already ready.
    #[error("cannot abort change {0} with nothing pending")]
    NothingPending(String),
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    match m.lock() {
        Ok(g) => g,
        Err(p) => p.into_inner(),
    }
}

impl TaskRunner {
    /// A runner over `state` with no handlers yet.
    pub fn new(state: State) -> TaskRunner {
        TaskRunner {
            inner: Arc::new(RunnerInner {
                state,
                handlers: Mutex::new(HashMap::new()),
                aborts: Mutex::new(HashMap::new()),
            }),
        }
    }

    /// The state this runner works on.
    pub fn state(&self) -> &State {
        &self.inner.state
    }

    /// Register the handler of a task kind (replacing any previous one).
    pub fn add_handler(&self, kind: &str, handler: impl TaskHandler) {
        lock(&self.inner.handlers).insert(kind.to_string(), Arc::new(handler));
    }

    /// Start every task that can run now. Must be called inside a tokio runtime.
    pub fn ensure(&self) {
        let handlers = lock(&self.inner.handlers).clone();
        let mut to_start = Vec::new();
        let changed = {
            let mut d = self.inner.state.lock();
            let mut changed = BTreeSet::new();
            let ids: Vec<u64> = d
                .tasks
                .values()
                .filter(|t| matches!(t.status, Status::Do | Status::Undo))
                .map(|t| t.id)
                .collect();
            for id in ids {
                let Some(t) = d.tasks.get(&id) else { continue };
                if t.status == Status::Undo {
                    let change = t.change;
                    if let Some(t) = d.tasks.get_mut(&id) {
                        t.set_status(Status::Done);
                    }
                    changed.insert(change);
                    continue;
                }
                let waits_done = t
                    .wait_tasks
                    .iter()
                    .all(|w| d.tasks.get(w).is_none_or(|wt| wt.status == Status::Done));
                if !waits_done {
                    continue;
                }
                let change = t.change;
                let handler = handlers.get(&t.kind).cloned();
                let Some(t) = d.tasks.get_mut(&id) else {
                    continue;
                };
                match handler {
                    None => t.set_status(Status::Done),
                    Some(h) => {
                        t.set_status(Status::Doing);
                        to_start.push((
                            id,
                            change,
                            t.kind.clone(),
                            t.summary.clone(),
                            t.data.clone(),
                            h,
                        ));
                    }
                }
                changed.insert(change);
            }
            for c in &changed {
                d.update_ready_times(*c);
            }
            !changed.is_empty()
        };
        if changed {
            self.inner.state.mark_dirty();
        }
        for (id, change, kind, summary, data, handler) in to_start {
            let (tx, rx) = watch::channel(false);
            lock(&self.inner.aborts).insert(id, tx);
            let ctx = TaskContext {
                state: self.inner.state.clone(),
                task_id: id,
                change_id: change,
                kind,
                summary,
                data,
                abort: AbortSignal { rx },
                log: TaskLogger::new(self.inner.state.clone(), id),
            };
            let runner = self.clone();
            let fut = handler.run(ctx);
            tokio::spawn(async move {
                let result = fut.await;
                runner.complete(id, result);
            });
        }
    }

    fn complete(&self, id: u64, result: Result<(), String>) {
        lock(&self.inner.aborts).remove(&id);
        let to_signal = self.inner.state.modify(|d| {
            let Some(t) = d.tasks.get_mut(&id) else {
                return Vec::new();
            };
            let change = t.change;
            let signal = match result {
                Ok(()) if t.status == Status::Abort => {
                    // As Pebble: an aborted task whose handler returns cleanly is to be
                    // undone; with no undo handlers the next ensure pass makes it Done.
                    t.status = Status::Undo;
                    Vec::new()
                }
                Ok(()) => {
                    t.set_status(Status::Done);
                    Vec::new()
                }
                Err(msg) => {
                    // As Pebble: the failing task's lanes (its own included) are aborted
                    // before it is marked Error, so the change is seen in Abort first (one
                    // more change-update notice).
                    t.status = Status::Abort;
                    d.update_ready_times(change);
                    let Some(t) = d.tasks.get_mut(&id) else {
                        return Vec::new();
                    };
                    t.add_log("ERROR", &msg);
                    t.set_status(Status::Error);
                    crate::pebble_log!("Change {} task ({}) failed: {}", change, t.summary, msg);
                    abort_lanes(d, id)
                }
            };
            d.update_ready_times(change);
            signal
        });
        self.signal_aborts(&to_signal);
        self.ensure();
    }

    fn signal_aborts(&self, ids: &[u64]) {
        let aborts = lock(&self.inner.aborts);
        for id in ids {
            if let Some(tx) = aborts.get(id) {
                tx.send_replace(true);
            }
        }
    }

    /// Prune the state ([`State::prune`](super::State::prune)), signal the running tasks it
    /// aborted, write Pebble's `pruned ...` log lines, and start what can run (undo passes).
    pub fn prune(
        &self,
        start_of_operation: jiff::Timestamp,
        now: jiff::Timestamp,
        limits: &super::PruneLimits,
    ) -> super::PruneReport {
        let report = self.inner.state.prune(start_of_operation, now, limits);
        for line in report.log_lines() {
            crate::pebble_log!("{}", line);
        }
        self.signal_aborts(&report.to_signal);
        if !report.aborted_changes.is_empty() {
            self.ensure();
        }
        report
    }

    /// Abort a change: `Do` tasks are held, running ones aborted, done ones undone.
    /// Returns the API view of the change right after flagging it.
    pub fn abort_change(&self, id_text: &str) -> Result<pebble_api::ChangeInfo, AbortError> {
        let id: u64 = id_text
            .parse()
            .map_err(|_| AbortError::NotFound(id_text.to_string()))?;
        let (info, to_signal) = self.inner.state.modify(|d| {
            let Some(ch) = d.changes.get(&id) else {
                return Err(AbortError::NotFound(id_text.to_string()));
            };
            if d.change_status(ch).is_ready() {
                return Err(AbortError::NothingPending(id_text.to_string()));
            }
            let ids = ch.task_ids.clone();
            let mut signal = Vec::new();
            for tid in ids {
                if let Some(t) = d.tasks.get_mut(&tid) {
                    flag_abort(t, &mut signal);
                }
            }
            d.update_ready_times(id);
            let info = d.changes.get(&id).map(|c| d.change_info(c));
            Ok((info, signal))
        })?;
        self.signal_aborts(&to_signal);
        // Let the flagged state be observed by the caller before undo tasks settle.
        let runner = self.clone();
        tokio::spawn(async move { runner.ensure() });
        info.ok_or_else(|| AbortError::NotFound(id_text.to_string()))
    }
}

/// Abort the lanes of change `change_id` that hold a task not yet ready (lane 0 = tasks
/// without lanes), and every task waiting, directly or not, on an aborted one (the 14-day
/// abort of [`State::prune`](super::State::prune)). Returns tasks whose handlers must be
/// signalled.
pub(crate) fn abort_unready_lanes(d: &mut StateData, change_id: u64) -> Vec<u64> {
    let Some(ch) = d.changes.get(&change_id) else {
        return Vec::new();
    };
    let task_ids = ch.task_ids.clone();
    let lanes_of = |t: &super::Task| -> Vec<u64> {
        if t.lanes.is_empty() {
            vec![0]
        } else {
            t.lanes.clone()
        }
    };
    let mut unready: BTreeSet<u64> = BTreeSet::new();
    for tid in &task_ids {
        if let Some(t) = d.tasks.get(tid)
            && !t.status.is_ready()
        {
            unready.extend(lanes_of(t));
        }
    }
    let set: BTreeSet<u64> = task_ids
        .iter()
        .filter(|tid| {
            d.tasks
                .get(tid)
                .is_some_and(|t| lanes_of(t).iter().any(|l| unready.contains(l)))
        })
        .copied()
        .collect();
    abort_with_waiters(d, &task_ids, set, None)
}

/// Add to `set` the tasks of `task_ids` that wait, directly or through others, on a member of
/// `set` or on `waited` (which is not aborted itself), then flag every member for abort.
/// Returns the running tasks to signal.
fn abort_with_waiters(
    d: &mut StateData,
    task_ids: &[u64],
    mut set: BTreeSet<u64>,
    waited: Option<u64>,
) -> Vec<u64> {
    loop {
        let mut grew = false;
        for tid in task_ids {
            if Some(*tid) == waited || set.contains(tid) {
                continue;
            }
            if let Some(t) = d.tasks.get(tid)
                && t.wait_tasks
                    .iter()
                    .any(|w| Some(*w) == waited || set.contains(w))
            {
                set.insert(*tid);
                grew = true;
            }
        }
        if !grew {
            break;
        }
    }
    let mut signal = Vec::new();
    for tid in set {
        if let Some(t) = d.tasks.get_mut(&tid) {
            flag_abort(t, &mut signal);
        }
    }
    signal
}

fn flag_abort(t: &mut super::Task, signal: &mut Vec<u64>) {
    match t.status {
        Status::Do => t.set_status(Status::Hold),
        Status::Doing => {
            t.status = Status::Abort;
            signal.push(t.id);
        }
        Status::Done => t.status = Status::Undo,
        _ => {}
    }
}

/// Abort the tasks sharing a lane with `failed` (lane 0 = tasks without lanes) and every task
/// waiting, directly or not, on one of them. Returns tasks whose handlers must be signalled.
fn abort_lanes(d: &mut StateData, failed: u64) -> Vec<u64> {
    let Some(ft) = d.tasks.get(&failed) else {
        return Vec::new();
    };
    let lanes: Vec<u64> = if ft.lanes.is_empty() {
        vec![0]
    } else {
        ft.lanes.clone()
    };
    let Some(ch) = d.changes.get(&ft.change) else {
        return Vec::new();
    };
    let task_ids = ch.task_ids.clone();
    let mut set: BTreeSet<u64> = BTreeSet::new();
    for tid in &task_ids {
        if *tid == failed {
            continue;
        }
        if let Some(t) = d.tasks.get(tid) {
            let tl: &[u64] = if t.lanes.is_empty() { &[0] } else { &t.lanes };
            if tl.iter().any(|l| lanes.contains(l)) {
                set.insert(*tid);
            }
        }
    }
    abort_with_waiters(d, &task_ids, set, Some(failed))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::state::ChangeBuilder;
    use std::time::Duration;

    fn ok_after(ms: u64) -> impl TaskHandler {
        move |_ctx: TaskContext| async move {
            tokio::time::sleep(Duration::from_millis(ms)).await;
            Ok(())
        }
    }

    #[tokio::test(start_paused = true)]
    async fn lanes_run_sequentially_and_waits_hold() {
        let state = State::in_memory();
        let runner = TaskRunner::new(state.clone());
        runner.add_handler("start", ok_after(1000));
        let mut b = ChangeBuilder::new("start", "Start service \"a\" and 1 more");
        let l = b.new_lane();
        let a = b.add_task("start", "Start service \"a\"");
        let c = b.add_task("start", "Start service \"c\"");
        b.join_lane(a, l).join_lane(c, l).wait_for(c, a);
        let ids = state.add_change(b);
        runner.ensure();
        {
            let g = state.lock();
            assert_eq!(g.tasks[&ids.tasks[0]].status, Status::Doing);
            assert_eq!(g.tasks[&ids.tasks[1]].status, Status::Do);
        }
        let info = state.wait_change_ready(ids.change).await.unwrap();
        assert_eq!(info.status, "Done");
        assert!(info.ready_time.is_some());
        let g = state.lock();
        let t0 = g.tasks[&ids.tasks[0]].ready_time.unwrap();
        let t1 = g.tasks[&ids.tasks[1]].ready_time.unwrap();
        assert!(t1 > t0);
    }

    #[tokio::test(start_paused = true)]
    async fn error_holds_lane_but_not_other_lanes() {
        let state = State::in_memory();
        let runner = TaskRunner::new(state.clone());
        runner.add_handler("start", |ctx: TaskContext| async move {
            if ctx.data_str("service-name") == Some("bad") {
                Err("service start attempt: exited quickly with code 1, will restart".into())
            } else {
                tokio::time::sleep(Duration::from_millis(10)).await;
                Ok(())
            }
        });
        let mut b = ChangeBuilder::new("start", "Start service \"bad\" and 2 more");
        let l0 = b.new_lane();
        let l1 = b.new_lane();
        let bad = b.add_task("start", "Start service \"bad\"");
        let after = b.add_task("start", "Start service \"dep\"");
        let other = b.add_task("start", "Start service \"other\"");
        b.set_task_data(bad, "service-name", "bad".into());
        b.join_lane(bad, l0)
            .join_lane(after, l0)
            .wait_for(after, bad);
        b.join_lane(other, l1);
        let ids = state.add_change(b);
        runner.ensure();
        let info = state.wait_change_ready(ids.change).await.unwrap();
        assert_eq!(info.status, "Error");
        let st: Vec<&str> = info.tasks.iter().map(|t| t.status.as_str()).collect();
        assert_eq!(st, vec!["Error", "Hold", "Done"]);
        assert_eq!(
            info.err,
            "cannot perform the following tasks:\n- Start service \"bad\" (service start attempt: exited quickly with code 1, will restart)"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn abort_flags_and_handler_sees_it() {
        let state = State::in_memory();
        let runner = TaskRunner::new(state.clone());
        runner.add_handler("stop", ok_after(1));
        runner.add_handler("start", |mut ctx: TaskContext| async move {
            tokio::select! {
                _ = ctx.abort.aborted() => Err("start aborted, sent SIGKILL to process".to_string()),
                _ = tokio::time::sleep(Duration::from_secs(1)) => Ok(()),
            }
        });
        let mut b = ChangeBuilder::new("restart", "Restart service \"g\"");
        let s = b.add_task("stop", "Stop service \"g\"");
        let t = b.add_task("start", "Start service \"g\"");
        let ls = b.new_lane();
        let lt = b.new_lane();
        b.join_lane(s, ls).join_lane(t, lt).wait_for(t, s);
        let ids = state.add_change(b);
        runner.ensure();
        tokio::time::sleep(Duration::from_millis(50)).await;
        let info = runner.abort_change(&ids.change.to_string()).unwrap();
        assert_eq!(info.status, "Abort");
        assert_eq!(info.tasks[0].status, "Undo");
        assert_eq!(info.tasks[1].status, "Abort");
        assert!(!info.ready);
        let info = state.wait_change_ready(ids.change).await.unwrap();
        assert_eq!(info.status, "Error");
        assert_eq!(info.tasks[0].status, "Done");
        assert_eq!(info.tasks[1].status, "Error");
        assert_eq!(
            runner.abort_change(&ids.change.to_string()).unwrap_err(),
            AbortError::NothingPending(ids.change.to_string())
        );
        assert_eq!(
            runner.abort_change("999").unwrap_err().to_string(),
            "cannot find change with id \"999\""
        );
    }

    #[tokio::test]
    async fn unknown_kinds_succeed() {
        let state = State::in_memory();
        let runner = TaskRunner::new(state.clone());
        let mut b = ChangeBuilder::new("weird", "Weird");
        b.add_task("weird", "Weird task");
        let ids = state.add_change(b);
        runner.ensure();
        let info = state.wait_change_ready(ids.change).await.unwrap();
        assert_eq!(info.status, "Done");
    }
}
