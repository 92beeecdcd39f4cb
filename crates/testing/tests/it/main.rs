//! Integration tests of pebble-testing: the shared scenario suite and the seed guide's twins,
//! run against the fake container and against a real daemon (through the fixture), plus
//! fake-only behaviour.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod blocking;
mod env;
mod fake_only;
mod fixture;
mod scenarios;
mod seed_twins;
