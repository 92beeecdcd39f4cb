"""Crash safety: the state file survives a SIGKILL in the middle of a replan."""

import json
import os
import time

import ops

from helpers import make_daemon
from pebble_support import http, kill_strays


def _layer(n: int) -> str:
    out = ["services:"]
    for i in range(n):
        out += [
            f"  svc{i}:",
            "    override: replace",
            "    command: sleep 100000",
            "    startup: enabled",
        ]
    return "\n".join(out) + "\n"


def test_sigkill_mid_replan_leaves_a_valid_state(pebble_bin, pebble_dir):
    d = make_daemon(pebble_bin, pebble_dir)
    d.start()
    try:
        client = ops.pebble.Client(socket_path=d.socket_path)
        client.add_layer("many", _layer(6))
        # Some history in the state first.
        client.start_services(["svc0"])
        resp = http(d.socket_path, "POST", "/v1/services", {"action": "replan"})
        assert resp.status == 202, resp.body
        time.sleep(0.05)  # let the replan get going (mid-way through its starts)
        d.kill()
        first_session = d.proc.pid
    finally:
        d.cleanup()
    # The services of the killed daemon are orphans now; end them.
    kill_strays(first_session, pebble_dir)

    state_path = os.path.join(pebble_dir, ".pebble.state")
    assert os.path.exists(state_path)
    with open(state_path) as f:
        state = json.load(f)
    assert isinstance(state, dict)

    d2 = make_daemon(pebble_bin, pebble_dir)
    d2.start()
    try:
        client = ops.pebble.Client(socket_path=d2.socket_path)
        assert client.get_system_info().version
        # The old changes are still there (ids are not reused) and none is left running
        # forever: a new change gets a fresh id.
        client.add_layer("one", "services:\n  solo:\n    override: replace\n    command: sleep 100000\n")
        change_id = client.start_services(["solo"], timeout=0)
        assert int(change_id) > 1, change_id
        assert client.wait_change(change_id, timeout=10).status == "Done"
        with open(state_path) as f:
            json.load(f)
        assert d2.stop() == 0, d2.stderr()
        with open(state_path) as f:
            json.load(f)
    finally:
        d2.cleanup()


def test_state_file_is_json_after_sigterm(daemon, client):
    client.add_layer("l", "services:\n  s:\n    override: replace\n    command: sleep 100000\n")
    client.start_services(["s"])
    assert daemon.stop() == 0
    with open(daemon.state_path) as f:
        state = json.load(f)
    assert isinstance(state, dict)
