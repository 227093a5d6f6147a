"""runtime.restmapper: declared type identity, and discovery instead of guessed plurals.

Discovery is played by an in-process httpx transport (the integration tier runs the same
lookups against a real kube-apiserver, tests/integration/test_discovery.py)."""

from __future__ import annotations

from typing import Any

import httpx2
import msgspec
import pytest
from lightkube.resources.apps_v1 import Deployment
from lightkube.resources.core_v1 import ConfigMap, Namespace

from runtime.restmapper import (
    GVK,
    NoKindMatchError,
    ResourceInfo,
    RESTMapper,
    gvk_of,
    is_namespaced,
    resource_info,
)


class Policy:
    """Declares group/version/kind only: its plural is discovery's business."""

    __group__, __version__, __kind__ = "example.com", "v1", "Policy"


class Cluster:
    __group__, __version__, __kind__ = "example.com", "v1", "Cluster"
    __plural__ = "clusters"
    __namespaced__ = False


def test_declared_types() -> None:
    assert resource_info(ConfigMap) == ResourceInfo("", "v1", "ConfigMap", "configmaps", True)
    assert resource_info(Deployment).collection_path("ns") == (
        "/apis/apps/v1/namespaces/ns/deployments")
    assert not resource_info(Namespace).namespaced
    c = resource_info(Cluster)
    assert (c.plural, c.namespaced) == ("clusters", False)
    assert c.object_path("x") == "/apis/example.com/v1/clusters/x"
    assert c.describe() == "Cluster (clusters.example.com/v1)"


def test_no_guessed_plural() -> None:
    # "policys" would 404; the type says nothing, so only discovery can tell.
    with pytest.raises(TypeError, match="declares no __plural__"):
        resource_info(Policy)
    assert gvk_of(Policy) == GVK("example.com", "v1", "Policy")
    assert is_namespaced(Policy)


class Discovery:
    """A fake API server's discovery endpoints; ``served`` can change between calls."""

    def __init__(self) -> None:
        self.served: dict[str, list[dict[str, Any]]] = {
            "/api/v1": [
                {"name": "configmaps", "kind": "ConfigMap", "namespaced": True},
                {"name": "pods", "kind": "Pod", "namespaced": True},
                {"name": "pods/status", "kind": "Pod", "namespaced": True},
            ],
        }
        self.calls: list[str] = []

    def handler(self, request: httpx2.Request) -> httpx2.Response:
        path = request.url.path
        self.calls.append(path)
        if path == "/apis":  # the group list: every served group-version
            gvs = [p.removeprefix("/apis/") for p in self.served if p.startswith("/apis/")]
            groups = [{"name": gv.split("/")[0], "versions": [{"groupVersion": gv}]}
                      for gv in gvs]
            return httpx2.Response(200, content=msgspec.json.encode(
                {"kind": "APIGroupList", "groups": groups}))
        if path not in self.served:
            return httpx2.Response(404, json={"kind": "Status", "code": 404,
                                              "reason": "NotFound"})
        body = {"kind": "APIResourceList", "groupVersion": path.rsplit("/", 2)[-1],
                "resources": self.served[path]}
        return httpx2.Response(200, content=msgspec.json.encode(body))


class Clock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def mapper(d: Discovery, clock: Clock) -> RESTMapper:
    http = httpx2.AsyncClient(base_url="http://fake", transport=httpx2.MockTransport(d.handler))
    return RESTMapper(http, refresh_interval=5.0, now=clock)


@pytest.mark.anyio
async def test_mapping_from_discovery_cached_and_refreshed_on_a_miss() -> None:
    d, clock = Discovery(), Clock()
    m = mapper(d, clock)
    with pytest.raises(NoKindMatchError, match=r'kind "Policy" in version "example\.com/v1"'):
        await m.mapping(Policy)
    assert d.calls == ["/apis/example.com/v1"]  # one read: a miss right after a read waits
    # The CRD is installed; a miss within refresh_interval still answers from the cache.
    d.served["/apis/example.com/v1"] = [
        {"name": "policies", "kind": "Policy", "namespaced": True}]
    clock.t = 1.0
    with pytest.raises(NoKindMatchError):
        await m.mapping(Policy)
    assert len(d.calls) == 1
    clock.t = 6.0  # a miss after refresh_interval reads discovery again: the group list
    info = await m.resource_info(Policy)  # names example.com/v1 now, so its document is read
    assert info == ResourceInfo("example.com", "v1", "Policy", "policies", True)
    assert d.calls == ["/apis/example.com/v1", "/apis", "/apis/example.com/v1"]
    for _ in range(3):  # hits cost nothing
        await m.mapping(Policy)
    assert len(d.calls) == 3
    # Subresources are not kinds; the core group lives under /api.
    assert (await m.mapping(ConfigMap)).plural == "configmaps"
    assert (await m.mapping(GVK("", "v1", "Pod"))).plural == "pods"
    assert d.calls[-1] == "/api/v1" and len(d.calls) == 4


