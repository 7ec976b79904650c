"""Running `contivpy demo` as README.md and the docs give it (the installed entry point), and
the demo commands a document's unlabelled fenced blocks hold."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

CONTIVPY = str(Path(sys.executable).with_name("contivpy"))
ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"


def run(*args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    """`contivpy demo ARGS`, exactly as typed."""
    return subprocess.run(
        [CONTIVPY, "demo", *args], capture_output=True, text=True, timeout=timeout, check=False
    )


def doc_commands(doc: Path) -> list[list[str]]:
    """The command lines of the document's unlabelled fenced blocks (labelled ones, such as
    ```text, are output, not commands)."""
    commands, fence = [], None  # fence: the open block's label ("" unlabelled)
    for line in doc.read_text().splitlines():
        if line.startswith("```"):
            fence = line[3:].strip() if fence is None else None
        elif fence == "" and line.strip():
            commands.append(line.split())
    return commands


def check_doc_commands(doc: Path, timeout: float = 180) -> None:
    """Every command of ``doc`` is a `.venv/bin/contivpy demo` run that ends OK."""
    commands = doc_commands(doc)
    assert commands
    for command in commands:
        assert command[:2] == [".venv/bin/contivpy", "demo"], command
        proc = run(*command[2:], timeout=timeout)
        assert proc.returncode == 0, " ".join(command) + "\n" + proc.stdout + proc.stderr
        assert proc.stdout.rstrip().splitlines()[-1].startswith("OK: "), " ".join(command)
