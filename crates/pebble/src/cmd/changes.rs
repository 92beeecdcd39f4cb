//! `pebble changes` and `pebble tasks`.

use clap::Args;
use pebble_api::{ChangeInfo, TaskInfo};
use pebble_client::ChangeSelect;

use crate::ctx::{self, Ctx};
use crate::error::CliError;
use crate::format::times::{ApiTime, TimeFmt};
use crate::format::yaml::Yaml;
use crate::format::{OutputFormat, json_line, tabwriter};

/// Arguments of `pebble changes`.
#[derive(Debug, Args)]
pub struct ChangesArgs {
    /// Display absolute times (in RFC 3339 format). Otherwise, display relative times up to
    /// 60 days, then YYYY-MM-DD.
    #[arg(long)]
    pub abs_time: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    pub format: OutputFormat,
    /// Only changes of this service.
    #[arg(value_name = "service")]
    pub service: Option<String>,
}

/// Arguments of `pebble tasks`.
#[derive(Debug, Args)]
pub struct TasksArgs {
    /// Display absolute times (in RFC 3339 format). Otherwise, display relative times up to
    /// 60 days, then YYYY-MM-DD.
    #[arg(long)]
    pub abs_time: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    pub format: OutputFormat,
    /// Select the last change of the given kind (a trailing `?` means no error when none).
    #[arg(long = "last", value_name = "type")]
    pub last: Option<String>,
    /// Change ID.
    #[arg(value_name = "change-id")]
    pub id: Option<String>,
}

fn spawn_key(c: &ChangeInfo) -> Option<jiff::Timestamp> {
    ApiTime::parse(&c.spawn_time).map(|t| t.timestamp)
}

fn ready_cell(ready: &Option<String>, tf: &TimeFmt) -> String {
    match ready {
        Some(t) if !t.is_empty() && !t.starts_with("0001-01-01") => tf.fmt(t),
        _ => "-".to_string(),
    }
}

/// The `changes` table (sorted by spawn time) followed by a blank line.
pub fn changes_table(changes: &[ChangeInfo], tf: &TimeFmt) -> String {
    let mut sorted: Vec<&ChangeInfo> = changes.iter().collect();
    sorted.sort_by_key(|c| spawn_key(c));
    let mut rows = vec![["ID", "Status", "Spawn", "Ready", "Summary"].map(String::from)];
    for c in sorted {
        rows.push([
            c.id.clone(),
            c.status.clone(),
            tf.fmt(&c.spawn_time),
            ready_cell(&c.ready_time, tf),
            c.summary.clone(),
        ]);
    }
    let mut s = tabwriter::table(rows);
    s.push('\n');
    s
}

/// The dotted separator before each task's log.
const LINE: &str = "......................................................................";

/// The `tasks` output: table, each task's log, then a blank line.
pub fn tasks_text(change: &ChangeInfo, tf: &TimeFmt) -> String {
    let mut rows = vec![["Status", "Spawn", "Ready", "Summary"].map(String::from)];
    for t in &change.tasks {
        let mut summary = t.summary.clone();
        if t.status == "Doing" && t.progress.total > 1 {
            let pct = t.progress.done as f64 / t.progress.total as f64 * 100.0;
            summary = format!("{summary} ({pct:.2}%)");
        }
        rows.push([
            t.status.clone(),
            tf.fmt(&t.spawn_time),
            ready_cell(&t.ready_time, tf),
            summary,
        ]);
    }
    let mut s = tabwriter::table(rows);
    for t in &change.tasks {
        if t.log.is_empty() {
            continue;
        }
        s.push('\n');
        s.push_str(LINE);
        s.push('\n');
        s.push_str(&t.summary);
        s.push_str("\n\n");
        for l in &t.log {
            s.push_str(l);
            s.push('\n');
        }
    }
    s.push('\n');
    s
}

fn task_yaml(t: &TaskInfo) -> Yaml {
    let mut m = vec![
        ("id".to_string(), Yaml::Str(t.id.clone())),
        ("kind".to_string(), Yaml::Str(t.kind.clone())),
        ("summary".to_string(), Yaml::Str(t.summary.clone())),
        ("status".to_string(), Yaml::Str(t.status.clone())),
    ];
    if !t.log.is_empty() {
        m.push((
            "log".to_string(),
            Yaml::List(t.log.iter().map(|l| Yaml::Str(l.clone())).collect()),
        ));
    }
    m.push((
        "progress".to_string(),
        Yaml::Map(vec![
            ("label".to_string(), Yaml::Str(t.progress.label.clone())),
            ("done".to_string(), Yaml::Int(t.progress.done)),
            ("total".to_string(), Yaml::Int(t.progress.total)),
        ]),
    ));
    m.push(("spawn-time".to_string(), Yaml::Raw(t.spawn_time.clone())));
    if let Some(r) = &t.ready_time {
        m.push(("ready-time".to_string(), Yaml::Raw(r.clone())));
    }
    Yaml::Map(m)
}

