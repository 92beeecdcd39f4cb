//! Blocking wrappers (placeholder, filled in below).
