"""Knative mode on envtest, as upstream's ``controller_test.go`` runs it: the Knative Service
and Istio VirtualService CRDs installed (``tests/data/crds``), ``knative-serving`` with
Knative's ``config-autoscaler`` (and ``config-domain`` where a test wants one), and no Knative
controller: the tests write a Knative Service's status as Knative's controller would.

The CRDs are installed for a test module and removed afterwards: other tests on the shared
API server (the InferenceGraph's "Knative not served") need them absent."""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from contextlib import asynccontextmanager, suppress
from typing import Any

from lightkube import AsyncClient
from lightkube.models.meta_v1 import ObjectMeta
from lightkube.resources.core_v1 import ConfigMap, Namespace
from lightkube.types import PatchType

from controllers.thirdparty import KnativeService, VirtualService
from runtime.testing.eventually import eventually

from .isvc_env import CRD_DIR, THIRD_PARTY_CRDS, crd_installed, get, isvc_manager, uninstall_crds

KNATIVE_SERVICE_CRD = "services.serving.knative.dev"
VIRTUAL_SERVICE_CRD = "virtualservices.networking.istio.io"
KNATIVE_CRDS = {KNATIVE_SERVICE_CRD: "serving.knative.dev_services.yaml",
                VIRTUAL_SERVICE_CRD: "networking.istio.io_virtualservices.yaml"}
KNATIVE_NS = "knative-serving"
DOMAIN = "example.com"


def install_knative_crds(envtest: Any, *names: str) -> list[str]:
    """Install the Knative Service / VirtualService CRDs not installed yet; returns those
    this call installed."""
    todo = [n for n in (names or tuple(KNATIVE_CRDS)) if not crd_installed(envtest, n)]
    if todo:
        envtest.install_crds([CRD_DIR / KNATIVE_CRDS[n] for n in todo])
    return todo


def knative_crds(envtest: Any) -> Iterator[None]:
    """Module fixture body: the CRDs, ``knative-serving`` and an empty ``config-autoscaler``
    (upstream's suite); the CRDs this installed are deleted afterwards."""
    assert not set(KNATIVE_CRDS) & set(THIRD_PARTY_CRDS)
    installed = install_knative_crds(envtest)
    client = envtest.client()
    try:
        with suppress(Exception):
            client.create(Namespace(metadata=ObjectMeta(name=KNATIVE_NS)))
        client.apply(ConfigMap(metadata=ObjectMeta(name="config-autoscaler",
                                                   namespace=KNATIVE_NS), data={}),
                     field_manager="test", force=True)
    finally:
        client.close()
    yield
    uninstall_crds(envtest, installed)


async def set_knative_config(kube: AsyncClient, name: str, data: Mapping[str, str]) -> None:
    """Replace the data of Knative ConfigMap ``name`` in ``knative-serving``."""
    await kube.apply(ConfigMap(metadata=ObjectMeta(name=name, namespace=KNATIVE_NS),
                               data=dict(data)), field_manager="test", force=True)


@asynccontextmanager
async def knative_manager(envtest: Any, kube: AsyncClient, namespace: str,
                          config: Mapping[str, str], **kw: Any) -> AsyncIterator[Any]:
    """:func:`isvc_manager` whose cache also sees ``knative-serving`` (Knative's
    ConfigMaps)."""
    async with isvc_manager(envtest, kube, namespace, config, also_watch=[KNATIVE_NS],
                            **kw) as run:
        yield run


def ready_conditions() -> list[dict[str, str]]:
    """What upstream's tests write as a Ready Knative Service's conditions."""
    return [{"type": t, "status": "True", "lastTransitionTime": "2026-01-01T00:00:00Z"}
            for t in ("Ready", "RoutesReady", "ConfigurationsReady")]


async def ksvc(kube: AsyncClient, name: str, namespace: str, within: float = 30) -> Any:
    """The Knative Service once it exists (a JSON dict)."""
    obj = await eventually(lambda: get(kube, KnativeService, name, namespace), within=within)
    return obj.to_dict()


async def ksvc_status(kube: AsyncClient, name: str, namespace: str, *, revision: str,
                      url: str | None = None, ready: bool = True,
                      traffic: Sequence[Mapping[str, Any]] | None = None,
                      latest_ready: str | None = None,
                      conditions: Sequence[Mapping[str, Any]] | None = None) -> dict[str, Any]:
    """Play Knative's controller: write the Knative Service's status (latest created revision
    ``revision``, the current generation observed) as upstream's tests do."""
    obj = await ksvc(kube, name, namespace)
    status: dict[str, Any] = {
        "observedGeneration": obj["metadata"]["generation"],
        "latestCreatedRevisionName": revision,
        "latestReadyRevisionName": latest_ready if latest_ready is not None else revision,
        "conditions": list(conditions) if conditions is not None else (
            ready_conditions() if ready else
            [{"type": "Ready", "status": "Unknown", "reason": "Deploying"}]),
    }
    if url is not None:
        status["url"] = url
    if traffic is not None:
        status["traffic"] = list(traffic)
    await kube.patch(KnativeService.Status, name, {"status": status}, namespace=namespace,
                     patch_type=PatchType.MERGE)
    return status


def component_url(component: str, isvc: str, namespace: str) -> str:
    """``http://<isvc>-<component>.<ns>.example.com`` (upstream's test URLs)."""
    return f"http://{isvc}-{component}.{namespace}.{DOMAIN}"


async def virtual_service(kube: AsyncClient, name: str, namespace: str,
                          within: float = 30) -> dict[str, Any]:
    obj = await eventually(lambda: get(kube, VirtualService, name, namespace), within=within)
    return dict(obj.to_dict())


def without_server_fields(obj: Mapping[str, Any]) -> dict[str, Any]:
    """A JSON copy without what the API server sets (and without status)."""
    out = copy.deepcopy(dict(obj))
    meta = out.get("metadata", {})
    for k in ("uid", "resourceVersion", "creationTimestamp", "managedFields", "generation"):
        meta.pop(k, None)
    for ref in meta.get("ownerReferences") or ():
        ref.pop("uid", None)
    out.pop("status", None)
    return out


__all__ = [
    "CRD_DIR", "DOMAIN", "KNATIVE_CRDS", "KNATIVE_NS", "KNATIVE_SERVICE_CRD",
    "VIRTUAL_SERVICE_CRD", "component_url", "install_knative_crds", "knative_crds",
    "knative_manager", "ksvc", "ksvc_status", "ready_conditions", "set_knative_config",
    "virtual_service", "without_server_fields",
]


async def patch_isvc(kube: AsyncClient, name: str, namespace: str, body: Mapping[str, Any]) -> None:
    from .isvc_env import ISVC

    await kube.patch(ISVC, name, dict(body), namespace=namespace, patch_type=PatchType.MERGE)
