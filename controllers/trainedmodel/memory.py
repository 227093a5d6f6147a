"""Memory accounting of the models on a multi-model predictor (upstream
``trainedmodel/sharding/memory/strategy.go``, ``TrainedModelList.TotalRequestedMemory`` and
``inferenceservice/utils.IsMemoryResourceAvailable``).

A TrainedModel may load on its InferenceService when the memory of the models already
allocated to it (label ``serving.kserve.io/trainedmodel-allocated=<isvc>``) plus its own fits
in the predictor container's memory *limit*. Upstream has one shard per InferenceService
(id 0); so does this.

Pure. Differences from upstream: models being deleted no longer count (their memory is being
freed); a predictor without a ``kserve-container`` (a custom predictor that names it
otherwise) has no limit to fit in (upstream dereferences a nil container and panics).
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from apis.serving.v1alpha1.trained_model import TrainedModel
from apis.serving.v1beta1.inference_service import InferenceService
from apis.serving.v1beta1.predictor_implementation import get_predictor_implementation
from runtime.quantity import parse_quantity

__all__ = [
    "SHARD_ID",
    "is_memory_resource_available",
    "model_memory",
    "predictor_memory_limit",
    "total_requested_memory",
]

SHARD_ID = 0
"""``MemoryStrategy.GetOrAssignShard``: every model lives in shard 0."""


def model_memory(tm: TrainedModel) -> Decimal:
    """``spec.model.memory`` in bytes (0 when unparsable: the CRD schema refuses those)."""
    if tm.spec is None:
        return Decimal(0)
    try:
        return parse_quantity(str(tm.spec.model.memory))
    except ValueError:
        return Decimal(0)


def total_requested_memory(tms: Iterable[TrainedModel]) -> Decimal:
    """``TotalRequestedMemory``: the sum of the models' memory."""
    return sum((model_memory(tm) for tm in tms), Decimal(0))


def predictor_memory_limit(isvc: InferenceService) -> Decimal | None:
    """The memory limit of the predictor's container (0 when it sets none, as Go's
    ``Limits.Memory()``); None when the predictor has no implementation or container."""
    if isvc.spec is None:
        return None
    impl = get_predictor_implementation(isvc.spec.predictor)
    container = impl.container() if impl is not None else None
    if container is None:
        return None
    limits = container.resources.limits if container.resources is not None else None
    value = (limits or {}).get("memory")
    if value is None:
        return Decimal(0)
    try:
        return parse_quantity(value)
    except ValueError:
        return Decimal(0)


def is_memory_resource_available(isvc: InferenceService, total: Decimal) -> bool:
    """``IsMemoryResourceAvailable``: the predictor's memory limit is at least ``total``."""
    limit = predictor_memory_limit(isvc)
    return limit is not None and limit >= total
