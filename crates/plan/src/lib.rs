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
//!
//! Typical daemon flow:
//!
//! 1. Loading `$PEBBLE/layers`: for each entry use [`parse_layer_file_name`] /
//!    [`parse_layer_dir_name`] (`Ok(None)` = ignore), [`LayerNameSet`] for duplicates,
//!    [`layer_order_label`] for order and label, then [`parse_layer`] on the file bytes, then
//!    [`combine_layers`] on all layers, then [`Plan::validate_workload_users`] with the host's
//!    user database.
//! 2. `POST /v1/layers`: [`parse_layer`] (prefix `cannot parse layer YAML: ` when
//!    [`PlanError::is_parse`]), optionally [`Layer::validate_exec_users`], then [`add_layer`] and
//!    [`combine_layers`] on the returned stack (its errors are shown as is), the workload user
//!    check, and refuse a plan whose `workloads` differ from the loaded one
//!    (`cannot change immutable section "workloads"`).
//! 3. Defaults that are not part of the plan output are read through accessors such as
//!    [`Service::effective_backoff_delay`] and [`Check::effective_timeout`].
//! 4. Running a service or an exec `service-context`: [`Plan::resolved_service`] gives the
//!    service with its workload's environment and identity applied.

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
pub use yaml::{YamlValue, parse_value as parse_yaml_value};
