"""Layers and the plan, as in the ops guide ("Configure a Pebble layer",
"Fetch the effective plan"), through ops 3.9.0."""

import ops
import pytest
import yaml

from pebble_support import http

SNAPPASS_LAYER = {
    "services": {
        "snappass": {
            "override": "replace",
            "summary": "snappass service",
            "command": "sleep 100000",
            "startup": "enabled",
        }
    },
}


def test_add_layer_as_dict_with_combine_then_replan(container, client):
    # The guide's SnappassTestCharm._start_snappass, with a command that exists here.
    container.add_layer("snappass", SNAPPASS_LAYER, combine=True)
    container.replan()
    plan = container.get_plan()
    assert list(plan.services) == ["snappass"]
    svc = plan.services["snappass"]
    assert svc.command == "sleep 100000"
    assert svc.summary == "snappass service"
    assert svc.startup == "enabled"
    assert svc.override == "replace"
    assert container.get_service("snappass").is_running()


def test_add_layer_as_yaml_string_and_layer_object(client):
    client.add_layer(
        "a",
        "summary: layer a\nservices:\n  one:\n    override: replace\n    command: sleep 100000\n",
    )
    client.add_layer(
        "b",
        ops.pebble.Layer(
            {"services": {"two": {"override": "replace", "command": "sleep 200000"}}}
        ),
    )
    plan = client.get_plan()
    assert sorted(plan.services) == ["one", "two"]
    assert plan.services["two"].command == "sleep 200000"


def test_duplicate_label_without_combine_is_a_400(client):
    client.add_layer("base", SNAPPASS_LAYER)
    with pytest.raises(ops.pebble.APIError) as exc:
        client.add_layer("base", SNAPPASS_LAYER)
    assert exc.value.code == 400
    assert exc.value.message == 'layer "base" already exists'


def test_combine_true_replaces_the_service_in_the_same_layer(client):
    client.add_layer("base", SNAPPASS_LAYER)
    client.add_layer(
        "base",
        {"services": {"snappass": {"override": "replace", "command": "sleep 300000"}}},
        combine=True,
    )
    svc = client.get_plan().services["snappass"]
    # override: replace drops every field of the old definition.
    assert svc.command == "sleep 300000"
    assert svc.summary == ""
    assert svc.startup == ""


def test_override_merge_in_a_higher_layer(client):
    client.add_layer(
        "base",
        {
            "services": {
                "web": {
                    "override": "replace",
                    "command": "sleep 100000",
                    "startup": "enabled",
                    "environment": {"A": "1", "B": "2"},
                }
            }
        },
    )
    client.add_layer(
        "extra",
        {"services": {"web": {"override": "merge", "environment": {"B": "two", "C": "3"}}}},
    )
    svc = client.get_plan().services["web"]
    assert svc.command == "sleep 100000"
    assert svc.startup == "enabled"
    assert svc.environment == {"A": "1", "B": "two", "C": "3"}


def test_get_plan_to_yaml_round_trips(client):
    layer = {
        "services": {
            "zeta": {"override": "replace", "command": "sleep 1000", "backoff-delay": "2s"},
            "alpha": {
                "override": "replace",
                "command": "sleep 1000",
                "after": ["zeta"],
                "on-failure": "ignore",
            },
        },
        "checks": {
            "up": {"override": "replace", "level": "alive", "tcp": {"port": 65000}},
        },
    }
    client.add_layer("l", layer)
    plan = client.get_plan()
    data = yaml.safe_load(plan.to_yaml())
    assert list(data["services"]) == ["alpha", "zeta"]
    assert data["services"]["alpha"]["after"] == ["zeta"]
    assert data["services"]["alpha"]["on-failure"] == "ignore"
    assert data["services"]["zeta"]["backoff-delay"] == "2s"
    assert plan.checks["up"].tcp == {"port": 65000}
    # The daemon's own YAML: 4-space indentation, services sorted by name, the
    # check threshold default filled in.
    raw = http(client.socket_path, "GET", "/v1/plan?format=yaml").json()["result"]
    assert raw.startswith("services:\n    alpha:\n")
    assert "        threshold: 3\n" in raw


def test_empty_plan(client):
    plan = client.get_plan()
    assert plan.services == {}
    assert plan.to_yaml().strip() == "{}"
    assert client.get_services() == []


@pytest.mark.parametrize(
    "label,layer,message_start",
    [
        (
            "bad",
            "services:\n  x: [unclosed\n",
            'cannot parse layer YAML: cannot parse layer "bad": yaml: ',
        ),
        (
            "noover",
            "services:\n  x:\n    command: sleep 1\n",
            'layer "noover" must define "override" for service "x"',
        ),
        (
            "unk",
            "services:\n  x:\n    override: replace\n    command: sleep 1\n    bogus-field: 1\n",
            'cannot parse layer YAML: cannot parse layer "unk" section "services"',
        ),
        (
            "nocmd",
            "services:\n  x:\n    override: replace\n",
            'plan must define "command" for service "x"',
        ),
        (
            "baddur",
            "services:\n  x:\n    override: replace\n    command: sleep 1\n    backoff-delay: 5 parsecs\n",
            'cannot parse layer YAML: cannot parse layer "baddur" section "services": invalid duration "5 parsecs"',
        ),
    ],
)
def test_bad_layer_is_a_400_and_leaves_the_plan_unchanged(client, label, layer, message_start):
    client.add_layer("good", SNAPPASS_LAYER)
    before = client.get_plan().to_yaml()
    with pytest.raises(ops.pebble.APIError) as exc:
        client.add_layer(label, layer)
    assert exc.value.code == 400
    assert exc.value.message.startswith(message_start), exc.value.message
    assert client.get_plan().to_yaml() == before


def test_layers_directory_is_loaded_at_startup(pebble_bin, pebble_dir):
    import os

    from helpers import make_daemon

    os.makedirs(os.path.join(pebble_dir, "layers"))
    with open(os.path.join(pebble_dir, "layers", "001-layer.yaml"), "w") as f:
        f.write(
            "services:\n  fromdisk:\n    override: replace\n    command: sleep 100000\n"
            "    startup: enabled\n"
        )
    d = make_daemon(pebble_bin, pebble_dir)
    d.start()
    try:
        client = ops.pebble.Client(socket_path=d.socket_path)
        assert list(client.get_plan().services) == ["fromdisk"]
        # `pebble run` autostarts the default services itself.
        from pebble_support import wait_for

        wait_for(
            lambda: client.get_services(["fromdisk"])[0].is_running(),
            what="fromdisk to be started by pebble run",
        )
        assert d.stop() == 0
    finally:
        d.cleanup()
