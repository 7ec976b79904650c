"""Errors of the scheduler.

::

    ContivpyError (contivpy.errors)
    └── SchedulerError
        ├── TxnQueueFullError      the bounded queue is full; the transaction was not accepted
        ├── TxnOptionsError        an illegal combination (revert with a full resync, …)
        ├── RegistryError          two descriptors claim one key, or a name is reused
        └── SchedulerStoppedError  the scheduler is not running

Failures of individual operations are not exceptions to callers: they are ``OpError`` records
in the ``TxnResult`` (key, operation, cause, retriable), and show in status and history.
"""

from __future__ import annotations

from contivpy.errors import ContivpyError, PermanentError, RetriableError


class SchedulerError(ContivpyError):
    """Base of scheduler errors."""


class TxnQueueFullError(SchedulerError, RetriableError):
    """The transaction queue is full; nothing of the transaction was applied."""


class TxnOptionsError(SchedulerError, PermanentError):
    """A transaction asked for options that cannot go together."""


class RegistryError(SchedulerError, PermanentError):
    """Descriptor registration conflict."""


class SchedulerStoppedError(SchedulerError, RetriableError):
    """The scheduler is not running (not started yet, or stopped)."""
