"""Helpers shared by the e2e and golden suites: run a `pebble run` daemon and talk
raw HTTP/1.1 to its unix socket."""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import socket
import subprocess
import time
from typing import Mapping

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def find_pebble_bin() -> str:
    """The binary under test: $PEBBLE_BIN, else the debug build in the target dir."""
    path = os.environ.get("PEBBLE_BIN")
    if not path:
        target = os.environ.get("CARGO_TARGET_DIR", os.path.join(REPO, "target"))
        path = os.path.join(target, "debug", "pebble")
    if not os.access(path, os.X_OK):
        raise RuntimeError(f"pebble binary not found at {path!r} (set PEBBLE_BIN)")
    return os.path.abspath(path)


def wait_for(cond, timeout: float = 10.0, interval: float = 0.02, what: str = "condition"):
    """Poll `cond()` until it returns a truthy value (returned) or the deadline passes."""
    deadline = time.monotonic() + timeout
    while True:
        value = cond()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


@dataclasses.dataclass
class RawResponse:
    """One HTTP response as read off the socket."""

    status_line: str
    headers: list[tuple[str, str]]
    body: bytes
    chunks: list[int] | None  # chunk sizes (incl. the final 0) when chunked

    @property
    def status(self) -> int:
        return int(self.status_line.split(" ", 2)[1])

    def header(self, name: str) -> str | None:
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return None

    def json(self):
        return json.loads(self.body)


class _Reader:
    def __init__(self, sock: socket.socket, deadline: float | None):
        self.sock = sock
        self.buf = b""
        self.deadline = deadline
        self.eof = False

    def _fill(self) -> bool:
        if self.eof:
            return False
        if self.deadline is not None:
            remaining = self.deadline - time.monotonic()
            if remaining <= 0:
                raise socket.timeout("read deadline")
            self.sock.settimeout(remaining)
        data = self.sock.recv(65536)
        if not data:
            self.eof = True
            return False
        self.buf += data
        return True

    def line(self) -> bytes:
        while b"\r\n" not in self.buf:
            if not self._fill():
                raise ConnectionError(f"connection closed mid-line: {self.buf!r}")
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def exact(self, n: int) -> bytes:
        while len(self.buf) < n:
            if not self._fill():
                raise ConnectionError(f"connection closed after {len(self.buf)} of {n} bytes")
        data, self.buf = self.buf[:n], self.buf[n:]
        return data

    def rest(self) -> bytes:
        while self._fill():
            pass
        data, self.buf = self.buf, b""
        return data


