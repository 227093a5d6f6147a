"""``pkg/webhook/admission/pod/metrics_aggregate_injector.go``: queue-proxy aggregates the
model server's Prometheus metrics with its own (port ``9088``), and Prometheus scrape
annotations point at it (or at queue-proxy's own ``9091``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from apis.serving.constants import (
    ENABLE_METRIC_AGGREGATION_ANNOTATION,
    ENABLE_PROMETHEUS_SCRAPING_ANNOTATION,
    KSERVE_CONTAINER_PROMETHEUS_PATH_ANNOTATION,
    KSERVE_CONTAINER_PROMETHEUS_PORT_ANNOTATION,
    QUEUE_PROXY_CONTAINER,
)
from controllers.storage.utils import (
    JsonDict,
    append_port_if_not_exists,
    container_list,
    env_list,
    env_var,
    merge_envs,
    string_map,
)

__all__ = [
    "AGGREGATE_METRICS_PORT_NAME",
    "DEFAULT_POD_PROMETHEUS_PORT",
    "DEFAULT_PROMETHEUS_PATH",
    "PROMETHEUS_PATH_ANNOTATION",
    "PROMETHEUS_PORT_ANNOTATION",
    "QUEUE_PROXY_AGGREGATE_PORT",
    "inject_metrics_aggregator",
]

PROMETHEUS_PORT_ANNOTATION = "prometheus.io/port"
PROMETHEUS_PATH_ANNOTATION = "prometheus.io/path"
DEFAULT_PROMETHEUS_PATH = "/metrics"
QUEUE_PROXY_AGGREGATE_PORT = "9088"
DEFAULT_POD_PROMETHEUS_PORT = "9091"
DEFAULT_KSERVE_CONTAINER_PROMETHEUS_PORT = "8080"
AGGREGATE_METRICS_PORT_NAME = "aggr-metric"
KSERVE_CONTAINER_PROMETHEUS_METRICS_PORT_ENV = "KSERVE_CONTAINER_PROMETHEUS_METRICS_PORT"
KSERVE_CONTAINER_PROMETHEUS_METRICS_PATH_ENV = "KSERVE_CONTAINER_PROMETHEUS_METRICS_PATH"
QUEUE_PROXY_AGGREGATE_PORT_ENV = "AGGREGATE_PROMETHEUS_METRICS_PORT"


def _set_aggregation_env_and_ports(pod: JsonDict, annotations: Mapping[str, str]) -> None:
    """``setMetricAggregationEnvVarsAndPorts``: every queue-proxy container learns where the
    model server's metrics are and exposes the aggregate port."""
    spec = pod.get("spec") or {}
    for c in container_list(spec):
        if c.get("name") != QUEUE_PROXY_CONTAINER:
            continue
        port = annotations.get(
            KSERVE_CONTAINER_PROMETHEUS_PORT_ANNOTATION, DEFAULT_KSERVE_CONTAINER_PROMETHEUS_PORT
        )
        path = annotations.get(KSERVE_CONTAINER_PROMETHEUS_PATH_ANNOTATION, DEFAULT_PROMETHEUS_PATH)
        c["env"] = merge_envs(
            env_list(c),
            [
                env_var(KSERVE_CONTAINER_PROMETHEUS_METRICS_PORT_ENV, port),
                env_var(KSERVE_CONTAINER_PROMETHEUS_METRICS_PATH_ENV, path),
                env_var(QUEUE_PROXY_AGGREGATE_PORT_ENV, QUEUE_PROXY_AGGREGATE_PORT),
            ],
        )
        append_port_if_not_exists(
            c,
            {
                "name": AGGREGATE_METRICS_PORT_NAME,
                "containerPort": int(QUEUE_PROXY_AGGREGATE_PORT),
                "protocol": "TCP",
            },
        )


def inject_metrics_aggregator(pod: JsonDict, config: Any) -> None:
    """``InjectMetricsAggregator``: default the two annotations from ``metricsAggregator``
    (``config``, a ``MetricsAggregatorConfig``), then apply them."""
    meta = pod.get("metadata")
    if not isinstance(meta, dict):
        meta = {}
        pod["metadata"] = meta
    annotations = meta.get("annotations")
    if not isinstance(annotations, dict):
        annotations = {}
        meta["annotations"] = annotations
    aggregate = annotations.setdefault(
        ENABLE_METRIC_AGGREGATION_ANNOTATION, config.enable_metric_aggregation
    )
    if aggregate == "true":
        _set_aggregation_env_and_ports(pod, string_map(annotations))
    scrape = annotations.setdefault(
        ENABLE_PROMETHEUS_SCRAPING_ANNOTATION, config.enable_prometheus_scraping
    )
    if scrape == "true":
        port = QUEUE_PROXY_AGGREGATE_PORT if aggregate == "true" else DEFAULT_POD_PROMETHEUS_PORT
        annotations[PROMETHEUS_PORT_ANNOTATION] = port
        annotations[PROMETHEUS_PATH_ANNOTATION] = DEFAULT_PROMETHEUS_PATH
