//! Waiting for a change as Pebble's CLI does: poll every 100 ms, print the last log line of
//! the first task in progress whenever it changes, abort the change on Ctrl-C, tolerate the
//! server being away for up to 5 s.
//!
//! Go Pebble also shows the log of a quick no-op task (`Service "x" already stopped.`) that
//! finishes while other tasks of the change are still running: there its poll catches the task
//! between its log entry and its completion. Our daemon completes such tasks at once, so
//! [`TaskLogs`] also prints the log of a task that went from not started to `Done` between two
//! polls while the change is still in progress. A change that is already ready when polled
//! prints nothing (a lone no-op `pebble stop x` prints nothing in Go either), except at the
//! first poll of a change of several tasks: Go's first poll of such a change practically always
//! finds its other tasks still running, ours may not on a loaded machine, and the output should
//! not depend on that race.

use std::collections::HashMap;
use std::time::Duration;

use pebble_api::{ChangeInfo, TaskInfo};
use pebble_client::{Client, Error};

use crate::ctx;
use crate::error::CliError;

/// Poll interval.
const POLL: Duration = Duration::from_millis(100);
/// How long the server may be unreachable before giving up.
const MAX_GONE: Duration = Duration::from_secs(5);

/// Which task log lines the waiting CLI prints, poll after poll.
#[derive(Debug, Default)]
pub struct TaskLogs {
    /// The last log line printed (or seen without printing) per task id.
    shown: HashMap<String, String>,
    /// Task ids seen in a started state (anything but `Do`) at an earlier poll.
    seen_started: std::collections::HashSet<String>,
    /// Whether a poll happened already.
    polled: bool,
}

fn last_log(t: &TaskInfo) -> String {
    t.log.last().cloned().unwrap_or_default()
}

impl TaskLogs {
    /// The lines to print for this poll of `change`, in task order.
    pub fn poll(&mut self, change: &ChangeInfo) -> Vec<String> {
        let mut out = Vec::new();
        let first = !std::mem::replace(&mut self.polled, true);
        if !change.ready || (first && change.tasks.len() > 1) {
            let mut doing_done = false;
            for t in &change.tasks {
                let new_log = |shown: &HashMap<String, String>| {
                    let now = last_log(t);
                    (shown.get(&t.id).map_or("", String::as_str) != now).then_some(now)
                };
                if t.status == "Doing" {
                    // Only the first task in progress is followed (its log when it has no
                    // numeric progress).
                    if !doing_done {
                        doing_done = true;
                        if t.progress.total == 1
                            && let Some(now) = new_log(&self.shown)
                        {
                            if !now.is_empty() {
                                out.push(now.clone());
                            }
                            self.shown.insert(t.id.clone(), now);
                        }
                    }
                } else if t.status == "Done"
                    && !self.seen_started.contains(&t.id)
                    && let Some(now) = new_log(&self.shown)
                {
                    // Ran from start to finish between two polls.
                    if !now.is_empty() {
                        out.push(now.clone());
                    }
                    self.shown.insert(t.id.clone(), now);
                }
            }
        }
        for t in &change.tasks {
            if t.status != "Do" {
                self.seen_started.insert(t.id.clone());
            }
        }
        out
    }
}

/// Waits for change `id` to be ready. `Done` is success; any other ready status is an error
/// carrying the change's `err`.
pub async fn wait_change(client: &Client, id: &str) -> Result<ChangeInfo, CliError> {
    let mut interrupt = std::pin::pin!(tokio::signal::ctrl_c());
    let mut aborted = false;
    let mut gone_since: Option<tokio::time::Instant> = None;
    let mut logs = TaskLogs::default();
    loop {
        let change = match client.change(id).await {
            Ok(c) => {
                gone_since = None;
                c
            }
            Err(e @ Error::Api { .. }) => return Err(e.into()),
            Err(e) => {
                let now = tokio::time::Instant::now();
                let since = *gone_since.get_or_insert(now);
                if now.duration_since(since) > MAX_GONE {
                    return Err(e.into());
                }
                tokio::time::sleep(POLL).await;
                continue;
            }
        };
        for line in logs.poll(&change) {
            ctx::out(&format!("{line}\n"));
        }
        if change.ready {
            if change.status == "Done" {
                return Ok(change);
            }
            if !change.err.is_empty() {
                return Err(CliError::Msg(change.err));
            }
            return Err(CliError::Msg(format!(
                "change finished in status {:?} with no error message",
                change.status
            )));
        }
        tokio::select! {
            _ = tokio::time::sleep(POLL) => {}
            r = &mut interrupt, if !aborted => {
                aborted = true;
                if r.is_ok()
                    && let Err(e) = client.abort(id).await
                {
                    ctx::err(&format!("{e}\n"));
                }
            }
        }
    }
}

