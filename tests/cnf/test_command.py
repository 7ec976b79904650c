"""``contivpy cnf``: settings refused before anything starts."""

from __future__ import annotations

import pytest

from contivpy.cli import build_parser
from contivpy.cnf.command import run_cnf_command


def test_the_subcommand_takes_label_socket_and_etcd() -> None:
    args = build_parser().parse_args(
        ["cnf", "--label", "vpp-cnf1", "--vpp-socket", "/run/vpp/api.sock", "--etcd", "e:2379"]
    )
    assert (args.command, args.label, args.vpp_socket, args.etcd) == (
        "cnf",
        "vpp-cnf1",
        "/run/vpp/api.sock",
        "e:2379",
    )


@pytest.mark.parametrize(
    ("label", "etcd", "message"),
    [("a/b", "127.0.0.1:2379", "--label 'a/b'"), ("cnf1", " , ", "--etcd")],
)
def test_bad_settings_exit_2_naming_the_option(
    label: str, etcd: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_cnf_command(label=label, vpp_socket="/x", etcd=etcd) == 2
    assert message in capsys.readouterr().err
