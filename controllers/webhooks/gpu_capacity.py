"""GPU capacity warnings for InferenceServices (beyond upstream).

"Two 70B models on four A100s" is caught at ``kubectl apply`` instead of as a Pending pod
an hour later: the InferenceService validator adds an admission **warning** (never a refusal:
nodes come and go, autoscalers add them) when

* one pod of a component asks for more of a GPU resource than any schedulable node can
  allocate, or
* the InferenceService asks for more in total (per-pod GPUs x ``minReplicas``, head and
  workers of a multi-node predictor) than the cluster has free.

:func:`gpu_demand` and :func:`gpu_warnings` are pure. :class:`GpuCapacity` keeps the numbers
they need up to date from informer events (Nodes; Pods as far as the manager's cache sees
them), so a request costs a few dictionary reads, never an API call or a scan of the cache.
"Free" is allocatable GPUs of Ready, schedulable nodes minus the GPU requests of
non-terminated pods bound to nodes, as seen by the pod cache (with upstream's cache
options that is the InferenceService pods: GPUs taken by other workloads are not
subtracted, so the warning errs on the quiet side). On UPDATE the InferenceService's own
running pods do not count as used: they are what the new spec replaces.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from apis.serving.constants import (
    DEFAULT_GPU_RESOURCE_TYPES,
    INFERENCE_SERVICE_POD_LABEL,
    STOP_ANNOTATION,
)
from apis.serving.v1beta1.inference_service_validation import PREDICTOR_FRAMEWORKS
from runtime.quantity import parse_quantity

__all__ = [
    "ComponentDemand",
    "GpuCapacity",
    "gpu_demand",
    "gpu_warnings",
    "resource_gpus",
]

_Obj = dict[str, Any]


def _obj(v: Any) -> _Obj:
    return v if isinstance(v, dict) else {}


def _count(value: Any) -> int:
    try:
        return max(0, math.ceil(parse_quantity(value)))
    except (ValueError, TypeError, ArithmeticError):
        return 0


def _wanted(name: str, gpu_types: Sequence[str] | None) -> bool:
    # None: every extended resource (names with a domain prefix, e.g. nvidia.com/gpu)
    return name in gpu_types if gpu_types is not None else "/" in name


def resource_gpus(resources: Any, gpu_types: Sequence[str] | None) -> dict[str, int]:
    """GPUs a container asks for, by resource name: its limits (extended resources must
    have requests equal to limits), else its requests. ``gpu_types=None``: every extended
    resource."""
    res = _obj(resources)
    out: dict[str, int] = {}
    for key in ("requests", "limits"):  # limits win
        for name, qty in _obj(res.get(key)).items():
            if _wanted(name, gpu_types):
                n = _count(qty)
                if n:
                    out[name] = n
    return out


def _pod_gpus(
    containers: Iterable[Any], init: Iterable[Any], gpu_types: Sequence[str] | None
) -> dict[str, int]:
    """A pod's effective GPU request: the sum over its containers, at least the largest
    init container's (they run one at a time, before the others)."""
    total: dict[str, int] = {}
    for c in containers:
        for k, n in resource_gpus(_obj(c).get("resources"), gpu_types).items():
            total[k] = total.get(k, 0) + n
    for c in init:
        for k, n in resource_gpus(_obj(c).get("resources"), gpu_types).items():
            total[k] = max(total.get(k, 0), n)
    return total


@dataclass(frozen=True)
class ComponentDemand:
    """``pods`` pods of ``component`` (``predictor``, ``predictor (workers)``...) each
    asking for ``per_pod`` GPUs."""

    component: str
    per_pod: Mapping[str, int]
    pods: int


def _replicas(comp: _Obj) -> int:
    n = comp.get("minReplicas")
    if isinstance(n, int) and not isinstance(n, bool):
        return max(n, 0)
    return 1


