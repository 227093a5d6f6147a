"""controllers.reconcilers.keda: the KEDA ScaledObject as upstream builds it.

Ported from upstream ``keda_reconciler_test.go`` (31 test functions). The object-shape ones
become table rows asserting whole triggers / whole ScaledObjects:
NewKedaReconciler, CreateKedaScaledObject (+ _DefaultMinReplicas, _MaxReplicasLessThanMinReplicas,
_SetsBasicFields, _SetsTriggers, _UsesDefaultMinReplicas, _AdvancedConfigFromComponentExt,
_AdvancedConfigFromConfigMap), GetKedaMetrics_* (ResourceMetricSourceType, ExternalMetricSourceType,
PodMetricSourceType, AverageValueMetricSourceType, ValueMetricSourceType, DefaultCPUUtilization,
NilAutoScaling, ResourceMetricSourceType_Utilization, _Utilization_DefaultCPU, _AverageValue,
_Value, ExternalMetricSourceType_WithNamespaceAndAuth, _WithoutNamespaceOrAuth,
PodMetricSourceType_Success, StringPreservation (3 cases)), GetOriginalStringMQ (4 cases).
Not ported (Go client / scheme calls; the lead's compare-then-apply and owner references replace
them): SemanticScaledObjectEquals, Reconcile, Reconcile_CreateScaledObject,
Reconcile_UpdateScaledObject, Reconcile_HandleGetError, SetControllerReferences.
"""

from __future__ import annotations

import re
from typing import Any, cast

import pytest
from lightkube.models import meta_v1

from apis.serving.v1beta1.component import ComponentExtensionSpec
from apis.serving.v1beta1.configmap import (
    AutoscalerConfig,
    OtelCollectorConfig,
    parse_inferenceservice_config,
)
from controllers.reconcilers.keda import (
    create_keda_scaled_object,
    get_keda_metrics,
    get_original_string_mq,
)

TEST_META = {"name": "test-component", "namespace": "test-namespace"}


def meta(d: dict[str, Any]) -> meta_v1.ObjectMeta:
    return cast(meta_v1.ObjectMeta, meta_v1.ObjectMeta.from_dict(d))


def ext(d: dict[str, Any] | None) -> ComponentExtensionSpec | None:
    return None if d is None else ComponentExtensionSpec.model_validate(d)


def metrics(*entries: dict[str, Any]) -> dict[str, Any]:
    return {"autoScaling": {"metrics": list(entries)}}


def resource(name: str, target: dict[str, Any]) -> dict[str, Any]:
    return {"type": "Resource", "resource": {"name": name, "target": target}}


PROMETHEUS = {
    "type": "External",
    "external": {
        "metric": {
            "backend": "prometheus",
            "serverAddress": "http://prometheus-server",
            "query": "http_requests_total",
            "namespace": "test-namespace",
        },
        "target": {"value": "100.9"},
    },
}
OTEL = {
    "type": "PodMetric",
    "podmetric": {
        "metric": {
            "backend": "opentelemetry",
            "query": "otel_query",
            "serverAddress": "http://otel-server",
            "operationOverTime": "sum",
        },
        "target": {"value": "200"},
    },
}


