"""controllers.reconcilers.hpa: the HPA as upstream builds it, and when it is created/deleted.

Ported from upstream ``hpa_reconciler_test.go``: TestCreateHPA (8 cases, whole objects),
TestGetHPAMetrics (10 cases), and the create/skip/delete decisions of TestCheckHPAExist and
TestReconcile (as :func:`should_create_hpa`/:func:`should_delete_hpa` tables). Not ported:
TestSemanticHPAEquals and the update/"existed" outcomes (the lead's compare-then-apply decides
updates), TestSetControllerReferences (owner references are set by the reconcile).

Every expected HPA carries :data:`DEFAULT_HPA_BEHAVIOR` where upstream's has ``behavior: {}``
(our deliberate choice, see the module docstring).
"""

from __future__ import annotations

from typing import Any, cast

import pytest
from lightkube.models import meta_v1
from lightkube.resources.autoscaling_v2 import HorizontalPodAutoscaler

from apis.serving.v1beta1.component import ComponentExtensionSpec
from controllers.reconcilers.hpa import (
    DEFAULT_HPA_BEHAVIOR,
    create_hpa,
    get_hpa_metrics,
    should_create_hpa,
    should_delete_hpa,
)

BEHAVIOR = {
    "scaleUp": {
        "stabilizationWindowSeconds": 0,
        "selectPolicy": "Max",
        "policies": [
            {"type": "Pods", "value": 4, "periodSeconds": 15},
            {"type": "Percent", "value": 100, "periodSeconds": 15},
        ],
    },
    "scaleDown": {
        "selectPolicy": "Max",
        "policies": [{"type": "Percent", "value": 100, "periodSeconds": 15}],
    },
}


def meta(d: dict[str, Any]) -> meta_v1.ObjectMeta:
    return cast(meta_v1.ObjectMeta, meta_v1.ObjectMeta.from_dict(d))


def ext(d: dict[str, Any] | None) -> ComponentExtensionSpec | None:
    return None if d is None else ComponentExtensionSpec.model_validate(d)


def cpu(util: int) -> dict[str, Any]:
    return {
        "type": "Resource",
        "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": util}},
    }


def memory_util(util: int) -> dict[str, Any]:
    return {
        "type": "Resource",
        "resource": {
            "name": "memory",
            "target": {"type": "Utilization", "averageUtilization": util},
        },
    }


def memory_value(value: str) -> dict[str, Any]:
    return {
        "type": "Resource",
        "resource": {"name": "memory", "target": {"type": "AverageValue", "averageValue": value}},
    }


IG_META = {
    "name": "basic-ig",
    "namespace": "basic-ig-namespace",
    "annotations": {"annotation": "annotation-value"},
    "labels": {"label": "label-value", "serving.kserve.io/inferencegraph": "basic-ig"},
}


def hpa(
    name: str,
    min_r: int,
    max_r: int,
    metrics: list[dict[str, Any]] | None,
    metadata: dict[str, Any] | None = None,
) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": name},
        "minReplicas": min_r,
        "maxReplicas": max_r,
        "behavior": BEHAVIOR,
    }
    if metrics is not None:
        spec["metrics"] = metrics
    return {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": metadata or {},
        "spec": spec,
    }


def autoscaling(*metrics: dict[str, Any]) -> dict[str, Any]:
    return {"autoScaling": {"metrics": list(metrics)}}


