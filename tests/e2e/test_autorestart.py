"""Auto-restart as in the ops guide ("Configure service auto-restart")."""

import time

import pytest

from helpers import messages, status, wait_message
from pebble_support import wait_for


def test_failing_service_goes_to_backoff_and_is_restarted(client, daemon):
    # Runs past the one-second start window, then exits non-zero.
    client.add_layer(
        "l",
        {
            "services": {
                "server": {
                    "override": "replace",
                    "command": "/bin/sh -c 'echo server starting; sleep 1.3; exit 3'",
                    "backoff-delay": "1s",
                    "backoff-limit": "2s",
                }
            }
        },
    )
    client.start_services(["server"])
    assert status(client, "server") == "active"
    wait_for(lambda: status(client, "server") == "backoff", 10, 0.02, "server in backoff")
    t_backoff = time.monotonic()
    # Restarted after the backoff delay (1s plus up to 10% jitter).
    wait_message(daemon.socket_path, "server", "server starting", count=2, timeout=10)
    waited = time.monotonic() - t_backoff
    assert 0.8 < waited < 3, waited
    assert status(client, "server") == "active"


def test_on_success_restart_is_the_default(client, daemon):
    client.add_layer(
        "l",
        {
            "services": {
                "oneshot": {
                    "override": "replace",
                    "command": "/bin/sh -c 'echo run; sleep 1.2; exit 0'",
                    "backoff-delay": "200ms",
                }
            }
        },
    )
    client.start_services(["oneshot"])
    wait_message(daemon.socket_path, "oneshot", "run", count=2, timeout=10)


def test_on_failure_ignore_does_not_restart(client, daemon):
    client.add_layer(
        "l",
        {
            "services": {
                "once": {
                    "override": "replace",
                    "command": "/bin/sh -c 'echo once; sleep 1.2; exit 4'",
                    "on-failure": "ignore",
                    "backoff-delay": "100ms",
                }
            }
        },
    )
    client.start_services(["once"])
    wait_for(lambda: status(client, "once") != "active", 10, 0.05, "once to exit")
    time.sleep(0.5)  # give a (wrong) restart the time to happen
    assert messages(daemon.socket_path, "once").count("once") == 1
    assert status(client, "once") in ("inactive", "error")


def test_stop_during_backoff(client):
    client.add_layer(
        "l",
        {
            "services": {
                "crashy": {
                    "override": "replace",
                    "command": "/bin/sh -c 'sleep 1.2; exit 1'",
                    "backoff-delay": "30s",
                }
            }
        },
    )
    client.start_services(["crashy"])
    wait_for(lambda: status(client, "crashy") == "backoff", 10, 0.05, "crashy in backoff")
    client.stop_services(["crashy"])
    assert status(client, "crashy") == "inactive"
