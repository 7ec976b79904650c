"""Fixtures of the real-VPP node tests: the per-test namespace sandbox of the Linux tests."""

from __future__ import annotations

from linux.conftest import sandbox

__all__ = ["sandbox"]
