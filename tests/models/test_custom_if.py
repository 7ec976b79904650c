"""The contivpp.io/custom-if annotation: Contiv's grammar, every check before anything is
wired, and (hypothesis) no input that crashes the parser."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from contivpy.models.custom_if import (
    CUSTOM_IF_ANNOTATION,
    CustomIfError,
    CustomIfType,
    CustomInterface,
    microservice_label,
    parse_custom_interfaces,
    requests_memif,
)


def parse(value: str, **kwargs: object) -> tuple[CustomInterface, ...]:
    return parse_custom_interfaces({CUSTOM_IF_ANNOTATION: value}, **kwargs)  # type: ignore[arg-type]


def test_entries_are_trimmed_sorted_and_default_to_the_default_network() -> None:
    found = parse(" veth1/veth , tap1/tap/stub,memif1/memif/default ", memifs_granted=1)
    assert found == (
        CustomInterface("memif1", CustomIfType.MEMIF, "default"),
        CustomInterface("tap1", CustomIfType.TAP, "stub"),
        CustomInterface("veth1", CustomIfType.VETH, "default"),
    )
    assert [i.addressed for i in found] == [True, False, True]


def test_every_annotation_starting_with_the_prefix_counts() -> None:
    found = parse_custom_interfaces(
        {f"{CUSTOM_IF_ANNOTATION}-a": "tap1/tap", f"{CUSTOM_IF_ANNOTATION}-b": "veth1/veth"}
    )
    assert [i.name for i in found] == ["tap1", "veth1"]


def test_no_annotation_no_custom_interfaces() -> None:
    assert parse_custom_interfaces({"contivpp.io/other": "x"}) == ()
    assert parse(" ") == ()
    assert microservice_label({"contivpp.io/microservice-label": " cnf1 "}) == "cnf1"


@pytest.mark.parametrize(
    ("value", "entry", "reason"),
    [
        (
            "tap1/warp-drive",
            "tap1/warp-drive",
            "unknown type 'warp-drive' (known: tap, veth, memif)",
        ),
        ("tap1", "tap1", "expected <name>/<type>[/<network>]"),
        ("tap1/tap/default/x", "tap1/tap/default/x", "expected <name>/<type>[/<network>]"),
        ("/tap", "/tap", "empty part"),
        ("tap1//default", "tap1//default", "empty part"),
        ("tap1/tap,,veth1/veth", "", "empty entry"),
        ("tap1/tap/red", "tap1/tap/red", "network 'red' does not exist (known: default, stub)"),
        ("averyveryverylongname/tap", "averyveryverylongname/tap", "longer than 15 characters"),
        ("tap1/tap, tap1/veth", "tap1/veth", "name 'tap1' is taken by entry 'tap1/tap'"),
        ("eth0/tap", "eth0/tap", "taken by the pod's main interface"),
        ("m1/memif", "m1/memif", "needs the contivpp.io/memif resource"),
    ],
)
def test_a_bad_entry_is_named_with_what_is_wrong(value: str, entry: str, reason: str) -> None:
    with pytest.raises(CustomIfError) as failed:
        parse(value)
    assert failed.value.annotation == CUSTOM_IF_ANNOTATION
    assert failed.value.entry == entry
    assert reason in failed.value.reason
    assert CUSTOM_IF_ANNOTATION in str(failed.value)


def test_more_memifs_than_granted_names_the_first_one_over() -> None:
    with pytest.raises(CustomIfError) as failed:
        parse("m1/memif, m2/memif, m3/memif", memifs_granted=2)
    assert failed.value.entry == "m3/memif"
    assert "3 memif interfaces but 2 contivpp.io/memif device(s) granted" in failed.value.reason
    assert len(parse("m1/memif, m2/memif", memifs_granted=2)) == 2


def test_a_custom_network_that_exists_is_accepted() -> None:
    (found,) = parse("l3if/tap/red", networks={"red"})
    assert found.network == "red"


@given(st.text(max_size=80), st.integers(min_value=0, max_value=3))
def test_no_annotation_crashes_the_parser(value: str, granted: int) -> None:
    problem: CustomIfError | None = None
    try:
        found = parse(value, memifs_granted=granted)
    except CustomIfError as error:
        problem = error
    if problem is None:
        assert all(0 < len(i.name) <= 15 for i in found)
    else:
        assert problem.annotation == CUSTOM_IF_ANNOTATION


names = st.text(
    alphabet=st.characters(min_codepoint=33, max_codepoint=126, blacklist_characters="/,"),
    min_size=1,
    max_size=15,
).filter(lambda n: n not in (".", "..", "eth0"))
interfaces = st.lists(
    st.builds(
        CustomInterface,
        names,
        st.sampled_from(list(CustomIfType)),
        st.sampled_from(["default", "stub"]),
    ),
    max_size=6,
    unique_by=lambda i: i.name,
)


@given(interfaces)
def test_a_valid_annotation_round_trips(wanted: list[CustomInterface]) -> None:
    text = ", ".join(str(i) for i in reversed(wanted))
    memifs = sum(i.type is CustomIfType.MEMIF for i in wanted)
    assert parse(text, memifs_granted=memifs) == tuple(sorted(wanted))


def test_a_custom_network_pods_cannot_join_is_refused_naming_the_entry() -> None:
    with pytest.raises(CustomIfError) as failed:
        parse("tap1/tap, l3if/tap/red", networks={"red"}, joinable=())
    assert failed.value.entry == "l3if/tap/red"
    assert "CustomNetwork 'red' exists, but pods cannot join it" in failed.value.reason
    assert len(parse("l3if/tap/red", networks={"red"}, joinable={"red"})) == 1


def test_a_memif_is_recognised_by_its_type_not_by_a_name_that_says_memif() -> None:
    assert requests_memif({CUSTOM_IF_ANNOTATION: "tap1/tap, m1/memif/stub"})
    assert requests_memif({f"{CUSTOM_IF_ANNOTATION}-2": "m1/memif"})
    assert not requests_memif({CUSTOM_IF_ANNOTATION: "memif1/tap, memifish/veth"})
    assert not requests_memif({"contivpp.io/other": "m1/memif"})
    assert not requests_memif({CUSTOM_IF_ANNOTATION: "m1/warp-drive"})
