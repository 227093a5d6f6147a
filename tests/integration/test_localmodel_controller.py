"""The LocalModelCache and LocalModelNamespaceCache controllers on a real kube-apiserver
(envtest): upstream's ``localmodel/controller_test.go`` (vector V30, its 11 cases) with whole
objects and status, plus what upstream cannot show there (the volumes of a namespace that
stops using a cache removed, a no-op reconcile costing no request, NotReady nodes).

envtest runs no garbage collector and no node agent: the tests write the LocalModelNodes'
status as the agent would (as upstream's do). Names carry a per-test suffix (the API server is
shared; nodes, node groups, caches and volumes are cluster-scoped)."""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from lightkube import AsyncClient
from lightkube.generic_resource import create_namespaced_resource
from lightkube.resources.apiextensions_v1 import CustomResourceDefinition
from lightkube.resources.core_v1 import Node, PersistentVolume, PersistentVolumeClaim

from apis.serving.v1alpha1 import (
    LocalModelCache,
    LocalModelNamespaceCache,
    LocalModelNode,
    LocalModelNodeGroup,
)
from apis.serving.v1beta1 import InferenceService
from apis.serving.v1beta1.configmap import parse_inferenceservice_config
from apis.serving.v1beta1.inference_service_defaults import default_inference_service
from runtime.client import Client
from runtime.codec import object_to_dict
from runtime.testing.eventually import eventually
from runtime.testing.metrics import quiet, reconcile_errors, requests_by_method

from .localmodel_env import (
    LOCALMODEL_CONTROLLERS,
    SOURCE_URI,
    LocalModelEnv,
    config_data,
    create_node,
    localmodel_manager,
    new_namespace,
    node,
    node_group,
    put_config,
    set_ready,
    total,
    without_volatile,
)

pytestmark = [pytest.mark.integration, pytest.mark.anyio]

OWNER = {"apiVersion": "serving.kserve.io/v1alpha1", "controller": True,
         "blockOwnerDeletion": True}


class Env(LocalModelEnv):
    async def group(self, name: str, instance_type: str, **kw: Any) -> dict[str, Any]:
        g = node_group(self.n(name), self.n(instance_type), **kw)
        await self.c.create(LocalModelNodeGroup.model_validate(g))
        self.cleanup.append((LocalModelNodeGroup, g["metadata"]["name"], None))
        return g

    async def node(self, name: str, instance_type: str, ready: bool = True) -> str:
        await create_node(self.kube, node(self.n(name), self.n(instance_type), ready=ready))
        self.cleanup.append((Node, self.n(name), None))
        self.cleanup.append((LocalModelNode, self.n(name), None))
        return self.n(name)

    async def create(self, obj: Any) -> Any:
        return await self.c.create(obj)

    async def delete(self, kind: Any, name: str, namespace: str | None = None) -> None:
        await self.c.delete(kind, name, namespace)

    async def gone(self, kind: Any, name: str, namespace: str | None = None) -> bool:
        return await self.get(kind, name, namespace) is None

    async def deleted(self, kind: Any, name: str, namespace: str | None = None) -> bool:
        """Gone, or being deleted: envtest runs no kube-controller-manager, so the
        pv/pvc-protection finalizers of deleted volumes are never removed."""
        obj = await self.get(kind, name, namespace)
        return obj is None or obj.metadata.deletionTimestamp is not None


@pytest.fixture
async def env(kube_client: AsyncClient, namespace: str) -> AsyncIterator[Env]:
    jobs = await new_namespace(kube_client, "lm-jobs")
    await put_config(kube_client, namespace, config_data(jobs))
    e = Env(kube_client, namespace, jobs)
    yield e
    for kind, name, ns in reversed(e.cleanup):
        with contextlib.suppress(Exception):
            await e.delete(kind, name, ns)


def cache_obj(name: str, groups: list[str], *, namespace: str | None = None,
              uri: str = SOURCE_URI, size: str = "123Gi") -> Any:
    kind = LocalModelNamespaceCache if namespace else LocalModelCache
    meta: dict[str, Any] = {"name": name}
    if namespace:
        meta["namespace"] = namespace
    return kind.model_validate({"metadata": meta, "spec": {
        "sourceModelUri": uri, "modelSize": size, "nodeGroups": groups}})


def status_of(obj: Any) -> dict[str, Any]:
    return dict(object_to_dict(obj).get("status") or {})


def pv_expected(name: str, group: dict[str, Any], owner: str | None) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name}
    if owner:
        meta["ownerReferences"] = [{**OWNER, "kind": "LocalModelCache", "name": owner}]
    return {"apiVersion": "v1", "kind": "PersistentVolume", "metadata": meta,
            "spec": group["spec"]["persistentVolumeSpec"]}


