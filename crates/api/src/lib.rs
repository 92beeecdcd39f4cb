//! Wire types of the Pebble HTTP API.
//!
//! These types are shared by the daemon (which serialises them), the client library and the CLI
//! (which deserialise them). Rules followed by every type here:
//!
//! - field names and serialisation order match Go Pebble 1.32.1 byte for byte;
//! - deserialisation accepts JSON `null` and missing fields everywhere (the zero value is used),
//!   and ignores unknown fields;
//! - times are carried as the exact strings the daemon produced (Go RFC3339Nano with trailing
//!   zeros trimmed) so that they round-trip untouched; parse them with any RFC 3339 parser.
//!
//! [`to_go_json`] serialises a value the way Go's `encoding/json` does (HTML-escaping `<`, `>`,
//! `&`, and `\u2028`/`\u2029`), which the daemon uses for envelopes.

use serde::{Deserialize, Deserializer, Serialize};
use std::collections::BTreeMap;

pub mod files;
pub mod gojson;

pub use gojson::{to_go_json, to_go_json_no_html_escape};

/// Deserialise a field that may be `null`, using its `Default` value for `null`.
///
/// Use with `#[serde(default, deserialize_with = "pebble_api::null_default")]`.
pub fn null_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// `type` of a response envelope.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum ResponseType {
    /// A synchronous result.
    #[default]
    Sync,
    /// An asynchronous operation: `change` holds the change id.
    Async,
    /// An error: `result` is an [`ErrorResult`].
    Error,
}

/// The JSON envelope of every normal API response.
///
/// Field order on the wire: `type`, `status-code`, `status`, `change`, `result`,
/// `latest-warning`, `maintenance`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Response {
    /// `sync`, `async` or `error`.
    #[serde(rename = "type", default, deserialize_with = "null_default")]
    pub type_: ResponseType,
    /// The HTTP status code (repeated in the body).
    #[serde(rename = "status-code", default, deserialize_with = "null_default")]
    pub status_code: u16,
    /// Go's `http.StatusText(status_code)`, e.g. `OK`, `Accepted`, `Bad Request`.
    #[serde(default, deserialize_with = "null_default")]
    pub status: String,
    /// The change id of an async response.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "Option::is_none"
    )]
    pub change: Option<String>,
    /// The result. `None` omits the key; `Some(Value::Null)` writes `"result":null` (async).
    ///
    /// When deserialising, both a missing key and `null` give `None`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<serde_json::Value>,
    /// Time of the latest warning (never set by current Pebble).
    #[serde(
        rename = "latest-warning",
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "Option::is_none"
    )]
    pub latest_warning: Option<String>,
    /// Maintenance information when a restart is pending.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "Option::is_none"
    )]
    pub maintenance: Option<ErrorResult>,
}

impl Response {
    /// Decode the `result` into `T` (a missing or null result decodes as JSON `null`).
    pub fn decode_result<T: serde::de::DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        match &self.result {
            Some(v) => T::deserialize(v),
            None => T::deserialize(serde_json::Value::Null),
        }
    }

    /// The error result, when `type` is `error`.
    pub fn error(&self) -> Option<ErrorResult> {
        if self.type_ != ResponseType::Error {
            return None;
        }
        Some(self.decode_result::<ErrorResult>().unwrap_or_default())
    }
}

/// The `result` of an error response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct ErrorResult {
    /// The message (always present, possibly empty).
    #[serde(default, deserialize_with = "null_default")]
    pub message: String,
    /// An error kind such as `login-required`, `no-default-services`, `not-found`.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub kind: String,
    /// Extra value (never set by current Pebble).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<serde_json::Value>,
}

/// Well-known error kinds.
pub mod kinds {
    /// Every 401.
    pub const LOGIN_REQUIRED: &str = "login-required";
    /// Autostart with no `startup: enabled` services.
    pub const NO_DEFAULT_SERVICES: &str = "no-default-services";
    /// Files: no such file.
    pub const NOT_FOUND: &str = "not-found";
    /// Files: EACCES/EPERM.
    pub const PERMISSION_DENIED: &str = "permission-denied";
    /// Files: any other error.
    pub const GENERIC_FILE_ERROR: &str = "generic-file-error";
}