/// A change as YAML.
pub fn change_yaml(c: &ChangeInfo) -> Yaml {
    let mut m = vec![
        ("id".to_string(), Yaml::Str(c.id.clone())),
        ("kind".to_string(), Yaml::Str(c.kind.clone())),
        ("summary".to_string(), Yaml::Str(c.summary.clone())),
        ("status".to_string(), Yaml::Str(c.status.clone())),
    ];
    if !c.tasks.is_empty() {
        m.push((
            "tasks".to_string(),
            Yaml::List(c.tasks.iter().map(task_yaml).collect()),
        ));
    }
    m.push(("ready".to_string(), Yaml::Bool(c.ready)));
    if !c.err.is_empty() {
        m.push(("err".to_string(), Yaml::Str(c.err.clone())));
    }
    m.push(("spawn-time".to_string(), Yaml::Raw(c.spawn_time.clone())));
    if let Some(r) = &c.ready_time {
        m.push(("ready-time".to_string(), Yaml::Raw(r.clone())));
    }
    Yaml::Map(m)
}

fn all_digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

/// Lists changes.
pub async fn run_changes(ctx: &Ctx, args: ChangesArgs) -> Result<(), CliError> {
    let service = args.service.clone().unwrap_or_default();
    if all_digits(&service) {
        return Err(CliError::Msg(format!(
            "'pebble changes' command expects a service name, try 'pebble tasks {service}'"
        )));
    }
    if service == "everything" {
        ctx::out("Yes, yes it does.\n");
        return Ok(());
    }
    let for_service = (!service.is_empty()).then_some(service.as_str());
    let mut changes = ctx.client.changes(ChangeSelect::All, for_service).await?;
    changes.sort_by_key(spawn_key);
    match args.format {
        OutputFormat::Json => {
            let mut m = std::collections::BTreeMap::new();
            m.insert("changes", &changes);
            ctx::out(&json_line(&m));
            return Ok(());
        }
        OutputFormat::Yaml => {
            let doc = Yaml::Map(vec![(
                "changes".to_string(),
                Yaml::List(changes.iter().map(change_yaml).collect()),
            )]);
            ctx::out(&doc.render());
            return Ok(());
        }
        OutputFormat::Text => {}
    }
    if changes.is_empty() {
        ctx::err("no changes found\n");
        return Ok(());
    }
    ctx::out(&changes_table(&changes, &TimeFmt::new(args.abs_time)));
    Ok(())
}

