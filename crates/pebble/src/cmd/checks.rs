//! `pebble checks`, `pebble health`, `pebble start-checks` and `pebble stop-checks`.

use clap::Args;
use pebble_api::CheckInfo;

use crate::ctx::{self, Ctx};
use crate::error::CliError;
use crate::format::yaml::Yaml;
use crate::format::{OutputFormat, json_line, tabwriter};

/// Arguments of `pebble checks`.
#[derive(Debug, Args)]
pub struct ChecksArgs {
    /// Check level to filter for (alive or ready).
    #[arg(long, value_name = "level")]
    pub level: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    pub format: OutputFormat,
    /// Checks to show (default: all).
    #[arg(value_name = "check")]
    pub checks: Vec<String>,
}

/// Arguments of `pebble check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Run the check immediately.
    #[arg(long)]
    pub refresh: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    pub format: OutputFormat,
    /// The check.
    #[arg(value_name = "check")]
    pub check: String,
}

/// Arguments of `pebble health`.
#[derive(Debug, Args)]
pub struct HealthArgs {
    /// Health check level to query for (alive or ready).
    #[arg(long, value_name = "level")]
    pub level: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    pub format: OutputFormat,
    /// Checks to consider (default: all).
    #[arg(value_name = "check")]
    pub checks: Vec<String>,
}

/// Arguments of `pebble start-checks` and `pebble stop-checks`.
#[derive(Debug, Args)]
pub struct CheckNamesArgs {
    /// Checks.
    #[arg(value_name = "check", required = true, num_args = 1..)]
    pub checks: Vec<String>,
}

/// Maximum width of the change-log excerpt in the Change column.
const MAX_EXCERPT: usize = 70;

/// The Change cell: `-`, the id, or `id (last log message...)` when failing.
pub fn change_cell(c: &CheckInfo, last_log: Option<&str>) -> String {
    let id = if c.change_id.is_empty() {
        return "-".to_string();
    } else {
        &c.change_id
    };
    if c.failures == 0 {
        return id.clone();
    }
    let Some(line) = last_log else {
        return id.clone();
    };
    // Task log lines are "<time> <LEVEL> <message>": keep the message.
    let msg = line
        .splitn(3, ' ')
        .nth(2)
        .unwrap_or(line)
        .replace('\n', "\\n");
    let msg = if msg.chars().count() > MAX_EXCERPT {
        let suffix = format!("... run \"pebble tasks {id}\" for more");
        let keep = MAX_EXCERPT.saturating_sub(suffix.chars().count());
        format!("{}{suffix}", msg.chars().take(keep).collect::<String>())
    } else {
        msg
    };
    format!("{id} ({msg})")
}

/// The checks table. `logs` gives each failing check's last change log line.
pub fn checks_table(checks: &[CheckInfo], logs: &[Option<String>]) -> String {
    let mut rows = vec![
        [
            "Check",
            "Level",
            "Startup",
            "Status",
            "Successes",
            "Failures",
            "Change",
        ]
        .map(String::from),
    ];
    for (i, c) in checks.iter().enumerate() {
        let inactive = c.status == "inactive";
        rows.push([
            c.name.clone(),
            if c.level.is_empty() {
                "-".into()
            } else {
                c.level.clone()
            },
            c.startup.clone(),
            c.status.clone(),
            if inactive {
                "-".into()
            } else {
                c.successes.to_string()
            },
            if inactive {
                "-".into()
            } else {
                format!("{}/{}", c.failures, c.threshold)
            },
            if inactive {
                "-".into()
            } else {
                change_cell(c, logs.get(i).and_then(|l| l.as_deref()))
            },
        ]);
    }
    tabwriter::table(rows)
}

async fn last_log(ctx: &Ctx, c: &CheckInfo) -> Option<String> {
    if c.failures == 0 {
        return None;
    }
    for id in [&c.change_id, &c.prev_change_id] {
        if id.is_empty() {
            continue;
        }
        if let Ok(ch) = ctx.client.change(id).await
            && let Some(l) = ch.tasks.iter().rev().find_map(|t| t.log.last().cloned())
        {
            return Some(l);
        }
    }
    None
}

/// Lists checks.
pub async fn run_checks(ctx: &Ctx, args: ChecksArgs) -> Result<(), CliError> {
    let checks = ctx
        .client
        .checks(args.level.as_deref(), &args.checks)
        .await?;
    match args.format {
        OutputFormat::Json => {
            let map: std::collections::BTreeMap<&str, &CheckInfo> =
                checks.iter().map(|c| (c.name.as_str(), c)).collect();
            let mut w = std::collections::BTreeMap::new();
            w.insert("checks", map);
            ctx::out(&json_line(&w));
            return Ok(());
        }
        OutputFormat::Yaml => {
            let entries = checks
                .iter()
                .map(|c| {
                    let v: serde_json::Value = serde_json::to_value(c).unwrap_or_default();
                    (c.name.clone(), json_to_yaml(&v))
                })
                .collect();
            ctx::out(&Yaml::Map(vec![("checks".into(), Yaml::Map(entries))]).render());
            return Ok(());
        }
        OutputFormat::Text => {}
    }
    if checks.is_empty() {
        if args.checks.is_empty() && args.level.is_none() {
            ctx::err("Plan has no health checks.\n");
        } else {
            ctx::err("No matching health checks.\n");
        }
        return Ok(());
    }
    let mut logs = Vec::new();
    for c in &checks {
        logs.push(last_log(ctx, c).await);
    }
    ctx::out(&checks_table(&checks, &logs));
    Ok(())
}

