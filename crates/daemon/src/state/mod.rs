//! The daemon state: changes, tasks, id counters and free-form data, persisted to
//! `$PEBBLE/.pebble.state`.
//!
//! [`State`] is a cheap-to-clone handle. All mutations go through short critical sections on a
//! `std::sync::Mutex` (never held across an `.await`); every mutation bumps a version counter that
//! waiters ([`State::wait_change_ready`]) and the background persister watch.
//!
//! Creating a change: build it with [`ChangeBuilder`], then [`State::add_change`]; the
//! [`TaskRunner`] runs its tasks (call `runner.ensure()` after adding).

pub mod change;
pub mod notices;
pub mod persist;
pub mod runner;

pub use change::{Change, Status, Task};
pub use runner::{AbortSignal, TaskContext, TaskHandler, TaskRunner};

use jiff::Timestamp;
use pebble_api::ChangeInfo;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::sync::watch;

/// Errors of the state module.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// The state file exists but cannot be read or parsed.
    #[error("cannot read state file: {0}")]
    Read(String),
    /// The state file cannot be written.
    #[error("cannot write state file: {0}")]
    Write(String),
}

/// Everything that is persisted.
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
pub struct StateData {
    /// Last change id handed out.
    #[serde(default, rename = "last-change-id")]
    pub last_change_id: u64,
    /// Last task id handed out.
    #[serde(default, rename = "last-task-id")]
    pub last_task_id: u64,
    /// Last lane id handed out.
    #[serde(default, rename = "last-lane-id")]
    pub last_lane_id: u64,
    /// Last notice id handed out (for the notices subsystem).
    #[serde(default, rename = "last-notice-id")]
    pub last_notice_id: u64,
    /// Changes by id.
    #[serde(default)]
    pub changes: BTreeMap<u64, Change>,
    /// Tasks by id.
    #[serde(default)]
    pub tasks: BTreeMap<u64, Task>,
    /// Free-form data of other subsystems (identities, ...), by key.
    #[serde(default)]
    pub data: BTreeMap<String, Value>,
    /// Notices (absent in state files written before notices existed).
    #[serde(default)]
    pub notices: notices::Notices,
    /// Change status events not yet delivered to listeners.
    #[serde(skip)]
    events: Vec<ChangeEvent>,
}

/// A change was created or its status changed (what `change-update` notices record).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeEvent {
    /// Change id.
    pub change_id: u64,
    /// Change kind.
    pub kind: String,
    /// The new status.
    pub status: Status,
}

type ChangeListener = Arc<dyn Fn(&ChangeEvent) + Send + Sync>;

impl StateData {
    /// The tasks of a change, in order.
    pub fn change_tasks(&self, change: &Change) -> Vec<&Task> {
        change
            .task_ids
            .iter()
            .filter_map(|id| self.tasks.get(id))
            .collect()
    }

    /// The derived status of a change.
    pub fn change_status(&self, change: &Change) -> Status {
        change::derive_status(change.status, &self.change_tasks(change))
    }

    /// The API view of a change.
    pub fn change_info(&self, change: &Change) -> ChangeInfo {
        change.info(&self.change_tasks(change))
    }

    /// Record the ready time of a change that just became ready, queue a change event
    /// when its status changed, and record a `change-update` notice as Pebble does (Doing→Do
    /// and Undoing→Undo flips are not reported).
    fn update_ready_times(&mut self, change_id: u64) {
        self.update_status(change_id, true);
    }

    fn update_status(&mut self, change_id: u64, record_notice: bool) {
        let Some(ch) = self.changes.get(&change_id) else {
            return;
        };
        let status = self.change_status(ch);
        let Some(ch) = self.changes.get_mut(&change_id) else {
            return;
        };
        if status.is_ready() && ch.ready_time.is_none() {
            ch.ready_time = Some(Timestamp::now());
        }
        let flip = |last: Option<Status>| {
            matches!(
                (last, status),
                (Some(Status::Doing), Status::Do) | (Some(Status::Undoing), Status::Undo)
            )
        };
        if ch.last_status != Some(status) && !flip(ch.last_status) {
            ch.last_status = Some(status);
            let ev = ChangeEvent {
                change_id,
                kind: ch.kind.clone(),
                status,
            };
            self.events.push(ev);
        }
        if record_notice && ch.last_notice_status != Some(status) && !flip(ch.last_notice_status) {
            ch.last_notice_status = Some(status);
            self.add_change_notice(change_id);
        }
    }

    /// Record an occurrence of the `change-update` notice of a change: key = change id, data
    /// `kind` plus the change's `notice-data` values (e.g. `check-name`).
    pub fn add_change_notice(&mut self, change_id: u64) {
        let Some(ch) = self.changes.get(&change_id) else {
            return;
        };
        let mut data = BTreeMap::new();
        if let Some(Value::Object(extra)) = ch.data.get("notice-data") {
            for (k, v) in extra {
                if let Some(v) = v.as_str() {
                    data.insert(k.clone(), v.to_string());
                }
            }
        }
        data.insert("kind".to_string(), ch.kind.clone());
        self.add_notice(
            None,
            notices::NoticeType::ChangeUpdate,
            &change_id.to_string(),
            notices::AddNoticeOptions {
                data,
                ..Default::default()
            },
        );
    }

