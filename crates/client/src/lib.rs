//! Client for the Pebble HTTP API over its Unix socket.
