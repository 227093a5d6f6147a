"""controllers.reconcilers.otel: the OpenTelemetryCollector as upstream builds it.

Ported from upstream ``otel_reconciler_test.go``: TestCreateOtelCollector (2 cases, here whole
objects), TestCreateOtelCollectorWithResources, ...WithPartialResources, ...WithNoResources.
Not ported (Go client / scheme calls): TestReconcileCreate, TestReconcileUpdate (their object
checks, job name and scrape interval, are in the whole-object cases), TestSetControllerReferences.
The metric-name selection of ``raw_kube_reconciler.go`` is tested here too.
"""

from __future__ import annotations

from typing import Any, cast

import pytest
from lightkube.models import meta_v1

from apis.serving.v1beta1.component import ComponentExtensionSpec
from apis.serving.v1beta1.configmap import OtelCollectorConfig, parse_inferenceservice_config
from controllers.reconcilers.otel import create_otel_collector, otel_metric_names


def meta(d: dict[str, Any]) -> meta_v1.ObjectMeta:
    return cast(meta_v1.ObjectMeta, meta_v1.ObjectMeta.from_dict(d))


TRANSFORM = {
    "metric_statements": [
        {
            "context": "datapoint",
            "statements": [
                'set(attributes["namespace"], resource.attributes["k8s.namespace.name"])',
                'set(attributes["deployment"], resource.attributes["k8s.deployment.name"])',
                'set(attributes["pod"], resource.attributes["k8s.pod.name"])',
            ],
        }
    ]
}
RESOURCEDETECTION = {"detectors": ["env"], "timeout": "2s", "override": False}


def collector(
    target: str,
    interval: str,
    endpoint: str,
    metric_names: list[str],
    annotations: dict[str, str] | None = None,
    resources: dict[str, Any] | None = None,
) -> dict[str, Any]:
    processors: dict[str, Any] = {
        "resourcedetection/env": RESOURCEDETECTION,
        "transform": TRANSFORM,
    }
    pipeline = ["resourcedetection/env", "transform"]
    if metric_names:
        processors["filter/metrics"] = {
            "metrics": {"include": {"match_type": "strict", "metric_names": metric_names}}
        }
        pipeline.append("filter/metrics")
    return {
        "apiVersion": "opentelemetry.io/v1beta1",
        "kind": "OpenTelemetryCollector",
        "metadata": {
            "name": "test-service",
            "namespace": "default",
            **({"annotations": annotations} if annotations else {}),
        },
        "spec": {
            "mode": "sidecar",
            "resources": resources or {},
            "config": {
                "receivers": {
                    "prometheus": {
                        "config": {
                            "scrape_configs": [
                                {
                                    "job_name": "otel-collector",
                                    "scrape_interval": interval,
                                    "static_configs": [{"targets": [target]}],
                                }
                            ]
                        }
                    }
                },
                "exporters": {
                    "otlp": {"endpoint": endpoint, "compression": "none", "tls": {"insecure": True}}
                },
                "processors": processors,
                "service": {
                    "pipelines": {
                        "metrics": {
                            "receivers": ["prometheus"],
                            "processors": pipeline,
                            "exporters": ["otlp"],
                        }
                    }
                },
            },
        },
    }


@pytest.mark.parametrize(
    ("component_meta", "metric_names", "config", "expected"),
    [
        pytest.param(
            {
                "name": "test-service",
                "namespace": "default",
                "annotations": {"prometheus.kserve.io/port": "9090"},
                "labels": {"not": "copied"},
            },
            ["request-count"],
            OtelCollectorConfig(scrapeInterval="15s", metricReceiverEndpoint="otel-collector:4317"),
            collector(
                "localhost:9090",
                "15s",
                "otel-collector:4317",
                ["request-count"],
                annotations={"prometheus.kserve.io/port": "9090"},
            ),
            id="port annotation and single metric",
        ),
        pytest.param(
            {"name": "test-service", "namespace": "default"},
            ["metric1", "metric2"],
            OtelCollectorConfig(scrapeInterval="30s"),
            collector("localhost:8080", "30s", "", ["metric1", "metric2"]),
            id="no port annotation, multiple metrics",
        ),
        pytest.param(
            {"name": "test-service", "namespace": "default"},
            [],
            OtelCollectorConfig(scrapeInterval="30s", metricReceiverEndpoint="r:4317"),
            collector("localhost:8080", "30s", "r:4317", []),
            id="no metric names: no filter processor",
        ),
    ],
)
def test_create_otel_collector(
    component_meta: dict[str, Any],
    metric_names: list[str],
    config: OtelCollectorConfig,
    expected: dict[str, Any],
) -> None:
    assert create_otel_collector(meta(component_meta), metric_names, config) == expected


