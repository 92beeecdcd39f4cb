//! The glue: the [`Daemon`] handle (plan manager, state, task runner, service manager, identity
//! defaults, extensions) and the service actions that create changes.
//!
//! Other subsystems hook in without editing this file:
//! - task handlers: `daemon.runner().add_handler("exec", handler)`;
//! - plan listeners: [`Daemon::on_plan_change`];
//! - their own managers: [`Daemon::set_extension`] / [`Daemon::extension`];
//! - health: [`Daemon::set_health_source`]; identities: [`Daemon::set_user_resolver`].

use crate::http::router::{Transport, UserAccess, UserState};
use crate::servstate::{ServiceError, ServiceManager, ServiceManagerOptions};
use crate::state::{ChangeBuilder, ChangeIds, State, Status, TaskContext, TaskRunner};
use crate::sys::Spawner;
use crate::users::UserDb;
use pebble_plan::quote::go_quote;
use pebble_plan::{Layer, Plan, PlanError};
use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::sync::watch;

/// The version reported by `GET /v1/system-info`.
pub const VERSION: &str = "v1.32.1";

/// Errors starting the daemon (`cannot run daemon: <this>`).
#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    /// `$PEBBLE` problems (`directory "<d>" must be absolute` etc.).
    #[error("{0}")]
    Dir(String),
    /// The layers directory is invalid.
    #[error("cannot load plan: {0}")]
    Plan(String),
    /// The state file cannot be read.
    #[error(transparent)]
    State(#[from] crate::state::StateError),
    /// Listening failed.
    #[error("{0}")]
    Listen(String),
    /// `--args` problems.
    #[error("{0}")]
    Args(String),
    /// The reaper could not start.
    #[error("cannot start reaper: {0}")]
    Reaper(String),
    /// `--identities FILE` could not be applied.
    #[error("{0}")]
    Identities(String),
}

/// Options of [`Daemon::new`].
pub struct DaemonOptions {
    /// `$PEBBLE` (must exist).
    pub pebble_dir: PathBuf,
    /// Persist state to `$PEBBLE/.pebble.state` (false for `PEBBLE_PERSIST=never`).
    pub persist: bool,
    /// Copy service output to stdout.
    pub verbose: bool,
    /// `--http` address, reported by system-info.
    pub http_address: Option<String>,
    /// Process spawner (default: the real one with the process-wide reaper).
    pub spawner: Option<Arc<dyn Spawner>>,
    /// User database (default: `/etc/passwd` and `/etc/group`).
    pub users: Option<Arc<dyn UserDb>>,
}

impl DaemonOptions {
    /// Defaults for a `$PEBBLE` directory.
    pub fn new(pebble_dir: impl Into<PathBuf>) -> DaemonOptions {
        DaemonOptions {
            pebble_dir: pebble_dir.into(),
            persist: true,
            verbose: false,
            http_address: None,
            spawner: None,
            users: None,
        }
    }
}

/// Health of checks, provided by the checks subsystem: `(level, names) -> healthy`.
pub type HealthSource = Arc<dyn Fn(&str, &[String]) -> Result<bool, String> + Send + Sync>;
/// Resolves the caller of a request (identities): `(transport, peer uid, headers)`.
pub type UserResolver =
    Arc<dyn Fn(Transport, Option<u32>, &http::HeaderMap) -> Option<UserState> + Send + Sync>;
type PlanListener = Arc<dyn Fn(&Arc<Plan>) + Send + Sync>;

struct PlanState {
    layers: Vec<Layer>,
    plan: Arc<Plan>,
}

struct Inner {
    pebble_dir: PathBuf,
    state: State,
    runner: TaskRunner,
    services: Arc<ServiceManager>,
    spawner: Arc<dyn Spawner>,
    users: Arc<dyn UserDb>,
    plan: Mutex<PlanState>,
    plan_listeners: Mutex<Vec<PlanListener>>,
    boot_id: String,
    http_address: String,
    uid: u32,
    verbose: bool,
    health: Mutex<Option<HealthSource>>,
    user_resolver: Mutex<Option<UserResolver>>,
    extensions: Mutex<HashMap<TypeId, Arc<dyn Any + Send + Sync>>>,
    shutdown: watch::Sender<Option<i32>>,
}

