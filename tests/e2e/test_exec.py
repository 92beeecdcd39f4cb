"""Exec examples of the ops guide ("Run commands on the workload container").
Skipped while the daemon has no /v1/exec endpoint."""

import grp
import io
import os
import pwd
import signal
import threading
import time

import ops
import pytest

from helpers import endpoint_missing


@pytest.fixture(autouse=True)
def _needs_exec(daemon):
    if endpoint_missing(daemon.socket_path, "POST", "/v1/exec", {}):
        pytest.skip("exec not implemented yet (POST /v1/exec answers 404)")


def test_wait_output(container):
    process = container.exec(["/bin/sh", "-c", "echo sql dump; echo warn1 >&2"], timeout=60)
    out, warnings = process.wait_output()
    assert out == "sql dump\n"
    assert warnings == "warn1\n"


def test_missing_executable_is_an_api_error(container):
    with pytest.raises(ops.pebble.APIError) as exc:
        container.exec(["nosuchbinary-xyz"])
    assert "nosuchbinary-xyz" in exc.value.message


def test_exec_error_attributes(container):
    process = container.exec(["cat", "--bad-arg"])
    with pytest.raises(ops.pebble.ExecError) as exc:
        process.wait_output()
    assert exc.value.exit_code == 1
    assert "unrecognized option" in exc.value.stderr


def test_command_options(container, daemon):
    # Same user as the daemon: HOME is the daemon's own (Pebble drops HOME/USER only when
    # switching to another uid).
    process = container.exec(
        ["/bin/sh", "-c", "echo HOME=$HOME, PWD=$PWD, FOO=$FOO"],
        environment={"FOO": "bar"},
        working_dir="/tmp",
        timeout=5.0,
        user="root",
        group="root",
    )
    out, _ = process.wait_output()
    assert out == f"HOME={daemon.env['HOME']}, PWD=/tmp, FOO=bar\n"


@pytest.mark.skipif(os.getuid() != 0, reason="switching user needs root")
def test_command_options_other_user(container):
    # Another user: HOME and USER come from its passwd entry, and the command runs as it.
    nobody = pwd.getpwnam("nobody")
    group = grp.getgrgid(nobody.pw_gid).gr_name
    process = container.exec(
        ["/bin/sh", "-c", "echo HOME=$HOME USER=$USER PWD=$PWD FOO=$FOO; id -u; id -g"],
        environment={"FOO": "bar"},
        working_dir="/tmp",
        timeout=5.0,
        user="nobody",
        group=group,
    )
    out, _ = process.wait_output()
    assert out == (
        f"HOME={nobody.pw_dir} USER=nobody PWD=/tmp FOO=bar\n{nobody.pw_uid}\n{nobody.pw_gid}\n"
    )


def test_service_context(container, client):
    client.add_layer(
        "db",
        {
            "services": {
                "database": {
                    "override": "replace",
                    "command": "sleep 100000",
                    "environment": {"DBNAME": "mydb"},
                    "working-dir": "/tmp",
                }
            }
        },
    )
    out, _ = container.exec(
        ["/bin/sh", "-c", "echo $DBNAME $PWD"], service_context="database"
    ).wait_output()
    assert out == "mydb /tmp\n"


def test_stdin_string_and_bytes(container):
    out, _ = container.exec(["tr", "a-z", "A-Z"], stdin="This is\na test\n").wait_output()
    assert out == "THIS IS\nA TEST\n"
    out, _ = container.exec(["cat"], stdin=b"\x01\x02", encoding=None).wait_output()
    assert out == b"\x01\x02"


def test_file_like_stdin_stdout(container):
    stdout = io.StringIO()
    process = container.exec(
        ["tr", "a-z", "A-Z"], stdin=io.StringIO("license text\n"), stdout=stdout, stderr=io.StringIO()
    )
    process.wait()
    assert stdout.getvalue() == "LICENSE TEXT\n"


def test_streaming_io(container):
    process = container.exec(["cat"])

    def stdin_thread():
        try:
            for line in ["one\n", "2\n", "THREE\n"]:
                process.stdin.write(line)
                process.stdin.flush()
                time.sleep(0.1)
        finally:
            process.stdin.close()

    threading.Thread(target=stdin_thread).start()
    got = [line for line in process.stdout]
    process.wait()
    assert got == ["one\n", "2\n", "THREE\n"]


def test_send_signal_to_command(container):
    process = container.exec(["sleep", "10"])
    time.sleep(0.5)
    process.send_signal(signal.SIGTERM)
    with pytest.raises(ops.pebble.ExecError) as exc:
        process.wait()
    assert exc.value.exit_code == 143


def test_timeout(container):
    process = container.exec(["sleep", "5"], timeout=0.2)
    with pytest.raises(ops.pebble.ChangeError) as exc:
        process.wait()
    assert "timed out" in exc.value.err
