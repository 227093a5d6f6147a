"""``StorageInitializerInjector.SetIstioCniSecurityContext``: with Istio's CNI plugin the
sidecar is not running while init containers run, so the storage-initializer only reaches the
network when it runs as the sidecar's UID (traffic from that UID is not redirected)."""

from __future__ import annotations

import json

from apis.serving.constants import STORAGE_INITIALIZER_CONTAINER, STORAGE_INITIALIZER_UID_ANNOTATION
from controllers.storage.utils import (
    JsonDict,
    PodMutationError,
    container_list,
    pod_spec,
    string_map,
)

__all__ = [
    "DEFAULT_ISTIO_SIDECAR_UID",
    "ISTIO_INIT_CONTAINER",
    "ISTIO_INTERCEPTION_MODE_ANNOTATION",
    "ISTIO_SIDECAR_STATUS_ANNOTATION",
    "set_istio_cni_security_context",
]

DEFAULT_ISTIO_SIDECAR_UID = 1337
ISTIO_INIT_CONTAINER = "istio-init"
ISTIO_INTERCEPTION_MODE_ANNOTATION = "sidecar.istio.io/interceptionMode"
ISTIO_SIDECAR_STATUS_ANNOTATION = "sidecar.istio.io/status"
ISTIO_INTERCEPT_MODE_REDIRECT = "REDIRECT"
_INT64 = (-(2**63), 2**63 - 1)


def _go_parse_int64(value: str) -> int | None:
    """``strconv.ParseInt(value, 10, 64)``: optional sign, decimal digits only."""
    body = value[1:] if value[:1] in ("+", "-") else value
    if not body or not body.isascii() or not body.isdigit():
        return None
    n = int(value)
    return n if _INT64[0] <= n <= _INT64[1] else None


def _set_run_as_user(container: JsonDict, uid: int) -> None:
    sc = container.get("securityContext")
    if not isinstance(sc, dict):
        sc = {}
        container["securityContext"] = sc
    sc["runAsUser"] = uid


def set_istio_cni_security_context(pod: JsonDict) -> None:
    """Set the storage-initializer's ``runAsUser``: the ``serving.kserve.io/storage-
    initializer-uid`` annotation when it is an integer; otherwise, without ``istio-init``,
    in REDIRECT interception mode with a sidecar named in ``sidecar.istio.io/status``, that
    sidecar's UID (1337 when it sets none). The last storage-initializer is the one changed."""
    spec = pod_spec(pod)
    init = None
    for c in container_list(spec, "initContainers"):
        if c.get("name") == STORAGE_INITIALIZER_CONTAINER:
            init = c
    if init is None:
        return
    annotations = string_map((pod.get("metadata") or {}).get("annotations"))
    if STORAGE_INITIALIZER_UID_ANNOTATION in annotations:
        uid = _go_parse_int64(annotations[STORAGE_INITIALIZER_UID_ANNOTATION])
        if uid is not None:
            _set_run_as_user(init, uid)
        return
    if any(c.get("name") == ISTIO_INIT_CONTAINER for c in container_list(spec, "initContainers")):
        return
    if annotations.get(ISTIO_INTERCEPTION_MODE_ANNOTATION) != ISTIO_INTERCEPT_MODE_REDIRECT:
        return
    status = annotations.get(ISTIO_SIDECAR_STATUS_ANNOTATION)
    if status is None:
        return
    field = f"metadata.annotations[{ISTIO_SIDECAR_STATUS_ANNOTATION}]"
    try:
        decoded = json.loads(status)
    except ValueError as exc:
        raise PodMutationError(f"{field}: {exc}", field) from None
    if not isinstance(decoded, dict):
        # upstream's unchecked type assertion panics here
        raise PodMutationError(f"{field}: expected a JSON object", field)
    containers = decoded.get("containers")
    name = ""
    if isinstance(containers, list) and containers:
        if not isinstance(containers[0], str):
            raise PodMutationError(f"{field}: containers[0] must be a string", field)
        name = containers[0]
    if not name:
        return
    sidecar = next((c for c in container_list(spec) if c.get("name") == name), None)
    if sidecar is None:
        return
    sc = sidecar.get("securityContext")
    uid = sc.get("runAsUser") if isinstance(sc, dict) else None
    _set_run_as_user(init, uid if isinstance(uid, int) else DEFAULT_ISTIO_SIDECAR_UID)
