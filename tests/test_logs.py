"""Logging as services emit it: one JSON object per line on stderr, the standard library's
loggers (grpclib, asyncio...) included, and the level changed at run time."""

from __future__ import annotations

import io
import json
import logging
import subprocess
import sys
from collections.abc import Iterator

import pytest
import structlog

from contivpy.logs import configure_logging, get_level, set_level

# A service's logging set-up as `contivpy <service>` does it (stderr is not a terminal: JSON),
# then what third-party libraries log through the standard library.
SERVICE = """
import asyncio, gc, logging
from contivpy.logs import configure_logging
configure_logging("info")
logging.getLogger("grpclib.protocol").warning("stream %d reset by the peer", 7)
logging.getLogger("aetcd").debug("below the level: not shown")

async def main():
    future = asyncio.get_running_loop().create_future()
    future.set_exception(RuntimeError("nobody looked"))
    del future  # never retrieved: asyncio logs it when it is collected
    gc.collect()

asyncio.run(main())
"""


def test_stdlib_loggers_of_a_service_are_json_lines_with_level_and_logger() -> None:
    done = subprocess.run(
        [sys.executable, "-c", SERVICE], capture_output=True, text=True, timeout=30, check=True
    )
    lines = done.stderr.splitlines()
    records = [json.loads(line) for line in lines]  # every line is one JSON object
    assert len(records) == 2, done.stderr
    grpclib, never_retrieved = records
    assert grpclib["event"] == "stream 7 reset by the peer"
    assert grpclib["level"] == "warning"
    assert grpclib["logger"] == "grpclib.protocol"
    assert grpclib["timestamp"]
    assert never_retrieved["logger"] == "asyncio"
    assert never_retrieved["level"] == "error"
    assert "never retrieved" in never_retrieved["event"]
    assert never_retrieved["exception"][0]["exc_value"] == "nobody looked"


@pytest.fixture
def restored_logging() -> Iterator[None]:
    """Put the process's logging back as it was (it is process-wide)."""
    config = structlog.get_config()
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    structlog.configure(**config)
    root.handlers[:] = handlers
    root.setLevel(level)
    logging.captureWarnings(False)


def _records(out: io.StringIO) -> list[tuple[str, str]]:
    return [(r["level"], r["event"]) for r in map(json.loads, out.getvalue().splitlines())]


@pytest.mark.usefixtures("restored_logging")
def test_the_level_changes_at_run_time_for_structlog_and_stdlib_loggers() -> None:
    out = io.StringIO()
    configure_logging("info", json=True, stream=out)
    log = structlog.get_logger("test.level")
    stdlib = logging.getLogger("grpclib")
    log.debug("hidden")
    log.info("shown")  # the logger is cached from here on
    stdlib.debug("hidden too")

    set_level("debug")
    assert get_level() == "debug"
    log.debug("now shown")
    stdlib.debug("stdlib now shown")

    set_level("error")
    log.warning("hidden again")
    stdlib.warning("hidden as well")
    log.error("errors still shown")

    with pytest.raises(ValueError, match="unknown log level 'loud'"):
        set_level("loud")
    assert get_level() == "error"
    assert _records(out) == [
        ("info", "shown"),
        ("debug", "now shown"),
        ("debug", "stdlib now shown"),
        ("error", "errors still shown"),
    ]
