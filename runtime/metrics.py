"""The framework's metrics: one registry, every metric defined once.

Names, label sets, help texts and histogram buckets mirror controller-runtime (c-r) and the
client-go adapters c-r registers, so dashboards and alerts written for a Go operator work on
this one unchanged. Sources (controller-runtime main, 2026-08):

* ``pkg/internal/controller/metrics/metrics.go`` (reconcile metrics)
* ``pkg/internal/metrics/workqueue.go`` (workqueue provider; labels ``name`` and ``controller``,
  both set to the queue name, plus ``priority`` on ``workqueue_depth``)
* ``pkg/metrics/leaderelection.go``, ``pkg/metrics/client_go_adapter.go``
* ``pkg/webhook/internal/metrics/metrics.go``, ``pkg/webhook/{admission,conversion}/metrics``
* ``pkg/certwatcher/metrics/metrics.go``

Beyond c-r (which has no informer metrics, kubernetes-sigs/controller-runtime#3182):
``controller_runtime_cache_objects{resource}`` and
``controller_runtime_cache_watch_restarts_total{resource,reason}``.

Everything is registered on :data:`REGISTRY`, a dedicated :class:`CollectorRegistry` (c-r's
``metrics.Registry``), never on prometheus-client's global default registry. The ``*_created``
series that prometheus-client adds to counters and histograms are disabled process-wide, since
Go's client does not emit them.

Usage from other modules::

    from runtime import metrics
    metrics.RECONCILE_TOTAL.labels(controller="isvc", result="success").inc()
    body = metrics.exposition()          # text format for GET /metrics
"""

from __future__ import annotations

import prometheus_client
from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
)
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest

__all__ = [
    "ACTIVE_WORKERS",
    "CACHE_OBJECTS",
    "CACHE_WATCH_RESTARTS_TOTAL",
    "CERTWATCHER_READ_CERTIFICATE_ERRORS_TOTAL",
    "CERTWATCHER_READ_CERTIFICATE_TOTAL",
    "CONTENT_TYPE_LATEST",
    "CONVERSION_WEBHOOK_PANICS_TOTAL",
    "LEADER_ELECTION_MASTER_STATUS",
    "LEADER_ELECTION_SLOWPATH_TOTAL",
    "MAX_CONCURRENT_RECONCILES",
    "RECONCILE_BUCKETS",
    "RECONCILE_ERRORS_TOTAL",
    "RECONCILE_PANICS_TOTAL",
    "RECONCILE_RESULTS",
    "RECONCILE_TIMEOUTS_TOTAL",
    "RECONCILE_TIME_SECONDS",
    "RECONCILE_TOTAL",
    "REGISTRY",
    "REST_CLIENT_BUCKETS",
    "REST_CLIENT_REQUESTS_TOTAL",
    "REST_CLIENT_REQUEST_DURATION_SECONDS",
    "REST_CLIENT_REQUEST_RETRIES_TOTAL",
    "TERMINAL_RECONCILE_ERRORS_TOTAL",
    "WEBHOOK_LATENCY_SECONDS",
    "WEBHOOK_PANICS_TOTAL",
    "WEBHOOK_REQUESTS_IN_FLIGHT",
    "WEBHOOK_REQUESTS_TOTAL",
    "WORKQUEUE_ADDS_TOTAL",
    "WORKQUEUE_BUCKETS",
    "WORKQUEUE_DEPTH",
    "WORKQUEUE_LONGEST_RUNNING_PROCESSOR_SECONDS",
    "WORKQUEUE_QUEUE_DURATION_SECONDS",
    "WORKQUEUE_RETRIES_TOTAL",
    "WORKQUEUE_UNFINISHED_WORK_SECONDS",
    "WORKQUEUE_WORK_DURATION_SECONDS",
    "exponential_buckets",
    "exposition",
    "init_controller_metrics",
    "init_webhook_metrics",
]

# Go's client_golang never emits `<name>_created`; keep the exposition identical.
prometheus_client.disable_created_metrics()  # type: ignore[no-untyped-call]

REGISTRY = CollectorRegistry(auto_describe=True)
"""The framework's registry (c-r ``metrics.Registry``). Serve it at ``/metrics``."""


def exponential_buckets(start: float, factor: float, count: int) -> list[float]:
    """prometheus/client_golang ``ExponentialBuckets``, computed the same way (repeated
    multiplication) so the float boundaries are bit-identical to Go's."""
    if count < 1 or start <= 0 or factor <= 1:
        raise ValueError("exponential_buckets needs count >= 1, start > 0, factor > 1")
    out: list[float] = []
    v = start
    for _ in range(count):
        out.append(v)
        v *= factor
    return out


# ---------------------------------------------------------------- process collectors
# c-r registers the Go process and runtime collectors on its registry; the Python equivalents.
prometheus_client.ProcessCollector(registry=REGISTRY)
prometheus_client.PlatformCollector(registry=REGISTRY)
prometheus_client.GCCollector(registry=REGISTRY)

