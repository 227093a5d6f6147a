"""The TrainedModel controller's pure parts as tables: memory accounting against the
predictor's memory limit (upstream ``IsMemoryResourceAvailable`` /
``TotalRequestedMemory``), the ``models.json`` delta for an InferenceService's models and the
text written (stable order, no write when unchanged), and the ConfigMap-name mapping."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest

from apis.serving.v1alpha1.trained_model import TrainedModel
from apis.serving.v1beta1.inference_service import InferenceService
from controllers.reconcilers.modelconfig import ModelConfig, ModelConfigError
from controllers.trainedmodel.controller import isvc_of_model_config
from controllers.trainedmodel.memory import (
    is_memory_resource_available,
    predictor_memory_limit,
    total_requested_memory,
)
from controllers.trainedmodel.models_json import (
    desired_models_json,
    is_deployable,
    model_config_delta,
)

READY = {"conditions": [{"type": "Ready", "status": "True"}]}


def tm(name: str, memory: str = "1G", *, isvc: str = "p", allocated: bool = True,
       ready: bool = True, deleting: bool = False, uri: str = "s3://b/m") -> TrainedModel:
    meta: dict[str, Any] = {"name": name, "namespace": "ns"}
    if allocated:
        meta["labels"] = {"serving.kserve.io/trainedmodel-allocated": isvc}
    if deleting:
        meta["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    return TrainedModel.model_validate({
        "metadata": meta,
        "spec": {"inferenceService": isvc,
                 "model": {"storageUri": uri, "framework": "sklearn", "memory": memory}},
        "status": READY if ready else None,
    })


def isvc(predictor: dict[str, Any]) -> InferenceService:
    return InferenceService.model_validate(
        {"metadata": {"name": "p", "namespace": "ns"}, "spec": {"predictor": predictor}})


def limits(memory: str | None) -> dict[str, Any]:
    return {"limits": {"memory": memory}} if memory else {}


@pytest.mark.parametrize(
    ("predictor", "limit"),
    [
        ({"tensorflow": {"resources": limits("2Gi")}}, Decimal(2 * 1024**3)),
        ({"tensorflow": {}}, Decimal(0)),
        ({"model": {"modelFormat": {"name": "sklearn"}, "resources": limits("1500M")}},
         Decimal(1_500_000_000)),
        ({"containers": [{"name": "kserve-container", "image": "i",
                          "resources": limits("1Gi")}]}, Decimal(1024**3)),
        # a custom predictor whose container is not kserve-container: no limit to fit in
        # (upstream dereferences a nil container)
        ({"containers": [{"name": "other", "image": "i", "resources": limits("1Gi")}]}, None),
    ],
    ids=["framework", "no-limit", "model", "custom", "custom-unnamed"],
)
def test_predictor_memory_limit(predictor: dict[str, Any], limit: Decimal | None) -> None:
    assert predictor_memory_limit(isvc(predictor)) == limit


@pytest.mark.parametrize(
    ("memories", "limit", "fits"),
    [
        (["1G"], "2Gi", True),
        (["3Gi"], "2Gi", False),
        (["1Gi", "1Gi"], "2Gi", True),
        (["1Gi", "1Gi", "1"], "2Gi", False),
        (["1.5Gi", "512Mi"], "2Gi", True),
        ([], None, True),  # nothing requested fits in no limit (0 >= 0), as upstream
        (["1"], None, False),
    ],
)
def test_memory_accounting(memories: list[str], limit: str | None, fits: bool) -> None:
    models = [tm(f"m{i}", m) for i, m in enumerate(memories)]
    total = total_requested_memory(models)
    assert is_memory_resource_available(isvc({"tensorflow": {"resources": limits(limit)}}),
                                        total) is fits


@pytest.mark.parametrize(
    ("model", "deployable"),
    [
        (tm("a"), True),
        (tm("a", allocated=False), False),
        (tm("a", ready=False), False),
        (tm("a", deleting=True), False),
    ],
    ids=["ready-allocated", "unallocated", "not-ready", "deleting"],
)
def test_is_deployable(model: TrainedModel, deployable: bool) -> None:
    assert is_deployable(model) is deployable


def test_model_config_delta() -> None:
    ups, dels = model_config_delta([
        tm("c"), tm("a", "100Mi"), tm("gone", deleting=True), tm("waiting", allocated=False),
        tm("refused", ready=False)])
    assert [u.name for u in ups] == ["c", "a"]
    assert dels == ["gone"]


def entry(name: str, memory: str = "1G", uri: str = "s3://b/m") -> dict[str, Any]:
    return {"modelName": name,
            "modelSpec": {"storageUri": uri, "framework": "sklearn", "memory": memory}}


def text(*entries: dict[str, Any]) -> str:
    return json.dumps(list(entries), separators=(",", ":"))


@pytest.mark.parametrize(
    ("current", "upserts", "deletes", "expected"),
    [
        # upstream tests create the ConfigMap with models.json ""
        ("", [("b",), ("a",)], [], text(entry("a"), entry("b"))),
        (None, [("a",)], [], text(entry("a"))),
        ("[]", [], ["a"], None),  # nothing to remove: no write
        ("", [], [], None),
        # already there (even in upstream's unsorted order): no write
        (text(entry("b"), entry("a")), [("a",), ("b",)], [], None),
        # a change to one entry rewrites the file sorted
        (text(entry("b"), entry("a")), [("a", "2G")], [], text(entry("a", "2G"), entry("b"))),
        # removal; unknown entries are left alone
        (text(entry("a"), entry("other")), [], ["a", "nope"], text(entry("other"))),
        (text(entry("a")), [], ["a"], "[]"),
        # quantities compare canonically ("1000M" is "1G")
        (text(entry("a")), [("a", "1000M")], [], None),
    ],
    ids=["empty-text", "no-key", "remove-absent", "nothing", "same-unsorted", "update",
         "remove", "remove-last", "canonical-quantity"],
)
def test_desired_models_json(current: str | None, upserts: list[tuple[str, ...]],
                             deletes: list[str], expected: str | None) -> None:
    ups = [ModelConfig(u[0], "s3://b/m", "sklearn", u[1] if len(u) > 1 else "1G")
           for u in upserts]
    assert desired_models_json(current, ups, deletes) == expected


def test_desired_models_json_unreadable() -> None:
    with pytest.raises(ModelConfigError, match="while updating modelconfig-p-0"):
        desired_models_json("{not json", [ModelConfig("a")], [],
                            config_map_name="modelconfig-p-0")


@pytest.mark.parametrize(
    ("name", "isvc_name"),
    [("modelconfig-p-0", "p"), ("modelconfig-my-isvc-0", "my-isvc"), ("modelconfig--0", None),
     ("modelconfig-p-1", None), ("inferenceservice-config", None), ("p-0", None)],
)
def test_isvc_of_model_config(name: str, isvc_name: str | None) -> None:
    assert isvc_of_model_config(name) == isvc_name
