"""A pod's custom interfaces, as its ``contivpp.io/custom-if`` annotation asks for them.

In: the pod's annotations (only the ``contivpp.io`` ones are reflected), the name of its main
interface, the number of ``contivpp.io/memif`` devices the kubelet granted it, and the custom
networks that exist. Out: the custom interfaces (name, type, network), sorted by name as
Contiv sorts them, or a :class:`CustomIfError` naming the annotation, the bad entry and what
is wrong with it.

The grammar is Contiv's: a comma-separated list of ``<name>/<type>[/<network>]``, each part
whitespace-trimmed; type ``tap``, ``veth`` or ``memif``; network ``default`` when absent,
``stub`` for an interface without IP or routes, or a CustomNetwork by name. Every annotation
whose key starts with ``contivpp.io/custom-if`` counts (Contiv's rule), so a long list may be
split over ``contivpp.io/custom-if-1``, ``contivpp.io/custom-if-2``... Everything is checked
before anything is wired: empty parts, unknown types and networks, duplicate names (the main
interface's included), Linux's 15-character limit, memif without the resource or more memifs
than it grants.
"""

from __future__ import annotations

import enum
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass

from contivpy.deviceplugin.memif import RESOURCE_NAME
from contivpy.errors import PermanentError

CUSTOM_IF_ANNOTATION = "contivpp.io/custom-if"
MICROSERVICE_LABEL_ANNOTATION = "contivpp.io/microservice-label"

DEFAULT_NETWORK = "default"
STUB_NETWORK = "stub"
MAX_NAME = 15  # a Linux interface name (IFNAMSIZ - 1)


class CustomIfType(enum.Enum):
    """The kinds of custom interface a pod may ask for."""

    TAP = "tap"
    VETH = "veth"
    MEMIF = "memif"


@dataclass(frozen=True, slots=True, order=True)
class CustomInterface:
    """One custom interface of a pod."""

    name: str
    type: CustomIfType
    network: str = DEFAULT_NETWORK

    @property
    def addressed(self) -> bool:
        """Whether it gets an IP (a stub interface gets none)."""
        return self.network != STUB_NETWORK

    def __str__(self) -> str:
        return f"{self.name}/{self.type.value}/{self.network}"


class CustomIfError(PermanentError):
    """A custom-interface annotation the agent cannot honour."""

    def __init__(self, annotation: str, entry: str, reason: str) -> None:
        super().__init__(f"annotation {annotation}: entry {entry!r}: {reason}")
        self.annotation = annotation
        self.entry = entry
        self.reason = reason


class _AnyNetwork(Collection[str]):
    """Every network name: for reading entries without judging their network (the ADD
    does that, with the networks that exist)."""

    def __contains__(self, item: object) -> bool:
        return isinstance(item, str)

    def __iter__(self) -> Iterator[str]:
        return iter(())

    def __len__(self) -> int:
        return 0


_ANY_NETWORK = _AnyNetwork()


def microservice_label(annotations: Mapping[str, str]) -> str:
    """The pod's microservice label ("" when it has none)."""
    return annotations.get(MICROSERVICE_LABEL_ANNOTATION, "").strip()


def requests_memif(annotations: Mapping[str, str]) -> bool:
    """Whether an entry of the annotations asks for a memif (so the pod's ADD needs its memif
    grant). Entries that do not parse are left to the ADD, which refuses them."""
    for key, value in annotations.items():
        if not key.startswith(CUSTOM_IF_ANNOTATION):
            continue
        for entry in value.split(","):
            try:
                if _parse_entry(key, entry, _ANY_NETWORK, None).type is CustomIfType.MEMIF:
                    return True
            except CustomIfError:
                continue
    return False


def custom_interface_names(annotations: Mapping[str, str]) -> frozenset[str]:
    """The names of the custom interfaces the annotations ask for, leniently: entries that do
    not parse are left out (another node's pod, whose ADD judges them; a chain only needs to
    know which interfaces a pod has)."""
    names = set()
    for key, value in annotations.items():
        if key.startswith(CUSTOM_IF_ANNOTATION):
            for entry in value.split(","):
                try:
                    names.add(_parse_entry(key, entry, _ANY_NETWORK, None).name)
                except CustomIfError:
                    continue
    return frozenset(names)


