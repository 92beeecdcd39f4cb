"""Notices and identities through ops 3.9.0's Pebble client (and the `pebble` CLI on the
same daemon)."""

import datetime
import os
import shutil
import subprocess

import ops
import pytest


def cli(pebble_bin, pebble_dir, *args):
    """The CLI with its own config dir (it keeps what was listed/okayed in cli.json)."""
    return subprocess.run(
        [pebble_bin, *args],
        env={"PEBBLE": pebble_dir, "PATH": "/usr/bin:/bin", "TZ": "UTC", "LANG": "C.UTF-8",
             "XDG_CONFIG_HOME": pebble_dir + ".xdg"},
        capture_output=True,
        timeout=30,
    )


def test_notify_and_get_notices(client):
    nid = client.notify(ops.pebble.NoticeType.CUSTOM, "example.com/e2e", data={"k": "v"})
    again = client.notify(
        ops.pebble.NoticeType.CUSTOM, "example.com/e2e", data={"k": "v2"}, repeat_after=datetime.timedelta(hours=1)
    )
    assert again == nid
    other = client.notify(ops.pebble.NoticeType.CUSTOM, "example.com/other")
    assert other != nid

    notices = client.get_notices(types=[ops.pebble.NoticeType.CUSTOM])
    assert [n.key for n in notices] == ["example.com/e2e", "example.com/other"]
    n = notices[0]
    assert n.id == nid
    assert n.type == ops.pebble.NoticeType.CUSTOM
    assert n.user_id == os.getuid()
    assert n.occurrences == 2
    assert n.last_data == {"k": "v2"}
    assert n.repeat_after == datetime.timedelta(hours=1)
    assert n.expire_after == datetime.timedelta(days=7)
    assert n.first_occurred <= n.last_occurred
    assert notices[0].last_repeated < notices[1].last_repeated

    assert client.get_notices(keys=["example.com/other"])[0].id == other
    assert client.get_notices(types=[ops.pebble.NoticeType.CUSTOM], keys=["example.com/nope"]) == []

    one = client.get_notice(nid)
    assert one.key == "example.com/e2e" and one.occurrences == 2
    with pytest.raises(ops.pebble.APIError) as e:
        client.get_notice("9999")
    assert e.value.code == 404
    assert e.value.message == 'cannot find notice with ID "9999"'

    with pytest.raises(ops.pebble.APIError) as e:
        client.notify(ops.pebble.NoticeType.CUSTOM, "nodomain")
    assert e.value.code == 400


def test_change_update_notices(client):
    client.add_layer("l", {"services": {"s": {"override": "replace", "command": "sleep 1000"}}})
    change = client.start_services(["s"])
    notices = client.get_notices(types=[ops.pebble.NoticeType.CHANGE_UPDATE], keys=[change])
    assert len(notices) == 1
    assert notices[0].user_id is None
    assert notices[0].last_data == {"kind": "start"}
    client.stop_services(["s"])


def test_identities_through_ops(client):
    assert client.get_identities() == {}
    client.replace_identities(
        {
            "alice": {"access": "admin", "local": {"user-id": 1000}},
            "bob": ops.pebble.Identity(access="read", basic=ops.pebble.BasicIdentity(password="$6$s$h")),
        }
    )
    ids = client.get_identities()
    assert set(ids) == {"alice", "bob"}
    assert ids["alice"].access == ops.pebble.IdentityAccess.ADMIN
    assert ids["alice"].local.user_id == 1000
    assert ids["bob"].basic.password == "*****"
    client.remove_identities({"alice", "bob"})
    assert client.get_identities() == {}
    with pytest.raises(ops.pebble.APIError) as e:
        client.remove_identities({"alice"})
    assert e.value.message == "identities do not exist: alice"


def test_cli_notify_notices_okay(pebble_bin, daemon):
    d = daemon.pebble_dir
    r = cli(pebble_bin, d, "notify", "example.com/cli", "a=b")
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith(b"Recorded notice ")
    r = cli(pebble_bin, d, "notice", "custom", "example.com/cli")
    assert b"last-data:\n    a: b\n" in r.stdout
    r = cli(pebble_bin, d, "notices", "--type", "custom")
    assert r.stdout.splitlines()[0].split() == [b"ID", b"User", b"Type", b"Key", b"First", b"Repeated", b"Occurrences"]
    assert cli(pebble_bin, d, "okay").returncode == 0
    r = cli(pebble_bin, d, "notices", "--type", "custom")
    assert r.stderr == b"No matching notices.\n"
    shutil.rmtree(d + ".xdg", ignore_errors=True)


def test_run_identities_seeds_identities(pebble_bin, pebble_dir):
    from helpers import make_daemon

    ids = pebble_dir + ".ids.yaml"
    with open(ids, "w") as f:
        f.write("identities:\n    ops:\n        access: read\n        local:\n            user-id: 4321\n")
    d = make_daemon(pebble_bin, pebble_dir, args=("--create-dirs", "--identities", ids))
    d.start()
    try:
        client = ops.pebble.Client(socket_path=d.socket_path)
        got = client.get_identities()
        assert set(got) == {"ops"}
        assert got["ops"].local.user_id == 4321
        assert got["ops"].access == ops.pebble.IdentityAccess.READ
        log = d.stderr()
        assert '"event":"user_updated:' in log and ',ops,read"' in log
        assert "POST /v1/identities " in log
        assert d.stop() == 0
    finally:
        d.cleanup()
        os.remove(ids)


def test_run_identities_missing_file_fails(pebble_bin, pebble_dir):
    r = subprocess.run(
        [pebble_bin, "run", "--create-dirs", "--identities", pebble_dir + "/nope.yaml"],
        env={"PEBBLE": pebble_dir, "PATH": "/usr/bin:/bin"},
        capture_output=True,
        timeout=30,
    )
    assert r.returncode == 1
    assert r.stderr.endswith(
        f"cannot run daemon: cannot read identities: open {pebble_dir}/nope.yaml: no such file or directory\n".encode()
    )
    assert not os.path.exists(pebble_dir + "/.pebble.socket")
