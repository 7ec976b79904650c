"""Kubernetes label selectors, checked once and then matched against label maps.

In: a reflected ``LabelSelector`` (or ``None`` for an absent one) and where it sits in its
object (for problems). Out: a :class:`Selector` — ``matches(labels)`` — or the problems that
make it invalid, each naming the field.

Semantics (``metav1.LabelSelector``): every ``matchLabels`` pair and every expression must
hold. ``In``: the label is present with one of the values; ``NotIn``: absent, or present with
none of them; ``Exists`` / ``DoesNotExist``: present / absent. An empty selector selects
everything; an absent one nothing. ``In``/``NotIn`` need values, ``Exists``/``DoesNotExist``
take none (the API server's rules). (A ServiceFunctionChain's ``podSelector`` is a plain
map: ``Selector.of_labels`` is that special case.)
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass

from contivpy.models.k8s_codec import LabelOperator, LabelSelector


class Operator(enum.Enum):
    IN = "In"
    NOT_IN = "NotIn"
    EXISTS = "Exists"
    DOES_NOT_EXIST = "DoesNotExist"


_OPERATORS = {
    LabelOperator.IN: Operator.IN,
    LabelOperator.NOT_IN: Operator.NOT_IN,
    LabelOperator.EXISTS: Operator.EXISTS,
    LabelOperator.DOES_NOT_EXIST: Operator.DOES_NOT_EXIST,
}


@dataclass(frozen=True, slots=True)
class Expression:
    key: str
    operator: Operator
    values: frozenset[str] = frozenset()

    def holds(self, labels: Mapping[str, str]) -> bool:
        value = labels.get(self.key)
        if self.operator is Operator.IN:
            return value is not None and value in self.values
        if self.operator is Operator.NOT_IN:
            return value is None or value not in self.values
        if self.operator is Operator.EXISTS:
            return value is not None
        return value is None


@dataclass(frozen=True, slots=True)
class Selector:
    """A checked label selector."""

    labels: tuple[tuple[str, str], ...] = ()  # matchLabels, sorted
    expressions: tuple[Expression, ...] = ()
    absent: bool = False  # selects nothing

    @classmethod
    def of_labels(cls, labels: Mapping[str, str]) -> Selector:
        return cls(tuple(sorted(labels.items())))

    @property
    def selects_all(self) -> bool:
        return not self.absent and not self.labels and not self.expressions

    def matches(self, labels: Mapping[str, str]) -> bool:
        if self.absent:
            return False
        return all(labels.get(k) == v for k, v in self.labels) and all(
            e.holds(labels) for e in self.expressions
        )


NOTHING = Selector(absent=True)
EVERYTHING = Selector()


def compile_selector(model: LabelSelector | None, where: str) -> tuple[Selector, list[str]]:
    """The selector, and its problems (``where`` names the field, e.g. ``spec.podSelector``)."""
    if model is None:
        return NOTHING, []
    problems: list[str] = []
    for key in model.match_labels:
        if not key:
            problems.append(f"{where}.matchLabels: empty key")
    expressions: list[Expression] = []
    for index, expression in enumerate(model.match_expressions):
        here = f"{where}.matchExpressions[{index}]"
        operator = _OPERATORS.get(expression.operator)
        if not expression.key:
            problems.append(f"{here}.key: missing")
        if operator is None:
            problems.append(
                f"{here}.operator: {_operator_name(expression.operator)} is not one of "
                "In, NotIn, Exists, DoesNotExist"
            )
            continue
        values = frozenset(expression.values)
        if operator in (Operator.IN, Operator.NOT_IN) and not values:
            problems.append(f"{here}.values: {operator.value} needs at least one value")
        elif operator in (Operator.EXISTS, Operator.DOES_NOT_EXIST) and values:
            problems.append(f"{here}.values: {operator.value} takes no values")
        expressions.append(Expression(expression.key, operator, values))
    selector = Selector(
        tuple(sorted(model.match_labels.items())),
        tuple(sorted(expressions, key=lambda e: (e.key, e.operator.value, sorted(e.values)))),
    )
    return selector, problems


def _operator_name(operator: object) -> str:
    name = getattr(operator, "name", None)
    return repr(name if isinstance(name, str) else operator)
