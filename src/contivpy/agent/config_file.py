"""The node agent's configuration file (YAML), for `contivpy agent --config FILE`.

In: a YAML document (UTF-8); command-line overrides (node name, etcd endpoints). Out: an
``AgentFile`` (the AgentConfig, StoreSettings, and the process's HttpSettings and
HealthSettings), validated; ``load_agent_config`` returns only the first two. Any problem is a
one-line ConfigError naming the file and the setting (or the line, or the byte offset of text
that is not UTF-8).

The accepted keys (``accepted_keys``) are derived from the dataclasses they fill, so the
loader, its error messages and the test that compares them with deploy/agent.yaml cannot
drift apart:

    <AgentSettings>   nodeName, transport, ..., ipam.*, interfaces.*  (contivpy.settings)
    store.*           StoreSettings' fields, camelCase (endpoints, caFile, dialTimeout, ...);
                      no endpoints: an embedded etcd under paths.stateDir
    paths.*           AgentPaths' fields (stateDir, vppSocket, cniSocket, debugSocket)
    memifDevicePlugin.*   the memif device plugin (enabled, deviceCount, directories)
    http.*, health.*  the HTTP endpoint's address; when the agent counts as stuck
    services.*        Services as NAT44 (ServiceSettings: localEndpointWeight, nodePortRange,
                      natExternalTraffic)
    ksrPrefix, configureLinux   AgentConfig's fields a file may set

nodeName defaults to $NODE_NAME, then the host name. Optional values (store.caFile,
store.username, paths.debugSocket, ipam.defaultGateway, ...) may be empty or null: unset.
"""

from __future__ import annotations

import os
import socket
import types
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, Protocol, TypeVar, get_args, get_origin, get_type_hints

import yaml

from contivpy.agent.health import HealthSettings
from contivpy.agent.http_server import HttpSettings
from contivpy.agent.node_agent import AgentConfig, AgentPaths, MemifPluginConfig
from contivpy.controllers.services import ServiceSettings
from contivpy.errors import ConfigError
from contivpy.models.k8s_codec import DEFAULT_PREFIX
from contivpy.settings import camel_case, load_agent_settings, setting_keys
from contivpy.store.settings import StoreSettings

# Sections of the file that fill a dataclass of their own, one key per field.
_SECTIONS: dict[str, type[Any]] = {
    "store": StoreSettings,
    "paths": AgentPaths,
    "memifDevicePlugin": MemifPluginConfig,
    "http": HttpSettings,
    "health": HealthSettings,
    "services": ServiceSettings,
}
# The AgentConfig fields a file may set at the top level (the rest are for tests and tuning).
_AGENT_CONFIG_FIELDS = ("ksr_prefix", "configure_linux")
_DEFAULT_STATE_DIR = Path("/var/lib/contivpy")


def accepted_keys() -> list[str]:
    """Every key the file may hold, nested ones dotted (``store.caFile``)."""
    keys = setting_keys()
    for section, cls in _SECTIONS.items():
        keys += [f"{section}.{camel_case(spec.name)}" for spec in fields(cls)]
    return keys + [camel_case(name) for name in _AGENT_CONFIG_FIELDS]


@dataclass(frozen=True, slots=True)
class AgentFile:
    """Everything the file configures: the agent, its store, and the process around them."""

    agent: AgentConfig
    store: StoreSettings
    http: HttpSettings
    health: HealthSettings


def load_agent_config(
    path: Path | None, *, node_name: str = "", endpoints: tuple[str, ...] = ()
) -> tuple[AgentConfig, StoreSettings]:
    """Read the file (None: defaults only) and apply the overrides."""
    loaded = load_agent_file(path, node_name=node_name, endpoints=endpoints)
    return loaded.agent, loaded.store


def load_agent_file(
    path: Path | None, *, node_name: str = "", endpoints: tuple[str, ...] = ()
) -> AgentFile:
    """Read the file (None: defaults only) and apply the overrides; every section."""
    raw = _read(path) if path is not None else {}
    where = str(path) if path is not None else "defaults"
    try:
        return _load(raw, node_name, endpoints)
    except ConfigError as error:
        raise ConfigError(f"{where}: {error}") from error


