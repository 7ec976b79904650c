"""Rendering metrics for people and for machines.

In: metrics, the bench name, header lines. Out: text. ``table`` gives aligned columns
(metric, value, unit, target, PASS/MISS, what was measured) under the header lines;
``json_lines`` gives one JSON object per metric:
``{"bench", "metric", "value", "unit", "target", "pass", "detail"}`` (target and pass are null
for a metric without a target).
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from contivpy.bench.metrics import Metric

_COUNT_UNITS = frozenset({"writes", "calls"})
_DECIMALS = {"s": 3, "ms": 3, "x": 2, "MB": 1, "calls/s": 0}


def value_text(metric: Metric) -> str:
    """The value as shown in the table."""
    if metric.unit in _COUNT_UNITS:
        return f"{int(metric.value):,}"
    return f"{metric.value:.{_DECIMALS.get(metric.unit, 3)}f}"


def _json_value(metric: Metric) -> int | float:
    if metric.unit in _COUNT_UNITS:
        return int(metric.value)
    return round(metric.value, 6)


def _verdict(metric: Metric) -> str:
    passed = metric.passed
    if passed is None:
        return ""
    return "PASS" if passed else "MISS"


def table(metrics: Sequence[Metric], header: Sequence[str]) -> str:
    """Header lines, then one aligned row per metric."""
    rows = [("metric", "value", "unit", "target", "result", "measured")]
    for m in metrics:
        target = m.target.describe(m.unit) if m.target is not None else ""
        rows.append((m.name, value_text(m), m.unit, target, _verdict(m), m.detail))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    lines = list(header)
    for i, row in enumerate(rows):
        cells = [
            cell.rjust(widths[c]) if c == 1 else cell.ljust(widths[c])
            for c, cell in enumerate(row[:-1])
        ]
        lines.append("  ".join([*cells, row[-1]]).rstrip())
        if i == 0:
            lines.append("  ".join("-" * w for w in widths) + "  " + "-" * len(row[-1]))
    return "\n".join(lines)


def json_lines(bench: str, metrics: Sequence[Metric]) -> str:
    """One JSON object per metric, one per line."""
    return "\n".join(
        json.dumps(
            {
                "bench": bench,
                "metric": m.name,
                "value": _json_value(m),
                "unit": m.unit,
                "target": m.target.describe(m.unit) if m.target is not None else None,
                "pass": m.passed,
                "detail": m.detail,
            }
        )
        for m in metrics
    )
