"""InferenceService status helpers: upstream's ``pkg/apis/serving/v1beta1/
inference_service_status_test.go`` (all 19 test functions, as tables asserting the whole
resulting status) plus the stop, canary, readiness-event and comparison rules."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from lightkube.models.apps_v1 import Deployment

from apis.knative import Condition
from apis.knative.serving import ServiceStatus
from apis.serving.v1beta1 import InferenceService
from apis.serving.v1beta1.inference_service_status import (
    CanaryStatus,
    ComponentStatusSpec,
    FailureInfo,
    InferenceServiceStatus,
    ModelRevisionStates,
    ModelStatus,
)
from apis.serving.v1beta1.inference_service_status_conditions import (
    clear_condition,
    failed_condition_types,
    get_condition,
    get_deployment_condition,
    inference_service_status_equal,
    initialize_conditions,
    is_condition_false,
    is_condition_ready,
    is_ready,
    propagate_canary_status,
    propagate_raw_status,
    propagate_raw_status_with_messages,
    readiness_event,
    set_condition,
)
from apis.serving.v1beta1.inference_service_status_knative import (
    propagate_cross_component_status,
    propagate_status,
)
from apis.serving.v1beta1.inference_service_status_model import (
    count_ready_pods,
    mark_invalid_spec,
    propagate_model_status,
    sort_pods_newest_first,
    update_model_revision_states,
    update_model_transition_status,
)
from apis.serving.v1beta1.inference_service_status_stop import (
    is_stop_requested,
    mark_component_stopped,
    mark_predictor_stopped,
    propagate_stopped_condition,
)
from tests.unit._workloads import (
    container,
    dc,
    deployment,
    pod,
    running,
    terminated,
    waiting,
)

T0 = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)
T0S = "2024-05-01T12:00:00Z"
T_DEPLOY_S = "2024-04-01T08:00:00Z"
URL = "http://test-predictor-default.default.example.com"


def clock() -> datetime:
    return T0


def c(t: str, s: str, reason: str = "", message: str = "", info: bool = False) -> dict[str, str]:
    """An expected condition as it serialises (fixed clock; severity Info or omitted)."""
    out = {"type": t, "status": s, "lastTransitionTime": T0S}
    if reason:
        out["reason"] = reason
    if message:
        out["message"] = message
    if info:
        out["severity"] = "Info"
    return out


def dump(status: InferenceServiceStatus) -> dict[str, Any]:
    return status.to_kube()


def with_conditions(*conds: tuple[str, str]) -> InferenceServiceStatus:
    return InferenceServiceStatus(
        conditions=[Condition(type=t, status=s) for t, s in conds],
    )


# --- TestInferenceServiceDuckType -----------------------------------------------------------------


def test_inference_service_implements_the_conditions_duck_type() -> None:
    isvc = InferenceService.model_validate(
        {
            "apiVersion": "serving.kserve.io/v1beta1",
            "kind": "InferenceService",
            "metadata": {"name": "sk", "namespace": "ns"},
            "spec": {"predictor": {"model": {"modelFormat": {"name": "sklearn"}}}},
            "status": {
                "conditions": [
                    {"type": "Ready", "status": "True", "lastTransitionTime": T0S},
                    {"type": "Stopped", "status": "False", "severity": "Info"},
                ]
            },
        }
    )
    assert isvc.status is not None
    assert is_ready(isvc.status)
    stopped = get_condition(isvc.status, "Stopped")
    assert stopped is not None and (stopped.status, stopped.severity) == ("False", "Info")
    assert isvc.to_kube()["status"]["conditions"][0] == {
        "type": "Ready",
        "status": "True",
        "lastTransitionTime": T0S,
    }


# --- TestPropagateRawStatus -----------------------------------------------------------------------

AVAILABLE_TRUE = dc(
    "Available", "True", "MinimumReplicasAvailable", "Deployment has minimum availability."
)
AVAILABLE_FALSE = dc(
    "Available",
    "False",
    "MinimumReplicasUnavailable",
    "Deployment does not have minimum availability.",
)
UNAVAILABLE = ("MinimumReplicasUnavailable", "Deployment does not have minimum availability.")
RAW = [
    (
        "Available true",
        [AVAILABLE_TRUE],
        ("True", "MinimumReplicasAvailable", "Deployment has minimum availability."),
    ),
    (
        "Available true, Progressing succeeded",
        [
            AVAILABLE_TRUE,
            dc(
                "Progressing",
                "True",
                "NewReplicaSetAvailable",
                "ReplicaSet has successfully progressed.",
            ),
        ],
        ("True", "NewReplicaSetAvailable", "ReplicaSet has successfully progressed."),
    ),
    (
        "Available true, Progressing failed",
        [AVAILABLE_TRUE, dc("Progressing", "False", "", "ProgressDeadlineExceeded")],
        ("False", "", "ProgressDeadlineExceeded"),
    ),
    (
        "Available false, Progressing failed",
        [AVAILABLE_FALSE, dc("Progressing", "False", "", "Some error happened")],
        ("False", *UNAVAILABLE),
    ),
    (
        "Available false, Progressing completed",
        [AVAILABLE_FALSE, dc("Progressing", "True", "NewReplicaSetAvailable", "")],
        ("False", *UNAVAILABLE),
    ),
    (
        "Available false, Progressing ongoing",
        [AVAILABLE_FALSE, dc("Progressing", "True", "NewReplicaSetCreated", "")],
        ("False", *UNAVAILABLE),
    ),
    (
        "Available true, ReplicaFailure true",
        [AVAILABLE_TRUE, dc("ReplicaFailure", "True", "replica failure", "replica failure")],
        ("False", "replica failure", "replica failure"),
    ),
    (
        "Progressing ongoing, no Available",
        [dc("Progressing", "True", "ReplicaSetUpdated", "rolling")],
        ("Unknown", "ReplicaSetUpdated", "rolling"),
    ),
    (
        "Progressing False without message is not a failure",
        [AVAILABLE_TRUE, dc("Progressing", "False", "Paused", "")],
        ("True", "MinimumReplicasAvailable", "Deployment has minimum availability."),
    ),
]


@pytest.mark.parametrize(("conditions", "want"), [r[1:] for r in RAW], ids=[r[0] for r in RAW])
def test_propagate_raw_status(conditions: list[Any], want: tuple[str, str, str]) -> None:
    status = InferenceServiceStatus()
    propagate_raw_status(
        status, "predictor", [deployment("sk-predictor", *conditions)], URL, clock=clock
    )
    state, reason, message = want
    # Ready follows PredictorReady when it is not True; True PredictorReady alone leaves Ready
    # Unknown because IngressReady is not there yet.
    ready = c("Ready", state, reason, message) if state != "True" else c("Ready", "Unknown")
    expected: dict[str, Any] = {
        "conditions": [c("PredictorReady", state, reason, message), ready],
        "components": {"predictor": {"url": URL} if state == "True" else {}},
    }
    assert dump(status) == expected
    assert is_condition_ready(status, "PredictorReady") is (state == "True")


def test_propagate_raw_status_keeps_the_url_when_not_ready_and_takes_the_generation() -> None:
    status = InferenceServiceStatus(
        components={"predictor": ComponentStatusSpec(url="http://old")}, observed_generation=2
    )
    dep = deployment("sk-predictor", AVAILABLE_FALSE, observed_generation=7)
    propagate_raw_status(status, "predictor", [dep], URL, generation=3, clock=clock)
    assert dump(status) == {
        "observedGeneration": 3,
        "conditions": [
            c("PredictorReady", "False", *UNAVAILABLE),
            c("Ready", "False", *UNAVAILABLE),
        ],
        "components": {"predictor": {"url": "http://old"}},
    }
    # Without the InferenceService's generation: upstream's (the Deployment's).
    propagate_raw_status(status, "predictor", [dep], URL, clock=clock)
    assert status.observed_generation == 7


# --- TestPropagateRawStatus_EmptyDeploymentList ---------------------------------------------------


def test_propagate_raw_status_empty_deployment_list() -> None:
    status = InferenceServiceStatus()
    propagate_raw_status(status, "predictor", [], URL, clock=clock)
    assert is_condition_false(status, "PredictorReady")
    assert dump(status) == {
        "conditions": [c("PredictorReady", "False"), c("Ready", "False")],
        "components": {"predictor": {}},
    }


# --- TestPropagateRawStatusWithMessages (+ _AllComponents) ----------------------------------------


@pytest.mark.parametrize(
    ("component", "condition", "ready"),
    [
        ("predictor", "PredictorReady", c("Ready", "False", "ReconcileFailed", "some error")),
        ("transformer", "TransformerReady", None),
        ("explainer", "ExplainerReady", None),
    ],
)
def test_propagate_raw_status_with_messages(
    component: str, condition: str, ready: dict[str, str] | None
) -> None:
    status = InferenceServiceStatus()
    propagate_raw_status_with_messages(
        status, component, "ReconcileFailed", "some error", "False", clock=clock
    )
    # Transformer/Explainer readiness is Info severity and does not touch Ready.
    info = component != "predictor"
    own = c(condition, "False", "ReconcileFailed", "some error", info=info)
    assert dump(status) == {
        "conditions": sorted([own, *([ready] if ready else [])], key=lambda x: x["type"]),
        "components": {component: {}},
    }


def test_unknown_component_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown InferenceService component 'router'"):
        propagate_raw_status_with_messages(InferenceServiceStatus(), "router", "R", "m", "False")


# --- TestPropagateStatus (Knative) ----------------------------------------------------------------


def _ksvc(latest_ready: str, latest_created: str, percent: int) -> ServiceStatus:
    return ServiceStatus.model_validate(
        {
            "conditions": [
                {"type": "Foo", "status": "True"},
                {"type": "RoutesReady", "status": "True"},
                {"type": "ConfigurationsReady", "status": "True"},
                {"type": "Ready", "status": "True"},
            ],
            "latestReadyRevisionName": latest_ready,
            "latestCreatedRevisionName": latest_created,
            "traffic": [
                {
                    "revisionName": "test-predictor-default-0001",
                    "percent": percent,
                    "latestRevision": True,
                }
            ],
            "address": {},
            "url": URL,
        }
    )


KSVC_CONDITIONS = [
    c("PredictorConfigurationReady", "True", info=True),
    c("PredictorReady", "True"),
    c("PredictorRouteReady", "True", info=True),
    c("Ready", "Unknown"),
]
TRAFFIC = {"revisionName": "test-predictor-default-0001", "latestRevision": True}
REV = "test-predictor-default-0001"


@pytest.mark.parametrize(
    ("initial", "ksvc", "want_component"),
    [
        (
            InferenceServiceStatus(),
            _ksvc(REV, "", 100),
            {
                "latestReadyRevision": REV,
                "latestRolledoutRevision": REV,
                "traffic": [{**TRAFFIC, "percent": 100}],
                "url": URL,
                "address": {},
            },
        ),
        (
            InferenceServiceStatus(
                components={"predictor": ComponentStatusSpec(latest_rolledout_revision=REV)}
            ),
            _ksvc(REV, REV, 90),
            {
                "latestReadyRevision": REV,
                "latestCreatedRevision": REV,
                "latestRolledoutRevision": REV,
                "traffic": [{**TRAFFIC, "percent": 90}],
                "url": URL,
                "address": {},
            },
        ),
    ],
    ids=["traffic routing for latest revision", "traffic routing for rolled-out revision"],
)
def test_propagate_status(
    initial: InferenceServiceStatus, ksvc: ServiceStatus, want_component: dict[str, Any]
) -> None:
    propagate_status(initial, "predictor", ksvc, clock=clock)
    assert is_condition_ready(initial, "PredictorReady")
    assert dump(initial) == {
        "conditions": KSVC_CONDITIONS,
        "components": {"predictor": want_component},
    }


def test_propagate_status_rollback_and_promotion() -> None:
    status = InferenceServiceStatus(
        components={
            "predictor": ComponentStatusSpec(
                latest_rolledout_revision="r2", previous_rolledout_revision="r1"
            )
        }
    )
    # r2 rolled back: the latest revision gets 90 %, the same revision 10 % more under a tag.
    ksvc = ServiceStatus.model_validate(
        {
            "latestReadyRevisionName": "r2",
            "latestCreatedRevisionName": "r2",
            "traffic": [
                {"revisionName": "r2", "percent": 90, "latestRevision": True},
                {"revisionName": "r2", "percent": 10, "latestRevision": False},
            ],
            "observedGeneration": 4,
        }
    )
    propagate_status(status, "predictor", ksvc, clock=clock)
    spec = (status.components or {})["predictor"]
    assert (spec.latest_rolledout_revision, spec.previous_rolledout_revision) == ("r1", "r1")
    assert status.observed_generation == 4
    # r3 rolled out at 100 %: r1 (the current) becomes previous.
    ksvc3 = ServiceStatus.model_validate(
        {
            "latestReadyRevisionName": "r3",
            "latestCreatedRevisionName": "r3",
            "traffic": [{"revisionName": "r3", "percent": 100, "latestRevision": True}],
        }
    )
    propagate_status(status, "predictor", ksvc3, generation=9, clock=clock)
    assert (spec.latest_rolledout_revision, spec.previous_rolledout_revision) == ("r3", "r1")
    assert status.observed_generation == 9


# --- TestInferenceServiceStatus_PropagateModelStatus ----------------------------------------------

KSVC_READY = ServiceStatus.model_validate({"conditions": [{"type": "Ready", "status": "True"}]})
KSVC_FAILED = ServiceStatus.model_validate(
    {
        "conditions": [
            {
                "type": "Ready",
                "status": "False",
                "reason": "RevisionFailed",
                "message": "For testing",
            }
        ]
    }
)
KSVC_UNKNOWN = ServiceStatus.model_validate(
    {"conditions": [{"type": "Ready", "status": "Unknown"}]}
)
NOT_READY = InferenceServiceStatus(
    conditions=[Condition(type="Ready", status="False")],
    components={"predictor": ComponentStatusSpec(latest_rolledout_revision=REV)},
)
READY = InferenceServiceStatus(
    conditions=[Condition(type="Ready", status="True")],
    components={"predictor": ComponentStatusSpec(latest_rolledout_revision=REV)},
)
SPEC_EMPTY = ComponentStatusSpec()
SPEC_SAME = ComponentStatusSpec(
    latest_ready_revision=REV, latest_created_revision=REV, latest_rolledout_revision=REV
)
FAILED_INFO = {"reason": "ModelLoadFailed", "message": "For testing", "exitCode": 1}
KC, SI = "kserve-container", "storage-initializer"
COPIES = {"failedCopies": 0}


def _ms(target: str | None, transition: str, active: str = "", info: Any = None) -> dict[str, Any]:
    out: dict[str, Any] = {"transitionStatus": transition, "copies": COPIES}
    if target is not None:
        out["states"] = {"activeModelState": active, "targetModelState": target}
    if info is not None:
        out["lastFailureInfo"] = info
    return out


CRASH = waiting("CrashLoopBackOff", "For testing")
CRASH_LAST = terminated("CrashLoopBackOff", "For testing")
MODEL = [
    (
        "pod list is empty",
        NOT_READY,
        SPEC_EMPTY,
        [],
        False,
        KSVC_READY,
        True,
        _ms("Pending", "InProgress"),
    ),
    (
        "pod list is empty but knative has an error",
        NOT_READY,
        SPEC_EMPTY,
        [],
        False,
        KSVC_FAILED,
        True,
        _ms("FailedToLoad", "BlockedByFailedLoad"),
    ),
    (
        "kserve container in pending state",
        NOT_READY,
        SPEC_EMPTY,
        [pod(KC, containers=[container(KC)])],
        False,
        KSVC_READY,
        True,
        _ms("Pending", "InProgress"),
    ),
    (
        "kserve container failed due to an error",
        NOT_READY,
        SPEC_EMPTY,
        [pod(KC, containers=[container(KC, terminated("Error", "For testing"))])],
        False,
        KSVC_READY,
        True,
        _ms("FailedToLoad", "BlockedByFailedLoad", info=FAILED_INFO),
    ),
    (
        "kserve container failed due to crash loopBackOff",
        NOT_READY,
        SPEC_EMPTY,
        [pod(KC, containers=[container(KC, CRASH, CRASH_LAST)])],
        False,
        KSVC_READY,
        True,
        _ms("FailedToLoad", "BlockedByFailedLoad", info=FAILED_INFO),
    ),
    (
        "storage initializer failed due to an error",
        NOT_READY,
        SPEC_EMPTY,
        [pod(SI, init=[container(SI, terminated("Error", "For testing"))])],
        False,
        KSVC_READY,
        True,
        _ms("FailedToLoad", "BlockedByFailedLoad", info=FAILED_INFO),
    ),
    (
        "storage initializer failed due to crash loopBackOff",
        NOT_READY,
        SPEC_EMPTY,
        [pod(SI, init=[container(SI, CRASH, CRASH_LAST)])],
        False,
        KSVC_UNKNOWN,
        True,
        _ms("FailedToLoad", "BlockedByFailedLoad", info=FAILED_INFO),
    ),
    (
        "storage initializer in running state",
        NOT_READY,
        SPEC_EMPTY,
        [pod(SI, init=[container(SI, running())])],
        False,
        KSVC_READY,
        True,
        _ms("Loading", "InProgress"),
    ),
    (
        "storage initializer in running state but it has a previous error",
        NOT_READY,
        SPEC_EMPTY,
        [pod(SI, init=[container(SI, running(), CRASH_LAST)])],
        False,
        KSVC_FAILED,
        False,
        _ms(None, ""),
    ),
    (
        "kserve container is ready",
        READY,
        SPEC_SAME,
        [pod(KC, containers=[container(KC, running(), ready=True)])],
        False,
        KSVC_READY,
        True,
        _ms("Loaded", "UpToDate", active="Loaded"),
    ),
    (
        "raw deployment is ready",
        READY,
        SPEC_SAME,
        [pod(KC, containers=[container(KC, running(), ready=True)])],
        True,
        ServiceStatus(),
        True,
        _ms("Loaded", "UpToDate", active="Loaded"),
    ),
    (
        "skip containers other than kserve",
        NOT_READY,
        SPEC_EMPTY,
        [pod("test-container", containers=[container("test-container")])],
        False,
        KSVC_READY,
        True,
        _ms(None, ""),
    ),
    (
        "skip initcontainers other than storage initializer",
        NOT_READY,
        SPEC_EMPTY,
        [pod("test-container", init=[container("test-container")])],
        False,
        KSVC_READY,
        True,
        _ms(None, ""),
    ),
    (
        "knative ready but the latest created revision is not ready yet",
        READY,
        ComponentStatusSpec(latest_created_revision="r2", latest_ready_revision="r1"),
        [pod(KC, containers=[container(KC, running())])],
        False,
        KSVC_READY,
        True,
        _ms("Pending", "InProgress"),
    ),
    (
        "crash loop without a last termination (upstream panics)",
        NOT_READY,
        SPEC_EMPTY,
        [pod(KC, containers=[container(KC, CRASH)])],
        True,
        None,
        True,
        _ms(
            "FailedToLoad",
            "BlockedByFailedLoad",
            info={"reason": "ModelLoadFailed", "message": "For testing"},
        ),
    ),
]


@pytest.mark.parametrize(
    ("initial", "spec", "pods", "raw", "ksvc", "want_return", "want"),
    [m[1:] for m in MODEL],
    ids=[m[0] for m in MODEL],
)
def test_propagate_model_status(
    initial: InferenceServiceStatus,
    spec: ComponentStatusSpec,
    pods: list[Any],
    raw: bool,
    ksvc: ServiceStatus | None,
    want_return: bool,
    want: dict[str, Any],
) -> None:
    status = initial.model_copy(deep=True)
    before = initial.to_kube()
    assert propagate_model_status(status, spec, pods, raw, ksvc) is want_return
    assert status.model_status is not None
    assert status.model_status.to_kube() == want
    # Nothing but modelStatus changes.
    after = status.to_kube()
    after.pop("modelStatus")
    assert after == before


# --- TestPropagateModelStatus_ReadyPodsCountingOnly -----------------------------------------------


def _p(phase: str, ready: bool | None) -> Any:
    return pod(phase=phase, ready=ready)


@pytest.mark.parametrize(
    ("state", "transition", "pods", "want"),
    [
        (
            "Loading",
            "InProgress",
            [_p("Running", True), _p("Running", True), _p("Running", False)],
            2,
        ),
        ("FailedToLoad", "BlockedByFailedLoad", [_p("Running", True), _p("Running", False)], 1),
        ("Pending", "InProgress", [_p("Running", True), _p("Pending", None)], 1),
        ("Loaded", "UpToDate", [_p("Running", False), _p("Pending", None)], 0),
        ("Loaded", "UpToDate", [_p("Succeeded", True)], 0),
    ],
)
def test_propagate_model_status_counts_only_ready_pods(
    state: Any, transition: Any, pods: list[Any], want: int
) -> None:
    status = InferenceServiceStatus(
        model_status=ModelStatus(
            transition_status=transition,
            model_revision_states=ModelRevisionStates(
                active_model_state=state, target_model_state=state
            ),
        )
    )
    spec = ComponentStatusSpec(latest_ready_revision="test", latest_created_revision="test")
    assert propagate_model_status(status, spec, pods, True, ServiceStatus()) is True
    assert status.model_status is not None and status.model_status.model_copies is not None
    # Zero is omitted on the wire, as Go's omitempty int.
    assert status.model_status.model_copies.total_copies == (want or None)
    assert count_ready_pods(pods) == want


def test_the_newest_pod_decides_with_name_as_tie_break() -> None:
    old = datetime(2024, 1, 1, tzinfo=UTC)
    new = datetime(2024, 1, 2, tzinfo=UTC)
    failing = [container(KC, terminated("Error", "boom"))]
    pods = [
        pod("b-new", created=new, containers=[container(KC, running())]),
        pod("z-old", created=old, containers=failing),
        pod("a-new", created=new, containers=failing),
    ]
    names = [p.metadata.name for p in sort_pods_newest_first(pods) if p.metadata is not None]
    assert names == ["a-new", "b-new", "z-old"]
    status = InferenceServiceStatus()
    propagate_model_status(status, ComponentStatusSpec(), pods, True)
    assert status.model_status is not None
    assert status.model_status.to_kube()["states"]["targetModelState"] == "FailedToLoad"


# --- TestInferenceServiceStatus_UpdateModelRevisionStates (UpdateModelTransitionStatus) -----------

INFO = FailureInfo(reason="ModelLoadFailed", message="For testing", exit_code=1)


@pytest.mark.parametrize(
    ("initial", "transition", "info", "want"),
    [
        (ModelStatus(transition_status=""), "InProgress", None, {"transitionStatus": "InProgress"}),
        (
            ModelStatus(transition_status=""),
            "InvalidSpec",
            INFO,
            {
                "transitionStatus": "InvalidSpec",
                "states": {"activeModelState": "", "targetModelState": "FailedToLoad"},
                "lastFailureInfo": FAILED_INFO,
            },
        ),
        (
            ModelStatus(
                transition_status="",
                model_revision_states=ModelRevisionStates(
                    active_model_state="", target_model_state="Loading"
                ),
            ),
            "InvalidSpec",
            INFO,
            {
                "transitionStatus": "InvalidSpec",
                "states": {"activeModelState": "", "targetModelState": "FailedToLoad"},
                "lastFailureInfo": FAILED_INFO,
            },
        ),
    ],
    ids=["simple", "invalid spec with nil modelRevisionStates", "invalid spec with states"],
)
def test_update_model_transition_status(
    initial: ModelStatus, transition: Any, info: FailureInfo | None, want: dict[str, Any]
) -> None:
    status = NOT_READY.model_copy(deep=True)
    status.model_status = initial
    update_model_transition_status(status, transition, info)
    assert status.model_status.to_kube() == want


@pytest.mark.parametrize(
    ("state", "want"),
    [
        (
            "Pending",
            {
                "transitionStatus": "InProgress",
                "states": {"activeModelState": "", "targetModelState": "Pending"},
            },
        ),
        (
            "Loading",
            {
                "transitionStatus": "InProgress",
                "states": {"activeModelState": "", "targetModelState": "Loading"},
            },
        ),
        (
            "Loaded",
            {
                "transitionStatus": "UpToDate",
                "states": {"activeModelState": "Loaded", "targetModelState": "Loaded"},
            },
        ),
        (
            "FailedToLoad",
            {
                "transitionStatus": "BlockedByFailedLoad",
                "states": {"activeModelState": "", "targetModelState": "FailedToLoad"},
            },
        ),
    ],
)
def test_update_model_revision_states(state: Any, want: dict[str, Any]) -> None:
    status = InferenceServiceStatus()
    update_model_revision_states(status, state)
    assert status.model_status is not None and status.model_status.to_kube() == want


@pytest.mark.parametrize(
    ("reason", "message"),
    [
        ("RuntimeNotRecognized", "Waiting for runtime to become available"),
        ("RuntimeDisabled", "Specified runtime is disabled"),
        ("NoSupportingRuntime", "No runtime found to support specified framework/version"),
        ("InvalidPredictorSpec", "no container configuration found in selected serving runtime"),
    ],
)
def test_mark_invalid_spec(reason: Any, message: str) -> None:
    status = InferenceServiceStatus()
    mark_invalid_spec(status, reason, message)
    assert status.to_kube() == {
        "modelStatus": {
            "transitionStatus": "InvalidSpec",
            "states": {"activeModelState": "", "targetModelState": "FailedToLoad"},
            "lastFailureInfo": {"reason": reason, "message": message},
        }
    }


# --- TestGetDeploymentCondition_* -----------------------------------------------------------------

HEAD_READY = dc("Available", "True", "HeadReady", "Head node ready.")
WORKER_READY = dc("Available", "True", "WorkerReady", "Worker node ready.")
WORKER_NOT_READY = dc("Available", "False", "WorkerNotReady", "Worker node not ready.")


def _cond(t: str, s: str, reason: str, message: str) -> dict[str, str]:
    return {
        "type": t,
        "status": s,
        "reason": reason,
        "message": message,
        "lastTransitionTime": T_DEPLOY_S,
    }


@pytest.mark.parametrize(
    ("deployments", "condition_type", "want"),
    [
        (
            [deployment("predictor", AVAILABLE_TRUE)],
            "Available",
            _cond(
                "Available",
                "True",
                "MinimumReplicasAvailable",
                "Deployment has minimum availability.",
            ),
        ),
        (
            [deployment("predictor", HEAD_READY), deployment("predictor-worker", WORKER_READY)],
            "Available",
            _cond(
                "Available",
                "True",
                "predictor-container: HeadReady, worker-container: WorkerReady",
                "predictor-container: Head node ready., worker-container: Worker node ready.",
            ),
        ),
        (
            [
                deployment(
                    "predictor",
                    dc("Progressing", "True", "NewReplicaSetAvailable", "Head progressed."),
                ),
                deployment(
                    "predictor-worker",
                    dc("Progressing", "True", "NewReplicaSetAvailable", "Worker progressed."),
                ),
            ],
            "Progressing",
            _cond(
                "Progressing",
                "True",
                "NewReplicaSetAvailable",
                "predictor-container: Head progressed., worker-container: Worker progressed.",
            ),
        ),
        (
            [deployment("predictor", HEAD_READY), deployment("predictor-worker", WORKER_NOT_READY)],
            "Available",
            _cond(
                "Available",
                "False",
                "predictor-container: HeadReady, worker-container: WorkerNotReady",
                "predictor-container: Head node ready., worker-container: Worker node not ready.",
            ),
        ),
        (
            [deployment("predictor", dc("Progressing", "True", "NewReplicaSetAvailable", "x"))],
            "Available",
            None,
        ),
        ([deployment("predictor", HEAD_READY), deployment("predictor-worker")], "Available", None),
        ([], "Available", None),
    ],
    ids=[
        "single deployment",
        "multi deployment all true",
        "multi deployment same reason",
        "multi deployment one false",
        "single deployment no matching condition",
        "multi deployment only one has it",
        "none",
    ],
)
def test_get_deployment_condition(
    deployments: list[Deployment], condition_type: str, want: dict[str, str] | None
) -> None:
    got = get_deployment_condition(deployments, condition_type)
    assert (got.to_kube() if got is not None else None) == want


# --- TestPropagateRawStatus_MultiNode_* -----------------------------------------------------------


def _multi(head: list[Any], worker: list[Any]) -> list[Deployment]:
    return [
        deployment("test-predictor", *head, observed_generation=1),
        deployment("test-predictor-worker", *worker, observed_generation=1),
    ]


@pytest.mark.parametrize(
    ("head_progressing", "worker_progressing", "available", "want"),
    [
        ("MinimumReplicasAvailable", "MinimumReplicasAvailable", True, "True"),
        ("ReplicaSetUpdated", "ReplicaSetUpdated", True, "True"),
        ("NewReplicaSetAvailable", "NewReplicaSetAvailable", True, "True"),
        ("NewReplicaSetAvailable", "ReplicaSetUpdated", True, "True"),  # partial rollout
        ("ReplicaSetUpdated", "ReplicaSetUpdated", False, "False"),
    ],
)
def test_propagate_raw_status_multi_node(
    head_progressing: str, worker_progressing: str, available: bool, want: str
) -> None:
    avail = AVAILABLE_TRUE if available else AVAILABLE_FALSE
    deps = _multi(
        [avail, dc("Progressing", "True", head_progressing, "progressing")],
        [avail, dc("Progressing", "True", worker_progressing, "progressing")],
    )
    status = InferenceServiceStatus()
    propagate_raw_status(status, "predictor", deps, URL, clock=clock)
    cond = get_condition(status, "PredictorReady")
    assert cond is not None and cond.status == want
    assert status.observed_generation == 1
    assert ((status.components or {})["predictor"].url == URL) is (want == "True")


# --- TestPropagateCrossComponentStatus ------------------------------------------------------------

ALL = ["predictor", "explainer", "transformer"]


@pytest.mark.parametrize(
    ("sub", "components", "aggregate", "want"),
    [
        (
            {
                "PredictorRouteReady": "True",
                "ExplainerRoutesReady": "True",
                "TransformerRouteReady": "True",
            },
            ALL,
            "RoutesReady",
            ("True", ""),
        ),
        (
            {
                "PredictorRouteReady": "True",
                "ExplainerRoutesReady": "False",
                "TransformerRouteReady": "True",
            },
            ALL,
            "RoutesReady",
            ("False", "ExplainerRoutesReady not ready"),
        ),
        (
            {
                "PredictorRouteReady": "True",
                "ExplainerRoutesReady": "Unknown",
                "TransformerRouteReady": "True",
            },
            ALL,
            "RoutesReady",
            ("Unknown", "ExplainerRoutesReady not ready"),
        ),
        ({}, [], "RoutesReady", ("True", "")),
        ({}, ["predictor"], "UnknownConditionType", None),
        (
            {
                "PredictorConfigurationReady": "True",
                "ExplainerConfigurationReady": "True",
                "TransformerConfigurationReady": "True",
            },
            ALL,
            "LatestDeploymentReady",
            ("True", ""),
        ),
        (
            {
                "PredictorConfigurationReady": "True",
                "ExplainerConfigurationReady": "False",
                "TransformerConfigurationReady": "True",
            },
            ALL,
            "LatestDeploymentReady",
            ("False", "ExplainerConfigurationReady not ready"),
        ),
        (
            {"PredictorConfigurationReady": "True"},
            ["predictor", "transformer"],
            "LatestDeploymentReady",
            ("Unknown", "TransformerConfigurationReady not ready"),
        ),
    ],
)
def test_propagate_cross_component_status(
    sub: dict[str, str], components: list[str], aggregate: str, want: tuple[str, str] | None
) -> None:
    status = InferenceServiceStatus()
    initialize_conditions(status, clock=clock)
    for t, s in sub.items():
        set_condition(status, t, s, clock=clock)
    propagate_cross_component_status(status, components, aggregate, clock=clock)
    got = get_condition(status, aggregate)
    if want is None:
        assert got is None
        return
    assert got is not None
    assert got.to_kube() == c(aggregate, want[0], want[1], info=True)
    # The aggregates are Info: Ready stays as PredictorReady/IngressReady leave it.
    ready = get_condition(status, "Ready")
    assert ready is not None and ready.status == "Unknown"


# --- TestInferenceServiceStatus_ClearCondition ----------------------------------------------------


def test_clear_condition() -> None:
    status = InferenceServiceStatus()
    initialize_conditions(status, clock=clock)
    set_condition(status, "PredictorReady", "True", clock=clock)
    assert is_condition_ready(status, "PredictorReady")
    clear_condition(status, "PredictorReady")  # terminal: stays
    assert is_condition_ready(status, "PredictorReady")
    clear_condition(status, "TransformerReady")  # never set: nothing happens
    set_condition(status, "CanaryPredictorReady", "True", "AllCanariesReady", clock=clock)
    clear_condition(status, "CanaryPredictorReady")
    assert dump(status) == {
        "conditions": [
            c("IngressReady", "Unknown"),
            c("PredictorReady", "True"),
            c("Ready", "Unknown"),
        ]
    }


# --- initialize / readiness -----------------------------------------------------------------------


def test_initialize_conditions_and_the_ready_set() -> None:
    status = InferenceServiceStatus()
    initialize_conditions(status, clock=clock)
    assert dump(status) == {
        "conditions": [
            c("IngressReady", "Unknown"),
            c("PredictorReady", "Unknown"),
            c("Ready", "Unknown"),
        ]
    }
    set_condition(status, "PredictorReady", "True", clock=clock)
    assert not is_ready(status)
    set_condition(status, "TransformerReady", "False", "Boom", clock=clock)
    assert not is_condition_false(status, "Ready")  # Info severity: Ready ignores it
    set_condition(status, "IngressReady", "True", clock=clock)
    assert is_ready(status)
    set_condition(status, "IngressReady", "False", "Route not accepted", clock=clock)
    assert dump(status)["conditions"][2:] == [
        c("Ready", "False", "Route not accepted"),
        c("TransformerReady", "False", "Boom", info=True),
    ]
    assert failed_condition_types(status) == ["IngressReady", "Ready", "TransformerReady"]
    set_condition(status, "IngressReady", None, clock=clock)  # nil condition: no-op
    assert is_condition_false(status, "IngressReady")


# --- stop (reference §2.9) ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("annotations", "want"),
    [
        (None, False),
        ({}, False),
        ({"serving.kserve.io/stop": "true"}, True),
        ({"serving.kserve.io/stop": "TRUE"}, True),
        ({"serving.kserve.io/stop": "false"}, False),
        ({"serving.kserve.io/stop": "yes"}, False),
    ],
)
def test_is_stop_requested(annotations: dict[str, str] | None, want: bool) -> None:
    assert is_stop_requested(annotations) is want


def _ready_status() -> InferenceServiceStatus:
    return InferenceServiceStatus.model_validate(
        {
            "observedGeneration": 4,
            "conditions": [
                {"type": t, "status": "True", "lastTransitionTime": T0S}
                for t in ("IngressReady", "PredictorReady", "Ready")
            ],
            "url": "http://sk-ns.example.com",
            "address": {"url": "http://sk-predictor.ns.svc.cluster.local"},
            "components": {"predictor": {"url": "http://sk-predictor-ns.example.com"}},
            "modelStatus": {
                "transitionStatus": "UpToDate",
                "copies": {"failedCopies": 0, "totalCopies": 1},
            },
            "deploymentMode": "Standard",
            "servingRuntimeName": "kserve-sklearnserver",
        }
    )


def test_stop_clears_the_status_and_marks_everything_stopped() -> None:
    status = _ready_status()
    assert mark_predictor_stopped(status, clock=clock) is True
    assert mark_component_stopped(status, "TransformerReady", clock=clock) is True
    assert mark_component_stopped(status, "IngressReady", clock=clock) is True
    propagate_stopped_condition(status, True, clock=clock)
    assert dump(status) == {
        "conditions": [
            c("IngressReady", "False", "Stopped"),
            c("PredictorReady", "False", "Stopped"),
            c("Ready", "False", "Stopped"),
            c("Stopped", "True", info=True),
            c("TransformerReady", "False", "Stopped", info=True),
        ],
        "modelStatus": {"transitionStatus": ""},
        "deploymentMode": "Standard",
    }
    # Already stopped: nothing to do.
    before = dump(status)
    assert mark_predictor_stopped(status, clock=clock) is False
    assert mark_component_stopped(status, "IngressReady", clock=clock) is False
    propagate_stopped_condition(status, True, clock=clock)
    assert dump(status) == before
    # Annotation removed: Stopped goes back to False.
    propagate_stopped_condition(status, False, clock=clock)
    stopped = get_condition(status, "Stopped")
    assert stopped is not None and stopped.status == "False"


def test_stopped_condition_defaults_to_false() -> None:
    status = InferenceServiceStatus()
    propagate_stopped_condition(status, False, clock=clock)
    assert dump(status) == {"conditions": [c("Stopped", "False", info=True)]}


# --- canaries (reference §2.8) --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("canaries", "stopped", "want"),
    [
        ([], False, None),
        (
            [CanaryStatus(name="v2", ready=True, traffic_percent=10)],
            False,
            ("True", "AllCanariesReady"),
        ),
        (
            [
                CanaryStatus(name="v2", ready=True, traffic_percent=10),
                CanaryStatus(name="v3", ready=False, traffic_percent=5),
            ],
            False,
            ("False", "CanariesNotReady"),
        ),
        ([CanaryStatus(name="v2", ready=True, traffic_percent=10)], True, ("False", "Stopped")),
    ],
)
def test_propagate_canary_status(
    canaries: list[CanaryStatus], stopped: bool, want: tuple[str, str] | None
) -> None:
    status = InferenceServiceStatus()
    set_condition(status, "CanaryPredictorReady", "True", "AllCanariesReady", clock=clock)
    propagate_canary_status(status, canaries, stopped=stopped, clock=clock)
    # Marking an Info condition True re-evaluates Ready (Unknown: the dependents are unset).
    expected: dict[str, Any] = {"conditions": [c("Ready", "Unknown")]}
    if want is not None:
        expected["conditions"].insert(0, c("CanaryPredictorReady", *want, info=True))
        expected["canaryStatuses"] = [x.to_kube() for x in canaries]
    assert dump(status) == expected


# --- readiness events and status comparison (reference §2.1 step 12) ------------------------------


@pytest.mark.parametrize(
    ("previous", "desired", "want"),
    [
        (
            None,
            with_conditions(("Ready", "True")),
            ("Normal", "InferenceServiceReady", "InferenceService [sk] is Ready"),
        ),
        (
            with_conditions(("Ready", "Unknown")),
            with_conditions(("Ready", "True")),
            ("Normal", "InferenceServiceReady", "InferenceService [sk] is Ready"),
        ),
        (
            with_conditions(("Ready", "True")),
            with_conditions(
                ("IngressReady", "True"),
                ("PredictorReady", "False"),
                ("Ready", "False"),
                ("Stopped", "False"),
            ),
            (
                "Warning",
                "InferenceServiceNotReady",
                "InferenceService [sk] is no longer Ready because of: "
                "PredictorReady, Ready, Stopped",
            ),
        ),
        (with_conditions(("Ready", "True")), with_conditions(("Ready", "Unknown")), None),
        (with_conditions(("Ready", "True")), with_conditions(("Ready", "True")), None),
        (None, with_conditions(("Ready", "False")), None),
    ],
)
def test_readiness_event(
    previous: InferenceServiceStatus | None,
    desired: InferenceServiceStatus,
    want: tuple[str, str, str] | None,
) -> None:
    assert readiness_event("sk", previous, desired) == want


def _retime_first_condition(s: InferenceServiceStatus) -> None:
    (s.conditions or [])[0].last_transition_time = "2030-01-01T00:00:00Z"


@pytest.mark.parametrize(
    ("mutate", "mode", "equal"),
    [
        (lambda s: s, "Standard", True),
        (_retime_first_condition, "Standard", True),
        (lambda s: setattr(s, "url", "http://other"), "Standard", False),
        (lambda s: setattr(s, "model_status", None), "Standard", False),
        (lambda s: setattr(s, "model_status", None), "ModelMesh", True),
        (
            lambda s: setattr(s, "components", {"predictor": ComponentStatusSpec(url="http://x")}),
            "ModelMesh",
            True,
        ),
        (
            lambda s: setattr(
                s, "components", {"transformer": ComponentStatusSpec(url="http://x")}
            ),
            "ModelMesh",
            False,
        ),
        (lambda s: setattr(s, "url", "http://other"), "ModelMesh", False),
        (lambda s: setattr(s, "observed_generation", 5), "ModelMesh", False),
    ],
)
def test_inference_service_status_equal(
    mutate: Callable[[InferenceServiceStatus], object], mode: str, equal: bool
) -> None:
    a = _ready_status()
    b = _ready_status()
    mutate(b)
    assert inference_service_status_equal(a, b, mode) is equal
