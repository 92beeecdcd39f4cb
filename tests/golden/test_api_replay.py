"""Replays the recorded HTTP exchanges of Go Pebble 1.32.1 (transcripts/api-*.md)
against pebble-rs, in order, on one daemon (the capture was one continuous session),
and compares status line, headers and body with only the varying values masked.

Exchanges that need a feature the daemon does not serve yet (its endpoint answers 404)
are expected failures naming that feature; everything else must match."""

from __future__ import annotations

import json
import re
import time

import pytest

from compare import where as _where

import fixtures
from fixtures import FEATURE_PROBES
import summary
import ws_replay as websocket
from compare import compare_response
from pebble_support import Daemon, http, raw_request
from transcript import parse_api

API_FILES = [
    "api-basics.md",
    "api-services.md",
    "api-logs.md",
    "api-exec.md",
    "api-files.md",
    "api-checks-notices-misc.md",
]
EXCHANGES = [e for f in API_FILES for e in parse_api(f)]


# Timing-dependent states flagged by the transcripts, masked on top of the usual values.
EXTRA_MASKS = {
    # how far an aborted change had got when the abort arrived
    "api-services#60": [(re.compile(rb'"status":"(Do|Doing|Done|Undo|Undoing|Abort|Hold|Error)"'), b'"status":"<STATE>"')],
    # The change-update notice of that aborted change (17) counts one occurrence per status
    # the change went through, which depends on the same timing.
    "api-checks-notices-misc#40": [
        (re.compile(rb'("key":"17","first-occurred":"<TIME>","last-occurred":"<TIME>","last-repeated":"<TIME>","occurrences":)\d+'), rb"\1<N>"),
    ],
}
STREAMING = {"api-logs#10": 0.6}


def _unordered(ex) -> bool:
    """Change lists come out of a Go map: their order varies from run to run. The full notice
    list (#40) is sorted by last-repeated time, and the three check changes started at once
    (24-26) come in the order their first checks happened to finish."""
    if ex.id == "api-checks-notices-misc#40":
        return True
    return ex.method == "GET" and ex.path.split("?")[0] == "/v1/changes"


# Features whose recorded exchanges also depend on others: notice ids and the full notice
# list follow the change-update notices of the check changes made before them.
REQUIRES = {"notices": ("checks",)}


def feature_of(ex) -> str | None:
    """The feature an exchange depends on (None: core, always compared strictly)."""
    path = ex.path
    if ex.file == "api-exec.md":
        return "exec"
    if ex.file == "api-files.md":
        return "files"
    if path.startswith("/v1/metrics"):
        return "metrics"
    if path.startswith("/v1/notices"):
        return "notices"
    if path.startswith("/v1/identities"):
        return "identities"
    if path.startswith("/v1/checks"):
        return "checks"
    if ex.file == "api-checks-notices-misc.md" and ex.section == "Checks":
        return "checks"  # health with checks, check changes
    return None


