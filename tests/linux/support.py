"""Shared by the Linux-side tests: the skip condition for kernel tests and a clean-up registry.

In: the machine (root? ``ip netns`` usable?). Out: ``needs_netns`` (a skipif mark naming the
reason), ``unique(prefix)`` names, and :class:`Sandbox`, which records every namespace and
agent-namespace link a test makes and removes them afterwards with iproute2 (independent of
the code under test, so a bug there cannot leave debris behind).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid

import pytest


def _netns_unavailable() -> str:
    if os.geteuid() != 0:
        return "needs root: creates network namespaces, veth pairs and routes"
    if shutil.which("ip") is None:
        return "needs iproute2's `ip` to set up and clean up namespaces"
    probe = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=False)
    if probe.returncode != 0:
        return f"`ip netns` is unavailable: {probe.stderr.strip()}"
    return ""


NETNS_UNAVAILABLE = _netns_unavailable()
needs_netns = pytest.mark.skipif(bool(NETNS_UNAVAILABLE), reason=NETNS_UNAVAILABLE or "-")


def unique(prefix: str) -> str:
    """A name no other test (or run) uses; at most 15 characters for a short prefix."""
    return f"{prefix}{uuid.uuid4().hex[:8]}"


def ip(*args: str, check: bool = True) -> str:
    """Run iproute2; returns stdout."""
    done = subprocess.run(["ip", *args], capture_output=True, text=True, check=False)
    if check and done.returncode != 0:
        raise AssertionError(f"ip {' '.join(args)}: {done.stderr.strip()}")
    return done.stdout


class Sandbox:
    """Namespaces and agent-namespace links of one test, removed at the end."""

    def __init__(self) -> None:
        self.namespaces: list[str] = []
        self.host_links: list[str] = []

    def netns_name(self) -> str:
        """A fresh namespace name, registered for clean-up (the test creates it)."""
        name = unique("cvt-")
        self.namespaces.append(name)
        return name

    def host_link_name(self) -> str:
        """A fresh link name in the agent's namespace, registered for clean-up."""
        name = unique("cvt")
        self.host_links.append(name)
        return name

    def clean(self) -> None:
        for link in self.host_links:
            ip("link", "del", link, check=False)
        for name in self.namespaces:
            ip("netns", "del", name, check=False)
        leftovers = set(self.namespaces) & set(ip("netns", "list").split())
        assert not leftovers, f"namespaces left behind: {leftovers}"
