"""Discovery on a real kube-apiserver: plurals from the server (never guessed), "is this kind
served?", optional kinds whose CRD appears while the manager runs, and list errors that name
what is missing (the CRD, the RBAC permission)."""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import anyio
import pytest
from lightkube import AsyncClient
from lightkube.core.exceptions import ApiError
from lightkube.generic_resource import create_namespaced_resource
from lightkube.models.meta_v1 import ObjectMeta
from lightkube.resources.apiextensions_v1 import CustomResourceDefinition
from lightkube.resources.core_v1 import ConfigMap

from runtime.builder import Builder
from runtime.controller import CacheSyncTimeoutError
from runtime.manager import Manager
from runtime.reconcile import Request, Result
from runtime.restmapper import NoKindMatchError, RESTMapper
from runtime.testing.eventually import eventually
from runtime.transport import http_client

pytestmark = [pytest.mark.integration, pytest.mark.anyio]


class Endpoints:
    """Declares only its kind: "Endpoints" -> the guessed English plural was "endpointses"."""

    __group__, __version__, __kind__ = "", "v1", "Endpoints"


class Recorder:
    def __init__(self) -> None:
        self.calls: list[Request] = []

    async def reconcile(self, req: Request) -> Result:
        self.calls.append(req)
        return Result()


def crd_doc(group: str) -> dict[str, Any]:
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"widgets.{group}"},
        "spec": {
            "group": group,
            "names": {"kind": "Widget", "plural": "widgets", "singular": "widget",
                      "listKind": "WidgetList"},
            "scope": "Namespaced",
            "versions": [{
                "name": "v1", "served": True, "storage": True,
                "schema": {"openAPIV3Schema": {
                    "type": "object", "x-kubernetes-preserve-unknown-fields": True}},
            }],
        },
    }


@pytest.fixture
async def widget_group(kube_client: AsyncClient) -> AsyncIterator[str]:
    """A fresh API group (its CRD is not installed yet); the CRD is deleted afterwards."""
    group = f"w{uuid.uuid4().hex[:8]}.example.com"
    yield group
    with contextlib.suppress(ApiError):
        await kube_client.delete(CustomResourceDefinition, f"widgets.{group}")


async def install_crd(kube_client: AsyncClient, group: str) -> None:
    await kube_client.create(CustomResourceDefinition.from_dict(crd_doc(group)))

    async def established() -> bool:
        crd = await kube_client.get(CustomResourceDefinition, f"widgets.{group}")
        conds = (crd.status.conditions if crd.status else None) or []
        return any(c.type == "Established" and c.status == "True" for c in conds)

    await eventually(established, within=30)


async def test_plural_and_scope_come_from_discovery(envtest: Any, kube_client: AsyncClient,
                                                   namespace: str) -> None:
    from runtime.client import Client

    mapper = RESTMapper(http_client(kube_client))
    info = await mapper.resource_info(Endpoints)
    assert (info.plural, info.namespaced) == ("endpoints", True)
    client = Client(kube_client)  # no cache: straight to the API server
    assert await client.list(Endpoints, namespace) == []
    with pytest.raises(NoKindMatchError, match='kind "Nope" in version "v1"'):
        await mapper.mapping(type("Nope", (), {"__group__": "", "__version__": "v1",
                                               "__kind__": "Nope"}))


async def test_is_served_sees_a_crd_installed_later(kube_client: AsyncClient,
                                                     widget_group: str) -> None:
    from runtime.client import Client

    client = Client(kube_client, rest_mapper=RESTMapper(http_client(kube_client),
                                                        refresh_interval=0.5))
    widget = create_namespaced_resource(widget_group, "v1", "Widget", "widgets")
    assert not await client.is_served(widget)
    await install_crd(kube_client, widget_group)
    await eventually(lambda: client.is_served(widget), within=10)


async def test_optional_kind_installed_after_start_gets_watched(
    envtest: Any, kube_client: AsyncClient, namespace: str, widget_group: str
) -> None:
    """owns()/watches(..., optional=True) on a kind whose CRD is absent: the controller starts
    (one INFO log), and once the CRD is installed its objects reach the reconciler within the
    re-check period, without a restart."""
    widget = create_namespaced_resource(widget_group, "v1", "Widget", "widgets")
    mgr = Manager(str(envtest.kubeconfig_path), namespace=namespace,
                  metrics_bind_address="0", health_probe_bind_address="0")
    rec = Recorder()
    ctrl = (Builder(mgr, name=f"opt-{widget_group[:9]}")
            .for_(ConfigMap)
            .watches(widget, lambda w: [Request(namespace, "from-" + w.metadata.name)],
                     optional=True)
            .with_options(optional_recheck_period=1.0, cache_sync_timeout=10)
            .complete(rec))
    async with anyio.create_task_group() as tg:
        tg.start_soon(mgr.start)
        with anyio.fail_after(15):
            await ctrl.synced.wait()  # the absent kind does not hold the controller back
        await install_crd(kube_client, widget_group)
        await kube_client.create(widget(metadata=ObjectMeta(name="w1", namespace=namespace),
                                        spec={"size": 1}))
        t0 = time.monotonic()
        await eventually(lambda: Request(namespace, "from-w1") in rec.calls, within=15)
        assert time.monotonic() - t0 < 10  # re-check period 1 s + discovery + list
        mgr.stop()


async def test_forbidden_list_names_the_missing_permission(envtest: Any) -> None:
    """A manager whose identity may not list ConfigMaps: the controller's sync times out with
    the 403 and the permission to grant (discovery itself needs no RBAC)."""
    kubeconfig = envtest.kubeconfig_for_user("kserve-py-nobody")
    mgr = Manager(str(kubeconfig), metrics_bind_address="0", health_probe_bind_address="0")
    (Builder(mgr, name="forbidden-cms").for_(ConfigMap)
        .with_options(cache_sync_timeout=2.0).complete(Recorder()))
    with anyio.fail_after(15), pytest.raises(CacheSyncTimeoutError) as err:
        await mgr.start()
    msg = str(err.value)
    assert "ConfigMap (configmaps/v1)" in msg and "forbidden" in msg
    assert "get, list and watch on configmaps" in msg