def pvc_expected(name: str, namespace: str, volume: str, group: dict[str, Any],
                 owner: tuple[str, str] | None) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "namespace": namespace}
    if owner:
        meta["ownerReferences"] = [{**OWNER, "kind": owner[0], "name": owner[1]}]
    spec = {**group["spec"]["persistentVolumeClaimSpec"], "volumeName": volume,
            "volumeMode": "Filesystem"}
    return {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": meta, "spec": spec}


async def stored(e: Env, kind: Any, name: str, namespace: str | None = None) -> Any:
    obj = await eventually(lambda: e.get(kind, name, namespace), within=20)
    return without_volatile(object_to_dict(obj))


async def lmn_models(e: Env, name: str, count: int | None = None) -> list[dict[str, Any]]:
    async def models() -> tuple[list[dict[str, Any]]] | None:
        lmn = await e.get(LocalModelNode, name)
        if lmn is None:
            return None
        ms = object_to_dict(lmn)["spec"]["localModels"]
        return (ms,) if count is None or len(ms) == count else None

    return (await eventually(models, within=20))[0]


async def cache_status(e: Env, kind: Any, name: str, want: dict[str, Any],
                       namespace: str | None = None) -> dict[str, Any]:
    async def check() -> dict[str, Any] | None:
        obj = await e.get(kind, name, namespace)
        st = status_of(obj) if obj is not None else None
        return st if st == want else None

    try:
        return await eventually(check, within=20)
    except TimeoutError:
        obj = await e.get(kind, name, namespace)
        assert (status_of(obj) if obj else None) == want
        raise


async def set_model_status(e: Env, node_name: str, statuses: dict[str, str]) -> None:
    await e.c.patch_status(LocalModelNode, node_name, {"status": {"modelStatus": statuses}})


async def delete_and_wait(e: Env, kind: Any, name: str, namespace: str | None = None) -> None:
    await e.delete(kind, name, namespace)
    await eventually(lambda: e.gone(kind, name, namespace), within=20)


# ------------------------------------------------------------------------- LocalModelCache


async def test_pv_pvc_localmodelnode_and_status_from_nodes(envtest: Any, env: Env) -> None:
    """Upstream "Should create pv, pvc, localmodelnode, and update status from
    localmodelnode"."""
    e = env
    g1 = await e.group("gpu1", "gpu1")
    g2 = await e.group("gpu2", "gpu2")
    gpu1, gpu2, iris = e.n("gpu1"), e.n("gpu2"), e.n("iris")
    errors = reconcile_errors(*LOCALMODEL_CONTROLLERS)
    async with localmodel_manager(str(envtest.kubeconfig_path), e.ns):
        await e.create(cache_obj(iris, [gpu1, gpu2]))
        # no node yet: copies present (empty), no node status
        await cache_status(e, LocalModelCache, iris, {"copies": {}})
        cached = await e.get(LocalModelCache, iris)
        assert cached.metadata.finalizers == ["localmodel.kserve.io/finalizer"]
        assert await stored(e, PersistentVolume, f"{iris}-{gpu1}-download") == pv_expected(
            f"{iris}-{gpu1}-download", g1, iris)
        assert await stored(e, PersistentVolume, f"{iris}-{gpu2}-download") == pv_expected(
            f"{iris}-{gpu2}-download", g2, iris)
        assert await stored(e, PersistentVolumeClaim, f"{iris}-{gpu1}", e.jobs) == pvc_expected(
            f"{iris}-{gpu1}", e.jobs, f"{iris}-{gpu1}-download", g1, ("LocalModelCache", iris))
        assert await stored(e, PersistentVolumeClaim, f"{iris}-{gpu2}", e.jobs) == pvc_expected(
            f"{iris}-{gpu2}", e.jobs, f"{iris}-{gpu2}-download", g2, ("LocalModelCache", iris))

        n1 = await e.node("node-1", "gpu1")
        n2 = await e.node("node-2", "gpu2")
        assert await lmn_models(e, n1) == [
            {"modelName": iris, "sourceModelUri": SOURCE_URI, "nodeGroup": gpu1}]
        assert await lmn_models(e, n2) == [
            {"modelName": iris, "sourceModelUri": SOURCE_URI, "nodeGroup": gpu2}]
        await cache_status(e, LocalModelCache, iris, {
            "nodeStatus": {n1: "NodeDownloadPending", n2: "NodeDownloadPending"},
            "copies": {"total": 2}})

        # what the agents would write
        await set_model_status(e, n1, {iris: "ModelDownloaded"})
        await set_model_status(e, n2, {iris: "ModelDownloaded"})
        await cache_status(e, LocalModelCache, iris, {
            "nodeStatus": {n1: "NodeDownloaded", n2: "NodeDownloaded"},
            "copies": {"total": 2, "available": 2}})

        # deletion: the entries leave the nodes, then the finalizer goes
        await delete_and_wait(e, LocalModelCache, iris)
        assert await lmn_models(e, n1, 0) == []
        assert await lmn_models(e, n2, 0) == []
    assert reconcile_errors(*LOCALMODEL_CONTROLLERS) == errors


def isvc(name: str, namespace: str, *, annotations: dict[str, str] | None = None,
         labels: dict[str, str] | None = None, uri: str = SOURCE_URI) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "namespace": namespace}
    if annotations:
        meta["annotations"] = annotations
    if labels:
        meta["labels"] = labels
    return {"apiVersion": "serving.kserve.io/v1beta1", "kind": "InferenceService",
            "metadata": meta, "spec": {"predictor": {"model": {
                "modelFormat": {"name": "sklearn"}, "storageUri": uri}}}}


