//! [`FakeContainer`]: an in-memory [`Workload`] for unit tests.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use pebble_api::files::FileInfo;
use pebble_api::{CheckInfo, Notice};
use pebble_client::container::{
    ByteStream, ContainerError, ExecOptions, ExecProcess, LayerInput, ListFilesOptions,
    MakeDirOptions, PushOptions, PushSource, ServiceInfo, ServiceStartup, ServiceStatus, Workload,
};
use pebble_plan::quote::go_quote;
use pebble_plan::{Layer, Plan, PlanError, Service};

use crate::exec::{self, ExecRecord, Handler, Mock, MockResult};
use crate::fs::{FakeFs, FileMeta};

/// One effect of a service action, recorded in order by the fake.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServiceEvent {
    /// The service was started.
    Started(String),
    /// The service was stopped.
    Stopped(String),
    /// A signal was sent to the service.
    Signalled {
        /// The service.
        service: String,
        /// The signal name.
        signal: String,
    },
}

/// One accepted service-action call (`start`, `stop`, `restart`, `autostart`, `replan`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceCall {
    /// The action.
    pub action: String,
    /// The services named in the call (empty for autostart/replan).
    pub services: Vec<String>,
}

#[derive(Debug, Default)]
struct State {
    can_connect: bool,
    layers: Vec<Layer>,
    plan: Plan,
    status: BTreeMap<String, ServiceStatus>,
    started_config: BTreeMap<String, Service>,
    events: Vec<ServiceEvent>,
    calls: Vec<ServiceCall>,
    mocks: Vec<Mock>,
    checks: BTreeMap<String, CheckInfo>,
    notices: Vec<Notice>,
    next_id: u64,
    quick_exits: BTreeMap<String, i32>,
    failures: Vec<String>,
}

impl State {
    fn new_id(&mut self) -> String {
        self.next_id += 1;
        self.next_id.to_string()
    }
}

struct Inner {
    name: String,
    state: Mutex<State>,
    fs: FakeFs,
    history: Arc<Mutex<Vec<ExecRecord>>>,
}

/// A fake workload container: layers and plan computed with `pebble_plan` (the daemon's own
/// code), simulated service states, exec mocks, a temp-directory filesystem, check infos and
/// notices. Cloning gives another handle to the same container, so a test can keep one while
/// the code under test uses the other.
///
/// Every call fails with [`ContainerError::Connection`] while `can_connect` is false.
#[derive(Clone)]
pub struct FakeContainer {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for FakeContainer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeContainer")
            .field("name", &self.inner.name)
            .field("root", &self.inner.fs.root.path())
            .finish()
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    match m.lock() {
        Ok(g) => g,
        Err(p) => p.into_inner(),
    }
}

fn names_of(services: &[&str]) -> Vec<String> {
    services.iter().map(|s| s.to_string()).collect()
}

fn flatten(lanes: Vec<Vec<String>>) -> Vec<String> {
    lanes.into_iter().flatten().collect()
}

fn now() -> String {
    jiff::Timestamp::now().to_string()
}

impl FakeContainer {
    /// A connectable fake container named `workload` with an empty plan.
    ///
    /// # Panics
    /// If no temporary directory can be created.
    pub fn new() -> Self {
        Self::named("workload")
    }

    /// A connectable fake container with a name (used in messages).
    ///
    /// # Panics
    /// If no temporary directory can be created.
    #[allow(clippy::expect_used)]
    pub fn named(name: &str) -> Self {
        Self::try_named(name).expect("cannot create a temporary directory for the fake container")
    }

    /// Like [`FakeContainer::named`], returning the error if no temporary directory can be
    /// created.
    pub fn try_named(name: &str) -> std::io::Result<Self> {
        let fs = FakeFs::new()?;
        Ok(FakeContainer {
            inner: Arc::new(Inner {
                name: name.to_string(),
                state: Mutex::new(State {
                    can_connect: true,
                    ..State::default()
                }),
                fs,
                history: Arc::new(Mutex::new(Vec::new())),
            }),
        })
    }

    /// Adds an initial layer (builder style), e.g. from [`crate::layer_from_rockcraft`].
    pub fn with_layer(
        self,
        label: &str,
        layer: impl Into<LayerInput>,
    ) -> Result<Self, ContainerError> {
        self.add_layer_sync(label, layer.into(), false)?;
        Ok(self)
    }