@pytest.mark.parametrize(
    ("component_ext", "triggers"),
    [
        pytest.param(
            metrics(resource("cpu", {"type": "Utilization", "averageUtilization": 50})),
            [{"type": "cpu", "metricType": "Utilization", "metadata": {"value": "50"}}],
            id="Resource",
        ),
        pytest.param(
            metrics(PROMETHEUS),
            [
                {
                    "type": "prometheus",
                    "metadata": {
                        "serverAddress": "http://prometheus-server",
                        "query": "http_requests_total",
                        "threshold": "100.9",
                        "namespace": "test-namespace",
                    },
                }
            ],
            id="External",
        ),
        pytest.param(
            metrics(OTEL),
            [
                {
                    "type": "external",
                    "metadata": {
                        "metricQuery": 'sum(otel_query{namespace="test-namespace", '
                        'deployment="test-component"})',
                        "targetValue": "200",
                        "scalerAddress": "http://otel-server",
                        "operationOverTime": "sum",
                    },
                }
            ],
            id="PodMetric (and PodMetricSourceType_Success)",
        ),
        pytest.param(
            metrics(resource("cpu", {"type": "AverageValue", "averageValue": "150m"})),
            [{"type": "cpu", "metricType": "AverageValue", "metadata": {"value": "150m"}}],
            id="AverageValue",
        ),
        pytest.param(
            metrics(resource("memory", {"type": "Value", "value": "512Mi"})),
            [{"type": "memory", "metricType": "Value", "metadata": {"value": "512Mi"}}],
            id="Value (and ResourceMetricSourceType_Value)",
        ),
        pytest.param(
            metrics(resource("cpu", {"type": "Utilization"})),
            [{"type": "cpu", "metricType": "Utilization", "metadata": {"value": "80"}}],
            id="DefaultCPUUtilization (and _Utilization_DefaultCPU)",
        ),
        pytest.param({"autoScaling": None}, [], id="NilAutoScaling"),
        pytest.param(
            metrics(resource("cpu", {"type": "Utilization", "averageUtilization": 75})),
            [{"type": "cpu", "metricType": "Utilization", "metadata": {"value": "75"}}],
            id="ResourceMetricSourceType_Utilization",
        ),
        pytest.param(
            metrics(resource("memory", {"type": "AverageValue", "averageValue": "256Mi"})),
            [{"type": "memory", "metricType": "AverageValue", "metadata": {"value": "256Mi"}}],
            id="ResourceMetricSourceType_AverageValue",
        ),
        pytest.param(
            metrics(
                {
                    "type": "External",
                    "external": {
                        "metric": {
                            "backend": "prometheus",
                            "serverAddress": "http://prometheus-server",
                            "query": "http_requests_total",
                            "namespace": "test-ns",
                        },
                        "target": {"value": "123"},
                        "authenticationRef": {
                            "authModes": "bearer",
                            "authenticationRef": {"name": "auth-secret"},
                        },
                    },
                }
            ),
            [
                {
                    "type": "prometheus",
                    "metadata": {
                        "serverAddress": "http://prometheus-server",
                        "query": "http_requests_total",
                        "threshold": "123",
                        "namespace": "test-ns",
                        "authModes": "bearer",
                    },
                    "authenticationRef": {"name": "auth-secret"},
                }
            ],
            id="ExternalMetricSourceType_WithNamespaceAndAuth",
        ),
        pytest.param(
            metrics(
                {
                    "type": "External",
                    "external": {
                        "metric": {
                            "backend": "prometheus",
                            "serverAddress": "http://prometheus-server",
                            "query": "http_requests_total",
                        },
                        "target": {"value": "99"},
                    },
                }
            ),
            [
                {
                    "type": "prometheus",
                    "metadata": {
                        "serverAddress": "http://prometheus-server",
                        "query": "http_requests_total",
                        "threshold": "99",
                    },
                }
            ],
            id="ExternalMetricSourceType_WithoutNamespaceOrAuth",
        ),
        # StringPreservation
        pytest.param(
            metrics(resource("cpu", {"type": "AverageValue", "averageValue": "0.6"})),
            [{"type": "cpu", "metricType": "AverageValue", "metadata": {"value": "0.6"}}],
            id="StringPreservation: Resource AverageValue preserves decimal",
        ),
        pytest.param(
            metrics(resource("memory", {"type": "Value", "value": "50Gi"})),
            [{"type": "memory", "metricType": "Value", "metadata": {"value": "50Gi"}}],
            id="StringPreservation: Resource Value preserves memory unit",
        ),
        pytest.param(
            metrics(resource("cpu", {"type": "AverageValue", "averageValue": "900m"})),
            [{"type": "cpu", "metricType": "AverageValue", "metadata": {"value": "900m"}}],
            id="StringPreservation: milli values preserved as-is",
        ),
        # beyond upstream's tests: the remaining branches of getKedaMetrics
        pytest.param(
            metrics(
                {
                    "type": "External",
                    "external": {
                        "metric": {"backend": "graphite", "query": "q", "namespace": "ignored"},
                        "target": {"value": 7},
                        "authenticationRef": {"authenticationRef": {"name": ""}},
                    },
                }
            ),
            [
                {
                    "type": "graphite",
                    "metadata": {"serverAddress": "", "query": "q", "threshold": "7"},
                }
            ],
            id="graphite: no namespace, integer threshold, empty auth ignored",
        ),
        pytest.param(
            metrics(resource("memory", {"type": "Utilization"})),
            [{"type": "memory", "metricType": "Utilization", "metadata": {"value": "0"}}],
            id="memory utilization without a value: 0",
        ),
        pytest.param(
            metrics(resource("memory", {})),
            [{"type": "memory", "metadata": {"value": "0"}}],
            id="no target type: no metricType, value 0",
        ),
        pytest.param(
            metrics(
                {
                    "type": "PodMetric",
                    "podmetric": {"metric": {"query": "q"}, "target": {"value": "1"}},
                }
            ),
            [{"type": "", "metadata": {}}],
            id="PodMetric without the opentelemetry backend: empty trigger, as upstream",
        ),
    ],
)
def test_get_keda_metrics(component_ext: dict[str, Any], triggers: list[dict[str, Any]]) -> None:
    got = get_keda_metrics(meta(TEST_META), ext(component_ext), OtelCollectorConfig())
    assert got == triggers


