"""Upstream ``metrics_aggregate_injector_test.go`` (9 cases), asserting whole pods.

Upstream compares only ``pod.Spec`` (its expected annotations are not all right); here the
annotations are asserted too. Its config is ``{"enableMetricAggregation": "false", ...}`` given
as ConfigMap *data keys*, not under ``metricsAggregator``, so both defaults are ``""``."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from apis.serving.v1beta1.configmap import MetricsAggregatorConfig
from controllers.webhooks.pod.metrics_aggregate import inject_metrics_aggregator
from tests.unit.test_pod_support import container, pod

AGG = "serving.kserve.io/enable-metric-aggregation"
PROM = "serving.kserve.io/enable-prometheus-scraping"
PORT = "prometheus.io/port"
PATH = "prometheus.io/path"
USER_METRIC = {"name": "http-usermetric", "containerPort": 9091, "protocol": "TCP"}
AGGR_PORT = {"name": "aggr-metric", "containerPort": 9088, "protocol": "TCP"}
QP_ENV = [
    {"name": "KSERVE_CONTAINER_PROMETHEUS_METRICS_PORT", "value": "8080"},
    {"name": "KSERVE_CONTAINER_PROMETHEUS_METRICS_PATH", "value": "/metrics"},
    {"name": "AGGREGATE_PROMETHEUS_METRICS_PORT", "value": "9088"},
]
PLAIN_QP = container("queue-proxy", ports=[USER_METRIC])
AGG_QP = container("queue-proxy", env=QP_ENV, ports=[USER_METRIC, AGGR_PORT])


def mpod(annotations: dict[str, str] | None, qp: dict[str, Any]) -> dict[str, Any]:
    return pod(annotations, [container("sklearn"), qp], name="deployment", namespace="default")


CASES = {
    "EnableMetricAggTrue": (mpod({AGG: "true"}, PLAIN_QP), mpod({AGG: "true", PROM: ""}, AGG_QP)),
    "EnableMetricAggTrueIdempotent": (
        mpod({AGG: "true"}, AGG_QP),
        mpod({AGG: "true", PROM: ""}, AGG_QP),
    ),
    "EnableMetricAggNotSet": (mpod(None, PLAIN_QP), mpod({AGG: "", PROM: ""}, PLAIN_QP)),
    "EnableMetricAggFalse": (
        mpod({AGG: "false"}, PLAIN_QP),
        mpod({AGG: "false", PROM: ""}, PLAIN_QP),
    ),
    "setPromAnnotationTrueWithAggTrue": (
        mpod({AGG: "true", PROM: "true"}, PLAIN_QP),
        mpod({AGG: "true", PROM: "true", PORT: "9088", PATH: "/metrics"}, AGG_QP),
    ),
    "setPromAnnotationTrueWithAggTrueIdempotent": (
        mpod({AGG: "true", PROM: "true", PORT: "9088", PATH: "/metrics"}, AGG_QP),
        mpod({AGG: "true", PROM: "true", PORT: "9088", PATH: "/metrics"}, AGG_QP),
    ),
    "setPromAnnotationTrueWithAggFalse": (
        mpod({AGG: "false", PROM: "true"}, PLAIN_QP),
        mpod({AGG: "false", PROM: "true", PORT: "9091", PATH: "/metrics"}, PLAIN_QP),
    ),
    "SetPromAnnotationFalse": (
        mpod({AGG: "true", PROM: "false"}, PLAIN_QP),
        mpod({AGG: "true", PROM: "false"}, AGG_QP),
    ),
    "SetPromAnnotationFalseIdempotent": (
        mpod({AGG: "true", PROM: "false"}, AGG_QP),
        mpod({AGG: "true", PROM: "false"}, AGG_QP),
    ),
}


@pytest.mark.parametrize(("original", "want"), CASES.values(), ids=CASES.keys())
def test_inject_metrics_aggregator(original: dict[str, Any], want: dict[str, Any]) -> None:
    out = copy.deepcopy(original)
    inject_metrics_aggregator(out, MetricsAggregatorConfig())
    assert out == want
    inject_metrics_aggregator(out, MetricsAggregatorConfig())
    assert out == want


def test_config_defaults_and_custom_prometheus_port_path() -> None:
    """The ``metricsAggregator`` key's values default the annotations; the kserve-container's
    port/path come from ``prometheus.kserve.io/port`` / ``path``."""
    original = mpod(
        {"prometheus.kserve.io/port": "8081", "prometheus.kserve.io/path": "/m"}, PLAIN_QP
    )
    out = copy.deepcopy(original)
    inject_metrics_aggregator(
        out,
        MetricsAggregatorConfig(enableMetricAggregation="true", enablePrometheusScraping="true"),
    )
    env = [
        {"name": "KSERVE_CONTAINER_PROMETHEUS_METRICS_PORT", "value": "8081"},
        {"name": "KSERVE_CONTAINER_PROMETHEUS_METRICS_PATH", "value": "/m"},
        QP_ENV[2],
    ]
    assert out == mpod(
        {
            "prometheus.kserve.io/port": "8081",
            "prometheus.kserve.io/path": "/m",
            AGG: "true",
            PROM: "true",
            PORT: "9088",
            PATH: "/metrics",
        },
        container("queue-proxy", env=env, ports=[USER_METRIC, AGGR_PORT]),
    )
