"""The `contivpy` command line as a user types it (the installed entry point)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

CONTIVPY = str(Path(sys.executable).with_name("contivpy"))


def contivpy(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [CONTIVPY, *args], capture_output=True, text=True, timeout=30, check=False
    )


def test_an_unknown_log_level_is_a_usage_error_naming_the_option(tmp_path: Path) -> None:
    done = contivpy("--log-level", "bogus", "vppsim", "--socket", str(tmp_path / "api.sock"))
    assert done.returncode == 2
    assert "argument --log-level: invalid choice: 'bogus'" in done.stderr
    assert "Traceback" not in done.stderr


def test_the_reflector_metrics_address_is_checked_before_anything_starts() -> None:
    done = contivpy("reflector", "--metrics-port", "0", "--metrics-address", "nope")
    assert done.returncode == 2
    assert "reflector metrics address 'nope' is not an IP address" in done.stderr
