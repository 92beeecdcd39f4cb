//! The Pebble daemon: service manager, reaper, logs, changes, state and the HTTP API.

pub mod daemonlog;
pub mod exec;
pub mod files;
pub mod tasklog;
pub mod timefmt;
pub mod state;
pub mod http;
pub mod overlord;
pub mod run;
pub mod logs;
pub mod reaper;
pub mod servstate;
pub mod sys;
pub mod users;

pub use overlord::{Daemon, DaemonError, DaemonOptions};
pub use run::{RunOptions, run, serve};
