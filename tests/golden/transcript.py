"""Parser of the golden transcripts (tests/golden/transcripts/*.md, recorded from Go
Pebble 1.32.1). See transcripts/README.md for their format."""

from __future__ import annotations

import dataclasses
import os
import re
import shlex

HERE = os.path.dirname(os.path.abspath(__file__))
TRANSCRIPTS = os.environ.get("GOLDEN_DIR", os.path.join(HERE, "transcripts"))

_BLOCK_HEAD = re.compile(
    r"^(?P<what>Body|Request body|stdout|stderr) \((?P<n>\d+) bytes(?:, (?P<nl>no trailing newline|ends with a newline))?, shown (?P<how>verbatim|escaped)"
)
_EMPTY = re.compile(r"^(?P<what>Body|Request body|stdout|stderr): empty \(0 bytes\)")
_CHUNKED = re.compile(r"^Chunked: (\d+) chunk\(s\) read, sizes \[([\d, ]*)\]")
_API_HEAD = re.compile(r"^### (\d+)\. (.*)$")
_CLI_HEAD = re.compile(r"^### (\d+)\. `(.*?)`(?: \((.*)\))?$")
_FIXTURE = re.compile(r"^(/srv/golden/\S+):$")


class TranscriptError(ValueError):
    """The transcript does not have the expected shape."""


def unescape(text: str) -> bytes:
    r"""Undo the escaping of bodies "shown escaped": \r, \n, \t, \\ and \xNN."""
    out = bytearray()
    i = 0
    while i < len(text):
        c = text[i]
        if c == "\\" and i + 1 < len(text):
            n = text[i + 1]
            if n in "rnt\\":
                out += {"r": b"\r", "n": b"\n", "t": b"\t", "\\": b"\\"}[n]
                i += 2
                continue
            if n == "x" and re.fullmatch(r"[0-9a-fA-F]{2}", text[i + 2 : i + 4]):
                out.append(int(text[i + 2 : i + 4], 16))
                i += 4
                continue
        out += c.encode()
        i += 1
    return bytes(out)


@dataclasses.dataclass
class Exchange:
    """One HTTP exchange of an api-*.md transcript."""

    file: str
    number: int
    title: str
    section: str
    request_head: list[str]
    request_body: bytes
    status_line: str
    headers: list[tuple[str, str]]
    body: bytes
    chunks: list[int] | None
    varies: str
    prose_before: list[str]
    websockets: str | None

    @property
    def id(self) -> str:
        return f"{self.file.removesuffix('.md')}#{self.number}"

    @property
    def method(self) -> str:
        return self.request_head[0].split(" ")[0]

    @property
    def path(self) -> str:
        return self.request_head[0].split(" ")[1]

    @property
    def status(self) -> int:
        return int(self.status_line.split(" ", 2)[1])

    def request_bytes(self) -> bytes:
        return ("\r\n".join(self.request_head) + "\r\n\r\n").encode() + self.request_body


@dataclasses.dataclass
class CliEntry:
    """One command of cli.md."""

    number: int
    command: str
    note: str
    section: str
    exit_code: int
    stdout: bytes
    stderr: bytes
    varies: str
    fixtures_before: dict[str, bytes]

    @property
    def id(self) -> str:
        return f"cli#{self.number}"

    @property
    def argv(self) -> list[str]:
        return shlex.split(self.command)


def _lines(name: str) -> list[str]:
    with open(os.path.join(TRANSCRIPTS, name), encoding="utf-8") as f:
        return f.read().split("\n")


def _read_block(lines: list[str], i: int) -> tuple[list[str], int]:
    """Read the fenced block starting at or after line i; returns (lines, next index)."""
    while i < len(lines) and not lines[i].startswith("```"):
        if lines[i].strip():
            raise TranscriptError(f"expected a fenced block at line {i + 1}, got {lines[i]!r}")
        i += 1
    if i >= len(lines):
        raise TranscriptError("missing fenced block")
    i += 1
    out = []
    while i < len(lines) and lines[i] != "```":
        out.append(lines[i])
        i += 1
    if i >= len(lines):
        raise TranscriptError("unterminated fenced block")
    return out, i + 1


def _block_bytes(m: re.Match, block: list[str]) -> bytes:
    if m.group("how") == "escaped":
        data = unescape("".join(block))
    else:
        data = "\n".join(block).encode()
        if m.group("nl") == "ends with a newline":
            data += b"\n"
    n = int(m.group("n"))
    if len(data) != n:
        raise TranscriptError(f"{m.group(0)!r}: parsed {len(data)} bytes, heading says {n}")
    return data


