//! The data model of layers and plans (the contract shared by every crate).
//!
//! Field names and types here are relied upon by `pebble-daemon`; add fields freely but do not
//! rename or change the type of existing ones without updating the users.

use indexmap::IndexMap;
use std::collections::BTreeMap;
use std::time::Duration;

/// A duration written in Go's syntax (`500ms`, `1m30s`), printed the way Go prints it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct GoDuration(pub Duration);

/// `override:` of a service, check or log target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Override {
    /// `merge`
    Merge,
    /// `replace`
    Replace,
}

/// What to do when a service exits (`on-success`, `on-failure`, `on-check-failure` values).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ServiceAction {
    /// `restart` (also the meaning of "unset")
    Restart,
    /// `shutdown`
    Shutdown,
    /// `failure-shutdown` (on-success only)
    FailureShutdown,
    /// `success-shutdown` (on-failure and on-check-failure only)
    SuccessShutdown,
    /// `ignore`
    Ignore,
}

/// One service entry of a layer or of the combined plan.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Service {
    /// The map key (not serialised inside the entry).
    pub name: String,
    pub summary: String,
    pub description: String,
    /// `enabled`, `disabled` or empty (unset, treated as disabled).
    pub startup: String,
    /// Required in every layer entry; `None` only before validation.
    pub override_: Option<Override>,
    /// The raw command string as written (may contain a `[ default args ]` group).
    pub command: String,
    pub after: Vec<String>,
    pub before: Vec<String>,
    pub requires: Vec<String>,
    /// `workload`: name of an entry of the `workloads` section.
    pub workload: String,
    pub environment: BTreeMap<String, String>,
    pub user_id: Option<u32>,
    pub user: String,
    pub group_id: Option<u32>,
    pub group: String,
    pub working_dir: String,
    pub on_success: Option<ServiceAction>,
    pub on_failure: Option<ServiceAction>,
    pub on_check_failure: BTreeMap<String, ServiceAction>,
    pub backoff_delay: Option<GoDuration>,
    pub backoff_factor: Option<f64>,
    pub backoff_limit: Option<GoDuration>,
    pub kill_delay: Option<GoDuration>,
}

/// One check entry.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Check {
    pub name: String,
    pub override_: Option<Override>,
    /// `alive`, `ready` or empty.
    pub level: String,
    /// `enabled`, `disabled` or empty (= enabled).
    pub startup: String,
    pub period: Option<GoDuration>,
    pub timeout: Option<GoDuration>,
    /// 0 = unset (3 after defaults are applied).
    pub threshold: u32,
    pub http: Option<HttpCheck>,
    pub tcp: Option<TcpCheck>,
    pub exec: Option<ExecCheck>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct HttpCheck {
    pub url: String,
    pub headers: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct TcpCheck {
    pub port: u32,
    pub host: String,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct ExecCheck {
    pub command: String,
    pub service_context: String,
    pub environment: BTreeMap<String, String>,
    pub user_id: Option<u32>,
    pub user: String,
    pub group_id: Option<u32>,
    pub group: String,
    pub working_dir: String,
}

/// One log-target entry.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct LogTarget {
    pub name: String,
    /// `loki`, `opentelemetry`, `syslog`.
    pub type_: String,
    pub location: String,
    pub services: Vec<String>,
    pub override_: Option<Override>,
    pub labels: BTreeMap<String, String>,
}

/// One entry of the `workloads` extension section: the environment and identity that the
/// services naming it (`workload: <name>`) run with.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Workload {
    /// The map key (not serialised inside the entry).
    pub name: String,
    /// Required in every layer entry; `None` only before combining.
    pub override_: Option<Override>,
    /// Environment under the service's own.
    pub environment: BTreeMap<String, String>,
    pub user_id: Option<u32>,
    pub user: String,
    pub group_id: Option<u32>,
    pub group: String,
}

/// One layer: what a layer file or `POST /v1/layers` holds.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Layer {
    /// 1000*NNN for files, as Pebble orders layers.
    pub order: i64,
    pub label: String,
    pub summary: String,
    pub description: String,
    pub services: IndexMap<String, Service>,
    pub checks: IndexMap<String, Check>,
    pub log_targets: IndexMap<String, LogTarget>,
    /// `workloads` extension section (entries in file order).
    pub workloads: IndexMap<String, Workload>,
    /// `pairing.mode` extension section: `single`, `multiple`, `disabled` or empty (unset).
    pub pairing_mode: String,
}

/// The combined, validated plan.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Plan {
    pub layers: Vec<Layer>,
    pub services: IndexMap<String, Service>,
    pub checks: IndexMap<String, Check>,
    pub log_targets: IndexMap<String, LogTarget>,
    /// Combined `workloads` section (sorted by name). Immutable once the daemon has loaded
    /// its layers directory.
    pub workloads: IndexMap<String, Workload>,
    /// Combined `pairing.mode` (last layer that sets it wins; empty means disabled).
    pub pairing_mode: String,
}
