//! Wire types of the Pebble HTTP API.