LM_ENABLED = parse_inferenceservice_config({"localModel": json.dumps({"enabled": True})})


async def test_pvs_and_pvcs_for_inference_services(envtest: Any, env: Env) -> None:
    """Upstream "Should create pvs and pvcs for inference services": the default node group
    (first of the cache's) without the nodegroup annotation, the annotated one with it; the
    InferenceServices labelled by the defaulter. Then (not checkable upstream, envtest
    deletes nothing there) the namespace's volumes go when its InferenceServices do."""
    e = env
    g1 = await e.group("gpu1", "gpu1")
    g2 = await e.group("gpu2", "gpu1")  # upstream: both groups use localModelNodeGroupSpec1
    gpu1, gpu2, iris = e.n("gpu1"), e.n("gpu2"), e.n("iris2")
    async with localmodel_manager(str(envtest.kubeconfig_path), e.ns):
        cache = cache_obj(iris, [gpu1, gpu2])
        await e.create(cache)
        stored_cache = await eventually(lambda: e.get(LocalModelCache, iris))
        foo = default_inference_service(isvc("foo", e.ns), LM_ENABLED,
                                        local_model_caches=[stored_cache])
        bar = default_inference_service(
            isvc("bar", e.ns, annotations={"serving.kserve.io/nodegroup": gpu2}), LM_ENABLED,
            local_model_caches=[stored_cache])
        assert foo["metadata"]["labels"] == {"internal.serving.kserve.io/localmodel": iris}
        assert bar["metadata"]["annotations"][
            "internal.serving.kserve.io/localmodel-pvc-name"] == f"{iris}-{gpu2}"
        await e.create(InferenceService.model_validate(foo))
        await e.create(InferenceService.model_validate(bar))

        assert await stored(e, PersistentVolume, f"{iris}-{gpu1}-{e.ns}") == pv_expected(
            f"{iris}-{gpu1}-{e.ns}", g1, iris)
        assert await stored(e, PersistentVolume, f"{iris}-{gpu2}-{e.ns}") == pv_expected(
            f"{iris}-{gpu2}-{e.ns}", g2, iris)
        assert await stored(e, PersistentVolumeClaim, f"{iris}-{gpu1}", e.ns) == pvc_expected(
            f"{iris}-{gpu1}", e.ns, f"{iris}-{gpu1}-{e.ns}", g1, ("LocalModelCache", iris))
        assert await stored(e, PersistentVolumeClaim, f"{iris}-{gpu2}", e.ns) == pvc_expected(
            f"{iris}-{gpu2}", e.ns, f"{iris}-{gpu2}-{e.ns}", g2, ("LocalModelCache", iris))
        await cache_status(e, LocalModelCache, iris, {
            "copies": {},
            "inferenceServices": [{"namespace": e.ns, "name": "bar"},
                                  {"namespace": e.ns, "name": "foo"}]})

        # the namespace stops using the cache: its serving volumes go, the download ones stay
        await e.delete(InferenceService, "foo", e.ns)
        await e.delete(InferenceService, "bar", e.ns)
        await cache_status(e, LocalModelCache, iris, {"copies": {}})
        for kind, name, ns in ((PersistentVolume, f"{iris}-{gpu1}-{e.ns}", None),
                               (PersistentVolume, f"{iris}-{gpu2}-{e.ns}", None),
                               (PersistentVolumeClaim, f"{iris}-{gpu1}", e.ns),
                               (PersistentVolumeClaim, f"{iris}-{gpu2}", e.ns)):
            await eventually(lambda k=kind, n=name, s=ns: e.deleted(k, n, s), within=20)
        assert await e.get(PersistentVolumeClaim, f"{iris}-{gpu1}", e.jobs) is not None
        await delete_and_wait(e, LocalModelCache, iris)


