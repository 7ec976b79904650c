"""Errors of the key-value store.

::

    ContivpyError (contivpy.errors)
    └── StoreError                 any other failure reported by the store (treated as retriable)
        ├── StoreUnavailableError  etcd cannot be reached or did not answer in time (retriable)
        ├── CompactedError         the asked revision is compacted away: relist, then watch again
        ├── LeaseNotFoundError     the lease expired or was revoked
        ├── StoreAuthError         wrong credentials, or the user may not do this
        ├── StoreRequestError      etcd rejected the request as malformed (a bug on our side)
        ├── StoreClosedError       the store was used after ``close()``
        └── EmbeddedEtcdError      the embedded etcd did not start (its log tail is in the message)

Only ``contivpy.store.etcd`` raises these for etcd failures: it translates aetcd and gRPC errors
at that one boundary and chains the original as ``__cause__``.
"""

from __future__ import annotations

from contivpy.errors import ContivpyError, PermanentError, RetriableError


class StoreError(ContivpyError):
    """Base of store errors; a bare StoreError is an unexpected server fault (retriable)."""


class StoreUnavailableError(StoreError, RetriableError):
    """etcd is unreachable or timed out. A write that failed this way may or may not have been
    applied: re-read before repeating anything that is not idempotent."""


class CompactedError(StoreError, PermanentError):
    """The revision asked for (a watch start, a list at a revision) is older than the oldest
    revision etcd still keeps. Callers relist the current state and watch from there.

    ``compacted_revision`` is the oldest revision still kept, when etcd says it (it does for
    watches, not for a list at an old revision: then None).
    """

    def __init__(self, compacted_revision: int | None) -> None:
        below = "an unknown revision" if compacted_revision is None else compacted_revision
        super().__init__(f"revisions below {below} were compacted; relist")
        self.compacted_revision = compacted_revision


class LeaseNotFoundError(StoreError, PermanentError):
    """The lease does not exist (expired, revoked, or never granted)."""


class StoreAuthError(StoreError, PermanentError):
    """Authentication failed or permission was denied. Never carries the credentials."""


class StoreRequestError(StoreError, PermanentError):
    """etcd rejected the request itself (invalid argument, too large, ...)."""


class StoreClosedError(StoreError, PermanentError):
    """The store was closed; open a new one."""


class EmbeddedEtcdError(StoreError, PermanentError):
    """The embedded etcd could not be started (or found); the message quotes its log."""