/// Shows a change's tasks.
pub async fn run_tasks(ctx: &Ctx, args: TasksArgs) -> Result<(), CliError> {
    let id = match (&args.id, &args.last) {
        (None, None) => {
            return Err(CliError::msg(
                "please provide change ID or type with --last=<type>",
            ));
        }
        (Some(_), Some(_)) => return Err(CliError::msg("cannot use change ID and type together")),
        (Some(id), None) => id.clone(),
        (None, Some(last)) => {
            let (kind, optional) = match last.strip_suffix('?') {
                Some(k) => (k, true),
                None => (last.as_str(), false),
            };
            let changes = ctx.client.changes(ChangeSelect::All, None).await?;
            if changes.is_empty() {
                if optional {
                    return Ok(());
                }
                return Err(CliError::msg("no changes found"));
            }
            let latest = changes
                .iter()
                .filter(|c| c.kind == kind)
                .max_by_key(|c| spawn_key(c));
            match latest {
                Some(c) => c.id.clone(),
                None if optional => return Ok(()),
                None => {
                    return Err(CliError::Msg(format!("no changes of type {last:?} found")));
                }
            }
        }
    };
    let change = match ctx.client.change(&id).await {
        Err(pebble_client::Error::Protocol(_)) => {
            // An id the URL cannot carry: ask the server anyway for its wording.
            return Err(CliError::Msg(format!("cannot find change with id {id:?}")));
        }
        other => other?,
    };
    match args.format {
        OutputFormat::Json => ctx::out(&json_line(&change)),
        OutputFormat::Yaml => ctx::out(&change_yaml(&change).render()),
        OutputFormat::Text => ctx::out(&tasks_text(&change, &TimeFmt::new(args.abs_time))),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use jiff::tz::TimeZone;
    use pebble_api::TaskProgress;

    fn tf(abs: bool) -> TimeFmt {
        TimeFmt {
            abs,
            now: "2026-11-26T22:30:00Z".parse().unwrap(),
            tz: TimeZone::UTC,
        }
    }

    fn change(id: &str, status: &str, spawn: &str, summary: &str) -> ChangeInfo {
        ChangeInfo {
            id: id.into(),
            kind: "start".into(),
            summary: summary.into(),
            status: status.into(),
            ready: true,
            spawn_time: spawn.into(),
            ready_time: Some(spawn.into()),
            ..Default::default()
        }
    }

    #[test]
    fn golden_38_changes_for_service() {
        let cs = vec![
            change(
                "4",
                "Done",
                "2026-11-26T22:23:46.1Z",
                "Start service \"gamma\"",
            ),
            change(
                "3",
                "Done",
                "2026-11-26T22:23:45.5Z",
                "Start service \"gamma\"",
            ),
            change(
                "5",
                "Done",
                "2026-11-26T22:23:46.2Z",
                "Stop service \"gamma\"",
            ),
            change(
                "6",
                "Done",
                "2026-11-26T22:23:46.3Z",
                "Stop service \"gamma\"",
            ),
        ];
        let got = changes_table(&cs, &tf(false));
        assert_eq!(got.len(), 360);
        assert_eq!(
            got,
            "ID   Status  Spawn               Ready               Summary\n\
3    Done    today at 22:23 UTC  today at 22:23 UTC  Start service \"gamma\"\n\
4    Done    today at 22:23 UTC  today at 22:23 UTC  Start service \"gamma\"\n\
5    Done    today at 22:23 UTC  today at 22:23 UTC  Stop service \"gamma\"\n\
6    Done    today at 22:23 UTC  today at 22:23 UTC  Stop service \"gamma\"\n\n"
        );
    }

    #[test]
    fn golden_37_abs_time() {
        let cs = vec![change(
            "1",
            "Done",
            "2026-11-26T22:23:44.5Z",
            "Replan - no services",
        )];
        assert_eq!(
            changes_table(&cs, &tf(true)),
            "ID   Status  Spawn                 Ready                 Summary\n\
1    Done    2026-11-26T22:23:44Z  2026-11-26T22:23:44Z  Replan - no services\n\n"
        );
    }

    #[test]
    fn golden_40_tasks_with_log() {
        let mut c = change(
            "8",
            "Error",
            "2026-11-26T22:23:47.1Z",
            "Start service \"quickfail\"",
        );
        c.tasks = vec![TaskInfo {
            id: "9".into(),
            kind: "start".into(),
            summary: "Start service \"quickfail\"".into(),
            status: "Error".into(),
            log: vec![
                "2026-11-26T22:23:47Z INFO Most recent service output:\n    quickfail out\n    quickfail err".into(),
                "2026-11-26T22:23:47Z ERROR service start attempt: exited quickly with code 1, will restart".into(),
            ],
            progress: TaskProgress { label: String::new(), done: 1, total: 1 },
            spawn_time: "2026-11-26T22:23:47.1Z".into(),
            ready_time: Some("2026-11-26T22:23:47.9Z".into()),
            ..Default::default()
        }];
        let got = tasks_text(&c, &tf(false));
        assert_eq!(got.len(), 411);
        assert_eq!(
            got,
            "Status  Spawn               Ready               Summary\n\
Error   today at 22:23 UTC  today at 22:23 UTC  Start service \"quickfail\"\n\
\n\
......................................................................\n\
Start service \"quickfail\"\n\
\n\
2026-11-26T22:23:47Z INFO Most recent service output:\n    quickfail out\n    quickfail err\n\
2026-11-26T22:23:47Z ERROR service start attempt: exited quickly with code 1, will restart\n\n"
        );
    }

    #[test]
    fn golden_39_tasks_without_log() {
        let mut c = change(
            "3",
            "Done",
            "2026-11-26T22:23:45.5Z",
            "Start service \"gamma\"",
        );
        c.tasks = vec![TaskInfo {
            status: "Done".into(),
            summary: "Start service \"gamma\"".into(),
            spawn_time: "2026-11-26T22:23:45.5Z".into(),
            ready_time: Some("2026-11-26T22:23:46.5Z".into()),
            ..Default::default()
        }];
        let got = tasks_text(&c, &tf(false));
        assert_eq!(got.len(), 127);
    }
}
