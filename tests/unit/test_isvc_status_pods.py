"""Why a predictor is not Ready, from its pods (beyond upstream, issue 8)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from lightkube.models.core_v1 import Pod, PodCondition
from lightkube.models.meta_v1 import ObjectMeta

from apis.serving.v1beta1.inference_service_status import InferenceServiceStatus
from apis.serving.v1beta1.inference_service_status_conditions import propagate_raw_status
from apis.serving.v1beta1.inference_service_status_pods import (
    NotReadyReason,
    predictor_not_ready_reason,
)
from tests.unit._workloads import container, dc, deployment, pod, running, terminated, waiting

KC, SI = "kserve-container", "storage-initializer"
OLD = datetime(2024, 1, 1, tzinfo=UTC)
NEW = datetime(2024, 1, 2, tzinfo=UTC)
GPU_MSG = (
    "0/2 nodes are available: 2 Insufficient nvidia.com/gpu. preemption: 0/2 nodes are "
    "available: 2 No preemption victims found for incoming pod."
)
PULL_MSG = 'Back-off pulling image "kserve/sklearnserver:nope"'


def unschedulable(name: str = "p", message: str = GPU_MSG) -> Pod:
    return pod(
        name,
        phase="Pending",
        conditions=[
            PodCondition(
                type="PodScheduled", status="False", reason="Unschedulable", message=message
            )
        ],
    )


def serving(name: str = "ok", created: datetime = OLD) -> Pod:
    return pod(
        name,
        created=created,
        phase="Running",
        ready=True,
        containers=[container(KC, running(), ready=True)],
    )


CASES: list[tuple[str, list[Pod], NotReadyReason | None]] = [
    ("no pods", [], None),
    ("all serving", [serving("a"), serving("b")], None),
    (
        "pending for lack of GPUs",
        [unschedulable("sk-predictor-1")],
        NotReadyReason("Unschedulable", f"pod sk-predictor-1 cannot be scheduled: {GPU_MSG}"),
    ),
    (
        "pending for lack of CPU",
        [unschedulable("p", "0/2 nodes are available: 2 Insufficient cpu.")],
        NotReadyReason(
            "Unschedulable",
            "pod p cannot be scheduled: 0/2 nodes are available: 2 Insufficient cpu.",
        ),
    ),
    (
        "image pull back-off",
        [
            pod(
                "p",
                phase="Pending",
                containers=[container(KC, waiting("ImagePullBackOff", PULL_MSG))],
            )
        ],
        NotReadyReason("ImagePullBackOff", f'pod p: container "{KC}": {PULL_MSG}'),
    ),
    (
        "image pull error without a message",
        [pod("p", containers=[container(KC, waiting("ErrImagePull"))])],
        NotReadyReason("ErrImagePull", f'pod p: container "{KC}": cannot pull its image'),
    ),
    (
        "storage-initializer image cannot be pulled",
        [pod("p", init=[container(SI, waiting("ErrImagePull", "rpc error"))])],
        NotReadyReason("ErrImagePull", f'pod p: container "{SI}": rpc error'),
    ),
    (
        "downloading the model",
        [
            pod(
                "p",
                phase="Pending",
                init=[container(SI, running())],
                containers=[container(KC, waiting("PodInitializing"))],
            )
        ],
        NotReadyReason(
            "DownloadingModel", "pod p: the storage-initializer is downloading the model"
        ),
    ),
    (
        "downloading again after a failure",
        [pod("p", init=[container(SI, running(), terminated("Error", "403 Forbidden\n"))])],
        NotReadyReason(
            "DownloadingModel",
            "pod p: the storage-initializer is downloading the model (again, after a failure "
            "(last exit code 1, Error): 403 Forbidden)",
        ),
    ),
    (
        "download failed",
        [pod("p", init=[container(SI, terminated("Error", "no such bucket", exit_code=2))])],
        NotReadyReason(
            "ModelLoadFailed",
            "pod p: the storage-initializer failed to download the model (exit code 2: no such "
            "bucket)",
        ),
    ),
    (
        "download crash-looping",
        [
            pod(
                "p",
                init=[container(SI, waiting("CrashLoopBackOff"), terminated("Error", "denied"))],
            )
        ],
        NotReadyReason(
            "ModelLoadFailed",
            "pod p: the storage-initializer failed to download the model (crash-looping (last "
            "exit code 1, Error): denied)",
        ),
    ),
    (
        "model server crash-looping",
        [
            pod(
                "p",
                phase="Running",
                containers=[
                    container(
                        KC,
                        waiting("CrashLoopBackOff", "back-off 5m0s"),
                        terminated("Error", "OOM?"),
                    )
                ],
            )
        ],
        NotReadyReason(
            "CrashLoopBackOff",
            f'pod p: container "{KC}" is crash-looping (last exit code 1, Error): OOM?',
        ),
    ),
    (
        "container config error",
        [
            pod(
                "p",
                containers=[
                    container(KC, waiting("CreateContainerConfigError", 'secret "s3" not found'))
                ],
            )
        ],
        NotReadyReason(
            "CreateContainerConfigError", f'pod p: container "{KC}": secret "s3" not found'
        ),
    ),
    (
        "containers being created",
        [pod("p", phase="Pending", containers=[container(KC, waiting("ContainerCreating"))])],
        NotReadyReason("ContainerCreating", f'pod p: container "{KC}" is being created'),
    ),
    (
        "running, model still loading",
        [
            pod(
                "p",
                phase="Running",
                ready=False,
                containers=[container(KC, running(), ready=False)],
            )
        ],
        NotReadyReason("ContainerNotReady", f'pod p: container "{KC}" is running but not ready'),
    ),
    (
        "the most serious finding across pods wins",
        [
            serving("a", NEW),
            pod("b", created=NEW, containers=[container(KC, waiting("ContainerCreating"))]),
            pod(
                "c", created=OLD, containers=[container(KC, waiting("ImagePullBackOff", PULL_MSG))]
            ),
        ],
        NotReadyReason("ImagePullBackOff", f'pod c: container "{KC}": {PULL_MSG}'),
    ),
    (
        "equal findings: the newest pod, then the name",
        [
            pod("z", created=NEW, containers=[container(KC, waiting("ContainerCreating"))]),
            pod("y", created=OLD, containers=[container(KC, waiting("ContainerCreating"))]),
            pod("x", created=NEW, containers=[container(KC, waiting("ContainerCreating"))]),
        ],
        NotReadyReason("ContainerCreating", f'pod x: container "{KC}" is being created'),
    ),
    (
        "terminating pods are ignored",
        [
            Pod(
                metadata=ObjectMeta(name="old", deletionTimestamp=OLD),
                status=unschedulable().status,
            ),
            serving("new"),
        ],
        None,
    ),
    ("pod without status", [Pod(metadata=ObjectMeta(name="p"))], None),
]


@pytest.mark.parametrize(("pods", "want"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_predictor_not_ready_reason(pods: list[Pod], want: NotReadyReason | None) -> None:
    assert predictor_not_ready_reason(pods) == want


AVAILABLE_FALSE = dc("Available", "False", "MinimumReplicasUnavailable", "min availability")
T0 = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)


def _cond(t: str, s: str, reason: str, message: str) -> dict[str, Any]:
    return {
        "type": t,
        "status": s,
        "reason": reason,
        "message": message,
        "lastTransitionTime": "2024-05-01T12:00:00Z",
    }


@pytest.mark.parametrize(
    ("conditions", "want"),
    [
        (
            [AVAILABLE_FALSE],
            ("False", "ImagePullBackOff", "pod p: image"),
        ),
        (
            [dc("Progressing", "True", "ReplicaSetUpdated", "rolling")],
            ("Unknown", "ImagePullBackOff", "pod p: image"),
        ),
        (
            [AVAILABLE_FALSE, dc("ReplicaFailure", "True", "FailedCreate", "exceeded quota")],
            ("False", "FailedCreate", "exceeded quota"),
        ),
        (
            [dc("Available", "True", "MinimumReplicasAvailable", "ok")],
            ("True", "MinimumReplicasAvailable", "ok"),
        ),
    ],
    ids=["replaces the generic reason", "keeps Unknown", "keeps FailedCreate", "ignored when True"],
)
def test_propagate_raw_status_with_a_pod_reason(
    conditions: list[Any], want: tuple[str, str, str]
) -> None:
    status = InferenceServiceStatus()
    propagate_raw_status(
        status,
        "predictor",
        [deployment("sk-predictor", *conditions)],
        "http://u",
        not_ready=NotReadyReason("ImagePullBackOff", "pod p: image"),
        clock=lambda: T0,
    )
    state, reason, message = want
    ready = _cond("Ready", state, reason, message) if state != "True" else None
    got = status.to_kube()["conditions"]
    assert got[0] == _cond("PredictorReady", state, reason, message)
    if ready is not None:
        assert got[1] == ready
