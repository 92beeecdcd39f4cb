#!/usr/bin/env bash
# Checks that the release `pebble` is a static drop-in binary:
#   1. builds it with scripts/build-release.sh (or takes $1),
#   2. `ldd` must call it "not a dynamic executable" / "statically linked",
#   3. `pebble run` from it starts a service with `user: nobody` (user and group lookups read
#      /etc/passwd and /etc/group directly: no NSS in a static binary), when run as root.
set -euo pipefail

cd "$(dirname "$0")/.."
BIN=${1:-$(scripts/build-release.sh)}

LDD=$(ldd "$BIN" 2>&1 || true)
if ! grep -Eq 'not a dynamic executable|statically linked' <<<"$LDD"; then
    echo "FAIL: $BIN is not static; ldd says:" >&2
    echo "$LDD" >&2
    exit 1
fi
echo "ok: $BIN is static ($(echo "$LDD" | head -n1 | sed 's/^[[:space:]]*//')), $(stat -c %s "$BIN") bytes"

if [[ $(id -u) != 0 ]] || ! NOBODY=$(id -u nobody 2>/dev/null); then
    echo "skip: user: nobody check (needs root and a 'nobody' user)"
    exit 0
fi

WORK=$(mktemp -d)
PID=""
cleanup() {
    if [[ -n "$PID" ]]; then
        kill -TERM "$PID" 2>/dev/null || true
        wait "$PID" 2>/dev/null || true
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT
mkdir -p "$WORK/pebble/layers" "$WORK/out"
chmod 755 "$WORK"
chmod 777 "$WORK/out"
cat >"$WORK/pebble/layers/001-nobody.yaml" <<YAML
services:
  as-nobody:
    override: replace
    command: sh -c 'id -u > $WORK/out/uid.tmp && mv $WORK/out/uid.tmp $WORK/out/uid && exec sleep 1000'
    startup: enabled
    user: nobody
YAML
PEBBLE=$WORK/pebble "$BIN" run >"$WORK/daemon.log" 2>&1 &
PID=$!
for _ in $(seq 1 200); do
    [[ -s "$WORK/out/uid" ]] && break
    if ! kill -0 "$PID" 2>/dev/null; then break; fi
    sleep 0.05
done
GOT=$(cat "$WORK/out/uid" 2>/dev/null || true)
if [[ "$GOT" != "$NOBODY" ]]; then
    echo "FAIL: service with 'user: nobody' did not run as uid $NOBODY (got '${GOT}'); daemon log:" >&2
    cat "$WORK/daemon.log" >&2
    exit 1
fi
echo "ok: the static binary ran a 'user: nobody' service as uid $GOT"
