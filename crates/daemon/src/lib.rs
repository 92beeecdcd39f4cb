//! The Pebble daemon: service manager, reaper, logs, changes, state and the HTTP API.

pub mod daemonlog;
pub mod tasklog;
