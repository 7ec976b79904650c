"""How long the demo's embedded etcd may take to start: as long as it makes progress, up to the
start timeout; one that makes no progress fails after the stall time. A stand-in etcd binary
that never answers plays both: one that keeps logging (as a slow start on a loaded machine
does; CPU time it uses counts as progress too), one idle (as a hung one)."""

from __future__ import annotations

from pathlib import Path

import pytest

from contivpy.store import embedded
from contivpy.store.embedded import EmbeddedEtcd
from contivpy.store.errors import EmbeddedEtcdError


def fake_etcd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, body: str) -> None:
    script = tmp_path / "fake-etcd"
    script.write_text(f"#!/bin/sh\n{body}\n")
    script.chmod(0o755)
    monkeypatch.setattr(embedded, "etcd_binary", lambda: script)


async def test_a_busy_start_is_waited_for_beyond_the_stall_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_etcd(tmp_path, monkeypatch, "while :; do echo still starting; sleep 0.05; done")
    etcd = EmbeddedEtcd(tmp_path / "etcd", startup_timeout=3.0, startup_stall=1.0)
    with pytest.raises(
        EmbeddedEtcdError, match=r"within the start timeout of 3s \(still starting\)"
    ):
        await etcd.start()
    assert not etcd.running


async def test_a_start_without_progress_fails_before_the_timeout(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_etcd(tmp_path, monkeypatch, "exec sleep 600")
    etcd = EmbeddedEtcd(tmp_path / "etcd", startup_timeout=600.0, startup_stall=0.5)
    with pytest.raises(EmbeddedEtcdError, match=r"making no progress for 0\.5s"):
        await etcd.start()
    assert not etcd.running
