"""Knative types that KServe's APIs embed (upstream imports them from ``knative.dev/pkg`` and
``knative.dev/serving``, outside KServe's own API packages). Shared by ``serving/v1alpha1``
and ``serving/v1beta1``; :mod:`apis.knative.condition_set` is knative's ConditionSet."""

from apis.knative.condition_set import ConditionManager, ConditionSet, semantic_equal
from apis.knative.duck import Addressable, Condition, DuckStatus, TrafficTarget

__all__ = [
    "Addressable",
    "Condition",
    "ConditionManager",
    "ConditionSet",
    "DuckStatus",
    "TrafficTarget",
    "semantic_equal",
]
