"""The NetworkPolicies' checker of the refusal Events: what a NetworkPolicy is refused for.

In: the view's ``policy`` bytes of each NetworkPolicy. Out: its problems (subject
``NetworkPolicy``, reason ``InvalidNetworkPolicy``), each the field and what is wrong with
it (``spec.ingress[0].from[0].ipBlock.cidr: 'nope' is not a CIDR``), posted as Warning Events
by ``refusal_events``.

The problems are the policy processor's (``contivpy.policy.model.compile_policy``): the ones
every node agent refuses the policy for (its ``ctl events``), since compiling a policy does
not depend on a node. A named port no pod has does not refuse a policy (it matches nothing on
such a pod, as in Kubernetes): ``named_port_events`` warns about it. A policy the reflector
could not convert at all never reaches the view: the informer logs and counts it (an API
server refuses such a policy, as the stand-in does a selector's unknown operator).
"""

from __future__ import annotations

from collections.abc import Mapping

from contivpy.models.k8s_codec import Policy
from contivpy.policy.model import PolicyError, compile_policy
from contivpy.reflector.crd_status import decoded_as
from contivpy.reflector.refusal_events import Problems, Subject
from contivpy.reflector.view import ReflectedView

POLICY = "policy"
KINDS = (POLICY,)


def policy_problems(policy: Policy) -> frozenset[str]:
    """Why the agents refuse ``policy`` (empty: they apply it)."""
    try:
        compile_policy(policy)
    except PolicyError as error:
        return frozenset(error.problems)
    return frozenset()


class PolicyChecker:
    """One NetworkPolicy compiled (``refusal_events.Checker``)."""

    kinds = KINDS

    def inputs(self, view: ReflectedView) -> Mapping[str, tuple[bytes | None, ...]]:
        if POLICY not in view.kinds:
            return {}
        return {key: (value,) for key, value in view.objects(POLICY).items()}

    def problems(self, key: str, inputs: tuple[bytes | None, ...]) -> Problems:
        (value,) = inputs
        policy = decoded_as(key, value, Policy) if value is not None else None
        if policy is None:
            return {}
        return {Subject("NetworkPolicy", policy.namespace, policy.name): policy_problems(policy)}