def test_pod_metric_scaler_address_from_config() -> None:
    pod_metric = {
        "type": "PodMetric",
        "podmetric": {
            "metric": {"backend": "opentelemetry", "query": "q"},
            "target": {"value": "3"},
        },
    }
    got = get_keda_metrics(
        meta(TEST_META),
        ext(metrics(pod_metric)),
        OtelCollectorConfig(metricScalerEndpoint="keda-otel-scaler.keda.svc:4318"),
    )
    assert got == [
        {
            "type": "external",
            "metadata": {
                "metricQuery": 'sum(q{namespace="test-namespace", deployment="test-component"})',
                "targetValue": "3",
                "scalerAddress": "keda-otel-scaler.keda.svc:4318",
            },
        }
    ]


@pytest.mark.parametrize(
    ("entry", "field"),
    [
        ({"type": "Resource"}, "autoScaling.metrics[0].resource"),
        ({"type": "External"}, "autoScaling.metrics[0].external"),
        ({"type": "PodMetric"}, "autoScaling.metrics[0].podmetric"),
    ],
)
def test_missing_metric_source_is_a_clear_error(entry: dict[str, Any], field: str) -> None:
    with pytest.raises(ValueError, match="^" + re.escape(field + ": metricSpec.")):
        get_keda_metrics(meta(TEST_META), ext(metrics(entry)), OtelCollectorConfig())


def scaled_object(
    name: str,
    namespace: str,
    min_r: int,
    max_r: int,
    triggers: list[dict[str, Any]] | None = None,
    extra_meta: dict[str, Any] | None = None,
    advanced: dict[str, Any] | None = None,
) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "scaleTargetRef": {"name": name},
        "minReplicaCount": min_r,
        "maxReplicaCount": max_r,
        "triggers": triggers or [],
    }
    if advanced is not None:
        spec["advanced"] = {"horizontalPodAutoscalerConfig": advanced, "scalingModifiers": {}}
    return {
        "apiVersion": "keda.sh/v1alpha1",
        "kind": "ScaledObject",
        "metadata": {"name": name, "namespace": namespace, **(extra_meta or {})},
        "spec": spec,
    }


