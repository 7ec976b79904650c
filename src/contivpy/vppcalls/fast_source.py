"""What the compiled codec's generated functions are made of, and what they raise.

In: lines of Python written by :mod:`~contivpy.vppcalls.fast_decode` and
:mod:`~contivpy.vppcalls.fast_encode`, and the objects (structs, constants, helpers) their
names refer to. Out: the compiled function and its source text. Only names made here and
``repr`` literals of ints and bools go into the text, never text from a definition (field and
type names are ``repr`` string literals).
"""

from __future__ import annotations

import itertools
import struct
from collections.abc import Callable
from typing import Any

from contivpy.vppcalls.message import Message


class FastPathMiss(Exception):
    """The compiled codec does not handle this input; vpp_papi's serializer decides."""


class Source:
    """One generated function: its lines and the objects its names refer to."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.namespace: dict[str, Any] = {
            "Message": Message,
            "Miss": FastPathMiss,
            "EMPTY": {},
            "_f64pack": struct.Struct("=d").pack,  # vpp_papi packs f64 as "=d": native order
            "_f64unpack": struct.Struct("=d").unpack,
            "_u32pack": struct.Struct(">I").pack,
            "_u32unpack": struct.Struct(">I").unpack_from,
        }
        self._ids = itertools.count()

    def local(self, prefix: str) -> str:
        """A new local name: ``prefix`` and a number unique in this function."""
        return f"{prefix}{next(self._ids)}"

    def constant(self, prefix: str, value: Any) -> str:
        """A new global name of the function, bound to ``value`` (a struct, a helper)."""
        name = self.local(prefix)
        self.namespace[name] = value
        return name

    def literal(self, value: Any) -> str:
        """Source text for a default: ints and bools inline, anything else by name."""
        return repr(value) if type(value) in (int, bool) else self.constant("K", value)

    def emit(self, depth: int, text: str) -> None:
        """Add a line, indented ``depth`` levels."""
        self.lines.append("    " * depth + text)

    def build(self, function: str, title: str) -> tuple[Callable[..., Any], str]:
        """Compile the lines; the function named ``function`` and the source text."""
        text = "\n".join(self.lines) + "\n"
        exec(compile(text, f"<compiled codec: {title}>", "exec"), self.namespace)
        return self.namespace[function], text


def index_expression(base: str | None, offset: int) -> str:
    """Source of an index ``offset`` items after ``base`` (a loop variable, or None: 0)."""
    if base is None:
        return str(offset)
    return base if offset == 0 else f"{base} + {offset}"
