"""A ServiceFunctionChain's spec, checked: the chain's elements, or every problem with it.

In: one reflected ``ServiceFunctionChain`` model. Out: a :class:`Chain` (its elements in
order: which pods or external interface, and the interface a packet comes in on and leaves
by) and the problems that stop it from being rendered, each naming the element (index and
name) and the field.

Rules: a chain has at least two elements (one element connects nothing); an element has a
type (``Pod`` or ``ExternalInterface``); a Pod element has a non-empty ``podSelector``; an
ExternalInterface element names the ExternalInterface in ``interface``; an element names its
interface either as ``interface`` or as both ``inputInterface`` and ``outputInterface``. The
first element's input and the last one's output are never used. In a bidirectional chain a
middle element needs two distinct interfaces: one interface cannot be cross-connected to both
neighbours (a cross-connect sends what one interface receives to exactly one other).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from contivpy.models.k8s_codec import ServiceFunction, ServiceFunctionChain, ServiceFunctionType


class ElementKind(enum.Enum):
    """What an element of a chain is."""

    POD = "Pod"
    EXTERNAL_INTERFACE = "ExternalInterface"


@dataclass(frozen=True, slots=True)
class Element:
    """One service function of a chain: which instances may play it, through which
    interfaces (a pod's custom interface names, or the ExternalInterface's name in
    ``input`` == ``output``)."""

    index: int
    name: str
    kind: ElementKind
    selector: tuple[tuple[str, str], ...]  # a Pod element's podSelector, sorted
    input: str
    output: str

    @property
    def title(self) -> str:
        """How problems and statuses name it."""
        return f"chain[{self.index}]" + (f" ({self.name!r})" if self.name else "")

    def selects(self, labels: dict[str, str]) -> bool:
        """Whether a pod with these labels plays this element (its selector matches)."""
        return all(labels.get(key) == value for key, value in self.selector)


@dataclass(frozen=True, slots=True)
class Chain:
    """A chain as rendered: its identity, direction and elements."""

    namespace: str
    name: str
    unidirectional: bool
    network: str
    elements: tuple[Element, ...]

    @property
    def id(self) -> str:
        """``<namespace>/<name>`` (just the name for a cluster-scoped chain)."""
        return f"{self.namespace}/{self.name}" if self.namespace else self.name

    @property
    def label(self) -> str:
        """The chain's part of its tunnels' names and VNI labels (``sfc-<label>-<hop>``): its
        name in ``default`` (or cluster-scoped) when the name has no dot, else
        ``<namespace>.<name>``. Unambiguous: a namespace has no dot, so a label with one is
        split at its first dot (``default/prod.x`` is ``default.prod.x``, ``prod/x`` is
        ``prod.x``)."""
        if self.namespace in ("", "default") and "." not in self.name:
            return self.name
        return f"{self.namespace or 'default'}.{self.name}"


def chain_of(model: ServiceFunctionChain) -> tuple[Chain, tuple[str, ...]]:
    """The chain a model asks for, and its problems (empty: it can be rendered)."""
    problems: list[str] = []
    elements: list[Element] = []
    count = len(model.chain)
    if count < 2:
        problems.append(
            f"spec.chain has {count} element(s): a chain connects at least two service functions"
        )
    for index, function in enumerate(model.chain):
        where = f"spec.chain[{index}]" + (f" ({function.name!r})" if function.name else "")
        middle = 0 < index < count - 1
        element, found = _element(index, function, where, middle and not model.unidirectional)
        problems.extend(found)
        if element is not None:
            elements.append(element)
    chain = Chain(model.namespace, model.name, model.unidirectional, model.network, tuple(elements))
    return chain, tuple(problems)


def _element(
    index: int, function: ServiceFunction, where: str, needs_two: bool
) -> tuple[Element | None, list[str]]:
    problems: list[str] = []
    kind = {
        ServiceFunctionType.POD: ElementKind.POD,
        ServiceFunctionType.EXTERNAL_INTERFACE: ElementKind.EXTERNAL_INTERFACE,
    }.get(function.type)
    if kind is None:
        problems.append(f"{where}.type: missing or unknown (expected Pod or ExternalInterface)")
    selector = tuple(sorted(function.pod_selector.items()))
    if kind is ElementKind.POD and not selector:
        problems.append(f"{where}.podSelector: a Pod element needs a selector")
    single = function.interface.strip()
    given_in = function.input_interface.strip()
    given_out = function.output_interface.strip()
    if single and (given_in or given_out):
        problems.append(
            f"{where}: interface and inputInterface/outputInterface are alternatives, not both"
        )
    elif not single and not (given_in and given_out):
        missing = "outputInterface" if given_in else "inputInterface" if given_out else ""
        problems.append(
            f"{where}.{missing}: missing (give both inputInterface and outputInterface)"
            if missing
            else f"{where}.interface: missing (give interface, or inputInterface and "
            "outputInterface)"
        )
    elif kind is ElementKind.EXTERNAL_INTERFACE and not single:
        problems.append(
            f"{where}.interface: an ExternalInterface element names its ExternalInterface "
            "in interface"
        )
    elif needs_two and (single or given_in == given_out):
        # inputInterface == outputInterface is still one interface
        problems.append(
            f"{where}: a middle element of a bidirectional chain needs inputInterface and "
            f"outputInterface ({single or given_in!r} cannot be cross-connected to both "
            "neighbours)"
        )
    if problems or kind is None:
        return None, problems
    return (
        Element(
            index,
            function.name,
            kind,
            selector,
            single or given_in,
            single or given_out,
        ),
        problems,
    )
