"""A small JSON document kept on local disk, written atomically.

In: a path and JSON-able documents. Out: the last document written, read back after an
agent restart. Written to a temporary file in the same directory, fsynced, then renamed over
the old one, so a crash leaves either the old or the new document, never half of one.
A missing file reads as empty; an unreadable one is reported and read as empty (the agent
then rebuilds from the reflected state) rather than stopping the agent.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import structlog

log = structlog.get_logger(__name__)


class StateFile:
    """One JSON document at ``path``. ``write`` keeps the new document; ``flush`` puts it on
    disk (the event loop flushes once per group of events, before their changes are applied
    southbound, so what the agent hands out is on disk before anyone can use it)."""

    def __init__(self, path: Path | None) -> None:
        self.path = path  # None: keep nothing (tests, or an operator's choice)
        self._pending: dict[str, Any] | Callable[[], dict[str, Any]] | None = None
        self._directory_made = False  # once: each flush's mkdir was a system call or two

    def read(self) -> dict[str, Any]:
        """The document, or {} when there is none or it cannot be read."""
        if self.path is None or not self.path.exists():
            return {}
        try:
            document = json.loads(self.path.read_text())
        except (OSError, json.JSONDecodeError) as error:
            log.error(
                "state file unreadable; rebuilding from cluster state",
                path=str(self.path),
                error=str(error),
            )
            return {}
        if not isinstance(document, dict):
            log.error("state file is not a JSON object; ignored", path=str(self.path))
            return {}
        return document

    def write(self, document: dict[str, Any] | Callable[[], dict[str, Any]]) -> None:
        """Replace the document (on disk at the next ``flush``). A callable is called at the
        flush: an owner that changes many times per flush builds its document once."""
        if self.path is not None:
            self._pending = document

    def flush(self) -> None:
        """Write the pending document, if any, atomically."""
        pending, self._pending = self._pending, None
        if pending is None or self.path is None:
            return
        document = pending() if callable(pending) else pending
        if not self._directory_made:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._directory_made = True
        fd, tmp = tempfile.mkstemp(prefix=self.path.name + ".", dir=self.path.parent)
        try:
            with os.fdopen(fd, "w") as handle:
                # dumps, not dump: dump streams through the pure-Python encoder.
                handle.write(json.dumps(document, separators=(",", ":"), sort_keys=True))
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