/// Waits unless `no_wait` (then prints the change id). Used by start/stop/restart/replan/
/// autostart.
pub async fn maybe_wait(client: &Client, id: &str, no_wait: bool) -> Result<(), CliError> {
    if no_wait {
        ctx::out(&format!("{id}\n"));
        return Ok(());
    }
    wait_change(client, id).await.map(|_| ())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn task(id: &str, status: &str, log: &[&str]) -> TaskInfo {
        let mut t: TaskInfo = serde_json::from_str("{}").unwrap();
        t.id = id.into();
        t.status = status.into();
        t.log = log.iter().map(|s| s.to_string()).collect();
        t.progress.total = 1;
        t
    }

    fn change(ready: bool, tasks: Vec<TaskInfo>) -> ChangeInfo {
        let mut c: ChangeInfo = serde_json::from_str("{}").unwrap();
        c.ready = ready;
        c.tasks = tasks;
        c
    }

    const GAMMA: &str = "2026-11-26T22:23:53Z INFO Service \"gamma\" already stopped.";

    /// Golden cli#123: a no-op stop finished while the other stops are still running.
    #[test]
    fn no_op_task_done_while_others_run_is_printed_once() {
        let mut logs = TaskLogs::default();
        let first = change(
            false,
            vec![
                task("1", "Doing", &[]),
                task("2", "Done", &[GAMMA]),
                task("3", "Doing", &[]),
            ],
        );
        assert_eq!(logs.poll(&first), vec![GAMMA.to_string()]);
        assert!(logs.poll(&first).is_empty());
        let last = change(
            true,
            vec![
                task("1", "Done", &[]),
                task("2", "Done", &[GAMMA]),
                task("3", "Done", &[]),
            ],
        );
        assert!(logs.poll(&last).is_empty());
    }

    /// Golden cli#123 when the other stops were already done at the first poll: the no-op
    /// task's log is still printed, once (the output does not depend on that race).
    #[test]
    fn several_task_change_ready_at_first_poll_prints_no_op_logs() {
        let mut logs = TaskLogs::default();
        let done = change(
            true,
            vec![
                task("1", "Done", &[]),
                task("2", "Done", &[GAMMA]),
                task("3", "Done", &[]),
            ],
        );
        assert_eq!(logs.poll(&done), vec![GAMMA.to_string()]);
        assert!(logs.poll(&done).is_empty());
    }

    /// Golden cli#18/#20: a lone no-op change is ready at the first poll and prints nothing.
    #[test]
    fn ready_change_prints_nothing() {
        let mut logs = TaskLogs::default();
        assert!(
            logs.poll(&change(true, vec![task("1", "Done", &[GAMMA])]))
                .is_empty()
        );
    }

    /// The first task in progress is followed; tasks seen running that finish are not
    /// reported again, and failures are not printed.
    #[test]
    fn first_doing_task_is_followed() {
        let mut logs = TaskLogs::default();
        let c = change(
            false,
            vec![
                task("1", "Do", &[]),
                task("2", "Doing", &["a"]),
                task("3", "Doing", &["b"]),
            ],
        );
        assert_eq!(logs.poll(&c), vec!["a".to_string()]);
        let c = change(
            false,
            vec![
                task("1", "Error", &["x"]),
                task("2", "Done", &["a", "c"]),
                task("3", "Doing", &["b"]),
            ],
        );
        assert_eq!(logs.poll(&c), vec!["b".to_string()]);
    }
}
