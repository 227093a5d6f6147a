"""The LocalModelNode agent on a real kube-apiserver (envtest): upstream's
``localmodelnode/controller_test.go`` (vector V30, its 12 cases) with the Jobs' and the
LocalModelNodes' contents asserted, on a real models folder (a temporary directory, where
upstream mocks the file system). envtest runs no Job controller: the tests set a Job's
status as it would (as upstream's do), and create a model's folder as the download would."""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from lightkube import AsyncClient
from lightkube.resources.batch_v1 import Job
from lightkube.resources.core_v1 import Secret, ServiceAccount
from lightkube.resources.events_v1 import Event

from apis.serving.v1alpha1 import (
    ClusterStorageContainer,
    LocalModelNode,
    LocalModelNodeGroup,
    get_storage_key,
)
from runtime.codec import object_to_dict
from runtime.testing.eventually import eventually
from runtime.testing.metrics import quiet, reconcile_errors

from .localmodel_env import (
    SOURCE_URI,
    LocalModelEnv,
    agent,
    config_data,
    create_node,
    new_namespace,
    node,
    node_group,
    put_config,
)

pytestmark = [pytest.mark.integration, pytest.mark.anyio]


class Env(LocalModelEnv):
    def __init__(self, kube: AsyncClient, namespace: str, jobs: str, root: Path) -> None:
        super().__init__(kube, namespace, jobs)
        self.root = root

    async def create(self, obj: Any, namespaced: bool = False) -> Any:
        out = await self.c.create(obj)
        if not namespaced:
            self.cleanup.append((type(obj), out.metadata.name, None))
        return out

    async def group(self, name: str, instance_type: str) -> str:
        await self.create(LocalModelNodeGroup.model_validate(
            node_group(self.n(name), self.n(instance_type))))
        return self.n(name)

    async def node(self, name: str, instance_type: str) -> str:
        await create_node(self.kube, node(self.n(name), self.n(instance_type)))
        self.cleanup.append((type(node("x", "y")), self.n(name), None))
        return self.n(name)

    async def lmn(self, name: str, models: list[dict[str, Any]]) -> None:
        await self.create(LocalModelNode.model_validate(
            {"metadata": {"name": name}, "spec": {"localModels": models}}))

    def folder(self, uri: str) -> Path:
        return self.root / get_storage_key(uri)

    def mock_model(self, uri_or_key: str) -> None:
        key = uri_or_key if "://" not in uri_or_key else get_storage_key(uri_or_key)
        (self.root / key).mkdir(parents=True, exist_ok=True)

    async def jobs_of(self, labels: dict[str, str] | str, count: int,
                      namespace: str | None = None) -> list[dict[str, Any]]:
        async def listed() -> list[dict[str, Any]] | None:
            jobs = [object_to_dict(j) for j in await self.c.api_reader.list(
                Job, namespace or self.jobs, labels=labels)]
            return jobs if len(jobs) == count else None

        if count == 0:
            async def none() -> bool:
                return not await self.c.api_reader.list(Job, namespace or self.jobs,
                                                        labels=labels)
            await eventually(none, within=20)
            return []
        return await eventually(listed, within=20)

    async def succeed(self, job: dict[str, Any]) -> None:
        await self.c.patch_status(Job, job["metadata"]["name"], {"status": {"succeeded": 1}},
                                  namespace=job["metadata"]["namespace"])

    async def model_status(self, name: str, want: dict[str, str]) -> None:
        async def check() -> bool:
            lmn = await self.get(LocalModelNode, name)
            st = ((object_to_dict(lmn).get("status") or {}).get("modelStatus") or {}) \
                if lmn is not None else None
            return st == want

        try:
            await eventually(check, within=20)
        except TimeoutError:
            lmn = await self.get(LocalModelNode, name)
            assert object_to_dict(lmn).get("status") == {"modelStatus": want}
            raise


