"""Fixtures for the end-to-end suite: a real `pebble run` per test, driven with ops."""

from __future__ import annotations

import os
import shutil
import tempfile
import types

import ops
import pytest

from helpers import make_daemon


@pytest.fixture
def pebble_dir():
    # Short path: unix socket paths are limited to 108 bytes.
    d = tempfile.mkdtemp(prefix="pb-e2e-", dir="/tmp")
    yield d
    for path in (d, d + ".logs", d + ".files"):
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def daemon(pebble_bin, pebble_dir):
    """A running daemon; on teardown it gets SIGTERM and must exit with status 0."""
    d = make_daemon(pebble_bin, pebble_dir)
    d.start()
    try:
        yield d
        rc = d.stop()
        assert rc == 0, f"pebble run exited with {rc} after SIGTERM; stderr:\n{d.stderr()}"
    finally:
        d.cleanup()
        shutil.rmtree(d.log_dir, ignore_errors=True)


@pytest.fixture
def client(daemon) -> ops.pebble.Client:
    """ops' real Pebble client on the daemon's socket."""
    return ops.pebble.Client(socket_path=daemon.socket_path)


@pytest.fixture
def container(client) -> ops.Container:
    """An ops.Container without a charm: a stand-in model backend that only
    provides the Juju version the Container asks for."""
    backend = types.SimpleNamespace(
        _juju_context=types.SimpleNamespace(version=ops.JujuVersion("3.6.4"))
    )
    return ops.Container("workload", backend, pebble_client=client)  # type: ignore[arg-type]
