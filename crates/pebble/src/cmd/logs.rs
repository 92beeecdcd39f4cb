//! `pebble logs`.

use clap::Args;
use pebble_api::LogEntry;
use pebble_client::LogsOptions;

use crate::ctx::{self, Ctx};
use crate::error::CliError;
use crate::format::times::ApiTime;

/// Arguments of `pebble logs`.
#[derive(Debug, Args)]
pub struct LogsArgs {
    /// Follow (tail) logs for given services until Ctrl-C is pressed.
    #[arg(short = 'f', long)]
    pub follow: bool,
    /// Output format: "text" (default) or "json" (JSON lines).
    #[arg(long, default_value = "")]
    pub format: String,
    /// Number of logs to show (before following); defaults to 30. If 'all', show all
    /// buffered logs.
    #[arg(short = 'n', default_value = "")]
    pub n: String,
    /// Services (default: all).
    #[arg(value_name = "service")]
    pub services: Vec<String>,
}

/// Parses `-n`: empty is 30, `all` is -1.
pub fn parse_n(n: &str) -> Result<i64, CliError> {
    match n {
        "" => Ok(30),
        "all" => Ok(-1),
        _ => match n.parse::<i64>() {
            Ok(v) if v >= 0 => Ok(v),
            _ => Err(CliError::Msg(format!(
                "expected n to be a non-negative integer or \"all\", not {n:?}"
            ))),
        },
    }
}

/// One log line in text format: `<time .000Z> [<service>] <message>`.
pub fn text_line(e: &LogEntry) -> String {
    let time = ApiTime::parse(&e.time)
        .map(|t| t.log_format())
        .unwrap_or_else(|| e.time.clone());
    format!("{time} [{}] {}\n", e.service, e.message)
}

/// One log line in JSON format (no HTML escaping).
pub fn json_line(e: &LogEntry) -> String {
    let mut s = String::from_utf8_lossy(&pebble_api::to_go_json_no_html_escape(e)).into_owned();
    s.push('\n');
    s
}

/// Prints buffered logs, then follows them with `-f` until Ctrl-C.
pub async fn run(ctx: &Ctx, args: LogsArgs) -> Result<(), CliError> {
    let n = parse_n(&args.n)?;
    let write: fn(&LogEntry) -> String = match args.format.as_str() {
        "" | "text" => text_line,
        "json" => json_line,
        other => {
            return Err(CliError::Msg(format!(
                "invalid output format (expected \"json\" or \"text\", not {other:?})"
            )));
        }
    };
    let opts = LogsOptions {
        n: Some(n),
        services: args.services.clone(),
    };
    if !args.follow {
        for e in ctx.client.logs(&opts).await? {
            ctx::out(&write(&e));
        }
        return Ok(());
    }
    let mut stream = ctx.client.follow_logs(&opts).await?;
    let mut interrupt = std::pin::pin!(tokio::signal::ctrl_c());
    loop {
        tokio::select! {
            _ = &mut interrupt => return Ok(()),
            next = stream.next() => match next {
                Some(Ok(e)) => ctx::out(&write(&e)),
                Some(Err(e)) => return Err(e.into()),
                None => return Ok(()),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn entry(t: &str, s: &str, m: &str) -> LogEntry {
        LogEntry {
            time: t.into(),
            service: s.into(),
            message: m.into(),
        }
    }

    #[test]
    fn golden_text_lines() {
        assert_eq!(
            text_line(&entry("2026-11-26T22:23:44.619Z", "beta", "beta ready")),
            "2026-11-26T22:23:44.619Z [beta] beta ready\n"
        );
        assert_eq!(
            text_line(&entry("2026-11-26T22:23:37.65Z", "a", "x")),
            "2026-11-26T22:23:37.650Z [a] x\n"
        );
    }

    #[test]
    fn golden_json_lines() {
        assert_eq!(
            json_line(&entry("2026-11-26T22:23:49.651Z", "alpha", "alpha tick 26")),
            "{\"time\":\"2026-11-26T22:23:49.651Z\",\"service\":\"alpha\",\"message\":\"alpha tick 26\"}\n"
        );
        assert!(json_line(&entry("t", "s", "<&>")).contains("<&>"));
    }

    #[test]
    fn n_values() {
        assert_eq!(parse_n("").unwrap(), 30);
        assert_eq!(parse_n("all").unwrap(), -1);
        assert_eq!(parse_n("0").unwrap(), 0);
        assert_eq!(
            parse_n("bad").unwrap_err().to_string(),
            "expected n to be a non-negative integer or \"all\", not \"bad\""
        );
        assert!(parse_n("-2").is_err());
    }
}
