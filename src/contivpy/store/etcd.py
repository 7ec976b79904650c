"""The etcd adapter: ``EtcdStore`` implements ``contivpy.store.api.Store`` on aetcd 1.0.0.

In: ``StoreSettings`` (endpoints, TLS, credentials, key prefix, timeouts). Out: an ``EtcdStore``
whose results are the typed values of ``contivpy.store.api`` and whose errors are the
``contivpy.store.errors`` tree. This is the only module that imports aetcd (a project rule), so
aetcd's untyped values and exceptions stop here; gRPC/aetcd errors are translated below with
the original chained as ``__cause__``.

What aetcd gives and what is added here (shared/reference/dependencies.md §2):

- aetcd's ``Client`` dials one host and port without TLS, cannot refresh its auth token, and
  its KV methods drop the response header of transactions and deletes. So this module keeps
  its own channels (TLS or not) and calls aetcd's generated stubs directly, with
  ``wait_for_ready`` so a request made while etcd restarts waits for the reconnect (up to
  ``request_timeout``) instead of failing at once. gRPC reconnects a channel by itself; its
  backoff is capped at 1 s.
- Several endpoints (an etcd cluster): one channel per endpoint, dialled when first needed;
  requests go to one of them at a time (``endpoint_in_use``). A request that finds that
  channel down (or fails as unavailable) moves the store to the next endpoint: a channel in
  transient failure is skipped at once, one still connecting gets ``failover_timeout``. Reads
  and lease refreshes then repeat on the new endpoint, writes report the failure (as with one
  endpoint), and watches reopen there from the revision after their last event — every
  member serves the same revisions, so nothing is lost or repeated. Leases are the cluster's,
  not a member's: they survive a failover (a new leader extends them).
- etcd forgets simple auth tokens when it restarts (and after 5 idle minutes): a request
  answered "invalid auth token" re-authenticates once and is repeated. Each endpoint's channel
  authenticates on its first request.
- Watches use aetcd's ``Watcher`` (one per watch, so each gets a fresh stream with the current
  token); ``contivpy.store.watch.ResumingWatch`` reopens them after a disconnect from the last
  delivered revision + 1. aetcd ignores a watch the server cancels at creation (it would hang),
  so every open first reads the prefix: that checks the token and the permission, and gives
  the current revision when the caller did not give one.
- Lists are read in pages at one revision (``list_page_size`` keys per request), so a large
  prefix neither exceeds gRPC's message limit nor mixes revisions.
- Reads repeat by themselves while etcd is unreachable (until ``request_timeout``); writes are
  sent once, since a write that failed in flight may have been applied.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

# Before gRPC is loaded: its fork handlers off. Processes with a store fork while gRPC's
# threads run (the embedded etcd, the CNI plugins and VPPs the demo and benches start, each
# exec'd at once and none using gRPC); with the handlers on, gRPC prints "Other threads are
# currently calling into gRPC, skipping fork() handlers" on such forks, and a child now and
# then died (SIGSEGV) before its exec. A value set in the environment is kept.
os.environ.setdefault("GRPC_ENABLE_FORK_SUPPORT", "false")

import aetcd
import grpc  # type: ignore[import-untyped]  # only for TLS credentials; aetcd.rpc re-exports the rest
import structlog
from aetcd import rpc

from contivpy.async_service import AsyncService
from contivpy.backoff import Backoff
from contivpy.errors import ConfigError
from contivpy.store.api import (
    Compare,
    CompareOp,
    DeleteOp,
    DeleteResult,
    EventType,
    ExistsCompare,
    GetOp,
    GetResult,
    KeyValue,
    Lease,
    ListResult,
    ModRevisionCompare,
    PutOp,
    PutResult,
    Txn,
    TxnOp,
    TxnResult,
    ValueCompare,
    WatchEvent,
    WatchStream,
)
from contivpy.store.errors import (
    CompactedError,
    LeaseNotFoundError,
    StoreAuthError,
    StoreClosedError,
    StoreError,
    StoreRequestError,
    StoreUnavailableError,
)
from contivpy.store.namespace import KeyNamespace
from contivpy.store.settings import Endpoint, StoreSettings
from contivpy.store.watch import EventSource, ResumingWatch

if TYPE_CHECKING:
    from contivpy.store.api import Store

log = structlog.get_logger(__name__)

T = TypeVar("T")

# Reconnect quickly after an etcd restart (gRPC's default backoff grows to 120 s); ping idle
# streams so a silently dead peer is noticed (etcd accepts pings every 5 s or slower); accept
# large list pages.
_CHANNEL_OPTIONS: tuple[tuple[str, int], ...] = (
    ("grpc.initial_reconnect_backoff_ms", 100),
    ("grpc.min_reconnect_backoff_ms", 100),
    ("grpc.max_reconnect_backoff_ms", 1000),
    ("grpc.keepalive_time_ms", 10_000),
    ("grpc.keepalive_timeout_ms", 5_000),
    ("grpc.keepalive_permit_without_calls", 0),
    ("grpc.http2.max_pings_without_data", 0),
    ("grpc.max_receive_message_length", 64 * 1024 * 1024),
)

# Shortest deadline given to one attempt (the rest of request_timeout is usually longer).
_MIN_RPC_TIMEOUT = 0.05

# Pause before connecting through the next endpoint after one answered "unavailable", so
# members that all answer so (no quorum) are not asked in a busy loop.
_FAILOVER_PAUSE = 0.05

# Everything aetcd or gRPC raises at us; translated by _translate.
_CLIENT_ERRORS: tuple[type[BaseException], ...] = (aetcd.ClientError, rpc.RpcError, TimeoutError)

# etcd reports some auth problems with other codes: bad credentials and a request without
# a token as INVALID_ARGUMENT, credentials sent to an etcd without auth as FAILED_PRECONDITION.
_AUTH_DETAILS = (
    "etcdserver: authentication",
    "etcdserver: user name",
    "etcdserver: permission denied",
    "etcdserver: invalid auth",
)

_COMPARE_RESULTS: dict[CompareOp, Any] = {
    CompareOp.EQUAL: rpc.Compare.EQUAL,
    CompareOp.NOT_EQUAL: rpc.Compare.NOT_EQUAL,
    CompareOp.LESS: rpc.Compare.LESS,
    CompareOp.GREATER: rpc.Compare.GREATER,
}


# --- error translation ----------------------------------------------------------------------


def _rpc_error_of(exc: BaseException) -> Any:
    """The gRPC error behind ``exc`` (aetcd wraps it as ``__cause__``), or None."""
    if isinstance(exc, rpc.AioRpcError):
        return exc
    if isinstance(exc.__cause__, rpc.AioRpcError):
        return exc.__cause__
    return None


def _is_expired_token(exc: BaseException) -> bool:
    rpc_error = _rpc_error_of(exc)
    return (
        rpc_error is not None
        and rpc_error.code() == rpc.StatusCode.UNAUTHENTICATED
        and "invalid auth token" in (rpc_error.details() or "")
    )


def _translate(exc: BaseException, what: str) -> StoreError:
    """Map an aetcd/gRPC error of operation ``what`` into the store error tree."""
    if isinstance(exc, StoreError):
        return exc
    if isinstance(exc, aetcd.RevisionCompactedError):
        return CompactedError(int(exc.compacted_revision))
    if isinstance(exc, aetcd.WatchTimeoutError | TimeoutError):
        return StoreUnavailableError(f"{what}: etcd did not answer in time")
    rpc_error = _rpc_error_of(exc)
    if rpc_error is None:
        if isinstance(exc, aetcd.ConnectionFailedError | aetcd.ConnectionTimeoutError):
            return StoreUnavailableError(f"{what}: {exc}")
        return StoreError(f"{what}: {exc}")
    code = rpc_error.code()
    details = rpc_error.details() or str(code)
    message = f"{what}: {details}"
    if code in (rpc.StatusCode.UNAVAILABLE, rpc.StatusCode.DEADLINE_EXCEEDED):
        return StoreUnavailableError(message)
    if code == rpc.StatusCode.NOT_FOUND and "lease" in details:
        return LeaseNotFoundError(message)
    if code in (rpc.StatusCode.UNAUTHENTICATED, rpc.StatusCode.PERMISSION_DENIED) or any(
        details.startswith(prefix) for prefix in _AUTH_DETAILS
    ):
        return StoreAuthError(message)
    if code == rpc.StatusCode.OUT_OF_RANGE and "compacted" in details:
        # A range at a compacted revision; etcd does not say up to where it compacted.
        return CompactedError(None)
    if code in (
        rpc.StatusCode.INVALID_ARGUMENT,
        rpc.StatusCode.FAILED_PRECONDITION,
        rpc.StatusCode.OUT_OF_RANGE,
    ):
        return StoreRequestError(message)
    return StoreError(message)


# --- values ---------------------------------------------------------------------------------


def _key_value(kv: Any, ns: KeyNamespace) -> KeyValue:
    return KeyValue(
        key=ns.strip(kv.key),
        value=bytes(kv.value),
        mod_revision=int(kv.mod_revision),
        create_revision=int(kv.create_revision),
        version=int(kv.version),
        lease_id=int(kv.lease),
    )


def _watch_event(event: Any, ns: KeyNamespace) -> WatchEvent:
    prev = event.prev_kv
    # aetcd wraps an absent previous value as an empty KeyValue (create_revision 0).
    prev_value = bytes(prev.value) if prev is not None and prev.create_revision else None
    return WatchEvent(
        type=EventType.PUT if event.kind == "PUT" else EventType.DELETE,
        key=ns.strip(event.kv.key),
        value=bytes(event.kv.value),
        mod_revision=int(event.kv.mod_revision),
        prev_value=prev_value,
    )


def _compare_message(compare: Compare, ns: KeyNamespace) -> Any:
    key = ns.key(compare.key)
    if isinstance(compare, ValueCompare):
        return rpc.Compare(
            key=key,
            target=rpc.Compare.VALUE,
            result=_COMPARE_RESULTS[compare.op],
            value=compare.value,
        )
    if isinstance(compare, ModRevisionCompare):
        return rpc.Compare(
            key=key,
            target=rpc.Compare.MOD,
            result=_COMPARE_RESULTS[compare.op],
            mod_revision=compare.mod_revision,
        )
    # ExistsCompare: a key exists exactly when its create_revision is not 0.
    assert isinstance(compare, ExistsCompare)
    return rpc.Compare(
        key=key,
        target=rpc.Compare.CREATE,
        result=rpc.Compare.GREATER if compare.exists else rpc.Compare.EQUAL,
        create_revision=0,
    )


def _request_op(op: TxnOp, ns: KeyNamespace) -> Any:
    if isinstance(op, PutOp):
        lease_id = op.lease.id if op.lease is not None else 0
        return rpc.RequestOp(
            request_put=rpc.PutRequest(key=ns.key(op.key), value=op.value, lease=lease_id)
        )
    if isinstance(op, DeleteOp):
        start, end = ns.range(op.key) if op.prefix else (ns.key(op.key), b"")
        return rpc.RequestOp(request_delete_range=rpc.DeleteRangeRequest(key=start, range_end=end))
    assert isinstance(op, GetOp)
    return rpc.RequestOp(request_range=rpc.RangeRequest(key=ns.key(op.key)))


# --- the connection -------------------------------------------------------------------------


def _read_file(path: Path | None, setting: str) -> bytes | None:
    if path is None:
        return None
    try:
        return path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"store {setting} {str(path)!r}: {exc.strerror}") from exc


class _Connection:
    """One gRPC channel to one etcd endpoint, the stubs on it, and its auth token (if any)."""

    def __init__(self, settings: StoreSettings, endpoint: Endpoint) -> None:
        self._settings = settings  # holds the password: never logged (repr hides it)
        self.endpoint = endpoint
        target = endpoint.host_port()
        if settings.uses_tls:
            credentials = grpc.ssl_channel_credentials(
                root_certificates=_read_file(settings.ca_file, "ca_file"),
                private_key=_read_file(settings.key_file, "key_file"),
                certificate_chain=_read_file(settings.cert_file, "cert_file"),
            )
            self.channel: Any = rpc.secure_channel(target, credentials, options=_CHANNEL_OPTIONS)
        else:
            self.channel = rpc.insecure_channel(target, options=_CHANNEL_OPTIONS)
        self.kv: Any = rpc.KVStub(self.channel)
        self.lease: Any = rpc.LeaseStub(self.channel)
        self.watch: Any = rpc.WatchStub(self.channel)
        self.metadata: tuple[tuple[str, str], ...] | None = None
        self._auth_lock = asyncio.Lock()

    async def authenticate(self, rpc_timeout: float, *, stale: object = None) -> None:
        """Get a fresh token. ``stale``: the metadata a failed request used; when the token
        was already replaced since, another task re-authenticated and nothing is done."""
        async with self._auth_lock:
            if stale is not None and stale is not self.metadata:
                return
            try:
                reply = await rpc.AuthStub(self.channel).Authenticate(
                    rpc.AuthenticateRequest(
                        name=self._settings.username, password=self._settings.resolve_password()
                    ),
                    timeout=rpc_timeout,
                    wait_for_ready=True,
                )
            except _CLIENT_ERRORS as exc:
                # The traceback's frames hold the failed call object, which references the
                # request, password included; chain the error without them.
                raise _translate(exc, "authenticate") from exc.with_traceback(None)
            self.metadata = (("token", reply.token),)

    async def wait_connected(self, within: float, *, skip_failed: bool) -> bool:
        """Whether the channel is (or ``within`` seconds becomes) connected. With
        ``skip_failed``, a channel in transient failure (its endpoint refused or dropped the
        connection) answers False at once instead of waiting for its next reconnect."""

        async def connected() -> bool:
            state = self.channel.get_state(try_to_connect=True)
            while state is not grpc.ChannelConnectivity.READY:
                if skip_failed and state is grpc.ChannelConnectivity.TRANSIENT_FAILURE:
                    return False
                await self.channel.wait_for_state_change(state)
                state = self.channel.get_state(try_to_connect=True)
            return True

        # asyncio.timeout, not wait_for: Python 3.11's wait_for can lose a cancellation that
        # arrives as the awaited call ends.
        try:
            async with asyncio.timeout(max(within, 0.0)):
                return await connected()
        except TimeoutError:
            return False

    async def close(self) -> None:
        await self.channel.close()


# --- watch streams --------------------------------------------------------------------------


class _EtcdEventSource:
    """One aetcd ``Watcher`` (its own gRPC stream) with one watch on it; aetcd's callbacks fill
    a queue with events, then an exception (the stream broke) or None (it was shut down)."""

    def __init__(
        self,
        watcher: Any,
        queue: asyncio.Queue[Any],
        ns: KeyNamespace,
        on_close: Callable[[_EtcdEventSource], None],
    ) -> None:
        self._watcher = watcher
        self._queue = queue
        self._ns = ns
        self._on_close = on_close
        self._ended = False

    async def next_event(self) -> WatchEvent:
        if self._ended:
            raise StopAsyncIteration
        item = await self._queue.get()
        if item is None:
            self._ended = True
            raise StopAsyncIteration
        if isinstance(item, BaseException):
            self._ended = True
            raise _translate(item, "watch") from item
        return _watch_event(item, self._ns)

    async def aclose(self) -> None:
        self._ended = True
        self._on_close(self)
        await self._watcher.shutdown()


# --- the store ------------------------------------------------------------------------------


class EtcdStore(AsyncService):
    """``Store`` on etcd. Use ``async with EtcdStore(settings) as store`` (or ``connect()`` and
    ``close()``). Safe to share between tasks of one event loop."""

    def __init__(self, settings: StoreSettings) -> None:
        self._settings = settings
        self._ns = KeyNamespace(settings.prefix)
        self._endpoints = settings.parsed_endpoints()
        # One connection per endpoint, dialled on first use; requests use ``_current``'s.
        self._conns: dict[int, _Connection] = {}
        self._current = 0
        self._connected = False
        self._closed = False
        self._sources: set[_EtcdEventSource] = set()

    def __repr__(self) -> str:
        s = self._settings
        return (
            f"EtcdStore(endpoints={s.endpoints!r}, prefix={s.prefix!r}, "
            f"tls={s.uses_tls}, auth={s.uses_auth})"
        )

    @property
    def endpoint_in_use(self) -> str:
        """``host:port`` of the endpoint requests go to now (the first before connecting;
        empty when none is configured)."""
        if not self._endpoints:
            return ""
        return self._endpoints[self._current].host_port()

    # -- life cycle

    async def connect(self) -> None:
        """Dial etcd and check it answers, waiting up to ``dial_timeout`` for it (gRPC retries
        the connection meanwhile; with several endpoints, the first that answers is used).
        ``StoreUnavailableError`` if none does, ``StoreAuthError`` on bad credentials,
        ``ConfigError`` on unreadable TLS files or no endpoints."""
        if self._closed:
            raise StoreClosedError("store closed")
        if self._connected:
            return
        settings = self._settings
        if not self._endpoints:
            raise ConfigError("no store endpoints configured")
        deadline = time.monotonic() + settings.dial_timeout
        try:
            while True:
                conn = await self._usable_connection(deadline)
                remaining = max(deadline - time.monotonic(), _MIN_RPC_TIMEOUT)
                try:
                    if settings.uses_auth:  # proves etcd answers and the credentials are good
                        await conn.authenticate(remaining)
                    else:  # Status needs no permission: it proves only that etcd answers
                        await rpc.MaintenanceStub(conn.channel).Status(
                            rpc.StatusRequest(), timeout=remaining, wait_for_ready=True
                        )
                    break
                except _CLIENT_ERRORS as exc:
                    error = _translate(exc, f"connect to {conn.endpoint.host_port()}")
                    if isinstance(error, StoreUnavailableError) and self._may_fail_over(deadline):
                        self._fail_over(conn, error)
                        await asyncio.sleep(_FAILOVER_PAUSE)
                        continue
                    raise error from exc
                except StoreUnavailableError as error:  # from authenticate
                    if self._may_fail_over(deadline):
                        self._fail_over(conn, error)
                        await asyncio.sleep(_FAILOVER_PAUSE)
                        continue
                    raise
        except BaseException:
            await self._close_connections()
            raise
        self._connected = True
        log.info(
            "store connected",
            endpoint=self.endpoint_in_use,
            endpoints=len(self._endpoints),
            prefix=settings.prefix,
            tls=settings.uses_tls,
            auth=settings.uses_auth,
        )

    async def close(self) -> None:
        """End open watches and close the channels. Idempotent."""
        self._closed = True
        self._connected = False
        for source in list(self._sources):
            await source.aclose()
        await self._close_connections()

    async def _close_connections(self) -> None:
        conns, self._conns = list(self._conns.values()), {}
        for conn in conns:
            await conn.close()

    # ``async with`` (AsyncService): connect on the way in, close on the way out.
    start = connect
    stop = close

    # -- endpoints

    def _connection_at(self, index: int) -> _Connection:
        if self._closed:  # never dial again once closed (a request may still be retrying)
            raise StoreClosedError("store closed")
        conn = self._conns.get(index)
        if conn is None:
            conn = self._conns[index] = _Connection(self._settings, self._endpoints[index])
        return conn

    def _connection(self) -> _Connection:
        """The connection requests use now (``StoreClosedError`` when closed)."""
        if not self._connected:
            raise StoreClosedError("store closed" if self._closed else "store not connected")
        return self._connection_at(self._current)

    def _may_fail_over(self, deadline: float) -> bool:
        return len(self._endpoints) > 1 and time.monotonic() < deadline and not self._closed

    def _fail_over(self, conn: _Connection, error: BaseException | str) -> None:
        """Move to the next endpoint, unless another request already moved off ``conn``."""
        if len(self._endpoints) < 2 or self._conns.get(self._current) is not conn:
            return
        self._current = (self._current + 1) % len(self._endpoints)
        log.warning(
            "store endpoint unusable, failing over",
            endpoint=conn.endpoint.host_port(),
            next_endpoint=self.endpoint_in_use,
            error=str(error),
        )

    async def _usable_connection(self, deadline: float) -> _Connection:
        """The current endpoint's connection once it is connected, failing over to the next
        endpoint while it is not. With one endpoint it is returned as it is (its requests wait
        for the reconnect). Near the deadline the current one is returned regardless, and the
        request then fails by its own deadline."""
        conn = self._connection_at(self._current)
        if len(self._endpoints) == 1:
            return conn
        tried = 0
        while True:
            # First round: skip endpoints whose connection just failed; once all were tried,
            # give each ``failover_timeout`` to come back.
            fast = tried < len(self._endpoints)
            wait = min(self._settings.failover_timeout, deadline - time.monotonic())
            if await conn.wait_connected(wait, skip_failed=fast):
                return conn
            if time.monotonic() >= deadline or self._closed:
                return conn
            self._fail_over(conn, "not connected")
            tried += 1
            conn = self._connection_at(self._current)

    # -- calling etcd

    async def _call(
        self, what: str, call: Callable[[_Connection, float], Awaitable[T]], *, idempotent: bool
    ) -> T:
        """Run ``call(connection, timeout)``, translating errors. Re-authenticates once on an
        expired token; fails over to the next endpoint when this one is unavailable; repeats
        idempotent calls while etcd is unreachable, all within one ``request_timeout``."""
        self._connection()
        deadline = time.monotonic() + self._settings.request_timeout
        delays = Backoff(initial=0.05, maximum=1.0).delays()
        reauthenticated = False
        while True:
            conn = await self._usable_connection(deadline)
            try:
                try:
                    if self._settings.uses_auth and conn.metadata is None:
                        # A connection failed over to: it has no token yet.
                        await conn.authenticate(max(deadline - time.monotonic(), _MIN_RPC_TIMEOUT))
                    metadata = conn.metadata
                    return await call(conn, max(deadline - time.monotonic(), _MIN_RPC_TIMEOUT))
                except _CLIENT_ERRORS as exc:
                    if self._settings.uses_auth and not reauthenticated and _is_expired_token(exc):
                        reauthenticated = True
                        log.info("store auth token expired, authenticating again")
                        await conn.authenticate(self._settings.request_timeout, stale=metadata)
                        continue
                    raise _translate(exc, what) from exc
            except StoreUnavailableError as error:
                self._fail_over(conn, error)
                delay = next(delays)
                if idempotent and time.monotonic() + delay < deadline and not self._closed:
                    await asyncio.sleep(delay)
                    continue
                raise
            except asyncio.CancelledError:
                # Closing the channel cancels its calls; unless our own task is being
                # cancelled, report that as what it is.
                task = asyncio.current_task()
                if self._closed and task is not None and not task.cancelling():
                    raise StoreClosedError(f"{what}: store closed meanwhile") from None
                raise

    async def _unary(
        self, what: str, method: Callable[[_Connection], Any], request: Any, *, idempotent: bool
    ) -> Any:
        """One unary RPC, ``method`` picking the stub method off the connection. It waits for
        the channel to (re)connect rather than failing at once while etcd restarts."""
        return await self._call(
            what,
            lambda conn, rpc_timeout: method(conn)(
                request, timeout=rpc_timeout, metadata=conn.metadata, wait_for_ready=True
            ),
            idempotent=idempotent,
        )

    async def _range(self, what: str, request: Any) -> Any:
        return await self._unary(what, lambda c: c.kv.Range, request, idempotent=True)

    # -- reads

    async def get(self, key: str) -> GetResult:
        reply = await self._range(f"get {key!r}", rpc.RangeRequest(key=self._ns.key(key)))
        item = _key_value(reply.kvs[0], self._ns) if reply.kvs else None
        return GetResult(revision=int(reply.header.revision), item=item)

    async def list(self, prefix: str, *, revision: int | None = None) -> ListResult:
        start, end = self._ns.range(prefix)
        at = revision or 0  # 0: the latest; the first page fixes it for the rest
        items: list[KeyValue] = []
        while True:
            reply = await self._range(
                f"list {prefix!r}",
                rpc.RangeRequest(
                    key=start, range_end=end, limit=self._settings.list_page_size, revision=at
                ),
            )
            if at == 0:
                at = int(reply.header.revision)
            items.extend(_key_value(kv, self._ns) for kv in reply.kvs)
            if not reply.more or not reply.kvs:
                return ListResult(revision=at, items=tuple(items))
            start = bytes(reply.kvs[-1].key) + b"\0"

    async def revision(self) -> int:
        """The store's current revision (adapter extra: tests and diagnostics)."""
        start, end = self._ns.range("")
        reply = await self._range(
            "revision", rpc.RangeRequest(key=start, range_end=end, count_only=True)
        )
        return int(reply.header.revision)

    async def leader_endpoint(self) -> str | None:
        """``host:port`` of the configured endpoint whose member leads the cluster now, None
        when no answering member knows a leader (adapter extra: diagnostics and tests). Asks
        each endpoint's maintenance status; an endpoint that does not answer within
        ``failover_timeout`` is skipped."""
        self._connection()
        timeout = self._settings.failover_timeout
        for index, endpoint in enumerate(self._endpoints):
            conn = self._connection_at(index)
            try:
                status = await rpc.MaintenanceStub(conn.channel).Status(
                    rpc.StatusRequest(), timeout=timeout, metadata=conn.metadata
                )
            except _CLIENT_ERRORS:
                continue
            if status.leader and int(status.leader) == int(status.header.member_id):
                return endpoint.host_port()
        return None

    # -- writes

    async def put(self, key: str, value: bytes, *, lease: Lease | None = None) -> PutResult:
        request = rpc.PutRequest(
            key=self._ns.key(key), value=value, lease=lease.id if lease is not None else 0
        )
        reply = await self._unary(f"put {key!r}", lambda c: c.kv.Put, request, idempotent=False)
        return PutResult(revision=int(reply.header.revision))

    async def _delete_range(self, what: str, start: bytes, end: bytes) -> DeleteResult:
        request = rpc.DeleteRangeRequest(key=start, range_end=end)
        reply = await self._unary(what, lambda c: c.kv.DeleteRange, request, idempotent=False)
        return DeleteResult(revision=int(reply.header.revision), deleted=int(reply.deleted))

    async def delete(self, key: str) -> DeleteResult:
        return await self._delete_range(f"delete {key!r}", self._ns.key(key), b"")

    async def delete_prefix(self, prefix: str) -> DeleteResult:
        return await self._delete_range(f"delete prefix {prefix!r}", *self._ns.range(prefix))

    async def txn(self, txn: Txn) -> TxnResult:
        request = rpc.TxnRequest(
            compare=[_compare_message(c, self._ns) for c in txn.compare],
            success=[_request_op(op, self._ns) for op in txn.success],
            failure=[_request_op(op, self._ns) for op in txn.failure],
        )
        reply = await self._unary("txn", lambda c: c.kv.Txn, request, idempotent=False)
        reads = tuple(
            _key_value(r.response_range.kvs[0], self._ns) if r.response_range.kvs else None
            for r in reply.responses
            if r.WhichOneof("response") == "response_range"
        )
        return TxnResult(
            succeeded=bool(reply.succeeded), revision=int(reply.header.revision), reads=reads
        )

    async def compact(self, revision: int) -> None:
        """Forget history before ``revision`` (adapter extra: maintenance and tests). Waits
        until the compaction is applied, so watches from older revisions fail right after."""
        request = rpc.CompactionRequest(revision=revision, physical=True)
        await self._unary(f"compact {revision}", lambda c: c.kv.Compact, request, idempotent=True)

    # -- leases

    async def grant_lease(self, ttl: int) -> Lease:
        request = rpc.LeaseGrantRequest(TTL=ttl, ID=0)
        reply = await self._unary(
            "grant lease", lambda c: c.lease.LeaseGrant, request, idempotent=False
        )
        if reply.error:
            raise StoreError(f"grant lease: {reply.error}")
        return Lease(id=int(reply.ID), ttl=int(reply.TTL))

    async def refresh_lease(self, lease: Lease) -> int:
        async def refresh_once(conn: _Connection, rpc_timeout: float) -> Any:
            # One request on a LeaseKeepAlive stream: the stream ends after its reply.
            call = conn.lease.LeaseKeepAlive(
                iter((rpc.LeaseKeepAliveRequest(ID=lease.id),)),
                timeout=rpc_timeout,
                metadata=conn.metadata,
                wait_for_ready=True,
            )
            try:
                return await call.read()
            finally:
                call.cancel()

        reply = await self._call(f"refresh lease {lease.id}", refresh_once, idempotent=True)
        if reply is grpc.aio.EOF or int(reply.TTL) <= 0:
            raise LeaseNotFoundError(f"refresh lease {lease.id}: lease not found")
        return int(reply.TTL)

    async def revoke_lease(self, lease: Lease) -> None:
        request = rpc.LeaseRevokeRequest(ID=lease.id)
        await self._unary(
            f"revoke lease {lease.id}", lambda c: c.lease.LeaseRevoke, request, idempotent=True
        )

    # -- watch

    def watch(self, prefix: str, *, start_revision: int | None = None) -> WatchStream:
        async def open_source(start: int | None) -> tuple[EventSource, int]:
            return await self._open_watch(prefix, start)

        return ResumingWatch(
            open_source,
            description=f"{self._settings.prefix}{prefix}",
            start_revision=start_revision,
        )

    async def _open_watch(self, prefix: str, start: int | None) -> tuple[_EtcdEventSource, int]:
        what = f"watch {prefix!r}"
        key, end = self._ns.range(prefix)
        # Reading the prefix first renews or replaces the auth token and fails on a missing
        # permission, both of which aetcd's Watcher would otherwise wait on forever.
        reply = await self._range(what, rpc.RangeRequest(key=key, range_end=end, count_only=True))
        if start is None:
            start = int(reply.header.revision) + 1
        conn = self._connection()
        queue: asyncio.Queue[Any] = asyncio.Queue()
        watcher = aetcd.Watcher(
            conn.watch, timeout=self._settings.request_timeout, metadata=conn.metadata
        )
        try:
            await watcher.add_callback(
                key, queue.put, range_end=end, start_revision=start, prev_kv=True
            )
        except BaseException as exc:
            await watcher.shutdown()
            if isinstance(exc, _CLIENT_ERRORS):
                raise _translate(exc, what) from exc
            raise
        # aetcd tells its callbacks when the stream fails, not when the server ends it
        # cleanly; end the source then too, so the watch reopens instead of waiting forever.
        stream_task = getattr(watcher, "_request_handler", None)
        if isinstance(stream_task, asyncio.Task):
            stream_task.add_done_callback(lambda _task: queue.put_nowait(None))
        source = _EtcdEventSource(watcher, queue, self._ns, on_close=self._sources.discard)
        self._sources.add(source)
        return source, start


if TYPE_CHECKING:

    def _implements_store(store: EtcdStore) -> Store:
        return store
