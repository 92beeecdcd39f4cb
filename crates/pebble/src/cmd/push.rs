//! `pebble push`: transfer a local file to the remote system.

use clap::Args;
use pebble_api::files::Ownership;
use pebble_client::PushOptions;
use std::os::unix::fs::PermissionsExt;

use crate::ctx::Ctx;
use crate::error::CliError;

/// Arguments of `pebble push`.
#[derive(Debug, Args)]
pub struct PushArgs {
    /// Create parent directories for the file
    #[arg(short = 'p')]
    pub make_dirs: bool,
    /// Set permissions for the file (e.g. 0644)
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
    /// Local file to send.
    #[arg(value_name = "local-path", required = true)]
    pub local_path: String,
    /// Absolute path of the file on the remote system.
    #[arg(value_name = "remote-path", required = true)]
    pub remote_path: String,
}

/// `open <path>: <errno text>` like Go's `*os.PathError`.
pub fn open_error(op: &str, path: &str, e: &std::io::Error) -> CliError {
    CliError::msg(format!("{op} {path}: {}", pebble_client::errno_text(e)))
}

/// Streams the local file to the daemon in one multipart request.
pub async fn run(ctx: &Ctx, args: PushArgs) -> Result<(), CliError> {
    let file = tokio::fs::File::open(&args.local_path)
        .await
        .map_err(|e| open_error("open", &args.local_path, &e))?;
    let md = file
        .metadata()
        .await
        .map_err(|e| open_error("stat", &args.local_path, &e))?;
    let permissions = match args.permissions {
        Some(p) if !p.is_empty() => p,
        _ => format!("{:03o}", md.permissions().mode() & 0o777),
    };
    let opts = PushOptions {
        path: args.remote_path,
        make_dirs: args.make_dirs,
        permissions,
        owner: Ownership {
            user_id: args.uid,
            user: args.user.unwrap_or_default(),
            group_id: args.gid,
            group: args.group.unwrap_or_default(),
        },
    };
    ctx.client.push(&opts, file).await?;
    Ok(())
}