def gpu_demand(isvc: Mapping[str, Any], gpu_types: Sequence[str] = DEFAULT_GPU_RESOURCE_TYPES) -> (
    list[ComponentDemand]
):
    """The GPU-requesting pods an InferenceService (JSON) creates at its minimum scale.
    A stopped InferenceService asks for none."""
    meta = _obj(isvc.get("metadata"))
    if _obj(meta.get("annotations")).get(STOP_ANNOTATION) == "true":
        return []
    spec = _obj(isvc.get("spec"))
    out: list[ComponentDemand] = []
    for name in ("predictor", "transformer", "explainer"):
        comp = _obj(spec.get(name))
        if not comp:
            continue
        containers = [c for c in comp.get("containers") or [] if isinstance(c, dict)]
        if name == "predictor":
            for fw in PREDICTOR_FRAMEWORKS:
                impl = comp.get(fw)
                if isinstance(impl, dict):
                    containers.append(impl)
        elif name == "explainer" and isinstance(comp.get("art"), dict):
            containers.append(comp["art"])
        per_pod = _pod_gpus(containers, comp.get("initContainers") or [], gpu_types)
        worker = comp.get("workerSpec") if name == "predictor" else None
        if isinstance(worker, dict):
            out.extend(_multi_node(per_pod, worker, gpu_types))
        elif per_pod:
            out.append(ComponentDemand(name, per_pod, _replicas(comp)))
    return out


def _multi_node(head: dict[str, int], worker: _Obj, gpu_types: Sequence[str]) -> (
    list[ComponentDemand]
):
    """Head and worker pods of a multi-node predictor: ``tensorParallelSize`` x
    ``pipelineParallelSize`` GPUs in all; each pod's share is what its containers ask for,
    else ``tensorParallelSize`` (one pipeline stage per node)."""
    def size(key: str) -> int:
        v = worker.get(key)
        return v if isinstance(v, int) and not isinstance(v, bool) and v > 0 else 1

    tp, pp = size("tensorParallelSize"), size("pipelineParallelSize")
    workers = _pod_gpus(worker.get("containers") or [], [], gpu_types)
    kind = next(iter({**head, **workers}), gpu_types[0] if gpu_types else "nvidia.com/gpu")
    head_n = head.get(kind) or tp
    worker_n = workers.get(kind) or tp
    total = tp * pp
    out = [ComponentDemand("predictor", {kind: min(head_n, total)}, 1)]
    rest = max(total - head_n, 0)
    if rest:
        out.append(ComponentDemand("predictor workers", {kind: worker_n},
                                   math.ceil(rest / worker_n)))
    return out


def gpu_warnings(
    demand: Sequence[ComponentDemand],
    *,
    max_per_node: Mapping[str, int],
    free: Mapping[str, int],
    allocatable: Mapping[str, int],
    nodes: int,
) -> list[str]:
    """Warnings for ``demand`` against the cluster's GPUs (``max_per_node``: the most one
    schedulable node can allocate, ``free``: allocatable minus used, ``allocatable``: the
    total, all by resource name; ``nodes``: how many schedulable nodes there are)."""
    warnings: list[str] = []
    totals: dict[str, int] = {}
    for d in demand:
        for kind, n in sorted(d.per_pod.items()):
            totals[kind] = totals.get(kind, 0) + n * d.pods
            most = max_per_node.get(kind, 0)
            if n > most:
                where = (f"no node can allocate more than {most}" if most
                         else f"no node offers {kind}")
                warnings.append(
                    f"spec.{d.component.split()[0]}: each {d.component} pod requests {n} "
                    f"{kind} but {where}; the pod would stay Pending"
                )
    for kind, need in sorted(totals.items()):
        have = free.get(kind, 0)
        if need > have and max_per_node.get(kind, 0):
            parts = ", ".join(
                f"{d.component} {d.per_pod[kind]} x {d.pods} pod{'s' if d.pods != 1 else ''}"
                for d in demand if d.per_pod.get(kind) and d.pods
            )
            warnings.append(
                f"spec: the InferenceService requests {need} {kind} in total ({parts}) but the "
                f"cluster has {have} free ({allocatable.get(kind, 0)} allocatable on {nodes} "
                f"node{'s' if nodes != 1 else ''}); some pods would stay Pending"
            )
    return warnings


