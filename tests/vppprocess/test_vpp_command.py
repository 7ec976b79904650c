"""``contivpy vpp start|stop|restart`` and the launcher behind it, through the installed entry
point. A stand-in binary (``fake_vpp.py``: reads VPP's ``-c`` file and serves the simulator on
its API socket) plays VPP, so the launcher's start, answer check, pid file and restart are real;
``startup.conf`` is checked for what a VPP without DPDK or hugepages needs."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from contivpy.vppprocess.startup import DEFAULT_PLUGINS, StartupConfig

CONTIVPY = shutil.which("contivpy") or str(Path(sys.executable).with_name("contivpy"))
FAKE = Path(__file__).with_name("fake_vpp.py")


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [CONTIVPY, *args], capture_output=True, text=True, timeout=60, env=env, check=False
    )


@pytest.fixture
def fake_binary(tmp_path: Path) -> Path:
    binary = tmp_path / "vpp"
    binary.write_text(f'#!/bin/sh\nexec {sys.executable} {FAKE} "$@"\n')
    binary.chmod(binary.stat().st_mode | stat.S_IXUSR)
    return binary


def _pid(workdir: Path) -> int:
    return int((workdir / "vpp.pid").read_text())


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_startup_conf_has_every_socket_in_the_workdir_and_only_our_plugins(tmp_path: Path) -> None:
    text = StartupConfig(tmp_path, stats_segment_mb=512).render()
    assert f"socket-name {tmp_path}/api.sock" in text
    assert f"cli-listen {tmp_path}/cli.sock" in text
    assert "size 512M" in text  # the statistics segment: many interfaces need more
    assert "plugin default { disable }" in text
    for plugin in DEFAULT_PLUGINS:
        assert f"plugin {plugin} {{ enable }}" in text
    assert "dpdk" not in text
    # no hugepages needed: 4K pages for the heap, the buffers and the stats segment
    assert text.count("page-size 4K") == 3


def test_start_restart_stop_through_the_command(tmp_path: Path, fake_binary: Path) -> None:
    workdir = tmp_path / "node"
    started = run("vpp", "start", "--workdir", str(workdir), "--binary", str(fake_binary))
    assert started.returncode == 0, started.stderr
    assert started.stdout.strip() == f"{workdir}/api.sock"
    first = _pid(workdir)
    assert _alive(first)
    # restart needs no --binary: the one started last in the directory is used again
    restarted = run("vpp", "restart", "--workdir", str(workdir))
    assert restarted.returncode == 0, restarted.stderr
    second = _pid(workdir)
    assert second != first
    assert _alive(second)
    assert not _alive(first)
    stopped = run("vpp", "stop", "--workdir", str(workdir))
    assert (stopped.returncode, stopped.stdout.strip()) == (0, f"stopped VPP in {workdir}")
    assert not _alive(second)
    again = run("vpp", "stop", "--workdir", str(workdir))
    assert (again.returncode, again.stdout.strip()) == (0, f"no VPP runs in {workdir}")


def test_a_binary_that_is_not_there_is_a_clear_error(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-vpp"
    done = run("vpp", "start", "--workdir", str(tmp_path / "w"), "--binary", str(missing))
    assert done.returncode == 1
    assert f"{missing} is not an executable VPP binary" in done.stderr
    assert "Traceback" not in done.stderr


def test_a_vpp_that_exits_at_once_is_reported_with_its_output(tmp_path: Path) -> None:
    broken = tmp_path / "vpp"
    broken.write_text("#!/bin/sh\necho 'vpp: unknown input `bogus'\"'\"'' >&2\nexit 1\n")
    broken.chmod(0o755)
    done = run("vpp", "start", "--workdir", str(tmp_path / "w"), "--binary", str(broken))
    assert done.returncode == 1
    assert "exited with 1" in done.stderr
    assert "unknown input" in done.stderr


def test_without_any_binary_start_is_a_usage_error(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "CONTIVPY_VPP_BINARY"}
    env["PATH"] = str(Path(sys.executable).parent)  # no vpp there
    done = run("vpp", "start", "--workdir", str(tmp_path / "w"), env=env)
    assert done.returncode == 2
    assert "no vpp binary" in done.stdout


def test_demo_on_a_missing_vpp_binary_says_so(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-vpp"
    done = run("demo", "--vpp", str(missing), "--workdir", str(tmp_path / "demo"))
    assert done.returncode == 2
    assert "demo --vpp:" in done.stderr
    assert "Traceback" not in done.stdout + done.stderr