# ---------------------------------------------------------------- reconcile (controller)
RECONCILE_BUCKETS: tuple[float, ...] = (
    0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.6, 0.7, 0.8,
    0.9, 1.0, 1.25, 1.5, 1.75, 2.0, 2.5, 3.0, 3.5, 4.0, 4.5, 5, 6, 7, 8, 9, 10, 15, 20, 25, 30,
    40, 50, 60,
)  # fmt: skip

RECONCILE_RESULTS: tuple[str, ...] = ("error", "requeue_after", "requeue", "success")
"""Values of the ``result`` label of ``controller_runtime_reconcile_total``."""

RECONCILE_TOTAL = Counter(
    "controller_runtime_reconcile_total",
    "Total number of reconciliations per controller",
    ["controller", "result"],
    registry=REGISTRY,
)
RECONCILE_ERRORS_TOTAL = Counter(
    "controller_runtime_reconcile_errors_total",
    "Total number of reconciliation errors per controller",
    ["controller"],
    registry=REGISTRY,
)
TERMINAL_RECONCILE_ERRORS_TOTAL = Counter(
    "controller_runtime_terminal_reconcile_errors_total",
    "Total number of terminal reconciliation errors per controller",
    ["controller"],
    registry=REGISTRY,
)
RECONCILE_PANICS_TOTAL = Counter(
    "controller_runtime_reconcile_panics_total",
    "Total number of reconciliation panics per controller",
    ["controller"],
    registry=REGISTRY,
)
RECONCILE_TIMEOUTS_TOTAL = Counter(
    "controller_runtime_reconcile_timeouts_total",
    "Total number of reconciliation timeouts per controller",
    ["controller"],
    registry=REGISTRY,
)
RECONCILE_TIME_SECONDS = Histogram(
    "controller_runtime_reconcile_time_seconds",
    "Length of time per reconciliation per controller",
    ["controller"],
    buckets=RECONCILE_BUCKETS,
    registry=REGISTRY,
)
MAX_CONCURRENT_RECONCILES = Gauge(
    "controller_runtime_max_concurrent_reconciles",
    "Maximum number of concurrent reconciles per controller",
    ["controller"],
    registry=REGISTRY,
)
ACTIVE_WORKERS = Gauge(
    "controller_runtime_active_workers",
    "Number of currently used workers per controller",
    ["controller"],
    registry=REGISTRY,
)


def init_controller_metrics(controller: str, max_concurrent_reconciles: int) -> None:
    """Zero-initialise a controller's series, as c-r's ``Controller.initMetrics`` does at start,
    so rates and alerts work before the first reconcile."""
    for result in RECONCILE_RESULTS:
        RECONCILE_TOTAL.labels(controller=controller, result=result).inc(0)
    RECONCILE_ERRORS_TOTAL.labels(controller=controller).inc(0)
    TERMINAL_RECONCILE_ERRORS_TOTAL.labels(controller=controller).inc(0)
    RECONCILE_PANICS_TOTAL.labels(controller=controller).inc(0)
    RECONCILE_TIMEOUTS_TOTAL.labels(controller=controller).inc(0)
    MAX_CONCURRENT_RECONCILES.labels(controller=controller).set(max_concurrent_reconciles)
    ACTIVE_WORKERS.labels(controller=controller).set(0)


# ---------------------------------------------------------------- workqueue
# c-r's provider: labels (name, controller) with both values = the queue name; depth adds
# `priority` ("" for the plain FIFO queue). Buckets ExponentialBuckets(10e-9, 10, 12).
WORKQUEUE_BUCKETS: tuple[float, ...] = tuple(exponential_buckets(10e-9, 10, 12))

WORKQUEUE_DEPTH = Gauge(
    "workqueue_depth",
    "Current depth of workqueue by workqueue and priority",
    ["name", "controller", "priority"],
    registry=REGISTRY,
)
WORKQUEUE_ADDS_TOTAL = Counter(
    "workqueue_adds_total",
    "Total number of adds handled by workqueue",
    ["name", "controller"],
    registry=REGISTRY,
)
WORKQUEUE_QUEUE_DURATION_SECONDS = Histogram(
    "workqueue_queue_duration_seconds",
    "How long in seconds an item stays in workqueue before being requested",
    ["name", "controller"],
    buckets=WORKQUEUE_BUCKETS,
    registry=REGISTRY,
)
WORKQUEUE_WORK_DURATION_SECONDS = Histogram(
    "workqueue_work_duration_seconds",
    "How long in seconds processing an item from workqueue takes.",
    ["name", "controller"],
    buckets=WORKQUEUE_BUCKETS,
    registry=REGISTRY,
)
WORKQUEUE_UNFINISHED_WORK_SECONDS = Gauge(
    "workqueue_unfinished_work_seconds",
    "How many seconds of work has been done that is in progress and hasn't been observed by "
    "work_duration. Large values indicate stuck threads. One can deduce the number of stuck "
    "threads by observing the rate at which this increases.",
    ["name", "controller"],
    registry=REGISTRY,
)
WORKQUEUE_LONGEST_RUNNING_PROCESSOR_SECONDS = Gauge(
    "workqueue_longest_running_processor_seconds",
    "How many seconds has the longest running processor for workqueue been running.",
    ["name", "controller"],
    registry=REGISTRY,
)
WORKQUEUE_RETRIES_TOTAL = Counter(
    "workqueue_retries_total",
    "Total number of items added to the workqueue with a non-zero delay (rate-limited "
    "requeues, explicit RequeueAfter or AddAfter calls)",
    ["name", "controller"],
    registry=REGISTRY,
)

