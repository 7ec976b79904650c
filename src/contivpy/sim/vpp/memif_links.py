"""memif connections between the simulated VPPs of one process.

In: the VPPs that run (``attach`` when a simulator starts, ``detach`` when it stops or
restarts) and word of every memif change in them (``memif_changed``, which ``VppState`` calls
when a memif is created, deleted or switched admin up or down). Out: connected memifs, on
both ends: ``MemifInfo.connected`` (the link is up), the sizes the connection runs with
(``MemifInfo.run``), the peer's names and the reasons a connection ended or was refused; link
events on both VPPs (a VPP other than the one whose request caused the change is told through
the ``notify`` callback it attached with, so its event subscribers hear at once); and
``peer_of``, the other end, for the packet walk (``forwarding.Fabric``).

Endpoints meet at a socket file, by its host path (``VppState.memif_path``: the socket's file
name seen through the VPP's mounts, as a CNF pod's ``/run/vpp/memif.sock`` is the vswitch's
``/var/run/contiv/memif/<dir>/memif.sock``). The rules are VPP 26.06's memif plugin's:

- a master listens on its socket file from its creation, whatever its admin state; a slave
  connects only while admin up (VPP's memif process skips admin-down slaves) and keeps trying
  (VPP every 3 s; here at every later memif change in any VPP of the process);
- one VPP answers on a path: the one that started listening last (a new listener replaces
  the socket file; the older one keeps its connections but is reached no more). A VPP stops
  listening when its last master on the path goes;
- the listener matches the slave to its master of the same id, and refuses, leaving both
  down: no such master ("unmatched interface id"), a master that is already connected
  ("already connected"), another mode ("mode mismatch"), a master with a secret and a slave
  without ("secret required") or with another one ("incorrect secret"). A master without a
  secret takes any slave. The slave records the refusal as its remote-disc-reason (the
  master, for a secret, as its local one), never the secrets themselves;
- connected: both links up, and they stay up through admin down (VPP's admin-down handler
  only clears a flag; no packet passes an admin-down interface, which the walk checks). The
  slave's run sizes are its own (ring capped at 2^14); the master's ring and buffer sizes read
  1 and 0, its queues follow the slave's rings;
- a deleted memif: its peer disconnects ("interface deleted" from the peer, "disconnect
  received" locally); a VPP that stops: its peers disconnect ("connection fd error"). A slave
  keeps the run sizes of its last connection, as VPP does.

Only VPPs of this process meet, on one event loop: the registry is this module's
``MEMIF_LINKS`` (or one a test makes). Simulators in other processes (``contivpy vppsim``)
never connect their memifs to these; the control API's ``memif_peer`` plays a peer there.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from contivpy.sim.vpp.model import Interface, Kind, MemifInfo, MemifRun
from contivpy.sim.vpp.state import VppState

#: what a VPP 26.06 calls itself in the memif hello and init messages
REMOTE_NAME = "VPP 26.06-release"
#: MEMIF_MAX_LOG2_RING_SIZE: the largest ring a master offers
MAX_LOG2_RING_SIZE = 14

#: one end of a link: (the VPP's pid, the memif's sw_if_index)
_End = tuple[int, int]


@dataclass
class _Vpp:
    """A running VPP: its state (weakly: one never stopped must not be kept alive) and how
    to make it publish its interface events."""

    state: weakref.ReferenceType[VppState]
    notify: Callable[[], None] | None


@dataclass(frozen=True)
class _Link:
    """This end of a connection: the peer, this end's memif (to tell a new memif at a reused
    sw_if_index from it) and the path it was made on."""

    peer: _End
    info: MemifInfo
    path: str


def negotiate(slave: MemifInfo) -> tuple[MemifRun, MemifRun]:
    """The run sizes of a connection: (the slave's, the master's)."""
    ring = min(slave.ring_size, 1 << MAX_LOG2_RING_SIZE)
    rings = slave.ring_size
    on_slave = MemifRun(ring, slave.buffer_size, slave.rx_queues, slave.tx_queues, rings)
    on_master = MemifRun(1, 0, slave.tx_queues, slave.rx_queues, rings)
    return on_slave, on_master


def refusal(master: MemifInfo, slave: MemifInfo) -> str | None:
    """Why the master's listener turns the slave away (VPP's words), or None."""
    if master.connected:
        return "already connected"
    if master.mode != slave.mode:
        return "mode mismatch"
    if master.secret:
        if not slave.secret:
            return "secret required"
        if slave.secret != master.secret:
            return "incorrect secret"
    return None


def _memifs(state: VppState) -> Iterator[tuple[Interface, MemifInfo]]:
    for iface in state.of_kind(Kind.MEMIF):
        if iface.memif is not None:
            yield iface, iface.memif


class MemifLinks:
    """The memif endpoints of the running VPPs of one process, and who is connected."""

    def __init__(self) -> None:
        #: running VPPs by pid, in the order they started
        self._vpps: dict[int, _Vpp] = {}
        #: both ends of every connection
        self._links: dict[_End, _Link] = {}
        #: (pid, path) of every VPP listening on a path, as of the last settle
        self._listening: set[tuple[int, str]] = set()
        #: path -> the pid of the VPP that answers there (listened last)
        self._owner: dict[str, int] = {}

    # -- VPPs come and go ---------------------------------------------------------------

    def attach(self, state: VppState, notify: Callable[[], None] | None = None) -> None:
        """A VPP runs: its memifs may connect. ``notify`` publishes its interface events."""
        self._vpps[state.pid] = _Vpp(weakref.ref(state), notify)
        state.memif_links = self
        self._settle(None)

    def detach(self, state: VppState) -> None:
        """A VPP stopped: its peers see their connections fail; its own memifs are down."""
        if self._vpps.pop(state.pid, None) is None:
            return
        state.memif_links = None
        touched: dict[int, VppState] = {}
        for end, link in list(self._links.items()):
            if end[0] == state.pid:
                self._links.pop(end, None)
                link.info.connected = False
                link.info.remote_name = link.info.remote_interface = ""
                peer_link = self._links.pop(link.peer, None)
                if peer_link is not None:
                    self._drop_end(link.peer, peer_link.info, "connection fd error", "", touched)
        self._settle(None, touched)

    def running(self) -> list[VppState]:
        """The running VPPs, in the order they started."""
        states = (vpp.state() for vpp in self._vpps.values())
        return [s for s in states if s is not None]

    # -- changes ------------------------------------------------------------------------

    def memif_changed(self, state: VppState) -> None:
        """A memif of ``state`` changed: connect and disconnect what that decides. The
        other VPPs affected are told at once; ``state`` publishes its own events when it
        answers the request that caused the change."""
        self._settle(state)

    def disconnect(self, state: VppState, iface: Interface) -> None:
        """Cut the connection of ``iface`` (the control API's memif_peer off)."""
        link = self._links.pop((state.pid, iface.sw_if_index), None)
        if link is None:
            return
        peer_link = self._links.pop(link.peer, None)
        touched: dict[int, VppState] = {}
        self._drop_end((state.pid, iface.sw_if_index), link.info, "", "", touched)
        if peer_link is not None:
            self._drop_end(link.peer, peer_link.info, "disconnect received", "", touched)
        self._notify(touched, state)

    def peer_of(self, state: VppState, iface: Interface) -> tuple[VppState, Interface] | None:
        """The simulated VPP and memif ``iface`` is connected to (None: not connected, or
        connected to a peer outside the simulators, such as the control API's)."""
        link = self._links.get((state.pid, iface.sw_if_index))
        if link is None or iface.memif is not link.info:
            return None
        found = self._end(link.peer)
        if found is None:
            return None
        peer_state, peer_iface, _ = found
        return peer_state, peer_iface

    def path_of(self, state: VppState, iface: Interface) -> str:
        """The host path the memif connected on ("" when not connected)."""
        link = self._links.get((state.pid, iface.sw_if_index))
        return "" if link is None else link.path

    # -- the rules ----------------------------------------------------------------------

    def _end(self, end: _End) -> tuple[VppState, Interface, MemifInfo] | None:
        vpp = self._vpps.get(end[0])
        state = None if vpp is None else vpp.state()
        if state is None:
            return None
        iface = state.interfaces.get(end[1])
        if iface is None or iface.memif is None:
            return None
        return state, iface, iface.memif

    def _settle(
        self, initiator: VppState | None, touched: dict[int, VppState] | None = None
    ) -> None:
        touched = {} if touched is None else touched
        for pid in [pid for pid, vpp in self._vpps.items() if vpp.state() is None]:
            del self._vpps[pid]
        self._check_links(touched)
        self._update_listeners()
        for state in self.running():
            for iface, info in _memifs(state):
                if info.is_slave and iface.admin_up and not info.connected:
                    self._try_connect(state, iface, info, touched)
        self._notify(touched, initiator)

    def _check_links(self, touched: dict[int, VppState]) -> None:
        """Drop connections whose end went (a deleted memif, a stopped VPP) or whose socket
        file is no longer the same for both ends."""
        for end, link in list(self._links.items()):
            peer_link = self._links.get(link.peer)
            if end not in self._links or peer_link is None:
                continue  # already dropped from the other side
            here_ok = self._holds(end, link)
            there_ok = self._holds(link.peer, peer_link)
            if here_ok and there_ok:
                continue
            del self._links[end], self._links[link.peer]
            if here_ok:
                self._drop_end(end, link.info, "disconnect received", "interface deleted", touched)
            elif there_ok:
                self._drop_end(
                    link.peer, peer_link.info, "disconnect received", "interface deleted", touched
                )

    def _holds(self, end: _End, link: _Link) -> bool:
        """Whether ``end`` is still the memif the link was made with, on the same path."""
        found = self._end(end)
        return (
            found is not None
            and found[2] is link.info
            and found[0].memif_path(link.info) == link.path
        )

    def _update_listeners(self) -> None:
        listening = {
            (state.pid, state.memif_path(info))
            for state in self.running()
            for _, info in _memifs(state)
            if not info.is_slave
        }
        for pid, path in sorted(self._listening - listening):
            if self._owner.get(path) == pid:
                del self._owner[path]
        for pid, path in sorted(listening - self._listening):
            self._owner[path] = pid  # binds anew, replacing the socket file
        self._listening = listening

    def _try_connect(
        self, state: VppState, iface: Interface, slave: MemifInfo, touched: dict[int, VppState]
    ) -> None:
        path = state.memif_path(slave)
        owner = self._owner.get(path)
        vpp = None if owner is None else self._vpps.get(owner)
        listener = None if vpp is None else vpp.state()
        if listener is None:
            return  # nothing listens there: the connect fails, no reason recorded
        found = next(
            (
                (m_iface, m_info)
                for m_iface, m_info in _memifs(listener)
                if not m_info.is_slave
                and m_info.id == slave.id
                and listener.memif_path(m_info) == path
            ),
            None,
        )
        if found is None:
            slave.remote_disc_reason = "unmatched interface id"
            return
        m_iface, master = found
        reason = refusal(master, slave)
        if reason is not None:
            slave.remote_disc_reason = reason
            if reason in ("secret required", "incorrect secret"):
                master.local_disc_reason = reason
            return
        on_slave, on_master = negotiate(slave)
        for end_state, end_iface, info, run, peer in (
            (state, iface, slave, on_slave, m_iface),
            (listener, m_iface, master, on_master, iface),
        ):
            info.run = run
            info.remote_name = REMOTE_NAME
            info.remote_interface = peer.name
            info.local_disc_reason = info.remote_disc_reason = ""
            end_state.set_memif_connected(end_iface, True)
            touched[end_state.pid] = end_state
        slave_end, master_end = (state.pid, iface.sw_if_index), (listener.pid, m_iface.sw_if_index)
        self._links[slave_end] = _Link(master_end, slave, path)
        self._links[master_end] = _Link(slave_end, master, path)

    def _drop_end(
        self, end: _End, info: MemifInfo, local: str, remote: str, touched: dict[int, VppState]
    ) -> None:
        """The connection of memif ``info`` at ``end`` is gone: its link goes down (with an
        event), and it records why (``local``, and ``remote`` as the peer said)."""
        found = self._end(end)
        if found is None or found[2] is not info:
            return
        state, iface, info = found
        info.remote_name = info.remote_interface = ""
        info.local_disc_reason, info.remote_disc_reason = local, remote
        state.set_memif_connected(iface, False)
        touched[state.pid] = state

    def _notify(self, touched: dict[int, VppState], initiator: VppState | None) -> None:
        for pid, state in touched.items():
            vpp = self._vpps.get(pid)
            if state is not initiator and vpp is not None and vpp.notify is not None:
                vpp.notify()


#: the memif links of this process: every simulator joins them when it starts
MEMIF_LINKS = MemifLinks()
