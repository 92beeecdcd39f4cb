#!/usr/bin/env bash
# THE pebble-rs benchmark command (see bench/README.md).
#
# Builds the static release `pebble` (scripts/build-release.sh) and the `pebble-bench`
# measuring tool, then runs bench/bench.py, which prints a table of figures, each next to a
# reference measured in the same run, and writes bench/out/results.md.
#
# Environment knobs:
#   PEBBLE_BIN=/path    benchmark this binary instead of building one
#   BENCH_ONLY=a,c      only these figures (keys as in the table: 0 a b c d e f g h i)
#   BENCH_DEBUG=1       print tracebacks of figures reported as n/a
#   PYTHON=python3      interpreter used to create .venv when it is missing
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$(pwd)
TARGET=x86_64-unknown-linux-gnu
TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
case "$TARGET_DIR" in /*) ;; *) TARGET_DIR=$ROOT/$TARGET_DIR ;; esac

BUILD_SECS=""
if [[ -z "${PEBBLE_BIN:-}" ]]; then
    echo "== building the static release binary" >&2
    t0=$(date +%s%N)
    PEBBLE_BIN=$(scripts/build-release.sh)
    BUILD_SECS=$(( ($(date +%s%N) - t0) / 1000000000 ))
fi

echo "== building pebble-bench" >&2
# Same target, flags and profile as the release binary, so the dependencies are shared.
RUSTFLAGS="${RUSTFLAGS:-} -C target-feature=+crt-static" \
    cargo build --release --target "$TARGET" -p pebble-bench >&2
BENCH_BIN=$TARGET_DIR/$TARGET/release/pebble-bench

if [[ ! -x .venv/bin/python ]]; then
    echo "== creating .venv (ops==3.9.0)" >&2
    "${PYTHON:-python3}" -m venv .venv
fi
if ! .venv/bin/python -c 'import ops' 2>/dev/null; then
    .venv/bin/python -m pip install --quiet --disable-pip-version-check "ops==3.9.0"
fi

exec .venv/bin/python bench/bench.py --pebble "$PEBBLE_BIN" --bench "$BENCH_BIN" \
    --out bench/out --build-secs "$BUILD_SECS" --only "${BENCH_ONLY:-}"