@pytest.fixture
async def env(kube_client: AsyncClient, namespace: str, tmp_path: Path) -> AsyncIterator[Env]:
    jobs = await new_namespace(kube_client, "lmn-jobs")
    await put_config(kube_client, namespace, config_data(jobs))
    e = Env(kube_client, namespace, jobs, tmp_path / "models")
    yield e
    for kind, name, ns in reversed(e.cleanup):
        with contextlib.suppress(Exception):
            await e.c.delete(kind, name, ns)


def expected_job(e: Env, model: str, node_name: str, *, uri: str = SOURCE_URI,
                 pvc: str, namespace: str | None = None,
                 container: dict[str, Any] | None = None) -> dict[str, Any]:
    """The parts of a download Job the agent sets (the API server adds defaults)."""
    labels = {"model": model, "node": node_name}
    if namespace:
        labels["modelNamespace"] = namespace
    c = container or {"name": "kserve-localmodel-download",
                      "image": "kserve/storage-initializer:latest",
                      "terminationMessagePolicy": "FallbackToLogsOnError"}
    return {
        "generateName": f"{model}-{node_name}", "namespace": e.jobs, "labels": labels,
        "owner": {"apiVersion": "serving.kserve.io/v1alpha1", "kind": "LocalModelNode",
                  "name": node_name, "controller": True, "blockOwnerDeletion": True},
        "ttlSecondsAfterFinished": 3600,
        "pod": {
            "nodeSelector": {"kubernetes.io/hostname": node_name},
            "restartPolicy": "Never",
            "volumes": [{"name": "kserve-pvc-source",
                         "persistentVolumeClaim": {"claimName": pvc}}],
            "securityContext": {},
            "container": {**c, "args": [uri, "/mnt/models"], "volumeMounts": [
                {"name": "kserve-pvc-source", "mountPath": "/mnt/models",
                 "subPath": f"models/{get_storage_key(uri)}"}]},
        },
    }


def job_view(job: dict[str, Any], container_keys: tuple[str, ...] = (
        "name", "image", "terminationMessagePolicy", "args", "volumeMounts")) -> dict[str, Any]:
    meta = job["metadata"]
    owner = dict(meta["ownerReferences"][0])
    owner.pop("uid")
    pod = job["spec"]["template"]["spec"]
    c = pod["containers"][0]
    return {
        "generateName": meta["generateName"], "namespace": meta["namespace"],
        "labels": {k: v for k, v in meta["labels"].items()
                   if k in ("model", "node", "modelNamespace")},
        "owner": owner,
        "ttlSecondsAfterFinished": job["spec"]["ttlSecondsAfterFinished"],
        "pod": {
            "nodeSelector": pod["nodeSelector"], "restartPolicy": pod["restartPolicy"],
            "volumes": pod["volumes"], "securityContext": pod.get("securityContext"),
            "container": {k: c[k] for k in container_keys if k in c},
        },
    }


AGENT = ("localmodelnode",)


async def test_jobs_status_and_model_removal(envtest: Any, env: Env) -> None:
    """Upstream "Should create download jobs, update model status from jobs, and handle model
    deletion" (the folder exists before: a Job is made anyway, the download may be
    incomplete)."""
    e = env
    e.mock_model(SOURCE_URI)
    await e.create(ClusterStorageContainer.model_validate({  # workloadType initContainer
        "metadata": {"name": e.n("test")},
        "spec": {"supportedUriFormats": [{"prefix": "s3://"}], "container": {
            "name": "name", "image": "image", "args": ["srcURI", "/mnt/models"],
            "terminationMessagePolicy": "FallbackToLogsOnError", "volumeMounts": []}}}))
    group = await e.group("gpu", "gpu")
    worker = await e.node("worker", "gpu")
    errors = reconcile_errors(*AGENT)
    async with agent(str(envtest.kubeconfig_path), e.ns, worker, str(e.root)):
        await e.lmn(worker, [{"sourceModelUri": SOURCE_URI, "modelName": "iris"}])
        [job] = await e.jobs_of({"model": "iris", "node": worker}, 1)
        assert job_view(job) == expected_job(e, "iris", worker, pvc=f"iris-{group}")
        await e.model_status(worker, {"iris": "ModelDownloadPending"})
        await e.succeed(job)
        await e.model_status(worker, {"iris": "ModelDownloaded"})
        # the model leaves the spec: its status, Job and folder go
        await e.c.patch(LocalModelNode, worker, {"spec": {"localModels": []}})
        await e.model_status(worker, {})
        await e.jobs_of({"model": "iris", "node": worker}, 0)
        await eventually(lambda: not e.folder(SOURCE_URI).exists())
    assert reconcile_errors(*AGENT) == errors


