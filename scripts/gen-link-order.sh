#!/usr/bin/env bash
# Regenerates crates/pebble/link-order.txt, the order in which the linker lays out the
# functions of the release `pebble` binary (scripts/build-release.sh hands it to lld as
# `--symbol-ordering-file`).
#
# Why: the kernel maps the executable's pages in 64 KiB windows ("fault-around"), so a daemon
# whose start-up and idle code is scattered over the 3 MB of .text ends up with nearly all of
# it resident. Laid out first and together, the code a running daemon needs fits in a few
# windows and the rest is never mapped (bench/ figure `a`, idle RSS).
#
# How: the release binary, built with symbols, runs `pebble run` under valgrind's callgrind;
# the functions it executes are recorded in three phases, each dumped separately:
#   1. start-up, `GET /v1/system-info`, 3 s idle (what every daemon runs),
#   2. a working session through the CLI (layers, replan, services, logs, exec, files, ...),
#   3. shutdown.
# The order file lists phase 1, then what phase 2 added, then phase 3. glibc's string
# functions come in CPU-specific variants picked at start-up (valgrind's CPU is not the
# host's), so every variant of a family phase 1 uses is listed with it, as are glibc's
# start-up functions that callgrind reports as "(below main)".
#
# Symbol names depend on the toolchain and the locked dependency versions: regenerate after
# changing either (names that no longer exist are ignored by the linker, the layout just gets
# less compact; bench figure `a` shows it). Needs valgrind and python3.
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$(pwd)
OUT=$ROOT/crates/pebble/link-order.txt

BIN=$(PEBBLE_STRIP=none PEBBLE_LINK_ORDER=none scripts/build-release.sh)
WORK=$(mktemp -d)
trap 'pkill -f "callgrind.*$WORK" 2>/dev/null || true; rm -rf "$WORK"' EXIT
cp "$BIN" "$WORK/pebble"
export PEBBLE=$WORK/dir
mkdir -p "$PEBBLE"

valgrind --tool=callgrind --demangle=no --compress-strings=no --compress-pos=no \
    --callgrind-out-file="$WORK/cg.out" "$WORK/pebble" run >"$WORK/daemon.log" 2>&1 &
VG=$!
for _ in $(seq 300); do
    [[ -S $PEBBLE/.pebble.socket ]] && break
    sleep 0.1
done
P=$WORK/pebble   # the same binary as client, not under valgrind

# Phase 1: start-up, one request, idle.
"$P" version >/dev/null
sleep 3
callgrind_control --dump=startup "$VG" >/dev/null 2>&1

# Phase 2: a working session.
cat >"$WORK/layer.yaml" <<'EOF'
summary: link-order session
services:
  srv:
    override: replace
    command: sh -c 'while :; do echo hi; sleep 0.2; done'
    startup: enabled
    environment:
      A: b
  other:
    override: replace
    command: sleep 1000
    after: [srv]
checks:
  up:
    override: replace
    exec:
      command: "true"
EOF
{
    "$P" add demo "$WORK/layer.yaml"
    "$P" replan
    "$P" services
    "$P" plan
    "$P" logs -n 3
    "$P" start other
    "$P" restart srv
    "$P" stop other
    "$P" changes
    "$P" tasks 2
    "$P" exec echo hello
    echo abc | "$P" exec cat
    echo hello >"$WORK/f"
    "$P" push "$WORK/f" "$WORK/pushed"
    "$P" pull "$WORK/pushed" "$WORK/pulled"
    "$P" ls -l "$WORK"
    "$P" mkdir -p "$WORK/d/e"
    "$P" rm -r "$WORK/d"
    "$P" signal HUP srv
    "$P" health
    timeout 1 "$P" logs -f || true
    "$P" stop srv
} >/dev/null 2>&1
callgrind_control --dump=session "$VG" >/dev/null 2>&1

# Phase 3: shutdown.
kill -TERM "$VG"
wait "$VG" || true

python3 - "$WORK" "$BIN" "$OUT" <<'PY'
import glob, re, subprocess, sys

work, binary, out = sys.argv[1:]
syms = set()
for line in subprocess.run(["nm", binary], capture_output=True, text=True, check=True).stdout.splitlines():
    parts = line.split()
    if len(parts) == 3 and parts[1] in "tTwWi":
        syms.add(parts[2])

def executed(path):
    names = []
    for line in open(path):
        if line.startswith("fn="):
            name = re.sub(r"'\d+$", "", line[3:].strip())  # recursion depth marks
            if name in syms and name not in names:
                names.append(name)
    return names

dumps = sorted(glob.glob(f"{work}/cg.out.*"), key=lambda p: int(p.rsplit(".", 1)[1]))
phases = [executed(p) for p in dumps] + [executed(f"{work}/cg.out")]

variant = re.compile(r"^__([a-z]+?)_(sse2|sse4|ssse3|avx|avx2|evex|avx512|erms)")
startup = ["_start", "__libc_start_main", "__libc_start_main_impl", "__libc_start_call_main",
           "_dl_relocate_static_pie", "__libc_setup_tls", "_dl_new_object", "__libc_init_first",
           "_dl_non_dynamic_init", "__libc_init_secure", "_dl_aux_init", "__tunables_init",
           "init_cpu_features", "_dl_start_user", "__libc_early_init", "_dl_setup_hash",
           "_dl_debug_initialize", "__tls_pre_init_tp", "__ctype_init", "free_mem"]
order, seen = [], set()

def add(name):
    if name in syms and name not in seen:
        seen.add(name)
        order.append(name)

for name in startup:
    add(name)
for name in sorted(s for s in syms if s.endswith("_ifunc")):
    add(name)
# Which variant the host picks is not known here, and the families a daemon uses at start-up
# differ from valgrind's run (e.g. strcmp), so the common families are listed whole.
families = {m.group(1) for n in phases[0] if (m := variant.match(n))}
families |= {"memcpy", "memmove", "mempcpy", "memset", "memchr", "memrchr", "memcmp", "strlen",
             "strnlen", "strcmp", "strncmp", "strchr", "strchrnul", "strrchr", "rawmemchr",
             "strcspn", "strspn", "strstr", "strcpy", "stpcpy"}
for i, names in enumerate(phases):
    for name in names:
        add(name)
    if i == 0:
        for name in sorted(s for s in syms if (m := variant.match(s)) and m.group(1) in families):
            add(name)

with open(out, "w") as f:
    f.write("# Generated by scripts/gen-link-order.sh: do not edit. Function layout of the release\n")
    f.write("# binary: start-up and idle code first, then a working session, then shutdown.\n")
    f.write("\n".join(order) + "\n")
print(f"{out}: {len(order)} functions (phases: {[len(p) for p in phases]})", file=sys.stderr)
PY