def raw_request(
    socket_path: str,
    request: bytes,
    timeout: float = 30.0,
    stream_for: float | None = None,
) -> RawResponse:
    """Send `request` (exact bytes) on a new connection and read one response.

    With `stream_for`, the body is read for that many seconds and the connection is
    then closed by the client (for `follow=true` streams); the chunks read so far
    are returned."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.settimeout(timeout)
        sock.connect(socket_path)
        sock.sendall(request)
        reader = _Reader(sock, time.monotonic() + timeout)
        status_line = reader.line().decode("latin-1")
        headers: list[tuple[str, str]] = []
        while True:
            line = reader.line()
            if not line:
                break
            k, _, v = line.decode("latin-1").partition(":")
            headers.append((k, v.strip()))
        hdr = {k.lower(): v for k, v in headers}
        method = request.split(b" ", 1)[0]
        chunks = None
        status = int(status_line.split(" ", 2)[1])
        if method == b"HEAD" or status in (204, 304) or 100 <= status < 200:
            body = b""
        elif "chunked" in hdr.get("transfer-encoding", "").lower():
            chunks = []
            parts = []
            if stream_for is not None:
                reader.deadline = time.monotonic() + stream_for
            try:
                while True:
                    size = int(reader.line().split(b";")[0], 16)
                    chunks.append(size)
                    if size == 0:
                        reader.line()
                        break
                    parts.append(reader.exact(size))
                    reader.line()
            except socket.timeout:
                if stream_for is None:
                    raise
            except ConnectionError:
                if stream_for is None:
                    raise
                chunks.append(-1)  # the server closed the stream
            body = b"".join(parts)
        elif "content-length" in hdr:
            body = reader.exact(int(hdr["content-length"]))
        else:
            body = reader.rest()
        return RawResponse(status_line, headers, body, chunks)
    finally:
        sock.close()


def http(socket_path: str, method: str, path: str, body=None, timeout: float = 30.0) -> RawResponse:
    """A simple request in the style of the golden captures (Host: localhost)."""
    lines = [f"{method} {path} HTTP/1.1", "Host: localhost"]
    data = b""
    if body is not None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        lines += ["Content-Type: application/json", f"Content-Length: {len(data)}"]
    req = ("\r\n".join(lines) + "\r\n\r\n").encode() + data
    return raw_request(socket_path, req, timeout=timeout)


class Daemon:
    """A `pebble run` process on its own PEBBLE directory."""

    def __init__(
        self,
        binary: str,
        pebble_dir: str,
        *,
        args: tuple[str, ...] = ("--create-dirs",),
        env: Mapping[str, str] | None = None,
        cwd: str | None = None,
        log_dir: str | None = None,
    ):
        self.binary = binary
        self.pebble_dir = pebble_dir
        self.args = args
        base = env if env is not None else {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
        self.env = dict(base)
        self.env["PEBBLE"] = pebble_dir
        self.cwd = cwd
        self.log_dir = log_dir or pebble_dir
        self.proc: subprocess.Popen | None = None
        self._runs = 0

    @property
    def socket_path(self) -> str:
        return os.path.join(self.pebble_dir, ".pebble.socket")

    @property
    def state_path(self) -> str:
        return os.path.join(self.pebble_dir, ".pebble.state")

    def start(self, wait: bool = True, timeout: float = 15.0) -> "Daemon":
        self._runs += 1
        os.makedirs(self.log_dir, exist_ok=True)
        self.stdout_path = os.path.join(self.log_dir, f"daemon-{self._runs}.stdout")
        self.stderr_path = os.path.join(self.log_dir, f"daemon-{self._runs}.stderr")
        with open(self.stdout_path, "wb") as out, open(self.stderr_path, "wb") as err:
            self.proc = subprocess.Popen(
                [self.binary, "run", *self.args],
                env=self.env,
                cwd=self.cwd,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                start_new_session=True,
            )
        if wait:
            self.wait_ready(timeout)
        return self

    def answers(self) -> bool:
        try:
            return http(self.socket_path, "GET", "/v1/system-info", timeout=2).status == 200
        except OSError:
            return False

    def wait_ready(self, timeout: float = 15.0) -> None:
        def ready():
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(
                    f"pebble run exited with {self.proc.returncode} before answering:\n{self.stderr()}"
                )
            return self.answers()

        wait_for(ready, timeout, what="the daemon socket to answer")

    def stderr(self) -> str:
        try:
            with open(self.stderr_path, "rb") as f:
                return f.read().decode(errors="replace")
        except (OSError, AttributeError):
            return ""

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 20.0) -> int:
        """Signal the daemon and wait for it; returns its exit status."""
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
                raise AssertionError(f"daemon did not exit within {timeout}s of signal {sig}")
        self._kill_group()
        return self.proc.returncode

    def kill(self) -> None:
        """SIGKILL the daemon only (not its services), like a crash."""
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def _kill_group(self) -> None:
        # Services run in their own process groups and outlive a SIGKILLed daemon;
        # end the processes this daemon started (same session, or carrying its
        # PEBBLE directory in their environment) so tests leave nothing behind.
        assert self.proc is not None
        kill_strays(self.proc.pid, self.pebble_dir)

    def cleanup(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        if self.proc is not None:
            self._kill_group()


def _stray_pids(session: int, pebble_dir: str) -> list[int]:
    marker = b"\0PEBBLE=" + pebble_dir.encode() + b"\0"
    me = os.getpid()
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == me:
            continue
        pid = int(entry)
        try:
            with open(f"/proc/{pid}/stat", "rb") as f:
                stat = f.read()
            # fields after the ")" of the command: state ppid pgrp session ...
            fields = stat[stat.rindex(b")") + 2 :].split()
            if fields[0] == b"Z":
                continue
            if int(fields[3]) == session:
                found.append(pid)
                continue
            with open(f"/proc/{pid}/environ", "rb") as f:
                env = b"\0" + f.read()
            if marker in env:
                found.append(pid)
        except (OSError, ValueError, IndexError):
            continue
    return found


def kill_strays(session: int, pebble_dir: str) -> None:
    """SIGKILL the processes started under a daemon (by session id or PEBBLE env)."""
    for pid in _stray_pids(session, pebble_dir):
        try:
            os.kill(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
