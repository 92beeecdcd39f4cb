//! Output formatting shared by the commands: tables, times, error wrapping, JSON and YAML.

pub mod fill;
pub mod tabwriter;
pub mod times;
pub mod yaml;

use clap::ValueEnum;

/// The `--format` choices (`text`, `json`, `yaml`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum OutputFormat {
    /// Human-readable text (default).
    #[default]
    Text,
    /// Compact JSON, one document.
    Json,
    /// YAML with 4-space indentation.
    Yaml,
}

/// Serialises `value` as compact JSON like Go's `json.Marshal`, plus a newline.
pub fn json_line<T: serde::Serialize + ?Sized>(value: &T) -> String {
    let mut s = String::from_utf8_lossy(&pebble_api::to_go_json(value)).into_owned();
    s.push('\n');
    s
}
