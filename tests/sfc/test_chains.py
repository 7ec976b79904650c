"""chain_of: a ServiceFunctionChain's spec checked, element by element.

In: reflected ServiceFunctionChain models. Out (checked): the problems name ``spec.chain[i]``,
the element's name and the field; a valid chain's elements carry the selector and the input
and output interfaces the rules give them.
"""

from __future__ import annotations

from contivpy.models.k8s_codec import ServiceFunction, ServiceFunctionChain, ServiceFunctionType
from contivpy.sfc.chains import Chain, ElementKind, chain_of

POD = ServiceFunctionType.POD
EXT = ServiceFunctionType.EXTERNAL_INTERFACE


def pod(name: str, app: str, interface: str = "", in_: str = "", out: str = "") -> ServiceFunction:
    return ServiceFunction(
        name=name,
        type=POD,
        pod_selector={"app": app},
        interface=interface,
        input_interface=in_,
        output_interface=out,
    )


def ext(name: str, interface: str = "", in_: str = "", out: str = "") -> ServiceFunction:
    return ServiceFunction(
        name=name, type=EXT, interface=interface, input_interface=in_, output_interface=out
    )


def sfc(*elements: ServiceFunction, unidirectional: bool = False) -> ServiceFunctionChain:
    return ServiceFunctionChain(
        name="c", namespace="default", unidirectional=unidirectional, chain=list(elements)
    )


def problems_of(model: ServiceFunctionChain) -> tuple[str, ...]:
    return chain_of(model)[1]


def only_problem(model: ServiceFunctionChain) -> str:
    problems = problems_of(model)
    assert len(problems) == 1, problems
    return problems[0]


# -- valid chains ---------------------------------------------------------------------------


def test_seed_vpp_chain_elements() -> None:
    chain, problems = chain_of(
        sfc(
            pod("CNF 1", "cnf1", "memif1"),
            pod("CNF 2", "cnf2", in_="memif1", out="memif2"),
            pod("CNF 3", "cnf3", "memif1"),
        )
    )
    assert problems == ()
    assert [(e.index, e.name, e.kind) for e in chain.elements] == [
        (0, "CNF 1", ElementKind.POD),
        (1, "CNF 2", ElementKind.POD),
        (2, "CNF 3", ElementKind.POD),
    ]
    assert [(e.input, e.output) for e in chain.elements] == [
        ("memif1", "memif1"),
        ("memif1", "memif2"),
        ("memif1", "memif1"),
    ]
    assert chain.elements[1].selector == (("app", "cnf2"),)
    assert chain.elements[1].title == "chain[1] ('CNF 2')"


def test_external_interface_elements_name_their_external_interface() -> None:
    chain, problems = chain_of(
        sfc(ext("in", "vlan-200"), pod("cnf", "cnf", in_="m1", out="m2"), ext("out", "vlan-300"))
    )
    assert problems == ()
    first, _, last = chain.elements
    assert (first.kind, first.input, first.output, first.selector) == (
        ElementKind.EXTERNAL_INTERFACE,
        "vlan-200",
        "vlan-200",
        (),
    )
    assert (last.input, last.output) == ("vlan-300", "vlan-300")


def test_selector_sorted_and_matches_on_every_label() -> None:
    model = sfc(
        ServiceFunction(name="a", type=POD, pod_selector={"z": "1", "a": "2"}, interface="tap1"),
        pod("b", "b", "tap1"),
    )
    chain, problems = chain_of(model)
    assert problems == ()
    element = chain.elements[0]
    assert element.selector == (("a", "2"), ("z", "1"))
    assert element.selects({"a": "2", "z": "1", "other": "x"})
    assert not element.selects({"a": "2"})
    assert not element.selects({"a": "2", "z": "2"})


def test_chain_identity_and_label() -> None:
    default = chain_of(ServiceFunctionChain(name="x", namespace="default"))[0]
    other = chain_of(ServiceFunctionChain(name="x", namespace="prod"))[0]
    cluster = chain_of(ServiceFunctionChain(name="x"))[0]
    assert (default.id, default.label) == ("default/x", "x")
    assert (other.id, other.label) == ("prod/x", "prod.x")
    assert (cluster.id, cluster.label) == ("x", "x")


def test_interface_whitespace_is_ignored() -> None:
    chain, problems = chain_of(sfc(pod("a", "a", " tap1 "), pod("b", "b", "tap1")))
    assert problems == ()
    assert chain.elements[0].input == "tap1"


def test_middle_element_with_one_interface_is_fine_in_a_unidirectional_chain() -> None:
    chain, problems = chain_of(
        sfc(
            pod("a", "a", "tap1"), pod("b", "b", "tap1"), pod("c", "c", "tap1"), unidirectional=True
        )
    )
    assert problems == ()
    assert (chain.elements[1].input, chain.elements[1].output) == ("tap1", "tap1")
    assert chain.unidirectional


def test_ends_of_a_bidirectional_chain_may_have_one_interface() -> None:
    assert problems_of(sfc(pod("a", "a", "tap1"), pod("b", "b", "tap1"))) == ()