fn json_to_yaml(v: &serde_json::Value) -> Yaml {
    // Field order of CheckInfo (serde_json maps are sorted, so rebuild in wire order).
    const ORDER: &[&str] = &[
        "name",
        "level",
        "startup",
        "status",
        "successes",
        "failures",
        "threshold",
        "change-id",
        "prev-change-id",
    ];
    let mut m = Vec::new();
    for k in ORDER {
        match v.get(*k) {
            Some(serde_json::Value::String(s)) => m.push((k.to_string(), Yaml::Str(s.clone()))),
            Some(serde_json::Value::Number(n)) => {
                m.push((k.to_string(), Yaml::Int(n.as_i64().unwrap_or(0))))
            }
            _ => {}
        }
    }
    Yaml::Map(m)
}

/// What `pebble check` shows (in this order; `failures` is always shown).
#[derive(Debug, serde::Serialize)]
struct CheckDetails {
    name: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    level: String,
    startup: String,
    status: String,
    successes: i64,
    failures: i64,
    threshold: i64,
    #[serde(rename = "change-id", skip_serializing_if = "String::is_empty")]
    change_id: String,
    #[serde(rename = "prev-change-id", skip_serializing_if = "String::is_empty")]
    prev_change_id: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    error: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    logs: String,
}

impl CheckDetails {
    fn yaml(&self) -> Yaml {
        let mut m = vec![("name".to_string(), Yaml::Str(self.name.clone()))];
        if !self.level.is_empty() {
            m.push(("level".into(), Yaml::Str(self.level.clone())));
        }
        m.push(("startup".into(), Yaml::Str(self.startup.clone())));
        m.push(("status".into(), Yaml::Str(self.status.clone())));
        m.push(("successes".into(), Yaml::Int(self.successes)));
        m.push(("failures".into(), Yaml::Int(self.failures)));
        m.push(("threshold".into(), Yaml::Int(self.threshold)));
        for (k, v) in [
            ("change-id", &self.change_id),
            ("prev-change-id", &self.prev_change_id),
            ("error", &self.error),
            ("logs", &self.logs),
        ] {
            if !v.is_empty() {
                m.push((k.into(), Yaml::Str(v.clone())));
            }
        }
        Yaml::Map(m)
    }
}

/// The task log lines of a change's first task, one per line (empty if none or unreadable).
async fn change_logs(ctx: &Ctx, id: &str) -> String {
    if id.is_empty() {
        return String::new();
    }
    match ctx.client.change(id).await {
        Ok(ch) => ch
            .tasks
            .first()
            .map(|t| t.log.iter().map(|l| format!("{l}\n")).collect())
            .unwrap_or_default(),
        Err(_) => String::new(),
    }
}

/// Shows one check (`--refresh` runs it first).
pub async fn run_check(ctx: &Ctx, args: CheckArgs) -> Result<(), CliError> {
    let (info, error) = if args.refresh {
        let r = ctx.client.refresh_check(&args.check).await?;
        (r.info, r.error)
    } else {
        let checks = ctx
            .client
            .checks(None, std::slice::from_ref(&args.check))
            .await?;
        match checks.into_iter().next() {
            Some(c) => (c, String::new()),
            None => {
                return Err(CliError::msg(format!(
                    "cannot find check {}",
                    pebble_plan::quote::go_quote(&args.check)
                )));
            }
        }
    };
    let mut logs = String::new();
    if info.failures > 0 || !error.is_empty() {
        logs = change_logs(ctx, &info.change_id).await;
        if logs.is_empty() {
            logs = change_logs(ctx, &info.prev_change_id).await;
        }
    }
    let d = CheckDetails {
        name: info.name,
        level: info.level,
        startup: info.startup,
        status: info.status,
        successes: info.successes,
        failures: info.failures,
        threshold: info.threshold,
        change_id: info.change_id,
        prev_change_id: info.prev_change_id,
        error,
        logs,
    };
    match args.format {
        OutputFormat::Json => ctx::out(&json_line(&d)),
        _ => ctx::out(&d.yaml().render()),
    }
    Ok(())
}

/// Prints `healthy` or `unhealthy` (exit code 1 in text format when unhealthy).
pub async fn run_health(ctx: &Ctx, args: HealthArgs) -> Result<(), CliError> {
    let h = ctx
        .client
        .health(args.level.as_deref(), &args.checks)
        .await?;
    match args.format {
        OutputFormat::Json => ctx::out(&json_line(&h)),
        OutputFormat::Yaml => {
            ctx::out(&Yaml::Map(vec![("healthy".into(), Yaml::Bool(h.healthy))]).render())
        }
        OutputFormat::Text => {
            if h.healthy {
                ctx::out("healthy\n");
            } else {
                ctx::out("unhealthy\n");
                return Err(CliError::Exit(1));
            }
        }
    }
    Ok(())
}

