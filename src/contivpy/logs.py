"""Logging set-up, done once per process by the composition root (``contivpy.cli``), and the
log level changed at run time.

In: the desired level and whether output is a terminal; later, a new level (``set_level``, for
``contivpy ctl log-level``). Out: structlog configured to render for humans on a TTY and as one
JSON object per line otherwise (services, CI, files), and the standard library's loggers
(grpclib, asyncio, aetcd, kubernetes_asyncio, aiohttp...) rendered the same way through the
root logger's handler (structlog's ``ProcessorFormatter``): in a service every line on stderr
is one JSON object with ``event``, ``level``, ``logger`` and ``timestamp``. Python warnings
(``warnings.warn``) are logged too, as logger ``py.warnings``.

Exception rendering never includes frame locals: they may hold secrets (memif secrets, etcd
credentials) and make logs unreadable.

The level is held by the class of every structlog logger (``_LevelledLogger``): a level below
it is a method that returns at once, as structlog's filtering loggers do, so a debug line costs
nothing when debug is off; ``set_level`` swaps those methods, which takes effect at once for
every logger, including those structlog has cached.
"""

from __future__ import annotations

import logging
import sys
from typing import TextIO

import structlog

#: the levels ``configure_logging`` and ``set_level`` take
LEVELS = ("debug", "info", "warning", "error")

_HANDLER_NAME = "contivpy"  # the root handler this module installs (and replaces)


class _LevelledLogger(structlog.BoundLoggerBase):
    """Every structlog logger's class: its level methods are set by ``set_level``."""


def _numeric(level: str) -> int:
    if level.lower() not in LEVELS:
        raise ValueError(f"unknown log level {level!r}: use one of {', '.join(LEVELS)}")
    return int(getattr(logging, level.upper()))


def set_level(level: str) -> None:
    """Log at ``level`` (debug, info, warning, error) from now on: structlog's loggers and the
    standard library's. ValueError for any other level, nothing changed."""
    numeric = _numeric(level)
    template = structlog.make_filtering_bound_logger(numeric)
    for name, method in vars(template).items():
        if callable(method) and not name.startswith("__"):
            setattr(_LevelledLogger, name, method)
    logging.getLogger().setLevel(numeric)


def change_level(level: str) -> str:
    """``set_level`` at run time (``contivpy ctl log-level``), said in the log (a warning,
    so it shows at the usual levels); the level before. ValueError for an unknown level."""
    previous = get_level()
    set_level(level)
    structlog.get_logger(__name__).warning("log level changed", level=level, previous=previous)
    return previous


def get_level() -> str:
    """The level logged at now (as ``set_level`` takes it)."""
    return logging.getLevelName(logging.getLogger().getEffectiveLevel()).lower()


class _StderrHandler(logging.StreamHandler[TextIO]):
    """Writes to whatever ``sys.stderr`` is when a record comes (not the one at set-up:
    tests replace it)."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, _: TextIO) -> None:
        pass


def configure_logging(
    level: str = "info", *, json: bool | None = None, stream: TextIO | None = None
) -> None:
    """Configure structlog and the stdlib root logger for this process (again: replaces the
    previous set-up). ValueError for an unknown level."""
    out = stream if stream is not None else sys.stderr
    use_json = not out.isatty() if json is None else json
    set_level(level)
    shared: list[structlog.types.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    exceptions: list[structlog.types.Processor] = []
    renderer: structlog.types.Processor
    if use_json:
        exceptions.append(
            structlog.processors.ExceptionRenderer(
                structlog.tracebacks.ExceptionDictTransformer(show_locals=False)
            )
        )
        renderer = structlog.processors.JSONRenderer()
    else:
        renderer = structlog.dev.ConsoleRenderer(colors=out.isatty())
    structlog.configure(
        processors=[*shared, *exceptions, renderer],
        wrapper_class=_LevelledLogger,
        logger_factory=structlog.PrintLoggerFactory(file=out),
        cache_logger_on_first_use=True,
    )
    _route_stdlib(
        stream,
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[*shared, structlog.stdlib.add_logger_name],
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                *exceptions,
                renderer,
            ],
        ),
    )


def _route_stdlib(stream: TextIO | None, formatter: logging.Formatter) -> None:
    """The root logger's one handler of ours: every stdlib record through ``formatter``."""
    handler: logging.Handler = _StderrHandler() if stream is None else logging.StreamHandler(stream)
    handler.set_name(_HANDLER_NAME)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == _HANDLER_NAME]:
        root.removeHandler(old)
    root.addHandler(handler)
    logging.captureWarnings(True)
