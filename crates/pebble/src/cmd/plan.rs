//! `pebble plan`.

use clap::Args;

use crate::ctx::{self, Ctx};
use crate::error::CliError;

/// Arguments of `pebble plan` (none).
#[derive(Debug, Args)]
pub struct PlanArgs {}

/// Prints the combined plan YAML verbatim.
pub async fn run(ctx: &Ctx, _args: PlanArgs) -> Result<(), CliError> {
    let yaml = ctx.client.plan_yaml().await?;
    ctx::out(&yaml);
    Ok(())
}
