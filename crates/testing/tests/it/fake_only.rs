//! Behaviour only the fake has: recorded events, exec history, requested file metadata.
