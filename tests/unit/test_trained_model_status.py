"""TrainedModel status: upstream's ``trained_model_status_test.go`` (IsReady, GetCondition,
IsConditionReady, SetCondition) and the controller's condition and URL rules (reference §6)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from apis.knative import Condition
from apis.serving.v1alpha1.trained_model_status import (
    CONDITION_SET,
    TrainedModelStatus,
    get_condition,
    initialize_conditions,
    is_condition_ready,
    is_ready,
    set_condition,
    update_trained_model_conditions,
    update_trained_model_urls,
)

T0S = "2024-05-01T12:00:00Z"


def clock() -> datetime:
    return datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)


def st(*conds: tuple[str, str]) -> TrainedModelStatus:
    return TrainedModelStatus(conditions=[Condition(type=t, status=s) for t, s in conds] or None)


READY_ALL = st(("ConfigurationsReady", "True"), ("RoutesReady", "True"), ("Ready", "True"))


@pytest.mark.parametrize(
    ("status", "ready"),
    [
        (TrainedModelStatus(), False),
        (st(("Foo", "True")), False),
        (st(("Ready", "False")), False),
        (st(("Ready", "Unknown")), False),
        (st(("Ready", "")), False),
        (READY_ALL, True),
        (st(("Foo", "True"), ("Ready", "False")), False),
    ],
)
def test_is_ready(status: TrainedModelStatus, ready: bool) -> None:
    assert is_ready(status) is ready


@pytest.mark.parametrize(
    ("status", "t", "want"),
    [
        (TrainedModelStatus(), "Ready", None),
        (st(("Foo", "False")), "Foo", ("Foo", "False")),
        (st(("Ready", "Unknown")), "Ready", ("Ready", "Unknown")),
    ],
)
def test_get_condition(status: TrainedModelStatus, t: str, want: tuple[str, str] | None) -> None:
    got = get_condition(status, t)
    assert (None if got is None else (got.type, got.status)) == want


@pytest.mark.parametrize(
    ("status", "t", "ready"),
    [
        (TrainedModelStatus(), "Ready", False),
        (st(("Foo", "True")), "Bar", False),
        (st(("Ready", "False")), "Ready", False),
        (st(("Ready", "Unknown")), "Ready", False),
        (st(("Ready", "")), "Ready", False),
        (READY_ALL, "Ready", True),
        (st(("Foo", "True"), ("Ready", "False")), "Ready", False),
    ],
)
def test_is_condition_ready(status: TrainedModelStatus, t: str, ready: bool) -> None:
    assert is_condition_ready(status, t) is ready


@pytest.mark.parametrize(
    ("status", "t", "set_to", "reason", "want"),
    [
        (TrainedModelStatus(), "Foo", "True", "", ("Foo", "True", None)),
        (st(("Foo", "True")), "Foo", "False", "", ("Foo", "False", None)),
        (
            st(("Foo", "False")),
            "Foo",
            "Unknown",
            "For testing purpose",
            ("Foo", "Unknown", "For testing purpose"),
        ),
        (st(("Ready", "True")), "Foo", None, "", None),
        # MarkTrue drops a reason
        (TrainedModelStatus(), "Foo", "True", "ignored", ("Foo", "True", None)),
    ],
)
def test_set_condition(
    status: TrainedModelStatus,
    t: str,
    set_to: str | None,
    reason: str,
    want: tuple[str, str, str | None] | None,
) -> None:
    status = status.model_copy(deep=True)
    set_condition(status, t, set_to, reason, clock=clock)
    got = get_condition(status, t)
    assert (None if got is None else (got.type, got.status, got.reason)) == want


def test_condition_set_and_initialization() -> None:
    assert CONDITION_SET.dependents == (
        "InferenceServiceReady",
        "MemoryResourceAvailable",
        "IsMMSPredictor",
    )
    status = TrainedModelStatus()
    initialize_conditions(status, clock=clock)
    assert [(c.type, c.status) for c in status.conditions or []] == [
        ("InferenceServiceReady", "Unknown"),
        ("IsMMSPredictor", "Unknown"),
        ("MemoryResourceAvailable", "Unknown"),
        ("Ready", "Unknown"),
    ]


def _c(t: str, s: str, reason: str = "", message: str = "") -> dict[str, str]:
    out = {"type": t, "status": s, "lastTransitionTime": T0S}
    if reason:
        out |= {"reason": reason, "message": message}
    return out


ISVC_NOT_READY = (
    "InferenceServiceNotReady",
    "Inference Service needs to be ready before Trained Model can be ready",
)
NOT_MMS = (
    "IsNotMMSPredictor",
    "Inference Service predictor is not configured for multi-model serving",
)
NO_MEMORY = (
    "MemoryResourceNotAvailable",
    "Inference Service does not have enough memory resources for Trained Model",
)


@pytest.mark.parametrize(
    ("checks", "want_conditions", "want_error"),
    [
        (
            (True, True, True),
            [
                _c("InferenceServiceReady", "True"),
                _c("IsMMSPredictor", "True"),
                _c("MemoryResourceAvailable", "True"),
                _c("Ready", "True"),
            ],
            None,
        ),
        (
            (False, True, True),
            [
                _c("InferenceServiceReady", "False", *ISVC_NOT_READY),
                _c("IsMMSPredictor", "True"),
                _c("MemoryResourceAvailable", "True"),
                _c("Ready", "False", *ISVC_NOT_READY),
            ],
            'Inference Service "sk" is not ready. Trained Model "tm" cannot deploy',
        ),
        (
            (True, False, True),
            [
                _c("InferenceServiceReady", "True"),
                _c("IsMMSPredictor", "False", *NOT_MMS),
                _c("MemoryResourceAvailable", "True"),
                _c("Ready", "False", *NOT_MMS),
            ],
            'Inference Service "sk" predictor is not configured for multi-model serving. '
            'Trained Model "tm" cannot deploy',
        ),
        (
            (False, True, False),
            [
                _c("InferenceServiceReady", "False", *ISVC_NOT_READY),
                _c("IsMMSPredictor", "True"),
                _c("MemoryResourceAvailable", "False", *NO_MEMORY),
                _c("Ready", "False", *NO_MEMORY),
            ],
            'Inference Service "sk" memory resources are not available. Trained Model "tm" '
            "cannot deploy",
        ),
    ],
)
def test_update_trained_model_conditions(
    checks: tuple[bool, bool, bool], want_conditions: list[dict[str, str]], want_error: str | None
) -> None:
    status = TrainedModelStatus()
    isvc_ready, mms, memory = checks
    error = update_trained_model_conditions(
        status,
        isvc_name="sk",
        tm_name="tm",
        isvc_ready=isvc_ready,
        is_mms_predictor=mms,
        memory_available=memory,
        clock=clock,
    )
    assert error == want_error
    assert status.to_kube() == {"conditions": want_conditions}
    assert is_ready(status) is (want_error is None)


@pytest.mark.parametrize(
    ("protocol", "url", "address", "want"),
    [
        (
            "v1",
            "http://sk-ns.example.com",
            "http://sk-predictor.ns.svc.cluster.local",
            {
                "url": "http://sk-ns.example.com/v1/models/tm:predict",
                "address": {"url": "http://sk-predictor.ns.svc.cluster.local/v1/models/tm:predict"},
            },
        ),
        (
            "v2",
            "http://sk-ns.example.com",
            None,
            {"url": "http://sk-ns.example.com/v2/models/tm/infer"},
        ),
        ("grpc-v2", "http://sk-ns.example.com", None, {"url": "http://sk-ns.example.com"}),
        ("v1", None, None, {}),
    ],
)
def test_update_trained_model_urls(
    protocol: str, url: str | None, address: str | None, want: dict[str, Any]
) -> None:
    status = TrainedModelStatus()
    update_trained_model_urls(status, "tm", protocol, url, address)
    assert status.to_kube() == want
