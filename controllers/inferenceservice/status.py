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
from runtime.apply import first_difference
from runtime.written import WrittenObjects

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


def keep_transition_times(previous: InferenceServiceStatus | None,
                          desired: InferenceServiceStatus) -> None:
    """A condition that ends the reconcile as it started keeps its ``lastTransitionTime``
    (a reconcile may set it Unknown and back on the way)."""
    if previous is None:
        return
    before = {c.type: c for c in previous.conditions or ()}
    for c in desired.conditions or ():
        old = before.get(c.type)
        if old is not None and (old.status, old.reason, old.message, old.severity) == (
                c.status, c.reason, c.message, c.severity):
            c.last_transition_time = old.last_transition_time


class StatusWriter:
    """Writes ``status`` when it differs from the cached object's, then records events.

    Progress while not Ready is coalesced: a change from one not-Ready status to another
    (the Deployment going from "new ReplicaSet created" to "minimum replicas unavailable",
    a pod from ContainerCreating to Running) waits up to :attr:`coalesce` seconds for the
    next one, so an InferenceService that becomes Ready quickly costs two status writes
    (created, Ready) instead of one per step. Readiness changes, the first status and
    anything that keeps changing for longer are written at once.
    """

    def __init__(self, client: Any, recorder: Any, written: WrittenObjects | None = None,
                 *, coalesce: float = 3.0) -> None:
        self.client = client
        self.recorder = recorder
        self.written = written
        self.coalesce = coalesce
        self._deferred: dict[tuple[str, str], float] = {}

    def _defer(self, isvc: Any, previous: InferenceServiceStatus | None,
               desired: InferenceServiceStatus) -> float | None:
        """Seconds to wait before writing this change, or None to write it now."""
        key = (isvc.metadata.namespace, isvc.metadata.name)
        if (self.coalesce <= 0 or previous is None or not previous.conditions
                or is_ready(previous) or is_ready(desired)):
            self._deferred.pop(key, None)
            return None
        now = time.monotonic()
        first = self._deferred.setdefault(key, now)
        left = first + self.coalesce - now
        if left <= 0:
            del self._deferred[key]
            return None
        return left

    async def write(self, isvc: Any, previous: InferenceServiceStatus | None,
                    desired: InferenceServiceStatus, mode: str) -> float | None:
        """Write ``desired`` if it differs from ``previous`` (the status the reconcile
        started from, the cached object's; ``desired`` gets ``deploymentMode`` set). Returns
        the seconds after which to reconcile again to write a coalesced change, else None."""
        desired.deployment_mode = str(mode)
        keep_transition_times(previous, desired)
        if previous is not None and inference_service_status_equal(previous, desired, mode):
            self._deferred.pop((isvc.metadata.namespace, isvc.metadata.name), None)
            return None
        wait = self._defer(isvc, previous, desired)
        if wait is not None:
            return wait
        started = time.perf_counter()
        body = desired.model_dump(mode="json", by_alias=True, exclude_none=True)
        if log.isEnabledFor(logging.DEBUG):
            old = previous.model_dump(mode="json", by_alias=True, exclude_none=True) \
                if previous is not None else None
            log.debug("status of %s/%s changed at %s: %s -> %s", isvc.metadata.namespace,
                      isvc.metadata.name, first_difference(body, old) or "(removed fields)",
                      (old or {}).get("conditions"), body.get("conditions"))
        try:
            result = await self.client.apply_status(isvc, body)
        except Exception as e:
            self.recorder.event(isvc, "Warning", "UpdateFailed", "UpdateStatus",
                                f"Failed to update status for InferenceService "
                                f"{isvc.metadata.name!r}: {e}")
            raise
        log.debug("status written in %.1f ms", (time.perf_counter() - started) * 1000)
        if self.written is not None and result is not None:
            self.written.remember(result)
        event = readiness_event(isvc.metadata.name, previous, desired)
        if event is not None:
            etype, reason, note = event
            self.recorder.event(isvc, etype, reason, "Reconcile", note)
        if is_ready(desired) and not is_ready(previous):
            seconds = _since(isvc, previous)
            if seconds is not None:
                TIME_TO_READY.labels(str(mode), _runtime(desired)).observe(seconds)
        return None