@pytest.mark.parametrize(
    ("component_meta", "component_ext", "expected"),
    [
        pytest.param(
            IG_META, {}, hpa("basic-ig", 1, 1, [cpu(80)], IG_META), id="inference graph default"
        ),
        pytest.param(
            IG_META,
            {"minReplicas": 2, "maxReplicas": 5, "scaleTarget": 30, "scaleMetric": "cpu"},
            hpa("basic-ig", 2, 5, [cpu(30)], IG_META),
            id="inference graph specified",
        ),
        pytest.param(
            {},
            autoscaling({"type": "Resource", "resource": {"name": "cpu", "target": {}}}),
            hpa("", 1, 1, [cpu(80)]),
            id="predictor cpu metric",
        ),
        pytest.param(
            {},
            autoscaling(memory_util(80)),
            hpa("", 1, 1, [memory_util(80)]),
            id="predictor memory utilization metric",
        ),
        pytest.param(
            {},
            autoscaling(memory_value("1Gi")),
            hpa("", 1, 1, [memory_value("1Gi")]),
            id="predictor memory metric",
        ),
        pytest.param(
            {},
            {"minReplicas": 5, "maxReplicas": 10, "scaleTarget": 50, "scaleMetric": "cpu"},
            hpa("", 5, 10, [cpu(50)]),
            id="predictor with ScaleMetric",
        ),
        pytest.param(
            {},
            {"minReplicas": 0, "maxReplicas": -10, "scaleMetric": "memory"},
            hpa("", 1, 1, None),
            id="invalid memory scale target: no metrics (server defaults cpu 80)",
        ),
        pytest.param(
            {"name": "nil-component-ext", "namespace": "default"},
            None,
            hpa(
                "nil-component-ext",
                1,
                1,
                [cpu(80)],
                {"name": "nil-component-ext", "namespace": "default"},
            ),
            id="nil componentExt",
        ),
    ],
)
def test_create_hpa(
    component_meta: dict[str, Any], component_ext: dict[str, Any] | None, expected: dict[str, Any]
) -> None:
    assert create_hpa(meta(component_meta), ext(component_ext)).to_dict() == expected


def test_behavior_is_not_shared() -> None:
    got = create_hpa(meta({"name": "a"}), None)
    assert got.spec is not None and got.spec.behavior is not None
    assert got.spec.behavior is not DEFAULT_HPA_BEHAVIOR
    assert got.spec.behavior.to_dict() == BEHAVIOR


@pytest.mark.parametrize(
    ("component_ext", "expected"),
    [
        pytest.param({"scaleMetric": "cpu", "scaleTarget": 70}, [cpu(70)], id="cpu scaleTarget"),
        pytest.param({"scaleMetric": "cpu"}, [cpu(80)], id="cpu without scaleTarget"),
        pytest.param(
            {"scaleMetric": "memory", "scaleTarget": 60}, [memory_util(60)], id="memory scaleTarget"
        ),
        pytest.param({"scaleMetric": "memory"}, [], id="memory without scaleTarget"),
        pytest.param(autoscaling(cpu(75)), [cpu(75)], id="autoscaling cpu utilization"),
        pytest.param(
            autoscaling({"type": "Resource", "resource": {"name": "cpu", "target": {}}}),
            [cpu(80)],
            id="autoscaling cpu without utilization",
        ),
        pytest.param(
            autoscaling(memory_util(65)), [memory_util(65)], id="autoscaling memory utilization"
        ),
        pytest.param(
            autoscaling(memory_value("500Mi")),
            [memory_value("500Mi")],
            id="autoscaling memory average value",
        ),
        pytest.param(
            autoscaling(cpu(75), memory_value("1Gi")),
            [cpu(75), memory_value("1Gi")],
            id="multiple metrics",
        ),
        pytest.param(None, [cpu(80)], id="nil componentExt: default cpu"),
        # beyond upstream's table: what the code does with the other shapes
        pytest.param(
            autoscaling(
                {
                    "type": "Resource",
                    "resource": {
                        "name": "cpu",
                        "target": {"type": "AverageValue", "averageValue": "1"},
                    },
                }
            ),
            [cpu(80)],
            id="cpu is always Utilization",
        ),
        pytest.param(
            autoscaling(
                {"type": "External", "external": {"metric": {"query": "q"}, "target": {}}},
                cpu(60),
            ),
            [cpu(60)],
            id="non-Resource entries are skipped",
        ),
        pytest.param(
            autoscaling(
                {
                    "type": "Resource",
                    "resource": {"name": "memory", "target": {"type": "Value", "value": "1Gi"}},
                }
            ),
            [{"type": "Resource", "resource": {"name": "memory", "target": {"type": ""}}}],
            id="memory Value target: empty target type, as upstream",
        ),
        pytest.param(
            autoscaling(memory_value("1024Mi")),
            [memory_value("1Gi")],
            id="quantities in Go's canonical form",
        ),
        pytest.param(
            {"scaleMetric": "cpu", "scaleTarget": 70, **autoscaling(memory_util(50))},
            [memory_util(50)],
            id="autoScaling wins over scaleMetric",
        ),
    ],
)
def test_get_hpa_metrics(
    component_ext: dict[str, Any] | None, expected: list[dict[str, Any]]
) -> None:
    assert [m.to_dict() for m in get_hpa_metrics(ext(component_ext))] == expected


