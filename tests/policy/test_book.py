"""The policy book's incremental answers: which local pods' tables changed and which tables
appeared or went, for directed changes (the random sequences are in test_policy_properties)."""

from __future__ import annotations

import ipaddress

from contivpy.policy.book import PolicyBook
from contivpy.policy.rules import Rule
from contivpy.policy.tables import GLOBAL_TABLE
from policy.support import NAT_LOOPBACK, pod, policy


def _text(rules: tuple[Rule, ...]) -> str:
    return "\n".join(str(rule) for rule in rules)


FROM_FRONTEND = policy(
    "from-frontend",
    "default",
    {
        "podSelector": {"matchLabels": {"app": "db"}},
        "ingress": [{"from": [{"podSelector": {"matchLabels": {"role": "frontend"}}}]}],
    },
)


def _book() -> PolicyBook:
    book = PolicyBook("n1", NAT_LOOPBACK)
    for i in range(3):
        book.put_pod(pod("default", f"db{i}", {"app": "db"}, f"10.1.0.{10 + i}"))
    book.put_pod(pod("default", "web", {"role": "frontend"}, "10.1.0.20"))
    book.put_pod(pod("default", "other", {"app": "other"}, "10.1.0.21"))
    book.put_policy(FROM_FRONTEND)
    return book


def test_pods_with_identical_rules_share_one_table() -> None:
    book = _book()
    rendering = book.rendering
    assert set(rendering.pod_tables) == {"default/db0", "default/db1", "default/db2"}
    assert len(rendering.tables) == 1
    assert GLOBAL_TABLE not in rendering.tables
    assert not rendering.global_rules


def test_a_label_flip_on_an_unselected_pod_changes_nothing() -> None:
    book = _book()
    changes = book.put_pod(pod("default", "other", {"app": "other", "x": "y"}, "10.1.0.21"))
    assert not changes


def test_a_peer_changing_ip_re_renders_the_selected_pods_only() -> None:
    book = _book()
    old_table = next(iter(book.rendering.tables))
    changes = book.put_pod(pod("default", "web", {"role": "frontend"}, "10.1.0.99"))
    assert changes.pods == {"default/db0", "default/db1", "default/db2"}
    (new_table,) = changes.added_tables
    assert changes.removed_tables == {old_table}
    assert "10.1.0.99/32" in _text(book.rendering.tables[new_table])
    assert "10.1.0.20/32" not in _text(book.rendering.tables[new_table])


def test_a_target_losing_its_label_is_the_only_pod_reported() -> None:
    book = _book()
    (table,) = book.rendering.tables
    changes = book.put_pod(pod("default", "db1", {"app": "cache"}, "10.1.0.11"))
    assert changes.pods == {"default/db1"}
    assert not changes.added_tables
    assert not changes.removed_tables
    assert book.rendering.pod_tables.keys() == {"default/db0", "default/db2"}
    assert book.rendering.tables.keys() == {table}


def test_a_policy_edit_that_keeps_the_rules_reports_nothing() -> None:
    book = _book()
    relabelled = policy(
        "from-frontend",
        "default",
        {
            "podSelector": {
                "matchExpressions": [{"key": "app", "operator": "In", "values": ["db"]}]
            },
            "ingress": [{"from": [{"podSelector": {"matchLabels": {"role": "frontend"}}}]}],
        },
    )
    assert not book.put_policy(relabelled)


def test_removing_the_last_policy_removes_every_table() -> None:
    book = _book()
    (table,) = book.rendering.tables
    changes = book.remove_policy(FROM_FRONTEND.id)
    assert changes.pods == {"default/db0", "default/db1", "default/db2"}
    assert changes.removed_tables == {table}
    assert not book.rendering.pod_tables


def test_remote_pods_get_no_table_but_are_peers() -> None:
    book = PolicyBook("n1", NAT_LOOPBACK)
    book.put_policy(FROM_FRONTEND)
    changes = book.put_pod(pod("default", "db-remote", {"app": "db"}, "10.2.0.10", node="n2"))
    assert not changes
    book.put_pod(pod("default", "db", {"app": "db"}, "10.1.0.10"))
    changes = book.put_pod(pod("default", "web", {"role": "frontend"}, "10.2.0.20", node="n2"))
    assert changes.pods == {"default/db"}
    assert "10.2.0.20/32" in _text(book.rendering.table_of("default/db"))


def test_a_pod_without_an_ip_waits() -> None:
    book = PolicyBook("n1", NAT_LOOPBACK)
    book.put_policy(FROM_FRONTEND)
    assert not book.put_pod(pod("default", "db", {"app": "db"}))
    changes = book.put_pod(pod("default", "db", {"app": "db"}, "10.1.0.10"))
    assert changes.pods == {"default/db"}
    assert len(changes.added_tables) == 1


def test_an_egress_isolated_pod_changes_its_neighbours_tables_and_the_global_table() -> None:
    book = _book()
    deny_out = policy(
        "deny-out",
        "default",
        {"podSelector": {"matchLabels": {"app": "other"}}, "policyTypes": ["Egress"]},
    )
    changes = book.put_policy(deny_out)
    assert changes.global_changed
    # every other local pod now carries a DENY block for 10.1.0.21; web and other are
    # the ones that had no table before
    assert changes.pods == {"default/db0", "default/db1", "default/db2", "default/web"}
    assert "deny 10.1.0.21/32 -> any any" in _text(book.rendering.table_of("default/web"))
    assert str(book.rendering.global_rules[0]).startswith("deny 10.1.0.21/32")


def test_the_nat_loopback_changing_re_renders_isolated_pods() -> None:
    book = _book()
    changes = book.set_nat_loopback(ipaddress.ip_address("10.1.255.1"))
    assert changes.pods == {"default/db0", "default/db1", "default/db2"}
    assert "10.1.255.1/32" in _text(book.rendering.table_of("default/db0"))


def test_a_namespace_relabel_affects_policies_selecting_namespaces() -> None:
    book = PolicyBook("n1", NAT_LOOPBACK)
    book.put_policy(
        policy(
            "from-blue",
            "default",
            {
                "podSelector": {},
                "ingress": [{"from": [{"namespaceSelector": {"matchLabels": {"team": "blue"}}}]}],
            },
        )
    )
    book.put_pod(pod("default", "server", {}, "10.1.0.10"))
    book.put_pod(pod("other", "client", {}, "10.1.0.30", node="n2"))
    assert "10.1.0.30" not in _text(book.rendering.table_of("default/server"))
    changes = book.put_namespace("other", {"team": "blue"})
    assert changes.pods == {"default/server"}
    assert "10.1.0.30/32" in _text(book.rendering.table_of("default/server"))
    changes = book.remove_namespace("other")
    assert changes.pods == {"default/server"}
    assert "10.1.0.30" not in _text(book.rendering.table_of("default/server"))