# -- problems -------------------------------------------------------------------------------


def test_empty_chain() -> None:
    problem = only_problem(sfc())
    assert "spec.chain has 0 element(s)" in problem


def test_one_element_connects_nothing() -> None:
    _, problems = chain_of(sfc(pod("a", "a", "tap1")))
    assert len(problems) == 1
    assert "spec.chain has 1 element(s)" in problems[0]
    assert "at least two" in problems[0]


def test_missing_type() -> None:
    model = sfc(
        pod("a", "a", "tap1"), ServiceFunction(name="b", pod_selector={"app": "b"}, interface="x")
    )
    problem = only_problem(model)
    assert problem.startswith("spec.chain[1] ('b').type")
    assert "missing or unknown" in problem


def test_unknown_type() -> None:
    model = sfc(
        pod("a", "a", "tap1"),
        ServiceFunction(name="b", type=ServiceFunctionType(7), interface="x"),
    )
    chain, problems = chain_of(model)
    assert any(p.startswith("spec.chain[1] ('b').type") for p in problems), problems
    assert [e.index for e in chain.elements] == [0]


def test_pod_without_selector() -> None:
    model = sfc(ServiceFunction(name="a", type=POD, interface="tap1"), pod("b", "b", "tap1"))
    problem = only_problem(model)
    assert problem.startswith("spec.chain[0] ('a').podSelector")
    assert "needs a selector" in problem


def test_unnamed_element_is_named_by_index() -> None:
    model = sfc(ServiceFunction(type=POD, interface="tap1"), pod("b", "b", "tap1"))
    assert only_problem(model).startswith("spec.chain[0].podSelector")


def test_interface_and_input_output_both_given() -> None:
    problem = only_problem(sfc(pod("a", "a", "tap1", in_="m1", out="m2"), pod("b", "b", "tap1")))
    assert problem.startswith("spec.chain[0] ('a'):")
    assert "alternatives, not both" in problem


def test_interface_and_half_of_input_output_given() -> None:
    problem = only_problem(sfc(pod("a", "a", "tap1", out="m2"), pod("b", "b", "tap1")))
    assert problem.startswith("spec.chain[0] ('a'):")
    assert "alternatives" in problem


def test_only_input_interface() -> None:
    problem = only_problem(sfc(pod("a", "a", "tap1"), pod("b", "b", in_="m1")))
    assert problem.startswith("spec.chain[1] ('b').outputInterface")
    assert "missing" in problem


def test_only_output_interface() -> None:
    problem = only_problem(sfc(pod("a", "a", "tap1"), pod("b", "b", out="m2")))
    assert problem.startswith("spec.chain[1] ('b').inputInterface")


def test_no_interface_at_all() -> None:
    problem = only_problem(sfc(pod("a", "a"), pod("b", "b", "tap1")))
    assert problem.startswith("spec.chain[0] ('a').interface: missing")


def test_external_interface_element_without_interface() -> None:
    problem = only_problem(sfc(ext("in", in_="vlan-200", out="vlan-300"), pod("b", "b", "tap1")))
    assert problem.startswith("spec.chain[0] ('in').interface")
    assert "names its ExternalInterface" in problem


def test_external_interface_element_with_nothing() -> None:
    problem = only_problem(sfc(pod("a", "a", "tap1"), ext("out")))
    assert problem.startswith("spec.chain[1] ('out').interface: missing")


def test_middle_element_of_a_bidirectional_chain_needs_two_interfaces() -> None:
    problem = only_problem(sfc(pod("a", "a", "tap1"), pod("b", "b", "tap1"), pod("c", "c", "tap1")))
    assert problem.startswith("spec.chain[1] ('b'):")
    assert "needs inputInterface and outputInterface" in problem
    assert "'tap1'" in problem


def test_middle_element_of_a_bidirectional_chain_with_the_same_interface_twice() -> None:
    """inputInterface == outputInterface is one interface named twice: it cannot be
    cross-connected to both neighbours either."""
    model = sfc(pod("a", "a", "tap1"), pod("b", "b", in_="m1", out="m1"), pod("c", "c", "tap1"))
    problem = only_problem(model)
    assert problem.startswith("spec.chain[1] ('b'):")


def test_middle_external_interface_of_a_bidirectional_chain() -> None:
    problem = only_problem(sfc(pod("a", "a", "tap1"), ext("mid", "vlan-1"), pod("c", "c", "tap1")))
    assert problem.startswith("spec.chain[1] ('mid'):")


def test_every_problem_is_reported_and_valid_elements_kept() -> None:
    model = sfc(
        ServiceFunction(name="a", type=POD, interface="tap1"),
        pod("b", "b", in_="m1", out="m2"),
        ServiceFunction(name="c", interface="tap1"),
    )
    chain, problems = chain_of(model)
    assert [p.split(":")[0].split(".")[1] for p in problems] == [
        "chain[0] ('a')",
        "chain[2] ('c')",
    ]
    assert isinstance(chain, Chain)
    assert [e.name for e in chain.elements] == ["b"]
