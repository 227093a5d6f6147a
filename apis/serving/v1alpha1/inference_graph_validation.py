"""InferenceGraph validation: upstream ``inference_graph_validation.go`` (§4.5).

Nodes are checked in sorted name order (upstream iterates a Go map, so which error wins among
several is random there; here it is deterministic).
"""

from __future__ import annotations

import re
from typing import Any

from apis.serving.validation import FieldError, as_dict, malformed_guard

__all__ = [
    "GRAPH_NAME_FMT",
    "validate_inference_graph",
    "validate_inference_graph_update",
]

GRAPH_NAME_FMT = "[a-z]([-a-z0-9]*[a-z0-9])?"
_GRAPH_NAME_RE = re.compile("^" + GRAPH_NAME_FMT + "$")
ROOT_NODE = "root"


def _obj(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


@malformed_guard("apis.serving.v1alpha1:InferenceGraph", decode_first=True)
def validate_inference_graph(graph: Any) -> list[str]:
    """CREATE: name, ``root`` node, unique step names per node, exactly one target per step,
    Splitter weights present and summing to 100. Returns warnings (none); raises
    :class:`FieldError`."""
    obj = as_dict(graph)
    name = _obj(obj.get("metadata")).get("name") or ""
    nodes = _obj(_obj(obj.get("spec")).get("nodes"))
    if not _GRAPH_NAME_RE.match(name):
        raise FieldError(
            "metadata.name",
            f'The InferenceGraph "{name}" is invalid: a InferenceGraph name must consist of lower '
            "case alphanumeric characters or '-', and must start with alphabetical character. "
            f'(e.g. "my-name" or "abc-123", regex used for validation is \'{GRAPH_NAME_FMT}\')',
        )
    if ROOT_NODE not in nodes:
        raise FieldError(
            "spec.nodes",
            "root node not found, InferenceGraph needs a node with name 'root' as the root node "
            "of the graph",
        )
    ordered = sorted(nodes)
    for node_name in ordered:
        seen: set[str] = set()
        for i, step in enumerate(_obj(nodes[node_name]).get("steps") or []):
            step_name = _obj(step).get("name") or ""
            if step_name:
                if step_name in seen:
                    raise FieldError(
                        f"spec.nodes[{node_name}].steps[{i}].name",
                        f'Node "{node_name}" of InferenceGraph "{name}" contains more than one '
                        f'step with name "{step_name}"',
                    )
                seen.add(step_name)
    for node_name in ordered:
        for i, step in enumerate(_obj(nodes[node_name]).get("steps") or []):
            step = _obj(step)
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
        node = _obj(nodes[node_name])
        if node.get("routerType") != "Splitter":
            continue
        total = 0
        for i, step in enumerate(node.get("steps") or []):
            step = _obj(step)
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
    if _obj(obj.get("metadata")).get("deletionTimestamp") is not None:
        return []
    return validate_inference_graph(obj)
