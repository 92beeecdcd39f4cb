//! The Pebble daemon: service manager, reaper, logs, changes, state and the HTTP API.

pub mod checks;
pub mod daemonlog;
pub mod exec;
pub mod files;
pub mod http;
pub mod identities;
pub mod logs;
pub mod overlord;
pub mod reaper;
pub mod run;
pub mod servstate;
pub mod shacrypt;
pub mod state;
pub mod sys;
pub mod tasklog;
pub mod timefmt;
pub mod timerfd;
pub mod users;

pub use overlord::{Daemon, DaemonError, DaemonOptions};
pub use run::{RunOptions, run, serve};
