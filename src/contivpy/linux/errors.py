"""Errors of the Linux side (netlink, network namespaces), translated from pyroute2 and OSError.

In: an errno (and the failed operation) from ``contivpy.linux.netlink``, the one module that
talks to the kernel. Out: one tree, so descriptors and the scheduler can tell a repeat that
may succeed from one that cannot, with the original error chained as ``__cause__``::

    ContivpyError
    └── LinuxError                 every error of this package; ``errno``/``errno_name``
        ├── NetnsNotFoundError     (permanent) the namespace file is gone: the pod is gone
        ├── LinkNotFoundError      (retriable) no link of that name in that namespace (yet):
        │                          a link made by someone else (VPP's tap) may still appear
        └── NetlinkError           the kernel refused a request
            ├── NetlinkTransientError   (retriable) EBUSY, EAGAIN, ENOBUFS, ... and unknown
            ├── NetlinkRejectedError    (permanent) EINVAL, EPERM, EOPNOTSUPP, ...
            ├── ObjectExistsError       (permanent) EEXIST: the name/address is taken
            └── ObjectMissingError      (retriable) ENOENT, ESRCH, ENODEV, EADDRNOTAVAIL:
                                        the object to change or delete is not there

Deletes treat "missing" (``is_gone``) as success: what should not exist does not.
"""

from __future__ import annotations

import errno as errno_codes

from contivpy.errors import ContivpyError, PermanentError, RetriableError


class LinuxError(ContivpyError):
    """Base of the Linux side's errors. ``errno`` is 0 when no system call failed."""

    def __init__(self, message: str, errno: int = 0) -> None:
        super().__init__(message)
        self.errno = errno

    @property
    def errno_name(self) -> str:
        """Symbolic name of ``errno`` (``"EEXIST"``), or "" when there is none."""
        return errno_codes.errorcode.get(self.errno, "") if self.errno else ""


class NetnsNotFoundError(LinuxError, PermanentError):
    """The network namespace does not exist (its file is gone or not a namespace)."""

    def __init__(self, path: str, errno: int = errno_codes.ENOENT) -> None:
        super().__init__(f"network namespace {path} not found", errno)
        self.path = path


class LinkNotFoundError(LinuxError, RetriableError):
    """No link with that name in that namespace."""

    def __init__(self, name: str, netns: str) -> None:
        super().__init__(f"link {name!r} not found in {netns}", errno_codes.ENODEV)
        self.name = name
        self.netns = netns


class NetlinkError(LinuxError):
    """The kernel refused a netlink request (or a namespace operation): errno and operation."""

    def __init__(self, operation: str, errno: int, detail: str = "") -> None:
        name = errno_codes.errorcode.get(errno, str(errno))
        text = f"{operation}: {name}" + (f" ({detail})" if detail else "")
        super().__init__(text, errno)
        self.operation = operation


class NetlinkTransientError(NetlinkError, RetriableError):
    """A refusal that may go away (resource pressure, a busy device, an unknown errno)."""


class NetlinkRejectedError(NetlinkError, PermanentError):
    """A refusal that a repeat will meet again (invalid argument, no permission, no support)."""


class ObjectExistsError(NetlinkError, PermanentError):
    """EEXIST: a link name, address, route or neighbour is already there."""


class ObjectMissingError(NetlinkError, RetriableError):
    """The object a request refers to is not there (ENOENT, ESRCH, ENODEV, EADDRNOTAVAIL)."""


_MISSING = frozenset(
    {errno_codes.ENOENT, errno_codes.ESRCH, errno_codes.ENODEV, errno_codes.EADDRNOTAVAIL}
)
_REJECTED = frozenset(
    {
        errno_codes.EINVAL,
        errno_codes.EPERM,
        errno_codes.EACCES,
        errno_codes.EOPNOTSUPP,
        errno_codes.EAFNOSUPPORT,
        errno_codes.EPROTONOSUPPORT,
        errno_codes.ERANGE,
        errno_codes.ENETUNREACH,  # a gateway that no route reaches: the config is wrong
        errno_codes.EXDEV,
        errno_codes.E2BIG,
    }
)


def netlink_error(operation: str, errno: int, detail: str = "") -> NetlinkError:
    """The NetlinkError subclass for ``errno`` (the caller chains the original cause)."""
    if errno == errno_codes.EEXIST:
        return ObjectExistsError(operation, errno, detail)
    if errno in _MISSING:
        return ObjectMissingError(operation, errno, detail)
    if errno in _REJECTED:
        return NetlinkRejectedError(operation, errno, detail)
    return NetlinkTransientError(operation, errno, detail)


def is_gone(error: BaseException) -> bool:
    """True when ``error`` says the object (or its namespace or link) does not exist."""
    return isinstance(error, NetnsNotFoundError | LinkNotFoundError | ObjectMissingError)
