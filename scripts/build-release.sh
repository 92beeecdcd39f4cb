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
#   PEBBLE_STRIP       "none" prints the binary as linked, with its symbol table (for
#                      scripts/gen-link-order.sh); by default a stripped copy is made
#                      (`<target>/release/dist/pebble`) and printed
#
# Stripping is done on a copy after the link, never by rustc or the linker: any difference in
# the final crate's command line (`-C link-arg=-Wl,--strip-all` included) gave it other code
# and other symbol names than the build the ordering file was generated from, and the layout
# then no longer applied (idle RSS 3.1 MB instead of 1.6 MB).
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$(pwd)

TARGET=x86_64-unknown-linux-gnu
PROFILE=${PEBBLE_RELEASE_PROFILE:-release}
TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}

ORDER=${PEBBLE_LINK_ORDER:-$ROOT/crates/pebble/link-order.txt}
LINK_ARGS=(--)
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
if [[ "${PEBBLE_STRIP:-symbols}" != none ]]; then
    STRIPPED=$(dirname "$BIN")/dist/pebble
    mkdir -p "$(dirname "$STRIPPED")"
    if command -v strip >/dev/null; then
        strip --strip-all -o "$STRIPPED.tmp" "$BIN"
    else
        echo "warning: no strip(1): the binary keeps its symbols" >&2
        cp "$BIN" "$STRIPPED.tmp"
    fi
    mv "$STRIPPED.tmp" "$STRIPPED"
    BIN=$STRIPPED
fi
echo "$BIN"