LLM_CRD = {
    "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
    "metadata": {"name": "llminferenceservices.serving.kserve.io"},
    "spec": {"group": "serving.kserve.io", "scope": "Namespaced",
             "names": {"kind": "LLMInferenceService", "plural": "llminferenceservices",
                       "singular": "llminferenceservice", "listKind": "LLMInferenceServiceList"},
             "versions": [{"name": "v1alpha2", "served": True, "storage": True,
                           "schema": {"openAPIV3Schema": {
                               "type": "object", "x-kubernetes-preserve-unknown-fields": True}}}]},
}


async def test_llm_inference_service_tracked(envtest: Any, env: Env) -> None:
    """Upstream "Should track LLMInferenceService in cluster-scoped cache status" (the
    LLMInferenceService CRD, which this project does not serve, installed for the test)."""
    e = env
    await e.group("gpu1", "gpu1")
    gpu1, name = e.n("gpu1"), e.n("llm-cache")
    crd = CustomResourceDefinition.from_dict(LLM_CRD)
    existed = await e.get(CustomResourceDefinition, LLM_CRD["metadata"]["name"])
    if existed is None:
        await e.create(crd)
    llm = create_namespaced_resource("serving.kserve.io", "v1alpha2", "LLMInferenceService",
                                     "llminferenceservices")

    async def served() -> bool:
        try:
            [x async for x in e.kube.list(llm, namespace=e.ns)]
            return True
        except Exception:
            return False

    await eventually(served, within=30)
    try:
        async with localmodel_manager(str(envtest.kubeconfig_path), e.ns):
            await e.create(cache_obj(name, [gpu1], size="10Gi"))
            await e.create(llm({
                "apiVersion": "serving.kserve.io/v1alpha2", "kind": "LLMInferenceService",
                "metadata": {"name": "test-llm-svc", "namespace": e.ns,
                             "labels": {"internal.serving.kserve.io/localmodel": name},
                             "annotations": {
                                 "internal.serving.kserve.io/localmodel-sourceuri": SOURCE_URI,
                                 "internal.serving.kserve.io/localmodel-pvc-name":
                                     f"{name}-{gpu1}"}},
                "spec": {"model": {"uri": SOURCE_URI}}}))
            await cache_status(e, LocalModelCache, name, {
                "copies": {},
                "llmInferenceServices": [{"namespace": e.ns, "name": "test-llm-svc"}]})
            # the LLMInferenceService's namespace gets the serving volumes too
            await stored(e, PersistentVolumeClaim, f"{name}-{gpu1}", e.ns)
            await e.delete(llm, "test-llm-svc", e.ns)
            await delete_and_wait(e, LocalModelCache, name)
    finally:
        if existed is None:
            await e.delete(CustomResourceDefinition, LLM_CRD["metadata"]["name"])

            async def no_longer_served() -> bool:
                # the next manager's discovery must not find the kind while its CRD is
                # still going (its informer would list a 404 until the sync timeout)
                if await e.get(CustomResourceDefinition, LLM_CRD["metadata"]["name"]):
                    return False
                resp = await Client(e.kube, None).http.request(
                    "GET", "/apis/serving.kserve.io/v1alpha2")
                return resp.status_code == 404 or "llminferenceservices" not in resp.text

            await eventually(no_longer_served, within=60, interval=0.2)