class Session:
    def __init__(self, daemon: Daemon):
        self.daemon = daemon
        self.sock = daemon.socket_path
        self.features: dict[str, bool] = {}
        self.last_change: str | None = None
        self.marks: dict[str, float] = {}
        self.failed_setup: str | None = None

    def probe(self) -> None:
        for name, (method, path, body) in FEATURE_PROBES.items():
            resp = http(self.sock, method, path, body)
            missing = resp.status == 404 and b"invalid API endpoint requested" in resp.body
            self.features[name] = not missing

    def post(self, body: dict) -> dict:
        resp = http(self.sock, "POST", "/v1/services", body)
        assert resp.status == 202, resp.body
        return resp.json()

    def wait(self, change: str) -> None:
        resp = http(self.sock, "GET", f"/v1/changes/{change}/wait?timeout=10s", timeout=15)
        assert resp.status == 200, resp.body

    def before(self, ex) -> None:
        """Steps the capture took between recorded exchanges (its prose says so)."""
        key = ex.id
        if key == "api-services#21":  # "(gamma stopped again, change 9, not shown)"
            r = self.post({"action": "stop", "services": ["gamma"]})
            self.wait(r["change"])
        elif key == "api-services#23":  # "a layer `extra` ... changes beta's environment"
            layer = "services:\n  beta:\n    override: merge\n    environment:\n      GREETING: bonjour\n      EXTRA: \"1\"\n"
            r = http(self.sock, "POST", "/v1/layers", {"action": "add", "label": "extra", "combine": False, "format": "yaml", "layer": layer})
            assert r.status == 200, r.body
        elif key == "api-services#42" and self.last_change:  # after the stop of #41
            self.wait(self.last_change)
        elif key == "api-services#45":  # "Change 16 (start gamma) was then created"
            self.post({"action": "start", "services": ["gamma"]})
        elif key == "api-services#60":  # abort "sent ~50 ms after creating it"
            self.post({"action": "restart", "services": ["gamma"]})
            time.sleep(0.05)
        elif key == "api-logs#1":
            # Change and task ids in api-exec.md show one more change here, and logs #6
            # reads gamma "started but silent" although the abort (#60) killed it: the
            # capture started gamma again (change 18).
            r = self.post({"action": "start", "services": ["gamma"]})
            self.wait(r["change"])
        elif key == "api-checks-notices-misc#8":  # "once chk-exec is down" (period 1s)
            self._wait_checks(lambda c: c["chk-exec"]["status"] == "down"
                              and c["chk-http"]["successes"] >= 2 and c["chk-tcp"]["successes"] >= 2)
        elif key == "api-services#69":  # "~100 ms after SIGHUP"
            self._sleep_until("sighup", 0.1)
        elif key == "api-services#70":  # "~1.6 s after SIGHUP"
            self._sleep_until("sighup", 1.6)

    def _wait_checks(self, cond, timeout: float = 15.0) -> None:
        """Poll GET /v1/checks until `cond({name: info})` holds (the capture waited ~2 s)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            resp = http(self.sock, "GET", "/v1/checks")
            if resp.status == 200:
                checks = {c["name"]: c for c in resp.json()["result"]}
                try:
                    if cond(checks):
                        return
                except KeyError:
                    pass
            time.sleep(0.02)

    def _sleep_until(self, mark: str, offset: float) -> None:
        t = self.marks.get(mark)
        if t is not None:
            time.sleep(max(0.0, t + offset - time.monotonic()))

    def after(self, ex, resp) -> None:
        if ex.id == "api-services#68":
            self.marks["sighup"] = time.monotonic()
        try:
            body = json.loads(resp.body)
            if isinstance(body, dict) and body.get("change"):
                self.last_change = body["change"]
        except ValueError:
            pass


@pytest.fixture(scope="module")
def session(pebble_bin):
    reason = fixtures.can_run()
    if reason:
        pytest.skip(reason)
    fixtures.setup()
    d = Daemon(pebble_bin, fixtures.PEBBLE_DIR, env=fixtures.daemon_env(), cwd="/", log_dir="/tmp/pebble-golden-api")
    s = Session(d)
    try:
        d.start()
        s.probe()
        yield s
        rc = d.stop()
        assert rc == 0, f"daemon exit status {rc}:\n{d.stderr()}"
    finally:
        d.cleanup()
        fixtures.teardown()


# Exchanges whose exec output order comes from Go's randomised map iteration (the environment
# of `env`); their lines are compared as a set (docs/compatibility.md, Exec).
UNORDERED_OUTPUT = {"api-exec#16"}

# Differences listed, with their reason, in docs/compatibility.md. The exchange must still
# fail only in the listed way: the message prefix up to the parser's own text is compared.
KNOWN_DIFFERENCES = {
    "api-basics#23": (
        "YAML syntax error text is our parser's (docs/compatibility.md, Layers and plan)",
        b'"message":"cannot parse layer YAML: cannot parse layer \\"bad\\": yaml: line ',
    ),
}


@pytest.mark.parametrize("ex", EXCHANGES, ids=lambda e: e.id)
def test_exchange(session, ex):
    feature = feature_of(ex)
    group = ex.file
    resp = None
    try:
        session.before(ex)
        resp = raw_request(session.sock, ex.request_bytes(), stream_for=STREAMING.get(ex.id))
        session.after(ex, resp)
        problems = compare_response(
            ex,
            resp,
            EXTRA_MASKS.get(ex.id, ()),
            streaming=ex.id in STREAMING,
            unordered=_unordered(ex),
        )
        if ex.websockets and resp.status == 202:
            problems += websocket.replay(
                session.sock, ex.websockets, unordered_lines=ex.id in UNORDERED_OUTPUT
            )
    except Exception as e:  # a crash or hang of the daemon is a mismatch too
        problems = [f"{type(e).__name__}: {e} at {_where(e)}"]
    if not problems:
        summary.record(group, ex.id, "match")
        return
    known = KNOWN_DIFFERENCES.get(ex.id)
    if known is not None and resp is not None:
        reason, must_contain = known
        assert resp.status == ex.status, f"{ex.id}: status {resp.status}, expected {ex.status}"
        assert must_contain in resp.body, f"{ex.id}: {resp.body!r} lacks {must_contain!r}"
        summary.record(group, ex.id, "xfail", reason)
        pytest.xfail(reason)
    if feature and not session.features.get(feature, False):
        summary.record(group, ex.id, "xfail", f"{feature} not implemented")
        pytest.xfail(f"{feature} not implemented")
    missing = [f for f in REQUIRES.get(feature, ()) if not session.features.get(f, False)]
    if missing:
        reason = f"{feature} transcript needs {', '.join(missing)} (not implemented)"
        summary.record(group, ex.id, "xfail", reason)
        pytest.xfail(reason)
    summary.record(group, ex.id, "fail", problems[0][:300])
    pytest.fail(f"{ex.id} ({ex.title}): {ex.method} {ex.path}\n" + "\n".join(problems), pytrace=False)