@pytest.mark.parametrize(
    ("component_meta", "component_ext", "config", "expected"),
    [
        pytest.param(
            TEST_META,
            {"minReplicas": 1, "maxReplicas": 3},
            {},
            scaled_object("test-component", "test-namespace", 1, 3),
            id="CreateKedaScaledObject (and NewKedaReconciler)",
        ),
        pytest.param(
            TEST_META,
            {"maxReplicas": 3},
            {},
            scaled_object("test-component", "test-namespace", 1, 3),
            id="DefaultMinReplicas",
        ),
        pytest.param(
            TEST_META,
            {"minReplicas": 5, "maxReplicas": 3},
            {},
            scaled_object("test-component", "test-namespace", 5, 5),
            id="MaxReplicasLessThanMinReplicas",
        ),
        pytest.param(
            {
                "name": "basic-component",
                "namespace": "basic-namespace",
                "labels": {"foo": "bar"},
                "annotations": {"anno": "val"},
            },
            {"minReplicas": 2, "maxReplicas": 5},
            {},
            scaled_object(
                "basic-component",
                "basic-namespace",
                2,
                5,
                extra_meta={"labels": {"foo": "bar"}, "annotations": {"anno": "val"}},
            ),
            id="SetsBasicFields",
        ),
        pytest.param(
            {"name": "trigger-component", "namespace": "trigger-namespace"},
            metrics(resource("cpu", {"type": "Utilization", "averageUtilization": 50})),
            {},
            scaled_object(
                "trigger-component",
                "trigger-namespace",
                1,
                1,
                [{"type": "cpu", "metricType": "Utilization", "metadata": {"value": "50"}}],
            ),
            id="SetsTriggers",
        ),
        pytest.param(
            {"name": "default-min", "namespace": "default-ns"},
            {"maxReplicas": 4},
            {},
            scaled_object("default-min", "default-ns", 1, 4),
            id="UsesDefaultMinReplicas",
        ),
        pytest.param(
            {"name": "advanced", "namespace": "ns"},
            {
                "minReplicas": 1,
                "maxReplicas": 3,
                "autoScaling": {
                    "behavior": {
                        "scaleDown": {"stabilizationWindowSeconds": 60},
                        "scaleUp": {"stabilizationWindowSeconds": 30},
                    }
                },
            },
            # the configmap windows lose to the component's
            {"autoscaler": '{"scaleUpStabilizationWindowSeconds": "0"}'},
            scaled_object(
                "advanced",
                "ns",
                1,
                3,
                advanced={
                    "behavior": {
                        "scaleDown": {"stabilizationWindowSeconds": 60},
                        "scaleUp": {"stabilizationWindowSeconds": 30},
                    }
                },
            ),
            id="AdvancedConfigFromComponentExt",
        ),
        pytest.param(
            {"name": "from-cm", "namespace": "ns"},
            {"minReplicas": 1, "maxReplicas": 2, "autoScaling": {}},
            {
                "autoscaler": '{"scaleUpStabilizationWindowSeconds": "15", '
                '"scaleDownStabilizationWindowSeconds": "45"}'
            },
            scaled_object(
                "from-cm",
                "ns",
                1,
                2,
                advanced={
                    "behavior": {
                        "scaleDown": {"stabilizationWindowSeconds": 45},
                        "scaleUp": {"stabilizationWindowSeconds": 15},
                    }
                },
            ),
            id="AdvancedConfigFromConfigMap",
        ),
        # beyond upstream's tests
        pytest.param(
            TEST_META,
            {
                "minReplicas": 0,
                "autoScaling": {"behavior": {"scaleUp": {"stabilizationWindowSeconds": 5}}},
            },
            {"autoscaler": '{"scaleDownStabilizationWindowSeconds": "300"}'},
            scaled_object(
                "test-component",
                "test-namespace",
                0,
                0,
                advanced={
                    "behavior": {
                        "scaleDown": {"stabilizationWindowSeconds": 300},
                        "scaleUp": {"stabilizationWindowSeconds": 5},
                    }
                },
            ),
            id="minReplicas 0 kept; one window from each source",
        ),
        pytest.param(
            TEST_META,
            {},
            {
                "autoscaler": '{"scaleUpStabilizationWindowSeconds": "soon", '
                '"scaleDownStabilizationWindowSeconds": "99999999999"}'
            },
            scaled_object("test-component", "test-namespace", 1, 1),
            id="unparsable configmap windows are ignored",
        ),
        pytest.param(
            TEST_META,
            None,
            {"autoscaler": '{"scaleUpStabilizationWindowSeconds": "0"}'},
            scaled_object(
                "test-component",
                "test-namespace",
                1,
                1,
                advanced={"behavior": {"scaleUp": {"stabilizationWindowSeconds": 0}}},
            ),
            id="no component extension; a zero window is still set",
        ),
    ],
)
def test_create_keda_scaled_object(
    component_meta: dict[str, Any],
    component_ext: dict[str, Any] | None,
    config: dict[str, str],
    expected: dict[str, Any],
) -> None:
    cfg = parse_inferenceservice_config(config)
    got = create_keda_scaled_object(
        meta(component_meta), ext(component_ext), cfg.opentelemetry_collector, cfg.autoscaler
    )
    assert got == expected


def test_shipped_config_windows() -> None:
    # config/configmap/inferenceservice.yaml ships "0" and "300"
    got = create_keda_scaled_object(
        meta(TEST_META),
        ext({}),
        OtelCollectorConfig(),
        AutoscalerConfig(
            scaleUpStabilizationWindowSeconds="0", scaleDownStabilizationWindowSeconds="300"
        ),
    )
    assert got["spec"]["advanced"] == {
        "horizontalPodAutoscalerConfig": {
            "behavior": {
                "scaleDown": {"stabilizationWindowSeconds": 300},
                "scaleUp": {"stabilizationWindowSeconds": 0},
            }
        },
        "scalingModifiers": {},
    }


def test_labels_not_shared_with_input() -> None:
    m = meta({"name": "a", "labels": {"x": "1"}})
    got = create_keda_scaled_object(m, None, OtelCollectorConfig(), AutoscalerConfig())
    got["metadata"]["labels"]["y"] = "2"
    assert m.labels == {"x": "1"}


@pytest.mark.parametrize(
    ("mq", "default", "expected"),
    [
        pytest.param("0.6", "default", "0.6", id="valid MetricQuantity with raw value"),
        pytest.param(None, "fallback", "fallback", id="nil MetricQuantity returns fallback"),
        pytest.param("", "fallback", "fallback", id="empty raw value returns fallback"),
        pytest.param("50Gi", "default", "50Gi", id="memory unit preserved"),
        pytest.param(100, "default", "100", id="an integer as its digits"),
    ],
)
def test_get_original_string_mq(mq: str | int | None, default: str, expected: str) -> None:
    assert get_original_string_mq(mq, default) == expected
