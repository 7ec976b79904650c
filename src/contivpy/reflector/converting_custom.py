"""The contivpp.io/v1 custom resources (JSON as the API server sends them) to models. Pure.

In: one CustomNetwork, ExternalInterface, ServiceFunctionChain or CustomConfiguration object
and its name and namespace (read by ``converting``). Out: its model; a field of the wrong type
or an unknown enum value raises ``FieldProblem`` naming the field, which ``converting`` turns
into a ``ConversionError``. Fields follow the CRD schemas (``contivpy.sim.kube.crds``) and
Contiv-VPP's types; enum values are matched loosely (``L2``/``l2``, ``ExternalInterface``).
"""

from __future__ import annotations

from contivpy.models.k8s_codec import (
    ConfigItem,
    CustomConfiguration,
    CustomNetwork,
    ExternalInterface,
    NetworkType,
    NodeInterface,
    ServiceFunction,
    ServiceFunctionChain,
    ServiceFunctionType,
)
from contivpy.reflector.json_reading import JsonReader

_NETWORK_TYPES = {"l2": NetworkType.L2, "l3": NetworkType.L3, "stub": NetworkType.STUB}
_FUNCTION_TYPES = {
    "pod": ServiceFunctionType.POD,
    "externalinterface": ServiceFunctionType.EXTERNAL_INTERFACE,
}


def custom_network(obj: JsonReader, name: str, namespace: str) -> CustomNetwork:
    spec = obj.child_or_empty("spec")
    return CustomNetwork(
        name=name,
        namespace=namespace,
        type=spec.choice("type", _NETWORK_TYPES),
        subnet_cidr=spec.text("subnetCIDR"),
        subnet_one_node_prefix_len=spec.integer("subnetOneNodePrefixLen", minimum=0, maximum=128),
    )


def external_interface(obj: JsonReader, name: str, namespace: str) -> ExternalInterface:
    spec = obj.child_or_empty("spec")
    return ExternalInterface(
        name=name,
        namespace=namespace,
        type=spec.choice("type", _NETWORK_TYPES),
        network=spec.text("network"),
        nodes=[
            NodeInterface(
                node=node.text("node"),
                vpp_interface_name=node.text("vppInterfaceName"),
                ip=node.text("ip"),
                vlan=node.integer("vlan", minimum=0, maximum=4095),
            )
            for node in spec.children("nodes")
        ],
    )


def service_function_chain(obj: JsonReader, name: str, namespace: str) -> ServiceFunctionChain:
    spec = obj.child_or_empty("spec")
    return ServiceFunctionChain(
        name=name,
        namespace=namespace,
        unidirectional=spec.flag("unidirectional"),
        network=spec.text("network"),
        chain=[
            ServiceFunction(
                name=function.text("name"),
                type=function.choice("type", _FUNCTION_TYPES),
                pod_selector=function.text_map("podSelector"),
                interface=function.text("interface"),
                input_interface=function.text("inputInterface"),
                output_interface=function.text("outputInterface"),
            )
            for function in spec.children("chain")
        ],
    )


def custom_configuration(obj: JsonReader, name: str, namespace: str) -> CustomConfiguration:
    spec = obj.child_or_empty("spec")
    return CustomConfiguration(
        name=name,
        namespace=namespace,
        microservice=spec.text("microservice"),
        config_items=[
            ConfigItem(
                microservice=item.text("microservice"),
                module=item.text("module"),
                type=item.text("type"),
                version=item.text("version"),
                name=item.text("name"),
                data=item.text("data"),
            )
            for item in spec.children("configItems")
        ],
    )