    /// Record a notice occurrence now; returns the notice id.
    pub fn add_notice(
        &mut self,
        user_id: Option<u32>,
        notice_type: notices::NoticeType,
        key: &str,
        opts: notices::AddNoticeOptions,
    ) -> u64 {
        let (id, _) = self.notices.add(
            &mut self.last_notice_id,
            user_id,
            notice_type,
            key,
            opts,
            Timestamp::now(),
        );
        id
    }
}

struct Inner {
    data: Mutex<StateData>,
    listeners: Mutex<Vec<ChangeListener>>,
    version: watch::Sender<u64>,
    persister: Option<persist::Persister>,
}

/// Handle to the daemon state.
#[derive(Clone)]
pub struct State {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("State").finish_non_exhaustive()
    }
}

/// Which changes `GET /v1/changes` lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Select {
    /// Changes that are not ready (the default).
    InProgress,
    /// Ready changes.
    Ready,
    /// All changes.
    All,
}

impl State {
    /// An in-memory state (`PEBBLE_PERSIST=never`, tests).
    pub fn in_memory() -> State {
        State::with(StateData::default(), None)
    }

    /// Load `path` if it exists (fixing up tasks interrupted by a daemon exit), and persist every
    /// later modification to it. Must be called inside a tokio runtime.
    pub fn load(path: PathBuf) -> Result<State, StateError> {
        let data = persist::read_state(&path)?;
        let mut data = data.unwrap_or_default();
        fix_interrupted(&mut data);
        // As Pebble, notices that expired while the daemon was down are not loaded.
        data.notices.prune(Timestamp::now());
        let persister = persist::Persister::new(path);
        let state = State::with(data, Some(persister));
        persist::spawn_writer(&state);
        state.mark_dirty();
        Ok(state)
    }

    fn with(data: StateData, persister: Option<persist::Persister>) -> State {
        let (version, _) = watch::channel(0);
        State {
            inner: Arc::new(Inner {
                data: Mutex::new(data),
                listeners: Mutex::new(Vec::new()),
                version,
                persister,
            }),
        }
    }

    /// Lock the state data for reading or modification. Call [`State::mark_dirty`] after a
    /// modification (the `modify` helper does both).
    pub fn lock(&self) -> MutexGuard<'_, StateData> {
        match self.inner.data.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    /// Run `f` on the locked data, then wake waiters and schedule a state-file write.
    pub fn modify<R>(&self, f: impl FnOnce(&mut StateData) -> R) -> R {
        let r = {
            let mut g = self.lock();
            f(&mut g)
        };
        self.mark_dirty();
        r
    }

    /// Call `f` when a change is created and whenever its status changes (the hook of
    /// `change-update` notices). Called outside the state lock.
    pub fn on_change_event(&self, f: impl Fn(&ChangeEvent) + Send + Sync + 'static) {
        let mut g = match self.inner.listeners.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        g.push(Arc::new(f));
    }

    /// Wake waiters and schedule a write of the state file.
    pub fn mark_dirty(&self) {
        let events = std::mem::take(&mut self.lock().events);
        if !events.is_empty() {
            let listeners = match self.inner.listeners.lock() {
                Ok(g) => g.clone(),
                Err(p) => p.into_inner().clone(),
            };
            for ev in &events {
                for l in &listeners {
                    l(ev);
                }
            }
        }
        self.inner.version.send_modify(|v| *v = v.wrapping_add(1));
        if let Some(p) = &self.inner.persister {
            p.schedule();
        }
    }

