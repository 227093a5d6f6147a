"""This process's request and reconcile counters (:mod:`runtime.metrics`), read by tests
that count what a controller costs."""

from __future__ import annotations

from collections.abc import Callable

import anyio

from runtime import metrics

__all__ = [
    "activity",
    "quiet",
    "reconcile_errors",
    "reconcile_total",
    "requests_by_method",
    "requests_total",
]


def requests_by_method() -> dict[str, float]:
    """``rest_client_requests_total`` of this process, summed by HTTP method."""
    out: dict[str, float] = {}
    for metric in metrics.REGISTRY.collect():
        if metric.name != "rest_client_requests":
            continue
        for sample in metric.samples:
            if sample.name.endswith("_total"):
                method = sample.labels["method"]
                out[method] = out.get(method, 0.0) + sample.value
    return out


def requests_total() -> float:
    """Every request this process sent."""
    return sum(requests_by_method().values())


def reconcile_errors(*controllers: str) -> float:
    """``controller_runtime_reconcile_errors_total`` of ``controllers``, summed."""
    return sum(
        metrics.REGISTRY.get_sample_value(
            "controller_runtime_reconcile_errors_total", {"controller": c}
        ) or 0.0
        for c in controllers
    )


def reconcile_total(controller: str, result: str = "success") -> float:
    """``controller_runtime_reconcile_total`` of ``controller`` with ``result``."""
    return metrics.REGISTRY.get_sample_value(
        "controller_runtime_reconcile_total", {"controller": controller, "result": result}
    ) or 0.0


def activity() -> float:
    """Requests sent plus reconciles run, by every controller of this process."""
    reconciles = sum(
        sample.value
        for metric in metrics.REGISTRY.collect()
        if metric.name == "controller_runtime_reconcile"
        for sample in metric.samples
        if sample.name.endswith("_total")
    )
    return requests_total() + reconciles


async def quiet(
    within: float = 30.0, settle: float = 1.0, counter: Callable[[], float] = activity
) -> None:
    """Until ``counter`` (by default :func:`activity`) has not moved for ``settle`` seconds:
    the controllers are idle, so a count taken now is not raced by the follow-ups of what
    came before (a status write's own watch event, an Event sent after the status)."""
    last = counter()
    since = anyio.current_time()
    with anyio.fail_after(within):
        while anyio.current_time() - since < settle:
            await anyio.sleep(0.1)
            now = counter()
            if now != last:
                last, since = now, anyio.current_time()