async def test_job_subpath_is_the_storage_key(envtest: Any, env: Env) -> None:
    """Upstream "Should use storageKey hash as the download job SubPath"."""
    e = env
    await e.group("gpu", "gpu")
    worker = await e.node("worker-subpath", "gpu")
    async with agent(str(envtest.kubeconfig_path), e.ns, worker, str(e.root)):
        await e.lmn(worker, [{"sourceModelUri": SOURCE_URI, "modelName": "iris"}])
        [job] = await e.jobs_of({"model": "iris", "node": worker}, 1)
        mounts = job["spec"]["template"]["spec"]["containers"][0]["volumeMounts"]
        assert mounts == [{"name": "kserve-pvc-source", "mountPath": "/mnt/models",
                           "subPath": f"models/{get_storage_key(SOURCE_URI)}"}]


async def test_redownload_when_folder_missing(envtest: Any, env: Env) -> None:
    """Upstream "Should recreate download jobs if the model is missing from local disk": the
    folder deleted after a successful download, a second Job is made (and only one), with a
    ModelFolderMissing event."""
    e = env
    await e.group("gpu", "gpu")
    worker = await e.node("worker2", "gpu")
    async with agent(str(envtest.kubeconfig_path), e.ns, worker, str(e.root)):
        await e.lmn(worker, [{"sourceModelUri": SOURCE_URI, "modelName": "iris"}])
        [job] = await e.jobs_of({"model": "iris", "node": worker}, 1)
        e.mock_model(SOURCE_URI)
        await e.succeed(job)
        await e.model_status(worker, {"iris": "ModelDownloaded"})
        e.folder(SOURCE_URI).rmdir()
        # upstream's trigger: an annotation change
        await e.c.patch(LocalModelNode, worker, {"metadata": {"annotations": {"foo": "bar"}}})
        jobs = await e.jobs_of({"model": "iris", "node": worker}, 2)
        await e.model_status(worker, {"iris": "ModelDownloadPending"})
        second = next(j for j in jobs if j["metadata"]["name"] != job["metadata"]["name"])
        e.mock_model(SOURCE_URI)
        await e.succeed(second)
        await e.model_status(worker, {"iris": "ModelDownloaded"})
        await quiet()
        assert len(await e.jobs_of({"model": "iris", "node": worker}, 2)) == 2
        events = [ev async for ev in e.kube.list(Event, namespace="default")
                  if ev.reason == "ModelFolderMissing" and ev.regarding.name == worker]
        assert len(events) == 1 and "downloading s3://mybucket/mymodel again" in events[0].note


async def test_stale_folder_removed(envtest: Any, env: Env) -> None:
    """Upstream "Should delete models from local disk if the model is not in the spec"."""
    e = env
    e.mock_model("abc123def456")
    worker = await e.node("worker-del", "gpu")
    async with agent(str(envtest.kubeconfig_path), e.ns, worker, str(e.root)):
        await e.lmn(worker, [])
        await eventually(lambda: not (e.root / "abc123def456").exists())
        assert e.root.is_dir()


async def test_stale_job_deleted(envtest: Any, env: Env) -> None:
    """Upstream "Should delete jobs if the model is not present" (in the spec)."""
    e = env
    e.mock_model(SOURCE_URI)
    await e.group("gpu", "gpu")
    worker = await e.node("test3", "gpu")
    async with agent(str(envtest.kubeconfig_path), e.ns, worker, str(e.root)):
        await e.lmn(worker, [{"sourceModelUri": SOURCE_URI, "modelName": "iris"}])
        await e.jobs_of({"model": "iris", "node": worker}, 1)
        await e.c.patch(LocalModelNode, worker, {"spec": {"localModels": []}})
        await e.jobs_of({"model": "iris", "node": worker}, 0)


