//! A small YAML layer over `granit-parser` that behaves like go-yaml v3 where Pebble relies on it:
//! a node tree with line numbers ([`node`]), go-yaml's plain-scalar resolution ([`resolve`]) and a
//! go-yaml-compatible block emitter with natural key order ([`emit`]).

pub(crate) mod emit;
pub(crate) mod node;
pub(crate) mod resolve;

pub use emit::go_yaml_key_less;
