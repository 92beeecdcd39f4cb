//! `pebble rm`: remove a path on the remote system.

use clap::Args;

use crate::ctx::Ctx;
use crate::error::CliError;

/// Arguments of `pebble rm`.
#[derive(Debug, Args)]
pub struct RmArgs {
    /// Remove all files and directories recursively in the specified path
    #[arg(short = 'r')]
    pub recursive: bool,
    /// Absolute path to remove.
    #[arg(value_name = "path", required = true)]
    pub path: String,
}

/// Removes the path; silent on success.
pub async fn run(ctx: &Ctx, args: RmArgs) -> Result<(), CliError> {
    ctx.client.remove_path(&args.path, args.recursive).await?;
    Ok(())
}