async def test_service_account_credentials(envtest: Any, env: Env) -> None:
    """Upstream "Should inject service account credentials when specified in LocalModelInfo"
    (the storage initializer image from the config), plus the ServiceAccount's S3 Secret
    turned into the container's environment."""
    e = env
    await e.c.create(Secret.from_dict({
        "metadata": {"name": "s3-creds", "namespace": e.jobs,
                     "annotations": {"serving.kserve.io/s3-endpoint": "s3.example.com"}},
        # upstream's default data keys without credentials.s3 in the config
        "stringData": {"awsAccessKeyID": "id", "awsSecretAccessKey": "secret"}}))
    await e.c.create(ServiceAccount.from_dict({
        "metadata": {"name": "model-downloader", "namespace": e.jobs},
        "secrets": [{"name": "s3-creds"}]}))
    await e.group("gpu", "gpu")
    worker = await e.node("worker-creds", "gpu")
    uri = "hf://meta-llama/Meta-Llama-3-8B"
    async with agent(str(envtest.kubeconfig_path), e.ns, worker, str(e.root)):
        await e.lmn(worker, [{"sourceModelUri": uri, "modelName": "llama3",
                              "serviceAccountName": "model-downloader"}])
        [job] = await e.jobs_of({"model": "llama3", "node": worker}, 1)
        c = job["spec"]["template"]["spec"]["containers"][0]
        assert c["image"] == "kserve/storage-initializer:latest"
        assert c["args"] == [uri, "/mnt/models"]
        env_names = [v["name"] for v in c.get("env") or []]
        assert "AWS_ACCESS_KEY_ID" in env_names and "AWS_SECRET_ACCESS_KEY" in env_names
        assert {"name": "AWS_ACCESS_KEY_ID", "valueFrom": {"secretKeyRef": {
            "name": "s3-creds", "key": "awsAccessKeyID"}}} in c["env"]


async def test_storage_key_credentials(envtest: Any, env: Env) -> None:
    """Upstream "Should use storage key credentials when specified in LocalModelInfo": the
    Job is made; here the storage-config Secret exists, so ``STORAGE_CONFIG`` comes from its
    key (upstream's test has no Secret: the Job is made without credentials, a Warning event
    says why, as the second model shows)."""
    e = env
    await e.c.create(Secret.from_dict({
        "metadata": {"name": "storage-config", "namespace": e.jobs},
        "stringData": {"my-s3-credentials": json.dumps({"type": "s3", "bucket": "my-bucket",
                                                        "access_key_id": "x"})}}))
    await e.group("gpu", "gpu")
    worker = await e.node("worker-storage-key", "gpu")
    async with agent(str(envtest.kubeconfig_path), e.ns, worker, str(e.root)):
        await e.lmn(worker, [
            {"sourceModelUri": "s3://my-bucket/my-model", "modelName": "s3-model",
             "storage": {"key": "my-s3-credentials"}},
            {"sourceModelUri": "s3://my-bucket/other", "modelName": "no-key",
             "storage": {"key": "missing-key"}}])
        [job] = await e.jobs_of({"model": "s3-model", "node": worker}, 1)
        c = job["spec"]["template"]["spec"]["containers"][0]
        assert {"name": "STORAGE_CONFIG", "valueFrom": {"secretKeyRef": {
            "name": "storage-config", "key": "my-s3-credentials"}}} in c["env"]
        [other] = await e.jobs_of({"model": "no-key", "node": worker}, 1)
        assert not other["spec"]["template"]["spec"]["containers"][0].get("env")

        async def warned() -> bool:
            return any([ev.reason == "CredentialsNotInjected" and ev.regarding.name == worker
                        and "missing-key" in (ev.note or "")
                        async for ev in e.kube.list(Event, namespace="default")])

        await eventually(warned)


