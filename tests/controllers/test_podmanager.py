"""PodManager on its own (state file in a temporary directory): an ADD with another
container ID replaces the pod's registration, its revert restores the old one, an old
sandbox's DEL leaves the new one alone, and the registry survives a restart."""

from __future__ import annotations

from pathlib import Path

from contivpy.controllers.pod_ips import PodID
from contivpy.controllers.podmanager import LocalPod, PodManager
from contivpy.controllers.state_file import StateFile
from controllers.parts import START, add, delete, request

WEB = PodID("default", "web")


def manager(tmp_path: Path, netns: set[str] | None = None) -> PodManager:
    exists = (lambda _: True) if netns is None else netns.__contains__
    return PodManager(StateFile(tmp_path / "pods.json"), netns_exists=exists)


def local(container: str) -> LocalPod:
    """The registration of an ADD of a pod the manager has not seen reflected: its
    annotations are to be read when they arrive."""
    sandbox = request("web", container)
    return LocalPod(WEB, container, sandbox.netns, sandbox.ifname, annotations_read=False)


async def test_an_add_with_another_container_id_replaces_the_pod(tmp_path: Path) -> None:
    pods = manager(tmp_path)
    await pods.resync(START, {}, 1)
    await pods.update(add("web", "old"))
    await pods.update(add("web", "new"))
    assert dict(pods.pods) == {WEB: local("new")}
    # The old sandbox's DEL, arriving late, is not the pod's any more: nothing changes.
    result = await pods.update(delete("web", "old"))
    assert result.change == ""
    assert dict(pods.pods) == {WEB: local("new")}
    await pods.update(delete("web", "new"))
    assert dict(pods.pods) == {}


async def test_reverting_a_replacing_add_restores_the_old_sandbox(tmp_path: Path) -> None:
    pods = manager(tmp_path)
    await pods.resync(START, {}, 1)
    await pods.update(add("web", "old"))
    replacing = add("web", "new")
    result = await pods.update(replacing)
    await pods.revert(replacing, result.undo)
    assert dict(pods.pods) == {WEB: local("old")}
    first = add("db")
    result = await pods.update(first)
    await pods.revert(first, result.undo)
    assert PodID("default", "db") not in pods.pods


async def test_the_registry_survives_a_restart_without_sandboxes_that_are_gone(
    tmp_path: Path,
) -> None:
    pods = manager(tmp_path)
    await pods.resync(START, {}, 1)
    await pods.update(add("web", "new"))
    await pods.update(add("db"))
    pods.persist()
    restarted = manager(tmp_path, netns={local("new").netns})
    await restarted.resync(START, {}, 1)
    assert dict(restarted.pods) == {WEB: local("new")}
