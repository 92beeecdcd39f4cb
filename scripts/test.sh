#!/usr/bin/env bash
# The one test command of pebble-rs (README and .ci/run call it).
#
# Runs, in order, failing on the first failure:
#   1. cargo fmt --check
#   2. cargo clippy (all targets, warnings are errors)
#   3. cargo doc (rustdoc warnings are errors)
#   4. cargo nextest (unit and integration tests, profile "ci")
#   5. cargo test --doc
#   6. builds the `pebble` binary
#   7. creates .venv with pinned ops/pytest and runs the Python end-to-end
#      tests (tests/e2e) and the golden transcript replay (tests/golden)
#      against that binary (passed as PEBBLE_BIN).
#
# Environment knobs:
#   PEBBLE_PROFILE=release   build the release binary instead of the debug one
#   PEBBLE_BIN=/path         use this binary instead of building one
#   SKIP_RUST=1              skip steps 1-5 (quick Python-only iteration)
#   SKIP_STATIC=1            skip the last step: static release binary check
#                            (scripts/check-static.sh: ldd, `user: nobody` service)
#   PYTEST_ARGS="..."        extra arguments for pytest
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$(pwd)

OPS_VERSION=3.9.0
PYTEST_VERSION=8.4.2

START=$(date +%s)
section() {
    local now
    now=$(date +%s)
    printf '\n==================== %s (t=%ss) ====================\n' "$*" "$((now - START))"
}

if [[ "${SKIP_RUST:-0}" != 1 ]]; then
    section "cargo fmt --check"
    cargo fmt --all -- --check

    section "cargo clippy"
    cargo clippy --workspace --all-targets -- -D warnings

    section "cargo doc"
    RUSTDOCFLAGS="-D warnings" cargo doc --no-deps --workspace

    section "cargo nextest"
    cargo nextest run --workspace --profile ci --no-tests=warn

    section "cargo test --doc"
    cargo test --doc --workspace
fi

if [[ -z "${PEBBLE_BIN:-}" ]]; then
    TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
    if [[ "${PEBBLE_PROFILE:-debug}" == release ]]; then
        section "cargo build --release -p pebble"
        cargo build --release -p pebble
        PEBBLE_BIN=$TARGET_DIR/release/pebble
    else
        section "cargo build -p pebble"
        cargo build -p pebble
        PEBBLE_BIN=$TARGET_DIR/debug/pebble
    fi
fi
case "$PEBBLE_BIN" in /*) ;; *) PEBBLE_BIN=$ROOT/$PEBBLE_BIN ;; esac
export PEBBLE_BIN
echo "PEBBLE_BIN=$PEBBLE_BIN"

section "Python venv (.venv: ops==$OPS_VERSION, pytest==$PYTEST_VERSION)"
PY=${PYTHON:-python3}
if [[ ! -x .venv/bin/python ]]; then
    if ! "$PY" -m venv .venv; then
        # Debian's python3 needs the python3-venv package for ensurepip.
        rm -rf .venv
        if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
            echo "python3 -m venv failed; installing python3-venv with apt-get"
            apt-get update -qq
            DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv
            "$PY" -m venv .venv
        else
            echo "error: '$PY -m venv' failed (on Debian: apt-get install python3-venv)" >&2
            exit 1
        fi
    fi
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check \
    "ops==$OPS_VERSION" "pytest==$PYTEST_VERSION"
.venv/bin/python -c 'import ops, pytest; print("ops", ops.__version__, "pytest", pytest.__version__)'

section "pytest tests/e2e tests/golden"
# shellcheck disable=SC2086
.venv/bin/python -m pytest -p no:cacheprovider -rfEs ${PYTEST_ARGS:-} tests/e2e tests/golden

if [[ "${SKIP_STATIC:-0}" != 1 ]]; then
    section "static release binary (scripts/check-static.sh)"
    scripts/check-static.sh
fi

section "all tests passed in $(( $(date +%s) - START ))s"
