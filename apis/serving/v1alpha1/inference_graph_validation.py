"""InferenceGraph validation: upstream ``inference_graph_validation.go`` (§4.5).

Nodes are checked in sorted name order (upstream iterates a Go map, so which error wins among
several is random there; here it is deterministic).
"""

from __future__ import annotations

from typing import Any

from apis.serving.validation import (
    NAME_FMT,
    FieldError,
    as_dict,
    as_obj,
    malformed_guard,
    validate_name,
)

__all__ = [
    "GRAPH_NAME_FMT",
    "validate_inference_graph",
    "validate_inference_graph_update",
]

GRAPH_NAME_FMT = NAME_FMT
ROOT_NODE = "root"


@malformed_guard("apis.serving.v1alpha1:InferenceGraph", decode_first=True)
def validate_inference_graph(graph: Any) -> list[str]:
    """CREATE: name, ``root`` node, unique step names per node, exactly one target per step,
    Splitter weights present and summing to 100. Returns warnings (none); raises
    :class:`FieldError`."""
    obj = as_dict(graph)
    name = as_obj(obj.get("metadata")).get("name") or ""
    nodes = as_obj(as_obj(obj.get("spec")).get("nodes"))
    validate_name(name, "InferenceGraph", article="The")
    if ROOT_NODE not in nodes:
        raise FieldError(
            "spec.nodes",
            "root node not found, InferenceGraph needs a node with name 'root' as the root node "
            "of the graph",
        )
    ordered = sorted(nodes)
    for node_name in ordered:
        seen: set[str] = set()
        for i, step in enumerate(as_obj(nodes[node_name]).get("steps") or []):
            step_name = as_obj(step).get("name") or ""
            if step_name:
                if step_name in seen:
                    raise FieldError(
                        f"spec.nodes[{node_name}].steps[{i}].name",
                        f'Node "{node_name}" of InferenceGraph "{name}" contains more than one '
                        f'step with name "{step_name}"',
                    )
                seen.add(step_name)
    for node_name in ordered:
        for i, step in enumerate(as_obj(nodes[node_name]).get("steps") or []):
            step = as_obj(step)
            count = sum(1 for k in ("nodeName", "serviceName", "serviceUrl") if step.get(k))
            step_name = step.get("name") or ""
            where = f'Step {i} ("{step_name}") in node "{node_name}" of InferenceGraph "{name}"'
            if count == 0:
                raise FieldError(
                    f"spec.nodes[{node_name}].steps[{i}]",
                    f"{where} does not specify an inference target",
                )
            if count != 1:
                raise FieldError(
                    f"spec.nodes[{node_name}].steps[{i}]",
                    f"{where} specifies more than one of nodeName, serviceName, serviceUrl",
                )
    for node_name in ordered:
        node = as_obj(nodes[node_name])
        if node.get("routerType") != "Splitter":
            continue
        total = 0
        for i, step in enumerate(node.get("steps") or []):
            step = as_obj(step)
            if step.get("weight") is None:
                raise FieldError(
                    f"spec.nodes[{node_name}].steps[{i}].weight",
                    f"InferenceGraph[{name}] Node[{node_name}] "
                    f"Route[{step.get('serviceName') or ''}] missing the 'Weight'",
                )
            total += int(step["weight"])
        if total != 100:
            raise FieldError(
                f"spec.nodes[{node_name}].steps",
                f"InferenceGraph[{name}] Node[{node_name}] splitter node: the sum of traffic "
                "weights for all routing targets should be 100",
            )
    return []


def validate_inference_graph_update(new: Any, old: Any = None) -> list[str]:
    """UPDATE: nothing for an object being deleted, else the CREATE rules."""
    obj = as_dict(new)
    if as_obj(obj.get("metadata")).get("deletionTimestamp") is not None:
        return []
    return validate_inference_graph(obj)