/// Handle to the daemon; cheap to clone.
#[derive(Clone)]
pub struct Daemon {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Daemon {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Daemon")
            .field("pebble_dir", &self.inner.pebble_dir)
            .finish_non_exhaustive()
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    match m.lock() {
        Ok(g) => g,
        Err(p) => p.into_inner(),
    }
}

fn io_text(e: &std::io::Error) -> String {
    crate::sys::errno_text(e)
}

/// Read the boot id (a random UUID when running as PID 1, as Pebble does).
fn boot_id() -> String {
    if std::process::id() != 1
        && let Ok(s) = std::fs::read_to_string("/proc/sys/kernel/random/boot_id")
    {
        return s.trim().to_string();
    }
    let b: [u8; 16] = std::array::from_fn(|_| fastrand::u8(..));
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-4{}-{:x}{}-{}",
        &h[0..8],
        &h[8..12],
        &h[13..16],
        (b[8] & 0x3) | 0x8,
        &h[17..20],
        &h[20..32]
    )
}

/// Load `$PEBBLE/layers` (missing dir = no layers).
pub fn load_layers(dir: &Path) -> Result<Vec<Layer>, String> {
    let mut entries = match std::fs::read_dir(dir) {
        Ok(rd) => rd
            .map(|e| e.map(|e| e.file_name().to_string_lossy().into_owned()))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| format!("cannot read layers directory: {}", io_text(&e)))?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(format!("cannot read layers directory: {}", io_text(&e))),
    };
    entries.sort();
    let read = |p: &Path| {
        std::fs::read(p).map_err(|e| {
            format!(
                "cannot read layer file: open {}: {}",
                p.display(),
                io_text(&e)
            )
        })
    };
    let mut layers = Vec::new();
    let mut names = pebble_plan::LayerNameSet::default();
    for name in entries {
        let path = dir.join(&name);
        let is_dir = std::fs::metadata(&path)
            .map(|m| m.is_dir())
            .unwrap_or(false);
        if is_dir {
            let Some((order, label)) =
                pebble_plan::parse_layer_dir_name(&name).map_err(|e| e.to_string())?
            else {
                continue;
            };
            names
                .insert(&name, order, &label)
                .map_err(|e| e.to_string())?;
            let mut inner: Vec<String> = std::fs::read_dir(&path)
                .map_err(|e| format!("cannot read layers directory: {}", io_text(&e)))?
                .filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect();
            inner.sort();
            let mut inner_names = pebble_plan::LayerNameSet::default();
            for iname in inner {
                let ipath = path.join(&iname);
                if std::fs::metadata(&ipath)
                    .map(|m| m.is_dir())
                    .unwrap_or(false)
                {
                    return Err(pebble_plan::stack::SUBDIR_NOT_ALLOWED.to_string());
                }
                let Some((iorder, ilabel)) =
                    pebble_plan::parse_layer_file_name(&iname).map_err(|e| e.to_string())?
                else {
                    continue;
                };
                inner_names
                    .insert(&iname, iorder, &ilabel)
                    .map_err(|e| e.to_string())?;
                let (order, label) =
                    pebble_plan::layer_order_label((order, &label), Some((iorder, &ilabel)));
                let bytes = read(&ipath)?;
                layers.push(
                    pebble_plan::parse_layer(order, &label, &bytes).map_err(|e| e.to_string())?,
                );
            }
        } else {
            let Some((order, label)) =
                pebble_plan::parse_layer_file_name(&name).map_err(|e| e.to_string())?
            else {
                continue;
            };
            names
                .insert(&name, order, &label)
                .map_err(|e| e.to_string())?;
            let (order, label) = pebble_plan::layer_order_label((order, &label), None);
            let bytes = read(&path)?;
            layers
                .push(pebble_plan::parse_layer(order, &label, &bytes).map_err(|e| e.to_string())?);
        }
    }
    Ok(layers)
}

/// Write a security event line (`{"type":"security",...}`) to the daemon log.
pub fn security_event(event: &str, description: &str) {
    #[derive(serde::Serialize)]
    struct Ev<'a> {
        #[serde(rename = "type")]
        type_: &'a str,
        datetime: String,
        level: &'a str,
        event: &'a str,
        description: &'a str,
        appid: &'a str,
    }
    let now = jiff::Timestamp::now();
    let secs = jiff::Timestamp::from_second(now.as_second()).unwrap_or(now);
    let ev = Ev {
        type_: "security",
        datetime: secs.to_string(),
        level: "WARN",
        event,
        description,
        appid: "pebble",
    };
    let text = String::from_utf8(pebble_api::to_go_json(&ev)).unwrap_or_default();
    crate::pebble_log!("{}", text);
}

