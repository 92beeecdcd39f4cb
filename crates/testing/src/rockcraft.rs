//! Layers built from a rock's `rockcraft.yaml`.

use std::path::Path;

use pebble_client::container::{ContainerError, LayerInput};
use pebble_plan::Layer;
use serde_json::{Map, Value};

/// Builds a layer from the `services` and `checks` sections of a `rockcraft.yaml` (as
/// `ops.testing.layer_from_rockcraft` does): `summary` is required, the description says where
/// the layer came from. The result is parsed (and validated) with `pebble_plan`.
pub fn layer_from_rockcraft(path: impl AsRef<Path>) -> Result<Layer, ContainerError> {
    let path = path.as_ref();
    if !path.is_file() {
        return Err(ContainerError::InvalidArgument(format!(
            "{} is not a file",
            path.display()
        )));
    }
    let text = std::fs::read_to_string(path)?;
    let doc: Value = serde_saphyr::from_str(&text).map_err(|e| {
        ContainerError::InvalidArgument(format!("cannot parse {}: {e}", path.display()))
    })?;
    let Some(top) = doc.as_object() else {
        return Err(ContainerError::InvalidArgument(format!(
            "{} is not a YAML map",
            path.display()
        )));
    };
    let Some(summary) = top.get("summary").and_then(Value::as_str) else {
        return Err(ContainerError::InvalidArgument(format!(
            "{} has no summary",
            path.display()
        )));
    };
    let description = top
        .get("description")
        .and_then(Value::as_str)
        .unwrap_or("(no description)");
    let mut layer = Map::new();
    layer.insert("summary".into(), summary.into());
    layer.insert(
        "description".into(),
        format!(
            "{} (built from the rockcraft.yaml at {})",
            description.trim_end(),
            path.display()
        )
        .into(),
    );
    for section in ["services", "checks"] {
        if let Some(v) = top.get(section) {
            layer.insert(section.into(), v.clone());
        }
    }
    LayerInput::Value(Value::Object(layer)).to_layer("rockcraft")
}
