//! `pebble pull`: retrieve a file from the remote system.

use clap::Args;

use crate::cmd::push::open_error;
use crate::ctx::Ctx;
use crate::error::CliError;

/// Arguments of `pebble pull`.
#[derive(Debug, Args)]
pub struct PullArgs {
    /// Absolute path of the file on the remote system.
    #[arg(value_name = "remote-path", required = true)]
    pub remote_path: String,
    /// Local file to write.
    #[arg(value_name = "local-path", required = true)]
    pub local_path: String,
}

/// Streams the remote file into the local one; on failure the local file is removed.
pub async fn run(ctx: &Ctx, args: PullArgs) -> Result<(), CliError> {
    let file = tokio::fs::File::create(&args.local_path)
        .await
        .map_err(|e| open_error("open", &args.local_path, &e))?;
    let mut w = tokio::io::BufWriter::with_capacity(256 * 1024, file);
    match ctx.client.pull(&args.remote_path, &mut w).await {
        Ok(_) => Ok(()),
        Err(e) => {
            drop(w);
            let _ = std::fs::remove_file(&args.local_path);
            Err(e.into())
        }
    }
}
