"""Masking of the values the transcripts mark as varying, and the comparison of a
replayed response against the recorded one."""

from __future__ import annotations

import re

# Every timestamp (spawn/ready/current-since, log "time", task log prefixes, CLI --abs-time).
TIMESTAMP = re.compile(rb"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z")
BOOT_ID = re.compile(rb'"boot-id":"[0-9a-f-]{36}"')
# CLI relative times ("today at 22:23 UTC").
TODAY = re.compile(rb"today at \d\d:\d\d UTC")
# Random temp-file suffixes in file error messages (x.txt.1234567890~).
TEMP_SUFFIX = re.compile(rb"\.\d{6,}~")
# ticker.sh lines: which tick a read lands on depends on how long alpha has run.
TICK = re.compile(rb"tick \d+")

BASE_MASKS = [
    (TIMESTAMP, b"<TIME>"),
    (BOOT_ID, b'"boot-id":"<BOOT-ID>"'),
    (TODAY, b"today at <HH:MM> UTC"),
    (TEMP_SUFFIX, b".<RANDOM>~"),
    (TICK, b"tick <N>"),
]


def mask(data: bytes, extra: list[tuple[re.Pattern, bytes]] = ()) -> bytes:
    for pat, repl in [*BASE_MASKS, *extra]:
        data = pat.sub(repl, data)
    return data


def boundary(content_type: str | None) -> str | None:
    if not content_type:
        return None
    m = re.search(r'boundary="?([^";]+)"?', content_type)
    return m.group(1) if m else None


def diff_text(expected: bytes, actual: bytes, width: int = 160) -> str:
    """A short description of where two byte strings first differ."""
    n = 0
    while n < min(len(expected), len(actual)) and expected[n] == actual[n]:
        n += 1
    lo = max(0, n - 60)
    return (
        f"first difference at byte {n}:\n"
        f"  expected: ...{expected[lo : lo + width]!r}\n"
        f"  actual:   ...{actual[lo : lo + width]!r}"
    )


def sort_result_list(body: bytes) -> bytes:
    """Go Pebble lists changes in map iteration order (random run to run): reorder the
    elements of a JSON envelope's `result` array by their numeric "id", keeping each
    element's exact bytes."""
    import json

    text = body.decode()
    key = ',"result":['
    start = text.find(key)
    if start < 0 or not text.endswith("]}"):
        return body
    pos = start + len(key)
    dec = json.JSONDecoder()
    elems = []
    while text[pos] != "]":
        obj, end = dec.raw_decode(text, pos)
        elems.append((int(obj.get("id", 0)) if isinstance(obj, dict) else 0, text[pos:end]))
        pos = end + 1 if text[end] == "," else end
    elems.sort(key=lambda e: e[0])
    return (text[: start + len(key)] + ",".join(e[1] for e in elems) + text[pos:]).encode()


def compare_response(
    ex, resp, extra_masks=(), streaming: bool = False, unordered: bool = False
) -> list[str]:
    """Differences between a recorded exchange `ex` and a replayed response."""
    problems = []
    if resp.status_line != ex.status_line:
        problems.append(f"status: expected {ex.status_line!r}, got {resp.status_line!r}")

    exp_body, act_body = ex.body, resp.body
    exp_b = boundary(dict(ex.headers).get("Content-Type"))
    act_b = boundary(resp.header("Content-Type"))
    if exp_b and act_b:
        exp_body = exp_body.replace(exp_b.encode(), b"<BOUNDARY>")
        act_body = act_body.replace(act_b.encode(), b"<BOUNDARY>")
    if unordered:
        exp_body, act_body = sort_result_list(exp_body), sort_result_list(act_body)
    m_exp, m_act = mask(exp_body, list(extra_masks)), mask(act_body, list(extra_masks))
    body_varies = m_exp != exp_body

    exp_names = [k for k, _ in ex.headers]
    act_names = [k for k, _ in resp.headers]
    if exp_names != act_names:
        problems.append(f"header names/order: expected {exp_names}, got {act_names}")
    act_h = dict(resp.headers)
    for k, v in ex.headers:
        if k not in act_h or k == "Date":
            continue
        got = act_h[k]
        if k == "Content-Length" and body_varies:
            if int(got) != len(resp.body):
                problems.append(f"Content-Length {got} but body has {len(resp.body)} bytes")
            continue
        if k == "Content-Type" and exp_b and act_b:
            v, got = v.replace(exp_b, "<BOUNDARY>"), got.replace(act_b, "<BOUNDARY>")
        if got != v:
            problems.append(f"header {k}: expected {v!r}, got {got!r}")
    if "Date" in act_h and not re.fullmatch(
        r"[A-Z][a-z]{2}, \d\d [A-Z][a-z]{2} \d{4} \d\d:\d\d:\d\d GMT", act_h["Date"]
    ):
        problems.append(f"Date header not in HTTP date format: {act_h['Date']!r}")

    if streaming:
        exp_lines = set(m_exp.splitlines())
        act_lines = m_act.splitlines()
        if not act_lines:
            problems.append("stream: no lines read")
        for line in act_lines:
            if line not in exp_lines:
                problems.append(f"stream: unexpected line {line!r} (expected one of {exp_lines})")
                break
        if resp.chunks and any(c <= 0 for c in resp.chunks):
            problems.append(f"stream ended by itself (chunks {resp.chunks})")
    else:
        if m_exp != m_act:
            problems.append("body differs (after masking): " + diff_text(m_exp, m_act))
        if ex.chunks is not None and resp.chunks is not None and len(ex.chunks) != len(resp.chunks):
            problems.append(f"chunk count: expected {ex.chunks}, got {resp.chunks}")
    return problems


def where(exc: BaseException) -> str:
    """file:line of the innermost frame of an exception (for harness errors)."""
    import traceback

    tb = traceback.extract_tb(exc.__traceback__)
    return f"{tb[-1].filename.rsplit('/', 1)[-1]}:{tb[-1].lineno}" if tb else "?"
