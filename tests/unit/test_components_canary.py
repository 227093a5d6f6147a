"""Standard-mode canaries (components/predictor.go; upstream predictor_test.go
TestAdjustStableMinReplicasForCanaries ported as a table) and the canary predictor build."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from apis.serving.v1alpha1 import ClusterServingRuntime
from apis.serving.v1beta1 import CanarySpec, InferenceService, PredictorSpec
from apis.serving.v1beta1.configmap import parse_inferenceservice_config
from apis.serving.v1beta1.predictor_runtime_selection import select_runtime
from controllers.inferenceservice.components import (
    adjust_stable_min_replicas,
    build_canary_predictor,
    build_predictor,
    canary_inference_service,
    canary_predictor_spec,
    canary_replica_count,
)
from controllers.inferenceservice.components.canary import mergo_override

J = dict[str, Any]
ROOT = Path(__file__).resolve().parents[2]
CSRS = [
    ClusterServingRuntime.model_validate(yaml.safe_load(p.read_text()))
    for p in sorted((ROOT / "config" / "runtimes").glob("kserve-*.yaml"))
]
CONFIG = parse_inferenceservice_config({})


def canary(name: str, percent: int, **pred: Any) -> J:
    return {"trafficPercent": percent, "predictor": {"name": name, **pred}}


def isvc(
    stable_min: int | None, canaries: list[J] | None, statuses: list[J] | None = None, **pred: Any
) -> InferenceService:
    predictor: J = {
        "model": {"modelFormat": {"name": "sklearn"}, "storageUri": "gs://b/v1"},
        **pred,
    }
    if stable_min is not None:
        predictor["minReplicas"] = stable_min
    obj: J = {"metadata": {"name": "c", "namespace": "ns"}, "spec": {"predictor": predictor}}
    if canaries is not None:
        obj["spec"]["canary"] = canaries
    if statuses is not None:
        obj["status"] = {"canaryStatuses": statuses}
    return InferenceService.model_validate(obj)


def status(name: str, ready: bool, percent: int) -> J:
    return {"name": name, "ready": ready, "trafficPercent": percent}


@pytest.mark.parametrize(
    ("stable", "canaries", "statuses", "expected"),
    [
        (10, None, None, 10),
        (10, [canary("v2", 20)], None, 10),
        (10, [canary("v2", 20)], [status("v2", False, 20)], 10),
        (10, [canary("v2", 20)], [status("v2", True, 20)], 8),
        (
            10,
            [canary("v2", 20), canary("v3", 30)],
            [status("v2", True, 20), status("v3", False, 30)],
            8,
        ),
        (
            10,
            [canary("v2", 20), canary("v3", 30)],
            [status("v2", True, 20), status("v3", True, 30)],
            5,
        ),
        (2, [canary("v2", 50)], [status("v2", True, 50)], 1),
        (10, [canary("v2", 20, minReplicas=3)], [status("v2", True, 20)], 7),
        (10, [canary("v2", 20, minReplicas=3)], [status("v2", False, 20)], 10),
        (None, [canary("v2", 20)], [status("v2", True, 20)], None),
    ],
    ids=[
        "no canaries - unchanged",
        "canary not in status - stable unchanged",
        "canary ready=false - stable unchanged",
        "canary ready=true - stable reduced by computed count",
        "mixed readiness - only ready canary counted",
        "all canaries ready - stable reduced by full sum",
        "reduction floored at 1",
        "explicit canary minReplicas honored when ready",
        "explicit canary minReplicas ignored when not ready",
        "no stable minReplicas - unchanged",
    ],
)
def test_adjust_stable_min_replicas(
    stable: int | None, canaries: list[J] | None, statuses: list[J] | None, expected: int | None
) -> None:
    assert adjust_stable_min_replicas(isvc(stable, canaries, statuses)) == expected


def test_adjust_with_ready_input_overrides_status() -> None:
    obj = isvc(10, [canary("v2", 20)], [status("v2", False, 20)])
    assert adjust_stable_min_replicas(obj, {"v2": True}) == 8
    assert adjust_stable_min_replicas(obj, {}) == 10


@pytest.mark.parametrize(
    ("stable", "percent", "canary_min", "expected"),
    [
        (None, 20, None, 1),
        (10, 20, None, 2),
        (3, 50, None, 2),
        (4, 0, None, 0),
        (10, 20, 5, 5),
        (1, 1, None, 1),
    ],
)
def test_canary_replica_count(
    stable: int | None, percent: int, canary_min: int | None, expected: int
) -> None:
    pred = {} if canary_min is None else {"minReplicas": canary_min}
    obj = isvc(stable, [canary("v2", percent, **pred)])
    assert obj.spec is not None and obj.spec.canary is not None
    assert canary_replica_count(obj, obj.spec.canary[0]) == expected


@pytest.mark.parametrize(
    ("dst", "src", "expected"),
    [
        ({"a": 1, "b": "x"}, {"a": 2}, {"a": 2, "b": "x"}),
        ({"a": 1}, {"a": 0, "c": 0}, {"a": 1, "c": 0}),  # zero does not override, fills a gap
        ({"s": "x"}, {"s": ""}, {"s": "x"}),
        ({"l": [1, 2]}, {"l": [3]}, {"l": [3]}),
        ({"l": [1, 2]}, {"l": []}, {"l": [1, 2]}),
        (
            {"m": {"a": "1", "b": "2"}},
            {"m": {"b": "3", "c": "4"}},
            {"m": {"a": "1", "b": "3", "c": "4"}},
        ),
        ({"t": True}, {"t": False}, {"t": True}),
    ],
    ids=["scalar", "zero", "empty-string", "list-replaced", "empty-list", "map-union", "false"],
)
def test_mergo_override(dst: J, src: J, expected: J) -> None:
    assert mergo_override(dst, src) == expected


def test_canary_predictor_spec() -> None:
    stable = PredictorSpec.model_validate(
        {
            "model": {
                "modelFormat": {"name": "sklearn"},
                "storageUri": "gs://b/v1",
                "env": [{"name": "A", "value": "1"}],
            },
            "minReplicas": 4,
            "maxReplicas": 8,
            "scaleTarget": 50,
            "scaleMetric": "cpu",
            "autoScaling": {
                "metrics": [
                    {
                        "type": "Resource",
                        "resource": {
                            "name": "cpu",
                            "target": {"type": "Utilization", "averageUtilization": 60},
                        },
                    }
                ]
            },
            "labels": {"a": "1", "b": "2"},
            "serviceAccountName": "sa",
        }
    )
    can = CanarySpec.model_validate(
        {
            "trafficPercent": 25,
            "predictor": {
                "name": "v2",
                "model": {"modelFormat": {"name": ""}, "storageUri": "gs://b/v2"},
                "labels": {"b": "3"},
            },
        }
    )
    assert canary_predictor_spec(stable, can, 1).to_kube() == {
        "name": "v2",
        "model": {
            "modelFormat": {"name": "sklearn"},
            "storageUri": "gs://b/v2",
            "env": [{"name": "A", "value": "1"}],
        },
        "minReplicas": 1,
        "labels": {"a": "1", "b": "3"},
        "serviceAccountName": "sa",
    }


def test_build_canary_predictor() -> None:
    obj = isvc(
        4,
        [
            canary(
                "v2",
                25,
                model={"modelFormat": {"name": "sklearn"}, "storageUri": "gs://b/v2"},
                labels={"track": "canary"},
            )
        ],
        storageUris=None,
    )
    assert obj.spec is not None and obj.spec.canary is not None
    can = obj.spec.canary[0]
    can_isvc = canary_inference_service(obj, can)
    assert can_isvc.spec is not None and can_isvc.spec.predictor.model is not None
    rt = select_runtime(can_isvc.spec.predictor.model, [], CSRS, multi_node=False)
    w = build_canary_predictor(obj, can, CONFIG, rt)
    assert w.canary_name == "v2"
    assert w.extension.to_kube() == {"minReplicas": 1}
    assert w.meta.to_dict() == {
        "name": "c-v2-predictor",
        "namespace": "ns",
        "labels": {
            "track": "canary",
            "serving.kserve.io/inferenceservice": "c",
            "component": "predictor",
        },
        "annotations": {
            "prometheus.kserve.io/port": "8080",
            "prometheus.kserve.io/path": "/metrics",
            "internal.serving.kserve.io/storage-initializer-sourceuri": "gs://b/v2",
        },
    }
    assert w.pod_spec.to_dict()["containers"][0]["args"] == [
        "--model_name=c",
        "--model_dir=/mnt/models",
        "--http_port=8080",
    ]
    # the input InferenceService is untouched
    assert (
        obj.spec.predictor.model is not None and obj.spec.predictor.model.storage_uri == "gs://b/v1"
    )


def test_canary_skips_storage_uris_and_multi_node() -> None:
    obj = isvc(
        2,
        [canary("v2", 50)],
        storageUris=[{"uri": "s3://b/x", "mountPath": "/mnt/models"}],
        workerSpec={"pipelineParallelSize": 2},
    )
    assert obj.spec is not None and obj.spec.canary is not None
    obj.spec.predictor.model.storage_uri = None  # type: ignore[union-attr]
    can = obj.spec.canary[0]
    can_isvc = canary_inference_service(obj, can)
    rt = select_runtime(can_isvc.spec.predictor.model, [], CSRS, multi_node=False)  # type: ignore[union-attr, arg-type]
    w = build_canary_predictor(obj, can, CONFIG, rt)
    assert (w.worker_pod_spec, w.worker_meta, w.storage_uris) == (None, None, ())
    assert "initContainers" not in w.pod_spec.to_dict()


@pytest.mark.parametrize(("mode", "expected"), [("Standard", 3), ("Knative", 4)])
def test_stable_min_replicas_reduced_in_standard_mode(mode: str, expected: int) -> None:
    obj = isvc(4, [canary("v2", 25)])
    assert obj.spec is not None and obj.spec.predictor.model is not None
    w = build_predictor(
        obj,
        CONFIG,
        select_runtime(obj.spec.predictor.model, [], CSRS),
        mode,
        ready_canaries={"v2": True},
    )
    assert w.extension.min_replicas == expected
