"""The cluster's facts a chain's path depends on, built from reflected models.

In: reflected ``Pod`` models, ``ExternalInterface`` models and the node IDs' ``VppNode``
records. Out: ``PodFacts`` per pod, the ExternalInterfaces' accepted entries as
``ClusterFacts.external`` wants them, and node name -> ID. The node agent's sfc controller and
the reflector's status writer build their facts here, so both derive the same path.
"""

from __future__ import annotations

from collections.abc import Iterable

from contivpy.models.custom_if import custom_interface_names
from contivpy.models.external_interfaces import check_entries
from contivpy.models.k8s_codec import ExternalInterface, Pod, VppNode
from contivpy.sfc.paths import PodFacts


def pod_facts(pod: Pod) -> PodFacts:
    """What a path needs to know of a pod: labels, node, whether it runs (has an IP) and
    the names of the custom interfaces its annotations ask for."""
    return PodFacts(
        pod.namespace,
        pod.name,
        dict(pod.labels),
        pod.node_name,
        bool(pod.ip_address),
        custom_interface_names(pod.annotations),
    )


def external_facts(models: Iterable[ExternalInterface]) -> dict[str, dict[str, str]]:
    """ExternalInterface name -> node -> its VPP interface there, of the accepted entries
    (refused ones offer no instance to a chain)."""
    facts: dict[str, dict[str, str]] = {}
    for entry in check_entries(models)[0]:
        facts.setdefault(entry.name, {})[entry.node] = entry.vpp_interface
    return facts


def node_ids(records: Iterable[VppNode]) -> dict[str, int]:
    """Node name -> its ID, from the ``allocatedIDs/`` records (nameless ones skipped)."""
    return {record.name: record.id for record in records if record.name}
