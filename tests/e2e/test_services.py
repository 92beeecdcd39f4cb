"""Service control as in the ops guide ("Replan", "Start and stop", "Fetch service
status"), through ops 3.9.0 against a real daemon."""

import time

import ops
import pytest

from helpers import messages, status, wait_message
from pebble_support import wait_for

LAYER = {
    "services": {
        "mysql": {
            "override": "replace",
            "command": "/bin/sh -c 'echo mysql up; exec sleep 100000'",
            "startup": "enabled",
        },
        "web": {
            "override": "replace",
            "command": "/bin/sh -c 'echo web up; exec sleep 100000'",
            "startup": "enabled",
        },
        "worker": {
            "override": "replace",
            "command": "sleep 100000",
        },
    }
}


@pytest.fixture
def layered(container):
    container.add_layer("base", LAYER)
    return container


def test_autostart_starts_only_enabled_services(layered, client):
    client.autostart_services()
    infos = {s.name: s for s in client.get_services()}
    assert sorted(infos) == ["mysql", "web", "worker"]
    assert infos["mysql"].is_running() and infos["web"].is_running()
    assert not infos["worker"].is_running()
    assert infos["worker"].current == ops.pebble.ServiceStatus.INACTIVE
    assert infos["mysql"].startup == ops.pebble.ServiceStartup.ENABLED
    assert infos["worker"].startup == ops.pebble.ServiceStartup.DISABLED


def test_autostart_with_no_default_services_is_a_400(client):
    with pytest.raises(ops.pebble.APIError) as exc:
        client.autostart_services()
    assert exc.value.code == 400
    assert exc.value.message == "no default services"


def test_container_autostart_and_replan(layered):
    layered.autostart()
    assert layered.get_service("mysql").is_running()
    # Replan with nothing changed keeps everything running and starts nothing new.
    layered.replan()
    services = layered.get_services()
    assert sorted(services) == ["mysql", "web", "worker"]
    assert services["web"].is_running()
    assert not services["worker"].is_running()


def test_replan_restarts_changed_services_only(layered, client, daemon):
    layered.replan()
    wait_message(daemon.socket_path, "mysql", "mysql up")
    layered.add_layer(
        "extra",
        {"services": {"mysql": {"override": "merge", "environment": {"X": "1"}}}},
    )
    layered.replan()
    # mysql changed, so it was restarted; web was not.
    wait_message(daemon.socket_path, "mysql", "mysql up", count=2)
    assert messages(daemon.socket_path, "mysql").count("mysql up") == 2
    assert messages(daemon.socket_path, "web").count("web up") == 1
    assert layered.get_service("mysql").is_running()


def test_start_and_stop_are_idempotent(layered):
    # The guide's backup example: stop, back up, start again.
    layered.start("worker")
    layered.start("worker")
    assert layered.get_service("worker").is_running()
    layered.stop("worker")
    layered.stop("worker")
    assert not layered.get_service("worker").is_running()
    layered.start("mysql")
    is_running = layered.get_service("mysql").is_running()
    assert is_running
    if is_running:
        layered.stop("mysql")
    assert layered.get_service("mysql").current == ops.pebble.ServiceStatus.INACTIVE
    if is_running:
        layered.start("mysql")
    assert layered.get_service("mysql").is_running()


def test_start_takes_about_a_second(layered):
    t0 = time.monotonic()
    layered.start("worker")
    elapsed = time.monotonic() - t0
    # Pebble waits one second to see that the process does not exit too quickly.
    assert 0.9 < elapsed < 5, elapsed


def test_restart(layered, daemon):
    layered.start("mysql")
    wait_message(daemon.socket_path, "mysql", "mysql up")
    layered.restart("mysql")
    assert layered.get_service("mysql").is_running()
    wait_message(daemon.socket_path, "mysql", "mysql up", count=2)
    assert messages(daemon.socket_path, "mysql").count("mysql up") == 2
    # Restarting an inactive service starts it.
    layered.restart("worker")
    assert layered.get_service("worker").is_running()


def test_get_services_filters_and_get_service_errors(layered, client):
    infos = client.get_services(["web", "nosuch"])
    assert [s.name for s in infos] == ["web"]
    assert client.get_services(["nosuch"]) == []
    with pytest.raises(ops.ModelError):
        layered.get_service("nosuch")
    assert sorted(layered.get_services("web", "worker")) == ["web", "worker"]


def test_start_unknown_service_is_a_400(layered, client):
    with pytest.raises(ops.pebble.APIError) as exc:
        client.start_services(["mysql", "nosuch"])
    assert exc.value.code == 400
    assert exc.value.message == 'cannot start services: service "nosuch" does not exist'
    # Nothing was started.
    assert not layered.get_service("mysql").is_running()


def test_start_with_no_names(client):
    with pytest.raises(ops.pebble.APIError) as exc:
        client.start_services([])
    assert exc.value.code == 400
    assert exc.value.message == "must specify services for start action"


def test_service_exiting_within_a_second_fails_the_start(client, daemon):
    client.add_layer(
        "l",
        {
            "services": {
                "quick": {
                    "override": "replace",
                    "command": "/bin/sh -c 'echo quick out; exit 1'",
                    "backoff-delay": "30s",
                }
            }
        },
    )
    with pytest.raises(ops.pebble.ChangeError) as exc:
        client.start_services(["quick"])
    assert "exited quickly with code 1" in exc.value.err
    assert 'Start service "quick"' in exc.value.err
    # The task log carries the service's last output.
    logs = [line for t in exc.value.change.tasks for line in t.log]
    assert any("quick out" in line for line in logs), logs
    # Pebble keeps trying: the service sits in backoff.
    assert status(client, "quick") == "backoff"
    client.stop_services(["quick"])
    assert status(client, "quick") == "inactive"


def test_stop_escalates_to_sigkill_after_kill_delay(client):
    client.add_layer(
        "l",
        {
            "services": {
                "stubborn": {
                    "override": "replace",
                    "command": "/bin/sh -c \"trap '' TERM; exec sleep 100000\"",
                    "kill-delay": "1s",
                }
            }
        },
    )
    client.start_services(["stubborn"])
    t0 = time.monotonic()
    client.stop_services(["stubborn"])
    elapsed = time.monotonic() - t0
    assert 0.9 < elapsed < 4, elapsed
    assert status(client, "stubborn") == "inactive"


def test_wait_change_and_changes(layered, client):
    change_id = client.start_services(["worker"], timeout=0)
    assert isinstance(change_id, str) and change_id
    change = client.wait_change(change_id, timeout=10)
    assert change.id == change_id
    assert change.kind == "start"
    assert change.summary == 'Start service "worker"'
    assert change.status == "Done"
    assert change.ready and change.err is None
    assert [t.kind for t in change.tasks] == ["start"]
    assert change.ready_time >= change.spawn_time
    assert client.get_change(change_id).status == "Done"
    ready = client.get_changes(select=ops.pebble.ChangeState.ALL, service="worker")
    assert change_id in [c.id for c in ready]
    # The default selection is in-progress only.
    assert client.get_changes() == []


def test_wait_change_while_running_then_done(layered, client):
    change_id = client.start_services(["worker"], timeout=0)
    # Still in its one-second start window.
    assert client.get_change(change_id).ready is False
    change = client.wait_change(change_id, timeout=10, delay=0.05)
    assert change.status == "Done"
    assert status(client, "worker") == "active"