async def test_disable_volume_management(envtest: Any, env: Env) -> None:
    """Upstream "Should NOT create/delete pvs and pvcs if ... DisableVolumeManagement is
    true": volumes the cache owns in a namespace nobody uses stay."""
    e = env
    await put_config(e.kube, e.ns, config_data(e.jobs, disableVolumeManagement=True))
    await e.group("gpu1", "gpu1")
    await e.group("gpu2", "gpu2")
    name = e.n("iris3")
    test_ns = await new_namespace(e.kube, "test-namespace")
    async with localmodel_manager(str(envtest.kubeconfig_path), e.ns):
        await e.create(cache_obj(name, [e.n("gpu1"), e.n("gpu2")]))
        cache = await eventually(lambda: e.get(LocalModelCache, name))
        ref = [{"apiVersion": "serving.kserve.io/v1alpha1", "kind": "LocalModelCache",
                "name": name, "uid": cache.metadata.uid, "controller": True}]
        pv_name = f"test-pvc-{test_ns}"
        await e.create(PersistentVolume.from_dict({
            "metadata": {"name": pv_name, "ownerReferences": ref},
            "spec": {"accessModes": ["ReadWriteOnce"], "capacity": {"storage": "2Gi"},
                     "hostPath": {"path": "/mnt/data", "type": "DirectoryOrCreate"}}}))
        e.cleanup.append((PersistentVolume, pv_name, None))
        await e.create(PersistentVolumeClaim.from_dict({
            "metadata": {"name": "test-pvc", "namespace": test_ns, "ownerReferences": ref},
            "spec": {"accessModes": ["ReadWriteOnce"], "volumeName": pv_name,
                     "resources": {"requests": {"storage": "2Gi"}}}}))
        # the cache is reconciled (its status written, its download volumes made) ...
        await cache_status(e, LocalModelCache, name, {"copies": {}})
        await stored(e, PersistentVolumeClaim, f"{name}-{e.n('gpu1')}", e.jobs)
        await quiet()
        # ... and the volumes it owns but no consumer needs are left alone
        assert await e.get(PersistentVolume, pv_name) is not None
        assert await e.get(PersistentVolumeClaim, "test-pvc", test_ns) is not None
        await delete_and_wait(e, LocalModelCache, name)


async def test_multiple_caches_on_two_nodes(envtest: Any, env: Env) -> None:
    """Upstream "Should create localModelNode correctly" (two nodes, two caches: each node
    lists both; deleting one leaves one, deleting both leaves none)."""
    e = env
    await e.group("gpu1", "gpu1")
    await e.group("gpu2", "gpu2")
    gpu1, gpu2 = e.n("gpu1"), e.n("gpu2")
    n1 = await e.node("node1", "gpu1")
    n2 = await e.node("node2", "gpu2")
    m1, m2 = e.n("iris1"), e.n("iris2")
    async with localmodel_manager(str(envtest.kubeconfig_path), e.ns):
        await e.create(cache_obj(m1, [gpu1, gpu2]))
        await e.create(cache_obj(m2, [gpu1, gpu2]))
        for n, g in ((n1, gpu1), (n2, gpu2)):
            assert await lmn_models(e, n, 2) == [
                {"modelName": m, "sourceModelUri": SOURCE_URI, "nodeGroup": g} for m in (m1, m2)]
        await e.delete(LocalModelCache, m1)
        for n, g in ((n1, gpu1), (n2, gpu2)):
            assert await lmn_models(e, n, 1) == [
                {"modelName": m2, "sourceModelUri": SOURCE_URI, "nodeGroup": g}]
        await e.delete(LocalModelCache, m2)
        for n in (n1, n2):
            assert await lmn_models(e, n, 0) == []
        await eventually(lambda: e.gone(LocalModelCache, m1))
        await eventually(lambda: e.gone(LocalModelCache, m2))


# ------------------------------------------------------------------ LocalModelNamespaceCache


async def test_namespace_cache_pv_pvc_node_and_status(envtest: Any, env: Env) -> None:
    """Upstream "Should create pv, pvc, localmodelnode, and update status from
    localmodelnode" (namespace-scoped)."""
    e = env
    g1 = await e.group("gpu1", "gpu1")
    gpu1, name = e.n("gpu1"), "ns-iris"
    download = f"{name}-{gpu1}-{e.ns}-download"
    async with localmodel_manager(str(envtest.kubeconfig_path), e.ns):
        await e.create(cache_obj(name, [gpu1], namespace=e.ns))
        await cache_status(e, LocalModelNamespaceCache, name, {"copies": {}}, e.ns)
        assert await stored(e, PersistentVolume, download) == pv_expected(download, g1, None)
        # the download claim lives in the job namespace: a namespace cache cannot own it
        assert await stored(e, PersistentVolumeClaim, download, e.jobs) == pvc_expected(
            download, e.jobs, download, g1, None)
        n1 = await e.node("ns-node-1", "gpu1")
        assert await lmn_models(e, n1) == [{"modelName": name, "sourceModelUri": SOURCE_URI,
                                            "namespace": e.ns, "nodeGroup": gpu1}]
        await set_model_status(e, n1, {f"{e.ns}/{name}": "ModelDownloaded"})
        await cache_status(e, LocalModelNamespaceCache, name, {
            "nodeStatus": {n1: "NodeDownloaded"}, "copies": {"total": 1, "available": 1}},
            e.ns)
        await delete_and_wait(e, LocalModelNamespaceCache, name, e.ns)