    /// The container's name.
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    fn state(&self) -> MutexGuard<'_, State> {
        lock(&self.inner.state)
    }

    /// Makes Pebble reachable or not; while not, every call fails with
    /// [`ContainerError::Connection`].
    pub fn set_can_connect(&self, yes: bool) {
        self.state().can_connect = yes;
    }

    fn connected(&self) -> Result<(), ContainerError> {
        if self.state().can_connect {
            Ok(())
        } else {
            Err(ContainerError::Connection(format!(
                "cannot connect to Pebble of fake container {:?}: can_connect is false \
                 (call set_can_connect(true) to simulate a ready container)",
                self.inner.name
            )))
        }
    }

    /// The layers, in order (labels in [`Layer::label`]).
    pub fn layers(&self) -> Vec<Layer> {
        self.state().layers.clone()
    }

    /// The current combined plan.
    pub fn plan(&self) -> Plan {
        self.state().plan.clone()
    }

    /// The simulated status of a service (`inactive` if never started).
    pub fn service_status(&self, name: &str) -> ServiceStatus {
        self.state()
            .status
            .get(name)
            .cloned()
            .unwrap_or(ServiceStatus::Inactive)
    }

    /// Forces the status of a service (e.g. `Error` to simulate a crash).
    pub fn set_service_status(&self, name: &str, status: ServiceStatus) {
        self.state().status.insert(name.to_string(), status);
    }

    /// Makes the service exit right after each start, as a process that exits within Pebble's
    /// one-second start check does: the start fails with [`ContainerError::Change`] and the
    /// service goes to `backoff` (`on-failure: restart`, the default) or `error`. `None` heals it.
    pub fn set_exits_quickly(&self, name: &str, exit_code: Option<i32>) {
        let mut st = self.state();
        match exit_code {
            Some(c) => st.quick_exits.insert(name.to_string(), c),
            None => st.quick_exits.remove(name),
        };
    }

    /// Every service start/stop/signal so far, in order.
    pub fn service_events(&self) -> Vec<ServiceEvent> {
        self.state().events.clone()
    }

    /// Every accepted service action call so far, in order.
    pub fn service_calls(&self) -> Vec<ServiceCall> {
        self.state().calls.clone()
    }

    /// Forgets recorded service events and calls.
    pub fn clear_service_events(&self) {
        let mut st = self.state();
        st.events.clear();
        st.calls.clear();
    }

    /// Mocks commands starting with `prefix` (`&[]` matches every command); the longest
    /// matching prefix wins, and a later mock replaces one with the same prefix.
    pub fn exec_mock(&self, prefix: &[&str], result: MockResult) {
        self.exec_handler(prefix, move |_| result.clone());
    }

    /// Mocks commands starting with `prefix` with a function of the call (its stdin included).
    pub fn exec_handler(
        &self,
        prefix: &[&str],
        handler: impl Fn(&ExecRecord) -> MockResult + Send + Sync + 'static,
    ) {
        let prefix = names_of(prefix);
        let handler: Handler = Arc::new(handler);
        let mut st = self.state();
        st.mocks.retain(|m| m.prefix != prefix);
        st.mocks.push(Mock { prefix, handler });
    }

    /// Every `exec` call that found a mock, in order, with its options and stdin.
    pub fn exec_history(&self) -> Vec<ExecRecord> {
        lock(&self.inner.history).clone()
    }

    /// The host directory standing for the container's `/`.
    pub fn root(&self) -> &Path {
        self.inner.fs.root.path()
    }

    /// The host path of a container path (`None` for relative paths).
    pub fn host_path(&self, path: &str) -> Option<PathBuf> {
        self.inner.fs.host(path)
    }

    /// Permissions and ownership that the last push/make-dir of `path` asked for.
    pub fn file_meta(&self, path: &str) -> Option<FileMeta> {
        self.inner.fs.meta_of(path)
    }

    /// Sets a check's status (`up`, `down`, `inactive`) and failure count.
    pub fn set_check_status(&self, name: &str, status: &str, failures: i64) {
        if let Some(c) = self.state().checks.get_mut(name) {
            c.status = status.to_string();
            c.failures = failures;
        }
    }

    fn add_layer_sync(
        &self,
        label: &str,
        layer: LayerInput,
        combine: bool,
    ) -> Result<(), ContainerError> {
        if label.is_empty() {
            return Err(ContainerError::api(400, "", "label must be set"));
        }
        let yaml = layer.to_yaml()?;
        let parsed = match pebble_plan::parse_layer(0, label, yaml.as_bytes()) {
            Ok(l) => l,
            Err(e) if e.is_parse() => {
                return Err(ContainerError::api(
                    400,
                    "",
                    format!("cannot parse layer YAML: {e}"),
                ));
            }
            Err(e) => return Err(ContainerError::api(400, "", e.to_string())),
        };
        let mut st = self.state();
        let bad = |e: PlanError| ContainerError::api(400, "", e.to_string());
        let layers = pebble_plan::add_layer(&st.layers, parsed, combine, false).map_err(bad)?;
        let plan = pebble_plan::combine_layers(&layers).map_err(bad)?;
        st.layers = layers;
        st.plan = plan;
        refresh_checks(&mut st);
        Ok(())
    }

    fn start_names(st: &mut State, names: &[String]) {
        for n in names {
            if let Some(code) = st.quick_exits.get(n).copied()
                && st.status.get(n) != Some(&ServiceStatus::Active)
            {
                let action =
                    st.plan
                        .services
                        .get(n)
                        .map_or(pebble_plan::ServiceAction::Restart, |s| {
                            if code == 0 {
                                s.effective_on_success()
                            } else {
                                s.effective_on_failure()
                            }
                        });
                let (status, what) = match action {
                    pebble_plan::ServiceAction::Restart => (ServiceStatus::Backoff, "restart"),
                    pebble_plan::ServiceAction::Ignore => (ServiceStatus::Error, "ignore"),
                    _ => (ServiceStatus::Error, "shut down the daemon"),
                };
                st.status.insert(n.clone(), status);
                st.failures.push(format!(
                    "- Start service {} (service start attempt: exited quickly with code {code}, will {what})",
                    go_quote(n)
                ));
                if let Some(cfg) = st.plan.services.get(n).cloned() {
                    st.started_config.insert(n.clone(), cfg);
                }
                continue;
            }
            if st.status.get(n) != Some(&ServiceStatus::Active) {
                st.status.insert(n.clone(), ServiceStatus::Active);
                st.events.push(ServiceEvent::Started(n.clone()));
            }
            if let Some(cfg) = st.plan.services.get(n).cloned() {
                st.started_config.insert(n.clone(), cfg);
            }
        }
    }

    fn stop_names(st: &mut State, names: &[String]) {
        for n in names {
            if matches!(
                st.status.get(n),
                Some(ServiceStatus::Active | ServiceStatus::Backoff)
            ) {
                st.status.insert(n.clone(), ServiceStatus::Inactive);
                st.events.push(ServiceEvent::Stopped(n.clone()));
            }
        }
    }

    fn action(&self, action: &str, services: &[&str]) -> Result<(), ContainerError> {
        self.connected()?;
        let names = names_of(services);
        let mut st = self.state();
        let fail =
            |e: PlanError| ContainerError::api(400, "", format!("cannot {action} services: {e}"));
        match action {
            "start" | "stop" | "restart" => {
                if names.is_empty() {
                    return Err(ContainerError::api(
                        400,
                        "",
                        format!("must specify services for {action} action"),
                    ));
                }
                for n in &names {
                    if !st.plan.services.contains_key(n) {
                        return Err(ContainerError::api(
                            400,
                            "",
                            format!(
                                "cannot {action} services: service {} does not exist",
                                go_quote(n)
                            ),
                        ));
                    }
                }
            }
            _ => {}
        }
        match action {
            "start" => {
                let order = flatten(st.plan.start_order(&names).map_err(fail)?);
                Self::start_names(&mut st, &order);
            }
            "stop" => {
                let order = flatten(st.plan.stop_order(&names).map_err(fail)?);
                Self::stop_names(&mut st, &order);
            }
            "restart" => {
                let stop: Vec<String> = flatten(st.plan.stop_order(&names).map_err(fail)?)
                    .into_iter()
                    .filter(|n| names.contains(n))
                    .collect();
                let start = flatten(st.plan.start_order(&names).map_err(fail)?);
                Self::stop_names(&mut st, &stop);
                Self::start_names(&mut st, &start);
            }
            "autostart" => {
                let enabled = st.plan.startup_enabled_services();
                if enabled.is_empty() {
                    return Err(ContainerError::api(
                        400,
                        "no-default-services",
                        "no default services",
                    ));
                }
                let order = flatten(st.plan.start_order(&enabled).map_err(fail)?);
                Self::start_names(&mut st, &order);
            }
            "replan" => {
                let mut restart = Vec::new();
                let known: Vec<(String, Service)> = st
                    .started_config
                    .iter()
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect();
                for (name, old) in known {
                    match st.plan.services.get(&name) {
                        Some(cfg) if *cfg == old => {}
                        Some(_) => restart.push(name),
                        None => {}
                    }
                }
                let stop = if restart.is_empty() {
                    Vec::new()
                } else {
                    flatten(st.plan.stop_order(&restart).map_err(fail)?)
                };
                let mut want = restart.clone();
                for e in st.plan.startup_enabled_services() {
                    if !want.contains(&e) {
                        want.push(e);
                    }
                }
                let start = if want.is_empty() {
                    Vec::new()
                } else {
                    flatten(st.plan.start_order(&want).map_err(fail)?)
                };
                Self::stop_names(&mut st, &stop);
                for n in &restart {
                    // A changed service is started again even if it was stopped.
                    if !start.contains(n) {
                        Self::start_names(&mut st, std::slice::from_ref(n));
                    }
                }
                Self::start_names(&mut st, &start);
                replan_checks(&mut st);
            }
            other => {
                return Err(ContainerError::api(
                    400,
                    "",
                    format!("invalid action {}", go_quote(other)),
                ));
            }
        }
        st.calls.push(ServiceCall {
            action: action.to_string(),
            services: names,
        });
        let failures = std::mem::take(&mut st.failures);
        if !failures.is_empty() {
            let err = format!(
                "cannot perform the following tasks:\n{}",
                failures.join("\n")
            );
            let change = pebble_api::ChangeInfo {
                id: st.new_id(),
                kind: action.to_string(),
                status: "Error".to_string(),
                ready: true,
                err: err.clone(),
                ..Default::default()
            };
            return Err(ContainerError::Change {
                err,
                change: Box::new(change),
            });
        }
        Ok(())
    }
}