    /// Subscribe to modifications (the value is a version counter).
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.inner.version.subscribe()
    }

    /// Write the state file now (if persistent) and wait until it is written.
    pub async fn flush(&self) {
        if let Some(p) = &self.inner.persister {
            let version = *self.inner.version.borrow();
            p.flush(version).await;
        }
    }

    /// Serialise the state data (the state file format).
    pub fn to_json(&self) -> Vec<u8> {
        let g = self.lock();
        serde_json::to_vec(&*g).unwrap_or_default()
    }

    /// Add a change built with `builder`; returns the change id. Tasks start when the runner's
    /// `ensure()` is called next.
    pub fn add_change(&self, builder: ChangeBuilder) -> ChangeIds {
        self.modify(|d| builder.commit(d))
    }

    /// The API view of one change.
    pub fn change_info(&self, id: u64) -> Option<ChangeInfo> {
        let g = self.lock();
        g.changes.get(&id).map(|c| g.change_info(c))
    }

    /// Whether the change exists and is ready.
    pub fn change_ready(&self, id: u64) -> Option<bool> {
        let g = self.lock();
        g.changes.get(&id).map(|c| g.change_status(c).is_ready())
    }

    /// List changes (sorted by id) matching `select` and, if given, the service name.
    pub fn changes(&self, select: Select, for_service: Option<&str>) -> Vec<ChangeInfo> {
        let g = self.lock();
        g.changes
            .values()
            .filter(|c| {
                let ready = g.change_status(c).is_ready();
                match select {
                    Select::All => true,
                    Select::Ready => ready,
                    Select::InProgress => !ready,
                }
            })
            .filter(|c| match for_service {
                None => true,
                Some(name) => c
                    .data
                    .get("service-names")
                    .and_then(|v| v.as_array())
                    .is_some_and(|a| a.iter().any(|n| n.as_str() == Some(name))),
            })
            .map(|c| g.change_info(c))
            .collect()
    }

    /// Wait until the change is ready; returns its API view, or `None` if it does not exist.
    pub async fn wait_change_ready(&self, id: u64) -> Option<ChangeInfo> {
        let mut rx = self.subscribe();
        loop {
            {
                let g = self.lock();
                let c = g.changes.get(&id)?;
                if g.change_status(c).is_ready() {
                    return Some(g.change_info(c));
                }
            }
            if rx.changed().await.is_err() {
                return None;
            }
        }
    }

    /// Append a log entry to a task.
    pub fn task_log(&self, task_id: u64, level: &str, msg: &str) {
        self.modify(|d| {
            if let Some(t) = d.tasks.get_mut(&task_id) {
                t.add_log(level, msg);
            }
        });
    }

    /// Set one API data value of a task (exec: `exit-code`).
    pub fn set_task_api_data(&self, task_id: u64, key: &str, value: Value) {
        self.modify(|d| {
            if let Some(t) = d.tasks.get_mut(&task_id) {
                t.api_data.insert(key.to_string(), value);
            }
        });
    }

    /// The change id of a task.
    pub fn task_change(&self, task_id: u64) -> Option<u64> {
        self.lock().tasks.get(&task_id).map(|t| t.change)
    }

    /// A copy of a task.
    pub fn task(&self, task_id: u64) -> Option<Task> {
        self.lock().tasks.get(&task_id).cloned()
    }

    /// Read a free-form data value.
    pub fn get_data(&self, key: &str) -> Option<Value> {
        self.lock().data.get(key).cloned()
    }

    /// Set (or with `Value::Null`, remove) a free-form data value.
    pub fn set_data(&self, key: &str, value: Value) {
        self.modify(|d| {
            if value.is_null() {
                d.data.remove(key);
            } else {
                d.data.insert(key.to_string(), value);
            }
        });
    }

    /// Prune the state as Pebble's overlord does every 10 minutes (see [`PruneLimits`]):
    ///
    /// - ready changes whose ready time is older than `prune_wait` go, with their tasks, and
    ///   the oldest ready changes go while more than `max_changes` are ready;
    /// - unready changes without tasks spawned more than `prune_wait` ago go;
    /// - unready changes spawned more than `abort_wait` ago have their unready lanes aborted,
    ///   except changes carrying [`NO_PRUNE_ATTR`] (check changes);
    /// - tasks whose change is gone and spawned more than `prune_wait` ago go;
    /// - expired notices, `change-update` notices of changes that no longer exist, and the
    ///   oldest notices (by last occurrence) beyond `max_notices` go.
    ///
    /// Spawn times before `start_of_operation` (the daemon start) count as that time. Returns
    /// what was pruned and the running tasks the caller must signal (see
    /// [`TaskRunner::prune`]).
    pub fn prune(
        &self,
        start_of_operation: Timestamp,
        now: Timestamp,
        limits: &PruneLimits,
    ) -> PruneReport {
        self.modify(|d| d.prune(start_of_operation, now, limits))
    }

    /// Record a notice occurrence now (see [`notices`]); returns the notice id. Waiters of
    /// [`State::wait_notices`] are woken.
    pub fn add_notice(
        &self,
        user_id: Option<u32>,
        notice_type: notices::NoticeType,
        key: &str,
        opts: notices::AddNoticeOptions,
    ) -> u64 {
        self.modify(|d| d.add_notice(user_id, notice_type, key, opts))
    }

    /// The unexpired notices matching `filter`, sorted by last-repeated time (API view).
    pub fn notices(&self, filter: &notices::NoticeFilter) -> Vec<pebble_api::Notice> {
        let g = self.lock();
        g.notices
            .list(filter, Timestamp::now())
            .into_iter()
            .map(notices::Notice::info)
            .collect()
    }

    /// One notice by id (expired or not).
    pub fn notice(&self, id: u64) -> Option<notices::Notice> {
        self.lock().notices.get(id).cloned()
    }

    /// Find a notice by owner, type and key.
    pub fn find_notice(
        &self,
        user_id: Option<u32>,
        notice_type: notices::NoticeType,
        key: &str,
    ) -> Option<notices::Notice> {
        self.lock().notices.find(user_id, notice_type, key).cloned()
    }

    /// Wait until at least one notice matches `filter`, then return the matches (as
    /// [`State::notices`]). Only new occurrences and repeats can make a notice match later.
    pub async fn wait_notices(&self, filter: &notices::NoticeFilter) -> Vec<pebble_api::Notice> {
        let mut rx = self.subscribe();
        loop {
            rx.borrow_and_update();
            let found = self.notices(filter);
            if !found.is_empty() {
                return found;
            }
            if rx.changed().await.is_err() {
                return Vec::new();
            }
        }
    }

    /// Hand out the next notice id.
    pub fn next_notice_id(&self) -> u64 {
        self.modify(|d| {
            d.last_notice_id += 1;
            d.last_notice_id
        })
    }
}

