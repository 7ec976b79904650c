"""The root of contivpy's error tree.

Every error contivpy raises on purpose derives from :class:`ContivpyError`. Third-party
errors (vpp_papi, aetcd, kubernetes_asyncio, grpclib) are translated into this tree at the one
module that imports each client, with the original chained as ``__cause__``::

    ContivpyError
    ├── RetriableError        a repeat of the same operation may succeed (timeouts, busy VPP)
    ├── PermanentError        a repeat will fail the same way (bad input, missing feature)
    │   └── ConfigError       invalid settings, found at start-up
    └── (package trees)       e.g. contivpy.scheduler.errors, each drawn in its own docstring

The scheduler retries an operation only when the error says it is retriable; anything that is
neither a RetriableError nor a PermanentError is treated as retriable (an unexpected fault in a
southbound call is more often transient than not, and retries are bounded).
"""

from __future__ import annotations


class ContivpyError(Exception):
    """Base of every error raised on purpose by contivpy."""


class RetriableError(ContivpyError):
    """The operation failed for a reason that may go away; repeating it may succeed."""


class PermanentError(ContivpyError):
    """The operation cannot succeed as asked; repeating it unchanged fails the same way."""


class ConfigError(PermanentError):
    """Settings are invalid; raised at start-up and names the setting."""


def is_retriable(error: BaseException) -> bool:
    """Classify an error for retry: permanent errors are not retried, everything else is."""
    return not isinstance(error, PermanentError)
