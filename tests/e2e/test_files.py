"""File operations through ops (push/pull/list_files/make_dir/remove_path).
Skipped while the daemon has no /v1/files endpoint."""

import os

import ops
import pytest

from helpers import endpoint_missing


@pytest.fixture(autouse=True)
def _needs_files(daemon):
    if endpoint_missing(daemon.socket_path, "GET", "/v1/files?action=list&path=/"):
        pytest.skip("files not implemented yet (GET /v1/files answers 404)")


@pytest.fixture
def root(pebble_dir):
    d = pebble_dir + ".files"
    os.makedirs(d)
    yield d
    import shutil

    shutil.rmtree(d, ignore_errors=True)


def test_push_pull_round_trip(container, root):
    path = f"{root}/conf/app.conf"
    container.push(path, "key = value\n", make_dirs=True, permissions=0o600)
    assert container.pull(path).read() == "key = value\n"
    assert container.pull(path, encoding=None).read() == b"key = value\n"
    (info,) = container.list_files(path)
    assert info.name == "app.conf"
    assert info.type == ops.pebble.FileType.FILE
    assert info.permissions == 0o600
    assert info.size == 12
    assert oct(os.stat(path).st_mode & 0o777) == oct(0o600)


def test_pull_missing_is_a_path_error(container, root):
    with pytest.raises(ops.pebble.PathError) as exc:
        container.pull(f"{root}/missing")
    assert exc.value.kind == "not-found"


def test_list_files_missing_is_404(container, root):
    with pytest.raises(ops.pebble.APIError) as exc:
        container.list_files(f"{root}/not/existing/")
    assert exc.value.code == 404
    assert exc.value.message == f"stat {root}/not/existing/: no such file or directory"


def test_make_dir_exists_isdir_remove(container, root):
    container.make_dir(f"{root}/a/b", make_parents=True)
    assert container.exists(f"{root}/a/b") and container.isdir(f"{root}/a/b")
    container.push(f"{root}/a/b/f.txt", "x")
    assert [f.name for f in container.list_files(f"{root}/a/b", pattern="*.txt")] == ["f.txt"]
    with pytest.raises(ops.pebble.PathError):
        container.remove_path(f"{root}/a")
    container.remove_path(f"{root}/a", recursive=True)
    assert not container.exists(f"{root}/a")
