//! `pebble start|stop|restart` (named services) and `pebble replan|autostart` (none).

use clap::Args;

use crate::ctx::Ctx;
use crate::error::CliError;
use crate::wait::maybe_wait;

/// Arguments of `start`, `stop` and `restart`.
#[derive(Debug, Args)]
pub struct NamesArgs {
    /// Do not wait for the operation to finish but just print the change id.
    #[arg(long)]
    pub no_wait: bool,
    /// Services.
    #[arg(value_name = "service", required = true, num_args = 1..)]
    pub services: Vec<String>,
}

/// Arguments of `replan` and `autostart`.
#[derive(Debug, Args)]
pub struct NoNamesArgs {
    /// Do not wait for the operation to finish but just print the change id.
    #[arg(long)]
    pub no_wait: bool,
}

/// Runs a service action on named services and waits for its change.
pub async fn run_names(ctx: &Ctx, action: &str, args: NamesArgs) -> Result<(), CliError> {
    let id = ctx.client.service_action(action, &args.services).await?;
    maybe_wait(&ctx.client, &id, args.no_wait).await
}

/// Runs `replan` or `autostart` and waits for its change.
pub async fn run_no_names(ctx: &Ctx, action: &str, args: NoNamesArgs) -> Result<(), CliError> {
    let id = ctx.client.service_action(action, &[]).await?;
    maybe_wait(&ctx.client, &id, args.no_wait).await
}
