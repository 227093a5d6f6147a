"""Small synchronous helpers for the e2e tests: KServe kinds as lightkube generic
resources, polling, conditions."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar, cast

from lightkube.core.exceptions import ApiError
from lightkube.generic_resource import create_global_resource, create_namespaced_resource
from lightkube.types import PatchType

__all__ = [
    "CSR",
    "IG",
    "ISVC",
    "SR",
    "TM",
    "condition",
    "get_or_none",
    "merge_patch",
    "wait_for",
]

ISVC = create_namespaced_resource("serving.kserve.io", "v1beta1", "InferenceService",
                                  "inferenceservices")
SR = create_namespaced_resource("serving.kserve.io", "v1alpha1", "ServingRuntime",
                                "servingruntimes")
CSR = create_global_resource("serving.kserve.io", "v1alpha1", "ClusterServingRuntime",
                             "clusterservingruntimes")
TM = create_namespaced_resource("serving.kserve.io", "v1alpha1", "TrainedModel",
                                "trainedmodels")
IG = create_namespaced_resource("serving.kserve.io", "v1alpha1", "InferenceGraph",
                                "inferencegraphs")

T = TypeVar("T")


def wait_for(fn: Callable[[], T | None], what: str, timeout: float = 90.0,
             interval: float = 0.5) -> T:
    """Call ``fn`` until it returns something truthy; return that (fail naming ``what``)."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while True:
        try:
            last = fn()
        except ApiError as e:
            last = e
            if e.status.code not in (404, 409):
                raise
        if last and not isinstance(last, ApiError):
            return cast(T, last)
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what} "
                                 f"(last: {last!r})")
        time.sleep(interval)


def get_or_none(kube: Any, kind: Any, name: str, namespace: str | None = None) -> Any:
    try:
        return kube.get(kind, name, namespace=namespace)
    except ApiError as e:
        if e.status.code == 404:
            return None
        raise


def condition(obj: Any, ctype: str) -> dict[str, Any] | None:
    """The condition ``ctype`` of a generic object's (dict) status."""
    status = (obj.get("status") if isinstance(obj, dict) else getattr(obj, "status", None)) \
        or {}
    return next((c for c in status.get("conditions") or [] if c.get("type") == ctype), None)


def is_true(obj: Any, ctype: str = "Ready") -> bool:
    c = condition(obj, ctype)
    return c is not None and c.get("status") == "True"


def merge_patch(kube: Any, kind: Any, name: str, patch: dict[str, Any],
                namespace: str | None = None) -> Any:
    return kube.patch(kind, name, patch, namespace=namespace, patch_type=PatchType.MERGE)
