//! Pebble layers and plans: parse, validate, merge, order, YAML out. No I/O.
//!
//! The public types in [`types`] are the contract used by the daemon, the client and the testing kit.

pub mod types;

pub use types::*;