/// The change attribute (data key) that exempts a change from the 14-day abort (set on check
/// changes, which run for as long as the check exists).
pub const NO_PRUNE_ATTR: &str = "check-no-prune";

/// The limits of [`State::prune`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PruneLimits {
    /// Age after which ready changes, empty unready changes and orphan tasks go.
    pub prune_wait: jiff::SignedDuration,
    /// Age after which the unready lanes of unready changes are aborted.
    pub abort_wait: jiff::SignedDuration,
    /// Most ready changes kept.
    pub max_changes: usize,
    /// Most notices kept.
    pub max_notices: usize,
}

impl Default for PruneLimits {
    /// Pebble's: 7 days, 14 days, 1000 changes, 1000 notices.
    fn default() -> Self {
        PruneLimits {
            prune_wait: jiff::SignedDuration::from_hours(24 * 7),
            abort_wait: jiff::SignedDuration::from_hours(24 * 14),
            max_changes: 1000,
            max_notices: 1000,
        }
    }
}

/// What [`State::prune`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PruneReport {
    /// Number of changes deleted.
    pub changes: usize,
    /// Oldest and newest time (ready time, or spawn time when unready) of the deleted changes.
    pub changes_span: Option<(Timestamp, Timestamp)>,
    /// Number of notices deleted.
    pub notices: usize,
    /// Oldest and newest last-occurred time of the deleted notices.
    pub notices_span: Option<(Timestamp, Timestamp)>,
    /// Changes whose unready lanes were aborted.
    pub aborted_changes: Vec<u64>,
    /// Running tasks flagged `Abort` whose handlers must be signalled.
    pub to_signal: Vec<u64>,
}

impl PruneReport {
    /// The daemon log lines Pebble writes for this report (Go `time.Time.String()` times):
    /// `pruned N changes from T1 to T2` and/or `pruned M notices from T1 to T2`; none when
    /// nothing was pruned (Pebble logs `pruned 0 changes and 0 notices` at debug level only).
    pub fn log_lines(&self) -> Vec<String> {
        let mut out = Vec::new();
        if let Some((from, to)) = self.changes_span {
            out.push(format!(
                "pruned {} changes from {} to {}",
                self.changes,
                crate::timefmt::go_time_string(from),
                crate::timefmt::go_time_string(to)
            ));
        }
        if let Some((from, to)) = self.notices_span {
            out.push(format!(
                "pruned {} notices from {} to {}",
                self.notices,
                crate::timefmt::go_time_string(from),
                crate::timefmt::go_time_string(to)
            ));
        }
        out
    }
}

fn widen(span: &mut Option<(Timestamp, Timestamp)>, t: Timestamp) {
    *span = Some(match *span {
        None => (t, t),
        Some((a, b)) => (a.min(t), b.max(t)),
    });
}

impl StateData {
    fn prune(
        &mut self,
        start_of_operation: Timestamp,
        now: Timestamp,
        limits: &PruneLimits,
    ) -> PruneReport {
        let mut report = PruneReport::default();
        let prune_limit = now - limits.prune_wait;
        let abort_limit = now - limits.abort_wait;
        // Ready changes, oldest ready first.
        let mut ready: Vec<(Timestamp, u64)> = Vec::new();
        let mut doomed: Vec<(u64, Timestamp)> = Vec::new();
        let mut to_abort: Vec<u64> = Vec::new();
        for c in self.changes.values() {
            // As Pebble: a change is ready for pruning once it has a ready time (a change
            // without tasks never gets one).
            if let Some(t) = c.ready_time
                && self.change_status(c).is_ready()
            {
                ready.push((t, c.id));
                continue;
            }
            let spawn = c.spawn_time.max(start_of_operation);
            if spawn < prune_limit && c.task_ids.is_empty() {
                doomed.push((c.id, c.spawn_time));
            } else if spawn < abort_limit && !c.data.contains_key(NO_PRUNE_ATTR) {
                to_abort.push(c.id);
            }
        }
        ready.sort();
        let mut ready_left = ready.len();
        for (t, id) in ready {
            if t < prune_limit || ready_left > limits.max_changes {
                doomed.push((id, t));
                ready_left -= 1;
            }
        }
        for (id, t) in doomed {
            if let Some(c) = self.changes.remove(&id) {
                for tid in c.task_ids {
                    self.tasks.remove(&tid);
                }
                report.changes += 1;
                widen(&mut report.changes_span, t);
            }
        }
        for id in to_abort {
            report
                .to_signal
                .extend(runner::abort_unready_lanes(self, id));
            self.update_ready_times(id);
            report.aborted_changes.push(id);
        }
        let changes = &self.changes;
        self.tasks
            .retain(|_, t| changes.contains_key(&t.change) || t.spawn_time >= prune_limit);

        // Notices: expired, change-update of vanished changes, then the oldest beyond the cap.
        let mut gone: Vec<Timestamp> = Vec::new();
        self.notices.list.retain(|n| {
            let vanished = n.notice_type == notices::NoticeType::ChangeUpdate
                && n.key
                    .parse::<u64>()
                    .map_or(true, |id| !changes.contains_key(&id));
            let keep = !n.expired(now) && !vanished;
            if !keep {
                gone.push(n.last_occurred);
            }
            keep
        });
        if self.notices.list.len() > limits.max_notices {
            self.notices.list.sort_by_key(|n| (n.last_occurred, n.id));
            let excess = self.notices.list.len() - limits.max_notices;
            gone.extend(self.notices.list.drain(..excess).map(|n| n.last_occurred));
        }
        report.notices = gone.len();
        for t in gone {
            widen(&mut report.notices_span, t);
        }
        report
    }
}