/// Errors of service actions (`POST /v1/services`), with their HTTP meaning.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ActionError {
    /// 400 with a message.
    #[error("{0}")]
    BadRequest(String),
    /// 400 `no default services`, kind `no-default-services`.
    #[error("no default services")]
    NoDefaultServices,
}

fn title(action: &str) -> String {
    let mut c = action.chars();
    match c.next() {
        Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
        None => String::new(),
    }
}

fn summary(action: &str, first: Option<&str>, count: usize) -> String {
    match first {
        None => format!("{} - no services", title(action)),
        Some(f) if count > 1 => format!(
            "{} service {} and {} more",
            title(action),
            go_quote(f),
            count - 1
        ),
        Some(f) => format!("{} service {}", title(action), go_quote(f)),
    }
}

/// Pebble's workload validation against the user database: `workload "<w>": <err>`.
fn check_workload_users(plan: &Plan, users: &dyn UserDb) -> Result<(), PlanError> {
    plan.validate_workload_users(|w| {
        users
            .normalize_uid_gid(w.user_id, w.group_id, &w.user, &w.group)
            .map(|_| ())
    })
}

/// Add `kind` tasks for `lanes` to `b`; returns the task indices.
fn add_lanes(b: &mut ChangeBuilder, kind: &str, lanes: &[Vec<String>]) -> Vec<usize> {
    let verb = if kind == "start" { "Start" } else { "Stop" };
    let mut all = Vec::new();
    for lane_names in lanes {
        if lane_names.is_empty() {
            continue;
        }
        let lane = b.new_lane();
        let mut prev: Option<usize> = None;
        for name in lane_names {
            let t = b.add_task(kind, &format!("{verb} service {}", go_quote(name)));
            b.set_task_data(t, "service-name", serde_json::Value::String(name.clone()));
            b.join_lane(t, lane);
            if let Some(p) = prev {
                b.wait_for(t, p);
            }
            prev = Some(t);
            all.push(t);
        }
    }
    all
}

impl Daemon {
    /// Create the daemon: load the layers and the state, create the managers and register the
    /// `start`/`stop` task handlers. Must be called inside a tokio runtime.
    pub fn new(opts: DaemonOptions) -> Result<Daemon, DaemonError> {
        let layers_dir = opts.pebble_dir.join("layers");
        let layers = load_layers(&layers_dir).map_err(DaemonError::Plan)?;
        let plan =
            pebble_plan::combine_layers(&layers).map_err(|e| DaemonError::Plan(e.to_string()))?;
        let state = if opts.persist {
            State::load(opts.pebble_dir.join(".pebble.state"))?
        } else {
            State::in_memory()
        };
        let spawner: Arc<dyn Spawner> = match opts.spawner {
            Some(s) => s,
            None => {
                let reaper = crate::reaper::Reaper::start()
                    .map_err(|e| DaemonError::Reaper(e.to_string()))?;
                Arc::new(crate::sys::RealSpawner::new(reaper))
            }
        };
        let users: Arc<dyn UserDb> = match opts.users {
            Some(u) => u,
            None => Arc::new(crate::users::FileUserDb::default()),
        };
        check_workload_users(&plan, users.as_ref())
            .map_err(|e| DaemonError::Plan(e.to_string()))?;
        let services = ServiceManager::new(
            spawner.clone(),
            ServiceManagerOptions {
                verbose: opts.verbose,
                users: users.clone(),
            },
        );
        let plan = Arc::new(plan);
        services.set_plan(plan.clone());
        let runner = TaskRunner::new(state.clone());
        let (shutdown, _) = watch::channel(None);
        let daemon = Daemon {
            inner: Arc::new(Inner {
                pebble_dir: opts.pebble_dir,
                state,
                runner,
                services,
                spawner,
                users,
                plan: Mutex::new(PlanState { layers, plan }),
                plan_listeners: Mutex::new(Vec::new()),
                boot_id: boot_id(),
                http_address: opts.http_address.unwrap_or_default(),
                uid: nix::unistd::getuid().as_raw(),
                verbose: opts.verbose,
                health: Mutex::new(None),
                user_resolver: Mutex::new(None),
                extensions: Mutex::new(HashMap::new()),
                shutdown,
            }),
        };
        daemon.register_service_handlers();
        crate::identities::install(&daemon);
        crate::checks::install(&daemon);
        Ok(daemon)
    }

