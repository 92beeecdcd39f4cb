"""Shared pytest setup for the Python suites (tests/e2e, tests/golden)."""

import os
import signal
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

# Daemons started here, and their services, inherit this process's signal dispositions: a
# suite run under `nohup` would have every service ignore SIGHUP (a shell cannot even trap a
# signal ignored on entry), and the signal tests would fail for that reason alone.
signal.signal(signal.SIGHUP, signal.SIG_DFL)

from pebble_support import find_pebble_bin  # noqa: E402


@pytest.fixture(scope="session")
def pebble_bin() -> str:
    """Path of the `pebble` binary under test (env PEBBLE_BIN, else target/debug)."""
    return find_pebble_bin()
