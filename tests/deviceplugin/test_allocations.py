"""MemifAllocations: socket directories and secrets per Allocate, kept across restarts."""

from __future__ import annotations

import json
import stat
import string
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from contivpy.deviceplugin import MemifAllocations, MemifPluginSettings, container_injection
from contivpy.deviceplugin.allocations import STATE_FILE, AllocationError
from contivpy.errors import ConfigError

ALNUM = set(string.ascii_letters + string.digits)


def test_allocate_makes_a_private_directory_and_a_random_secret(tmp_path: Path) -> None:
    memif_dir = tmp_path / "memif"
    allocation = MemifAllocations(memif_dir, tmp_path / "state").allocate(["contivpp.io/memif/1"])

    assert allocation.host_dir.parent == memif_dir
    assert len(allocation.host_dir.name) == 20
    assert stat.S_IMODE(allocation.host_dir.stat().st_mode) == 0o700
    assert allocation.host_socket == allocation.host_dir / "memif.sock"
    assert len(allocation.secret) == 20
    assert set(allocation.secret) <= ALNUM
    injection = container_injection(allocation)
    assert injection.envs == {
        "MEMIF_SOCKET": "/run/vpp/memif.sock",
        "MEMIF_SECRET": allocation.secret,
    }
    assert injection.mounts == (("/run/vpp", str(allocation.host_dir)),)
    assert injection.annotations == {
        "io.contivpp.memif.socket.host": str(allocation.host_socket),
        "io.contivpp.memif.socket.container": "/run/vpp/memif.sock",
        "io.contivpp.memif.secret": allocation.secret,
    }


def test_two_allocations_get_different_directories_and_secrets(tmp_path: Path) -> None:
    allocations = MemifAllocations(tmp_path / "memif", None)
    first = allocations.allocate(["contivpp.io/memif/1"])
    second = allocations.allocate(["contivpp.io/memif/2"])
    assert first.host_dir != second.host_dir
    assert first.secret != second.secret


def test_repr_and_str_never_show_the_secret(tmp_path: Path) -> None:
    allocations = MemifAllocations(tmp_path / "memif", None)
    allocation = allocations.allocate(["contivpp.io/memif/1", "contivpp.io/memif/2"])
    grant = allocations.grant_for(["contivpp.io/memif/1", "contivpp.io/memif/2"])
    assert grant is not None
    assert grant.secret == allocation.secret
    assert grant.count == 2
    injection = container_injection(allocation)
    for shown in (repr(allocation), str(allocation), repr(grant), str(grant), repr(injection)):
        assert allocation.secret not in shown


def test_allocations_survive_a_restart(tmp_path: Path) -> None:
    state = tmp_path / "state"
    before = MemifAllocations(tmp_path / "memif", state)
    made = before.allocate(["contivpp.io/memif/3", "contivpp.io/memif/4"])
    assert stat.S_IMODE((state / STATE_FILE).stat().st_mode) == 0o600

    after = MemifAllocations(tmp_path / "memif", state)
    assert after.load() == [made]
    grant = after.grant_for(["contivpp.io/memif/3", "contivpp.io/memif/4"])
    assert grant is not None
    assert (grant.host_socket, grant.secret, grant.count) == (made.host_socket, made.secret, 2)


def test_release_removes_the_directory_and_forgets_it_on_disk_too(tmp_path: Path) -> None:
    state = tmp_path / "state"
    allocations = MemifAllocations(tmp_path / "memif", state)
    kept = allocations.allocate(["contivpp.io/memif/1"])
    gone = allocations.allocate(["contivpp.io/memif/2", "contivpp.io/memif/3"])

    assert allocations.release(["contivpp.io/memif/3"]) == [gone]

    assert not gone.host_dir.exists()
    assert kept.host_dir.exists()
    assert allocations.grant_for(["contivpp.io/memif/2"]) is None
    assert MemifAllocations(tmp_path / "memif", state).load() == [kept]


def test_a_device_allocated_again_releases_its_previous_holder(tmp_path: Path) -> None:
    allocations = MemifAllocations(tmp_path / "memif", None)
    old = allocations.allocate(["contivpp.io/memif/1", "contivpp.io/memif/2"])
    new = allocations.allocate(["contivpp.io/memif/2"])
    assert not old.host_dir.exists()
    assert allocations.allocations() == [new]


def test_releasing_an_old_grant_leaves_a_newer_allocation_of_its_devices(tmp_path: Path) -> None:
    allocations = MemifAllocations(tmp_path / "memif", None)
    allocations.allocate(["contivpp.io/memif/1"])
    old_grant = allocations.grant_for(["contivpp.io/memif/1"])
    assert old_grant is not None
    new = allocations.allocate(["contivpp.io/memif/1"])  # the kubelet gave it to a new pod

    assert allocations.release_grant(old_grant) == []
    assert new.host_dir.exists()
    assert allocations.allocations() == [new]


def test_bad_requests_are_refused_with_the_reason(tmp_path: Path) -> None:
    allocations = MemifAllocations(tmp_path / "memif", None)
    with pytest.raises(AllocationError, match="without devices"):
        allocations.allocate([])
    with pytest.raises(AllocationError, match="repeats"):
        allocations.allocate(["contivpp.io/memif/1", "contivpp.io/memif/1"])


def test_an_unreadable_state_file_starts_empty_without_quoting_it(tmp_path: Path) -> None:
    state = tmp_path / "state"
    state.mkdir()
    (state / STATE_FILE).write_text('{"allocations": [{"secret": "TOPSECRETVALUE1234567"')
    with capture_logs() as logs:
        assert MemifAllocations(tmp_path / "memif", state).load() == []
    assert logs
    assert "TOPSECRETVALUE1234567" not in repr(logs)


def test_a_state_entry_pointing_outside_the_memif_dir_is_skipped_and_never_removed(
    tmp_path: Path,
) -> None:
    state = tmp_path / "state"
    state.mkdir()
    victim = tmp_path / "precious"
    victim.mkdir()
    entries = [
        {"devices": ["contivpp.io/memif/1"], "directory": str(victim), "secret": "s" * 20},
        {"devices": [], "directory": str(tmp_path / "memif" / ("a" * 20)), "secret": "x"},
    ]
    (state / STATE_FILE).write_text(json.dumps({"version": 1, "allocations": entries}))
    allocations = MemifAllocations(tmp_path / "memif", state)
    with capture_logs() as logs:
        assert allocations.load() == []
    problems = [
        entry["problem"] for entry in logs if entry["event"] == "memif state file: entry skipped"
    ]
    assert len(problems) == 2
    assert "directory" in problems[0]
    assert "devices" in problems[1]
    assert allocations.release(["contivpp.io/memif/1"]) == []
    assert victim.exists()


def test_bad_settings_name_the_field() -> None:
    with pytest.raises(ConfigError, match="device_count"):
        MemifPluginSettings(device_count=-1)
    with pytest.raises(ConfigError, match="resend_interval"):
        MemifPluginSettings(resend_interval=0)
