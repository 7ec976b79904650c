"""Plain-text tables and field lists for ``contivpy ctl``.

In: column headers and rows of cells (any objects), or (name, value) pairs. Out: text with
aligned columns, one line per row, no trailing spaces. Cells are one line each (line breaks
become spaces) and cut to a maximum width with "…", so one long value cannot push every
other column off the screen; ``--json`` output is the place for whole values.
Also the small formatters of times and durations the tables use.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence

EMPTY = "-"  # shown for empty cells, so columns never look shifted


def cell_text(value: object, max_width: int) -> str:
    """One cell: str(value) on one line, at most max_width characters."""
    if value is None or value == "":
        return EMPTY
    text = " ".join(str(value).split())
    if max_width > 0 and len(text) > max_width:
        return text[: max_width - 1] + "…"
    return text


def render_table(
    headers: Sequence[str], rows: Iterable[Sequence[object]], *, max_width: int = 60
) -> str:
    """Rows under headers, columns separated by two spaces. max_width=0: no cutting."""
    cells = [[cell_text(value, max_width) for value in row] for row in rows]
    widths = [len(h) for h in headers]
    for row in cells:
        for i, text in enumerate(row):
            widths[i] = max(widths[i], len(text))
    lines = []
    for row in [list(headers), *cells]:
        padded = [text.ljust(widths[i]) for i, text in enumerate(row)]
        lines.append("  ".join(padded).rstrip())
    return "\n".join(lines)


def render_fields(pairs: Iterable[tuple[str, object]], *, max_width: int = 0) -> str:
    """One "name  value" line per pair, values aligned."""
    items = [(name, cell_text(value, max_width)) for name, value in pairs]
    width = max((len(name) for name, _ in items), default=0)
    return "\n".join(f"{name.ljust(width)}  {text}".rstrip() for name, text in items)


def format_time(unix: float) -> str:
    """Wall-clock time in UTC, to the millisecond; EMPTY for 0 (never/unknown)."""
    if unix <= 0:
        return EMPTY
    whole, millis = divmod(round(unix * 1000), 1000)
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(whole)) + f".{millis:03d}Z"


def format_duration(seconds: float) -> str:
    """A duration in the unit that keeps it short: 850µs, 12.3ms, 4.56s, 3m05s, 2h07m, 3d04h."""
    if seconds < 0.001:
        return f"{seconds * 1e6:.0f}µs"
    if seconds < 1:
        return f"{seconds * 1e3:.1f}ms"
    if seconds < 60:
        return f"{seconds:.2f}s"
    whole = int(seconds)
    if whole < 3600:
        return f"{whole // 60}m{whole % 60:02d}s"
    if whole < 86400:
        return f"{whole // 3600}h{whole % 3600 // 60:02d}m"
    return f"{whole // 86400}d{whole % 86400 // 3600:02d}h"
