//! Integration tests of pebble-daemon.

mod exec;
mod supervision;
