//! `pebble mkdir`: create a directory on the remote system.

use clap::Args;
use pebble_api::files::Ownership;
use pebble_client::MakeDirOptions;

use crate::ctx::Ctx;
use crate::error::CliError;

/// Arguments of `pebble mkdir`.
#[derive(Debug, Args)]
pub struct MkdirArgs {
    /// Create parent directories as needed, and don't fail if path already exists
    #[arg(short = 'p')]
    pub make_parents: bool,
    /// Override the default (0755) permissions
    #[arg(short = 'm', value_name = "permissions")]
    pub permissions: Option<String>,
    /// Use specified user ID
    #[arg(long = "uid")]
    pub uid: Option<i64>,
    /// Use specified username
    #[arg(long = "user")]
    pub user: Option<String>,
    /// Use specified group ID
    #[arg(long = "gid")]
    pub gid: Option<i64>,
    /// Use specified group name
    #[arg(long = "group")]
    pub group: Option<String>,
    /// Absolute path of the directory.
    #[arg(value_name = "path", required = true)]
    pub path: String,
}

/// Creates the directory; silent on success.
pub async fn run(ctx: &Ctx, args: MkdirArgs) -> Result<(), CliError> {
    let opts = MakeDirOptions {
        path: args.path,
        make_parents: args.make_parents,
        permissions: args.permissions.unwrap_or_default(),
        owner: Ownership {
            user_id: args.uid,
            user: args.user.unwrap_or_default(),
            group_id: args.gid,
            group: args.group.unwrap_or_default(),
        },
    };
    ctx.client.make_dir(&opts).await?;
    Ok(())
}