impl Default for FakeContainer {
    fn default() -> Self {
        Self::new()
    }
}

fn check_info(st: &mut State, name: &str) -> Option<CheckInfo> {
    let chk = st.plan.checks.get(name)?.clone();
    let enabled = chk.startup != "disabled";
    Some(CheckInfo {
        name: name.to_string(),
        level: chk.level.clone(),
        startup: if enabled { "enabled" } else { "disabled" }.to_string(),
        status: if enabled { "up" } else { "inactive" }.to_string(),
        successes: 0,
        failures: 0,
        threshold: i64::from(chk.effective_threshold()),
        change_id: if enabled { st.new_id() } else { String::new() },
        prev_change_id: String::new(),
    })
}

/// Keeps check infos in line with the plan after a layer change (new checks start at once).
fn refresh_checks(st: &mut State) {
    let names: Vec<String> = st.plan.checks.keys().cloned().collect();
    st.checks.retain(|k, _| names.contains(k));
    for n in names {
        match st.checks.get(&n).cloned() {
            None => {
                if let Some(info) = check_info(st, &n) {
                    st.checks.insert(n, info);
                }
            }
            Some(mut info) => {
                if let Some(chk) = st.plan.checks.get(&n) {
                    info.level = chk.level.clone();
                    info.threshold = i64::from(chk.effective_threshold());
                    info.startup = if chk.startup == "disabled" {
                        "disabled"
                    } else {
                        "enabled"
                    }
                    .to_string();
                }
                st.checks.insert(n, info);
            }
        }
    }
}

