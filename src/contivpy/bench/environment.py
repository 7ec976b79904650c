"""What the figures were measured on, and what the process cost.

In: the running process and machine. Out: a one-line description (python, uvloop, CPUs as
``nproc`` counts them, OS, date) for report headers, and the process's peak resident set
size in MB (``resource.getrusage``).
"""

from __future__ import annotations

import datetime
import importlib.metadata
import os
import platform
import resource
import sys


def cpus() -> int:
    """CPUs this process may run on (what ``nproc`` prints)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far, in MB."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    scale = 1024 * 1024 if sys.platform == "darwin" else 1024  # bytes on macOS, kB elsewhere
    return peak / scale


def describe() -> str:
    """One line: interpreter, loop, CPUs, OS and the time of the run (UTC)."""
    now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    uvloop = importlib.metadata.version("uvloop")
    return (
        f"python {platform.python_version()}, uvloop {uvloop}, {cpus()} CPUs, "
        f"{platform.system()} {platform.release()}, {now}"
    )
