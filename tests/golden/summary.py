"""Collects the outcome of every replayed exchange for the end-of-run summary."""

from __future__ import annotations

import collections

# (group, id) -> (outcome, detail); outcome in {"match", "xfail", "fail"}
RESULTS: "collections.OrderedDict[tuple[str, str], tuple[str, str]]" = collections.OrderedDict()


def record(group: str, ident: str, outcome: str, detail: str = "") -> None:
    RESULTS[(group, ident)] = (outcome, detail)


def render() -> str:
    if not RESULTS:
        return ""
    by_group: dict[str, collections.Counter] = collections.OrderedDict()
    xfail_reasons: collections.Counter = collections.Counter()
    failures = []
    for (group, ident), (outcome, detail) in RESULTS.items():
        by_group.setdefault(group, collections.Counter())[outcome] += 1
        if outcome == "xfail":
            xfail_reasons[detail] += 1
        elif outcome == "fail":
            failures.append(f"  {ident}: {detail}")
    lines = ["golden replay: exchanges matching Go Pebble 1.32.1"]
    total = collections.Counter()
    for group, c in by_group.items():
        n = sum(c.values())
        total.update(c)
        lines.append(
            f"  {group:32} {c['match']:4}/{n:<4} match  {c['xfail']:4} xfail  {c['fail']:4} fail"
        )
    n = sum(total.values())
    lines.append(
        f"  {'TOTAL':32} {total['match']:4}/{n:<4} match  {total['xfail']:4} xfail  {total['fail']:4} fail"
    )
    if xfail_reasons:
        lines.append("  expected failures by reason: " + ", ".join(f"{r} ({k})" for r, k in xfail_reasons.most_common()))
    if failures:
        lines.append("  failing:")
        lines += failures
    return "\n".join(lines)
