"""Builders of lightkube Deployments and Pods for the status-helper tests."""

from __future__ import annotations

from datetime import UTC, datetime

from lightkube.models.apps_v1 import Deployment, DeploymentCondition, DeploymentStatus
from lightkube.models.core_v1 import (
    ContainerState,
    ContainerStateRunning,
    ContainerStateTerminated,
    ContainerStateWaiting,
    ContainerStatus,
    Pod,
    PodCondition,
    PodStatus,
)
from lightkube.models.meta_v1 import ObjectMeta

T_DEPLOY = datetime(2024, 4, 1, 8, 0, 0, tzinfo=UTC)
"""When the Deployment conditions of the fixtures transitioned."""


def dc(t: str, s: str, reason: str = "", message: str = "") -> DeploymentCondition:
    return DeploymentCondition(
        type=t,
        status=s,
        reason=reason or None,
        message=message or None,
        lastTransitionTime=T_DEPLOY,
    )


def deployment(
    name: str, *conditions: DeploymentCondition, observed_generation: int | None = None
) -> Deployment:
    return Deployment(
        metadata=ObjectMeta(name=name),
        status=DeploymentStatus(
            conditions=list(conditions), observedGeneration=observed_generation
        ),
    )


def running() -> ContainerState:
    return ContainerState(running=ContainerStateRunning())


def terminated(reason: str, message: str = "", exit_code: int = 1) -> ContainerState:
    return ContainerState(
        terminated=ContainerStateTerminated(
            exitCode=exit_code, reason=reason, message=message or None
        )
    )


def waiting(reason: str, message: str = "") -> ContainerState:
    return ContainerState(waiting=ContainerStateWaiting(reason=reason, message=message or None))


def container(
    name: str,
    state: ContainerState | None = None,
    last: ContainerState | None = None,
    ready: bool = False,
) -> ContainerStatus:
    return ContainerStatus(
        name=name,
        image="img",
        imageID="",
        ready=ready,
        restartCount=0,
        state=state,
        lastState=last,
    )


def pod(
    name: str = "p",
    *,
    created: datetime | None = None,
    phase: str | None = None,
    ready: bool | None = None,
    init: list[ContainerStatus] | None = None,
    containers: list[ContainerStatus] | None = None,
    conditions: list[PodCondition] | None = None,
) -> Pod:
    conds = list(conditions or [])
    if ready is not None:
        conds.append(PodCondition(type="Ready", status="True" if ready else "False"))
    return Pod(
        metadata=ObjectMeta(name=name, creationTimestamp=created),
        status=PodStatus(
            phase=phase,
            conditions=conds or None,
            initContainerStatuses=init,
            containerStatuses=containers,
        ),
    )