@pytest.mark.anyio
async def test_declared_info_needs_no_request() -> None:
    d, clock = Discovery(), Clock()
    m = mapper(d, clock)
    assert (await m.resource_info(Cluster)).plural == "clusters"
    assert d.calls == []


@pytest.mark.anyio
async def test_is_served_is_at_most_refresh_interval_old() -> None:
    d, clock = Discovery(), Clock()
    m = mapper(d, clock)
    assert not await m.is_served(Policy)
    d.served["/apis/example.com/v1"] = [
        {"name": "policies", "kind": "Policy", "namespaced": True}]
    clock.t = 4.0
    assert not await m.is_served(Policy)  # cached answer, younger than 5 s
    clock.t = 5.5
    assert await m.is_served(Policy)
    del d.served["/apis/example.com/v1"]  # the CRD is deleted
    clock.t = 7.0
    assert await m.is_served(Policy)
    clock.t = 11.0
    assert not await m.is_served(Policy)
    assert d.calls == ["/apis/example.com/v1", "/apis", "/apis/example.com/v1",
                       "/apis/example.com/v1"]


@pytest.mark.anyio
async def test_absent_group_versions_share_one_group_list_read() -> None:
    """A manager rechecking five absent integrations makes one request per period, not five;
    the one installed meanwhile is then read and found."""
    d, clock = Discovery(), Clock()
    m = mapper(d, clock)
    absent = [GVK(f"g{i}.example.com", "v1", "Thing") for i in range(5)]
    for gvk in absent:
        assert not await m.is_served(gvk)
    assert len(d.calls) == 5  # the first look at each reads its own document
    for _ in range(3):  # three recheck periods, nothing installed: one read each
        clock.t += 30.0
        for gvk in absent:
            assert not await m.is_served(gvk)
    assert d.calls[5:] == ["/apis"] * 3
    d.served["/apis/g2.example.com/v1"] = [
        {"name": "things", "kind": "Thing", "namespaced": True}]
    clock.t += 30.0
    assert [await m.is_served(gvk) for gvk in absent] == [False, False, True, False, False]
    assert d.calls[8:] == ["/apis", "/apis/g2.example.com/v1"]


@pytest.mark.anyio
async def test_an_unreadable_group_list_falls_back_to_the_document() -> None:
    d, clock = Discovery(), Clock()
    served = d.handler

    def no_group_list(request: httpx2.Request) -> httpx2.Response:
        if request.url.path == "/apis":
            d.calls.append("/apis")
            return httpx2.Response(403, json={"kind": "Status", "code": 403})
        return served(request)

    http = httpx2.AsyncClient(base_url="http://fake", transport=httpx2.MockTransport(no_group_list))
    m = RESTMapper(http, refresh_interval=5.0, now=clock)
    assert not await m.is_served(Policy)
    d.served["/apis/example.com/v1"] = [
        {"name": "policies", "kind": "Policy", "namespaced": True}]
    clock.t = 6.0
    assert await m.is_served(Policy)
    assert d.calls == ["/apis/example.com/v1", "/apis", "/apis/example.com/v1"]


@pytest.mark.anyio
async def test_discovery_errors_are_raised_not_taken_for_absence() -> None:
    def boom(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(503, json={"kind": "Status", "code": 503,
                                          "reason": "ServiceUnavailable"})

    from lightkube.core.exceptions import ApiError

    http = httpx2.AsyncClient(base_url="http://fake", transport=httpx2.MockTransport(boom))
    m = RESTMapper(http)
    with pytest.raises(ApiError) as e:
        await m.is_served(Policy)
    assert e.value.status.code == 503
