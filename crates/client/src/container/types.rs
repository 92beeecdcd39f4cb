//! Argument and result types of the container API.

use std::fmt;
use std::pin::Pin;

use bytes::Bytes;
use pebble_plan::Layer;
use serde_json::Value;
use tokio::io::AsyncRead;

use super::ContainerError;

/// A readable byte stream (pulled file contents, process output).
pub type ByteStream = Pin<Box<dyn AsyncRead + Send>>;

/// A layer given to [`super::Workload::add_layer`]: YAML text, a JSON-like map, or a typed
/// [`Layer`] (like `ops`, which takes a YAML `str`, a `dict` or a `pebble.Layer`).
#[derive(Debug, Clone)]
pub enum LayerInput {
    /// Layer YAML text.
    Yaml(String),
    /// A map in the layer's YAML structure, e.g. built with `serde_json::json!`.
    Value(Value),
    /// A typed layer.
    Layer(Box<Layer>),
}

impl From<&str> for LayerInput {
    fn from(s: &str) -> Self {
        LayerInput::Yaml(s.to_string())
    }
}

impl From<String> for LayerInput {
    fn from(s: String) -> Self {
        LayerInput::Yaml(s)
    }
}

impl From<&String> for LayerInput {
    fn from(s: &String) -> Self {
        LayerInput::Yaml(s.clone())
    }
}

impl From<Value> for LayerInput {
    fn from(v: Value) -> Self {
        LayerInput::Value(v)
    }
}

impl From<Layer> for LayerInput {
    fn from(l: Layer) -> Self {
        LayerInput::Layer(Box::new(l))
    }
}

impl From<&Layer> for LayerInput {
    fn from(l: &Layer) -> Self {
        LayerInput::Layer(Box::new(l.clone()))
    }
}

impl LayerInput {
    /// The layer as YAML text, as sent to Pebble. Maps are written as JSON (valid YAML, flow
    /// style); typed layers with `pebble_plan`'s own YAML writer.
    pub fn to_yaml(&self) -> Result<String, ContainerError> {
        match self {
            LayerInput::Yaml(s) => Ok(s.clone()),
            LayerInput::Value(v) => {
                if !v.is_object() {
                    return Err(ContainerError::InvalidArgument(
                        "layer must be a map".to_string(),
                    ));
                }
                serde_json::to_string(v)
                    .map_err(|e| ContainerError::InvalidArgument(format!("invalid layer: {e}")))
            }
            LayerInput::Layer(l) => Ok(l.to_yaml()),
        }
    }

    /// Parses the layer with Pebble's own layer parser (`pebble_plan::parse_layer`).
    pub fn to_layer(&self, label: &str) -> Result<Layer, ContainerError> {
        let yaml = self.to_yaml()?;
        pebble_plan::parse_layer(0, label, yaml.as_bytes())
            .map_err(|e| ContainerError::api(400, "", format!("cannot parse layer YAML: {e}")))
    }
}

/// `startup` of a service.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ServiceStartup {
    /// Started by autostart/replan.
    Enabled,
    /// Not started automatically.
    Disabled,
    /// A value this client does not know (kept raw).
    Other(String),
}

impl ServiceStartup {
    /// Parses the API string.
    pub fn parse(s: &str) -> Self {
        match s {
            "enabled" => ServiceStartup::Enabled,
            "disabled" | "" => ServiceStartup::Disabled,
            o => ServiceStartup::Other(o.to_string()),
        }
    }

    /// The API string.
    pub fn as_str(&self) -> &str {
        match self {
            ServiceStartup::Enabled => "enabled",
            ServiceStartup::Disabled => "disabled",
            ServiceStartup::Other(s) => s,
        }
    }
}

/// Current status of a service.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ServiceStatus {
    /// Running.
    Active,
    /// Stopped (or never started).
    Inactive,
    /// Waiting to be restarted after exiting.
    Backoff,
    /// Exited and not restarted.
    Error,
    /// A value this client does not know (kept raw).
    Other(String),
}

impl ServiceStatus {
    /// Parses the API string.
    pub fn parse(s: &str) -> Self {
        match s {
            "active" => ServiceStatus::Active,
            "inactive" => ServiceStatus::Inactive,
            "backoff" => ServiceStatus::Backoff,
            "error" => ServiceStatus::Error,
            o => ServiceStatus::Other(o.to_string()),
        }
    }

    /// The API string.
    pub fn as_str(&self) -> &str {
        match self {
            ServiceStatus::Active => "active",
            ServiceStatus::Inactive => "inactive",
            ServiceStatus::Backoff => "backoff",
            ServiceStatus::Error => "error",
            ServiceStatus::Other(s) => s,
        }
    }
}

impl fmt::Display for ServiceStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Status of one service (`ops.pebble.ServiceInfo`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceInfo {
    /// Service name.
    pub name: String,
    /// Startup mode.
    pub startup: ServiceStartup,
    /// Current status.
    pub current: ServiceStatus,
}

impl ServiceInfo {
    /// True when the service is active.
    pub fn is_running(&self) -> bool {
        self.current == ServiceStatus::Active
    }
}

impl From<pebble_api::ServiceInfo> for ServiceInfo {
    fn from(s: pebble_api::ServiceInfo) -> Self {
        ServiceInfo {
            startup: ServiceStartup::parse(&s.startup),
            current: ServiceStatus::parse(&s.current),
            name: s.name,
        }
    }
}

/// Options of [`super::Workload::list_files`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListFilesOptions {
    /// Glob on entry names (`*.txt`).
    pub pattern: Option<String>,
    /// Describe the path itself instead of listing a directory's entries.
    pub itself: bool,
}

