"""The OpenTelemetryCollector (``opentelemetry.io/v1beta1``) of a component (upstream
``reconcilers/otel/otel_reconciler.go``: ``createOtelCollector``, ``createResourceRequirements``;
and the metric-name selection of ``raw_kube_reconciler.go``).

A sidecar-mode collector that scrapes the model server's Prometheus endpoint and pushes the
selected metrics over OTLP to the KEDA OTel scaler. Returned as a plain dict. Of the spec, only
what upstream sets is written (``mode``, ``config``, ``resources``): the Go struct's other
fields serialise as empty values that the operator's webhook fills with its defaults, so
leaving them to the server stores the same object. Resource quantities are written in Go's
canonical form (``resource.MustParse(x).String()``).
"""

from __future__ import annotations

from typing import Any

from lightkube.models import meta_v1

from apis.serving.constants import KSERVE_CONTAINER_PROMETHEUS_PORT_ANNOTATION
from apis.serving.v1beta1.component import ComponentExtensionSpec
from apis.serving.v1beta1.configmap import OtelCollectorConfig, ResourceConfig
from apis.serving.validation import canonical_quantity

from .utils import metadata_dict

__all__ = [
    "DEFAULT_PROMETHEUS_PORT",
    "JOB_NAME_OTEL_COLLECTOR",
    "MODE_SIDECAR",
    "OTEL_API_VERSION",
    "OTEL_COLLECTOR_KIND",
    "PROCESSOR_FILTER_METRICS",
    "PROCESSOR_RESOURCEDETECTION_ENV",
    "PROCESSOR_TRANSFORM",
    "create_otel_collector",
    "create_resource_requirements",
    "otel_metric_names",
]

OTEL_API_VERSION = "opentelemetry.io/v1beta1"
OTEL_COLLECTOR_KIND = "OpenTelemetryCollector"
PROCESSOR_RESOURCEDETECTION_ENV = "resourcedetection/env"
PROCESSOR_TRANSFORM = "transform"
PROCESSOR_FILTER_METRICS = "filter/metrics"
JOB_NAME_OTEL_COLLECTOR = "otel-collector"
PROMETHEUS_RECEIVER = "prometheus"
OTLP_EXPORTER = "otlp"
MODE_SIDECAR = "sidecar"
DEFAULT_PROMETHEUS_PORT = "8080"
"""Scrape port when the component has no ``prometheus.kserve.io/port`` annotation."""
_STATEMENTS = (
    'set(attributes["namespace"], resource.attributes["k8s.namespace.name"])',
    'set(attributes["deployment"], resource.attributes["k8s.deployment.name"])',
    'set(attributes["pod"], resource.attributes["k8s.pod.name"])',
)


def otel_metric_names(component_ext: ComponentExtensionSpec | None) -> list[str]:
    """The metric names of every ``PodMetric`` entry with backend ``opentelemetry`` in
    ``autoScaling.metrics``, in order (``NewRawKubeReconciler``). A collector is built only
    when this is not empty."""
    names: list[str] = []
    if component_ext is None or component_ext.auto_scaling is None:
        return names
    for metric in component_ext.auto_scaling.metrics or []:
        if metric.type != "PodMetric" or metric.pod_metric is None:
            continue
        if metric.pod_metric.metric.backend == "opentelemetry":
            names.extend(metric.pod_metric.metric.metric_names or [])
    return names


def create_resource_requirements(resource: ResourceConfig) -> dict[str, Any]:
    """``createResourceRequirements``: requests/limits with the cpu/memory values that are set
    (``{}`` when none is)."""
    out: dict[str, Any] = {}
    requests = {
        k: canonical_quantity(v)
        for k, v in (("cpu", resource.cpu_request), ("memory", resource.memory_request))
        if v
    }
    limits = {
        k: canonical_quantity(v)
        for k, v in (("cpu", resource.cpu_limit), ("memory", resource.memory_limit))
        if v
    }
    if limits:
        out["limits"] = limits
    if requests:
        out["requests"] = requests
    return out


def create_otel_collector(
    component_meta: meta_v1.ObjectMeta,
    metric_names: list[str],
    otel_config: OtelCollectorConfig,
) -> dict[str, Any]:
    """``createOtelCollector``: collector ``<component>`` (component annotations, no labels, as
    upstream), mode sidecar; prometheus receiver job ``otel-collector`` scraping
    ``localhost:<prometheus.kserve.io/port or 8080>`` every ``scrapeInterval``; processors
    ``resourcedetection/env`` (env detector, 2s, no override), ``transform`` (datapoint
    attributes namespace/deployment/pod from the k8s resource attributes) and, with metric names,
    ``filter/metrics`` (strict include); OTLP exporter to ``metricReceiverEndpoint``, no
    compression, insecure TLS; one ``metrics`` pipeline; resources from the config."""
    port = (component_meta.annotations or {}).get(
        KSERVE_CONTAINER_PROMETHEUS_PORT_ANNOTATION, DEFAULT_PROMETHEUS_PORT
    )
    processors: dict[str, Any] = {
        PROCESSOR_RESOURCEDETECTION_ENV: {
            "detectors": ["env"],
            "timeout": "2s",
            "override": False,
        },
        PROCESSOR_TRANSFORM: {
            "metric_statements": [{"context": "datapoint", "statements": list(_STATEMENTS)}]
        },
    }
    pipeline_processors = [PROCESSOR_RESOURCEDETECTION_ENV, PROCESSOR_TRANSFORM]
    if metric_names:
        processors[PROCESSOR_FILTER_METRICS] = {
            "metrics": {"include": {"match_type": "strict", "metric_names": list(metric_names)}}
        }
        pipeline_processors.append(PROCESSOR_FILTER_METRICS)

    metadata = metadata_dict(component_meta, labels=False)
    return {
        "apiVersion": OTEL_API_VERSION,
        "kind": OTEL_COLLECTOR_KIND,
        "metadata": metadata,
        "spec": {
            "mode": MODE_SIDECAR,
            "resources": create_resource_requirements(otel_config.resource),
            "config": {
                "receivers": {
                    PROMETHEUS_RECEIVER: {
                        "config": {
                            "scrape_configs": [
                                {
                                    "job_name": JOB_NAME_OTEL_COLLECTOR,
                                    "scrape_interval": otel_config.scrape_interval,
                                    "static_configs": [{"targets": [f"localhost:{port}"]}],
                                }
                            ]
                        }
                    }
                },
                "exporters": {
                    OTLP_EXPORTER: {
                        "endpoint": otel_config.metric_receiver_endpoint,
                        "compression": "none",
                        "tls": {"insecure": True},
                    }
                },
                "processors": processors,
                "service": {
                    "pipelines": {
                        "metrics": {
                            "receivers": [PROMETHEUS_RECEIVER],
                            "processors": pipeline_processors,
                            "exporters": [OTLP_EXPORTER],
                        }
                    }
                },
            },
        },
    }
