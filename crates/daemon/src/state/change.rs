//! Changes and tasks: the data model, status derivation and the API view.

use jiff::Timestamp;
use pebble_api::{ChangeInfo, TaskInfo, TaskProgress};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

use crate::timefmt;

/// Status of a task or change (the strings are the API values).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
pub enum Status {
    /// Waiting to run (the default of a task).
    #[default]
    Do,
    /// Running.
    Doing,
    /// Finished successfully.
    Done,
    /// Aborted while running (the handler is being cancelled).
    Abort,
    /// To be undone.
    Undo,
    /// Being undone.
    Undoing,
    /// Undone.
    Undone,
    /// Will not run (held because of an error or abort elsewhere).
    Hold,
    /// Failed.
    Error,
    /// Waiting for an external event.
    Wait,
}

impl Status {
    /// The API string.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Do => "Do",
            Status::Doing => "Doing",
            Status::Done => "Done",
            Status::Abort => "Abort",
            Status::Undo => "Undo",
            Status::Undoing => "Undoing",
            Status::Undone => "Undone",
            Status::Hold => "Hold",
            Status::Error => "Error",
            Status::Wait => "Wait",
        }
    }

    /// Done, Undone, Hold and Error are ready statuses.
    pub fn is_ready(self) -> bool {
        matches!(
            self,
            Status::Done | Status::Undone | Status::Hold | Status::Error
        )
    }
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One task of a change.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Task {
    /// Task id.
    pub id: u64,
    /// Kind (`start`, `stop`, `exec`, ...), which selects the handler.
    pub kind: String,
    /// Summary shown by the API.
    pub summary: String,
    /// Current status.
    pub status: Status,
    /// Log lines (last 10).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub log: Vec<String>,
    /// Owning change id.
    pub change: u64,
    /// Lanes the task belongs to (empty = lane 0).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub lanes: Vec<u64>,
    /// Tasks that must be Done before this one runs.
    #[serde(default, rename = "wait-tasks", skip_serializing_if = "Vec::is_empty")]
    pub wait_tasks: Vec<u64>,
    /// Creation time.
    #[serde(rename = "spawn-time")]
    pub spawn_time: Timestamp,
    /// First time the task became ready.
    #[serde(
        default,
        rename = "ready-time",
        skip_serializing_if = "Option::is_none"
    )]
    pub ready_time: Option<Timestamp>,
    /// Internal data used by the handler (e.g. `service-name`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub data: BTreeMap<String, Value>,
    /// Data shown by the API (exec: `exit-code`).
    #[serde(
        default,
        rename = "api-data",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub api_data: BTreeMap<String, Value>,
}

/// Keep only the last this many log entries of a task.
pub const MAX_TASK_LOG: usize = 10;

impl Task {
    /// Append a log entry `<RFC3339> <LEVEL> <msg>`, keeping the last 10.
    pub fn add_log(&mut self, level: &str, msg: &str) {
        let line = format!(
            "{} {} {}",
            timefmt::rfc3339_secs(Timestamp::now()),
            level,
            msg
        );
        self.log.push(line);
        if self.log.len() > MAX_TASK_LOG {
            let excess = self.log.len() - MAX_TASK_LOG;
            self.log.drain(..excess);
        }
    }

    /// Set the status, recording the ready time the first time it becomes ready.
    pub fn set_status(&mut self, status: Status) {
        self.status = status;
        if status.is_ready() {
            if self.ready_time.is_none() || status == Status::Done {
                self.ready_time = Some(Timestamp::now());
            }
        } else if status == Status::Do || status == Status::Doing {
            self.ready_time = None;
        }
    }

    /// The API view.
    pub fn info(&self) -> TaskInfo {
        let done = if self.status == Status::Do { 0 } else { 1 };
        TaskInfo {
            id: self.id.to_string(),
            kind: self.kind.clone(),
            summary: self.summary.clone(),
            status: self.status.as_str().to_string(),
            log: self.log.clone(),
            progress: TaskProgress {
                label: String::new(),
                done,
                total: 1,
            },
            spawn_time: timefmt::rfc3339_nano(self.spawn_time),
            ready_time: self.ready_time.map(timefmt::rfc3339_nano),
            data: self.api_data.clone(),
        }
    }
}

/// A change: a set of tasks with a kind and summary.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Change {
    /// Change id.
    pub id: u64,
    /// Kind (`start`, `replan`, `exec`, ...).
    pub kind: String,
    /// Summary.
    pub summary: String,
    /// Explicit status, used only when the change has no tasks (e.g. an empty replan is Done).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<Status>,
    /// Task ids, in creation order.
    #[serde(default, rename = "task-ids")]
    pub task_ids: Vec<u64>,
    /// Creation time.
    #[serde(rename = "spawn-time")]
    pub spawn_time: Timestamp,
    /// First time the change became ready.
    #[serde(
        default,
        rename = "ready-time",
        skip_serializing_if = "Option::is_none"
    )]
    pub ready_time: Option<Timestamp>,
    /// Internal data (`service-names` for the `for=` filter).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub data: BTreeMap<String, Value>,
    /// The last status reported to change listeners (change-update notices).
    #[serde(
        default,
        rename = "last-recorded-status",
        skip_serializing_if = "Option::is_none"
    )]
    pub last_status: Option<Status>,
    /// The status of the last `change-update` notice recorded (none yet at creation).
    #[serde(
        default,
        rename = "last-recorded-notice-status",
        skip_serializing_if = "Option::is_none"
    )]
    pub last_notice_status: Option<Status>,
}

