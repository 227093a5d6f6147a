"""runtime.metrics: the exposition matches controller-runtime's metric names, types, label sets
and buckets (controller-runtime main, 2026-08), on a dedicated registry."""

from __future__ import annotations

import prometheus_client
import pytest
from prometheus_client.parser import text_string_to_metric_families

from runtime import metrics

RECONCILE_BUCKETS = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.6, 0.7, 0.8,
    0.9, 1.0, 1.25, 1.5, 1.75, 2.0, 2.5, 3.0, 3.5, 4.0, 4.5, 5, 6, 7, 8, 9, 10, 15, 20, 25, 30,
    40, 50, 60,
]  # fmt: skip
EXP_1E8_TO_1E3 = [1e-8, 1e-7, 1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 0.1, 1, 10, 100, 1000]
REST_BUCKETS = [0.005, 0.025, 0.1, 0.25, 0.5, 1, 2, 4, 8, 15, 30, 60]

# name -> (type, label names, buckets or None)
EXPECTED: dict[str, tuple[str, tuple[str, ...], list[float] | None]] = {
    "controller_runtime_reconcile_total": ("counter", ("controller", "result"), None),
    "controller_runtime_reconcile_errors_total": ("counter", ("controller",), None),
    "controller_runtime_terminal_reconcile_errors_total": ("counter", ("controller",), None),
    "controller_runtime_reconcile_panics_total": ("counter", ("controller",), None),
    "controller_runtime_reconcile_timeouts_total": ("counter", ("controller",), None),
    "controller_runtime_reconcile_time_seconds": (
        "histogram",
        ("controller",),
        RECONCILE_BUCKETS,
    ),
    "controller_runtime_max_concurrent_reconciles": ("gauge", ("controller",), None),
    "controller_runtime_active_workers": ("gauge", ("controller",), None),
    "workqueue_depth": ("gauge", ("name", "controller", "priority"), None),
    "workqueue_adds_total": ("counter", ("name", "controller"), None),
    "workqueue_queue_duration_seconds": ("histogram", ("name", "controller"), EXP_1E8_TO_1E3),
    "workqueue_work_duration_seconds": ("histogram", ("name", "controller"), EXP_1E8_TO_1E3),
    "workqueue_unfinished_work_seconds": ("gauge", ("name", "controller"), None),
    "workqueue_longest_running_processor_seconds": ("gauge", ("name", "controller"), None),
    "workqueue_retries_total": ("counter", ("name", "controller"), None),
    "leader_election_master_status": ("gauge", ("name",), None),
    "leader_election_slowpath_total": ("counter", ("name",), None),
    "rest_client_requests_total": ("counter", ("code", "method", "host"), None),
    "rest_client_request_duration_seconds": ("histogram", ("verb", "host"), REST_BUCKETS),
    "rest_client_request_retries_total": ("counter", ("code", "verb", "host"), None),
    "controller_runtime_webhook_requests_total": ("counter", ("webhook", "code"), None),
    "controller_runtime_webhook_latency_seconds": ("histogram", ("webhook",), EXP_1E8_TO_1E3),
    "controller_runtime_webhook_requests_in_flight": ("gauge", ("webhook",), None),
    "controller_runtime_webhook_panics_total": ("counter", (), None),
    "controller_runtime_conversion_webhook_panics_total": ("counter", (), None),
    "certwatcher_read_certificate_total": ("counter", (), None),
    "certwatcher_read_certificate_errors_total": ("counter", (), None),
    "controller_runtime_cache_objects": ("gauge", ("resource",), None),
    "controller_runtime_cache_watch_restarts_total": ("counter", ("resource", "reason"), None),
}

LABEL_VALUE = "golden"


def _populate() -> None:
    """Touch one series of every labelled metric so it appears in the exposition."""
    for collector in list(metrics.REGISTRY._collector_to_names):
        labelnames = getattr(collector, "_labelnames", ())
        base = getattr(collector, "_name", "")
        if not labelnames or not ({base, f"{base}_total"} & EXPECTED.keys()):
            continue  # only ours: other modules' metrics are left untouched
        child = collector.labels(*([LABEL_VALUE] * len(labelnames)))  # type: ignore[attr-defined]
        if hasattr(child, "observe"):
            child.observe(0.5)
        elif hasattr(child, "inc"):
            child.inc(0)


def _families() -> dict[str, prometheus_client.Metric]:
    text = metrics.exposition().decode()
    return {f.name: f for f in text_string_to_metric_families(text)}


def _family_name(name: str, kind: str) -> str:
    # the text parser reports counters without their _total suffix
    return name.removesuffix("_total") if kind == "counter" else name


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_metric_name_type_labels_and_buckets(name: str) -> None:
    _populate()
    kind, labels, buckets = EXPECTED[name]
    fams = _families()
    fam = fams.get(_family_name(name, kind))
    assert fam is not None, f"{name} missing from the exposition"
    assert fam.type == kind
    series = [s for s in fam.samples if not s.name.endswith("_created")]
    assert series, name
    main = [s for s in series if s.name in (name, f"{name}_count")]
    assert main, name
    # label order carries no meaning in Prometheus (the text parser sorts them)
    for sample in main:
        assert sorted(k for k in sample.labels if k != "le") == sorted(labels), sample
    if buckets is not None:
        les = sorted(
            {float(s.labels["le"]) for s in series if s.name == f"{name}_bucket"} - {float("inf")}
        )
        assert les == pytest.approx(buckets, rel=1e-9)


def test_no_created_series_and_registry_is_not_the_global_default() -> None:
    _populate()
    text = metrics.exposition().decode()
    assert "_created" not in text
    assert metrics.REGISTRY is not prometheus_client.REGISTRY
    assert b"controller_runtime_reconcile_total" not in prometheus_client.generate_latest(
        prometheus_client.REGISTRY
    )


def test_process_metrics_are_exported() -> None:
    assert "process_" in metrics.exposition().decode() or "python_info" in (
        metrics.exposition().decode()
    )


def test_init_controller_metrics_zero_initialises_like_c_r() -> None:
    metrics.init_controller_metrics("golden-ctrl", 3)
    get = metrics.REGISTRY.get_sample_value
    for result in ("success", "error", "requeue", "requeue_after"):
        assert (
            get(
                "controller_runtime_reconcile_total",
                {"controller": "golden-ctrl", "result": result},
            )
            == 0
        )
    for name in (
        "controller_runtime_reconcile_errors_total",
        "controller_runtime_terminal_reconcile_errors_total",
        "controller_runtime_reconcile_panics_total",
        "controller_runtime_reconcile_timeouts_total",
    ):
        assert get(name, {"controller": "golden-ctrl"}) == 0
    assert get("controller_runtime_max_concurrent_reconciles", {"controller": "golden-ctrl"}) == 3
    assert get("controller_runtime_active_workers", {"controller": "golden-ctrl"}) == 0


def test_init_webhook_metrics_precreates_200_and_500() -> None:
    metrics.init_webhook_metrics("/validate-golden")
    get = metrics.REGISTRY.get_sample_value
    for code in ("200", "500"):
        assert (
            get(
                "controller_runtime_webhook_requests_total",
                {"webhook": "/validate-golden", "code": code},
            )
            == 0
        )


def test_exponential_buckets_match_go() -> None:
    assert metrics.exponential_buckets(10e-9, 10, 12) == pytest.approx(EXP_1E8_TO_1E3, rel=1e-9)
    with pytest.raises(ValueError):
        metrics.exponential_buckets(0, 10, 3)
