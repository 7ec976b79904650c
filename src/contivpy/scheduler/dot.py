"""The graph as Graphviz DOT.

In: the graph's nodes. Out: DOT text with one node per key, filled by state (colours follow
the anchor's), solid edges for exact dependencies, dashed for any-of, dotted from a base to
its derived values. Keys are labels; states and pending/invalid/error reasons are tooltips.
"""

from __future__ import annotations

from collections.abc import Iterable

from contivpy.scheduler.api import ValueState
from contivpy.scheduler.graph import Graph, Node

_COLOURS = {
    ValueState.NONEXISTENT: "white",
    ValueState.CONFIGURED: "white",
    ValueState.PENDING: "pink",
    ValueState.INVALID: "maroon",
    ValueState.FAILED: "orangered",
    ValueState.RETRYING: "deeppink",
    ValueState.OBTAINED: "lightcyan",
    ValueState.DISCOVERED: "lime",
    ValueState.MISSING: "dimgrey",
    ValueState.UNREADABLE: "orange",
}


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def to_dot(graph: Graph, prefix: str = "") -> str:
    """DOT text of the nodes whose key starts with prefix (and edges among them)."""
    nodes: Iterable[Node] = (n for k, n in sorted(graph.nodes.items()) if k.startswith(prefix))
    lines = ["digraph contivpy {", "  rankdir=LR;", '  node [shape=box, style="filled"];']
    shown = {n.key: n for n in nodes}
    for key, node in shown.items():
        colour = _COLOURS[node.state]
        if node.base is not None and node.state is ValueState.CONFIGURED:
            colour = "lightyellow"
        tip = node.state.value + (f": {node.details}" if node.details else "")
        style = (
            '"filled,dashed"' if node.state in (ValueState.PENDING, ValueState.MISSING) else None
        )
        attrs = [f"fillcolor={colour}", f"tooltip={_quote(tip)}"]
        if style:
            attrs.append(f"style={style}")
        lines.append(f"  {_quote(key)} [{', '.join(attrs)}];")
    for key, node in shown.items():
        for dep in node.deps or node.applied_deps:
            if dep.key is not None:
                if dep.key in shown:
                    lines.append(
                        f"  {_quote(key)} -> {_quote(dep.key)} [label={_quote(dep.label)}];"
                    )
                continue
            for prefix_ in dep.any_of:
                for target in graph.keys_with_prefix(prefix_):
                    if target in shown and (dep.selector is None or dep.selector(target)):
                        lines.append(
                            f"  {_quote(key)} -> {_quote(target)} "
                            f"[label={_quote(dep.label)}, style=dashed];"
                        )
        for child in graph.children(key):
            if child in shown:
                lines.append(f"  {_quote(key)} -> {_quote(child)} [style=dotted, arrowhead=none];")
    lines.append("}")
    return "\n".join(lines) + "\n"
