"""Small helpers for the e2e tests."""

from __future__ import annotations

import json
import os
import subprocess

from pebble_support import Daemon, http, wait_for


def logs(socket_path: str, services: str | None = None, n: int = -1) -> list[dict]:
    """Entries of GET /v1/logs (ops 3.9.0 has no logs method)."""
    q = f"/v1/logs?n={n}"
    if services:
        q += f"&services={services}"
    resp = http(socket_path, "GET", q)
    assert resp.status == 200, resp.body
    assert resp.header("Content-Type") == "application/x-ndjson"
    return [json.loads(line) for line in resp.body.decode().splitlines() if line]


def messages(socket_path: str, service: str) -> list[str]:
    return [e["message"] for e in logs(socket_path, service)]


def wait_message(socket_path: str, service: str, text: str, count: int = 1, timeout: float = 10):
    """Wait until `service` has logged `text` at least `count` times."""
    return wait_for(
        lambda: messages(socket_path, service).count(text) >= count,
        timeout,
        what=f"{count}x {text!r} in the logs of {service}",
    )


def status(client, name: str) -> str:
    """The raw `current` status string of one service (ops keeps unknown ones raw)."""
    (info,) = client.get_services([name])
    return str(getattr(info.current, "value", info.current))


def cli(pebble_bin: str, pebble_dir: str, *args: str, input: bytes | None = None, timeout=30):
    return subprocess.run(
        [pebble_bin, *args],
        env={"PEBBLE": pebble_dir, "PATH": "/usr/bin:/bin", "TZ": "UTC", "LANG": "C.UTF-8"},
        input=input,
        capture_output=True,
        timeout=timeout,
    )


def make_daemon(pebble_bin: str, pebble_dir: str, args=("--create-dirs",)) -> Daemon:
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": pebble_dir}
    log_dir = pebble_dir + ".logs"
    return Daemon(pebble_bin, pebble_dir, args=args, env=env, log_dir=log_dir)


def endpoint_missing(socket_path: str, method: str, path: str, body=None) -> bool:
    """True if the daemon answers 404 "invalid API endpoint" for this route."""
    resp = http(socket_path, method, path, body)
    if resp.status != 404:
        return False
    try:
        return resp.json()["result"]["message"] == "invalid API endpoint requested"
    except (ValueError, KeyError, TypeError):
        return True
