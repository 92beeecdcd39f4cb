#!/usr/bin/env bash
# Builds the release `pebble` binary, statically linked (glibc crt-static),
# and prints its absolute path on stdout (build progress goes to stderr).
#
# The target triple is given explicitly so that RUSTFLAGS apply only to the
# target artifacts: build scripts and proc-macros stay dynamic host code.
#
# Environment knobs:
#   CARGO_TARGET_DIR   where to build (default: ./target)
#   PEBBLE_RELEASE_PROFILE  cargo profile (default: release)
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$(pwd)

TARGET=x86_64-unknown-linux-gnu
PROFILE=${PEBBLE_RELEASE_PROFILE:-release}
TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}

RUSTFLAGS="${RUSTFLAGS:-} -C target-feature=+crt-static" \
    cargo build --profile "$PROFILE" --target "$TARGET" -p pebble >&2

BIN=$TARGET_DIR/$TARGET/$PROFILE/pebble
case "$BIN" in /*) ;; *) BIN=$ROOT/$BIN ;; esac

# A static executable has no program interpreter (PT_INTERP).
if command -v readelf >/dev/null && readelf -l "$BIN" | grep -q 'program interpreter'; then
    echo "error: $BIN is dynamically linked" >&2
    exit 1
fi
echo "$BIN"
