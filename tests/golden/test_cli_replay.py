"""Replays the `pebble` commands of transcripts/cli.md (Go Pebble 1.32.1) against the
pebble-rs binary on a fresh daemon, in order, and compares exit code, stdout and
stderr with only the varying values (times, tick numbers) masked.

Commands of features that are not served yet (API endpoint 404, or a CLI command the
binary does not know) are expected failures naming the feature."""

from __future__ import annotations


import signal
import subprocess
import time

import pytest

from compare import where as _where

import fixtures
import summary
from compare import diff_text, mask
from pebble_support import Daemon, http, wait_for
from fixtures import FEATURE_PROBES
from transcript import help_all_groups, parse_cli

ENTRIES = parse_cli()

COMMAND_FEATURES = {
    **dict.fromkeys(["checks", "check", "start-checks", "stop-checks", "health"], "checks"),
    **dict.fromkeys(["ls", "push", "pull", "mkdir", "rm"], "files"),
    "exec": "exec",
    **dict.fromkeys(["notify", "notices", "notice", "okay", "warnings"], "notices"),
    **dict.fromkeys(
        ["identities", "identity", "add-identities", "update-identities", "remove-identities"],
        "identities",
    ),
}
# Notice ids and lists follow the change-update notices of the check changes made before.
REQUIRES = {"notices": ("checks",)}
STDIN = {96: b"piped in\n"}
FOLLOW = {49: 0.7}  # read for 0.7 s, then SIGINT to the CLI


class CliSession:
    def __init__(self, binary: str, daemon: Daemon):
        self.binary = binary
        self.daemon = daemon
        self.features: dict[str, bool] = {}

    def probe(self) -> None:
        for name, (method, path, body) in FEATURE_PROBES.items():
            resp = http(self.daemon.socket_path, method, path, body)
            self.features[name] = not (
                resp.status == 404 and b"invalid API endpoint requested" in resp.body
            )

    def run(self, entry) -> subprocess.CompletedProcess:
        argv = entry.argv
        kwargs = dict(
            executable=self.binary,
            env=fixtures.cli_env(),
            cwd=fixtures.GOLDEN,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        if entry.number in FOLLOW:
            p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, **kwargs)
            time.sleep(FOLLOW[entry.number])
            p.send_signal(signal.SIGINT)
            out, err = p.communicate(timeout=10)
            return subprocess.CompletedProcess(argv, p.returncode, out, err)
        return subprocess.run(
            argv,
            input=STDIN.get(entry.number, b""),
            timeout=60,
            **kwargs,
        )

    def before(self, entry) -> None:
        sock = self.daemon.socket_path
        if entry.number == 44:
            # beta was killed by SIGUSR1 (#35) and restarts after its 500 ms backoff;
            # the capture's `pebble logs beta` shows that third start.
            def beta_started_thrice():
                resp = http(sock, "GET", "/v1/logs?services=beta&n=-1")
                return resp.body.count(b"beta ready") >= 3

            try:
                wait_for(beta_started_thrice, 10, 0.05, "beta's third start")
            except TimeoutError:
                pass  # the comparison will show it
        if entry.number == 46:
            # `pebble logs -n 3` saw three alpha ticks: at least 0.6 s had passed since
            # beta's last start line.
            def last_three_alpha():
                resp = http(sock, "GET", "/v1/logs?n=3")
                lines = resp.body.decode().splitlines()
                return len(lines) == 3 and all('"service":"alpha"' in x for x in lines)

            try:
                wait_for(last_three_alpha, 5, 0.05, "three alpha ticks after beta's start")
            except TimeoutError:
                pass
        if entry.number == 56 and self.features.get("checks"):
            def exec_check_down():
                # The capture read the table once chk-exec was down and the other two checks
                # (same 1 s period) had passed twice.
                resp = http(sock, "GET", "/v1/checks")
                try:
                    c = {x["name"]: x for x in resp.json()["result"]}
                    return (c["chk-exec"]["status"] == "down"
                            and c["chk-http"]["successes"] >= 2 and c["chk-tcp"]["successes"] >= 2)
                except (ValueError, KeyError, IndexError, TypeError):
                    return False

            try:
                wait_for(exec_check_down, 10, 0.1, "chk-exec down")
            except TimeoutError:
                pass


