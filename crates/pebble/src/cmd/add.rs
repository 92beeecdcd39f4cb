//! `pebble add`.

use clap::Args;
use pebble_client::AddLayerOptions;

use crate::ctx::{self, Ctx};
use crate::error::CliError;

/// Arguments of `pebble add`.
#[derive(Debug, Args)]
pub struct AddArgs {
    /// Combine the new layer with an existing layer that has the same label.
    #[arg(long)]
    pub combine: bool,
    /// Allow appending the new layer to an inner (sub-directory) layer.
    #[arg(long)]
    pub inner: bool,
    /// Layer label.
    #[arg(value_name = "label", required = true)]
    pub label: String,
    /// Path of the layer YAML file.
    #[arg(value_name = "layer-path", required = true)]
    pub layer_path: String,
}

/// Reads the layer file and adds it.
pub async fn run(ctx: &Ctx, args: AddArgs) -> Result<(), CliError> {
    let yaml = std::fs::read(&args.layer_path).map_err(|e| {
        CliError::Msg(format!(
            "open {}: {}",
            args.layer_path,
            pebble_client::errno_text(&e)
        ))
    })?;
    let opts = AddLayerOptions {
        combine: args.combine,
        inner: args.inner,
        label: args.label.clone(),
        layer_yaml: String::from_utf8_lossy(&yaml).into_owned(),
    };
    ctx.client.add_layer(&opts).await?;
    ctx::out(&format!(
        "Layer {:?} added successfully from {:?}\n",
        args.label, args.layer_path
    ));
    Ok(())
}
