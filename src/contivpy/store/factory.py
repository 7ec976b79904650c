"""Opening the store the settings ask for: external etcd, or an embedded one when none is set.

In: ``StoreSettings`` and, for the embedded case, a working directory (default: the user's
state directory). Out: a connected ``EtcdStore`` inside an async context; leaving the context
closes it and stops the embedded etcd, if one was started (also when cancelled while it was
starting or connecting). The composition root calls this.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import AsyncIterator
from pathlib import Path

from contivpy.errors import ConfigError
from contivpy.store.embedded import EmbeddedEtcd
from contivpy.store.etcd import EtcdStore
from contivpy.store.settings import StoreSettings


@contextlib.asynccontextmanager
async def open_store(
    settings: StoreSettings, *, embedded_workdir: Path | None = None
) -> AsyncIterator[EtcdStore]:
    """Connect to ``settings.endpoints``; with none, start an embedded etcd first."""
    if settings.endpoints:
        async with EtcdStore(settings) as store:
            yield store
        return
    if settings.uses_auth or settings.uses_tls:
        raise ConfigError("store credentials or TLS need endpoints; the embedded etcd uses neither")
    etcd = EmbeddedEtcd(embedded_workdir)
    try:
        await etcd.start()
        embedded = dataclasses.replace(settings, endpoints=(etcd.endpoint,))
        async with EtcdStore(embedded) as store:
            yield store
    finally:
        # Also when the start was cut short (cancelled: the agent got SIGTERM while etcd
        # came up): the etcd process is running by then and must not outlive us.
        await etcd.stop()
