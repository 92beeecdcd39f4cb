#!/usr/bin/env bash
# Builds pebble-rs and runs the daemon in the foreground on the demo layer
# (demo/layers/001-demo.yaml), with its state in ./.demo (or $PEBBLE if set).
#
# In another terminal, talk to it with the same binary, for example:
#   PEBBLE=$PWD/.demo target/debug/pebble services
#   PEBBLE=$PWD/.demo target/debug/pebble logs -f
#   PEBBLE=$PWD/.demo target/debug/pebble start flaky
# Stop the daemon with Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)

if [[ "${PEBBLE_PROFILE:-debug}" == release ]]; then
    cargo build --release -p pebble
    BIN=${CARGO_TARGET_DIR:-$ROOT/target}/release/pebble
else
    cargo build -p pebble
    BIN=${CARGO_TARGET_DIR:-$ROOT/target}/debug/pebble
fi

export PEBBLE=${PEBBLE:-$ROOT/.demo}
mkdir -p "$PEBBLE/layers"
# Start from the shipped layers each time (the state file is kept).
rm -f "$PEBBLE"/layers/*.yaml
cp demo/layers/*.yaml "$PEBBLE/layers/"

cat <<MSG
pebble-rs demo: PEBBLE=$PEBBLE
  try, in another terminal:
    PEBBLE=$PEBBLE $BIN services
    PEBBLE=$PEBBLE $BIN logs -f
    PEBBLE=$PEBBLE $BIN plan
    PEBBLE=$PEBBLE $BIN start flaky     # fails, then restarts with backoff
  Ctrl-C stops the daemon (and its services).
MSG
exec "$BIN" run --create-dirs "$@"
