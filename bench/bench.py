#!/usr/bin/env python3
"""The pebble-rs benchmark driver (run it through bench/run.sh; see bench/README.md).

Measures each figure next to a reference measured in the same run, prints a Markdown table
and writes it to <out>/results.md. A figure that cannot be measured is reported as
"n/a (reason)" instead of failing the run.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import traceback

MiB = 1 << 20
MB = 1e6
CLK_TCK = os.sysconf("SC_CLK_TCK")

try:
    import ops  # noqa: F401
    import ops.pebble

    OPS_ERROR = None
except ImportError as e:  # the ops figures become n/a
    OPS_ERROR = f"ops not importable: {e}"


# ---------------------------------------------------------------------------------------------
# Helpers


class UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path: str, timeout: float = 60.0):
        super().__init__("localhost", timeout=timeout)
        self._path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self._path)


def api(sock: str, method: str, path: str, body=None, timeout: float = 60.0):
    """One JSON request; returns the decoded envelope."""
    conn = UnixHTTPConnection(sock, timeout)
    try:
        data = None if body is None else json.dumps(body).encode()
        headers = {"Content-Type": "application/json"} if data else {}
        conn.request(method, path, body=data, headers=headers)
        resp = conn.getresponse()
        raw = resp.read()
        return json.loads(raw)
    finally:
        conn.close()


def raw_get(sock: str, path: str, timeout: float = 60.0) -> bytes:
    """The body of `GET path` (for non-envelope answers such as /v1/logs)."""
    conn = UnixHTTPConnection(sock, timeout)
    try:
        conn.request("GET", path)
        return conn.getresponse().read()
    finally:
        conn.close()


def wait_change(sock: str, change_id: str, timeout: float = 120.0) -> dict:
    env = api(sock, "GET", f"/v1/changes/{change_id}/wait?timeout={int(timeout)}s", timeout=timeout + 5)
    return env["result"]


def wait_for(cond, timeout: float, interval: float = 0.005, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while True:
        v = cond()
        if v:
            return v
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        time.sleep(interval)


def py_keepalive_rtts(sock_path: str, path: str, n: int) -> list[float]:
    """Round trips (seconds) of `n` GETs on one kept-alive connection, raw Python client."""
    req = f"GET {path} HTTP/1.1\r\nHost: localhost\r\n\r\n".encode()
    s = socket.socket(socket.AF_UNIX)
    s.connect(sock_path)
    out = []
    try:
        for _ in range(n):
            t0 = time.perf_counter()
            s.sendall(req)
            buf = b""
            while b"\r\n\r\n" not in buf:
                chunk = s.recv(65536)
                if not chunk:
                    raise RuntimeError("connection closed")
                buf += chunk
            head, _, body = buf.partition(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n")[1:]:
                k, _, v = line.partition(b":")
                if k.strip().lower() == b"content-length":
                    length = int(v)
            while len(body) < length:
                chunk = s.recv(65536)
                if not chunk:
                    raise RuntimeError("connection closed")
                body += chunk
            out.append(time.perf_counter() - t0)
    finally:
        s.close()
    return out


def proc_status(pid: int, key: str) -> int:
    """A `kB` field of /proc/PID/status, in bytes."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024
    raise KeyError(key)