    fn register_service_handlers(&self) {
        let svc = self.inner.services.clone();
        self.inner
            .runner
            .add_handler("start", move |mut ctx: TaskContext| {
                let svc = svc.clone();
                async move {
                    let name = ctx.data_str("service-name").unwrap_or_default().to_string();
                    let log = ctx.log.clone();
                    tokio::select! {
                        r = svc.start(&name, &log) => r.map_err(|e| e.to_string()),
                        _ = ctx.abort.aborted() => Err(ServiceError::StartAborted.to_string()),
                    }
                }
            });
        let svc = self.inner.services.clone();
        self.inner
            .runner
            .add_handler("stop", move |ctx: TaskContext| {
                let svc = svc.clone();
                async move {
                    let name = ctx.data_str("service-name").unwrap_or_default().to_string();
                    svc.stop(&name, &ctx.log).await.map_err(|e| e.to_string())
                }
            });
    }

    /// `$PEBBLE`.
    pub fn pebble_dir(&self) -> &Path {
        &self.inner.pebble_dir
    }

    /// The state (changes, tasks, free-form data).
    pub fn state(&self) -> &State {
        &self.inner.state
    }

    /// The task runner (register handlers, `ensure()` after adding a change).
    pub fn runner(&self) -> &TaskRunner {
        &self.inner.runner
    }

    /// The service manager.
    pub fn services(&self) -> &Arc<ServiceManager> {
        &self.inner.services
    }

    /// The process spawner (shared with exec and checks).
    pub fn spawner(&self) -> &Arc<dyn Spawner> {
        &self.inner.spawner
    }

    /// The user database.
    pub fn users(&self) -> &Arc<dyn UserDb> {
        &self.inner.users
    }

    /// Whether `--verbose` is on.
    pub fn verbose(&self) -> bool {
        self.inner.verbose
    }

    /// Boot id for system-info.
    pub fn boot_id(&self) -> &str {
        &self.inner.boot_id
    }

    /// `--http` address (empty if none).
    pub fn http_address(&self) -> &str {
        &self.inner.http_address
    }

    /// The daemon's own uid.
    pub fn uid(&self) -> u32 {
        self.inner.uid
    }

    /// The current combined plan.
    pub fn plan(&self) -> Arc<Plan> {
        lock(&self.inner.plan).plan.clone()
    }

    /// The current layers.
    pub fn layers(&self) -> Vec<Layer> {
        lock(&self.inner.plan).layers.clone()
    }

    /// Call `f` with the new plan after every plan change (and not for the initial plan).
    pub fn on_plan_change(&self, f: impl Fn(&Arc<Plan>) + Send + Sync + 'static) {
        lock(&self.inner.plan_listeners).push(Arc::new(f));
    }

    fn set_layers(&self, layers: Vec<Layer>) -> Result<(), PlanError> {
        let plan = pebble_plan::combine_layers(&layers)?;
        check_workload_users(&plan, self.inner.users.as_ref())?;
        let plan = Arc::new(plan);
        {
            let mut g = lock(&self.inner.plan);
            // The workloads section is immutable once the layers directory is loaded.
            if plan.workloads != g.plan.workloads {
                return Err(PlanError::Invalid(
                    "cannot change immutable section \"workloads\"".into(),
                ));
            }
            g.layers = layers;
            g.plan = plan.clone();
        }
        self.inner.services.set_plan(plan.clone());
        let listeners = lock(&self.inner.plan_listeners).clone();
        for l in listeners {
            l(&plan);
        }
        Ok(())
    }

    /// Add a layer as `POST /v1/layers` does (append, or combine into the same label).
    pub fn add_layer(&self, layer: Layer, combine: bool, inner: bool) -> Result<(), PlanError> {
        let layers = self.layers();
        let new = pebble_plan::add_layer(&layers, layer, combine, inner)?;
        self.set_layers(new)
    }