async def test_namespace_model_job_in_job_namespace(envtest: Any, env: Env) -> None:
    """Upstream "Should create download job in jobNamespace for namespace-scoped
    LocalModelNamespaceCache"."""
    e = env
    model_ns = await new_namespace(e.kube, "test-model-ns")
    group = await e.group("gpu", "gpu")
    worker = await e.node("worker-ns-model", "gpu")
    async with agent(str(envtest.kubeconfig_path), e.ns, worker, str(e.root)):
        await e.lmn(worker, [{"sourceModelUri": SOURCE_URI, "modelName": "ns-llama",
                              "namespace": model_ns}])
        [job] = await e.jobs_of({"model": "ns-llama", "node": worker,
                                 "modelNamespace": model_ns}, 1)
        assert job_view(job) == expected_job(
            e, "ns-llama", worker, namespace=model_ns,
            pvc=f"ns-llama-{group}-{model_ns}-download")


async def test_namespace_model_status_key(envtest: Any, env: Env) -> None:
    """Upstream "Should use namespace/modelName as status key for namespace-scoped
    models"."""
    e = env
    model_ns = await new_namespace(e.kube, "test-status-ns")
    await e.group("gpu", "gpu")
    worker = await e.node("worker-status-key", "gpu")
    e.mock_model(SOURCE_URI)
    async with agent(str(envtest.kubeconfig_path), e.ns, worker, str(e.root)):
        await e.lmn(worker, [{"sourceModelUri": SOURCE_URI, "modelName": "ns-status-model",
                              "namespace": model_ns}])
        [job] = await e.jobs_of({"model": "ns-status-model", "node": worker}, 1)
        await e.succeed(job)
        await e.model_status(worker, {f"{model_ns}/ns-status-model": "ModelDownloaded"})


async def test_entry_node_group_names_the_pvc(envtest: Any, env: Env) -> None:
    """Upstream "should use NodeGroup from modelInfo for PVC name when overlapping nodegroups
    exist" (two groups select the node; the entry's group wins; nodeSelector, not
    nodeName)."""
    e = env
    for name in ("qwen-nodegroup", "sklearn-nodegroup"):
        await e.create(LocalModelNodeGroup.model_validate(
            node_group(e.n(name), e.n("gpu"))))
    worker = await e.node("worker-overlapping", "gpu")
    async with agent(str(envtest.kubeconfig_path), e.ns, worker, str(e.root)):
        await e.lmn(worker, [{"sourceModelUri": "s3://bucket/sklearn-model",
                              "modelName": "sklearn-model",
                              "nodeGroup": e.n("sklearn-nodegroup")}])
        [job] = await e.jobs_of({"model": "sklearn-model", "node": worker}, 1)
        assert job_view(job) == expected_job(
            e, "sklearn-model", worker, uri="s3://bucket/sklearn-model",
            pvc=f"sklearn-model-{e.n('sklearn-nodegroup')}")
        assert "nodeName" not in job["spec"]["template"]["spec"]


async def test_namespace_model_pvc_has_download_suffix(envtest: Any, env: Env) -> None:
    """Upstream "Should append -download suffix to PVC name for namespace-scoped models"
    (and a ClusterStorageContainer for local-model download Jobs supplies the container)."""
    e = env
    model_ns = await new_namespace(e.kube, "test-ns-pvc")
    csc = {"name": "downloader", "image": "example.com/downloader:1",
           "terminationMessagePolicy": "FallbackToLogsOnError"}
    await e.create(ClusterStorageContainer.model_validate({
        "metadata": {"name": e.n("download-job")},
        "spec": {"workloadType": "localModelDownloadJob",
                 "supportedUriFormats": [{"prefix": f"s3://{e.id}/"}], "container": csc}}))
    worker = await e.node("worker-ns-pvc", "worker")
    group = e.n("sklearn-nodegroup")
    uri = f"s3://{e.id}/sklearn"
    async with agent(str(envtest.kubeconfig_path), e.ns, worker, str(e.root)):
        await e.lmn(worker, [{"sourceModelUri": uri, "modelName": "sklearn-model",
                              "nodeGroup": group, "namespace": model_ns}])
        [job] = await e.jobs_of({"model": "sklearn-model", "node": worker,
                                 "modelNamespace": model_ns}, 1)
        assert job_view(job) == expected_job(
            e, "sklearn-model", worker, uri=uri, namespace=model_ns, container=csc,
            pvc=f"sklearn-model-{group}-{model_ns}-download")