/// `GET /v1/system-info` result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct SystemInfo {
    /// The kernel boot id.
    #[serde(rename = "boot-id", default, deserialize_with = "null_default")]
    pub boot_id: String,
    /// `--http` address, when set.
    #[serde(
        rename = "http-address",
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub http_address: String,
    /// `--https` address, when set.
    #[serde(
        rename = "https-address",
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub https_address: String,
    /// Server version, e.g. `v1.32.1`.
    #[serde(default, deserialize_with = "null_default")]
    pub version: String,
}

/// `GET /v1/health` result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Health {
    /// False when a matching check is down.
    #[serde(default, deserialize_with = "null_default")]
    pub healthy: bool,
}

/// One entry of `GET /v1/services`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct ServiceInfo {
    /// Service name.
    #[serde(default, deserialize_with = "null_default")]
    pub name: String,
    /// `enabled` or `disabled`.
    #[serde(default, deserialize_with = "null_default")]
    pub startup: String,
    /// `active`, `inactive`, `backoff` or `error`.
    #[serde(default, deserialize_with = "null_default")]
    pub current: String,
    /// When the service entered its current state (omitted when never started).
    #[serde(
        rename = "current-since",
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "Option::is_none"
    )]
    pub current_since: Option<String>,
}

/// `POST /v1/services` body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct ServicesRequest {
    /// `start`, `stop`, `restart`, `autostart` or `replan`.
    #[serde(default, deserialize_with = "null_default")]
    pub action: String,
    /// Service names (may be null or absent).
    #[serde(default, deserialize_with = "null_default")]
    pub services: Vec<String>,
}

/// `POST /v1/layers` body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct LayersRequest {
    /// Must be `add`.
    #[serde(default, deserialize_with = "null_default")]
    pub action: String,
    /// Merge into an existing layer with the same label.
    #[serde(default, deserialize_with = "null_default")]
    pub combine: bool,
    /// Allow `sub/label` labels that go into a layers sub-directory.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "is_false"
    )]
    pub inner: bool,
    /// Layer label.
    #[serde(default, deserialize_with = "null_default")]
    pub label: String,
    /// Must be `yaml`.
    #[serde(default, deserialize_with = "null_default")]
    pub format: String,
    /// The layer YAML text.
    #[serde(default, deserialize_with = "null_default")]
    pub layer: String,
}

/// `POST /v1/signals` body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct SignalsRequest {
    /// Signal name such as `SIGHUP`.
    #[serde(default, deserialize_with = "null_default")]
    pub signal: String,
    /// Services to signal.
    #[serde(default, deserialize_with = "null_default")]
    pub services: Vec<String>,
}

/// `POST /v1/changes/{id}` body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct ChangeActionRequest {
    /// Must be `abort`.
    #[serde(default, deserialize_with = "null_default")]
    pub action: String,
}

/// Progress of a task (`{"label":"","done":1,"total":1}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct TaskProgress {
    /// Label (always empty in current Pebble).
    #[serde(default, deserialize_with = "null_default")]
    pub label: String,
    /// Units done.
    #[serde(default, deserialize_with = "null_default")]
    pub done: i64,
    /// Units total.
    #[serde(default, deserialize_with = "null_default")]
    pub total: i64,
}