/// Ids assigned by [`State::add_change`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeIds {
    /// The change id.
    pub change: u64,
    /// Task ids, in the order the tasks were added to the builder.
    pub tasks: Vec<u64>,
}

struct NewTask {
    kind: String,
    summary: String,
    data: BTreeMap<String, Value>,
    lanes: Vec<usize>,
    wait: Vec<usize>,
}

/// Builds a change with its tasks, lanes and wait dependencies before it is added.
///
/// ```
/// use pebble_daemon::state::{ChangeBuilder, State};
/// let mut b = ChangeBuilder::new("exec", "Execute command \"ls\"");
/// let t = b.add_task("exec", "Execute command \"ls\"");
/// let state = State::in_memory();
/// let ids = state.add_change(b);
/// assert_eq!(ids.tasks.len(), 1);
/// # let _ = t;
/// ```
pub struct ChangeBuilder {
    kind: String,
    summary: String,
    data: BTreeMap<String, Value>,
    status: Option<Status>,
    tasks: Vec<NewTask>,
    lanes: usize,
}

impl ChangeBuilder {
    /// Start a change of `kind` with `summary`.
    pub fn new(kind: &str, summary: &str) -> ChangeBuilder {
        ChangeBuilder {
            kind: kind.to_string(),
            summary: summary.to_string(),
            data: BTreeMap::new(),
            status: None,
            tasks: Vec::new(),
            lanes: 0,
        }
    }

    /// Replace the summary (when it depends on the tasks added).
    pub fn with_summary(mut self, summary: &str) -> ChangeBuilder {
        self.summary = summary.to_string();
        self
    }

    /// Set a change data value (e.g. `service-names`).
    pub fn set_data(&mut self, key: &str, value: Value) -> &mut Self {
        self.data.insert(key.to_string(), value);
        self
    }

    /// Set an explicit status, used when the change has no tasks (an empty replan is `Done`).
    pub fn set_status(&mut self, status: Status) -> &mut Self {
        self.status = Some(status);
        self
    }

    /// Allocate a new lane (a builder-local index).
    pub fn new_lane(&mut self) -> usize {
        self.lanes += 1;
        self.lanes - 1
    }

    /// Add a task; returns its builder-local index.
    pub fn add_task(&mut self, kind: &str, summary: &str) -> usize {
        self.tasks.push(NewTask {
            kind: kind.to_string(),
            summary: summary.to_string(),
            data: BTreeMap::new(),
            lanes: Vec::new(),
            wait: Vec::new(),
        });
        self.tasks.len() - 1
    }

    /// Set a task data value (e.g. `service-name`).
    pub fn set_task_data(&mut self, task: usize, key: &str, value: Value) -> &mut Self {
        if let Some(t) = self.tasks.get_mut(task) {
            t.data.insert(key.to_string(), value);
        }
        self
    }

    /// Put a task in a lane.
    pub fn join_lane(&mut self, task: usize, lane: usize) -> &mut Self {
        if let Some(t) = self.tasks.get_mut(task) {
            t.lanes.push(lane);
        }
        self
    }

    /// Make `task` wait for `other` to be Done.
    pub fn wait_for(&mut self, task: usize, other: usize) -> &mut Self {
        if let Some(t) = self.tasks.get_mut(task)
            && other != task
            && !t.wait.contains(&other)
        {
            t.wait.push(other);
        }
        self
    }

    /// Number of tasks added so far.
    pub fn task_count(&self) -> usize {
        self.tasks.len()
    }