    /// Apply `pebble run --args`: an internal `pebble-service-args` layer replacing the default
    /// arguments of each named service.
    pub fn set_service_args(&self, args: &[(String, Vec<String>)]) -> Result<(), DaemonError> {
        if args.is_empty() {
            return Ok(());
        }
        let plan = self.plan();
        let mut layer = Layer {
            label: "pebble-service-args".into(),
            ..Layer::default()
        };
        for (name, a) in args {
            let Some(svc) = plan.services.get(name) else {
                return Err(DaemonError::Args(format!(
                    "service {} not found in plan",
                    go_quote(name)
                )));
            };
            let command = svc
                .command_with_args(a)
                .map_err(|e| DaemonError::Args(e.to_string()))?;
            layer.services.insert(
                name.clone(),
                pebble_plan::Service {
                    name: name.clone(),
                    override_: Some(pebble_plan::Override::Merge),
                    command,
                    ..Default::default()
                },
            );
        }
        self.add_layer(layer, true, false)
            .map_err(|e| DaemonError::Args(e.to_string()))
    }

    /// Install the health source (checks subsystem).
    pub fn set_health_source(&self, f: HealthSource) {
        *lock(&self.inner.health) = Some(f);
    }

    /// Health for `GET /v1/health` (healthy when no source is installed).
    pub fn health(&self, level: &str, names: &[String]) -> Result<bool, String> {
        let src = lock(&self.inner.health).clone();
        match src {
            Some(f) => f(level, names),
            None => Ok(true),
        }
    }

    /// Install an identity resolver (identities subsystem); `None` from it falls back to the
    /// uid defaults.
    pub fn set_user_resolver(&self, f: UserResolver) {
        *lock(&self.inner.user_resolver) = Some(f);
    }

    /// Work out the caller: a resolver's answer, else root or the daemon's uid = admin, other
    /// local uids = read, no uid = nobody.
    pub fn user_for(
        &self,
        transport: Transport,
        uid: Option<u32>,
        headers: &http::HeaderMap,
    ) -> Option<UserState> {
        // Called under the lock (no clone of the resolver per request): resolvers do not call
        // back into the daemon.
        if let Some(u) = lock(&self.inner.user_resolver)
            .as_ref()
            .and_then(|r| r(transport, uid, headers))
        {
            return Some(u);
        }
        let uid = uid?;
        let access = if uid == 0 || uid == self.inner.uid {
            UserAccess::Admin
        } else {
            UserAccess::Read
        };
        Some(UserState {
            access,
            uid: Some(uid),
            username: None,
        })
    }

    /// Store a subsystem's manager.
    pub fn set_extension<T: Any + Send + Sync>(&self, value: Arc<T>) {
        lock(&self.inner.extensions).insert(TypeId::of::<T>(), value);
    }

    /// Fetch a subsystem's manager.
    pub fn extension<T: Any + Send + Sync>(&self) -> Option<Arc<T>> {
        let v = lock(&self.inner.extensions)
            .get(&TypeId::of::<T>())
            .cloned()?;
        v.downcast::<T>().ok()
    }

    /// Ask the daemon to exit with `code` (the first request wins).
    pub fn request_shutdown(&self, code: i32) {
        self.inner.shutdown.send_if_modified(|cur| {
            if cur.is_none() {
                *cur = Some(code);
                true
            } else {
                false
            }
        });
    }

    /// Receiver of shutdown requests (`Some(exit code)`).
    pub fn shutdown_requests(&self) -> watch::Receiver<Option<i32>> {
        self.inner.shutdown.subscribe()
    }

