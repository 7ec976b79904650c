"""The agent's configuration file: defaults, overrides, and errors naming the setting."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from contivpy.agent.config_file import accepted_keys, load_agent_config, load_agent_file
from contivpy.errors import ConfigError

EXAMPLE = Path(__file__).resolve().parents[2] / "deploy" / "agent.yaml"
CONTIVPY = str(Path(sys.executable).with_name("contivpy"))


def test_the_shipped_example_loads() -> None:
    config, store = load_agent_config(EXAMPLE, node_name="n7")
    assert config.settings.node_name == "n7"
    assert config.paths.vpp_socket == Path("/run/vpp/api.sock")
    assert store.endpoints == ("127.0.0.1:12379",)


def test_overrides_and_errors(tmp_path: Path) -> None:
    path = tmp_path / "agent.yaml"
    path.write_text("nodeName: a\nipam: {podSubnetCIDR: 10.5.0.0/16}\nstore: {prefix: /x/}\n")
    config, store = load_agent_config(path, endpoints=("10.0.0.1:2379",))
    assert str(config.settings.ipam.pod_subnet_cidr) == "10.5.0.0/16"
    assert store.endpoints == ("10.0.0.1:2379",)
    path.write_text("nodeName: a\npaths: {vppSocket: relative.sock}\n")
    with pytest.raises(ConfigError, match=r"agent\.yaml: paths\.vppSocket: expected an absolute"):
        load_agent_config(path)
    path.write_text("nodeName: a\nstore: {endpoint: x}\n")
    with pytest.raises(ConfigError, match=r"store\.endpoint: unknown setting"):
        load_agent_config(path)
    path.write_text("- not a mapping\n")
    with pytest.raises(ConfigError, match="mapping"):
        load_agent_config(path)


def test_the_compose_config_loads() -> None:
    config, store = load_agent_config(EXAMPLE.with_name("agent-compose.yaml"), node_name="n")
    assert not config.configure_linux
    assert store.endpoints == ("etcd:2379",)


def _dotted(mapping: dict[str, Any], prefix: str = "") -> set[str]:
    keys: set[str] = set()
    for key, value in mapping.items():
        # store and paths hold settings of their own; so do ipam and interfaces.
        if isinstance(value, dict):
            keys |= _dotted(value, f"{prefix}{key}.")
        else:
            keys.add(prefix + key)
    return keys


def test_the_shipped_example_holds_every_accepted_key_and_no_other() -> None:
    shipped = _dotted(yaml.safe_load(EXAMPLE.read_text()))
    accepted = set(accepted_keys())
    assert accepted - shipped == set(), "keys the agent accepts but deploy/agent.yaml omits"
    assert shipped - accepted == set(), "keys in deploy/agent.yaml the agent does not accept"
    for key in ("ipam.defaultGateway", "store.caFile", "store.username", "paths.debugSocket"):
        assert key in accepted
    config, store = load_agent_config(EXAMPLE, node_name="n")  # and it loads cleanly
    assert config.settings.ipam.default_gateway is None
    assert store.ca_file is None
    assert store.username is None
    assert store.password is None


def _agent(config: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [CONTIVPY, "agent", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_bad_files_are_one_line_errors_through_the_command(tmp_path: Path) -> None:
    path = tmp_path / "agent.yaml"
    path.write_bytes(b"nodeName: a\nipam: {podSubnetCIDR: \xff}\n")
    done = _agent(path)
    output = done.stdout + done.stderr
    assert done.returncode == 2, output
    assert "Traceback" not in output
    assert f"{path}: not UTF-8 text: byte 0xff at offset 34 (line 2)" in output
    assert len(output.strip().splitlines()) == 1, output

    path.write_text("nodeName: a\nstorage: {}\n")
    done = _agent(path)
    output = done.stdout + done.stderr
    assert done.returncode == 2, output
    assert f"{path}: storage: unknown setting (known: " in output
    known = output.split("(known: ")[1].split(")")[0].split(", ")
    assert known == list(dict.fromkeys(key.split(".")[0] for key in accepted_keys()))
    assert {"store", "paths", "ksrPrefix", "configureLinux", "ipam", "nodeName"} <= set(known)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("nodeName: a\nipam: {x: [1\n", r"agent\.yaml:3:1: not YAML: expected ','"),
        ("store: {dialTimeout: soon}\n", r"agent\.yaml: store\.dialTimeout: expected a number"),
        ("store: {endpoints: x}\n", r"store\.endpoints: expected a list of strings"),
        ("store: {listPageSize: true}\n", r"store\.listPageSize: expected an integer"),
        ("store: {caFile: 5}\n", r"store\.caFile: expected a path"),
        (
            "paths: {stateDir: /s, pidFile: /p}\n",
            r"paths\.pidFile: unknown setting "
            r"\(known: stateDir, vppSocket, cniSocket, debugSocket\)",
        ),
        (
            "ipam: {gateway: 10.0.0.1}\n",
            r"ipam\.gateway: unknown setting \(known: .*defaultGateway",
        ),
        ("http: {address: localhost}\n", r"http\.address: expected host:port"),
        ("http: {address: '::1:9191'}\n", r"http\.address: an IPv6 host goes in brackets"),
        ("http: {address: '127.0.0.1:99999'}\n", r"http\.address: port '99999' is not a"),
        ("http: {address: 9191}\n", r"http\.address: expected a string"),
        ("health: {eventStuckAfter: 0}\n", r"health\.eventStuckAfter: must be more than 0"),
        ("health: {etcdCheckInterval: -1}\n", r"health\.etcdCheckInterval: must be more"),
    ],
)
def test_each_bad_value_is_named(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "agent.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message) as raised:
        load_agent_config(path, node_name="n")
    assert "\n" not in str(raised.value)


def test_optional_values_may_be_set_or_empty(tmp_path: Path) -> None:
    path = tmp_path / "agent.yaml"
    path.write_text(
        "ipam: {defaultGateway: 192.168.16.254}\n"
        "store: {caFile: ca.pem, username: u, password: p, dialTimeout: 2}\n"
        "paths: {debugSocket: ''}\n"
    )
    config, store = load_agent_config(path, node_name="n")
    assert str(config.settings.ipam.default_gateway) == "192.168.16.254"
    assert store.ca_file == Path("ca.pem")
    assert store.uses_tls
    assert store.uses_auth
    assert store.dial_timeout == 2.0
    assert config.paths.debug_socket is None


def test_the_http_endpoint_is_configured_or_disabled(tmp_path: Path) -> None:
    path = tmp_path / "agent.yaml"
    assert load_agent_file(EXAMPLE, node_name="n").http.address == "127.0.0.1:9999"
    path.write_text("http: {address: '[::1]:0'}\nhealth: {eventStuckAfter: 5}\n")
    loaded = load_agent_file(path, node_name="n")
    assert loaded.http.address == "[::1]:0"  # port 0: any free port
    assert loaded.health.event_stuck_after == 5.0
    path.write_text("http: {address: ''}\n")
    assert load_agent_file(path, node_name="n").http.address is None  # no endpoint