/// A task as shown by the API.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct TaskInfo {
    /// Task id (decimal string).
    #[serde(default, deserialize_with = "null_default")]
    pub id: String,
    /// Kind (`start`, `stop`, `exec`, `perform-check`, ...).
    #[serde(default, deserialize_with = "null_default")]
    pub kind: String,
    /// Summary, e.g. `Start service "svc"`.
    #[serde(default, deserialize_with = "null_default")]
    pub summary: String,
    /// Status (`Do`, `Doing`, `Done`, `Error`, ...).
    #[serde(default, deserialize_with = "null_default")]
    pub status: String,
    /// Log lines `<RFC3339> INFO|ERROR <text>` (last 10; omitted when empty).
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub log: Vec<String>,
    /// Progress.
    #[serde(default, deserialize_with = "null_default")]
    pub progress: TaskProgress,
    /// Creation time.
    #[serde(rename = "spawn-time", default, deserialize_with = "null_default")]
    pub spawn_time: String,
    /// Time the task became ready (omitted until then).
    #[serde(
        rename = "ready-time",
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "Option::is_none"
    )]
    pub ready_time: Option<String>,
    /// API data (exec tasks: `{"exit-code": N}`; omitted when empty).
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub data: BTreeMap<String, serde_json::Value>,
}

/// A change as shown by the API.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct ChangeInfo {
    /// Change id (decimal string).
    #[serde(default, deserialize_with = "null_default")]
    pub id: String,
    /// Kind (`start`, `replan`, `exec`, ...).
    #[serde(default, deserialize_with = "null_default")]
    pub kind: String,
    /// Summary, e.g. `Start service "a" and 2 more`.
    #[serde(default, deserialize_with = "null_default")]
    pub summary: String,
    /// Status derived from the tasks.
    #[serde(default, deserialize_with = "null_default")]
    pub status: String,
    /// Tasks (omitted when there are none).
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub tasks: Vec<TaskInfo>,
    /// True when the status is Done, Undone, Hold or Error.
    #[serde(default, deserialize_with = "null_default")]
    pub ready: bool,
    /// Error text when the status is Error.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub err: String,
    /// Creation time.
    #[serde(rename = "spawn-time", default, deserialize_with = "null_default")]
    pub spawn_time: String,
    /// Time the change became ready (omitted until then).
    #[serde(
        rename = "ready-time",
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "Option::is_none"
    )]
    pub ready_time: Option<String>,
    /// API data (never set by current Pebble; omitted when empty).
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub data: BTreeMap<String, serde_json::Value>,
}

/// One line of `GET /v1/logs` (newline-delimited JSON, no envelope).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct LogEntry {
    /// UTC time, millisecond precision, trailing zeros trimmed.
    #[serde(default, deserialize_with = "null_default")]
    pub time: String,
    /// Service name.
    #[serde(default, deserialize_with = "null_default")]
    pub service: String,
    /// The line, without its trailing newline.
    #[serde(default, deserialize_with = "null_default")]
    pub message: String,
}

/// One entry of `GET /v1/checks`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct CheckInfo {
    /// Check name.
    #[serde(default, deserialize_with = "null_default")]
    pub name: String,
    /// `alive`, `ready` (omitted when unset).
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub level: String,
    /// `enabled` or `disabled`.
    #[serde(default, deserialize_with = "null_default")]
    pub startup: String,
    /// `up`, `down` or `inactive`.
    #[serde(default, deserialize_with = "null_default")]
    pub status: String,
    /// Number of successes.
    #[serde(default, deserialize_with = "null_default")]
    pub successes: i64,
    /// Number of failures (omitted when 0).
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "is_zero"
    )]
    pub failures: i64,
    /// Failure threshold.
    #[serde(default, deserialize_with = "null_default")]
    pub threshold: i64,
    /// Id of the check's running change (omitted when stopped).
    #[serde(
        rename = "change-id",
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub change_id: String,
    /// Id of the previous change (omitted when empty).
    #[serde(
        rename = "prev-change-id",
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub prev_change_id: String,
}

fn is_zero(n: &i64) -> bool {
    *n == 0
}

/// `POST /v1/checks` body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct ChecksRequest {
    /// `start` or `stop`.
    #[serde(default, deserialize_with = "null_default")]
    pub action: String,
    /// Check names.
    #[serde(default, deserialize_with = "null_default")]
    pub checks: Vec<String>,
}

/// `POST /v1/checks` result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct ChecksResult {
    /// Sorted names actually started or stopped.
    #[serde(default, deserialize_with = "null_default")]
    pub changed: Vec<String>,
}