async def test_namespace_cache_consumers_in_its_namespace_only(envtest: Any, env: Env) -> None:
    """Upstream "Should create pvs and pvcs for inference services in the same namespace
    only"."""
    e = env
    g1 = await e.group("gpu1", "gpu1")
    gpu1, name = e.n("gpu1"), "ns-iris2"
    other = await new_namespace(e.kube, "other-ns")
    labels = {"internal.serving.kserve.io/localmodel": name,
              "internal.serving.kserve.io/localmodel-namespace": e.ns}
    async with localmodel_manager(str(envtest.kubeconfig_path), e.ns):
        await e.create(cache_obj(name, [gpu1], namespace=e.ns))
        await e.create(InferenceService.model_validate(isvc("ns-foo", e.ns, labels=labels)))
        await e.create(InferenceService.model_validate(isvc("ns-bar", other, labels=labels)))
        serving = f"{name}-{gpu1}-{e.ns}"
        assert await stored(e, PersistentVolume, serving) == pv_expected(serving, g1, None)
        assert await stored(e, PersistentVolumeClaim, f"{name}-{gpu1}", e.ns) == pvc_expected(
            f"{name}-{gpu1}", e.ns, serving, g1, ("LocalModelNamespaceCache", name))
        await cache_status(e, LocalModelNamespaceCache, name, {
            "copies": {}, "inferenceServices": [{"namespace": e.ns, "name": "ns-foo"}]}, e.ns)
        await quiet()
        assert await e.get(PersistentVolumeClaim, f"{name}-{gpu1}", other) is None
        assert await e.get(PersistentVolume, f"{name}-{gpu1}-{other}") is None
        await e.delete(InferenceService, "ns-foo", e.ns)
        await e.delete(InferenceService, "ns-bar", other)
        await delete_and_wait(e, LocalModelNamespaceCache, name, e.ns)


async def test_namespace_cache_deletion_runs_finalizer(envtest: Any, env: Env) -> None:
    """Upstream "Should delete LocalModelNamespaceCache and run finalizer cleanup"; and the
    volumes it cannot own (the download pair, in the job namespace and cluster-wide) are
    deleted by the finalizer, which upstream could only check by reading the code."""
    e = env
    await e.group("gpu1", "gpu1")
    gpu1, name = e.n("gpu1"), "ns-iris-delete"
    download = f"{name}-{gpu1}-{e.ns}-download"
    async with localmodel_manager(str(envtest.kubeconfig_path), e.ns):
        await e.create(cache_obj(name, [gpu1], namespace=e.ns))

        async def finalized() -> bool:
            c = await e.get(LocalModelNamespaceCache, name, e.ns)
            return c is not None and c.metadata.finalizers == [
                "localmodelnamespacecache.kserve.io/finalizer"]

        await eventually(finalized)
        await stored(e, PersistentVolumeClaim, download, e.jobs)
        await delete_and_wait(e, LocalModelNamespaceCache, name, e.ns)
        await eventually(lambda: e.deleted(PersistentVolumeClaim, download, e.jobs))
        await eventually(lambda: e.deleted(PersistentVolume, download))


async def test_cluster_and_namespace_models_on_one_node(envtest: Any, env: Env) -> None:
    """Upstream "Should track both cluster-scoped and namespace-scoped models on
    LocalModelNode"."""
    e = env
    await e.group("gpu1", "gpu1")
    gpu1 = e.n("gpu1")
    cluster_model, ns_model = e.n("cluster-model"), "ns-model"
    async with localmodel_manager(str(envtest.kubeconfig_path), e.ns):
        await e.create(cache_obj(cluster_model, [gpu1]))
        await e.create(cache_obj(ns_model, [gpu1], namespace=e.ns))
        n = await e.node("mixed-node", "gpu1")
        models = await lmn_models(e, n, 2)
        assert {"modelName": cluster_model, "sourceModelUri": SOURCE_URI,
                "nodeGroup": gpu1} in models
        assert {"modelName": ns_model, "sourceModelUri": SOURCE_URI, "namespace": e.ns,
                "nodeGroup": gpu1} in models
        await e.delete(LocalModelCache, cluster_model)
        await delete_and_wait(e, LocalModelNamespaceCache, ns_model, e.ns)
        await eventually(lambda: e.gone(LocalModelCache, cluster_model))


async def test_namespace_cache_download_pv_has_no_owner(envtest: Any, env: Env) -> None:
    """Upstream "Should create download PV for LocalModelNamespaceCache and verify finalizer
    is set"."""
    e = env
    g1 = await e.group("gpu1", "gpu1")
    gpu1, name = e.n("gpu1"), "ns-iris-pv-delete"
    download = f"{name}-{gpu1}-{e.ns}-download"
    async with localmodel_manager(str(envtest.kubeconfig_path), e.ns):
        await e.create(cache_obj(name, [gpu1], namespace=e.ns))
        pv = await stored(e, PersistentVolume, download)
        assert pv == pv_expected(download, g1, None)
        assert "ownerReferences" not in pv["metadata"]
        c = await e.get(LocalModelNamespaceCache, name, e.ns)
        assert c.metadata.finalizers == ["localmodelnamespacecache.kserve.io/finalizer"]
        await delete_and_wait(e, LocalModelNamespaceCache, name, e.ns)


