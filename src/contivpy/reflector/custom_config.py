"""A CustomConfiguration's items as vpp-agent keys and values. Pure.

In: one ``CustomConfiguration`` model (as reflected: ``spec.microservice`` and
``configItems[]{microservice, module, type, version, name, data}``, ``data`` a YAML text).
Out: ``Rendered``: for each valid item its etcd key
``<agent_prefix><microservice>/config/<module with / for .>/<version>/<type>/<name>`` and value
(vpp-agent's JSON, through ``contivpy.models.vnf_config``), and one problem per invalid item
naming the item's index and field. Invalid items are left out; the valid ones stand. Items
for a node's vswitch (the microservice is a node's name) are the node agent's: left out.

Rules (Contiv-VPP's, tightened where it passed bad data on silently): an item's microservice
defaults to ``spec.microservice``; its version to the model's; its name to what the value
names (an interface's ``name``, an xconnect's ``receive_interface``, a route's destination
...), and for a model keyed by one field a missing field is taken from the item's ``name``.
A given name must agree with the value. Unknown models are refused (Contiv passed them on as
raw data), so are bad YAML, values that do not fit the model, and a microservice whose
subtree is the reflector's own.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import yaml

from contivpy.models.k8s_codec import ConfigItem, CustomConfiguration
from contivpy.models.vnf_config import (
    CONFIG,
    SPECS,
    ModelId,
    VnfConfigError,
    decode_data,
    encode_value,
    microservice_label_problem,
    value_key,
)
from contivpy.models.vnf_fields import json_name


@dataclass(frozen=True, slots=True)
class Rendered:
    """What one CustomConfiguration asks for: etcd key -> (item index, value bytes), and the
    problems of the items left out."""

    values: dict[str, tuple[int, bytes]] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


class _YamlLoader(yaml.SafeLoader):
    """YAML as Kubernetes (and Go's yaml) reads it: ``02:00:00:00:00:01`` is a string, not a
    base-60 number as YAML 1.1 would have it (a MAC of digits became an integer)."""


_YamlLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:int"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_YamlLoader.add_implicit_resolver(
    "tag:yaml.org,2002:int",
    re.compile(r"^(?:[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+)$"),
    list("-+0123456789"),
)


def load_yaml(text: str) -> Any:
    """Parse one YAML document without YAML 1.1's base-60 integers (yaml.YAMLError if bad)."""
    return yaml.load(text, Loader=_YamlLoader)  # a SafeLoader subclass: safe


def render(
    config: CustomConfiguration,
    *,
    agent_prefix: str,
    reserved: tuple[str, ...] = (),
    nodes: frozenset[str] = frozenset(),
) -> Rendered:
    """The keys and values of ``config`` (see the module doc). ``reserved``: microservice
    labels whose subtree is not for configuration (the reflector's own); ``nodes``: node
    names, whose items the node agents apply themselves (left out here, not a problem)."""
    rendered = Rendered()
    for index, item in enumerate(config.config_items):
        where = f"configItems[{index}]"
        if (item.microservice or config.microservice) in nodes:
            continue
        try:
            key, value = _item(config, item, where, agent_prefix, reserved)
        except _ItemProblem as problem:
            rendered.problems.append(str(problem))
            continue
        if key in rendered.values:
            first = rendered.values[key][0]
            rendered.problems.append(f"{where}: configures {key} as configItems[{first}] does")
            continue
        rendered.values[key] = (index, value)
    return rendered


class _ItemProblem(Exception):
    pass


def _item(
    config: CustomConfiguration,
    item: ConfigItem,
    where: str,
    agent_prefix: str,
    reserved: tuple[str, ...],
) -> tuple[str, bytes]:
    microservice = item.microservice or config.microservice
    if not microservice:
        raise _ItemProblem(f"{where}.microservice: missing (and spec.microservice is empty)")
    problem = microservice_label_problem(microservice)
    if problem:
        raise _ItemProblem(f"{where}.microservice: {microservice!r} {problem}")
    if microservice in reserved:
        raise _ItemProblem(f"{where}.microservice: {microservice!r} is reserved")
    for name in ("module", "type"):
        if not getattr(item, name):
            raise _ItemProblem(f"{where}.{name}: missing")
    model = _model(item)
    if model is None:
        known = ", ".join(sorted(str(m) for m in SPECS))
        version = item.version or "(any version)"
        raise _ItemProblem(
            f"{where}: unknown model '{item.module} {version} {item.type}' (known: {known})"
        )
    try:
        data = load_yaml(item.data) if item.data.strip() else {}
    except yaml.YAMLError as error:
        raise _ItemProblem(f"{where}.data: not YAML: {error}".replace("\n", " ")) from error
    if not isinstance(data, dict):
        raise _ItemProblem(f"{where}.data: expected a mapping of fields, got {type(data).__name__}")
    name_field = SPECS[model].name_field
    if name_field and item.name and not {name_field, json_name(name_field)} & data.keys():
        data[name_field] = item.name
    try:
        value = decode_data(model, data, where=f"{where}.data")
        key = value_key(value)
    except VnfConfigError as error:
        raise _ItemProblem(str(error)) from error
    name = key[len(model.prefix) :]
    if item.name and item.name != name:
        raise _ItemProblem(f"{where}.name: {item.name!r} does not match the value's {name!r}")
    assert key.startswith(CONFIG)
    return f"{agent_prefix}{microservice}/{key}", encode_value(value)


def _model(item: ConfigItem) -> ModelId | None:
    for model in SPECS:
        if (model.module, model.type) == (item.module, item.type) and item.version in (
            "",
            model.version,
        ):
            return model
    return None