/// `POST /v1/checks/refresh` body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct CheckRefreshRequest {
    /// The check to run now.
    #[serde(default, deserialize_with = "null_default")]
    pub name: String,
}

/// `POST /v1/checks/refresh` result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct CheckRefreshResult {
    /// The check after the attempt.
    #[serde(default, deserialize_with = "null_default")]
    pub info: CheckInfo,
    /// The attempt's error with its details (omitted on success).
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub error: String,
}

/// `POST /v1/exec` body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct ExecRequest {
    /// Command and arguments (required).
    #[serde(default, deserialize_with = "null_default")]
    pub command: Vec<String>,
    /// Plan service whose env, user, group and working dir are used as defaults.
    #[serde(
        rename = "service-context",
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub service_context: String,
    /// Environment overlay.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub environment: BTreeMap<String, String>,
    /// Working directory.
    #[serde(
        rename = "working-dir",
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub working_dir: String,
    /// Go duration string.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub timeout: String,
    /// User id.
    #[serde(
        rename = "user-id",
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "Option::is_none"
    )]
    pub user_id: Option<u32>,
    /// User name.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub user: String,
    /// Group id.
    #[serde(
        rename = "group-id",
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "Option::is_none"
    )]
    pub group_id: Option<u32>,
    /// Group name.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub group: String,
    /// Allocate a PTY.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "is_false"
    )]
    pub terminal: bool,
    /// Use the PTY for stdin (requires `terminal`).
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "is_false"
    )]
    pub interactive: bool,
    /// Provide a separate `stderr` websocket.
    #[serde(
        rename = "split-stderr",
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "is_false"
    )]
    pub split_stderr: bool,
    /// Initial PTY width.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "is_zero_u32"
    )]
    pub width: u32,
    /// Initial PTY height.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "is_zero_u32"
    )]
    pub height: u32,
}

fn is_zero_u32(n: &u32) -> bool {
    *n == 0
}

/// `POST /v1/exec` result (keys sorted as Go sorts map keys).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct ExecResult {
    /// The final environment of the command.
    #[serde(default, deserialize_with = "null_default")]
    pub environment: BTreeMap<String, String>,
    /// The exec task id (for the websocket URLs).
    #[serde(rename = "task-id", default, deserialize_with = "null_default")]
    pub task_id: String,
    /// The resolved working directory.
    #[serde(rename = "working-dir", default, deserialize_with = "null_default")]
    pub working_dir: String,
}

/// A notice (`GET /v1/notices`, `GET /v1/notices/{id}`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Notice {
    /// Notice id.
    #[serde(default, deserialize_with = "null_default")]
    pub id: String,
    /// Owner uid, or `null` for public notices (always serialised).
    #[serde(rename = "user-id", default)]
    pub user_id: Option<u32>,
    /// `change-update`, `custom` or `warning`.
    #[serde(rename = "type", default, deserialize_with = "null_default")]
    pub type_: String,
    /// Key.
    #[serde(default, deserialize_with = "null_default")]
    pub key: String,
    /// UTC time of the first occurrence.
    #[serde(rename = "first-occurred", default, deserialize_with = "null_default")]
    pub first_occurred: String,
    /// UTC time of the latest occurrence.
    #[serde(rename = "last-occurred", default, deserialize_with = "null_default")]
    pub last_occurred: String,
    /// UTC time of the latest repeat.
    #[serde(rename = "last-repeated", default, deserialize_with = "null_default")]
    pub last_repeated: String,
    /// Number of occurrences.
    #[serde(default, deserialize_with = "null_default")]
    pub occurrences: i64,
    /// Data of the latest occurrence (omitted when empty).
    #[serde(
        rename = "last-data",
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub last_data: BTreeMap<String, String>,
    /// Go duration string (omitted when 0).
    #[serde(
        rename = "repeat-after",
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub repeat_after: String,
    /// Go duration string.
    #[serde(
        rename = "expire-after",
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub expire_after: String,
}

