"""Key namespacing: the caller's ``str`` keys to etcd's ``bytes`` keys under a prefix, and back.

In: the configured key prefix (``StoreSettings.prefix``). Out: ``KeyNamespace``, which encodes
keys (UTF-8; undecodable bytes round-trip through surrogate escapes), strips the prefix from
keys etcd returns, and computes etcd's ``[start, end)`` range for "every key with this prefix".
"""

from __future__ import annotations


class KeyNamespace:
    """Maps the caller's keys to etcd keys under ``prefix`` and back."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self._raw = self.encode(prefix)

    @staticmethod
    def encode(text: str) -> bytes:
        return text.encode("utf-8", "surrogateescape")

    def key(self, key: str) -> bytes:
        """The etcd key of ``key``."""
        return self._raw + self.encode(key)

    def strip(self, raw: bytes) -> str:
        """The caller's key of etcd key ``raw`` (which starts with the prefix)."""
        return raw[len(self._raw) :].decode("utf-8", "surrogateescape")

    def range(self, prefix: str) -> tuple[bytes, bytes]:
        """``[start, end)`` of every etcd key starting with the namespaced ``prefix``."""
        start = self.key(prefix)
        if not start:  # no prefix at all: etcd spells "every key" as [\0, \0)
            return b"\0", b"\0"
        return start, prefix_end(start)


def prefix_end(prefix: bytes) -> bytes:
    """The smallest key greater than every key starting with ``prefix`` (etcd's range_end);
    ``b"\\0"`` ("to the end") when no such key exists (a prefix of only 0xff bytes)."""
    trimmed = prefix.rstrip(b"\xff")
    if not trimmed:
        return b"\0"
    return trimmed[:-1] + bytes([trimmed[-1] + 1])
