"""The node agent's configuration file (YAML), for `contivpy agent --config FILE`.

In: a YAML document; command-line overrides (node name, etcd endpoints). Out: an AgentConfig
and StoreSettings, validated; any problem is a ConfigError naming the file and the setting.

    nodeName: node1                 # defaults to $NODE_NAME, then the host name
    transport: vxlan                # and every other AgentSettings key (contiv.conf names):
    ipam: {podSubnetCIDR: 10.1.0.0/16, ...}
    interfaces: {useTapInterfaces: true, mtuSize: 1450, mainHostInterface: eth0, ...}
    store: {endpoints: ["127.0.0.1:2379"], prefix: "", caFile: ..., certFile: ..., keyFile: ...,
            username: ..., password: ...}   # no endpoints: an embedded etcd
    ksrPrefix: /vnf-agent/contiv-ksr/
    paths: {stateDir: /var/lib/contivpy, vppSocket: /run/vpp/api.sock,
            cniSocket: /run/contivpy/cni.sock, debugSocket: /run/contivpy/debug.sock}
    configureLinux: true
"""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from contivpy.agent.node_agent import AgentConfig, AgentPaths
from contivpy.errors import ConfigError
from contivpy.models.k8s_codec import DEFAULT_PREFIX
from contivpy.settings import load_agent_settings
from contivpy.store.settings import StoreSettings

_AGENT_ONLY = ("store", "ksrPrefix", "paths", "configureLinux")
_STORE_KEYS = {
    "endpoints": "endpoints",
    "prefix": "prefix",
    "caFile": "ca_file",
    "certFile": "cert_file",
    "keyFile": "key_file",
    "username": "username",
    "password": "password",
    "dialTimeout": "dial_timeout",
    "requestTimeout": "request_timeout",
}
_PATH_KEYS = {
    "stateDir": "state_dir",
    "vppSocket": "vpp_socket",
    "cniSocket": "cni_socket",
    "debugSocket": "debug_socket",
}


def load_agent_config(
    path: Path | None, *, node_name: str = "", endpoints: tuple[str, ...] = ()
) -> tuple[AgentConfig, StoreSettings]:
    """Read the file (None: defaults only) and apply the overrides."""
    raw: dict[str, Any] = {}
    if path is not None:
        try:
            loaded = yaml.safe_load(path.read_text())
        except (OSError, yaml.YAMLError) as error:
            raise ConfigError(f"{path}: cannot read: {error}") from error
        if loaded is not None and not isinstance(loaded, dict):
            raise ConfigError(f"{path}: expected a mapping at the top level")
        raw = dict(loaded or {})
    where = str(path) if path is not None else "defaults"
    agent_raw = {k: v for k, v in raw.items() if k not in _AGENT_ONLY}
    agent_raw["nodeName"] = (
        node_name
        or agent_raw.get("nodeName")
        or os.environ.get("NODE_NAME")
        or socket.gethostname()
    )
    try:
        settings = load_agent_settings(agent_raw)
        store = _store(raw.get("store") or {}, endpoints)
        paths = _paths(raw.get("paths") or {})
    except ConfigError as error:
        raise ConfigError(f"{where}: {error}") from error
    prefix = raw.get("ksrPrefix", DEFAULT_PREFIX)
    if not isinstance(prefix, str) or not prefix.endswith("/"):
        raise ConfigError(f"{where}: ksrPrefix: must be a string ending with '/'")
    linux = raw.get("configureLinux", True)
    if not isinstance(linux, bool):
        raise ConfigError(f"{where}: configureLinux: expected true or false")
    return AgentConfig(settings, paths, ksr_prefix=prefix, configure_linux=linux), store


def _store(raw: Mapping[str, Any], endpoints: tuple[str, ...]) -> StoreSettings:
    if not isinstance(raw, Mapping):
        raise ConfigError("store: expected a mapping")
    values: dict[str, Any] = {}
    for key, value in raw.items():
        name = _STORE_KEYS.get(key)
        if name is None:
            raise ConfigError(f"store.{key}: unknown setting (known: {', '.join(_STORE_KEYS)})")
        if name in ("ca_file", "cert_file", "key_file") and value is not None:
            value = Path(value)
        if name == "endpoints":
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise ConfigError("store.endpoints: expected a list of addresses")
            value = tuple(value)
        values[name] = value
    if endpoints:
        values["endpoints"] = endpoints
    return StoreSettings(**values)


def _paths(raw: Mapping[str, Any]) -> AgentPaths:
    if not isinstance(raw, Mapping):
        raise ConfigError("paths: expected a mapping")
    values: dict[str, Any] = {"state_dir": Path("/var/lib/contivpy")}
    for key, value in raw.items():
        name = _PATH_KEYS.get(key)
        if name is None:
            raise ConfigError(f"paths.{key}: unknown setting (known: {', '.join(_PATH_KEYS)})")
        if not isinstance(value, str) or not value.startswith("/"):
            raise ConfigError(f"paths.{key}: expected an absolute path")
        values[name] = Path(value)
    return AgentPaths(**values)