/// `POST /v1/notices` body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct NoticeRequest {
    /// Must be `add`.
    #[serde(default, deserialize_with = "null_default")]
    pub action: String,
    /// Must be `custom`.
    #[serde(rename = "type", default, deserialize_with = "null_default")]
    pub type_: String,
    /// Key in `example.com/path` form.
    #[serde(default, deserialize_with = "null_default")]
    pub key: String,
    /// Go duration string.
    #[serde(
        rename = "repeat-after",
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub repeat_after: String,
    /// Data (string to string).
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub data: BTreeMap<String, String>,
}

/// `POST /v1/notices` result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct NoticeIdResult {
    /// The notice id.
    #[serde(default, deserialize_with = "null_default")]
    pub id: String,
}

/// Go's `http.StatusText` for the codes Pebble uses (empty for unknown codes).
pub fn status_text(code: u16) -> &'static str {
    match code {
        101 => "Switching Protocols",
        200 => "OK",
        201 => "Created",
        202 => "Accepted",
        204 => "No Content",
        301 => "Moved Permanently",
        304 => "Not Modified",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        409 => "Conflict",
        413 => "Request Entity Too Large",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn envelope_field_order_async() {
        let r = Response {
            type_: ResponseType::Async,
            status_code: 202,
            status: "Accepted".into(),
            change: Some("1".into()),
            result: Some(serde_json::Value::Null),
            ..Default::default()
        };
        assert_eq!(
            String::from_utf8(to_go_json(&r)).unwrap(),
            r#"{"type":"async","status-code":202,"status":"Accepted","change":"1","result":null}"#
        );
    }

    #[test]
    fn envelope_without_result() {
        let r = Response {
            type_: ResponseType::Sync,
            status_code: 200,
            status: "OK".into(),
            ..Default::default()
        };
        assert_eq!(
            String::from_utf8(to_go_json(&r)).unwrap(),
            r#"{"type":"sync","status-code":200,"status":"OK"}"#
        );
    }

    #[test]
    fn nulls_and_unknown_fields_accepted() {
        let r: ServicesRequest =
            serde_json::from_str(r#"{"action":null,"services":null,"bogus":1}"#).unwrap();
        assert_eq!(r, ServicesRequest::default());
        let r: ExecRequest = serde_json::from_str(
            r#"{"command":["ls"],"service-context":null,"environment":{},"working-dir":null,
                "timeout":null,"user-id":null,"user":null,"group-id":null,"group":null,
                "split-stderr":false}"#,
        )
        .unwrap();
        assert_eq!(r.command, vec!["ls"]);
        let c: ChangeInfo = serde_json::from_str(r#"{"id":"1","tasks":null,"err":null}"#).unwrap();
        assert_eq!(c.id, "1");
        assert!(c.tasks.is_empty());
    }

    #[test]
    fn error_result_decodes() {
        let r: Response = serde_json::from_str(
            r#"{"type":"error","status-code":400,"status":"Bad Request","result":{"message":"no default services","kind":"no-default-services"}}"#,
        )
        .unwrap();
        let e = r.error().unwrap();
        assert_eq!(e.kind, "no-default-services");
        assert_eq!(e.message, "no default services");
    }

    #[test]
    fn change_roundtrip_matches_golden() {
        let golden = r#"{"id":"1","kind":"replan","summary":"Replan - no services","status":"Done","ready":true,"spawn-time":"2026-11-26T22:23:21.634227198Z","ready-time":"2026-11-26T22:23:21.634237161Z"}"#;
        let c: ChangeInfo = serde_json::from_str(golden).unwrap();
        assert_eq!(String::from_utf8(to_go_json(&c)).unwrap(), golden);
    }

    #[test]
    fn notice_user_id_null_is_serialised() {
        let n = Notice {
            id: "1".into(),
            type_: "custom".into(),
            ..Default::default()
        };
        let s = String::from_utf8(to_go_json(&n)).unwrap();
        assert!(
            s.starts_with(r#"{"id":"1","user-id":null,"type":"custom""#),
            "{s}"
        );
    }
}
