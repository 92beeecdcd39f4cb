"""Health checks through ops (the guide's "Configure health checks" and "Handle check
failures" sections): get_checks/get_check, start/stop, /v1/health, on-check-failure."""


import ops
import pytest

from helpers import cli, messages, status, wait_message
from pebble_support import http, wait_for


def _layer(tmp_flag: str) -> dict:
    return {
        "services": {
            "web": {
                "override": "replace",
                "startup": "enabled",
                "command": "/bin/sh -c 'echo web up; exec sleep 1000'",
                "backoff-delay": "100ms",
                "on-check-failure": {"alive": "restart"},
            }
        },
        "checks": {
            "alive": {
                "override": "replace",
                "level": "alive",
                "period": "100ms",
                "threshold": 2,
                "exec": {"command": f"test -e {tmp_flag}"},
            },
            "ready": {
                "override": "replace",
                "level": "ready",
                "startup": "disabled",
                "period": "100ms",
                "tcp": {"port": 9},
            },
        },
    }


def test_get_checks_and_failing_check_restarts_service(container, client, daemon, tmp_path):
    flag = tmp_path / "healthy"
    flag.write_text("")
    container.add_layer("checks", _layer(str(flag)), combine=True)
    container.replan()
    wait_message(daemon.socket_path, "web", "web up", count=1, timeout=10)

    checks = container.get_checks()
    assert sorted(checks) == ["alive", "ready"]
    ready = checks["ready"]
    assert ready.status == ops.pebble.CheckStatus.INACTIVE
    assert ready.startup == ops.pebble.CheckStartup.DISABLED
    assert ready.level == ops.pebble.CheckLevel.READY
    assert ready.change_id is None

    wait_for(lambda: (container.get_check("alive").successes or 0) >= 2, 10, 0.02, "alive passing")
    alive = container.get_check("alive")
    assert alive.status == ops.pebble.CheckStatus.UP
    assert alive.level == ops.pebble.CheckLevel.ALIVE
    assert alive.threshold == 2
    assert alive.change_id
    assert list(container.get_checks(level=ops.pebble.CheckLevel.ALIVE)) == ["alive"]

    # The check fails: after 2 failures it is down, /v1/health turns 502, and the service
    # is restarted by its on-check-failure action.
    flag.unlink()
    wait_for(lambda: container.get_check("alive").status == ops.pebble.CheckStatus.DOWN,
             10, 0.02, "alive down")
    assert http(daemon.socket_path, "GET", "/v1/health").status == 502
    assert http(daemon.socket_path, "GET", "/v1/health?level=alive").status == 502
    wait_message(daemon.socket_path, "web", "web up", count=2, timeout=10)
    wait_for(lambda: status(client, "web") == "active", 10, 0.02, "web active again")
    change = client.get_change(container.get_check("alive").change_id)
    assert change.kind == "recover-check"
    assert change.summary == 'Recover exec check "alive"'

    # Recovery: a new perform-check change, healthy again, no further restart.
    flag.write_text("")
    wait_for(lambda: container.get_check("alive").status == ops.pebble.CheckStatus.UP,
             10, 0.02, "alive up")
    assert http(daemon.socket_path, "GET", "/v1/health").status == 200
    assert client.get_change(container.get_check("alive").change_id).kind == "perform-check"
    assert messages(daemon.socket_path, "web").count("web up") == 2


# ops logs a security event when stopping checks, warning that no Juju log handler is set up.
@pytest.mark.filterwarnings("ignore:JujuLogHandler is not set up:RuntimeWarning")
def test_start_and_stop_checks(container, daemon, tmp_path):
    flag = tmp_path / "healthy"
    flag.write_text("")
    container.add_layer("checks", _layer(str(flag)), combine=True)
    assert container.get_check("ready").status == ops.pebble.CheckStatus.INACTIVE
    assert container.start_checks("ready", "alive") == ["ready"]
    assert container.start_checks("ready") == []
    wait_for(lambda: container.get_check("ready").status == ops.pebble.CheckStatus.DOWN,
             10, 0.02, "ready down (nothing listens on port 9)")
    assert http(daemon.socket_path, "GET", "/v1/health?level=ready").status == 502
    assert http(daemon.socket_path, "GET", "/v1/health?level=alive").status == 200
    assert container.stop_checks("ready") == ["ready"]
    info = container.get_check("ready")
    assert info.status == ops.pebble.CheckStatus.INACTIVE
    assert info.failures >= 3
    assert http(daemon.socket_path, "GET", "/v1/health").status == 200
    with pytest.raises(ops.pebble.APIError) as e:
        container.stop_checks("nosuch")
    assert e.value.message == "cannot stop checks: cannot find checks in plan: nosuch"


def test_cli_check_refresh_and_table(container, daemon, pebble_bin, pebble_dir):
    container.add_layer(
        "checks",
        {
            "checks": {
                "bad": {
                    "override": "replace",
                    "startup": "disabled",
                    "period": "1h",
                    "threshold": 1,
                    "exec": {"command": "/bin/sh -c 'echo first; echo last; exit 4'"},
                }
            }
        },
        combine=True,
    )
    # An inactive check is run directly: the error is shown, nothing is counted.
    r = cli(pebble_bin, pebble_dir, "check", "bad", "--refresh")
    assert r.returncode == 0, r.stderr
    assert r.stdout.decode() == (
        "name: bad\nstartup: disabled\nstatus: inactive\nsuccesses: 0\nfailures: 0\n"
        "threshold: 1\nerror: |-\n    exit status 4; first\n    last\n"
    )
    # Running: the refresh runs in its task, hits the threshold and the check goes down.
    assert container.start_checks("bad") == ["bad"]
    r = cli(pebble_bin, pebble_dir, "check", "bad", "--refresh")
    assert r.returncode == 0, r.stderr
    out = r.stdout.decode()
    assert "status: down\n" in out and "failures: 1\n" in out, out
    assert " ERROR exit status 4; first\n" in out, out
    r = cli(pebble_bin, pebble_dir, "checks")
    lines = r.stdout.decode().splitlines()
    assert lines[0].split() == ["Check", "Level", "Startup", "Status", "Successes", "Failures", "Change"]
    assert lines[1].split()[:6] == ["bad", "-", "disabled", "down", "0", "1/1"], lines
    assert lines[1].endswith("(exit status 4; first\\nlast)"), lines
    r = cli(pebble_bin, pebble_dir, "health")
    assert (r.returncode, r.stdout) == (1, b"unhealthy\n")
    r = cli(pebble_bin, pebble_dir, "check", "nosuch")
    assert (r.returncode, r.stderr) == (1, b'error: cannot find check "nosuch"\n')
