"""Unix-socket listeners that only their owner can use, and that never steal a live one.

In: a socket path and what it is for (named in errors). Out: a bound socket, mode 0600 from
the first moment (bound under a temporary name, chmodded, renamed into place before listen),
after removing a stale socket file left by a crashed process. A live socket (another agent)
or a path that is not a socket is a ConfigError, never overwritten. On stop, the file is
removed only if it is still ours (same inode).
"""

from __future__ import annotations

import os
import socket
import stat
from pathlib import Path

import structlog

from contivpy.errors import ConfigError

log = structlog.get_logger(__name__)


def bind_unix(path: Path, purpose: str) -> socket.socket:
    """A bound (not yet listening) unix stream socket at ``path``, mode 0600."""
    _remove_stale_socket(path, purpose)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}")
    temporary.unlink(missing_ok=True)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.bind(str(temporary))
        os.chmod(temporary, 0o600)
        os.replace(temporary, path)
    except OSError as error:
        sock.close()
        temporary.unlink(missing_ok=True)
        raise ConfigError(f"{purpose} socket {path}: cannot bind: {error}") from error
    return sock


def socket_inode(path: Path) -> int:
    """The inode of the socket file (a socket fd's own inode is in sockfs, not the file's)."""
    return os.lstat(path).st_ino


def remove_own_socket(path: Path, inode: int) -> None:
    """Remove the socket file if it is still the one we bound (same inode)."""
    try:
        if os.lstat(path).st_ino == inode:
            path.unlink()
    except FileNotFoundError:
        pass


def _remove_stale_socket(path: Path, purpose: str) -> None:
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return
    if not stat.S_ISSOCK(mode):
        raise ConfigError(f"{purpose} socket {path}: exists and is not a socket")
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    probe.settimeout(1.0)
    try:
        probe.connect(str(path))
    except (ConnectionRefusedError, FileNotFoundError):
        path.unlink(missing_ok=True)
        log.info("removed stale socket", purpose=purpose, socket=str(path))
        return
    except OSError:
        pass  # e.g. a timeout: somebody is there, just slow
    finally:
        probe.close()
    raise ConfigError(f"{purpose} socket {path}: another process is listening on it")