def _read(path: Path) -> dict[str, Any]:
    try:
        data = path.read_bytes()
    except OSError as error:
        raise ConfigError(f"{path}: cannot read: {error.strerror or error}") from error
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise ConfigError(
            f"{path}: not UTF-8 text: byte 0x{data[error.start]:02x} at offset {error.start} "
            f"(line {line})"
        ) from error
    try:
        loaded = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise ConfigError(
            f"{path}{_yaml_where(error)}: not YAML: {_yaml_problem(error)}"
        ) from error
    if loaded is not None and not isinstance(loaded, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level")
    return dict(loaded or {})


def _yaml_where(error: yaml.YAMLError) -> str:
    mark = getattr(error, "problem_mark", None)
    return f":{mark.line + 1}:{mark.column + 1}" if mark is not None else ""


def _yaml_problem(error: yaml.YAMLError) -> str:
    problem = getattr(error, "problem", None)
    return str(problem) if problem else " ".join(str(error).split())


def _load(raw: Mapping[str, Any], node_name: str, endpoints: tuple[str, ...]) -> AgentFile:
    known = list(dict.fromkeys(key.split(".")[0] for key in accepted_keys()))
    for key in raw:
        if key not in known:
            raise ConfigError(f"{key}: unknown setting (known: {', '.join(known)})")
    extra = {*_SECTIONS, *(camel_case(name) for name in _AGENT_CONFIG_FIELDS)}
    agent_raw = {k: v for k, v in raw.items() if k not in extra}
    agent_raw["nodeName"] = (
        node_name
        or agent_raw.get("nodeName")
        or os.environ.get("NODE_NAME")
        or socket.gethostname()
    )
    settings = load_agent_settings(agent_raw)
    store_values = _section("store", raw.get("store"), StoreSettings)
    if endpoints:
        store_values["endpoints"] = endpoints
    store = StoreSettings(**store_values)
    path_values = {"state_dir": _DEFAULT_STATE_DIR}
    path_values.update(_section("paths", raw.get("paths"), AgentPaths, absolute=True))
    prefix = raw.get("ksrPrefix", DEFAULT_PREFIX)
    if not isinstance(prefix, str) or not prefix.endswith("/"):
        raise ConfigError("ksrPrefix: must be a string ending with '/'")
    linux = raw.get("configureLinux", True)
    if not isinstance(linux, bool):
        raise ConfigError("configureLinux: expected true or false")
    memif = MemifPluginConfig(
        **_section(
            "memifDevicePlugin", raw.get("memifDevicePlugin"), MemifPluginConfig, absolute=True
        )
    )
    services = _validated(
        "services", ServiceSettings(**_section("services", raw.get("services"), ServiceSettings))
    )
    config = AgentConfig(
        settings,
        AgentPaths(**path_values),
        ksr_prefix=prefix,
        configure_linux=linux,
        memif_plugin=memif,
        services=services,
    )
    http = _validated("http", HttpSettings(**_section("http", raw.get("http"), HttpSettings)))
    health = _validated(
        "health", HealthSettings(**_section("health", raw.get("health"), HealthSettings))
    )
    return AgentFile(config, store, http, health)


class _Validating(Protocol):
    def validate(self) -> list[tuple[str, str]]: ...


_V = TypeVar("_V", bound=_Validating)


def _validated(section: str, settings: _V) -> _V:
    """``settings`` if its values are good, else a ConfigError naming the first bad one."""
    for name, problem in settings.validate():
        raise ConfigError(f"{section}.{camel_case(name)}: {problem}")
    return settings


def _section(section: str, raw: Any, cls: type[Any], *, absolute: bool = False) -> dict[str, Any]:
    """The fields of ``cls`` a section sets, converted to their declared types."""
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{section}: expected a mapping")
    hints = get_type_hints(cls)
    by_key = {camel_case(spec.name): spec.name for spec in fields(cls)}
    values: dict[str, Any] = {}
    for key, value in raw.items():
        name = by_key.get(key)
        if name is None:
            raise ConfigError(f"{section}.{key}: unknown setting (known: {', '.join(by_key)})")
        values[name] = _convert(f"{section}.{key}", hints[name], value, absolute=absolute)
    return values


def _convert(name: str, hint: Any, value: Any, *, absolute: bool) -> Any:
    """``value`` as the type ``hint`` declares; an optional value may be null or empty."""
    options = get_args(hint) if isinstance(hint, types.UnionType) else (hint,)
    kind = next(option for option in options if option is not type(None))
    if type(None) in options and value in (None, ""):
        return None
    if kind is Path:
        if not isinstance(value, str) or not value:
            raise ConfigError(f"{name}: expected a path")
        if absolute and not value.startswith("/"):
            raise ConfigError(f"{name}: expected an absolute path")
        return Path(value)
    if get_origin(kind) is tuple:
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ConfigError(f"{name}: expected a list of strings")
        return tuple(value)
    if kind is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{name}: expected true or false")
        return value
    if kind is float and isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if kind is int and isinstance(value, int) and not isinstance(value, bool):
        return value
    if kind is str and isinstance(value, str):
        return value
    expected = {float: "a number", int: "an integer", str: "a string"}.get(kind, str(kind))
    raise ConfigError(f"{name}: expected {expected}")
