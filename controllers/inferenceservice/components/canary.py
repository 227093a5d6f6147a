"""Standard-mode canaries (``spec.canary[]``; upstream ``components/predictor.go``:
``canaryReplicaCount``, ``adjustStableMinReplicasForCanaries``, ``buildCanaryPredictor``).

A canary predictor is the stable predictor with the canary's fields merged over it (mergo
``WithOverride``), without autoscaling, at a fixed replica count. The stable predictor's
``minReplicas`` shrinks by the replicas of the canaries that are ready, never below 1.
Pure; readiness is an input.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Mapping
from typing import Any

from apis.serving.v1beta1 import CanarySpec, InferenceService, PredictorSpec

__all__ = [
    "adjust_stable_min_replicas",
    "canary_inference_service",
    "canary_predictor_spec",
    "canary_ready_from_status",
    "canary_replica_count",
    "mergo_override",
]


def canary_replica_count(isvc: InferenceService, canary: CanarySpec) -> int:
    """``canaryReplicaCount``: the canary's ``minReplicas``, else
    ``ceil(stable minReplicas (default 1) * trafficPercent / 100)``."""
    if canary.predictor.min_replicas is not None:
        return canary.predictor.min_replicas
    stable = isvc.spec.predictor.min_replicas if isvc.spec is not None else None
    stable = 1 if stable is None else stable
    return math.ceil(stable * canary.traffic_percent / 100)


def canary_ready_from_status(isvc: InferenceService) -> dict[str, bool]:
    """Canary readiness as upstream reads it: ``status.canaryStatuses[].ready`` by name."""
    statuses = (isvc.status.canary_statuses if isvc.status is not None else None) or []
    return {s.name: s.ready for s in statuses}


def adjust_stable_min_replicas(
    isvc: InferenceService, ready: Mapping[str, bool] | None = None
) -> int | None:
    """``adjustStableMinReplicasForCanaries``: the stable predictor's ``minReplicas`` less the
    replicas (:func:`canary_replica_count`) of every canary whose ``predictor.name`` is ready
    in ``ready`` (default: :func:`canary_ready_from_status`), at least 1. Unchanged (possibly
    None) without canaries, without a stable ``minReplicas`` or without a ready canary."""
    spec = isvc.spec
    if spec is None:
        return None
    stable = spec.predictor.min_replicas
    if not spec.canary or stable is None:
        return stable
    ready = canary_ready_from_status(isvc) if ready is None else ready
    ready_replicas = sum(
        canary_replica_count(isvc, c)
        for c in spec.canary
        if ready.get(c.predictor.name or "", False)
    )
    if ready_replicas > 0:
        return max(stable - ready_replicas, 1)
    return stable


def _go_empty(value: Any) -> bool:
    return (
        value is None or value is False or value == 0 or value == "" or value == [] or value == {}
    )


def mergo_override(dst: Mapping[str, Any], src: Mapping[str, Any]) -> dict[str, Any]:
    """``mergo.Merge(&dst, src, mergo.WithOverride)`` on the JSON of Go structs: objects merge
    field by field (maps key by key), a non-empty list replaces, a scalar replaces unless it
    is empty (``""``, 0, false) while ``dst`` has a value; absent fields leave ``dst`` alone.
    A new object is returned."""
    out = copy.deepcopy(dict(dst))
    for key, value in src.items():
        if value is None or value == [] or value == {}:
            continue
        current = out.get(key)
        if current is None:
            out[key] = copy.deepcopy(value)
        elif isinstance(value, dict) and isinstance(current, dict):
            out[key] = mergo_override(current, value)
        elif isinstance(value, list) or not _go_empty(value):
            out[key] = copy.deepcopy(value)
    return out


_AUTOSCALING_FIELDS = ("maxReplicas", "scaleTarget", "scaleMetric", "autoScaling")


def canary_predictor_spec(
    stable: PredictorSpec, canary: CanarySpec, replicas: int
) -> PredictorSpec:
    """``buildCanaryPredictor``: ``canary.predictor`` merged over ``stable``
    (:func:`mergo_override`), autoscaling cleared (maxReplicas, scaleTarget, scaleMetric,
    autoScaling), ``minReplicas = replicas``."""
    merged = mergo_override(stable.to_kube(), canary.predictor.to_kube())
    for key in _AUTOSCALING_FIELDS:
        merged.pop(key, None)
    merged["minReplicas"] = replicas
    return PredictorSpec.model_validate(merged)


def canary_inference_service(isvc: InferenceService, canary: CanarySpec) -> InferenceService:
    """A copy of ``isvc`` whose predictor is the canary predictor (upstream's ``canaryISVC``):
    select its runtime with ``multi_node=False`` and build it with
    :func:`~.predictor.build_canary_predictor`."""
    replicas = canary_replica_count(isvc, canary)
    out = isvc.model_copy(deep=True)
    if out.spec is None:
        raise ValueError("the InferenceService has no spec")
    out.spec.predictor = canary_predictor_spec(out.spec.predictor, canary, replicas)
    return out
