//! Integration tests of the `pebble` binary: a real `pebble run` daemon on a temp `$PEBBLE`,
//! and the CLI's output compared with Go Pebble's (golden/cli.md), times and ids masked.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod cli;
mod enter;
mod env;
mod exec;
mod files;
mod harness;
mod offline;
