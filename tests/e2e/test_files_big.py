"""Streaming both ways: push and pull a 1 GiB file over raw HTTP on the daemon's socket and
check that the daemon's memory does not grow with the file size (VmHWM from /proc)."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import socket
import time

import pytest

from helpers import endpoint_missing

SIZE = 1 << 30
PIECE = 1 << 20
RSS_GROWTH_LIMIT_KB = 16 * 1024
BOUNDARY = "0123456789abcdef0123456789abcdef"


def proc_kb(pid: int) -> dict[str, int]:
    text = open(f"/proc/{pid}/status").read()
    return {k: int(re.search(rf"^{k}:\s+(\d+) kB", text, re.M).group(1)) for k in ("VmRSS", "VmHWM")}


def connect(path: str) -> socket.socket:
    s = socket.socket(socket.AF_UNIX)
    s.connect(path)
    return s


def read_head(s: socket.socket) -> tuple[bytes, bytes]:
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = s.recv(65536)
        assert chunk, f"connection closed early: {buf!r}"
        buf += chunk
    head, rest = buf.split(b"\r\n\r\n", 1)
    return head, rest


def pattern(i: int) -> bytes:
    """Piece `i` of the generated content (differs per piece, cheap to make)."""
    return i.to_bytes(8, "little") * (PIECE // 8)


@pytest.fixture
def big_dir(pebble_dir):
    d = pebble_dir + ".big"
    os.makedirs(d)
    yield d
    shutil.rmtree(d, ignore_errors=True)


def test_push_and_pull_1gib_with_bounded_daemon_memory(daemon, big_dir):
    if endpoint_missing(daemon.socket_path, "GET", "/v1/files?action=list&path=/"):
        pytest.skip("files not implemented yet")
    pid = daemon.proc.pid
    before = proc_kb(pid)
    target = f"{big_dir}/big.bin"

    # Push: one multipart request, body sent chunked as generated (never held in memory).
    head = (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="request"\r\n'
        f"Content-Type: application/json\r\n\r\n"
        f'{{"action":"write","files":[{{"path":"{target}","permissions":"600"}}]}}\r\n'
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="files"; filename="{target}"\r\n'
        f"Content-Type: application/octet-stream\r\n\r\n"
    ).encode()
    tail = f"\r\n--{BOUNDARY}--\r\n".encode()
    sent_hash = hashlib.sha1()
    s = connect(daemon.socket_path)
    t0 = time.monotonic()
    s.sendall(
        b"POST /v1/files HTTP/1.1\r\nHost: localhost\r\n"
        + f'Content-Type: multipart/form-data; boundary="{BOUNDARY}"\r\n'.encode()
        + b"Transfer-Encoding: chunked\r\n\r\n"
    )

    def chunk(data: bytes) -> None:
        s.sendall(b"%x\r\n" % len(data) + data + b"\r\n")

    chunk(head)
    for i in range(SIZE // PIECE):
        piece = pattern(i)
        sent_hash.update(piece)
        chunk(piece)
    chunk(tail)
    s.sendall(b"0\r\n\r\n")
    head_bytes, rest = read_head(s)
    push_secs = time.monotonic() - t0
    s.close()
    assert head_bytes.startswith(b"HTTP/1.1 200 OK"), head_bytes
    assert f'"result":[{{"path":"{target}"}}]'.encode() in rest
    assert os.path.getsize(target) == SIZE
    assert os.stat(target).st_mode & 0o777 == 0o600

    # Pull: read the multipart answer and hash the file part while it streams.
    s = connect(daemon.socket_path)
    t0 = time.monotonic()
    s.sendall(
        f"GET /v1/files?action=read&path={target} HTTP/1.1\r\nHost: localhost\r\n"
        "Accept: multipart/form-data\r\nConnection: close\r\n\r\n".encode()
    )
    head_bytes, rest = read_head(s)
    assert head_bytes.startswith(b"HTTP/1.1 200 OK"), head_bytes
    assert b"Transfer-Encoding: chunked" in head_bytes
    # De-chunk into a bounded buffer; hash the file bytes between the part headers and the
    # closing delimiter of the part.
    got_hash = hashlib.sha1()
    buf = bytearray(rest)
    state = {"started": False, "done": False, "delimiter": b"", "file_bytes": 0}
    pending = bytearray()  # de-chunked body not yet hashed

    def feed(data: bytes) -> None:
        pending.extend(data)
        if state["done"]:
            return
        if not state["started"]:
            i = pending.find(b"\r\n\r\n")
            if i < 0:
                return
            state["delimiter"] = b"\r\n" + bytes(pending[: pending.find(b"\r\n")])
            del pending[: i + 4]
            state["started"] = True
        delimiter = state["delimiter"]
        i = pending.find(delimiter)
        if i >= 0:
            got_hash.update(pending[:i])
            state["file_bytes"] += i
            del pending[:i]
            state["done"] = True
            return
        # Keep enough back to recognise the delimiter across chunk boundaries.
        n = len(pending) - len(delimiter)
        if n > 0:
            got_hash.update(pending[:n])
            state["file_bytes"] += n
            del pending[:n]

    while True:
        while b"\r\n" not in buf:
            more = s.recv(1 << 20)
            assert more, "connection closed inside the chunked body"
            buf.extend(more)
        line_end = buf.find(b"\r\n")
        size = int(buf[:line_end], 16)
        del buf[: line_end + 2]
        if size == 0:
            break
        while len(buf) < size + 2:
            more = s.recv(1 << 20)
            assert more, "connection closed inside a chunk"
            buf.extend(more)
        feed(bytes(buf[:size]))
        del buf[: size + 2]
    file_bytes = state["file_bytes"]
    pull_secs = time.monotonic() - t0
    s.close()
    tail_text = bytes(pending).decode(errors="replace")
    assert f'"result":[{{"path":"{target}"}}]' in tail_text, tail_text[-300:]
    assert file_bytes == SIZE
    assert got_hash.hexdigest() == sent_hash.hexdigest()

    after = proc_kb(pid)
    growth = after["VmHWM"] - before["VmRSS"]
    print(
        f"\n1 GiB push {SIZE / push_secs / 1e6:.0f} MB/s, pull {SIZE / pull_secs / 1e6:.0f} MB/s; "
        f"daemon VmRSS before {before['VmRSS']} kB, VmHWM after {after['VmHWM']} kB "
        f"(growth {growth} kB)"
    )
    assert growth < RSS_GROWTH_LIMIT_KB, (before, after)