impl ListFilesOptions {
    /// Options describing the path itself.
    pub fn itself() -> Self {
        ListFilesOptions {
            pattern: None,
            itself: true,
        }
    }

    /// Options listing the entries matching `pattern`.
    pub fn pattern(pattern: &str) -> Self {
        ListFilesOptions {
            pattern: Some(pattern.to_string()),
            itself: false,
        }
    }
}

/// Owner and mode options shared by [`PushOptions`] and [`MakeDirOptions`].
macro_rules! owner_builders {
    ($t:ty) => {
        impl $t {
            /// Default options.
            pub fn new() -> Self {
                Self::default()
            }

            /// Permission bits (`0o644`, ...).
            pub fn permissions(mut self, mode: u32) -> Self {
                self.permissions = Some(mode);
                self
            }

            /// Owner by user id.
            pub fn user_id(mut self, uid: u32) -> Self {
                self.user_id = Some(uid);
                self
            }

            /// Owner by user name.
            pub fn user(mut self, user: &str) -> Self {
                self.user = Some(user.to_string());
                self
            }

            /// Group by id.
            pub fn group_id(mut self, gid: u32) -> Self {
                self.group_id = Some(gid);
                self
            }

            /// Group by name.
            pub fn group(mut self, group: &str) -> Self {
                self.group = Some(group.to_string());
                self
            }
        }
    };
}

/// Options of [`super::Workload::push`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PushOptions {
    /// Create missing parent directories.
    pub make_dirs: bool,
    /// Permission bits (default `0o644`).
    pub permissions: Option<u32>,
    /// Owner user id.
    pub user_id: Option<u32>,
    /// Owner user name.
    pub user: Option<String>,
    /// Owner group id.
    pub group_id: Option<u32>,
    /// Owner group name.
    pub group: Option<String>,
}

owner_builders!(PushOptions);

impl PushOptions {
    /// Create missing parent directories.
    pub fn make_dirs(mut self, yes: bool) -> Self {
        self.make_dirs = yes;
        self
    }
}

/// Options of [`super::Workload::make_dir`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MakeDirOptions {
    /// Create missing parents, and accept an existing directory.
    pub make_parents: bool,
    /// Permission bits (default `0o755`).
    pub permissions: Option<u32>,
    /// Owner user id.
    pub user_id: Option<u32>,
    /// Owner user name.
    pub user: Option<String>,
    /// Owner group id.
    pub group_id: Option<u32>,
    /// Owner group name.
    pub group: Option<String>,
}

owner_builders!(MakeDirOptions);

impl MakeDirOptions {
    /// Create missing parents, and accept an existing directory.
    pub fn make_parents(mut self, yes: bool) -> Self {
        self.make_parents = yes;
        self
    }
}

/// The content of a push: bytes in memory or a stream read chunk by chunk.
pub enum PushSource {
    /// Bytes in memory.
    Bytes(Bytes),
    /// A stream (a file, a pipe, ...), sent as it is read.
    Reader(ByteStream),
}

impl fmt::Debug for PushSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PushSource::Bytes(b) => write!(f, "PushSource::Bytes({} bytes)", b.len()),
            PushSource::Reader(_) => f.write_str("PushSource::Reader(..)"),
        }
    }
}

impl PushSource {
    /// A streamed source.
    pub fn reader(r: impl AsyncRead + Send + 'static) -> Self {
        PushSource::Reader(Box::pin(r))
    }

    /// The source as a stream.
    pub fn into_stream(self) -> ByteStream {
        match self {
            PushSource::Bytes(b) => Box::pin(std::io::Cursor::new(b)),
            PushSource::Reader(r) => r,
        }
    }
}

impl From<&str> for PushSource {
    fn from(s: &str) -> Self {
        PushSource::Bytes(Bytes::copy_from_slice(s.as_bytes()))
    }
}

impl From<String> for PushSource {
    fn from(s: String) -> Self {
        PushSource::Bytes(Bytes::from(s))
    }
}

impl From<&[u8]> for PushSource {
    fn from(s: &[u8]) -> Self {
        PushSource::Bytes(Bytes::copy_from_slice(s))
    }
}

impl From<Vec<u8>> for PushSource {
    fn from(s: Vec<u8>) -> Self {
        PushSource::Bytes(Bytes::from(s))
    }
}

impl From<Bytes> for PushSource {
    fn from(s: Bytes) -> Self {
        PushSource::Bytes(s)
    }
}

impl From<tokio::fs::File> for PushSource {
    fn from(f: tokio::fs::File) -> Self {
        PushSource::reader(f)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    #[test]
    fn value_layers_become_json_yaml() {
        let l =
            LayerInput::from(json!({"services": {"a": {"override": "replace", "command": "x"}}}));
        let y = l.to_yaml().unwrap();
        assert!(y.starts_with('{'), "{y}");
        assert!(LayerInput::from(json!([1])).to_yaml().is_err());
    }

    #[test]
    fn service_info_is_running() {
        let s: ServiceInfo = pebble_api::ServiceInfo {
            name: "a".into(),
            startup: "enabled".into(),
            current: "active".into(),
            current_since: None,
        }
        .into();
        assert!(s.is_running());
        assert_eq!(s.startup, ServiceStartup::Enabled);
        assert_eq!(
            ServiceStatus::parse("weird"),
            ServiceStatus::Other("weird".into())
        );
    }
}
