//! `pebble version`.

use clap::Args;

use crate::ctx::{self, Ctx};
use crate::error::CliError;
use crate::format::{OutputFormat, json_line, tabwriter, yaml::Yaml};

/// The version this CLI reports (the Pebble release it is compatible with).
pub const CLIENT_VERSION: &str = "v1.32.1";

/// Arguments of `pebble version`.
#[derive(Debug, Args)]
pub struct VersionArgs {
    /// Only display the client version.
    #[arg(long)]
    pub client: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    pub format: OutputFormat,
}

/// Prints the client and server versions (server `-` when unreachable).
pub async fn run(ctx: &Ctx, args: VersionArgs) -> Result<(), CliError> {
    if args.client {
        ctx::out(&format!("{CLIENT_VERSION}\n"));
        return Ok(());
    }
    print_versions(ctx, args.format).await;
    Ok(())
}

/// The `version` output (also used by the hidden `--version` flag).
pub async fn print_versions(ctx: &Ctx, format: OutputFormat) {
    let server = match ctx.client.system_info().await {
        Ok(info) => info.version,
        Err(_) => "-".to_string(),
    };
    let text = match format {
        OutputFormat::Text => tabwriter::table([["client", CLIENT_VERSION], ["server", &server]]),
        OutputFormat::Json => {
            let mut m = serde_json::Map::new();
            m.insert("client".into(), CLIENT_VERSION.into());
            m.insert("server".into(), server.into());
            json_line(&m)
        }
        OutputFormat::Yaml => Yaml::Map(vec![
            ("client".into(), Yaml::Str(CLIENT_VERSION.into())),
            ("server".into(), Yaml::Str(server)),
        ])
        .render(),
    };
    ctx::out(&text);
}