async def test_namespace_cache_serving_volumes_follow_consumers(envtest: Any,
                                                                env: Env) -> None:
    """Upstream "Should create serving PV/PVC for ISVC and update status when ISVC is
    removed"; and, which upstream leaves to "code inspection", the removal: status cleared,
    serving PV and PVC deleted."""
    e = env
    g1 = await e.group("gpu1", "gpu1")
    gpu1, name = e.n("gpu1"), "ns-iris-cleanup"
    serving = f"{name}-{gpu1}-{e.ns}"
    labels = {"internal.serving.kserve.io/localmodel": name,
              "internal.serving.kserve.io/localmodel-namespace": e.ns}
    async with localmodel_manager(str(envtest.kubeconfig_path), e.ns):
        await e.create(cache_obj(name, [gpu1], namespace=e.ns))
        await e.create(InferenceService.model_validate(
            isvc("cleanup-isvc", e.ns, labels=labels)))
        assert await stored(e, PersistentVolumeClaim, f"{name}-{gpu1}", e.ns) == pvc_expected(
            f"{name}-{gpu1}", e.ns, serving, g1, ("LocalModelNamespaceCache", name))
        assert await stored(e, PersistentVolume, serving) == pv_expected(serving, g1, None)
        await cache_status(e, LocalModelNamespaceCache, name, {
            "copies": {}, "inferenceServices": [{"namespace": e.ns, "name": "cleanup-isvc"}]},
            e.ns)
        await e.delete(InferenceService, "cleanup-isvc", e.ns)
        await cache_status(e, LocalModelNamespaceCache, name, {"copies": {}}, e.ns)
        await eventually(lambda: e.deleted(PersistentVolumeClaim, f"{name}-{gpu1}", e.ns))
        await eventually(lambda: e.deleted(PersistentVolume, serving))
        await delete_and_wait(e, LocalModelNamespaceCache, name, e.ns)


# ------------------------------------------------------------------------- beyond upstream


async def test_noop_reconcile_costs_no_request(envtest: Any, env: Env) -> None:
    """Once converged, reconciling every cache and node again sends nothing."""
    e = env
    await e.group("gpu1", "gpu1")
    gpu1 = e.n("gpu1")
    n1 = await e.node("idle-1", "gpu1")
    names = [e.n(f"idle{i}") for i in range(3)]
    async with localmodel_manager(str(envtest.kubeconfig_path), e.ns) as run:
        for i, name in enumerate(names):
            await e.create(cache_obj(name, [gpu1], uri=f"s3://bucket/idle-{i}"))
        await e.create(InferenceService.model_validate(isvc(
            "idle-consumer", e.ns, labels={"internal.serving.kserve.io/localmodel": names[0]},
            uri="s3://bucket/idle-0")))
        await lmn_models(e, n1, 3)
        await set_model_status(e, n1, {name: "ModelDownloaded" for name in names})
        for name in names:
            await cache_status(e, LocalModelCache, name, {
                "nodeStatus": {n1: "NodeDownloaded"}, "copies": {"total": 1, "available": 1},
                **({"inferenceServices": [{"namespace": e.ns, "name": "idle-consumer"}]}
                   if name == names[0] else {})})
        await quiet()
        before = requests_by_method()
        from runtime.reconcile import Request

        reconcilers = run.mgr.runnables()
        by_name = {getattr(r, "name", ""): r for r in reconcilers}
        for name in names:
            await by_name["localmodelcache"].reconciler.reconcile(Request("", name))
        await by_name["localmodelnode-models"].reconciler.reconcile(Request("", n1))
        assert total(requests_by_method()) - total(before) == 0, requests_by_method()
        await e.delete(InferenceService, "idle-consumer", e.ns)
        for name in names:
            await delete_and_wait(e, LocalModelCache, name)