    /// Run a service action (`start`, `stop`, `restart`, `autostart`, `replan`) as
    /// `POST /v1/services` does; returns the new change and starts its tasks.
    pub fn service_action(&self, action: &str, names: &[String]) -> Result<ChangeIds, ActionError> {
        match action {
            "replan" | "autostart" => {
                if !names.is_empty() {
                    return Err(ActionError::BadRequest(format!(
                        "{action} accepts no service names"
                    )));
                }
            }
            _ => {
                if names.is_empty() {
                    return Err(ActionError::BadRequest(format!(
                        "must specify services for {action} action"
                    )));
                }
            }
        }
        let plan = self.plan();
        let order_err =
            |e: PlanError| ActionError::BadRequest(format!("cannot {action} services: {e}"));
        let mut b = ChangeBuilder::new(action, "");
        let (first, count, service_names): (Option<String>, usize, Vec<String>) = match action {
            "start" | "autostart" => {
                let names = if action == "autostart" {
                    let mut d = plan.startup_enabled_services();
                    d.sort();
                    if d.is_empty() {
                        return Err(ActionError::NoDefaultServices);
                    }
                    d
                } else {
                    names.to_vec()
                };
                let lanes = plan.start_order(&names).map_err(order_err)?;
                let n = add_lanes(&mut b, "start", &lanes).len();
                (names.first().cloned(), n, names)
            }
            "stop" => {
                let lanes = plan.stop_order(names).map_err(order_err)?;
                let n = add_lanes(&mut b, "stop", &lanes).len();
                (names.first().cloned(), n, names.to_vec())
            }
            "restart" => {
                let stop_lanes: Vec<Vec<String>> = plan
                    .stop_order(names)
                    .map_err(order_err)?
                    .into_iter()
                    .map(|l| l.into_iter().filter(|n| names.contains(n)).collect())
                    .collect();
                let start_lanes = plan.start_order(names).map_err(order_err)?;
                let stops = add_lanes(&mut b, "stop", &stop_lanes);
                let starts = add_lanes(&mut b, "start", &start_lanes);
                for t in &starts {
                    for s in &stops {
                        b.wait_for(*t, *s);
                    }
                }
                (names.first().cloned(), starts.len(), names.to_vec())
            }
            "replan" => {
                if let Some(checks) = self.extension::<crate::checks::CheckManager>() {
                    checks.replan();
                }
                let (to_stop, to_start) = self.inner.services.replan_lists();
                let stop_lanes = plan.stop_order(&to_stop).map_err(order_err)?;
                let start_lanes = plan.start_order(&to_start).map_err(order_err)?;
                let stops = add_lanes(&mut b, "stop", &stop_lanes);
                let starts = add_lanes(&mut b, "start", &start_lanes);
                for t in &starts {
                    for s in &stops {
                        b.wait_for(*t, *s);
                    }
                }
                let mut all: Vec<String> = start_lanes.iter().flatten().cloned().collect();
                all.sort();
                all.dedup();
                (to_start.first().cloned(), all.len(), to_start)
            }
            other => {
                return Err(ActionError::BadRequest(format!(
                    "invalid action {}",
                    go_quote(other)
                )));
            }
        };
        let first = if b.task_count() == 0 { None } else { first };
        let mut b = b.with_summary(&summary(action, first.as_deref(), count));
        if b.task_count() == 0 {
            b.set_status(Status::Done);
        }
        b.set_data(
            "service-names",
            serde_json::Value::Array(
                service_names
                    .into_iter()
                    .map(serde_json::Value::String)
                    .collect(),
            ),
        );
        let ids = self.inner.state.add_change(b);
        self.inner.runner.ensure();
        Ok(ids)
    }

    /// Stop every running service (daemon shutdown): a `stop` change `Stop all running
    /// services`, waited for at most `max(5s, kill-delays) + 5s + 100ms`.
    pub async fn stop_running_services(&self) {
        let active = self.inner.services.active_services();
        if active.is_empty() {
            return;
        }
        let plan = self.plan();
        let in_plan: Vec<String> = active
            .iter()
            .filter(|n| plan.services.contains_key(*n))
            .cloned()
            .collect();
        let lanes = match plan.stop_order(&in_plan) {
            Ok(l) => l
                .into_iter()
                .map(|l| l.into_iter().filter(|n| active.contains(n)).collect())
                .collect(),
            Err(_) => vec![in_plan.clone()],
        };
        let mut b = ChangeBuilder::new("stop", "Stop all running services");
        add_lanes(&mut b, "stop", &lanes);
        crate::pebble_log!("Stopping all running services.");
        let ids = self.inner.state.add_change(b);
        self.inner.runner.ensure();
        let max_kill = active
            .iter()
            .map(|n| self.inner.services.kill_delay(n))
            .max()
            .unwrap_or_default()
            .max(Duration::from_secs(5));
        let timeout = max_kill + Duration::from_secs(5) + Duration::from_millis(100);
        if tokio::time::timeout(timeout, self.inner.state.wait_change_ready(ids.change))
            .await
            .is_err()
        {
            crate::pebble_log!("Cannot stop running services: timeout stopping running services");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summaries() {
        assert_eq!(
            summary("start", Some("a"), 3),
            "Start service \"a\" and 2 more"
        );
        assert_eq!(
            summary("autostart", Some("a"), 1),
            "Autostart service \"a\""
        );
        assert_eq!(summary("replan", None, 0), "Replan - no services");
    }
}