    fn commit(self, d: &mut StateData) -> ChangeIds {
        d.last_change_id += 1;
        let change_id = d.last_change_id;
        let lane_base = d.last_lane_id;
        d.last_lane_id += self.lanes as u64;
        let first_task = d.last_task_id + 1;
        d.last_task_id += self.tasks.len() as u64;
        let now = Timestamp::now();
        let mut task_ids = Vec::with_capacity(self.tasks.len());
        for (i, t) in self.tasks.into_iter().enumerate() {
            let id = first_task + i as u64;
            task_ids.push(id);
            d.tasks.insert(
                id,
                Task {
                    id,
                    kind: t.kind,
                    summary: t.summary,
                    status: Status::Do,
                    log: Vec::new(),
                    change: change_id,
                    lanes: t.lanes.iter().map(|l| lane_base + 1 + *l as u64).collect(),
                    wait_tasks: t.wait.iter().map(|w| first_task + *w as u64).collect(),
                    spawn_time: now,
                    ready_time: None,
                    data: t.data,
                    api_data: BTreeMap::new(),
                },
            );
        }
        let now = Timestamp::now();
        let ready = task_ids.is_empty() && self.status.is_some_and(|s| s.is_ready());
        d.changes.insert(
            change_id,
            Change {
                id: change_id,
                kind: self.kind,
                summary: self.summary,
                status: self.status,
                task_ids: task_ids.clone(),
                spawn_time: now,
                ready_time: if ready { Some(Timestamp::now()) } else { None },
                data: self.data,
                last_status: None,
                last_notice_status: None,
            },
        );
        // Pebble records a notice when the change is created, and again for an explicit
        // status set on creation (an empty replan's Done), then on every status change.
        d.add_change_notice(change_id);
        let explicit = self.status.is_some();
        d.update_status(change_id, explicit);
        ChangeIds {
            change: change_id,
            tasks: task_ids,
        }
    }
}

