"""Recreates the capture environment of the golden transcripts (transcripts/README.md):
helper programs and files under /srv/golden, the state dir /var/lib/pebble/default."""

from __future__ import annotations

import os
import shutil


GOLDEN = "/srv/golden"
PEBBLE_DIR = "/var/lib/pebble/default"
PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
FIXED_MTIME = 1767225600  # 2026-01-01T00:00:00Z

# How to tell that a feature is served at all: a route that answers 404 "invalid
# API endpoint requested" while the feature is missing.
FEATURE_PROBES = {
    "checks": ("GET", "/v1/checks", None),
    "metrics": ("GET", "/v1/metrics", None),
    "exec": ("POST", "/v1/exec", {}),
    "files": ("GET", "/v1/files?action=list&path=/", None),
    "notices": ("GET", "/v1/notices", None),
    "identities": ("GET", "/v1/identities", None),
}

TICKER = """#!/bin/sh
# ticker.sh NAME: prints "NAME starting", then "NAME tick N" every 200 ms, forever.
echo "$1 starting"
i=0
while true; do
    sleep 0.2
    i=$((i + 1))
    echo "$1 tick $i"
done
"""

HTTPD = '''#!/usr/bin/env python3
"""httpd.py PORT: answers GET /health with 200 "ok\\n" on 127.0.0.1, anything else 500."""
import http.server
import sys


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        ok = self.path == "/health"
        body = b"ok\\n" if ok else b"error\\n"
        self.send_response(200 if ok else 500)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
'''


def _write(path: str, data: bytes | str, mode: int = 0o644, mtime: bool = True) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data.encode() if isinstance(data, str) else data)
    os.chmod(path, mode)
    if mtime:
        os.utime(path, (FIXED_MTIME, FIXED_MTIME))


def _fix_dir_mtimes(root: str) -> None:
    for dirpath, dirnames, _ in os.walk(root, topdown=False):
        for d in dirnames:
            p = os.path.join(dirpath, d)
            if not os.path.islink(p):
                os.utime(p, (FIXED_MTIME, FIXED_MTIME))
        os.utime(dirpath, (FIXED_MTIME, FIXED_MTIME))


def can_run() -> str | None:
    """None if the golden replay can run here, else the reason it cannot."""
    if os.geteuid() != 0:
        return "the golden replay recreates /srv/golden and runs as root (CI does)"
    sock = os.path.join(PEBBLE_DIR, ".pebble.socket")
    if os.path.exists(sock):
        import socket

        s = socket.socket(socket.AF_UNIX)
        try:
            s.connect(sock)
            return f"a live daemon is using {PEBBLE_DIR}; not touching it"
        except OSError:
            pass
        finally:
            s.close()
    return None


def setup() -> None:
    """Fresh /srv/golden fixtures and an empty state directory."""
    os.umask(0o022)
    shutil.rmtree(GOLDEN, ignore_errors=True)
    shutil.rmtree(PEBBLE_DIR, ignore_errors=True)
    _write(f"{GOLDEN}/bin/ticker.sh", TICKER, 0o755)
    _write(f"{GOLDEN}/bin/httpd.py", HTTPD, 0o755)
    os.makedirs(f"{GOLDEN}/home", exist_ok=True)
    os.makedirs(f"{GOLDEN}/xdg", exist_ok=True)
    # api-files.md fixture.
    files = f"{GOLDEN}/files"
    _write(f"{files}/hello.txt", "hello, golden world\n")
    _write(f"{files}/a.txt", "A\n")
    _write(f"{files}/b.log", "b log 42\n", 0o600)
    _write(f"{files}/sub/nested.txt", "nested\n")
    _write(f"{files}/nonempty/inner/x", "x\n")
    _write(f"{files}/removeme.txt", "bye\n")
    os.symlink("hello.txt", f"{files}/link-to-hello")
    _fix_dir_mtimes(files)
    # cli.md files fixture.
    remote = f"{GOLDEN}/remote"
    _write(f"{remote}/hello.txt", "hello, golden world\n")
    _write(f"{remote}/script.sh", "#!/bin/sh\necho hi\n", 0o755)
    _write(f"{remote}/nonempty/inner", "x\n")
    os.symlink("hello.txt", f"{remote}/link")
    _fix_dir_mtimes(remote)
    _write(f"{GOLDEN}/local/in.txt", "pushed through pebble\n", mtime=False)


def write_files(files: dict[str, bytes]) -> None:
    for path, data in files.items():
        _write(path, data, mtime=False)


def teardown() -> None:
    shutil.rmtree(GOLDEN, ignore_errors=True)
    shutil.rmtree(PEBBLE_DIR, ignore_errors=True)


def daemon_env() -> dict[str, str]:
    """The capture daemon's environment: PATH, HOME and PEBBLE only."""
    return {"PATH": PATH, "HOME": f"{GOLDEN}/home"}


def cli_env() -> dict[str, str]:
    return {
        "PATH": PATH,
        "PEBBLE": PEBBLE_DIR,
        "TZ": "UTC",
        "LANG": "C.UTF-8",
        "HOME": f"{GOLDEN}/home",
        "XDG_CONFIG_HOME": f"{GOLDEN}/xdg",
    }


