"""Signals and logs as in the ops guide ("Send signals to services", "View service
logs"), through ops 3.9.0 (and raw /v1/logs, which ops does not wrap)."""

import json
import re
import signal

import ops
import pytest

from helpers import cli, logs, messages, status, wait_message
from pebble_support import http, raw_request, wait_for

TRAPPER = (
    "/bin/sh -c 'trap \"echo {n} got HUP\" HUP; trap \"echo {n} got USR1\" USR1; "
    "echo {n} ready; while true; do sleep 0.05; done'"
)


@pytest.fixture
def trappers(client, daemon):
    client.add_layer(
        "l",
        {
            "services": {
                "nginx": {"override": "replace", "command": TRAPPER.format(n="nginx")},
                "redis": {"override": "replace", "command": TRAPPER.format(n="redis")},
                "idle": {"override": "replace", "command": "sleep 100000"},
            }
        },
    )
    client.start_services(["nginx", "redis"])
    wait_message(daemon.socket_path, "nginx", "nginx ready")
    wait_message(daemon.socket_path, "redis", "redis ready")
    return client


def test_send_signal_to_two_services(trappers, container, daemon):
    container.send_signal("SIGHUP", "nginx", "redis")
    wait_message(daemon.socket_path, "nginx", "nginx got HUP")
    wait_message(daemon.socket_path, "redis", "redis got HUP")
    assert container.get_service("nginx").is_running()


def test_send_signal_as_a_number(trappers, daemon):
    trappers.send_signal(signal.SIGUSR1, ["nginx"])
    wait_message(daemon.socket_path, "nginx", "nginx got USR1")
    assert "redis got USR1" not in messages(daemon.socket_path, "redis")


def test_send_signal_to_a_service_that_is_not_running(trappers, container):
    with pytest.raises(ops.pebble.APIError) as exc:
        container.send_signal("SIGHUP", "nginx", "idle")
    assert exc.value.code == 500
    assert exc.value.message == 'cannot send signal to "idle": service is not running'


def test_send_signal_to_an_unknown_service(trappers, container):
    with pytest.raises(ops.pebble.APIError) as exc:
        container.send_signal("SIGHUP", "nosuch")
    assert exc.value.code == 500
    assert exc.value.message == 'cannot send signal to "nosuch": service is not running'


def test_send_signal_bad_name(trappers, client):
    with pytest.raises(ops.pebble.APIError) as exc:
        client.send_signal("SIGFOO", ["nginx"])
    assert exc.value.code == 500
    assert exc.value.message == 'cannot send signal to "nginx": invalid signal name "SIGFOO"'


def test_logs_capture_stdout_and_stderr(client, daemon):
    client.add_layer(
        "l",
        {
            "services": {
                "snappass": {
                    "override": "replace",
                    "command": "/bin/sh -c 'echo to stdout; echo to stderr >&2; exec sleep 100000'",
                }
            }
        },
    )
    client.start_services(["snappass"])
    wait_message(daemon.socket_path, "snappass", "to stderr")
    entries = logs(daemon.socket_path, "snappass")
    assert sorted(e["message"] for e in entries) == ["to stderr", "to stdout"]
    for e in entries:
        assert list(e) == ["time", "service", "message"]
        assert e["service"] == "snappass"
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,3})?Z", e["time"]), e["time"]


def test_logs_n_and_services_filter(client, daemon):
    client.add_layer(
        "l",
        {
            "services": {
                "counter": {
                    "override": "replace",
                    "command": "/bin/sh -c 'for i in 1 2 3 4 5; do echo line $i; done; exec sleep 100000'",
                },
                "other": {"override": "replace", "command": "/bin/sh -c 'echo other; exec sleep 100000'"},
            }
        },
    )
    client.start_services(["counter", "other"])
    wait_message(daemon.socket_path, "counter", "line 5")
    wait_message(daemon.socket_path, "other", "other")
    assert [e["message"] for e in logs(daemon.socket_path, "counter", n=2)] == ["line 4", "line 5"]
    both = logs(daemon.socket_path, "counter,other", n=-1)
    assert {e["service"] for e in both} == {"counter", "other"}
    assert len(both) == 6
    assert logs(daemon.socket_path, "nosuch") == []
    bad = http(daemon.socket_path, "GET", "/v1/logs?n=bad")
    assert bad.status == 400
    assert bad.json()["result"]["message"] == "n must be -1, 0, or a positive integer"


def test_logs_follow_streams_new_lines(client, daemon):
    client.add_layer(
        "l",
        {
            "services": {
                "ticker": {
                    "override": "replace",
                    "command": "/bin/sh -c 'i=0; while true; do i=$((i+1)); echo tick $i; sleep 0.1; done'",
                }
            }
        },
    )
    client.start_services(["ticker"])
    req = b"GET /v1/logs?follow=true&services=ticker&n=1 HTTP/1.1\r\nHost: localhost\r\n\r\n"
    resp = raw_request(daemon.socket_path, req, stream_for=0.6)
    assert resp.status == 200
    assert resp.header("Transfer-Encoding") == "chunked"
    lines = [json.loads(x) for x in resp.body.decode().splitlines()]
    assert len(lines) >= 3, lines
    ticks = [int(e["message"].split()[1]) for e in lines]
    assert ticks == list(range(ticks[0], ticks[0] + len(ticks)))


def test_pebble_logs_cli_format(client, daemon, pebble_bin):
    # The guide: each line is "2021-05-03T03:55:49.654Z [snappass] ...".
    client.add_layer(
        "l",
        {"services": {"snappass": {"override": "replace", "command": "/bin/sh -c 'echo hi there; exec sleep 100000'"}}},
    )
    client.start_services(["snappass"])
    wait_message(daemon.socket_path, "snappass", "hi there")
    out = cli(pebble_bin, daemon.pebble_dir, "logs", "snappass")
    assert out.returncode == 0, out.stderr
    assert re.fullmatch(
        rb"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z \[snappass\] hi there\n", out.stdout
    ), out.stdout