@pytest.fixture(scope="module")
def cli_session(pebble_bin):
    reason = fixtures.can_run()
    if reason:
        pytest.skip(reason)
    fixtures.setup()
    d = Daemon(pebble_bin, fixtures.PEBBLE_DIR, env=fixtures.daemon_env(), cwd="/", log_dir="/tmp/pebble-golden-cli")
    s = CliSession(pebble_bin, d)
    try:
        d.start()
        s.probe()
        yield s
        rc = d.stop()
        assert rc == 0, f"daemon exit status {rc}:\n{d.stderr()}"
    finally:
        d.cleanup()
        fixtures.teardown()


def _compare(entry, got: subprocess.CompletedProcess) -> list[str]:
    problems = []
    if got.returncode != entry.exit_code:
        problems.append(f"exit code: expected {entry.exit_code}, got {got.returncode}")
    for name, exp, act in (("stdout", entry.stdout, got.stdout), ("stderr", entry.stderr, got.stderr)):
        if entry.number in FOLLOW and name == "stdout":
            want = set(mask(exp).splitlines())
            lines = mask(act).splitlines()
            if not lines or any(line not in want for line in lines):
                problems.append(f"stdout (follow): lines {lines!r} not all in {want!r}")
            continue
        if mask(exp) != mask(act):
            problems.append(f"{name} differs: " + diff_text(mask(exp), mask(act)))
    return problems


def _unknown_command(got) -> bool:
    err = got.stderr.lower()
    return b"unknown command" in err or b"unrecognized subcommand" in err


@pytest.mark.parametrize("entry", ENTRIES, ids=lambda e: e.id)
def test_cli(cli_session, entry):
    fixtures.write_files(entry.fixtures_before)
    argv = entry.argv
    cmd = argv[1] if len(argv) > 1 else ""
    feature = COMMAND_FEATURES.get(cmd)
    try:
        cli_session.before(entry)
        got = cli_session.run(entry)
        problems = _compare(entry, got)
    except Exception as e:
        got = None
        problems = [f"{type(e).__name__}: {e} at {_where(e)}"]
    if not problems:
        summary.record("cli.md", entry.id, "match")
        return
    if feature and not cli_session.features.get(feature, False):
        summary.record("cli.md", entry.id, "xfail", f"{feature} not implemented")
        pytest.xfail(f"{feature} not implemented")
    missing = [f for f in REQUIRES.get(feature, ()) if not cli_session.features.get(f, False)]
    if missing:
        reason = f"{feature} transcript needs {', '.join(missing)} (not implemented)"
        summary.record("cli.md", entry.id, "xfail", reason)
        pytest.xfail(reason)
    if got is not None and cmd != "nosuchcmd" and _unknown_command(got):
        summary.record("cli.md", entry.id, "xfail", f"CLI command {cmd!r} not implemented")
        pytest.xfail(f"CLI command {cmd!r} not implemented")
    summary.record("cli.md", entry.id, "fail", problems[0][:300])
    pytest.fail(f"{entry.id}: {entry.command}\n" + "\n".join(problems), pytrace=False)


def test_help_all_lists_every_command(pebble_bin):
    got = subprocess.run(
        ["pebble", "help", "--all"], executable=pebble_bin, capture_output=True, timeout=30,
        env={"PATH": fixtures.PATH, "LANG": "C.UTF-8"},
    )
    assert got.returncode == 0, got.stderr
    text = got.stdout.decode()
    missing = [
        name
        for _group, names in help_all_groups()
        for name in names
        if not any(line.split()[:1] == [name] for line in text.splitlines())
    ]
    if missing:
        pytest.xfail(f"commands not listed by help --all yet: {missing}")
