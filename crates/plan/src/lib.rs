//! Pebble layers and plans: parse, validate, merge, order, YAML out. No I/O.
//!
//! The public types in [`types`] are the contract used by the daemon, the client and the testing kit.
//!
//! * [`parse_layer`] parses and validates one layer (strict YAML, Pebble's messages);
//! * [`combine_layers`] merges layers into a validated [`Plan`];
//! * [`add_layer`] computes the layer stack after `POST /v1/layers`;
//! * [`Plan::to_yaml`] prints the plan like `pebble plan`;
//! * [`Plan::start_order`] / [`Plan::stop_order`] give the lanes of a start or stop;
//! * [`users`] resolves user and group fields from `/etc/passwd` and `/etc/group` text.

pub mod combine;
pub mod command;
pub mod error;
pub mod go_duration;
mod order;
mod output;
mod parse;
pub mod quote;
pub mod stack;
pub mod types;
pub mod users;
mod yaml;

pub use combine::{combine_layers, combine_to_layer};
pub use command::{command_string, shlex_join, shlex_quote, shlex_split};
pub use error::PlanError;
pub use output::action_str;
pub use parse::{parse_layer, validate_layer};
pub use stack::{
    LayerNameSet, add_layer, layer_order_label, parse_layer_dir_name, parse_layer_file_name,
};
pub use types::*;
pub use users::{UserDb, normalize_uid_gid};
pub use yaml::emit::go_format_float;
pub use yaml::go_yaml_key_less;
