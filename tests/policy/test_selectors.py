"""Label selectors: matchLabels, every matchExpressions operator, empty and absent, and the
problems of bad ones."""

from __future__ import annotations

import pytest

from contivpy.models.k8s_codec import LabelExpression, LabelOperator, LabelSelector
from contivpy.policy.selectors import compile_selector


def _expr(key: str, operator: LabelOperator, *values: str) -> LabelSelector:
    return LabelSelector(
        match_expressions=[LabelExpression(key=key, operator=operator, values=list(values))]
    )


@pytest.mark.parametrize(
    ("selector", "labels", "expected"),
    [
        (LabelSelector(match_labels={"app": "web"}), {"app": "web", "x": "1"}, True),
        (LabelSelector(match_labels={"app": "web"}), {"app": "db"}, False),
        (_expr("app", LabelOperator.IN, "web", "db"), {"app": "db"}, True),
        (_expr("app", LabelOperator.IN, "web"), {}, False),
        (_expr("app", LabelOperator.NOT_IN, "web"), {}, True),
        (_expr("app", LabelOperator.NOT_IN, "web"), {"app": "web"}, False),
        (_expr("app", LabelOperator.NOT_IN, "web"), {"app": "db"}, True),
        (_expr("app", LabelOperator.EXISTS), {"app": ""}, True),
        (_expr("app", LabelOperator.EXISTS), {}, False),
        (_expr("app", LabelOperator.DOES_NOT_EXIST), {}, True),
        (_expr("app", LabelOperator.DOES_NOT_EXIST), {"app": "x"}, False),
        (LabelSelector(), {"anything": "x"}, True),
        (None, {}, False),
    ],
)
def test_matching(selector: LabelSelector | None, labels: dict[str, str], expected: bool) -> None:
    compiled, problems = compile_selector(selector, "spec.podSelector")
    assert problems == []
    assert compiled.matches(labels) is expected


def test_match_labels_and_expressions_must_all_hold() -> None:
    selector = LabelSelector(
        match_labels={"app": "web"},
        match_expressions=[LabelExpression(key="tier", operator=LabelOperator.EXISTS)],
    )
    compiled, _ = compile_selector(selector, "s")
    assert compiled.matches({"app": "web", "tier": "1"})
    assert not compiled.matches({"app": "web"})


@pytest.mark.parametrize(
    ("selector", "problem"),
    [
        (
            _expr("app", LabelOperator.UNSPECIFIED, "x"),
            "spec.podSelector.matchExpressions[0].operator: 'UNSPECIFIED' is not one of",
        ),
        (_expr("app", LabelOperator.IN), "spec.podSelector.matchExpressions[0].values: In needs"),
        (
            _expr("app", LabelOperator.EXISTS, "x"),
            "spec.podSelector.matchExpressions[0].values: Exists takes no values",
        ),
        (_expr("", LabelOperator.EXISTS), "spec.podSelector.matchExpressions[0].key: missing"),
    ],
)
def test_bad_selectors_name_the_field(selector: LabelSelector, problem: str) -> None:
    _, problems = compile_selector(selector, "spec.podSelector")
    assert any(p.startswith(problem) for p in problems), problems