def proc_cpu(pid: int) -> float:
    """utime+stime of PID in seconds (not its children)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


class Daemon:
    """A `pebble run` in its own fresh directory."""

    def __init__(self, pebble: str, root: str, name: str):
        self.dir = os.path.join(root, name)
        os.makedirs(self.dir)
        self.sock = os.path.join(self.dir, ".pebble.socket")
        self.log = open(os.path.join(root, name + ".log"), "wb")
        self.proc = subprocess.Popen(
            [pebble, "run"],
            env={**os.environ, "PEBBLE": self.dir},
            stdin=subprocess.DEVNULL,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.pid = self.proc.pid

        def up():
            if self.proc.poll() is not None:
                raise RuntimeError(f"pebble run exited with {self.proc.returncode}")
            try:
                return api(self.sock, "GET", "/v1/system-info", timeout=5)["status-code"] == 200
            except OSError:
                return False

        wait_for(up, 15, what="daemon socket")

    def rss(self) -> int:
        return proc_status(self.pid, "VmRSS")

    def hwm(self) -> int:
        return proc_status(self.pid, "VmHWM")

    def cpu(self) -> float:
        return proc_cpu(self.pid)

    def add_layer(self, yaml: str, label: str = "bench") -> None:
        env = api(
            self.sock,
            "POST",
            "/v1/layers",
            {"action": "add", "combine": True, "label": label, "format": "yaml", "layer": yaml},
        )
        if env["status-code"] != 200:
            raise RuntimeError(f"add layer: {env['result']}")

    def services_action(self, action: str, names: list[str]) -> str:
        env = api(self.sock, "POST", "/v1/services", {"action": action, "services": names})
        if env["status-code"] != 202:
            raise RuntimeError(f"{action}: {env['result']}")
        return env["change"]

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.pid, signal.SIGKILL)
                self.proc.wait()
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)


def pin(cpu: int):
    """A preexec_fn that pins the child to one CPU."""
    return lambda: os.sched_setaffinity(0, {cpu})


def tool(bench: str, *args, timeout: float = 600, cpu: int | None = None) -> dict:
    """Run a `pebble-bench` subcommand (pinned to `cpu` if given); returns its JSON line."""
    out = subprocess.run(
        [bench, *map(str, args)], capture_output=True, text=True, timeout=timeout,
        preexec_fn=None if cpu is None else pin(cpu),
    )
    if out.returncode != 0:
        raise RuntimeError((out.stderr or out.stdout).strip().splitlines()[-1][:200])
    return json.loads(out.stdout.strip().splitlines()[-1])


def schedstat(pid: int) -> tuple[int, int]:
    """(ns on a CPU, times scheduled in) of a process's main thread, from /proc/PID/schedstat."""
    with open(f"/proc/{pid}/schedstat") as f:
        run_ns, _wait_ns, slices = map(int, f.read().split())
    return run_ns, slices


def ms(xs: list[float]) -> float:
    return statistics.median(xs) * 1e3


# ---------------------------------------------------------------------------------------------
# The table


class Table:
    def __init__(self):
        self.rows: list[tuple[str, str, str, str, str, str]] = []

    def add(self, key, figure, value, reference, target, go, ok):
        verdict = {True: "ok", False: "MISS", None: ""}[ok]
        self.rows.append((key, figure, value, reference, target, go, verdict))
        print(f"  [{key}] {figure}: {value} | ref: {reference} | target {target} {verdict}", flush=True)

    def na(self, key, figure, reason, target, go):
        reason = " ".join(str(reason).split())[:160]
        self.add(key, figure, f"n/a ({reason})", "", target, go, None)

    def markdown(self) -> str:
        head = "| # | figure | pebble-rs | reference (same run) | target | Go Pebble 1.32.1 | |\n"
        head += "|---|---|---|---|---|---|---|\n"
        return head + "".join("| " + " | ".join(r) + " |\n" for r in self.rows)


def figure(table: Table, key: str, name: str, target: str, go: str):
    """Decorator-ish runner: n/a on any exception."""

    def run(fn):
        try:
            fn()
        except Exception as e:  # noqa: BLE001 - any failure becomes n/a
            if os.environ.get("BENCH_DEBUG"):
                traceback.print_exc()
            table.na(key, name, f"{type(e).__name__}: {e}", target, go)

    return run