fn replan_checks(st: &mut State) {
    let names: Vec<String> = st.plan.startup_enabled_checks();
    for n in names {
        let inactive = st.checks.get(&n).is_some_and(|c| c.status == "inactive");
        if inactive {
            let id = st.new_id();
            if let Some(c) = st.checks.get_mut(&n) {
                c.status = "up".to_string();
                c.change_id = id;
            }
        }
    }
}

fn valid_notice_key(key: &str) -> bool {
    match key.split_once('/') {
        Some((domain, path)) => {
            domain.contains('.')
                && !path.is_empty()
                && domain
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.' || c == '-')
        }
        None => false,
    }
}

impl Workload for FakeContainer {
    async fn can_connect(&self) -> bool {
        self.state().can_connect
    }

    async fn add_layer(
        &self,
        label: &str,
        layer: impl Into<LayerInput> + Send,
        combine: bool,
    ) -> Result<(), ContainerError> {
        let layer = layer.into();
        self.connected()?;
        self.add_layer_sync(label, layer, combine)
    }

    async fn get_plan(&self) -> Result<Plan, ContainerError> {
        self.connected()?;
        Ok(self.plan())
    }

    async fn autostart(&self) -> Result<(), ContainerError> {
        self.action("autostart", &[])
    }

    async fn replan(&self) -> Result<(), ContainerError> {
        self.action("replan", &[])
    }

