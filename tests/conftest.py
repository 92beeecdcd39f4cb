"""Shared pytest setup for the Python suites (tests/e2e, tests/golden)."""

import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from pebble_support import find_pebble_bin  # noqa: E402


@pytest.fixture(scope="session")
def pebble_bin() -> str:
    """Path of the `pebble` binary under test (env PEBBLE_BIN, else target/debug)."""
    return find_pebble_bin()
