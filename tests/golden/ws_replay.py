"""Replay of the exec websocket conversations recorded in api-exec.md."""

from __future__ import annotations

import ast
import os
import re
import socket
import struct
import threading

KEY = "dGhlIHNhbXBsZSBub25jZQ=="
OPCODES = {"text": 1, "binary": 2, "close": 8, "ping": 9, "pong": 10}
NAMES = {v: k for k, v in OPCODES.items()}
_FRAME = re.compile(r"^\s+(client->server|server->client) (\w+) fin=(\d) (.*)$")


def parse(block: str):
    """(paths, handshake lines, {socket name: [steps]}) of a "Websockets for task" block."""
    paths, handshake, scripts = [], [], {}
    cur = None
    in_handshake = False
    for line in block.split("\n"):
        if line.startswith("GET "):
            paths.append(line.split(" ")[1])
        elif line.startswith("Handshake response"):
            in_handshake = True
        elif in_handshake and line.strip():
            handshake.append(line)
        elif in_handshake:
            in_handshake = False
        m = re.match(r"^\[(\w+) websocket frames\]", line)
        if m:
            cur = scripts.setdefault(m.group(1), [])
            continue
        if cur is None:
            continue
        m = _FRAME.match(line)
        if m:
            direction, kind, _fin, rest = m.groups()
            if kind == "close":
                cm = re.match(r"code=(\d+) reason=(b'.*')", rest)
                payload = struct.pack("!H", int(cm.group(1))) + ast.literal_eval(cm.group(2))
            else:
                payload = ast.literal_eval(rest.split("payload=", 1)[1])
            cur.append((direction, kind, payload))
        elif "server closed the connection" in line:
            cur.append(("eof", "", b""))
        elif "nothing more received" in line:
            cur.append(("quiet", "", b""))
    return paths, handshake, scripts


def _send_frame(sock, opcode: int, payload: bytes) -> None:
    mask = os.urandom(4)
    head = bytes([0x80 | opcode])
    n = len(payload)
    if n < 126:
        head += bytes([0x80 | n])
    elif n < 65536:
        head += bytes([0x80 | 126]) + struct.pack("!H", n)
    else:
        head += bytes([0x80 | 127]) + struct.pack("!Q", n)
    sock.sendall(head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))


def _recv_exact(sock, n: int) -> bytes:
    buf = b""
    while len(buf) < n:
        data = sock.recv(n - len(buf))
        if not data:
            raise EOFError
        buf += data
    return buf


def _recv_frame(sock):
    b0, b1 = _recv_exact(sock, 2)
    n = b1 & 0x7F
    if n == 126:
        n = struct.unpack("!H", _recv_exact(sock, 2))[0]
    elif n == 127:
        n = struct.unpack("!Q", _recv_exact(sock, 8))[0]
    mask = _recv_exact(sock, 4) if b1 & 0x80 else None
    payload = _recv_exact(sock, n)
    if mask:
        payload = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    return NAMES.get(b0 & 0x0F, str(b0 & 0x0F)), payload


def connect(socket_path: str, path: str, timeout: float = 5.0):
    """Open a websocket; returns (socket, status line, headers)."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    sock.connect(socket_path)
    req = (
        f"GET {path} HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Key: {KEY}\r\nSec-WebSocket-Version: 13\r\nOrigin: http://localhost\r\n\r\n"
    )
    sock.sendall(req.encode())
    buf = b""
    while b"\r\n\r\n" not in buf:
        data = sock.recv(1)
        if not data:
            raise EOFError(f"websocket {path}: closed during handshake: {buf!r}")
        buf += data
    lines = buf.decode("latin-1").split("\r\n")
    return sock, lines[0], [x for x in lines[1:] if x]


def _same_lines(a: bytes, b: bytes) -> bool:
    return sorted(a.splitlines()) == sorted(b.splitlines())


def replay(
    socket_path: str, block: str, quiet_wait: float = 0.3, unordered_lines: bool = False
) -> list[str]:
    """Replays one websocket block; returns the differences found.

    With `unordered_lines`, binary data frames are compared as sets of lines (for output whose
    order comes from Go's randomised map iteration, such as `env`)."""
    paths, handshake, scripts = parse(block)
    problems: list[str] = []
    socks = {}
    for path in paths:
        name = path.rsplit("/", 1)[1]
        try:
            sock, status, headers = connect(socket_path, path)
        except (OSError, EOFError) as e:
            problems.append(f"websocket {name}: {e}")
            continue
        socks[name] = sock
        got = [status, *headers]
        want = handshake
        # Compare the handshake header set (order as recorded).
        if got != want:
            problems.append(f"websocket {name} handshake: expected {want}, got {got}")

    def run(name, steps):
        sock = socks[name]
        for direction, kind, payload in steps:
            try:
                if direction == "client->server":
                    _send_frame(sock, OPCODES[kind], payload)
                elif direction == "server->client":
                    sock.settimeout(10)
                    got = _recv_frame(sock)
                    same = got == (kind, payload) or (
                        unordered_lines and got[0] == kind == "binary" and _same_lines(got[1], payload)
                    )
                    if not same:
                        problems.append(f"{name}: expected {kind} {payload!r}, got {got[0]} {got[1]!r}")
                        return
                elif direction == "eof":
                    sock.settimeout(10)
                    try:
                        got = _recv_frame(sock)
                        problems.append(f"{name}: expected EOF, got {got[0]} {got[1]!r}")
                        return
                    except EOFError:
                        pass
                elif direction == "quiet":
                    sock.settimeout(quiet_wait)
                    try:
                        got = _recv_frame(sock)
                        problems.append(f"{name}: expected nothing more, got {got[0]} {got[1]!r}")
                        return
                    except (socket.timeout, EOFError):
                        pass
            except (OSError, EOFError) as e:
                problems.append(f"{name}: {direction} {kind} {payload!r}: {e!r}")
                return

    threads = [threading.Thread(target=run, args=(n, s)) for n, s in scripts.items() if n in socks]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    for s in socks.values():
        s.close()
    return problems