# ------------------------------------------------------------------------------ the tracker


def _get(obj: Any, *path: str) -> Any:
    for p in path:
        if obj is None:
            return None
        obj = obj.get(p) if isinstance(obj, dict) else getattr(obj, p, None)
    return obj


def _items(m: Any) -> Iterable[tuple[str, Any]]:
    return m.items() if isinstance(m, dict) else ()


def _node_key(obj: Any) -> str:
    return str(_get(obj, "metadata", "name") or "")


def _pod_key(obj: Any) -> str:
    return f"{_get(obj, 'metadata', 'namespace') or ''}/{_get(obj, 'metadata', 'name') or ''}"


class GpuCapacity:
    """Allocatable extended resources (GPUs among them) per schedulable node and what bound
    pods request of them, kept current by informer event handlers (:meth:`node_handler`,
    :meth:`pod_handler`); which of them are GPUs is decided per request (the
    ``multiNode.customGPUResourceTypeList`` of the config in force)."""

    def __init__(self) -> None:
        self.node_registration: Any = None
        """The node handler's ``HandlerRegistration`` (:meth:`attach_nodes`)."""
        self.pod_registration: Any = None
        """The pod handler's ``HandlerRegistration`` (:meth:`attach_pods`)."""
        self._nodes: dict[str, dict[str, int]] = {}
        self._pods: dict[str, tuple[dict[str, int], tuple[str, str] | None]] = {}
        self._used: dict[str, int] = {}
        self._used_by_isvc: dict[tuple[str, str], dict[str, int]] = {}

    def attach_nodes(self, informer: Any) -> Any:
        """Feed Node events of ``informer`` (a ``runtime.informer.Informer``) to this tracker;
        returns the handler's registration."""
        self.node_registration = informer.add_event_handler(self.node_handler())
        return self.node_registration

    def attach_pods(self, informer: Any) -> Any:
        """Feed Pod events of ``informer`` to this tracker; returns the registration."""
        self.pod_registration = informer.add_event_handler(self.pod_handler())
        return self.pod_registration

    @property
    def nodes_synced(self) -> bool:
        """Whether the node table is complete: the node handler has processed every node of
        the initial list (its registration's ``has_synced``). The informer's own
        ``has_synced`` is not enough: it is true once the list is in the store, while the
        events reach this handler later, through its buffer; warnings computed in between
        would say "no node offers nvidia.com/gpu" for a cluster full of GPUs."""
        reg = self.node_registration
        return bool(reg is not None and reg.has_synced())

    # ----------------------------------------------------------- nodes

    def _node_gpus(self, node: Any) -> dict[str, int] | None:
        """None for a node pods cannot be scheduled on (not Ready, or cordoned)."""
        if _get(node, "spec", "unschedulable"):
            return None
        ready = any(
            _get(c, "type") == "Ready" and _get(c, "status") == "True"
            for c in _get(node, "status", "conditions") or []
        )
        if not ready:
            return None
        out: dict[str, int] = {}
        for name, qty in _items(_get(node, "status", "allocatable")):
            if "/" in name:
                out[name] = _count(qty)
        return out

    def set_node(self, node: Any) -> None:
        gpus = self._node_gpus(node)
        if gpus is None:
            self._nodes.pop(_node_key(node), None)
        else:
            self._nodes[_node_key(node)] = gpus

    def delete_node(self, node: Any) -> None:
        self._nodes.pop(_node_key(getattr(node, "obj", node)), None)

    # ----------------------------------------------------------- pods

    def _pod_gpus(self, pod: Any) -> dict[str, int]:
        if not _get(pod, "spec", "nodeName") or _get(pod, "status", "phase") in (
            "Succeeded", "Failed"
        ):
            return {}

        def dump(cs: Any) -> list[_Obj]:
            out = []
            for c in cs or []:
                res = _get(c, "resources")
                out.append({"resources": {
                    "requests": dict(_items(_get(res, "requests"))),
                    "limits": dict(_items(_get(res, "limits"))),
                }})
            return out

        return _pod_gpus(dump(_get(pod, "spec", "containers")),
                         dump(_get(pod, "spec", "initContainers")), None)

    def _account(self, key: str, sign: int) -> None:
        entry = self._pods.get(key)
        if entry is None:
            return
        gpus, owner = entry
        for k, n in gpus.items():
            self._used[k] = self._used.get(k, 0) + sign * n
            if owner is not None:
                by = self._used_by_isvc.setdefault(owner, {})
                by[k] = by.get(k, 0) + sign * n
                if not any(by.values()):
                    del self._used_by_isvc[owner]

    def set_pod(self, pod: Any) -> None:
        key = _pod_key(pod)
        self._account(key, -1)
        self._pods.pop(key, None)
        gpus = self._pod_gpus(pod)
        if not gpus:
            return
        labels = _get(pod, "metadata", "labels") or {}
        isvc = labels.get(INFERENCE_SERVICE_POD_LABEL) if isinstance(labels, dict) else None
        owner = (str(_get(pod, "metadata", "namespace") or ""), isvc) if isvc else None
        self._pods[key] = (gpus, owner)
        self._account(key, +1)

    def delete_pod(self, pod: Any) -> None:
        key = _pod_key(getattr(pod, "obj", pod))
        self._account(key, -1)
        self._pods.pop(key, None)

    # ----------------------------------------------------------- handlers

    def node_handler(self) -> Any:
        from runtime.informer import ResourceEventHandlerFuncs

        return ResourceEventHandlerFuncs(
            add=lambda obj, _initial: self.set_node(obj),
            update=lambda _old, new: self.set_node(new),
            delete=self.delete_node,
        )

    def pod_handler(self) -> Any:
        from runtime.informer import ResourceEventHandlerFuncs

        return ResourceEventHandlerFuncs(
            add=lambda obj, _initial: self.set_pod(obj),
            update=lambda _old, new: self.set_pod(new),
            delete=self.delete_pod,
        )

    # ----------------------------------------------------------- reads

    def snapshot(self, exclude_isvc: tuple[str, str] | None = None) -> dict[str, Any]:
        """The keyword arguments of :func:`gpu_warnings`."""
        max_per_node: dict[str, int] = {}
        allocatable: dict[str, int] = {}
        for gpus in self._nodes.values():
            for k, n in gpus.items():
                max_per_node[k] = max(max_per_node.get(k, 0), n)
                allocatable[k] = allocatable.get(k, 0) + n
        own = self._used_by_isvc.get(exclude_isvc, {}) if exclude_isvc else {}
        free = {k: max(n - (self._used.get(k, 0) - own.get(k, 0)), 0)
                for k, n in allocatable.items()}
        return {"max_per_node": max_per_node, "free": free, "allocatable": allocatable,
                "nodes": len(self._nodes)}

    def warnings(
        self,
        isvc: Mapping[str, Any],
        gpu_types: Sequence[str] = DEFAULT_GPU_RESOURCE_TYPES,
        *,
        update: bool = False,
    ) -> list[str]:
        """Warnings for ``isvc`` (JSON); none until the node cache has synced."""
        if not self.nodes_synced:
            return []
        demand = gpu_demand(isvc, gpu_types)
        if not demand:
            return []
        meta = _obj(isvc.get("metadata"))
        own = (str(meta.get("namespace") or ""), str(meta.get("name") or "")) if update else None
        return gpu_warnings(demand, **self.snapshot(own))
