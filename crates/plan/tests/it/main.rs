//! Integration tests of pebble-plan (one binary, ripgrep style).
#![allow(clippy::unwrap_used)]

mod golden;
mod layers;
mod merge_props;
mod ordering;
mod stack;
mod workloads;
