//! Waiting for a change as Pebble's CLI does: poll every 100 ms, print the last log line of
//! the first task in progress whenever it changes, abort the change on Ctrl-C, tolerate the
//! server being away for up to 5 s.

use std::collections::HashMap;
use std::time::Duration;

use pebble_api::ChangeInfo;
use pebble_client::{Client, Error};

use crate::ctx;
use crate::error::CliError;

/// Poll interval.
const POLL: Duration = Duration::from_millis(100);
/// How long the server may be unreachable before giving up.
const MAX_GONE: Duration = Duration::from_secs(5);

/// Waits for change `id` to be ready. `Done` is success; any other ready status is an error
/// carrying the change's `err`.
pub async fn wait_change(client: &Client, id: &str) -> Result<ChangeInfo, CliError> {
    let mut interrupt = std::pin::pin!(tokio::signal::ctrl_c());
    let mut aborted = false;
    let mut gone_since: Option<tokio::time::Instant> = None;
    let mut last_log: HashMap<String, String> = HashMap::new();
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
        if let Some(t) = change.tasks.iter().find(|t| t.status == "Doing")
            && t.progress.total == 1
        {
            let now_log = t.log.last().cloned().unwrap_or_default();
            let prev = last_log.entry(t.id.clone()).or_default();
            if *prev != now_log {
                ctx::out(&format!("{now_log}\n"));
                *prev = now_log;
            }
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
