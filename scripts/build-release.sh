#!/usr/bin/env bash
# Builds the release `pebble` binary, statically linked (glibc crt-static),
# and prints its absolute path on stdout (build progress goes to stderr).
#
# The target triple is given explicitly so that RUSTFLAGS apply only to the
# target artifacts: build scripts and proc-macros stay dynamic host code.
#
# The functions are laid out in the order of crates/pebble/link-order.txt (lld's
# `--symbol-ordering-file`, passed to the final link only): start-up and idle code first, so
# that a running daemon maps a few 64 KiB windows of its .text rather than nearly all of it.
# scripts/gen-link-order.sh regenerates the file.
#
# Environment knobs:
#   CARGO_TARGET_DIR   where to build (default: ./target)
#   PEBBLE_RELEASE_PROFILE  cargo profile (default: release)
#   PEBBLE_LINK_ORDER  symbol ordering file (default: crates/pebble/link-order.txt;
#                      "none": the linker's default layout)
#   PEBBLE_STRIP       "none" keeps the symbol table (for scripts/gen-link-order.sh); by
#                      default the linker strips it
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$(pwd)

TARGET=x86_64-unknown-linux-gnu
PROFILE=${PEBBLE_RELEASE_PROFILE:-release}
TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}

ORDER=${PEBBLE_LINK_ORDER:-$ROOT/crates/pebble/link-order.txt}
# Stripped by the linker, so that rustc compiles exactly as for the build the ordering file
# was generated from (`-C strip` changes code generation slightly, and with it symbol names).
LINK_ARGS=(--)
if [[ "${PEBBLE_STRIP:-symbols}" != none ]]; then
    LINK_ARGS+=(-C link-arg=-Wl,--strip-all)
fi
if [[ "$ORDER" != none ]]; then
    # Missing names (another toolchain or dependency version) only make the layout less compact.
    LINK_ARGS+=(-C "link-arg=-Wl,--symbol-ordering-file=$ORDER"
        -C link-arg=-Wl,--no-warn-symbol-ordering)
fi

RUSTFLAGS="${RUSTFLAGS:-} -C target-feature=+crt-static" \
    cargo rustc --profile "$PROFILE" --target "$TARGET" -p pebble --bin pebble "${LINK_ARGS[@]}" >&2

BIN=$TARGET_DIR/$TARGET/$PROFILE/pebble
case "$BIN" in /*) ;; *) BIN=$ROOT/$BIN ;; esac

# A static executable has no program interpreter (PT_INTERP).
if command -v readelf >/dev/null && readelf -l "$BIN" | grep -q 'program interpreter'; then
    echo "error: $BIN is dynamically linked" >&2
    exit 1
fi
echo "$BIN"
