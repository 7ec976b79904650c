"""``contivpy vpp start|stop|restart``: a real VPP for development and ``make test-vpp``.

In: the action, a working directory (sockets, log, start-up configuration, pid file) and, to
start, the ``vpp`` binary. Out: ``start`` leaves VPP running in the background once its API
answers and prints the API socket's path; ``stop`` ends the VPP recorded in the directory;
``restart`` does both (the command ``CONTIVPY_VPP_RESTART`` can name). Exit codes: 0 done,
1 VPP failed to start (the reason printed), 2 usage (no binary).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import sys
from pathlib import Path

from contivpy.vppprocess.process import VppProcess, VppProcessError, stop_recorded
from contivpy.vppprocess.startup import StartupConfig

BINARY_VARIABLE = "CONTIVPY_VPP_BINARY"


def find_binary(given: Path | None, workdir: Path | None = None) -> Path | None:
    """The vpp binary: as given, else $CONTIVPY_VPP_BINARY, else the one last started in
    ``workdir``, else ``vpp`` on the PATH."""
    if given is not None:
        return given
    if os.environ.get(BINARY_VARIABLE):
        return Path(os.environ[BINARY_VARIABLE])
    if workdir is not None:
        with contextlib.suppress(OSError):
            return Path((workdir / "vpp.binary").read_text().strip())
    found = shutil.which("vpp")
    return Path(found) if found else None


def run_vpp_command(
    action: str,
    workdir: Path,
    *,
    binary: Path | None = None,
    netns: str | None = None,
    stats_segment_mb: int = 128,
    poll_sleep_usec: int = 100,
) -> int:
    """Carry out ``action`` (start, stop or restart); the exit code."""
    workdir = workdir.resolve()
    if action in ("stop", "restart"):
        stopped = stop_recorded(workdir)
        if action == "stop":
            print(f"stopped VPP in {workdir}" if stopped else f"no VPP runs in {workdir}")
            return 0
    found = find_binary(binary, workdir)
    if found is None:
        print(f"contivpy vpp {action}: no vpp binary (give --binary or set {BINARY_VARIABLE})")
        return 2
    process = VppProcess(
        found,
        StartupConfig(workdir, stats_segment_mb=stats_segment_mb, poll_sleep_usec=poll_sleep_usec),
        netns=netns,
    )
    try:
        asyncio.run(process.start())
    except VppProcessError as err:
        print(f"contivpy vpp {action}: {err}", file=sys.stderr)
        return 1
    print(process.api_socket)
    return 0
