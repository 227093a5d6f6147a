"""Writing the InferenceService's status (upstream ``controller.go`` ``updateStatus``): only
when it changed, through the status subresource, with the readiness events and, beyond
upstream, a time-to-Ready histogram per deployment mode and runtime."""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime
from typing import Any

from prometheus_client import Histogram

from apis.knative.condition_set import parse_time
from apis.serving.v1beta1.inference_service_status import InferenceServiceStatus
from apis.serving.v1beta1.inference_service_status_conditions import (
    get_condition,
    inference_service_status_equal,
    is_ready,
    readiness_event,
)
from runtime import metrics

__all__ = ["TIME_TO_READY", "StatusWriter"]

log = logging.getLogger(__name__)

TIME_TO_READY = Histogram(
    "kserve_inferenceservice_time_to_ready_seconds",
    "Seconds from an InferenceService's creation (or its last loss of readiness) until it "
    "became Ready, by deployment mode and serving runtime.",
    ["deployment_mode", "runtime"],
    buckets=(1, 2, 5, 10, 20, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200),
    registry=metrics.REGISTRY,
)


def _runtime(status: InferenceServiceStatus) -> str:
    return status.serving_runtime_name or status.cluster_serving_runtime_name or ""


def _since(isvc: Any, previous: InferenceServiceStatus | None) -> float | None:
    """Seconds since the InferenceService was created or, if it was Ready and lost it,
    since the Ready condition last changed."""
    start: datetime | None = None
    cond = get_condition(previous, "Ready") if previous is not None else None
    if cond is not None and cond.status != "True" and cond.last_transition_time:
        start = parse_time(cond.last_transition_time)
    if start is None:
        created = isvc.metadata.creationTimestamp
        start = created if isinstance(created, datetime) else None
    if start is None:
        return None
    if start.tzinfo is None:
        start = start.replace(tzinfo=UTC)
    return max(0.0, (datetime.now(UTC) - start).total_seconds())


class StatusWriter:
    """Writes ``status`` when it differs from the cached object's, then records events."""

    def __init__(self, client: Any, recorder: Any) -> None:
        self.client = client
        self.recorder = recorder

    async def write(self, isvc: Any, previous: InferenceServiceStatus | None,
                    desired: InferenceServiceStatus, mode: str) -> bool:
        """True if a request was made. ``previous`` is the status the reconcile started from
        (the cached object's); ``desired`` gets ``deploymentMode`` set."""
        desired.deployment_mode = str(mode)
        if previous is not None and inference_service_status_equal(previous, desired, mode):
            return False
        started = time.perf_counter()
        body = desired.model_dump(mode="json", by_alias=True, exclude_none=True)
        try:
            await self.client.apply_status(isvc, body)
        except Exception as e:
            self.recorder.event(isvc, "Warning", "UpdateFailed", "UpdateStatus",
                                f"Failed to update status for InferenceService "
                                f"{isvc.metadata.name!r}: {e}")
            raise
        log.debug("status written in %.1f ms", (time.perf_counter() - started) * 1000)
        event = readiness_event(isvc.metadata.name, previous, desired)
        if event is not None:
            etype, reason, note = event
            self.recorder.event(isvc, etype, reason, "Reconcile", note)
        if is_ready(desired) and not is_ready(previous):
            seconds = _since(isvc, previous)
            if seconds is not None:
                TIME_TO_READY.labels(str(mode), _runtime(desired)).observe(seconds)
        return True