KSERVE_OWNER = {
    "apiVersion": "serving.kserve.io/v1beta1",
    "kind": "InferenceService",
    "name": "my-inferenceservice",
    "uid": "12345",
    "controller": True,
}
OTHER_OWNER = {"apiVersion": "apps/v1", "kind": "Deployment", "name": "x", "uid": "6"}


def obj(annotations: dict[str, str] | None = None, owner: dict[str, Any] | None = None) -> Any:
    m: dict[str, Any] = {"name": "test-hpa", "namespace": "default"}
    if annotations is not None:
        m["annotations"] = annotations
    if owner is not None:
        m["ownerReferences"] = [owner]
    return HorizontalPodAutoscaler.from_dict(
        {"metadata": m, "spec": {"maxReplicas": 3, "scaleTargetRef": {"kind": "D", "name": "n"}}}
    )


CLASS = "serving.kserve.io/autoscalerClass"
STOP = "serving.kserve.io/stop"


@pytest.mark.parametrize(
    ("annotations", "create"),
    [
        pytest.param(None, True, id="no class: create"),
        pytest.param({CLASS: "hpa"}, True, id="hpa: create"),
        pytest.param({CLASS: "external"}, False, id="external: skip"),
        pytest.param({CLASS: "none"}, False, id="none: skip"),
        pytest.param({STOP: "TRUE"}, False, id="stopped: skip"),
        pytest.param({STOP: "false", CLASS: "hpa"}, True, id="stop false: create"),
    ],
)
def test_should_create_hpa(annotations: dict[str, str] | None, create: bool) -> None:
    assert should_create_hpa(obj(annotations)) is create


@pytest.mark.parametrize(
    ("existing", "desired", "delete"),
    [
        pytest.param(
            obj(None, KSERVE_OWNER),
            obj({CLASS: "external"}),
            True,
            id="external autoscaler, owner is kserve: delete",
        ),
        pytest.param(
            obj(None, KSERVE_OWNER), obj({CLASS: "none"}), True, id="none, owner kserve: delete"
        ),
        pytest.param(
            obj(None, OTHER_OWNER),
            obj({CLASS: "external"}),
            False,
            id="external autoscaler, not owned by kserve: keep",
        ),
        pytest.param(obj(None), obj({CLASS: "none"}), False, id="no owner: keep"),
        pytest.param(obj({CLASS: "hpa"}, KSERVE_OWNER), obj({CLASS: "hpa"}), False, id="hpa: keep"),
        pytest.param(
            obj({CLASS: "hpa"}, KSERVE_OWNER),
            obj({CLASS: "keda"}),
            False,
            id="different class keda: keep (updated, as upstream)",
        ),
        pytest.param(
            obj(None, KSERVE_OWNER),
            obj({STOP: "true"}),
            True,
            id="stopped (desired): delete in one pass",
        ),
        pytest.param(
            obj({STOP: "true"}, KSERVE_OWNER),
            obj({STOP: "false"}),
            False,
            id="un-stopped: keep (upstream deletes once more)",
        ),
    ],
)
def test_should_delete_hpa(existing: Any, desired: Any, delete: bool) -> None:
    assert should_delete_hpa(existing, desired) is delete
