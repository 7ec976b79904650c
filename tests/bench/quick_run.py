"""A benchmark suite's quick mode run in a subprocess, as a user runs it, with the checks
every suite's JSON output must pass.

In: the suite's name, its metric names, a timeout (below the test's own pytest timeout, so
that a run too slow fails with its stderr rather than a stack dump). Out: the one JSON line
of each metric, by name, once these hold: the run exited 0; every line belongs to the suite
and states a unit; each metric appears exactly once and no other does; each value is a
finite, non-negative number (not a bool).
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from collections.abc import Iterable


def run_quick(
    suite: str,
    metrics: Iterable[str],
    *,
    timeout: float,
    log_level: str = "warning",
    extra: tuple[str, ...] = (),
) -> dict[str, dict[str, object]]:
    """Run ``contivpy bench SUITE --json --quick [EXTRA…]`` and check its lines (module
    docstring)."""
    argv = ["--log-level", log_level, "bench", suite, "--json", "--quick", *extra]
    cli = f"import sys; from contivpy.cli import main; sys.exit(main({argv!r}))"
    done = subprocess.run(
        [sys.executable, "-c", cli], capture_output=True, text=True, timeout=timeout, check=False
    )
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in done.stdout.splitlines() if line.strip()]
    by_name: dict[str, list[dict[str, object]]] = {}
    for line in lines:
        assert line["bench"] == suite
        assert isinstance(line["unit"], str)
        by_name.setdefault(str(line["metric"]), []).append(line)
    expected = set(metrics)
    assert set(by_name) == expected
    for name in expected:
        found = by_name[name]
        assert len(found) == 1, f"{name} appears {len(found)} times"
        value = found[0]["value"]
        assert isinstance(value, int | float), (name, value)
        assert not isinstance(value, bool), (name, value)
        assert math.isfinite(value), (name, value)
        assert value >= 0, (name, value)
    return {name: found[0] for name, found in by_name.items()}
