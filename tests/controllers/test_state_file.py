"""The agent's local state file: what is written is what is read back, only after a flush."""

from __future__ import annotations

from pathlib import Path

from contivpy.controllers.state_file import StateFile


def test_document_is_on_disk_only_after_flush(tmp_path: Path) -> None:
    path = tmp_path / "state" / "ipam.json"
    state = StateFile(path)
    state.write({"allocations": [1]})
    assert StateFile(path).read() == {}
    state.flush()
    assert StateFile(path).read() == {"allocations": [1]}
    assert [p.name for p in path.parent.iterdir()] == ["ipam.json"]  # no temporary left


def test_builder_is_called_at_flush_with_the_latest_state(tmp_path: Path) -> None:
    path = tmp_path / "pods.json"
    state = StateFile(path)
    pods: list[str] = []
    calls = 0

    def document() -> dict[str, object]:
        nonlocal calls
        calls += 1
        return {"pods": list(pods)}

    for name in ("a", "b", "c"):
        pods.append(name)
        state.write(document)
    state.flush()
    state.flush()  # nothing pending: the file is not rewritten
    assert calls == 1
    assert StateFile(path).read() == {"pods": ["a", "b", "c"]}


def test_unreadable_or_foreign_file_reads_as_empty(tmp_path: Path) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    assert StateFile(broken).read() == {}
    listed = tmp_path / "list.json"
    listed.write_text("[1, 2]")
    assert StateFile(listed).read() == {}


def test_without_a_path_nothing_is_kept(tmp_path: Path) -> None:
    state = StateFile(None)
    state.write({"pods": ["a"]})
    state.flush()
    assert state.read() == {}
    assert list(tmp_path.iterdir()) == []
