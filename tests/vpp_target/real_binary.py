"""What the real-VPP node tests need, and the reason they skip without it.

In: the machine and ``CONTIVPY_VPP_BINARY`` (a VPP 26.06 ``vpp`` binary; ``vpp`` on the PATH
otherwise). Out: ``needs_real_vpp`` (a skipif mark naming what is missing) and
:func:`vpp_binary`.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from contivpy.vppprocess.command import BINARY_VARIABLE, find_binary
from linux.support import NETNS_UNAVAILABLE


def vpp_binary() -> Path | None:
    """The VPP binary the tests start, if any is configured."""
    found = find_binary(None)
    return found if found is not None and os.access(found, os.X_OK) else None


def _missing() -> str:
    if NETNS_UNAVAILABLE:
        return NETNS_UNAVAILABLE
    if vpp_binary() is None:
        return f"no real VPP: set {BINARY_VARIABLE} to a VPP 26.06 binary (or put vpp on the PATH)"
    return ""


REAL_VPP_MISSING = _missing()
needs_real_vpp = pytest.mark.skipif(bool(REAL_VPP_MISSING), reason=REAL_VPP_MISSING or "-")
