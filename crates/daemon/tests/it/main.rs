//! Integration tests of pebble-daemon.

mod api;
mod common;
mod supervision;
