"""LocalModel on the cluster tier (kube-controller-manager, scheduler, kwok with two
simulated nodes): the LocalModel manager, one node agent per simulated node (in-process, each
with its own models folder, a temporary directory), the InferenceService controller and
kserve-manager's webhooks (defaulter, validators, pod mutator) registered in the API server.

- A LocalModelNodeGroup holding both nodes; a LocalModelCache is downloaded on both: the
  agents' Jobs are scheduled on their nodes and run to completion (kwok), the cache reports
  two available copies. kwok runs no container, so the test plays the download's effect on
  disk: when a download Job is created, it creates the model's folder (the Job's subPath)
  in that node's models folder, as the storage initializer would while it runs.
- An InferenceService using the model is labelled by the defaulter and its predictor pod
  gets the cache's PVC (``pvc://<cache>-<group>/models/<sha256(uri)[:16]>``) from the pod
  mutator; the pod runs on a node of the group.
- A node going NotReady (kwok stops managing it, the test sets its Ready condition False)
  shows NodeNotReady and keeps its model (entry, folder, Job); back Ready (kwok again), the
  copy is available again without a new download.
- A model folder deleted under an agent is downloaded again (a second Job, one event).
- Deleting the cache while the InferenceService uses it is refused by the webhook; after the
  InferenceService is gone it is allowed, and every PV, PVC, Job, LocalModelNode entry and
  model folder of it goes.
- Bad input: a node group whose affinity matches no node (status says no copy, a Warning
  event), a download that fails (the test fails the Job's pods, as a failing container would:
  NodeDownloadError on both nodes, copies failed 2, Warning events), no reconcile error and
  nothing left behind.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio
import pytest
from lightkube import AsyncClient
from lightkube.resources.batch_v1 import Job
from lightkube.resources.core_v1 import (
    Event,
    Node,
    PersistentVolume,
    PersistentVolumeClaim,
    Pod,
)

from apis.serving.v1alpha1 import (
    LocalModelCache,
    LocalModelNode,
    LocalModelNodeGroup,
    ServingRuntime,
    get_storage_key,
)
from apis.serving.v1beta1 import InferenceService
from runtime.client import Client, ignore_not_found
from runtime.codec import object_to_dict
from runtime.testing.envtest import KWOK_NODE_ANNOTATION
from runtime.testing.eventually import eventually
from runtime.testing.metrics import reconcile_errors
from tests.integration._webhook_harness import shipped_config, webhook_manager
from tests.integration.isvc_env import isvc_manager, runtime
from tests.integration.localmodel_env import (
    LOCALMODEL_CONTROLLERS,
    agent,
    localmodel_manager,
    new_namespace,
    put_config,
    uid,
)

pytestmark = [pytest.mark.cluster, pytest.mark.anyio]

LABEL = "kserve-py.test/localmodel"


def group_doc(name: str, value: str) -> dict[str, Any]:
    return {"metadata": {"name": name}, "spec": {
        "storageLimit": "10Gi",
        "persistentVolumeSpec": {
            "accessModes": ["ReadWriteOnce"], "capacity": {"storage": "2Gi"},
            "persistentVolumeReclaimPolicy": "Delete",
            "hostPath": {"path": "/models", "type": "DirectoryOrCreate"},
            "nodeAffinity": {"required": {"nodeSelectorTerms": [{"matchExpressions": [
                {"key": LABEL, "operator": "In", "values": [value]}]}]}}},
        "persistentVolumeClaimSpec": {"accessModes": ["ReadWriteOnce"], "storageClassName": "",
                                      "resources": {"requests": {"storage": "2Gi"}}}}}


class Cluster:
    def __init__(self, kube: AsyncClient, ns: str, jobs: str, roots: dict[str, Path]) -> None:
        self.kube = kube
        self.c = Client(kube)
        self.ns = ns
        self.jobs = jobs
        self.roots = roots
        self.failing: set[str] = set()  # storage keys whose download pods fail
        self.events_seen: list[str] = []

    async def get(self, kind: Any, name: str, namespace: str | None = None) -> Any:
        return await ignore_not_found(self.c.api_reader.get(kind, name, namespace))

    async def cache_status(self, name: str) -> dict[str, Any] | None:
        obj = await self.get(LocalModelCache, name)
        return dict(object_to_dict(obj).get("status") or {}) if obj is not None else None

    async def wait_status(self, name: str, want: dict[str, Any], within: float = 90) -> None:
        async def check() -> bool:
            return await self.cache_status(name) == want

        try:
            await eventually(check, within=within, interval=0.25)
        except TimeoutError:
            assert await self.cache_status(name) == want
            raise

    async def jobs_for(self, model: str, node: str | None = None) -> list[dict[str, Any]]:
        labels = {"model": model, **({"node": node} if node else {})}
        return [object_to_dict(j) for j in await self.c.api_reader.list(
            Job, self.jobs, labels=labels)]

    async def warnings(self, reason: str, name: str) -> list[Any]:
        # core/v1 view of the events.k8s.io events (kube-controller-manager's core events
        # have no eventTime, which the events.k8s.io model requires)
        return [e async for e in self.kube.list(Event, namespace="default")
                if e.reason == reason and e.involvedObject.name == name]

    # ------------------------------------------------------------- the simulated download

    async def play_downloads(self) -> None:
        """What the download containers would do on the nodes: a new Job's model folder
        appears in its node's models folder (its subPath says which); a failing model's
        pods fail (kwok would complete them)."""
        seen: set[str] = set()
        failed: set[str] = set()
        while True:
            for job in await self.c.api_reader.list(Job, self.jobs):
                j = object_to_dict(job)
                name, node = j["metadata"]["name"], j["metadata"]["labels"].get("node")
                sub = j["spec"]["template"]["spec"]["containers"][0]["volumeMounts"][0][
                    "subPath"]
                key = sub.removeprefix("models/")
                if name not in seen and node in self.roots and key not in self.failing:
                    seen.add(name)
                    (self.roots[node] / key).mkdir(parents=True, exist_ok=True)
            for pod in await self.c.api_reader.list(Pod, self.jobs):
                p = object_to_dict(pod)
                mounts = p["spec"]["containers"][0].get("volumeMounts") or []
                key = next((m["subPath"].removeprefix("models/") for m in mounts
                            if m.get("name") == "kserve-pvc-source"), None)
                phase = (p.get("status") or {}).get("phase")
                if key in self.failing and p["metadata"]["name"] not in failed \
                        and p["spec"].get("nodeName") and phase in ("Pending", "Running"):
                    failed.add(p["metadata"]["name"])
                    c = p["spec"]["containers"][0]
                    await self.c.patch_status(Pod, p["metadata"]["name"], {"status": {
                        "phase": "Failed",
                        "conditions": [{"type": "Ready", "status": "False",
                                        "reason": "PodFailed"}],
                        "containerStatuses": [{
                            "name": c["name"], "image": c["image"], "imageID": "",
                            "ready": False, "restartCount": 0,
                            "state": {"terminated": {"exitCode": 1, "reason": "Error",
                                                     "message": "download failed"}}}]}},
                        namespace=self.jobs)
            await anyio.sleep(0.1)


async def node_names(kube: AsyncClient) -> list[str]:
    names = sorted([n.metadata.name async for n in kube.list(Node)
                    if (n.metadata.annotations or {}).get(KWOK_NODE_ANNOTATION) == "fake"])
    return names[:2]


@contextlib.asynccontextmanager
async def labelled(kube: AsyncClient, nodes: list[str], value: str) -> AsyncIterator[None]:
    for n in nodes:
        await kube.patch(Node, n, {"metadata": {"labels": {LABEL: value}}})
    try:
        yield
    finally:
        for n in nodes:
            await kube.patch(Node, n, {"metadata": {
                "labels": {LABEL: None},
                "annotations": {KWOK_NODE_ANNOTATION: "fake"}}})


async def test_local_model_cache_on_two_simulated_nodes(
        cluster_env: Any, cluster_client: AsyncClient, cluster_namespace: str,
        tmp_path: Path) -> None:
    kube = cluster_client
    ns = cluster_namespace
    tid = uid()
    nodes = await node_names(kube)
    assert len(nodes) == 2
    n0, n1 = nodes
    jobs = await new_namespace(kube, "lm-jobs")
    roots = {n: tmp_path / n / "models" for n in nodes}
    lm_config = {"enabled": True, "jobNamespace": jobs, "reconcilationFrequencyInSecs": 2,
                 "defaultJobImage": "kserve/storage-initializer:latest", "fsGroup": 1000}
    config = shipped_config(localModel=lm_config)
    await put_config(kube, ns, config)
    await Client(kube).create(ServingRuntime.model_validate(runtime("sklearnserver", ns)))
    cl = Cluster(kube, ns, jobs, roots)
    group, nowhere = f"lm-group-{tid}", f"lm-nowhere-{tid}"
    iris, broken, lost = f"iris-{tid}", f"broken-{tid}", f"lost-{tid}"
    iris_uri, broken_uri = f"s3://models/iris-{tid}", f"s3://models/broken-{tid}"
    cl.failing.add(get_storage_key(broken_uri))
    kubeconfig = str(cluster_env.kubeconfig_path)
    errors = reconcile_errors(*LOCALMODEL_CONTROLLERS, "localmodelnode")

    async with labelled(kube, nodes, tid), \
            webhook_manager(cluster_env, kube, config=config) as hooks, \
            isvc_manager(cluster_env, kube, ns, config=config), \
            localmodel_manager(kubeconfig, ns), \
            agent(kubeconfig, ns, n0, str(roots[n0])), \
            agent(kubeconfig, ns, n1, str(roots[n1])), \
            anyio.create_task_group() as tg:
        assert hooks.server.started
        tg.start_soon(cl.play_downloads)
        await cl.c.create(LocalModelNodeGroup.model_validate(group_doc(group, tid)))
        await cl.c.create(LocalModelNodeGroup.model_validate(
            group_doc(nowhere, f"none-{tid}")))
        for name, uri, groups in ((iris, iris_uri, [group]), (broken, broken_uri, [group]),
                                  (lost, f"s3://models/lost-{tid}", [nowhere])):
            await cl.c.create(LocalModelCache.model_validate({
                "metadata": {"name": name},
                "spec": {"sourceModelUri": uri, "modelSize": "1Gi", "nodeGroups": groups}}))

        # ---- downloaded on both nodes: the Jobs ran to completion on their nodes -------
        await cl.wait_status(iris, {"nodeStatus": {n0: "NodeDownloaded", n1: "NodeDownloaded"},
                                    "copies": {"total": 2, "available": 2}})
        for n in nodes:
            async def completed(node: str = n) -> Any:
                # the agent reports on `succeeded`; the Job controller adds Complete after
                # SuccessCriteriaMet, on a sync up to a second later
                [job] = await cl.jobs_for(iris, node)
                assert job["status"]["succeeded"] == 1
                assert {c["type"] for c in job["status"]["conditions"]} >= {"Complete"}, \
                    job["status"]["conditions"]
                return job

            job = await eventually(completed, within=30, interval=0.25)
            assert job["spec"]["template"]["spec"]["nodeSelector"] == {
                "kubernetes.io/hostname": n}
            pods = [p async for p in kube.list(Pod, namespace=jobs,
                                               labels={"job-name": job["metadata"]["name"]})]
            assert [p.spec.nodeName for p in pods] == [n]
            assert (roots[n] / get_storage_key(iris_uri)).is_dir()
            lmn = object_to_dict(await cl.get(LocalModelNode, n))
            assert lmn["status"]["modelStatus"][iris] == "ModelDownloaded"
        pvc = await cl.get(PersistentVolumeClaim, f"{iris}-{group}", jobs)
        assert pvc.status.phase == "Bound" and pvc.spec.volumeName == f"{iris}-{group}-download"

        # ---- bad input: a failing download, a node group matching no node ----------------
        await cl.wait_status(broken, {
            "nodeStatus": {n0: "NodeDownloadError", n1: "NodeDownloadError"},
            "copies": {"total": 2, "failed": 2}})
        await eventually(lambda: _nonempty(cl.warnings("DownloadFailed", broken)))
        for n in nodes:
            await eventually(lambda n=n: _nonempty(cl.warnings("DownloadFailed", n)))
        await cl.wait_status(lost, {"copies": {}})
        [ev] = await eventually(lambda: cl.warnings("NoMatchingNodes", lost))
        assert nowhere in ev.message
        for n in nodes:
            entries = object_to_dict(await cl.get(LocalModelNode, n))["spec"]["localModels"]
            assert {e["modelName"] for e in entries} == {iris, broken}

        # ---- an InferenceService using the cache gets its PVC ----------------------------
        await cl.c.create(InferenceService.model_validate({
            "metadata": {"name": "cached", "namespace": ns},
            "spec": {"predictor": {"model": {"modelFormat": {"name": "sklearn"},
                                             "storageUri": iris_uri + "/v1"}}}}))
        isvc = await cl.get(InferenceService, "cached", ns)
        assert isvc.metadata.labels["internal.serving.kserve.io/localmodel"] == iris
        assert isvc.metadata.annotations[
            "internal.serving.kserve.io/localmodel-pvc-name"] == f"{iris}-{group}"

        async def predictor_pod() -> Any:
            pods = [p async for p in kube.list(
                Pod, namespace=ns, labels={"serving.kserve.io/inferenceservice": "cached"})]
            return pods[0] if pods and pods[0].status.phase == "Running" else None

        pod = await eventually(predictor_pod, within=120, interval=0.5)
        volumes = {v.name: v for v in pod.spec.volumes}
        assert volumes["kserve-pvc-source"].persistentVolumeClaim.claimName == f"{iris}-{group}"
        (c,) = [c for c in pod.spec.containers if c.name == "kserve-container"]
        mount = next(m for m in c.volumeMounts if m.name == "kserve-pvc-source")
        assert (mount.mountPath, mount.subPath, mount.readOnly) == (
            "/mnt/models", f"models/{get_storage_key(iris_uri)}/v1", True)
        assert not pod.spec.initContainers
        assert pod.spec.nodeName in nodes
        serving = await cl.get(PersistentVolumeClaim, f"{iris}-{group}", ns)
        assert serving.status.phase == "Bound" and serving.spec.volumeName == \
            f"{iris}-{group}-{ns}"
        await cl.wait_status(iris, {
            "nodeStatus": {n0: "NodeDownloaded", n1: "NodeDownloaded"},
            "copies": {"total": 2, "available": 2},
            "inferenceServices": [{"namespace": ns, "name": "cached"}]})

        # ---- a node NotReady and back ------------------------------------------------------
        await kube.patch(Node, n1, {"metadata": {"annotations": {KWOK_NODE_ANNOTATION: "off"}}})

        async def stays_not_ready() -> bool:
            # kwok lets go of the node a moment after the annotation; until then it sets
            # Ready back to True, so the NotReady is written again until it sticks
            await kube.patch(Node.Status, n1, {"status": {"conditions": [
                {"type": "Ready", "status": "False", "reason": "KubeletNotReady",
                 "message": "test"}]}})
            await anyio.sleep(1)
            node = await kube.get(Node, n1)
            return any(c.type == "Ready" and c.status == "False"
                       for c in (node.status.conditions if node.status else None) or ())

        await eventually(stays_not_ready, within=30, interval=0.1)
        await cl.wait_status(iris, {
            "nodeStatus": {n0: "NodeDownloaded", n1: "NodeNotReady"},
            "copies": {"total": 2, "available": 1},
            "inferenceServices": [{"namespace": ns, "name": "cached"}]})
        entries = object_to_dict(await cl.get(LocalModelNode, n1))["spec"]["localModels"]
        assert iris in {e["modelName"] for e in entries}
        assert (roots[n1] / get_storage_key(iris_uri)).is_dir()
        await kube.patch(Node, n1, {"metadata": {"annotations": {KWOK_NODE_ANNOTATION: "fake"}}})

        async def ready_again() -> bool:
            node = await kube.get(Node, n1)
            return any(c.type == "Ready" and c.status == "True"
                       for c in node.status.conditions or ())

        await eventually(ready_again, within=60)
        await cl.wait_status(iris, {
            "nodeStatus": {n0: "NodeDownloaded", n1: "NodeDownloaded"},
            "copies": {"total": 2, "available": 2},
            "inferenceServices": [{"namespace": ns, "name": "cached"}]})
        assert len(await cl.jobs_for(iris, n1)) == 1  # not downloaded again

        # ---- a folder deleted under the agent ---------------------------------------------
        (roots[n0] / get_storage_key(iris_uri)).rmdir()

        async def redownloaded() -> bool:
            js = await cl.jobs_for(iris, n0)
            return len(js) == 2 and all((j.get("status") or {}).get("succeeded") for j in js)

        await eventually(redownloaded, within=60)
        await cl.wait_status(iris, {
            "nodeStatus": {n0: "NodeDownloaded", n1: "NodeDownloaded"},
            "copies": {"total": 2, "available": 2},
            "inferenceServices": [{"namespace": ns, "name": "cached"}]})
        assert (roots[n0] / get_storage_key(iris_uri)).is_dir()
        assert len(await cl.warnings("ModelFolderMissing", n0)) == 1

        # ---- deleting the cache while it is used is refused -------------------------------
        with pytest.raises(Exception) as refused:
            await cl.c.delete(LocalModelCache, iris)
        assert getattr(refused.value, "status", None) is not None
        assert f"LocalModelCache {iris} is being used by InferenceService cached" in \
            str(refused.value.status.message)
        assert await cl.get(LocalModelCache, iris) is not None

        # ---- after the InferenceService, deleting it is allowed and cleans up --------------
        await cl.c.delete(InferenceService, "cached", ns)
        await cl.wait_status(iris, {
            "nodeStatus": {n0: "NodeDownloaded", n1: "NodeDownloaded"},
            "copies": {"total": 2, "available": 2}})
        for name in (iris, broken, lost):
            await cl.c.delete(LocalModelCache, name)
        for name in (iris, broken, lost):
            await eventually(lambda n=name: _is_none(cl.get(LocalModelCache, n)), within=60)

        async def leftovers() -> list[str]:
            out = []
            for pv in await cl.c.api_reader.list(PersistentVolume):
                if pv.metadata.name.startswith((iris, broken, lost)):
                    out.append(f"PV/{pv.metadata.name}")
            for space in (jobs, ns):
                for claim in await cl.c.api_reader.list(PersistentVolumeClaim, space):
                    out.append(f"PVC/{space}/{claim.metadata.name}")
            for job in await cl.c.api_reader.list(Job, jobs):
                out.append(f"Job/{job.metadata.name}")
            for pod in await cl.c.api_reader.list(Pod, jobs):
                out.append(f"Pod/{pod.metadata.name}")
            for n in nodes:
                lmn = object_to_dict(await cl.get(LocalModelNode, n))
                out += [f"entry/{n}/{e['modelName']}" for e in lmn["spec"]["localModels"]]
                out += [f"status/{n}/{k}" for k in
                        (lmn.get("status") or {}).get("modelStatus") or {}]
                out += [f"folder/{n}/{p.name}" for p in roots[n].iterdir()]
            return out

        async def clean() -> bool:
            return not await leftovers()

        try:
            await eventually(clean, within=120, interval=0.5)
        except TimeoutError:
            assert await leftovers() == []
        tg.cancel_scope.cancel()
    for name in (group, nowhere):
        await cl.c.delete(LocalModelNodeGroup, name)
    assert reconcile_errors(*LOCALMODEL_CONTROLLERS, "localmodelnode") == errors
    assert not cluster_env.exited_components()


async def _nonempty(aw: Any) -> Any:
    out = await aw
    return out or None


async def _is_none(aw: Any) -> bool:
    return await aw is None
