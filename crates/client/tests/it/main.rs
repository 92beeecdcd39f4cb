//! Integration tests of `pebble_client::Client` against a scripted fake daemon on a Unix socket
//! (answers taken from golden/api-*.md).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod fake;
mod services;
