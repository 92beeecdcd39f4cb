//! Integration tests of pebble-daemon.

mod api;
mod common;
mod exec;
mod files;
mod supervision;
