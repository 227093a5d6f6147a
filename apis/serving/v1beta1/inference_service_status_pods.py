"""Why a predictor is not Ready, read from its pods (beyond upstream: upstream's
PredictorReady only repeats the Deployment's ``MinimumReplicasUnavailable``).

:func:`predictor_not_ready_reason` looks at every live pod (newest first) and names the most
serious thing it finds, most serious first:

=========================  =====================================================================
reason                     when
=========================  =====================================================================
``Unschedulable``          PodScheduled False/Unschedulable: the scheduler's message says what
                           is missing (``Insufficient nvidia.com/gpu``, ``Insufficient cpu``...)
``ErrImagePull``,          a container cannot pull its image (kubelet's waiting reason and
``ImagePullBackOff``, ...  message, which names the image)
``ModelLoadFailed``        the storage-initializer failed (upstream's FailureReason for it)
``CrashLoopBackOff``,      a container keeps crashing or cannot be created (its last exit code
``CreateContainerError``,  and termination message)
...
``DownloadingModel``       the storage-initializer is running
``ContainerCreating``      containers are being created (image pull, volumes)
``ContainerNotReady``      running but its readiness probe does not pass yet (model loading)
=========================  =====================================================================

Pass it to :func:`~.inference_service_status_conditions.propagate_raw_status`
(``not_ready=``): a not-True PredictorReady (and so Ready) then carries it instead of the
Deployment's generic reason, in one transition. Pure: pods are lightkube ``core_v1.Pod``
objects; no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

from lightkube.models.core_v1 import ContainerStatus, Pod

from apis.knative.condition_set import STATUS_FALSE
from apis.serving.constants import (
    STATE_REASON_CRASH_LOOP_BACK_OFF,
    STATE_REASON_ERROR,
    STORAGE_INITIALIZER_CONTAINER,
)
from apis.serving.v1beta1.inference_service_status_model import sort_pods_newest_first

__all__ = [
    "IMAGE_PULL_REASONS",
    "REASON_CONTAINER_CREATING",
    "REASON_CONTAINER_NOT_READY",
    "REASON_DOWNLOADING_MODEL",
    "REASON_MODEL_LOAD_FAILED",
    "REASON_UNSCHEDULABLE",
    "NotReadyReason",
    "predictor_not_ready_reason",
]

REASON_UNSCHEDULABLE = "Unschedulable"
REASON_MODEL_LOAD_FAILED = "ModelLoadFailed"
REASON_DOWNLOADING_MODEL = "DownloadingModel"
REASON_CONTAINER_CREATING = "ContainerCreating"
REASON_CONTAINER_NOT_READY = "ContainerNotReady"

IMAGE_PULL_REASONS = frozenset(
    {"ErrImagePull", "ImagePullBackOff", "InvalidImageName", "ErrImageNeverPull"}
)
"""Kubelet waiting reasons of a container whose image cannot be pulled."""
_CONTAINER_ERROR_REASONS = frozenset(
    {
        STATE_REASON_CRASH_LOOP_BACK_OFF,
        "CreateContainerConfigError",
        "CreateContainerError",
        "RunContainerError",
    }
)
_CREATING_REASONS = frozenset({"ContainerCreating", "PodInitializing"})

# Severity ranks: lower is more serious.
_UNSCHEDULABLE, _IMAGE, _MODEL_FAILED, _CRASHING, _DOWNLOADING, _CREATING, _NOT_READY = range(7)


class NotReadyReason(NamedTuple):
    """A condition reason and its human message."""

    reason: str
    message: str


def _pod_name(pod: Pod) -> str:
    return (pod.metadata.name if pod.metadata is not None else None) or "<unnamed>"


def _exit(cs: ContainerStatus) -> str:
    last = cs.lastState.terminated if cs.lastState is not None else None
    if last is None:
        return ""
    detail = f"last exit code {last.exitCode}"
    if last.reason:
        detail += f", {last.reason}"
    text = f" ({detail})"
    if last.message:
        text += f": {last.message.strip()}"
    return text


def _container_findings(
    pod: str, cs: ContainerStatus, init: bool
) -> list[tuple[int, NotReadyReason]]:
    out: list[tuple[int, NotReadyReason]] = []
    state = cs.state
    waiting = state.waiting if state is not None else None
    terminated = state.terminated if state is not None else None
    running = state.running if state is not None else None
    where = f'pod {pod}: container "{cs.name}"'
    is_storage = init and cs.name == STORAGE_INITIALIZER_CONTAINER
    if waiting is not None and waiting.reason in IMAGE_PULL_REASONS:
        detail = waiting.message or "cannot pull its image"
        out.append((_IMAGE, NotReadyReason(waiting.reason, f"{where}: {detail}")))
    elif is_storage and (
        (terminated is not None and terminated.reason == STATE_REASON_ERROR)
        or (waiting is not None and waiting.reason == STATE_REASON_CRASH_LOOP_BACK_OFF)
    ):
        if terminated is not None:
            detail = f"exit code {terminated.exitCode}"
            if terminated.message:
                detail += f": {terminated.message.strip()}"
        else:
            detail = "crash-looping" + _exit(cs)
        message = f"pod {pod}: the storage-initializer failed to download the model ({detail})"
        out.append((_MODEL_FAILED, NotReadyReason(REASON_MODEL_LOAD_FAILED, message)))
    elif waiting is not None and waiting.reason in _CONTAINER_ERROR_REASONS:
        if waiting.reason == STATE_REASON_CRASH_LOOP_BACK_OFF:
            message = f"{where} is crash-looping{_exit(cs)}"
        else:
            message = f"{where}: {waiting.message or waiting.reason}"
        out.append((_CRASHING, NotReadyReason(waiting.reason, message)))
    elif is_storage and running is not None:
        message = f"pod {pod}: the storage-initializer is downloading the model"
        if cs.lastState is not None and cs.lastState.terminated is not None:
            message += " (again, after a failure" + _exit(cs) + ")"
        out.append((_DOWNLOADING, NotReadyReason(REASON_DOWNLOADING_MODEL, message)))
    elif waiting is not None and waiting.reason in _CREATING_REASONS:
        message = f"{where} is being created"
        out.append((_CREATING, NotReadyReason(REASON_CONTAINER_CREATING, message)))
    elif not init and running is not None and not cs.ready:
        message = f"{where} is running but not ready"
        out.append((_NOT_READY, NotReadyReason(REASON_CONTAINER_NOT_READY, message)))
    return out


def _pod_findings(pod: Pod) -> list[tuple[int, NotReadyReason]]:
    name = _pod_name(pod)
    st = pod.status
    if st is None:
        return []
    out: list[tuple[int, NotReadyReason]] = []
    for cond in st.conditions or ():
        if (
            cond.type == "PodScheduled"
            and cond.status == STATUS_FALSE
            and cond.reason == REASON_UNSCHEDULABLE
        ):
            message = f"pod {name} cannot be scheduled: {cond.message or 'no node fits'}"
            out.append((_UNSCHEDULABLE, NotReadyReason(REASON_UNSCHEDULABLE, message)))
    for cs in st.initContainerStatuses or ():
        out.extend(_container_findings(name, cs, init=True))
    for cs in st.containerStatuses or ():
        out.extend(_container_findings(name, cs, init=False))
    return out


def predictor_not_ready_reason(pods: Iterable[Pod]) -> NotReadyReason | None:
    """The most serious reason the predictor's pods are not serving, or None when they show
    nothing wrong (all running and ready, or no pods). Terminating pods are ignored; among
    equally serious findings the newest pod (then name) wins, init containers before
    containers."""
    best: tuple[int, NotReadyReason] | None = None
    for pod in sort_pods_newest_first(pods):
        if pod.metadata is not None and pod.metadata.deletionTimestamp is not None:
            continue
        for rank, found in _pod_findings(pod):
            if best is None or rank < best[0]:
                best = (rank, found)
    return best[1] if best is not None else None