/// `start-checks` / `stop-checks`.
pub async fn run_action(ctx: &Ctx, action: &str, args: CheckNamesArgs) -> Result<(), CliError> {
    let changed = ctx.client.check_action(action, &args.checks).await?;
    let verb = if action == "start" {
        "started"
    } else {
        "stopped"
    };
    if changed.is_empty() {
        ctx::out(&format!("Checks already {verb}.\n"));
    } else {
        ctx::out(&format!("Checks {verb}: {}\n", changed.join(", ")));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(name: &str, level: &str, status: &str, s: i64, f: i64, t: i64, ch: &str) -> CheckInfo {
        CheckInfo {
            name: name.into(),
            level: level.into(),
            startup: "disabled".into(),
            status: status.into(),
            successes: s,
            failures: f,
            threshold: t,
            change_id: ch.into(),
            prev_change_id: String::new(),
        }
    }

    #[test]
    fn golden_51_inactive() {
        let c = vec![
            check("chk-exec", "", "inactive", 0, 0, 2, ""),
            check("chk-http", "ready", "inactive", 0, 0, 3, ""),
            check("chk-tcp", "alive", "inactive", 0, 0, 3, ""),
        ];
        let got = checks_table(&c, &[None, None, None]);
        assert_eq!(got.len(), 245);
        assert_eq!(
            got,
            "Check     Level  Startup   Status    Successes  Failures  Change\n\
chk-exec  -      disabled  inactive  -          -         -\n\
chk-http  ready  disabled  inactive  -          -         -\n\
chk-tcp   alive  disabled  inactive  -          -         -\n"
        );
    }

    #[test]
    fn golden_56_down() {
        let c = vec![
            check("chk-exec", "", "down", 0, 2, 2, "13"),
            check("chk-http", "ready", "up", 2, 0, 3, "10"),
            check("chk-tcp", "alive", "up", 2, 0, 3, "11"),
        ];
        let logs = vec![
            Some("2026-11-26T22:23:52Z ERROR exit status 1; exec check failing".to_string()),
            None,
            None,
        ];
        let got = checks_table(&c, &logs);
        assert_eq!(got.len(), 276);
        assert_eq!(
            got,
            "Check     Level  Startup   Status  Successes  Failures  Change\n\
chk-exec  -      disabled  down    0          2/2       13 (exit status 1; exec check failing)\n\
chk-http  ready  disabled  up      2          0/3       10\n\
chk-tcp   alive  disabled  up      2          0/3       11\n"
        );
    }

    #[test]
    fn golden_58_and_60_check_details() {
        let d = CheckDetails {
            name: "chk-exec".into(),
            level: String::new(),
            startup: "disabled".into(),
            status: "down".into(),
            successes: 0,
            failures: 2,
            threshold: 2,
            change_id: "13".into(),
            prev_change_id: "12".into(),
            error: String::new(),
            logs: "2026-11-26T22:23:51Z ERROR exit status 1; exec check failing\n\
                   2026-11-26T22:23:52Z ERROR exit status 1; exec check failing\n"
                .into(),
        };
        let got = d.yaml().render();
        assert_eq!(got.len(), 259);
        assert_eq!(
            got,
            "name: chk-exec\nstartup: disabled\nstatus: down\nsuccesses: 0\nfailures: 2\n\
             threshold: 2\nchange-id: \"13\"\nprev-change-id: \"12\"\nlogs: |\n    \
             2026-11-26T22:23:51Z ERROR exit status 1; exec check failing\n    \
             2026-11-26T22:23:52Z ERROR exit status 1; exec check failing\n"
        );
        let http = CheckDetails {
            name: "chk-http".into(),
            level: "ready".into(),
            startup: "disabled".into(),
            status: "up".into(),
            successes: 2,
            failures: 0,
            threshold: 3,
            change_id: "10".into(),
            prev_change_id: String::new(),
            error: String::new(),
            logs: String::new(),
        };
        assert_eq!(
            json_line(&http),
            "{\"name\":\"chk-http\",\"level\":\"ready\",\"startup\":\"disabled\",\"status\":\"up\",\"successes\":2,\"failures\":0,\"threshold\":3,\"change-id\":\"10\"}\n"
        );
        assert_eq!(
            http.yaml().render(),
            "name: chk-http\nlevel: ready\nstartup: disabled\nstatus: up\nsuccesses: 2\nfailures: 0\nthreshold: 3\nchange-id: \"10\"\n"
        );
    }

    #[test]
    fn long_log_is_truncated() {
        let c = check("c", "", "down", 0, 1, 3, "7");
        let line = format!("2026-11-26T22:23:52Z ERROR {}", "x".repeat(100));
        let cell = change_cell(&c, Some(&line));
        assert!(
            cell.ends_with("... run \"pebble tasks 7\" for more)"),
            "{cell}"
        );
        assert_eq!(cell.chars().count(), "7 ()".len() + MAX_EXCERPT);
    }
}