async def test_not_ready_node_reported_and_back(envtest: Any, env: Env) -> None:
    """A node going NotReady keeps its models (its entry stays, the agent keeps the folder)
    and shows NodeNotReady; back Ready, the status is the agent's again. A node created
    NotReady gets no entry until it is Ready (upstream)."""
    e = env
    await e.group("gpu1", "gpu1")
    gpu1, name = e.n("gpu1"), e.n("flaky")
    n1 = await e.node("flaky-1", "gpu1")
    n2 = await e.node("late-2", "gpu1", ready=False)
    async with localmodel_manager(str(envtest.kubeconfig_path), e.ns):
        await e.create(cache_obj(name, [gpu1]))
        entry = [{"modelName": name, "sourceModelUri": SOURCE_URI, "nodeGroup": gpu1}]
        assert await lmn_models(e, n1) == entry
        await set_model_status(e, n1, {name: "ModelDownloaded"})
        await cache_status(e, LocalModelCache, name, {
            "nodeStatus": {n1: "NodeDownloaded", n2: "NodeNotReady"},
            "copies": {"total": 2, "available": 1}})
        assert await e.get(LocalModelNode, n2) is None
        await set_ready(e.kube, n1, False)
        await cache_status(e, LocalModelCache, name, {
            "nodeStatus": {n1: "NodeNotReady", n2: "NodeNotReady"}, "copies": {"total": 2}})
        assert await lmn_models(e, n1) == entry
        await set_ready(e.kube, n1, True)
        await set_ready(e.kube, n2, True)
        assert await lmn_models(e, n2) == entry
        await cache_status(e, LocalModelCache, name, {
            "nodeStatus": {n1: "NodeDownloaded", n2: "NodeDownloadPending"},
            "copies": {"total": 2, "available": 1}})
        await delete_and_wait(e, LocalModelCache, name)


async def test_bad_input_is_reported_not_retried(envtest: Any, env: Env) -> None:
    """A cache naming a node group that does not exist, a node group whose affinity does not
    parse, a malformed inferenceservice-config: Warning events on the cache, a status, no
    reconcile error; creating the missing group (its watch) fixes the first."""
    from lightkube.resources.core_v1 import Event as CoreEvent

    e = env
    bad = node_group(e.n("bad"), "x")
    bad["spec"]["persistentVolumeSpec"]["nodeAffinity"]["required"]["nodeSelectorTerms"][0][
        "matchExpressions"][0]["operator"] = "Near"
    await e.create(LocalModelNodeGroup.model_validate(bad))
    e.cleanup.append((LocalModelNodeGroup, e.n("bad"), None))
    n1 = await e.node("bad-1", "later")
    missing, broken = e.n("orphan"), e.n("broken")
    errors = reconcile_errors(*LOCALMODEL_CONTROLLERS)

    async def reasons(name: str) -> dict[str, str]:
        return {ev.reason: ev.message async for ev in e.kube.list(CoreEvent, namespace="default")
                if ev.involvedObject.name == name}

    async with localmodel_manager(str(envtest.kubeconfig_path), e.ns):
        await e.create(cache_obj(missing, [e.n("later")], uri="s3://b/orphan"))
        await e.create(cache_obj(broken, [e.n("bad")], uri="s3://b/broken"))
        await cache_status(e, LocalModelCache, missing, {"copies": {}})
        await cache_status(e, LocalModelCache, broken, {"copies": {}})
        got = await eventually(lambda: _has(reasons(missing), "NodeGroupNotFound"))
        assert got["NodeGroupNotFound"] == f"LocalModelNodeGroup {e.n('later')} not found"
        got = await eventually(lambda: _has(reasons(broken), "InvalidNodeAffinity"))
        assert "spec.persistentVolumeSpec.nodeAffinity.required.nodeSelectorTerms[0]" \
               ".matchExpressions[0].operator" in got["InvalidNodeAffinity"]
        assert "'Near' is not a valid label selector operator" in got["InvalidNodeAffinity"]
        # the missing group appears: the node gets the model
        await e.group("later", "later")
        assert await lmn_models(e, n1) == [{"modelName": missing, "sourceModelUri":
                                            "s3://b/orphan", "nodeGroup": e.n("later")}]
        await cache_status(e, LocalModelCache, missing, {
            "nodeStatus": {n1: "NodeDownloadPending"}, "copies": {"total": 1}})
        # a malformed config: reported, the last good one kept
        await put_config(e.kube, e.ns, {"localModel": "{not json"})
        await e.c.patch(LocalModelCache, missing, {"metadata": {"labels": {"touch": "1"}}})
        await e.c.patch(LocalModelCache, missing, {"spec": {"modelSize": "2Gi"}})
        await quiet()
        assert await e.get(LocalModelCache, missing) is not None
        await put_config(e.kube, e.ns, config_data(e.jobs))
        for name in (missing, broken):
            await delete_and_wait(e, LocalModelCache, name)
    assert reconcile_errors(*LOCALMODEL_CONTROLLERS) == errors


async def _has(aw: Any, reason: str) -> Any:
    got = await aw
    return got if reason in got else None
