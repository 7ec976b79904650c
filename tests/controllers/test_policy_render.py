"""The ACL renderer on its own: a table's rules as ACL rules (any address in both families,
ports only with a protocol), pods with identical tables sharing one ACL, NODE-GLOBAL on the
node-facing interfaces, REFLECTION on every isolated interface's input."""

from __future__ import annotations

from contivpy.controllers.policy_render import (
    GLOBAL_ACL,
    REFLECTION,
    REFLECTION_ACL,
    acl_rules,
    render_all,
    table_acl,
)
from contivpy.models.vpp_acl import (
    Acl,
    AclAction,
    AclInterfaces,
    AclRule,
    PortRange,
)
from contivpy.models.vpp_keys import acl_interface_key, acl_key
from contivpy.policy.render import render
from contivpy.policy.tables import Rendering
from policy.support import NAT_LOOPBACK, pod, policy

FRONTEND_ONLY = policy(
    "web",
    "default",
    {
        "podSelector": {"matchLabels": {"role": "backend"}},
        "ingress": [
            {
                "from": [{"podSelector": {"matchLabels": {"role": "frontend"}}}],
                "ports": [{"protocol": "TCP", "port": 8080}],
            }
        ],
    },
)
PODS = (
    pod("default", "front", {"role": "frontend"}, "10.1.1.2"),
    pod("default", "back", {"role": "backend"}, "10.1.1.3"),
    pod("default", "back2", {"role": "backend"}, "10.1.1.5"),
    pod("default", "other", {"role": "tool"}, "10.1.1.4"),
)
INTERFACES = {p.key: f"tap-{p.name}" for p in PODS}
NODE_INTERFACES = ("main", "host", "vxlanBVI")


def rendering(*policies: object) -> Rendering:
    return render(policies, PODS, {}, "n1", NAT_LOOPBACK)  # type: ignore[arg-type]


def test_a_policy_admitting_only_frontends_becomes_the_backends_acl() -> None:
    found = rendering(FRONTEND_ONLY)
    config = render_all(found.pod_tables, found.tables, found.global_rules, INTERFACES, ())
    table = found.pod_tables["default/back"]
    acl = config[acl_key(table_acl(table))]
    assert isinstance(acl, Acl)
    assert acl.rules == (
        AclRule(
            AclAction.PERMIT, "10.1.1.2/32", "0.0.0.0/0", 6, PortRange(), PortRange(8080, 8080)
        ),
        AclRule(AclAction.PERMIT, f"{NAT_LOOPBACK}/32", "0.0.0.0/0"),  # hairpin: always
        AclRule(AclAction.DENY, "0.0.0.0/0", "0.0.0.0/0"),
        AclRule(AclAction.DENY, "::/0", "::/0"),
    )
    # the table on what VPP sends to the pod, REFLECTION on what it sends
    assert config[acl_interface_key("tap-back")] == AclInterfaces(
        "tap-back", input=(REFLECTION_ACL,), output=(table_acl(table),)
    )
    assert config[acl_key(REFLECTION_ACL)] == REFLECTION
    # pods no policy isolates get nothing; no egress isolation: no global table
    assert acl_interface_key("tap-front") not in config
    assert acl_interface_key("tap-other") not in config
    assert acl_key(GLOBAL_ACL) not in config


def test_pods_with_identical_tables_share_one_acl() -> None:
    found = rendering(FRONTEND_ONLY)
    config = render_all(found.pod_tables, found.tables, found.global_rules, INTERFACES, ())
    one, two = config[acl_interface_key("tap-back")], config[acl_interface_key("tap-back2")]
    assert isinstance(one, AclInterfaces)
    assert isinstance(two, AclInterfaces)
    assert one.output == two.output
    assert len([key for key in config if key.startswith(acl_key(""))]) == 2  # table + REFLECTION


def test_an_unwired_pod_gets_nothing_and_nothing_isolated_renders_nothing() -> None:
    found = rendering(FRONTEND_ONLY)
    assert render_all(found.pod_tables, found.tables, found.global_rules, {}, ()) == {}
    found = rendering()
    assert render_all(found.pod_tables, found.tables, (), INTERFACES, NODE_INTERFACES) == {}


def test_egress_isolation_puts_node_global_on_the_node_facing_interfaces() -> None:
    egress = policy(
        "out",
        "default",
        {
            "podSelector": {"matchLabels": {"role": "tool"}},
            "policyTypes": ["Egress"],
            "egress": [{"to": [{"ipBlock": {"cidr": "192.0.2.0/24"}}], "ports": [{"port": 53}]}],
        },
    )
    found = rendering(egress)
    config = render_all(
        found.pod_tables, found.tables, found.global_rules, INTERFACES, NODE_INTERFACES
    )
    for interface in NODE_INTERFACES:
        assert config[acl_interface_key(interface)] == AclInterfaces(
            interface, input=(REFLECTION_ACL,), output=(GLOBAL_ACL,)
        )
    acl = config[acl_key(GLOBAL_ACL)]
    assert isinstance(acl, Acl)
    source = "10.1.1.4/32"
    # what the tool pod may send (a port without a protocol is TCP), then nothing else
    assert acl.rules[:2] == (
        AclRule(AclAction.PERMIT, source, "192.0.2.0/24", 6, PortRange(), PortRange(53, 53)),
        AclRule(AclAction.DENY, source, "0.0.0.0/0"),
    )
    # the trailing PERMIT of everything else, in both families
    assert acl.rules[-2:] == (
        AclRule(AclAction.PERMIT, "0.0.0.0/0", "0.0.0.0/0"),
        AclRule(AclAction.PERMIT, "::/0", "::/0"),
    )
    # every other local pod's table gets the tool pod's block (egress orientation)
    assert {"default/front", "default/back", "default/back2"} <= set(found.pod_tables)


def test_rules_of_one_family_stay_in_it_and_protocol_any_has_no_ports() -> None:
    found = rendering(FRONTEND_ONLY)
    rules = acl_rules(found.tables[found.pod_tables["default/back"]])
    assert all(r.src_ports == PortRange() for r in rules)
    assert all(r.dst_ports == PortRange() for r in rules if r.protocol == 0)
    assert all(("::" in r.src_network) == ("::" in r.dst_network) for r in rules)
