//! Integration tests of pebble-daemon.

mod supervision;
