"""The memif allocations of this node: socket directories and secrets, kept across restarts.

In: the device IDs of one Allocate (``allocate``), device IDs the kubelet reports for a pod
(``grant_for``), device IDs or a grant to release. Out: ``MemifAllocation``s, each with a new
directory ``<memif dir>/<20 random characters>/`` (mode 0700) and a 20-character secret from
the ``secrets`` module; the set is written atomically to ``memif-allocations.json`` (mode
0600) in the state directory after every change and read back by ``load``.

Device IDs are the kubelet's to hand out: when it allocates a device again, the pod that held
it is gone, so the allocation holding it is released (directory removed) before the new one
is made. A state file that cannot be read is logged and treated as empty (the kubelet
allocates again for new pods); an entry with a bad field is skipped with a warning naming it.
Directories are only ever removed below the memif directory. Secrets never reach a log line.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import string
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import structlog

from contivpy.deviceplugin.memif import MemifAllocation, MemifGrant
from contivpy.errors import PermanentError

log = structlog.get_logger(__name__)

STATE_FILE = "memif-allocations.json"
_TOKEN_LENGTH = 20
_SECRET_ALPHABET = string.ascii_letters + string.digits
_DIR_ALPHABET = string.ascii_lowercase + string.digits
_DIR_NAME = re.compile(rf"[{_DIR_ALPHABET}]{{{_TOKEN_LENGTH}}}")


class AllocationError(PermanentError):
    """An Allocate that cannot be served as asked (no devices, duplicates, bad directory)."""


def _token(alphabet: str) -> str:
    return "".join(secrets.choice(alphabet) for _ in range(_TOKEN_LENGTH))


class MemifAllocations:
    """Allocations by device ID. ``state_dir`` None keeps nothing on disk (tests)."""

    def __init__(self, memif_dir: Path, state_dir: Path | None) -> None:
        self.memif_dir = memif_dir
        self.state_path = state_dir / STATE_FILE if state_dir is not None else None
        self._by_device: dict[str, MemifAllocation] = {}

    # --- reading ----------------------------------------------------------------------------

    def allocations(self) -> list[MemifAllocation]:
        """Every allocation, in the order of their first device ID."""
        seen: dict[Path, MemifAllocation] = {}
        for device in sorted(self._by_device):
            allocation = self._by_device[device]
            seen.setdefault(allocation.host_dir, allocation)
        return list(seen.values())

    def allocation_of(self, device_id: str) -> MemifAllocation | None:
        return self._by_device.get(device_id)

    def grant_for(self, device_ids: Iterable[str]) -> MemifGrant | None:
        """The grant made of the allocations holding ``device_ids`` (in their order), or None
        when none of them is allocated here."""
        found: dict[Path, MemifAllocation] = {}
        unknown: list[str] = []
        for device in device_ids:
            allocation = self._by_device.get(device)
            if allocation is None:
                unknown.append(device)
            else:
                found.setdefault(allocation.host_dir, allocation)
        if unknown:
            log.warning("memif devices without an allocation here", devices=unknown)
        return MemifGrant(tuple(found.values())) if found else None

    # --- changing ---------------------------------------------------------------------------

    def allocate(self, device_ids: Sequence[str]) -> MemifAllocation:
        """A new directory and secret for ``device_ids``; what held them before is released."""
        devices = tuple(device_ids)
        if not devices:
            raise AllocationError("Allocate: a container request without devices_ids")
        if len(set(devices)) != len(devices):
            raise AllocationError(f"Allocate: devices_ids repeats a device: {list(devices)}")
        self._release_quietly(devices)
        try:
            self.memif_dir.mkdir(parents=True, exist_ok=True)
            host_dir = self.memif_dir / _token(_DIR_ALPHABET)
            host_dir.mkdir(mode=0o700)
            os.chmod(host_dir, 0o700)  # mkdir's mode is filtered by the umask
        except OSError as error:
            raise AllocationError(
                f"Allocate: cannot create a memif socket directory under {self.memif_dir}: "
                f"{error.strerror or error}"
            ) from error
        allocation = MemifAllocation(devices, host_dir, _token(_SECRET_ALPHABET))
        for device in devices:
            self._by_device[device] = allocation
        self._save()
        log.info("memif devices allocated", devices=list(devices), directory=str(host_dir))
        return allocation

    def release(self, device_ids: Iterable[str]) -> list[MemifAllocation]:
        """Release the allocations holding any of ``device_ids``: directory removed, forgotten."""
        released = self._release_quietly(device_ids)
        if released:
            self._save()
        return released

    def release_grant(self, grant: MemifGrant) -> list[MemifAllocation]:
        """Release exactly the grant's allocations: a device the kubelet has meanwhile given
        to another pod (a newer allocation) is left alone."""
        current = [
            allocation
            for allocation in grant.allocations
            if any(self._by_device.get(d) == allocation for d in allocation.device_ids)
        ]
        return self.release(d for allocation in current for d in allocation.device_ids)

    def _release_quietly(self, device_ids: Iterable[str]) -> list[MemifAllocation]:
        released: list[MemifAllocation] = []
        for device in list(device_ids):
            allocation = self._by_device.get(device)
            if allocation is None or allocation in released:
                continue
            for held in allocation.device_ids:
                if self._by_device.get(held) is allocation:
                    del self._by_device[held]
            self._remove_dir(allocation.host_dir)
            released.append(allocation)
            log.info(
                "memif devices released",
                devices=list(allocation.device_ids),
                directory=str(allocation.host_dir),
            )
        return released

    def _remove_dir(self, host_dir: Path) -> None:
        if host_dir.parent != self.memif_dir:  # never outside our own directory
            log.warning("memif directory outside the memif dir not removed", path=str(host_dir))
            return
        try:
            shutil.rmtree(host_dir)
        except FileNotFoundError:
            pass
        except OSError as error:
            log.warning("memif directory not removed", path=str(host_dir), error=str(error))

    # --- persistence ------------------------------------------------------------------------

    def load(self) -> list[MemifAllocation]:
        """Read the allocations kept by a previous run (their directories made again if gone)."""
        self._by_device.clear()
        for allocation in self._read():
            for device in allocation.device_ids:
                self._by_device[device] = allocation
            try:
                allocation.host_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
            except OSError as error:
                log.warning(
                    "memif directory not re-created",
                    path=str(allocation.host_dir),
                    error=str(error),
                )
        loaded = self.allocations()
        if loaded:
            log.info("memif allocations restored", allocations=len(loaded))
        return loaded

    def _read(self) -> list[MemifAllocation]:
        path = self.state_path
        if path is None or not path.exists():
            return []
        try:
            document = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError, UnicodeDecodeError) as error:
            # No exception text that could quote the file: it holds secrets.
            log.error(
                "memif state file unreadable; starting without allocations",
                path=str(path),
                error=type(error).__name__,
            )
            return []
        entries = document.get("allocations") if isinstance(document, dict) else None
        if not isinstance(entries, list):
            log.error("memif state file: 'allocations' is not a list; ignored", path=str(path))
            return []
        result: list[MemifAllocation] = []
        for index, entry in enumerate(entries):
            problem, allocation = self._entry(entry)
            if allocation is None:
                log.warning(
                    "memif state file: entry skipped", path=str(path), index=index, problem=problem
                )
            else:
                result.append(allocation)
        return result

    def _entry(self, entry: Any) -> tuple[str, MemifAllocation | None]:
        if not isinstance(entry, dict):
            return "not an object", None
        devices = entry.get("devices")
        if (
            not isinstance(devices, list)
            or not devices
            or not all(isinstance(d, str) and d for d in devices)
        ):
            return "devices: not a non-empty list of device IDs", None
        directory = entry.get("directory")
        if not isinstance(directory, str) or not directory:
            return "directory: missing", None
        host_dir = Path(directory)
        if host_dir.parent != self.memif_dir or not _DIR_NAME.fullmatch(host_dir.name):
            return f"directory: {directory!r} is not a memif directory under {self.memif_dir}", None
        secret = entry.get("secret")
        if not isinstance(secret, str) or not secret:
            return "secret: missing", None  # never the value
        return "", MemifAllocation(tuple(devices), host_dir, secret)

    def _save(self) -> None:
        path = self.state_path
        if path is None:
            return
        document = {
            "version": 1,
            "allocations": [
                {
                    "devices": list(a.device_ids),
                    "directory": str(a.host_dir),
                    "secret": a.secret,
                }
                for a in self.allocations()
            ],
        }
        path.parent.mkdir(parents=True, exist_ok=True)
        # mkstemp creates the file 0600: the secrets are never readable by others.
        fd, tmp = tempfile.mkstemp(prefix=path.name + ".", dir=path.parent)
        try:
            with os.fdopen(fd, "w") as handle:
                handle.write(json.dumps(document, separators=(",", ":"), sort_keys=True))
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
