"""Errors of the VPP binary-API client, drawn once here::

    ContivpyError
    └── VppError                          anything that went wrong talking to VPP
        ├── VppApiError                   VPP answered a request with a non-zero retval
        │   ├── VppApiRetriableError      (also RetriableError) VPP was busy; try again
        │   └── VppApiPermanentError      (also PermanentError) the request itself is wrong
        ├── VppConnectionError            (also RetriableError) no connection, or it broke
        │   ├── VppTimeoutError           no reply in time
        │   └── VppProtocolError          a frame we cannot read; the connection is dropped
        ├── VppApiMismatchError           (also PermanentError) VPP lacks messages we need,
        │                                 or has them with other CRCs (another VPP version)
        └── VppEncodeError                (also PermanentError) a value does not fit a field

In: a message name and a retval (from a reply), or a failure on the socket. Out: an exception
that says what failed in VPP's own words (the retval's name) and whether repeating may help.
``VppApiError.from_reply`` picks the retriable or permanent class; callers catch ``VppApiError``.
"""

from __future__ import annotations

from collections.abc import Iterable

from contivpy.errors import ContivpyError, PermanentError, RetriableError
from contivpy.vppcalls.retvals import Retval, retval_name

#: Retvals that say "not now" rather than "not this": repeating the same request may succeed.
#: Everything else VPP returns describes the request or the state it met, and the scheduler's
#: retry would fail the same way (a missing /dev/vhost-net stays missing).
RETRIABLE_RETVALS: frozenset[int] = frozenset(
    {
        Retval.EAGAIN,
        Retval.BUSY,
        Retval.QUEUE_FULL,
        Retval.RESPONSE_NOT_READY,
        Retval.BFD_EAGAIN,
    }
)

#: What a retval usually means for one message, where VPP's name alone misleads.
_HINTS: dict[tuple[str, int], str] = {
    ("tap_create_v3", Retval.SYSCALL_ERROR_1): (
        "VPP could not open /dev/vhost-net (is the vhost_net kernel module loaded?)"
    ),
}


class VppError(ContivpyError):
    """Base of every error raised by contivpy's VPP client."""


class VppApiError(VppError):
    """VPP answered ``message`` with a non-zero ``retval``."""

    retriable: bool = False

    def __init__(self, message: str, retval: int, detail: str = "") -> None:
        self.message = message
        self.retval = retval
        self.error_name = retval_name(retval)
        self.detail = detail or _HINTS.get((message, retval), "")
        text = f"{message}: VPP returned {retval} ({self.error_name})"
        if self.detail:
            text += f": {self.detail}"
        super().__init__(text)

    @staticmethod
    def from_reply(message: str, retval: int, detail: str = "") -> VppApiError:
        """The retriable or permanent error for ``retval`` as a reply to ``message``."""
        if retval in RETRIABLE_RETVALS:
            return VppApiRetriableError(message, retval, detail)
        return VppApiPermanentError(message, retval, detail)


class VppApiRetriableError(VppApiError, RetriableError):
    """VPP refused for a passing reason (busy, try again)."""

    retriable = True


class VppApiPermanentError(VppApiError, PermanentError):
    """VPP refused the request as asked; repeating it unchanged fails the same way."""


class VppConnectionError(VppError, RetriableError):
    """No usable connection to VPP: not connected, refused, reset, or closed mid-call."""


class VppTimeoutError(VppConnectionError):
    """VPP did not answer in time."""


class VppProtocolError(VppConnectionError):
    """A frame that does not follow VPP's socket protocol; the connection is dropped."""


class VppEncodeError(VppError, PermanentError):
    """A value does not fit the field it was given for (too long, out of range, wrong type)."""


class VppApiMismatchError(VppError, PermanentError):
    """The connected VPP does not offer every message contivpy needs with the CRC it knows."""

    def __init__(
        self,
        socket_path: str,
        missing: Iterable[str],
        mismatched: Iterable[tuple[str, str, str]],
    ) -> None:
        self.missing = tuple(sorted(missing))
        #: (message, CRC contivpy knows, CRC the VPP has)
        self.mismatched = tuple(sorted(mismatched))
        parts = []
        if self.missing:
            parts.append("missing: " + ", ".join(self.missing))
        if self.mismatched:
            parts.append(
                "other CRC: "
                + ", ".join(
                    f"{n} (ours {ours}, VPP's {theirs})" for n, ours, theirs in self.mismatched
                )
            )
        super().__init__(
            f"VPP at {socket_path} does not match the VPP 26.06 API contivpy speaks; "
            + "; ".join(parts)
        )