/// Fix up tasks that were running when the daemon exited: a `start` or `exec` task left Doing
/// is not re-run (it counts as done); other Doing tasks run again; aborts and undos complete.
fn fix_interrupted(d: &mut StateData) {
    let mut touched = Vec::new();
    for t in d.tasks.values_mut() {
        match t.status {
            Status::Doing => {
                if t.kind == "start" || t.kind == "exec" {
                    t.set_status(Status::Done);
                } else {
                    t.status = Status::Do;
                }
                touched.push(t.change);
            }
            Status::Abort => {
                t.set_status(Status::Hold);
                touched.push(t.change);
            }
            Status::Undo | Status::Undoing => {
                t.set_status(Status::Done);
                touched.push(t.change);
            }
            _ => {}
        }
    }
    for c in touched {
        d.update_ready_times(c);
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn builder_assigns_ids_lanes_and_waits() {
        let state = State::in_memory();
        let mut b = ChangeBuilder::new("start", "Start service \"a\" and 1 more");
        let l0 = b.new_lane();
        let l1 = b.new_lane();
        let a = b.add_task("start", "Start service \"a\"");
        let c = b.add_task("start", "Start service \"c\"");
        b.join_lane(a, l0).join_lane(c, l1).wait_for(c, a);
        let ids = state.add_change(b);
        assert_eq!(ids.change, 1);
        assert_eq!(ids.tasks, vec![1, 2]);
        let g = state.lock();
        assert_eq!(g.tasks[&1].lanes, vec![1]);
        assert_eq!(g.tasks[&2].lanes, vec![2]);
        assert_eq!(g.tasks[&2].wait_tasks, vec![1]);
        assert_eq!(g.last_lane_id, 2);
    }

    #[test]
    fn empty_change_with_explicit_done_is_ready() {
        let state = State::in_memory();
        let mut b = ChangeBuilder::new("replan", "Replan - no services");
        b.set_status(Status::Done);
        let ids = state.add_change(b);
        let info = state.change_info(ids.change).unwrap();
        assert_eq!(info.status, "Done");
        assert!(info.ready);
        assert!(info.ready_time.is_some());
        assert!(info.tasks.is_empty());
    }

    #[tokio::test]
    async fn change_events_are_delivered() {
        let state = State::in_memory();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let s2 = seen.clone();
        state.on_change_event(move |e| s2.lock().unwrap().push((e.change_id, e.status)));
        let runner = TaskRunner::new(state.clone());
        let mut b = ChangeBuilder::new("weird", "Weird");
        b.add_task("weird", "Weird task");
        let ids = state.add_change(b);
        runner.ensure();
        state.wait_change_ready(ids.change).await;
        assert_eq!(
            *seen.lock().unwrap(),
            vec![(1, Status::Do), (1, Status::Done)]
        );
    }

    fn days(n: i64) -> jiff::SignedDuration {
        jiff::SignedDuration::from_hours(24 * n)
    }

    fn limits(max_changes: usize, max_notices: usize) -> PruneLimits {
        PruneLimits {
            max_changes,
            max_notices,
            ..PruneLimits::default()
        }
    }

    /// A ready change spawned and ready at `t`.
    fn ready_change(state: &State, t: Timestamp) -> u64 {
        let mut b = ChangeBuilder::new("replan", "Replan - no services");
        b.set_status(Status::Done);
        let id = state.add_change(b).change;
        state.modify(|d| {
            let c = d.changes.get_mut(&id).unwrap();
            c.spawn_time = t;
            c.ready_time = Some(t);
        });
        id
    }

    /// An unready change with one task (or none), spawned at `t`.
    fn unready_change(state: &State, t: Timestamp, tasks: usize) -> ChangeIds {
        let mut b = ChangeBuilder::new("start", "Start service \"a\"");
        for _ in 0..tasks {
            b.add_task("start", "Start service \"a\"");
        }
        let ids = state.add_change(b);
        state.modify(|d| {
            let c = d.changes.get_mut(&ids.change).unwrap();
            c.spawn_time = t;
            c.status = None;
            c.ready_time = None;
            for tid in &ids.tasks {
                d.tasks.get_mut(tid).unwrap().spawn_time = t;
            }
        });
        ids
    }

    #[test]
    fn prune_drops_old_and_excess_ready_changes() {
        let state = State::in_memory();
        let now = Timestamp::now();
        let start = now - days(30);
        let old = ready_change(&state, now - days(8));
        let mid: Vec<u64> = (0..3)
            .map(|i| ready_change(&state, now - days(3) + jiff::SignedDuration::from_secs(i)))
            .collect();
        let report = state.prune(start, now, &limits(2, 1000));
        assert_eq!(report.changes, 2);
        let d = state.lock();
        assert!(!d.changes.contains_key(&old));
        assert!(
            !d.changes.contains_key(&mid[0]),
            "oldest ready beyond the cap goes"
        );
        assert!(d.changes.contains_key(&mid[1]) && d.changes.contains_key(&mid[2]));
        assert_eq!(report.changes_span, Some((now - days(8), now - days(3))));
    }

    #[test]
    fn prune_unready_without_tasks_and_orphan_tasks() {
        let state = State::in_memory();
        let now = Timestamp::now();
        let start = now - days(30);
        let empty_old = unready_change(&state, now - days(8), 0).change;
        let empty_new = unready_change(&state, now - days(6), 0).change;
        let busy = unready_change(&state, now - days(8), 1);
        // Orphan tasks: one old, one recent.
        state.modify(|d| {
            let mut t = d.tasks.get(&busy.tasks[0]).unwrap().clone();
            t.id = 100;
            t.change = 999;
            d.tasks.insert(100, t.clone());
            t.id = 101;
            t.spawn_time = now - days(1);
            d.tasks.insert(101, t);
        });
        let report = state.prune(start, now, &PruneLimits::default());
        assert_eq!(report.changes, 1);
        let d = state.lock();
        assert!(!d.changes.contains_key(&empty_old));
        assert!(d.changes.contains_key(&empty_new));
        assert!(d.changes.contains_key(&busy.change));
        assert!(d.tasks.contains_key(&busy.tasks[0]));
        assert!(!d.tasks.contains_key(&100), "old orphan task goes");
        assert!(d.tasks.contains_key(&101), "recent orphan task stays");
        assert!(
            report.aborted_changes.is_empty(),
            "8 days is below the abort wait"
        );
    }

    #[test]
    fn spawn_times_before_start_count_as_start() {
        let state = State::in_memory();
        let now = Timestamp::now();
        let empty = unready_change(&state, now - days(20), 0).change;
        let busy = unready_change(&state, now - days(20), 1);
        // The daemon started 2 days ago: neither is old enough yet.
        let report = state.prune(now - days(2), now, &PruneLimits::default());
        assert_eq!(report.changes, 0);
        assert!(report.aborted_changes.is_empty());
        assert!(state.lock().changes.contains_key(&empty));
        // Started 15 days ago: the empty one goes, the busy one is aborted.
        let report = state.prune(now - days(15), now, &PruneLimits::default());
        assert_eq!(report.changes, 1);
        assert_eq!(report.aborted_changes, vec![busy.change]);
    }

    #[test]
    fn abort_wait_aborts_unready_lanes_but_spares_check_changes() {
        let state = State::in_memory();
        let now = Timestamp::now();
        let start = now - days(30);
        // Two lanes: lane A done, lane B still to do.
        let mut b = ChangeBuilder::new("start", "Start");
        let la = b.new_lane();
        let lb = b.new_lane();
        let ta = b.add_task("start", "A");
        b.join_lane(ta, la);
        let tb = b.add_task("start", "B");
        b.join_lane(tb, lb);
        let ids = state.add_change(b);
        let mut b = ChangeBuilder::new("perform-check", "Perform exec check \"c\"");
        b.set_data(NO_PRUNE_ATTR, Value::Bool(true));
        b.add_task("perform-check", "Perform exec check \"c\"");
        let check = state.add_change(b);
        state.modify(|d| {
            for c in d.changes.values_mut() {
                c.spawn_time = now - days(15);
            }
            d.tasks
                .get_mut(&ids.tasks[0])
                .unwrap()
                .set_status(Status::Done);
        });
        let report = state.prune(start, now, &PruneLimits::default());
        assert_eq!(report.aborted_changes, vec![ids.change]);
        let d = state.lock();
        assert_eq!(
            d.tasks[&ids.tasks[0]].status,
            Status::Done,
            "ready lane kept"
        );
        assert_eq!(
            d.tasks[&ids.tasks[1]].status,
            Status::Hold,
            "unready lane aborted"
        );
        assert_eq!(
            d.tasks[&check.tasks[0]].status,
            Status::Do,
            "check change spared"
        );
    }

    #[test]
    fn abort_signals_running_tasks() {
        let state = State::in_memory();
        let now = Timestamp::now();
        let ids = unready_change(&state, now - days(15), 1);
        state.modify(|d| d.tasks.get_mut(&ids.tasks[0]).unwrap().status = Status::Doing);
        let report = state.prune(now - days(30), now, &PruneLimits::default());
        assert_eq!(report.to_signal, ids.tasks);
        assert_eq!(state.lock().tasks[&ids.tasks[0]].status, Status::Abort);
    }

    #[test]
    fn prune_notices_expired_vanished_and_excess() {
        let state = State::in_memory();
        let now = Timestamp::now();
        let kept = ready_change(&state, now - days(1));
        let doomed = ready_change(&state, now - days(8));
        let opts = notices::AddNoticeOptions::default();
        state.modify(|d| {
            // Adding changes recorded change-update notices; start afresh with known times.
            d.notices.list.clear();
            d.notices.last_time = None;
            let mut add = |key: &str, t: Timestamp| {
                let kind = if key.contains('/') {
                    notices::NoticeType::Custom
                } else {
                    notices::NoticeType::ChangeUpdate
                };
                d.notices
                    .add(&mut d.last_notice_id, None, kind, key, opts.clone(), t)
                    .0
            };
            add("a.com/expired", now - days(8));
            add(&doomed.to_string(), now - days(6));
            add(&kept.to_string(), now - days(5));
            add("a.com/1", now - days(4));
            add("a.com/2", now - days(3));
            add("a.com/3", now - days(2));
        });
        let report = state.prune(now - days(30), now, &limits(1000, 2));
        assert_eq!(report.changes, 1);
        // expired + the change-update of the pruned change + 2 oldest beyond the cap of 2.
        assert_eq!(report.notices, 4);
        assert_eq!(report.notices_span, Some((now - days(8), now - days(4))));
        let d = state.lock();
        let keys: Vec<&str> = d.notices.list.iter().map(|n| n.key.as_str()).collect();
        assert_eq!(keys, vec!["a.com/2", "a.com/3"]);
    }

    #[test]
    fn prune_log_lines() {
        let t1: Timestamp = "2025-04-29T23:00:12.035231144Z".parse().unwrap();
        let t2: Timestamp = "2025-05-01T13:24:18Z".parse().unwrap();
        let report = PruneReport {
            changes: 500,
            changes_span: Some((t1, t2)),
            notices: 3,
            notices_span: Some((t1, t1)),
            ..PruneReport::default()
        };
        let lines = report.log_lines();
        if crate::timefmt::go_time_string(t2).ends_with(" +0000 UTC") {
            assert_eq!(
                lines,
                vec![
                    "pruned 500 changes from 2025-04-29 23:00:12.035231144 +0000 UTC to \
                     2025-05-01 13:24:18 +0000 UTC",
                    "pruned 3 notices from 2025-04-29 23:00:12.035231144 +0000 UTC to \
                     2025-04-29 23:00:12.035231144 +0000 UTC",
                ]
            );
        }
        assert_eq!(lines.len(), 2);
        assert!(PruneReport::default().log_lines().is_empty());
    }

    #[test]
    fn select_and_for_filters() {
        let state = State::in_memory();
        let mut b = ChangeBuilder::new("start", "Start service \"a\"");
        b.add_task("start", "Start service \"a\"");
        b.set_data("service-names", serde_json::json!(["a"]));
        state.add_change(b);
        let mut b = ChangeBuilder::new("replan", "Replan - no services");
        b.set_status(Status::Done);
        state.add_change(b);
        assert_eq!(state.changes(Select::All, None).len(), 2);
        assert_eq!(state.changes(Select::InProgress, None).len(), 1);
        assert_eq!(state.changes(Select::Ready, None).len(), 1);
        assert_eq!(state.changes(Select::All, Some("a")).len(), 1);
        assert_eq!(state.changes(Select::All, Some("b")).len(), 0);
    }

    #[tokio::test]
    async fn expired_notices_are_not_loaded() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(".pebble.state");
        let mut d = StateData::default();
        let old = Timestamp::now() - jiff::SignedDuration::from_hours(24 * 8);
        let opts = notices::AddNoticeOptions::default();
        d.notices.add(
            &mut d.last_notice_id,
            None,
            notices::NoticeType::Custom,
            "a.com/old",
            opts.clone(),
            old,
        );
        d.notices.add(
            &mut d.last_notice_id,
            None,
            notices::NoticeType::Custom,
            "a.com/new",
            opts,
            Timestamp::now(),
        );
        std::fs::write(&path, serde_json::to_vec(&d).unwrap()).unwrap();
        let state = State::load(path).unwrap();
        assert!(state.notice(1).is_none());
        assert_eq!(state.notice(2).unwrap().key, "a.com/new");
        assert_eq!(state.lock().last_notice_id, 2);
    }

    #[test]
    fn interrupted_start_is_not_rerun() {
        let state = State::in_memory();
        let mut b = ChangeBuilder::new("replan", "Replan service \"a\" and 1 more");
        let s = b.add_task("stop", "Stop service \"a\"");
        let t = b.add_task("start", "Start service \"a\"");
        b.wait_for(t, s);
        state.add_change(b);
        let mut d = state.lock().clone();
        d.tasks.get_mut(&1).unwrap().status = Status::Doing;
        d.tasks.get_mut(&2).unwrap().status = Status::Doing;
        fix_interrupted(&mut d);
        assert_eq!(d.tasks[&1].status, Status::Do);
        assert_eq!(d.tasks[&2].status, Status::Done);
    }
}