    async fn start(&self, services: &[&str]) -> Result<(), ContainerError> {
        self.action("start", services)
    }

    async fn stop(&self, services: &[&str]) -> Result<(), ContainerError> {
        self.action("stop", services)
    }

    async fn restart(&self, services: &[&str]) -> Result<(), ContainerError> {
        self.action("restart", services)
    }

    async fn get_services(&self, names: &[&str]) -> Result<Vec<ServiceInfo>, ContainerError> {
        self.connected()?;
        let st = self.state();
        let mut out: Vec<ServiceInfo> = st
            .plan
            .services
            .values()
            .filter(|s| names.is_empty() || names.contains(&s.name.as_str()))
            .map(|s| ServiceInfo {
                name: s.name.clone(),
                startup: if s.startup == "enabled" {
                    ServiceStartup::Enabled
                } else {
                    ServiceStartup::Disabled
                },
                current: st
                    .status
                    .get(&s.name)
                    .cloned()
                    .unwrap_or(ServiceStatus::Inactive),
            })
            .collect();
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    async fn send_signal(&self, signal: &str, services: &[&str]) -> Result<(), ContainerError> {
        self.connected()?;
        if services.is_empty() {
            return Err(ContainerError::api(
                400,
                "",
                "must specify one or more services",
            ));
        }
        let mut st = self.state();
        for s in services {
            let running = st.plan.services.contains_key(*s)
                && st.status.get(*s) == Some(&ServiceStatus::Active);
            if !running {
                return Err(ContainerError::api(
                    500,
                    "",
                    format!(
                        "cannot send signal to {}: service is not running",
                        go_quote(s)
                    ),
                ));
            }
            if exec::signal_number(signal).is_none() {
                return Err(ContainerError::api(
                    500,
                    "",
                    format!(
                        "cannot send signal to {}: invalid signal name {}",
                        go_quote(s),
                        go_quote(signal)
                    ),
                ));
            }
        }
        for s in services {
            st.events.push(ServiceEvent::Signalled {
                service: s.to_string(),
                signal: signal.to_string(),
            });
        }
        Ok(())
    }

    async fn get_checks(
        &self,
        level: Option<&str>,
        names: &[&str],
    ) -> Result<Vec<CheckInfo>, ContainerError> {
        self.connected()?;
        let st = self.state();
        Ok(st
            .checks
            .values()
            .filter(|c| level.is_none_or(|l| c.level == l))
            .filter(|c| names.is_empty() || names.contains(&c.name.as_str()))
            .cloned()
            .collect())
    }

    async fn start_checks(&self, names: &[&str]) -> Result<Vec<String>, ContainerError> {
        self.check_action("start", names)
    }

    async fn stop_checks(&self, names: &[&str]) -> Result<Vec<String>, ContainerError> {
        self.check_action("stop", names)
    }

    async fn notify(
        &self,
        key: &str,
        data: BTreeMap<String, String>,
    ) -> Result<String, ContainerError> {
        self.connected()?;
        if !valid_notice_key(key) {
            return Err(ContainerError::api(
                400,
                "",
                format!(
                    "invalid key {} (must be in \"example.com/path\" format)",
                    go_quote(key)
                ),
            ));
        }
        let mut st = self.state();
        let t = now();
        if let Some(pos) = st.notices.iter().position(|n| n.key == key) {
            let mut n = st.notices.remove(pos);
            n.occurrences += 1;
            n.last_occurred.clone_from(&t);
            n.last_repeated = t;
            n.last_data = data;
            let id = n.id.clone();
            st.notices.push(n);
            return Ok(id);
        }
        let id = st.new_id();
        st.notices.push(Notice {
            id: id.clone(),
            user_id: None,
            type_: "custom".to_string(),
            key: key.to_string(),
            first_occurred: t.clone(),
            last_occurred: t.clone(),
            last_repeated: t,
            occurrences: 1,
            last_data: data,
            repeat_after: String::new(),
            expire_after: "168h0m0s".to_string(),
        });
        Ok(id)
    }

    async fn get_notices(&self) -> Result<Vec<Notice>, ContainerError> {
        self.connected()?;
        Ok(self.state().notices.clone())
    }

    async fn get_notice(&self, id: &str) -> Result<Notice, ContainerError> {
        self.connected()?;
        self.state()
            .notices
            .iter()
            .find(|n| n.id == id)
            .cloned()
            .ok_or_else(|| {
                ContainerError::Model(format!("cannot find notice with ID {}", go_quote(id)))
            })
    }

    async fn exec(
        &self,
        command: &[&str],
        options: ExecOptions,
    ) -> Result<ExecProcess, ContainerError> {
        self.connected()?;
        if command.is_empty() {
            return Err(ContainerError::InvalidArgument(
                "command must not be empty".to_string(),
            ));
        }
        let command = names_of(command);
        let handler = {
            let st = self.state();
            if let Some(ctx) = &options.service_context
                && !st.plan.services.contains_key(ctx)
            {
                return Err(ContainerError::api(
                    400,
                    "",
                    format!("context service {} not found", go_quote(ctx)),
                ));
            }
            match exec::find(&st.mocks, &command) {
                Some(m) => m.handler.clone(),
                None => {
                    return Err(ContainerError::api(
                        400,
                        "",
                        format!("cannot find executable {}", go_quote(&command[0])),
                    ));
                }
            }
        };
        if let Some(wd) = &options.working_dir
            && !self.inner.fs.host(wd).is_some_and(|p| p.is_dir())
        {
            return Err(ContainerError::api(
                500,
                "",
                format!(
                    "cannot call exec: working directory {} does not exist",
                    go_quote(wd)
                ),
            ));
        }
        Ok(exec::start(
            command,
            options,
            handler,
            self.inner.history.clone(),
        ))
    }

    async fn push(
        &self,
        path: &str,
        source: impl Into<PushSource> + Send,
        options: PushOptions,
    ) -> Result<(), ContainerError> {
        let source = source.into();
        self.connected()?;
        self.inner
            .fs
            .push(path, source.into_stream(), &options)
            .await
    }

    async fn pull(&self, path: &str) -> Result<ByteStream, ContainerError> {
        self.connected()?;
        self.inner.fs.pull(path).await
    }

    async fn list_files(
        &self,
        path: &str,
        options: ListFilesOptions,
    ) -> Result<Vec<FileInfo>, ContainerError> {
        self.connected()?;
        self.inner.fs.list(path, &options).await
    }

    async fn make_dir(&self, path: &str, options: MakeDirOptions) -> Result<(), ContainerError> {
        self.connected()?;
        self.inner.fs.make_dir(path, &options).await
    }

    async fn remove_path(&self, path: &str, recursive: bool) -> Result<(), ContainerError> {
        self.connected()?;
        self.inner.fs.remove(path, recursive).await
    }
}

impl FakeContainer {
    fn check_action(&self, action: &str, names: &[&str]) -> Result<Vec<String>, ContainerError> {
        self.connected()?;
        let mut st = self.state();
        if names.is_empty() {
            return Err(ContainerError::api(400, "", "must specify checks"));
        }
        let missing: Vec<&str> = names
            .iter()
            .copied()
            .filter(|n| !st.plan.checks.contains_key(*n))
            .collect();
        if !missing.is_empty() {
            return Err(ContainerError::api(
                400,
                "",
                format!(
                    "cannot {action} checks: cannot find checks in plan: {}",
                    missing.join(", ")
                ),
            ));
        }
        let mut changed = Vec::new();
        for n in names {
            let id = st.new_id();
            if let Some(c) = st.checks.get_mut(*n) {
                let running = c.status != "inactive";
                if action == "start" && !running {
                    c.status = "up".to_string();
                    c.change_id = id;
                    changed.push(n.to_string());
                } else if action == "stop" && running {
                    c.status = "inactive".to_string();
                    c.prev_change_id = std::mem::take(&mut c.change_id);
                    changed.push(n.to_string());
                }
            }
        }
        changed.sort();
        Ok(changed)
    }
}
