"""The agent's configuration file: defaults, overrides, and errors naming the setting."""

from __future__ import annotations

from pathlib import Path

import pytest

from contivpy.agent.config_file import load_agent_config
from contivpy.errors import ConfigError

EXAMPLE = Path(__file__).resolve().parents[2] / "deploy" / "agent.yaml"


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
