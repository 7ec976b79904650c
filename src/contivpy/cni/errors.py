"""CNI error codes and the error that carries one, for the plugin and the agent alike.

In: nothing. Out: :class:`CniCode` (the CNI spec's codes and contivpy's own) and
:class:`CniError`. The kubelet execs the plugin once per pod, so this module imports nothing
but contivpy's error root: the codes are plain ints, not an enum (``enum`` costs the plugin
about 1.5 ms of its start).
"""

from __future__ import annotations

from contivpy.errors import ContivpyError


class CniCode:
    """CNI spec error codes, plus contivpy's own (100+)."""

    INCOMPATIBLE_VERSION = 1
    UNSUPPORTED_FIELD = 2
    UNKNOWN_CONTAINER = 3
    INVALID_ENVIRONMENT = 4
    IO_FAILURE = 5
    DECODE_FAILURE = 6
    INVALID_CONFIG = 7
    TRY_AGAIN_LATER = 11
    AGENT_UNAVAILABLE = 100  # the agent's socket cannot be reached
    WIRING_FAILED = 101  # the agent could not wire the pod (details say why)
    IP_EXHAUSTED = 102  # no pod IP left on this node


class CniError(ContivpyError):
    """A CNI failure: a code from CniCode, a one-line message, optional details."""

    def __init__(self, code: int, message: str, details: str = "") -> None:
        super().__init__(message)
        self.code = int(code)
        self.message = message
        self.details = details


def parse_cni_args(args: str) -> dict[str, str]:
    """``K=V;K=V`` into a dict; raises CniError (invalid environment) on a malformed pair."""
    out: dict[str, str] = {}
    for part in args.split(";"):
        if not part.strip():
            continue
        key, sep, value = part.partition("=")
        if not sep or not key.strip():
            raise CniError(CniCode.INVALID_ENVIRONMENT, f"CNI_ARGS: malformed pair {part!r}")
        out[key.strip()] = value.strip()
    return out


def pod_of_args(args: str) -> tuple[str, str]:
    """(namespace, name) of the pod named by K8S_POD_NAMESPACE / K8S_POD_NAME in CNI_ARGS;
    CniError (invalid environment) when either is missing."""
    parsed = parse_cni_args(args)
    name = parsed.get("K8S_POD_NAME", "")
    namespace = parsed.get("K8S_POD_NAMESPACE", "")
    if not name or not namespace:
        missing = "K8S_POD_NAME" if not name else "K8S_POD_NAMESPACE"
        raise CniError(CniCode.INVALID_ENVIRONMENT, f"CNI_ARGS: {missing} is missing")
    return namespace, name
