//! Integration tests of pebble-daemon.

mod api;
mod appendix_c;
mod checks;
mod common;
mod driver;
mod exec;
mod files;
mod identities;
mod metrics;
mod notices;
mod supervision;
mod workloads;
