"""Which nodes a LocalModelNodeGroup holds, and whether they are Ready (upstream
``controllerutils.CheckNodeAffinity`` over ``corev1helpers.MatchNodeSelectorTerms`` and
``reconcilers.IsNodeReady``).

A node belongs to a group when it matches the ``required`` node selector of the group's
``persistentVolumeSpec.nodeAffinity`` (a group without one holds no node), with
Kubernetes' semantics (``k8s.io/component-helpers/scheduling/corev1/nodeaffinity``): the
terms are ORed; a term ANDs its ``matchExpressions`` (node labels) and ``matchFields``
(``metadata.name``); a term with neither matches nothing; a term that does not parse is
skipped, and reported only when no other term matches. Pure: nodes and groups are JSON
dicts (``runtime.codec.object_to_dict``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

__all__ = [
    "NodeAffinityError",
    "group_affinity",
    "is_node_ready",
    "match_node_selector",
    "node_in_group",
]

_Json = Mapping[str, Any]


class NodeAffinityError(ValueError):
    """A node selector term that does not parse; ``field`` names it."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


def is_node_ready(node: _Json) -> bool:
    """The node's ``Ready`` condition is ``True``."""
    for cond in (node.get("status") or {}).get("conditions") or ():
        if cond.get("type") == "Ready":
            return bool(cond.get("status") == "True")
    return False


def _int(value: str) -> int | None:
    try:
        return int(value)
    except ValueError:
        return None


def _label_requirement(req: _Json, path: str) -> tuple[str, str, list[str]]:
    key = req.get("key") or ""
    op = req.get("operator") or ""
    values = [str(v) for v in req.get("values") or ()]
    if not key:
        raise NodeAffinityError(f"{path}.key", "a label key is required")
    if op in ("In", "NotIn"):
        if not values:
            raise NodeAffinityError(f"{path}.values",
                                    f"for '{op}' operator, values must be non-empty")
    elif op in ("Exists", "DoesNotExist"):
        if values:
            raise NodeAffinityError(f"{path}.values",
                                    f"values set must be empty for '{op}' operator")
    elif op in ("Gt", "Lt"):
        if len(values) != 1 or _int(values[0]) is None:
            raise NodeAffinityError(f"{path}.values",
                                    f"for '{op}' operator, exactly one integer value is required")
    else:
        raise NodeAffinityError(f"{path}.operator",
                                f"{op!r} is not a valid label selector operator")
    return key, op, values


def _label_matches(key: str, op: str, values: list[str], labels: Mapping[str, str]) -> bool:
    present = key in labels
    if op == "In":
        return present and labels[key] in values
    if op == "NotIn":
        return not present or labels[key] not in values
    if op == "Exists":
        return present
    if op == "DoesNotExist":
        return not present
    have = _int(labels[key]) if present else None
    if have is None:
        return False
    want = int(values[0])
    return have > want if op == "Gt" else have < want


def _field_requirement(req: _Json, path: str) -> tuple[str, str, str]:
    values = [str(v) for v in req.get("values") or ()]
    if len(values) != 1:
        raise NodeAffinityError(f"{path}.values", "must have one element")
    op = req.get("operator") or ""
    if op not in ("In", "NotIn"):
        raise NodeAffinityError(f"{path}.operator",
                                f'Unsupported value: "{op}": supported values: "In", "NotIn"')
    return req.get("key") or "", op, values[0]


def _term_matches(term: _Json, path: str, labels: Mapping[str, str],
                  fields: Mapping[str, str]) -> bool:
    exprs = term.get("matchExpressions") or ()
    flds = term.get("matchFields") or ()
    # parse everything first: a term with any bad requirement is an error, not a mismatch
    parsed = [_label_requirement(r, f"{path}.matchExpressions[{i}]") for i, r in enumerate(exprs)]
    parsed_fields = [_field_requirement(r, f"{path}.matchFields[{i}]")
                     for i, r in enumerate(flds)]
    if not parsed and not parsed_fields:
        return False
    if not all(_label_matches(k, op, vs, labels) for k, op, vs in parsed):
        return False
    if parsed_fields and fields:
        for key, op, value in parsed_fields:
            equal = key in fields and fields[key] == value
            if (op == "In") != equal:
                return False
    return True


def match_node_selector(selector: _Json | None, node: _Json, path: str = "nodeSelector") -> bool:
    """``MatchNodeSelectorTerms``: whether ``node`` matches the ``NodeSelector`` (JSON).
    Raises :class:`NodeAffinityError` when no term matches and some term did not parse."""
    if not selector:
        return False
    meta = node.get("metadata") or {}
    labels = {str(k): str(v) for k, v in (meta.get("labels") or {}).items()}
    fields = {"metadata.name": str(meta["name"])} if meta.get("name") else {}
    first_error: NodeAffinityError | None = None
    for i, term in enumerate(selector.get("nodeSelectorTerms") or ()):
        try:
            if _term_matches(term or {}, f"{path}.nodeSelectorTerms[{i}]", labels, fields):
                return True
        except NodeAffinityError as err:
            first_error = first_error or err
    if first_error is not None:
        raise first_error
    return False


def group_affinity(group: _Json) -> _Json | None:
    """The ``required`` node selector of a LocalModelNodeGroup (JSON), or None."""
    pv = (group.get("spec") or {}).get("persistentVolumeSpec") or {}
    return ((pv.get("nodeAffinity") or {}).get("required")) or None


def node_in_group(group: _Json, node: _Json) -> bool:
    """``CheckNodeAffinity``: ``node`` matches the group's PersistentVolume node affinity (a
    group without ``nodeAffinity.required`` holds no node). Raises :class:`NodeAffinityError`
    naming the field of a term that does not parse."""
    return match_node_selector(
        group_affinity(group), node,
        "spec.persistentVolumeSpec.nodeAffinity.required",
    )


def nodes_in_group(group: _Json, nodes: Sequence[_Json]) -> tuple[list[_Json], str | None]:
    """The nodes of ``nodes`` in ``group``, and the first parse error met (None if none)."""
    out: list[_Json] = []
    error: str | None = None
    for node in nodes:
        try:
            if node_in_group(group, node):
                out.append(node)
        except NodeAffinityError as err:
            error = error or str(err)
    return out, error