def parse_custom_interfaces(
    annotations: Mapping[str, str],
    *,
    main_interface: str = "eth0",
    memifs_granted: int = 0,
    networks: Collection[str] = (),
    joinable: Collection[str] | None = None,
) -> tuple[CustomInterface, ...]:
    """The pod's custom interfaces, sorted by name (``networks``: the custom networks that
    exist besides ``default`` and ``stub``; ``joinable``: those of them a pod may join, None
    for all)."""
    found: list[tuple[str, str, CustomInterface]] = []
    for key in sorted(annotations):
        if key.startswith(CUSTOM_IF_ANNOTATION) and annotations[key].strip():
            for entry in annotations[key].split(","):
                found.append((key, entry, _parse_entry(key, entry, networks, joinable)))
    names = {main_interface: "the pod's main interface"}
    for key, entry, interface in found:
        if interface.name in names:
            raise CustomIfError(
                key, entry.strip(), f"name {interface.name!r} is taken by {names[interface.name]}"
            )
        names[interface.name] = f"entry {entry.strip()!r}"
    memifs = [(key, entry) for key, entry, i in found if i.type is CustomIfType.MEMIF]
    if memifs and memifs_granted == 0:
        key, entry = memifs[0]
        raise CustomIfError(
            key,
            entry.strip(),
            f"a memif needs the {RESOURCE_NAME} resource in the pod's resources.limits, "
            "and the pod was granted none",
        )
    if len(memifs) > memifs_granted:
        key, entry = memifs[memifs_granted]
        raise CustomIfError(
            key,
            entry.strip(),
            f"{len(memifs)} memif interfaces but {memifs_granted} {RESOURCE_NAME} "
            "device(s) granted",
        )
    return tuple(sorted(interface for _, _, interface in found))


def _parse_entry(
    key: str, entry: str, networks: Collection[str], joinable: Collection[str] | None
) -> CustomInterface:
    text = entry.strip()
    parts = [part.strip() for part in text.split("/")]
    if not text:
        raise CustomIfError(key, entry, "empty entry (two commas in a row, or a trailing one)")
    if len(parts) not in (2, 3):
        raise CustomIfError(key, text, "expected <name>/<type>[/<network>]")
    if any(not part for part in parts):
        raise CustomIfError(key, text, "empty part: expected <name>/<type>[/<network>]")
    name, kind = parts[0], parts[1]
    network = parts[2] if len(parts) == 3 else DEFAULT_NETWORK
    if len(name) > MAX_NAME:
        raise CustomIfError(
            key, text, f"name {name!r} is longer than {MAX_NAME} characters (a Linux name)"
        )
    if any(c.isspace() for c in name) or name in (".", ".."):
        raise CustomIfError(key, text, f"name {name!r} is not a valid interface name")
    try:
        interface_type = CustomIfType(kind)
    except ValueError:
        known = ", ".join(t.value for t in CustomIfType)
        raise CustomIfError(key, text, f"unknown type {kind!r} (known: {known})") from None
    custom_network = network not in (DEFAULT_NETWORK, STUB_NETWORK)
    if custom_network and network not in networks:
        raise CustomIfError(
            key,
            text,
            f"network {network!r} does not exist (known: {DEFAULT_NETWORK}, {STUB_NETWORK}"
            + "".join(f", {n}" for n in sorted(networks))
            + ")",
        )
    if custom_network and joinable is not None and network not in joinable:
        raise CustomIfError(
            key,
            text,
            f"CustomNetwork {network!r} exists, but pods cannot join it "
            f"(only {', '.join([DEFAULT_NETWORK, STUB_NETWORK, *sorted(joinable)])})",
        )
    return CustomInterface(name, interface_type, network)