def parse_api(name: str) -> list[Exchange]:
    """All exchanges of one api-*.md file, in order."""
    lines = _lines(name)
    out: list[Exchange] = []
    section = ""
    prose: list[str] = []
    cur: dict | None = None

    def finish():
        nonlocal cur
        if cur is not None:
            if cur.get("status_line") is None:
                raise TranscriptError(f"{name} #{cur['number']}: no response")
            out.append(Exchange(**cur))
            cur = None

    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("## "):
            finish()
            section = line[3:].strip()
            i += 1
            continue
        m = _API_HEAD.match(line)
        if m:
            finish()
            cur = dict(
                file=name,
                number=int(m.group(1)),
                title=m.group(2),
                section=section,
                request_head=[],
                request_body=b"",
                status_line=None,
                headers=[],
                body=b"",
                chunks=None,
                varies="",
                prose_before=prose,
                websockets=None,
            )
            prose = []
            i += 1
            continue
        if cur is None or line.startswith("# "):
            if line.strip() and not line.startswith("# "):
                prose.append(line)
            if line.startswith("```"):
                _, i = _read_block(lines, i)
                continue
            i += 1
            continue
        if line == "Request:":
            block, i = _read_block(lines, i + 1)
            cur["request_head"] = block
            continue
        if line == "Response:":
            block, i = _read_block(lines, i + 1)
            cur["status_line"] = block[0]
            cur["headers"] = [tuple(x.split(": ", 1)) for x in block[1:]]
            continue
        m = _BLOCK_HEAD.match(line)
        if m:
            block, i = _read_block(lines, i + 1)
            data = _block_bytes(m, block)
            if m.group("what") == "Request body":
                cur["request_body"] = data
            else:
                cur["body"] = data
            continue
        m = _EMPTY.match(line)
        if m:
            i += 1
            continue
        m = _CHUNKED.match(line)
        if m:
            cur["chunks"] = [int(x) for x in m.group(2).split(",") if x.strip()]
            i += 1
            continue
        if line.startswith("Varies"):
            cur["varies"] = line
            i += 1
            continue
        if line.startswith("Websockets for task"):
            block, i = _read_block(lines, i + 1)
            cur["websockets"] = "\n".join(block)
            continue
        if line.startswith("```"):
            # Decoded copies of a body, for reading only.
            _, i = _read_block(lines, i)
            continue
        if line.strip() and cur.get("status_line") is not None:
            # Prose after a complete exchange describes what happens before the next one.
            prose.append(line)
        i += 1
    finish()
    nums = [e.number for e in out]
    if nums != list(range(1, len(out) + 1)):
        raise TranscriptError(f"{name}: exchanges not numbered 1..n: {nums}")
    return out


def parse_cli(name: str = "cli.md") -> list[CliEntry]:
    """All commands of cli.md, in order, with the fixture files shown before them."""
    lines = _lines(name)
    out: list[CliEntry] = []
    section = ""
    fixtures: dict[str, bytes] = {}
    cur: dict | None = None

    def finish():
        nonlocal cur
        if cur is not None:
            if cur.get("exit_code") is None:
                raise TranscriptError(f"cli #{cur['number']}: no exit code")
            out.append(CliEntry(**cur))
            cur = None

    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("## "):
            finish()
            section = line[3:].strip()
            i += 1
            continue
        m = _CLI_HEAD.match(line)
        if m:
            finish()
            cur = dict(
                number=int(m.group(1)),
                command=m.group(2),
                note=m.group(3) or "",
                section=section,
                exit_code=None,
                stdout=b"",
                stderr=b"",
                varies="",
                fixtures_before=fixtures,
            )
            fixtures = {}
            i += 1
            continue
        m = _FIXTURE.match(line)
        if m:
            block, i = _read_block(lines, i + 1)
            fixtures[m.group(1)] = ("\n".join(block) + "\n").encode()
            continue
        if cur is not None:
            if line.startswith("Exit code: "):
                cur["exit_code"] = int(line.split(": ")[1])
                i += 1
                continue
            m = _BLOCK_HEAD.match(line)
            if m:
                block, i = _read_block(lines, i + 1)
                cur[m.group("what")] = _block_bytes(m, block)
                continue
            if line.startswith("Varies"):
                cur["varies"] = line
        if line.startswith("```"):
            _, i = _read_block(lines, i)
            continue
        i += 1
    finish()
    nums = [e.number for e in out]
    if nums != list(range(1, len(out) + 1)):
        raise TranscriptError(f"{name}: entries not numbered 1..n: {nums}")
    return out


def help_all_groups(name: str = "cli.md") -> list[tuple[str, list[str]]]:
    """The `pebble help --all` command names recorded in cli.md, by group."""
    lines = _lines(name)
    for i, line in enumerate(lines):
        if line.startswith("`pebble help --all`"):
            block, _ = _read_block(lines, i + 1)
            return [(g, names.split()) for g, names in (x.split(": ", 1) for x in block)]
    raise TranscriptError("no help --all block")