# ---------------------------------------------------------------------------------------------
# Figures


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--pebble", required=True)
    p.add_argument("--bench", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--build-secs", default="")
    p.add_argument("--only", default="", help="comma-separated figure keys (e.g. a,c)")
    p.add_argument("--log-bytes", type=int, default=1_000_000_000)
    args = p.parse_args()
    only = set(filter(None, args.only.split(",")))
    pebble, bench = os.path.abspath(args.pebble), os.path.abspath(args.bench)
    os.makedirs(args.out, exist_ok=True)
    root = tempfile.mkdtemp(prefix="pebble-bench-")
    table = Table()

    def want(key):
        return not only or key in only or key[0] in only

    def f(key, name, target, go):
        def deco(fn):
            if want(key):
                figure(table, key, name, target, go)(fn)
            return fn

        return deco

    print(f"pebble: {pebble}\nwork dir: {root}", flush=True)

    # -- static binary and size -------------------------------------------------------------
    @f("0", "static binary, size (stripped)", "static; (no target)", "static, 9.9 MB")
    def _():
        ldd = subprocess.run(["ldd", pebble], capture_output=True, text=True)
        text = (ldd.stdout + ldd.stderr).strip()
        static = "not a dynamic executable" in text or "statically linked" in text
        size = os.path.getsize(pebble)
        build = f"; build {args.build_secs}s" if args.build_secs and int(args.build_secs) > 5 else ""
        table.add("0", "static binary, size (stripped)",
                  f"{'static' if static else 'DYNAMIC'}, {size / MB:.2f} MB",
                  f"ldd: {text.splitlines()[0] if text else '?'}{build}",
                  "static", "static, 9.9 MB", static)

    # -- a: idle RSS ------------------------------------------------------------------------
    @f("a", "idle daemon RSS (empty plan, 3 s after start)", "<= 3 MB", "11.0 MB")
    def _():
        ref = subprocess.Popen(["sleep", "60"])
        d = Daemon(pebble, root, "idle")
        try:
            time.sleep(3)
            rss = d.rss()
            anon, file = proc_status(d.pid, "RssAnon"), proc_status(d.pid, "RssFile")
            ref_rss = proc_status(ref.pid, "VmRSS")
        finally:
            d.stop()
            ref.kill()
            ref.wait()
        table.add("a", "idle daemon RSS (empty plan, 3 s after start)",
                  f"{rss / MB:.2f} MB (private {anon / MB:.2f}, executable pages {file / MB:.2f})",
                  f"idle `sleep` RSS {ref_rss / MB:.2f} MB", "<= 3 MB", "11.0 MB", rss <= 3 * MB)

    # -- b: 100 services ----------------------------------------------------------------------
    @f("b", "RSS with 100 running `sleep` services", "<= 6 MB", "26-35 MB")
    def _():
        d = Daemon(pebble, root, "hundred")
        try:
            idle = d.rss()
            names = [f"s{i:03d}" for i in range(100)]
            layer = "services:\n" + "".join(
                f"  {n}:\n    override: replace\n    command: sleep 1000000\n    startup: enabled\n"
                for n in names
            )
            d.add_layer(layer)
            t0 = time.monotonic()
            change = api(d.sock, "POST", "/v1/services", {"action": "replan", "services": []})
            res = wait_change(d.sock, change["change"])
            replan = time.monotonic() - t0
            if res.get("err"):
                raise RuntimeError(f"replan: {res['err']}")
            time.sleep(2)
            rss = d.rss()
            anon, file = proc_status(d.pid, "RssAnon"), proc_status(d.pid, "RssFile")
            t0 = time.monotonic()
            res = wait_change(d.sock, d.services_action("stop", names))
            stop = time.monotonic() - t0
        finally:
            d.stop()
        table.add("b", "RSS with 100 running `sleep` services",
                  f"{rss / MB:.2f} MB (private {anon / MB:.2f}, executable pages {file / MB:.2f})",
                  f"same daemon idle {idle / MB:.2f} MB", "<= 6 MB", "26-35 MB", rss <= 6 * MB)
        table.add("b2", "replan of 100 services / stop of 100", f"{replan:.2f} s / {stop:.2f} s",
                  "1 s start check", "(none)", "1.2-1.4 s / 0.33-0.50 s", None)

    # -- c: log ingestion ------------------------------------------------------------------
    @f("c", "daemon CPU to ingest 1 GB of 100-byte lines", "<= 1.0 s", "3.9-5.0 s")
    def _():
        total = args.log_bytes
        # Three rounds, each the reference then the daemon, and the medians: a single round
        # swung between 0.25 and 0.6-1.45 s of daemon CPU on this 2-CPU VM, for the session-4
        # binary as for the session-5 one, with the same syscall counts (the machine's state,
        # not the daemon's work).
        cats, cat_walls, cpus, walls = [], [], [], []
        d = Daemon(pebble, root, "logs")
        try:
            d.add_layer(
                "services:\n  gen:\n    override: replace\n"
                f"    command: {bench} gen {total}\n"
                "    on-success: ignore\n    on-failure: ignore\n"
            )
            for _ in range(3):
                # Reference: the same generator into `cat > /dev/null`.
                t0 = time.monotonic()
                gen = subprocess.Popen([bench, "gen", str(total)], stdout=subprocess.PIPE)
                cat = subprocess.Popen(["cat"], stdin=gen.stdout, stdout=subprocess.DEVNULL)
                gen.stdout.close()
                _, _, ru = os.wait4(cat.pid, 0)
                cat.returncode = 0
                gen.wait()
                cat_walls.append(time.monotonic() - t0)
                cats.append(ru.ru_utime + ru.ru_stime)

                cpu0 = d.cpu()
                t0 = time.monotonic()
                change = d.services_action("start", ["gen"])
                wait_change(d.sock, change)

                def done():
                    svc = api(d.sock, "GET", "/v1/services?names=gen")["result"][0]
                    return svc["current"] != "active"

                wait_for(done, 600, interval=0.05, what="generator exit")
                walls.append(time.monotonic() - t0)
                time.sleep(0.2)
                cpus.append(d.cpu() - cpu0)
                last = raw_get(d.sock, "/v1/logs?services=gen&n=1").decode().strip()
                if not last or not json.loads(last.splitlines()[-1])["message"].startswith("line "):
                    raise RuntimeError(f"unexpected last log entry {last!r}")
        finally:
            d.stop()
        gb = total / 1e9
        cpu, wall = statistics.median(cpus), statistics.median(walls)
        cat_cpu, pipe_wall = statistics.median(cats), statistics.median(cat_walls)
        table.add("c", f"daemon CPU to ingest {gb:g} GB of 100-byte lines (median of 3)",
                  f"{cpu:.2f} s CPU ({wall:.2f} s wall; rounds {', '.join(f'{c:.2f}' for c in cpus)} s)",
                  f"`gen | cat >/dev/null`: cat {cat_cpu:.2f} s CPU, {pipe_wall:.2f} s wall "
                  f"({gb / pipe_wall:.2f} GB/s through the pipe)",
                  "<= 1.0 s", "3.9-5.0 s", cpu <= 1.0 * gb)

    # -- d: startup ---------------------------------------------------------------------------
    @f("d", "startup to a served GET /v1/system-info (median of 30)", "<= 3 ms", "7.3-11 ms")
    def _():
        r = tool(bench, "startup", pebble, os.path.join(root, "startup"), 30)
        table.add("d", "startup to a served GET /v1/system-info (median of 30)",
                  f"{r['pebble_ms']:.2f} ms", f"fork+exec+wait of `true` {r['true_ms']:.2f} ms",
                  "<= 3 ms", "7.3-11 ms", r["pebble_ms"] <= 3)

    # -- daemon for e, f, g, h --------------------------------------------------------------
    shared = {}

    def daemon():
        if "d" not in shared:
            d = Daemon(pebble, root, "api")
            d.add_layer(
                "services:\n"
                + "".join(
                    f"  svc{i}:\n    override: replace\n    command: sleep 1000000\n"
                    for i in range(3)
                )
            )
            shared["d"] = d
        return shared["d"]

    try:
        @f("e", "GET /v1/services keep-alive, p50 / p99 (3 services in plan; one CPU)", "p50 <= 1.2x floor", "143-178 / 304-743 us (Python client)")
        def _():
            # Server and client share one CPU, so that the comparison measures the work per
            # request rather than the VM's cross-CPU wakeup latency (10-40 us, varying from
            # run to run). The daemon's main thread (the runtime) is pinned for this figure only.
            # Every server runs in a session of its own, as the daemon does: with the kernel's
            # autogroups each session is a scheduling group, and a server in the client's own
            # group answers about 1 us sooner (10-13%) than the same server in another.
            d = daemon()
            resp = os.path.join(root, "services.http")
            subprocess.run([bench, "capture", d.sock, "/v1/services", resp], check=True)
            floor_sock = os.path.join(root, "floor.sock")
            srv = subprocess.Popen([bench, "serve-fixed", floor_sock, resp], stdout=subprocess.PIPE,
                                   text=True, preexec_fn=pin(0), start_new_session=True)
            # Informative second reference: the same response from tokio + hyper, the daemon's
            # HTTP stack, i.e. what the daemon costs before any of its own code runs.
            hyper_sock = os.path.join(root, "hyper.sock")
            hsrv = subprocess.Popen([bench, "serve-hyper", hyper_sock, resp], stdout=subprocess.PIPE,
                                    text=True, preexec_fn=pin(0), start_new_session=True)
            # And the same bytes from a bare tokio runtime: no HTTP library, no handler.
            tokio_sock = os.path.join(root, "tokio.sock")
            tsrv = subprocess.Popen([bench, "serve-tokio", tokio_sock, resp], stdout=subprocess.PIPE,
                                    text=True, preexec_fn=pin(0), start_new_session=True)
            rs, fls, hys, tks = [], [], [], []
            try:
                os.sched_setaffinity(d.pid, {0})
                for p in (srv, hsrv, tsrv):
                    if p.stdout.readline().strip() != "ready":
                        raise RuntimeError("floor server did not start")
                # Where the server's time goes: its main thread's time on the CPU and how often
                # it was scheduled in, per request (http-rtt makes 22000: 2000 warm-up).
                def per_request(pid, sock):
                    before = schedstat(pid)
                    r = tool(bench, "http-rtt", sock, "/v1/services", 20000, cpu=0)
                    after = schedstat(pid)
                    r["cpu_us"] = (after[0] - before[0]) / 22000 / 1e3
                    r["slices"] = (after[1] - before[1]) / 22000
                    return r

                for _ in range(5):
                    rs.append(per_request(d.pid, d.sock))
                    fls.append(tool(bench, "http-rtt", floor_sock, "/v1/services", 20000, cpu=0))
                    hys.append(tool(bench, "http-rtt", hyper_sock, "/v1/services", 20000, cpu=0))
                    tks.append(per_request(tsrv.pid, tokio_sock))
            finally:
                os.sched_setaffinity(d.pid, set(range(os.cpu_count() or 1)))
                for p in (srv, hsrv, tsrv):
                    p.kill()
                    p.wait()
            r = {k: statistics.median(x[k] for x in rs) for k in ("p50_us", "p99_us")}
            fl = {k: statistics.median(x[k] for x in fls) for k in ("p50_us", "p99_us")}
            hy = statistics.median(x["p50_us"] for x in hys)
            tk = statistics.median(x["p50_us"] for x in tks)
            ratio = r["p50_us"] / fl["p50_us"]
            dcpu = {k: statistics.median(x[k] for x in rs) for k in ("cpu_us", "slices")}
            tcpu = {k: statistics.median(x[k] for x in tks) for k in ("cpu_us", "slices")}
            table.add("e", "GET /v1/services keep-alive, p50 / p99 (3 services in plan; one CPU)",
                      f"{r['p50_us']:.1f} / {r['p99_us']:.1f} us ({ratio:.2f}x floor); "
                      f"per request on the CPU {dcpu['cpu_us']:.1f} us, scheduled in {dcpu['slices']:.2f} times",
                      f"fixed-bytes server, same client: {fl['p50_us']:.1f} / {fl['p99_us']:.1f} us; "
                      f"bare tokio answering the same: {tk:.1f} us ({tk / fl['p50_us']:.2f}x; "
                      f"on the CPU {tcpu['cpu_us']:.1f} us, scheduled in {tcpu['slices']:.2f} times); "
                      f"tokio+hyper: {hy:.1f} us ({hy / fl['p50_us']:.2f}x)",
                      "p50 <= 1.2x floor", "143-178 / 304-743 us (Python raw client)", ratio <= 1.2)

        @f("e3", "GET /v1/services keep-alive, Python raw client (as Go's baseline), p50 / p99 (one CPU)", "p50 <= 1.2x floor", "143-178 / 304-743 us")
        def _():
            # The same measurement with the client Go Pebble's baseline used: a raw Python HTTP
            # client on one kept-alive connection, against the daemon and against the floor.
            # Client, daemon and floor share CPU 0, as in figure e: unpinned, the comparison
            # measured where the scheduler put each server rather than its work (the floor's
            # thread per connection mostly landed on the other CPU, paying a cross-CPU wakeup
            # per request, and came out slower than the daemon; see bench/README.md).
            d = daemon()
            resp = os.path.join(root, "services3.http")
            subprocess.run([bench, "capture", d.sock, "/v1/services", resp], check=True)
            floor_sock = os.path.join(root, "floor3.sock")
            srv = subprocess.Popen([bench, "serve-fixed", floor_sock, resp], stdout=subprocess.PIPE,
                                   text=True, preexec_fn=pin(0), start_new_session=True)
            all_cpus = set(range(os.cpu_count() or 1))
            rounds = []
            try:
                if srv.stdout.readline().strip() != "ready":
                    raise RuntimeError("floor server did not start")
                os.sched_setaffinity(d.pid, {0})
                os.sched_setaffinity(0, {0})
                for _ in range(5):
                    rounds.append((py_keepalive_rtts(d.sock, "/v1/services", 10000),
                                   py_keepalive_rtts(floor_sock, "/v1/services", 10000)))
            finally:
                os.sched_setaffinity(0, all_cpus)
                os.sched_setaffinity(d.pid, all_cpus)
                srv.kill()
                srv.wait()
            def pct(xs, q):
                xs = sorted(xs[len(xs) // 10:])  # the first 10% warm up
                return xs[min(len(xs) - 1, int(q * len(xs)))] * 1e6
            r50 = statistics.median(pct(a, 0.5) for a, _ in rounds)
            r99 = statistics.median(pct(a, 0.99) for a, _ in rounds)
            f50 = statistics.median(pct(b, 0.5) for _, b in rounds)
            f99 = statistics.median(pct(b, 0.99) for _, b in rounds)
            ratio = r50 / f50
            table.add("e3", "GET /v1/services keep-alive, Python raw client (as Go's baseline), p50 / p99 (one CPU)",
                      f"{r50:.1f} / {r99:.1f} us ({ratio:.2f}x floor)",
                      f"fixed-bytes server, same client: {f50:.1f} / {f99:.1f} us",
                      "p50 <= 1.2x floor", "143-178 / 304-743 us (1.65x a 72 us floor, unpinned)", ratio <= 1.2)

        @f("e2", "ops get_services() (new connection per call), median", "(none)", "0.32-0.50 ms")
        def _():
            if OPS_ERROR:
                raise RuntimeError(OPS_ERROR)
            d = daemon()
            c = ops.pebble.Client(socket_path=d.sock)
            xs = []
            for _ in range(300):
                t0 = time.perf_counter()
                c.get_services()
                xs.append(time.perf_counter() - t0)
            t = []
            for _ in range(300):
                t0 = time.perf_counter()
                s = socket.socket(socket.AF_UNIX)
                s.connect(d.sock)
                s.close()
                t.append(time.perf_counter() - t0)
            table.add("e2", "ops get_services() (new connection per call), median", f"{ms(xs):.3f} ms",
                      f"Python connect+close {ms(t):.3f} ms", "(none)", "0.32-0.50 ms", None)

        @f("f", "exec([\"true\"]).wait() via ops, median of 30", "<= 3 ms", "8.7-15 ms")
        def _():
            if OPS_ERROR:
                raise RuntimeError(OPS_ERROR)
            d = daemon()
            c = ops.pebble.Client(socket_path=d.sock)
            xs, ts = [], []
            for i in range(33):
                t0 = time.perf_counter()
                c.exec(["true"]).wait()
                x = time.perf_counter() - t0
                t0 = time.perf_counter()
                subprocess.run(["true"], check=True)
                t = time.perf_counter() - t0
                if i >= 3:
                    xs.append(x)
                    ts.append(t)
            table.add("f", "exec([\"true\"]).wait() via ops, median of 30", f"{ms(xs):.2f} ms",
                      f"subprocess.run([\"true\"]) {ms(ts):.2f} ms", "<= 3 ms", "8.7-15 ms", ms(xs) <= 3)

        @f("f2", "exec([\"true\"]).wait() via the Rust client, median of 30", "<= 1.5 ms", "")
        def _():
            d = daemon()
            r = tool(bench, "exec-rtt", d.sock, 30)
            ph = tool(bench, "exec-phases", d.sock, 30)
            table.add("f2", "exec([\"true\"]).wait() via the Rust client, median of 30",
                      f"{r['exec_ms']:.2f} ms (phases: POST {ph['post_ms']:.2f}, websockets {ph['websockets_ms']:.2f}, "
                      f"wait {ph['wait_ms']:.2f})",
                      f"Command::new(\"true\").status() {r['spawn_ms']:.2f} ms", "<= 1.5 ms", "", r["exec_ms"] <= 1.5)

        @f("g", "`cat` of 64 MiB through exec, Rust client", ">= 500 MB/s", "75-96 MB/s (ops)")
        def _():
            d = daemon()
            r = tool(bench, "exec-cat", d.sock, 64 * MiB, 5)
            pipe = tool(bench, "pipe", 64 * MiB, 3)
            table.add("g", "`cat` of 64 MiB through exec, Rust client (median of 5)", f"{r['exec_mbps']:.0f} MB/s",
                      f"local `cat` via pipes {r['cat_mbps']:.0f} MB/s; pipe {pipe['mbps']:.0f} MB/s",
                      ">= 500 MB/s", "75-96 MB/s (ops)", r["exec_mbps"] >= 500)

        @f("g2", "`cat` of 64 MiB through exec, ops client", "(none)", "75-96 MB/s")
        def _():
            if OPS_ERROR:
                raise RuntimeError(OPS_ERROR)
            d = daemon()
            c = ops.pebble.Client(socket_path=d.sock)
            data = bytes(range(256)) * (64 * MiB // 256)
            t0 = time.perf_counter()
            out, _ = c.exec(["cat"], stdin=data, encoding=None).wait_output()
            secs = time.perf_counter() - t0
            if len(out) != len(data):
                raise RuntimeError(f"got {len(out)} bytes back")
            t0 = time.perf_counter()
            out = subprocess.run(["cat"], input=data, capture_output=True).stdout
            ref = time.perf_counter() - t0
            table.add("g2", "`cat` of 64 MiB through exec, ops client", f"{len(data) / secs / MB:.0f} MB/s",
                      f"subprocess.run([\"cat\"]) {len(data) / ref / MB:.0f} MB/s", "(none)", "75-96 MB/s", None)

        fpath = os.path.join(root, "files", "f128")

        @f("h", "push / pull 128 MiB, raw HTTP (median of 5 rounds of 3)", ">= 1000 MB/s each", "278-365 / 147-329 MB/s")
        def _():
            d = daemon()
            os.makedirs(os.path.dirname(fpath), exist_ok=True)
            # A push is bounded by the disk (write, fsync, rename), whose speed on a shared VM
            # moves from minute to minute: each push round is followed by a round of the same
            # local write+fsync+rename, and each pull round by an in-process pipe round, so
            # that every figure stands next to its reference measured at the same moment.
            # Each round is the median of 3 transfers in one process (a single 128 MiB transfer
            # lasts 40-150 ms, within which this VM's memory bandwidth swings by 5x).
            pushes, disks, pulls, pipes = [], [], [], []
            for _ in range(5):
                pushes.append(tool(bench, "push-raw", d.sock, fpath, 128 * MiB, 3)["mbps"])
                if os.path.getsize(fpath) != 128 * MiB:
                    raise RuntimeError("pushed file has the wrong size")
                disks.append(tool(bench, "disk", fpath + ".disk", 128 * MiB, 3)["mbps"])
            for _ in range(5):
                pulls.append(tool(bench, "pull-raw", d.sock, fpath, 128 * MiB, 3)["mbps"])
                pipes.append(tool(bench, "pipe", 128 * MiB, 3)["mbps"])
            push, disk = statistics.median(pushes), statistics.median(disks)
            pull, pipe = statistics.median(pulls), statistics.median(pipes)
            shared["pipe128"] = pipe
            table.add("h", "push / pull 128 MiB, raw HTTP (median of 5 rounds of 3)",
                      f"{push:.0f} / {pull:.0f} MB/s "
                      f"(push {push / disk:.2f}x the disk, pull {pull / pipe:.2f}x the pipe)",
                      f"alternating rounds: local write+fsync+rename {disk:.0f} MB/s; pipe {pipe:.0f} MB/s",
                      ">= 1000 MB/s each", "278-365 / 147-329 MB/s",
                      push >= 1000 and pull >= 1000)

        @f("h2", "pull 128 MiB via the Rust client (median of 5)", "(none)", "")
        def _():
            d = daemon()
            if not os.path.exists(fpath):
                raise RuntimeError("no pushed file (figure h failed)")
            r = tool(bench, "pull-client", d.sock, fpath, 128 * MiB, 5)
            ref = shared.get("pipe128")
            table.add("h2", "pull 128 MiB via the Rust client (median of 5)", f"{r['mbps']:.0f} MB/s",
                      f"pipe {ref:.0f} MB/s" if ref else "", "(none)", "", None)

        @f("h3", "pull via the ops client", "(none)", "7.9 MB/s at 1 MB, 0.4 MB/s at 16 MB")
        def _():
            if OPS_ERROR:
                raise RuntimeError(OPS_ERROR)
            d = daemon()
            if not os.path.exists(fpath):
                raise RuntimeError("no pushed file (figure h failed)")
            c = ops.pebble.Client(socket_path=d.sock)
            results = []
            for size in (16 * MiB, 128 * MiB):
                path = fpath if size == 128 * MiB else fpath + ".16"
                if size != 128 * MiB:
                    with open(fpath, "rb") as src, open(path, "wb") as dst:
                        dst.write(src.read(size))
                t0 = time.perf_counter()
                got = len(c.pull(path, encoding=None).read())
                secs = time.perf_counter() - t0
                if got != size:
                    raise RuntimeError(f"pulled {got} of {size} bytes")
                results.append(f"{size // MiB} MiB: {size / secs / MB:.0f} MB/s")
                if secs > 2:
                    # ops' parser is quadratic: 8x the size would take ~64x as long.
                    results.append("128 MiB skipped (est. > 2 min)")
                    break
            ref = shared.get("pipe128")
            table.add("h3", "pull via the ops client", "; ".join(results),
                      f"pipe {ref:.0f} MB/s" if ref else "", "(none)", "7.9 MB/s at 1 MB, 0.4 MB/s at 16 MB", None)
    finally:
        if "d" in shared:
            shared["d"].stop()

    # -- i: RSS while pushing and pulling 1 GiB ----------------------------------------------
    @f("i", "daemon RSS growth, push + pull of 1 GiB", "< 16 MB", "")
    def _():
        d = Daemon(pebble, root, "big")
        path = os.path.join(root, "files", "f1g")
        os.makedirs(os.path.dirname(path), exist_ok=True)
        try:
            time.sleep(0.5)
            rss0 = d.rss()
            push = tool(bench, "push-raw", d.sock, path, 1024 * MiB, 1)
            after_push = d.hwm()
            pull = tool(bench, "pull-raw", d.sock, path, 1024 * MiB, 1)
            hwm = d.hwm()
        finally:
            d.stop()
            if os.path.exists(path):
                os.remove(path)
        growth = hwm - rss0
        table.add("i", "daemon RSS growth, push + pull of 1 GiB (peak VmHWM - RSS before)",
                  f"{growth / MB:.2f} MB (push peak +{(after_push - rss0) / MB:.2f} MB)",
                  f"RSS before {rss0 / MB:.2f} MB; push {push['mbps']:.0f}, pull {pull['mbps']:.0f} MB/s",
                  "< 16 MB", "", growth < 16 * MB)

    shutil.rmtree(root, ignore_errors=True)

    # -- report ------------------------------------------------------------------------------
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    load = open("/proc/loadavg").read().split()[:3]
    md = "# pebble-rs benchmark results\n\n"
    md += f"- command: `bench/run.sh`\n- date: {time.strftime('%Y-%m-%d %H:%M:%S %Z')}\n"
    md += f"- commit: {commit}\n- machine: {platform.machine()}, {os.cpu_count()} CPUs, {platform.release()}; load average at end {' '.join(load)}\n"
    md += f"- binary: `{pebble}`\n"
    if args.build_secs:
        md += f"- release build time: {args.build_secs} s\n"
    md += "- units: MB = 10^6 bytes, MiB = 2^20 bytes; RSS is VmRSS from /proc/PID/status\n\n"
    md += table.markdown()
    with open(os.path.join(args.out, "results.md"), "w") as fh:
        fh.write(md)
    print("\n" + md)
    print(f"written to {os.path.join(args.out, 'results.md')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