@pytest.mark.parametrize(
    ("resource", "expected"),
    [
        pytest.param(
            {
                "cpuLimit": "500m",
                "memoryLimit": "1Gi",
                "cpuRequest": "100m",
                "memoryRequest": "256Mi",
            },
            {
                "limits": {"cpu": "500m", "memory": "1Gi"},
                "requests": {"cpu": "100m", "memory": "256Mi"},
            },
            id="WithResources",
        ),
        pytest.param(
            {"cpuLimit": "500m", "cpuRequest": "100m"},
            {"limits": {"cpu": "500m"}, "requests": {"cpu": "100m"}},
            id="WithPartialResources",
        ),
        pytest.param({}, {}, id="WithNoResources"),
        pytest.param(
            {"cpuLimit": "1000m", "memoryLimit": "2048Mi", "cpuRequest": "0.2"},
            {"limits": {"cpu": "1", "memory": "2Gi"}, "requests": {"cpu": "200m"}},
            id="quantities in Go's canonical form",
        ),
    ],
)
def test_resources(resource: dict[str, str], expected: dict[str, Any]) -> None:
    config = OtelCollectorConfig.model_validate(
        {
            "scrapeInterval": "30s",
            "metricReceiverEndpoint": "otel-receiver:4317",
            "resource": resource,
        }
    )
    got = create_otel_collector(meta({"name": "test-service", "namespace": "default"}), [], config)
    assert got["spec"]["resources"] == expected


def test_shipped_config() -> None:
    cfg = parse_inferenceservice_config(
        {
            "opentelemetryCollector": '{"scrapeInterval": "5s", '
            '"metricReceiverEndpoint": "keda-otel-scaler.keda.svc:4317", '
            '"metricScalerEndpoint": "keda-otel-scaler.keda.svc:4318", '
            '"resource": {"cpuLimit": "1", "memoryLimit": "2Gi", '
            '"cpuRequest": "200m", "memoryRequest": "512Mi"}}'
        }
    ).opentelemetry_collector
    got = create_otel_collector(meta({"name": "test-service", "namespace": "default"}), ["m"], cfg)
    assert got == collector(
        "localhost:8080",
        "5s",
        "keda-otel-scaler.keda.svc:4317",
        ["m"],
        resources={
            "limits": {"cpu": "1", "memory": "2Gi"},
            "requests": {"cpu": "200m", "memory": "512Mi"},
        },
    )


def pod_metric(backend: str | None, names: list[str] | None) -> dict[str, Any]:
    return {
        "type": "PodMetric",
        "podmetric": {
            "metric": {"backend": backend, "metricNames": names, "query": "q"},
            "target": {"value": "1"},
        },
    }


@pytest.mark.parametrize(
    ("component_ext", "names"),
    [
        pytest.param(None, [], id="no extension"),
        pytest.param({}, [], id="no autoScaling"),
        pytest.param(
            {
                "autoScaling": {
                    "metrics": [
                        pod_metric("opentelemetry", ["a", "b"]),
                        {"type": "Resource", "resource": {"name": "cpu", "target": {}}},
                        pod_metric(None, ["ignored"]),
                        pod_metric("opentelemetry", ["c"]),
                        pod_metric("opentelemetry", None),
                    ]
                }
            },
            ["a", "b", "c"],
            id="names of opentelemetry PodMetric entries, in order",
        ),
    ],
)
def test_otel_metric_names(component_ext: dict[str, Any] | None, names: list[str]) -> None:
    spec = None if component_ext is None else ComponentExtensionSpec.model_validate(component_ext)
    assert otel_metric_names(spec) == names