async def test_cluster_and_namespace_models_separate_status(envtest: Any, env: Env) -> None:
    """Upstream "Should track both cluster-scoped and namespace-scoped models with separate
    status entries"; and a namespace cache's model with the name of a cluster cache's
    does not share its Jobs (upstream selects a cluster model's Jobs by name alone)."""
    e = env
    model_ns = await new_namespace(e.kube, "test-mixed-ns")
    await e.group("gpu", "gpu")
    worker = await e.node("worker-mixed", "gpu")
    cluster_uri, ns_uri = "s3://bucket/cluster-model", "s3://bucket/ns-model"
    e.mock_model(cluster_uri)
    e.mock_model(ns_uri)
    async with agent(str(envtest.kubeconfig_path), e.ns, worker, str(e.root)):
        await e.lmn(worker, [
            {"sourceModelUri": cluster_uri, "modelName": "cluster-model"},
            {"sourceModelUri": ns_uri, "modelName": "ns-model", "namespace": model_ns},
            {"sourceModelUri": ns_uri + "-2", "modelName": "cluster-model",
             "namespace": model_ns}])
        [cjob] = await e.jobs_of(f"model=cluster-model,node={worker},!modelNamespace", 1)
        [njob] = await e.jobs_of({"model": "ns-model", "node": worker}, 1)
        await e.succeed(cjob)
        await e.succeed(njob)
        await e.model_status(worker, {
            "cluster-model": "ModelDownloaded",
            f"{model_ns}/ns-model": "ModelDownloaded",
            f"{model_ns}/cluster-model": "ModelDownloadPending"})


async def test_entries_sharing_a_uri_share_one_job(envtest: Any, env: Env) -> None:
    """Entries with the same URI (one storage key) share one Job, one folder and one status
    (upstream's storage deduplication)."""
    e = env
    model_ns = await new_namespace(e.kube, "test-share")
    await e.group("gpu", "gpu")
    worker = await e.node("worker-share", "gpu")
    async with agent(str(envtest.kubeconfig_path), e.ns, worker, str(e.root)):
        await e.lmn(worker, [
            {"sourceModelUri": SOURCE_URI, "modelName": "first"},
            {"sourceModelUri": SOURCE_URI, "modelName": "second", "namespace": model_ns}])
        [job] = await e.jobs_of({"node": worker}, 1)
        assert job["metadata"]["labels"]["model"] == "first"
        await e.model_status(worker, {"first": "ModelDownloadPending",
                                      f"{model_ns}/second": "ModelDownloadPending"})
        e.mock_model(SOURCE_URI)
        await e.succeed(job)
        await e.model_status(worker, {"first": "ModelDownloaded",
                                      f"{model_ns}/second": "ModelDownloaded"})


async def test_failed_job_reported(envtest: Any, env: Env) -> None:
    """A failed download Job: ModelDownloadError and one DownloadFailed Warning event; no new
    Job (the Job's own retries are the retry), no reconcile error."""
    e = env
    await e.group("gpu", "gpu")
    worker = await e.node("worker-fail", "gpu")
    errors = reconcile_errors(*AGENT)
    async with agent(str(envtest.kubeconfig_path), e.ns, worker, str(e.root)):
        await e.lmn(worker, [{"sourceModelUri": SOURCE_URI, "modelName": "broken"}])
        [job] = await e.jobs_of({"model": "broken", "node": worker}, 1)
        await e.c.patch_status(Job, job["metadata"]["name"], {"status": {"failed": 1}},
                               namespace=e.jobs)
        await e.model_status(worker, {"broken": "ModelDownloadError"})
        await quiet()
        assert len(await e.jobs_of({"model": "broken", "node": worker}, 1)) == 1
        events = [ev async for ev in e.kube.list(Event, namespace="default")
                  if ev.reason == "DownloadFailed" and ev.regarding.name == worker]
        assert len(events) == 1
        assert job["metadata"]["name"] in events[0].note
    assert reconcile_errors(*AGENT) == errors
