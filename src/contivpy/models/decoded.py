"""What decoding one stored object gives: the object, or an error naming the bad field.

In: nothing (definitions). Out: ``Decoded`` (resource, key, model), ``DecodeError`` (raised
by a decoder for a value that is not a valid object of its resource) and the ``Decoder``
signature; the Kubernetes codec implements it, the agent's etcd watcher and the reflector
use it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeAlias


@dataclass(frozen=True, slots=True)
class Decoded:
    """A stored object decoded: which resource, its key (relative), its model."""

    resource: str
    key: str
    model: object


class DecodeError(Exception):
    """A stored value is not a valid object of its resource; the message names the field."""


#: (key relative to the prefix, stored bytes) -> Decoded, or None for keys that are not ours
Decoder: TypeAlias = Callable[[str, bytes], Decoded | None]