/// Derive a change status from its task statuses.
pub fn derive_status(explicit: Option<Status>, tasks: &[&Task]) -> Status {
    if tasks.is_empty() {
        return explicit.unwrap_or(Status::Hold);
    }
    const ORDER: [Status; 10] = [
        Status::Abort,
        Status::Undoing,
        Status::Undo,
        Status::Doing,
        Status::Do,
        Status::Wait,
        Status::Error,
        Status::Undone,
        Status::Done,
        Status::Hold,
    ];
    let mut seen = [false; 10];
    for t in tasks {
        if let Some(i) = ORDER.iter().position(|s| *s == t.status) {
            seen[i] = true;
        }
    }
    // A Wait status wins only if every pending task is blocked behind a Wait task; we have no
    // Wait-producing handlers, so Wait is treated by plain priority.
    ORDER
        .iter()
        .zip(seen)
        .find(|(_, s)| *s)
        .map(|(st, _)| *st)
        .unwrap_or(Status::Hold)
}

/// `err` text of a change in Error status.
pub fn change_err(kind: &str, tasks: &[&Task]) -> String {
    let mut out = String::from("cannot perform the following tasks:");
    let mut found = false;
    for t in tasks {
        if t.status != Status::Error {
            continue;
        }
        for line in &t.log {
            // "<time> ERROR <msg>"
            let mut parts = line.splitn(3, ' ');
            let _time = parts.next();
            if parts.next() == Some("ERROR") {
                let msg = parts.next().unwrap_or("");
                out.push_str(&format!("\n- {} ({})", t.summary, msg));
                found = true;
            }
        }
    }
    if !found {
        return format!(
            "internal inconsistency: change \"{kind}\" in ErrorStatus with no task errors logged"
        );
    }
    out
}

impl Change {
    /// The API view, given the change's tasks.
    pub fn info(&self, tasks: &[&Task]) -> ChangeInfo {
        let status = derive_status(self.status, tasks);
        let err = if status == Status::Error {
            change_err(&self.kind, tasks)
        } else {
            String::new()
        };
        ChangeInfo {
            id: self.id.to_string(),
            kind: self.kind.clone(),
            summary: self.summary.clone(),
            status: status.as_str().to_string(),
            tasks: tasks.iter().map(|t| t.info()).collect(),
            ready: status.is_ready(),
            err,
            spawn_time: timefmt::rfc3339_nano(self.spawn_time),
            ready_time: if status.is_ready() {
                self.ready_time.map(timefmt::rfc3339_nano)
            } else {
                None
            },
            data: BTreeMap::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn task(status: Status) -> Task {
        Task {
            id: 1,
            kind: "start".into(),
            summary: "Start service \"a\"".into(),
            status,
            log: vec![],
            change: 1,
            lanes: vec![],
            wait_tasks: vec![],
            spawn_time: Timestamp::now(),
            ready_time: None,
            data: BTreeMap::new(),
            api_data: BTreeMap::new(),
        }
    }

    #[test]
    fn status_priority() {
        let (a, b) = (task(Status::Doing), task(Status::Done));
        assert_eq!(derive_status(None, &[&a, &b]), Status::Doing);
        let (a, b) = (task(Status::Error), task(Status::Hold));
        assert_eq!(derive_status(None, &[&a, &b]), Status::Error);
        let (a, b) = (task(Status::Undo), task(Status::Abort));
        assert_eq!(derive_status(None, &[&a, &b]), Status::Abort);
        assert_eq!(derive_status(None, &[]), Status::Hold);
        assert_eq!(derive_status(Some(Status::Done), &[]), Status::Done);
    }

    #[test]
    fn err_text() {
        let mut t = task(Status::Error);
        t.add_log("INFO", "Most recent service output:\n    x");
        t.add_log(
            "ERROR",
            "service start attempt: exited quickly with code 1, will restart",
        );
        assert_eq!(
            change_err("start", &[&t]),
            "cannot perform the following tasks:\n- Start service \"a\" (service start attempt: exited quickly with code 1, will restart)"
        );
        let t = task(Status::Error);
        assert_eq!(
            change_err("start", &[&t]),
            "internal inconsistency: change \"start\" in ErrorStatus with no task errors logged"
        );
    }

    #[test]
    fn log_keeps_last_ten() {
        let mut t = task(Status::Doing);
        for i in 0..15 {
            t.add_log("INFO", &format!("m{i}"));
        }
        assert_eq!(t.log.len(), 10);
        assert!(t.log[0].ends_with("INFO m5"));
    }

    #[test]
    fn progress_and_omissions() {
        let t = task(Status::Do);
        let info = t.info();
        assert_eq!(info.progress.done, 0);
        assert!(info.ready_time.is_none());
        let json = String::from_utf8(pebble_api::to_go_json(&info)).unwrap();
        assert!(json.contains(r#""progress":{"label":"","done":0,"total":1}"#));
        assert!(!json.contains("log"));
    }
}