# ---------------------------------------------------------------- leader election
LEADER_ELECTION_MASTER_STATUS = Gauge(
    "leader_election_master_status",
    "Gauge of if the reporting system is master of the relevant lease, 0 indicates backup, "
    "1 indicates master. 'name' is the string used to identify the lease. Please make sure to "
    "group by name.",
    ["name"],
    registry=REGISTRY,
)
# Defined but not registered by c-r; registered here because it is cheap and tells whether
# renewals fall back to GET+update.
LEADER_ELECTION_SLOWPATH_TOTAL = Counter(
    "leader_election_slowpath_total",
    "Total number of slow path exercised in renewing leader leases. 'name' is the string used "
    "to identify the lease. Please make sure to group by name.",
    ["name"],
    registry=REGISTRY,
)

# ---------------------------------------------------------------- REST client
REST_CLIENT_BUCKETS: tuple[float, ...] = (
    0.005, 0.025, 0.1, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 15.0, 30.0, 60.0,
)  # fmt: skip

REST_CLIENT_REQUESTS_TOTAL = Counter(
    "rest_client_requests_total",
    "Number of HTTP requests, partitioned by status code, method, and host.",
    ["code", "method", "host"],
    registry=REGISTRY,
)
REST_CLIENT_REQUEST_DURATION_SECONDS = Histogram(
    "rest_client_request_duration_seconds",
    "Request latency in seconds. Broken down by verb and host.",
    ["verb", "host"],
    buckets=REST_CLIENT_BUCKETS,
    registry=REGISTRY,
)
REST_CLIENT_REQUEST_RETRIES_TOTAL = Counter(
    "rest_client_request_retries_total",
    "Number of request retries, partitioned by status code, verb, and host.",
    ["code", "verb", "host"],
    registry=REGISTRY,
)

# ---------------------------------------------------------------- webhooks
WEBHOOK_LATENCY_SECONDS = Histogram(
    "controller_runtime_webhook_latency_seconds",
    "Histogram of the latency of processing admission requests",
    ["webhook"],
    buckets=WORKQUEUE_BUCKETS,  # c-r: ExponentialBuckets(10e-9, 10, 12) as well
    registry=REGISTRY,
)
WEBHOOK_REQUESTS_TOTAL = Counter(
    "controller_runtime_webhook_requests_total",
    "Total number of admission requests by HTTP status code.",
    ["webhook", "code"],
    registry=REGISTRY,
)
WEBHOOK_REQUESTS_IN_FLIGHT = Gauge(
    "controller_runtime_webhook_requests_in_flight",
    "Current number of admission requests being served.",
    ["webhook"],
    registry=REGISTRY,
)
WEBHOOK_PANICS_TOTAL = Counter(
    "controller_runtime_webhook_panics_total",
    "Total number of webhook panics",
    registry=REGISTRY,
)
CONVERSION_WEBHOOK_PANICS_TOTAL = Counter(
    "controller_runtime_conversion_webhook_panics_total",
    "Total number of conversion webhook panics",
    registry=REGISTRY,
)


def init_webhook_metrics(path: str) -> None:
    """Pre-create a webhook path's series, as c-r's ``InstrumentedHook`` does (codes 200, 500)."""
    WEBHOOK_REQUESTS_TOTAL.labels(webhook=path, code="200").inc(0)
    WEBHOOK_REQUESTS_TOTAL.labels(webhook=path, code="500").inc(0)
    WEBHOOK_REQUESTS_IN_FLIGHT.labels(webhook=path).set(0)


# ---------------------------------------------------------------- cert watcher
CERTWATCHER_READ_CERTIFICATE_TOTAL = Counter(
    "certwatcher_read_certificate_total",
    "Total number of certificate reads",
    registry=REGISTRY,
)
CERTWATCHER_READ_CERTIFICATE_ERRORS_TOTAL = Counter(
    "certwatcher_read_certificate_errors_total",
    "Total number of certificate read errors",
    registry=REGISTRY,
)

# ---------------------------------------------------------------- cache (beyond c-r)
CACHE_OBJECTS = Gauge(
    "controller_runtime_cache_objects",
    "Number of objects currently held in the informer cache, per resource "
    "(resource label: <plural>.<group>/<version>, core group empty).",
    ["resource"],
    registry=REGISTRY,
)
CACHE_WATCH_RESTARTS_TOTAL = Counter(
    "controller_runtime_cache_watch_restarts_total",
    "Total number of informer watch restarts per resource and reason "
    "(e.g. timeout, expired, error, relist).",
    ["resource", "reason"],
    registry=REGISTRY,
)


def exposition() -> bytes:
    """The registry in Prometheus text format (serve with :data:`CONTENT_TYPE_LATEST`)."""
    return generate_latest(REGISTRY)
