"""deploy/contivpy-agent.service as systemd reads it: `systemd-analyze verify` accepts it and
`systemd-analyze security --offline` rates its exposure at most 5.0; and it asks for what the
agent does (Type=notify, a watchdog, VPP wanted rather than required).

verify checks that ExecStart's binary exists: it runs on a copy of the shipped file in which
only ExecStart's /usr/local/bin/contivpy is replaced by the contivpy installed with these tests
(the copy is compared with the shipped file line by line first). Skipped where systemd-analyze
is missing.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

UNIT = Path(__file__).resolve().parents[2] / "deploy" / "contivpy-agent.service"
SHIPPED_BINARY = "/usr/local/bin/contivpy"
INSTALLED_BINARY = str(Path(sys.executable).with_name("contivpy"))
ANALYZE = shutil.which("systemd-analyze")
MAX_EXPOSURE = 5.0

needs_systemd = pytest.mark.skipif(ANALYZE is None, reason="systemd-analyze is not installed")


def _settings() -> dict[str, list[str]]:
    """Every Key=value of the unit, by key (in file order)."""
    settings: dict[str, list[str]] = {}
    for line in UNIT.read_text().splitlines():
        if "=" in line and not line.startswith(("#", "[")):
            key, _, value = line.partition("=")
            settings.setdefault(key.strip(), []).append(value.strip())
    return settings


def _runnable_copy(directory: Path) -> Path:
    """The shipped unit with only ExecStart's binary replaced by the installed one."""
    shipped = UNIT.read_text().splitlines(keepends=True)
    rewritten = [
        line.replace(f"ExecStart={SHIPPED_BINARY} ", f"ExecStart={INSTALLED_BINARY} ", 1)
        for line in shipped
    ]
    changed = [old for old, new in zip(shipped, rewritten, strict=True) if old != new]
    assert len(changed) == 1, changed
    assert changed[0].startswith("ExecStart="), changed
    copy = directory / UNIT.name  # verify names the unit after its file
    copy.write_text("".join(rewritten))
    return copy


def _analyze(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    assert ANALYZE is not None
    return subprocess.run(
        [ANALYZE, *args], capture_output=True, text=True, timeout=60, check=False, cwd=cwd
    )


@needs_systemd
def test_systemd_analyze_verify_accepts_the_unit(tmp_path: Path) -> None:
    copy = _runnable_copy(tmp_path)
    done = _analyze("verify", str(copy), cwd=tmp_path)
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert UNIT.name not in output, output  # no warnings about it either


@needs_systemd
def test_the_units_exposure_is_at_most_5(tmp_path: Path) -> None:
    copy = _runnable_copy(tmp_path)
    done = _analyze("security", "--offline=true", "--no-pager", str(copy), cwd=tmp_path)
    output = done.stdout + done.stderr
    found = re.search(r"Overall exposure level for \S+: (\d+\.\d+)", output)
    assert found is not None, output
    assert float(found.group(1)) <= MAX_EXPOSURE, output


def test_the_unit_asks_for_notify_a_watchdog_and_wants_vpp() -> None:
    settings = _settings()
    assert settings["Type"] == ["notify"]
    assert settings["NotifyAccess"] == ["main"]
    assert int(settings["WatchdogSec"][0]) > 0
    assert "Requires" not in settings  # VPP's restarts must not stop the agent
    assert "vpp.service" in " ".join(settings["Wants"])
    assert "vpp.service" in " ".join(settings["After"])
    assert settings["CapabilityBoundingSet"] == ["CAP_NET_ADMIN CAP_SYS_ADMIN"]
    assert settings["ExecStart"][0].startswith(f"{SHIPPED_BINARY} ")
