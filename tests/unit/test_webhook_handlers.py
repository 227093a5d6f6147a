"""controllers.webhooks: each KServe handler behind a real ``Admission`` (AdmissionReview in,
AdmissionReview out), reading what upstream reads from a fake cached client. The rules
themselves are table-tested in the apis tests; these check the wiring: what is read, from
where, and what the answer carries."""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from typing import Any

import pytest
import yaml
from lightkube.models.meta_v1 import ObjectMeta
from lightkube.resources.core_v1 import ConfigMap

from apis.serving.v1alpha1 import (
    LocalModelCache,
    LocalModelNodeGroup,
    ServingRuntime,
)
from apis.serving.v1beta1 import InferenceService
from controllers.config import ConfigSource
from controllers.webhooks.gpu_capacity import GpuCapacity
from controllers.webhooks.inferencegraph import InferenceGraphValidator
from controllers.webhooks.inferenceservice import (
    InferenceServiceDefaulter,
    InferenceServiceValidator,
)
from controllers.webhooks.localmodelcache import (
    LocalModelCacheValidator,
    LocalModelNamespaceCacheValidator,
)
from controllers.webhooks.pods import PodMutator
from controllers.webhooks.registration import setup_webhooks
from controllers.webhooks.servingruntime import (
    ClusterServingRuntimeValidator,
    ServingRuntimeValidator,
)
from controllers.webhooks.trainedmodel import TrainedModelValidator
from runtime.testing.fake_client import FakeClient
from runtime.webhook import (
    Admission,
    DefaulterHandler,
    ValidatorHandler,
    WebhookServer,
    apply_patch,
)
from runtime.webhook.http import HTTPRequest
from tests.reference import reference

NS = "kserve"
LOCALMODEL = "internal.serving.kserve.io/localmodel"


def config_map(**keys: Any) -> ConfigMap:
    data = {"deploy": {"defaultDeploymentMode": "Standard"},
            "security": {"autoMountServiceAccountToken": False},
            "inferenceService": {"resource": {"cpuLimit": "1", "memoryLimit": "2Gi",
                                              "cpuRequest": "1", "memoryRequest": "2Gi"}},
            **keys}
    return ConfigMap(metadata=ObjectMeta(name="inferenceservice-config", namespace=NS),
                     data={k: json.dumps(v) for k, v in data.items()})


async def call(handler: Any, op: str, obj: Any = None, old: Any = None,
               namespace: str = "ns") -> dict[str, Any]:
    hook = Admission(DefaulterHandler(handler) if callable(handler) else
                     ValidatorHandler(handler))
    req: dict[str, Any] = {"uid": "u", "operation": op, "namespace": namespace}
    if obj is not None:
        req["object"] = obj
    if old is not None:
        req["oldObject"] = old
    body = json.dumps({"apiVersion": "admission.k8s.io/v1beta1", "kind": "AdmissionReview",
                       "request": req}).encode()
    resp = await hook.serve(HTTPRequest("POST", "/", "", "HTTP/1.1",
                                        {"content-type": "application/json"}, body))
    assert resp.status == 200
    out: dict[str, Any] = json.loads(resp.body)["response"]
    return out


def patched(obj: dict[str, Any], resp: dict[str, Any]) -> dict[str, Any]:
    assert resp["allowed"] is True, resp["status"].get("message")
    if "patch" not in resp:
        return obj
    assert resp["patchType"] == "JSONPatch"
    result: dict[str, Any] = apply_patch(obj, json.loads(base64.b64decode(resp["patch"])))
    return result


def isvc(name: str = "sk", predictor: dict[str, Any] | None = None,
         **meta: Any) -> dict[str, Any]:
    return {"apiVersion": "serving.kserve.io/v1beta1", "kind": "InferenceService",
            "metadata": {"name": name, "namespace": "ns", **meta},
            "spec": {"predictor": predictor or {"sklearn": {"storageUri": "gs://b/m"}}}}


# ------------------------------------------------------------------------------ ISVC


@pytest.mark.anyio
async def test_isvc_defaulter_reads_config_from_the_cache_only() -> None:
    client = FakeClient(config_map())
    defaulter = InferenceServiceDefaulter(client, ConfigSource(client, NS))
    out = patched(isvc(), await call(defaulter, "CREATE", isvc()))
    assert out["metadata"]["annotations"] == {"serving.kserve.io/deploymentMode": "Standard",
                                              "modelFormat": "sklearn"}
    pred = out["spec"]["predictor"]
    assert pred["model"]["modelFormat"] == {"name": "sklearn"}
    assert pred["model"]["storageUri"] == "gs://b/m"
    assert pred["automountServiceAccountToken"] is False
    assert "resources" not in pred["model"] or not pred["model"]["resources"].get("limits")
    assert client.count() == client.count("get", kind="ConfigMap") == 1


@pytest.mark.anyio
async def test_isvc_defaulter_local_model_from_cached_caches() -> None:
    cache = LocalModelCache.model_validate({
        "metadata": {"name": "llama"},
        "spec": {"sourceModelUri": "gs://b/m", "modelSize": "1Gi", "nodeGroups": ["gpu"]}})
    client = FakeClient(config_map(localModel={"enabled": True}), cache)
    defaulter = InferenceServiceDefaulter(client, ConfigSource(client, NS))
    out = patched(isvc(), await call(defaulter, "CREATE", isvc()))
    assert out["metadata"]["labels"] == {LOCALMODEL: "llama"}
    assert out["metadata"]["annotations"][
        "internal.serving.kserve.io/localmodel-pvc-name"] == "llama-gpu"
    assert client.count("list", kind="LocalModelCache") == 1
    assert client.count("list", kind="LocalModelNamespaceCache") == 1
    disabled = isvc(annotations={"serving.kserve.io/disable-localmodel": "true"})
    await call(defaulter, "CREATE", disabled)
    assert client.count("list", kind="LocalModelCache") == 1  # not listed when disabled


@pytest.mark.anyio
async def test_isvc_defaulter_without_config_refuses() -> None:
    client = FakeClient()
    resp = await call(InferenceServiceDefaulter(client, ConfigSource(client, NS)), "CREATE",
                      isvc())
    assert resp["allowed"] is False and resp["status"]["code"] == 403
    assert "inferenceservice-config not found" in resp["status"]["message"]


@pytest.mark.anyio
async def test_isvc_validator() -> None:
    client = FakeClient(config_map())
    v = InferenceServiceValidator(ConfigSource(client, NS))
    bad = isvc(predictor={"sklearn": {"storageUri": "gs://b/m"}, "minReplicas": -1})
    resp = await call(v, "CREATE", bad)
    assert resp["allowed"] is False and resp["status"]["code"] == 403
    assert resp["status"]["message"].startswith("spec.predictor.minReplicas: ")
    assert resp["status"]["details"]["causes"][0]["field"] == "spec.predictor.minReplicas"
    resp = await call(v, "CREATE", isvc("Bad_Name"))
    assert resp["status"]["details"]["causes"][0]["field"] == "metadata.name"
    deleting = isvc("Bad_Name", deletionTimestamp="2024-01-01T00:00:00Z")
    assert (await call(v, "UPDATE", deleting, isvc("Bad_Name")))["allowed"] is True
    assert (await call(v, "CREATE", isvc()))["allowed"] is True
    assert (await call(v, "DELETE", old=isvc()))["allowed"] is True


@pytest.mark.anyio
async def test_isvc_validator_gpu_warning() -> None:
    class Synced:
        def has_synced(self) -> bool:
            return True

    cap = GpuCapacity()
    cap.node_registration = Synced()
    v = InferenceServiceValidator(None, cap)
    big = isvc(predictor={"model": {"modelFormat": {"name": "x"}, "storageUri": "gs://b/m",
                                    "resources": {"limits": {"nvidia.com/gpu": "2"}}}})
    resp = await call(v, "CREATE", big)
    assert resp["allowed"] is True
    assert resp["warnings"][0].startswith(
        "spec.predictor: each predictor pod requests 2 nvidia.com/gpu but no node offers")


# ------------------------------------------------------------------------------ runtimes


def sr(name: str, priority: int, *, worker: bool = False, ns: str = "ns") -> dict[str, Any]:
    spec: dict[str, Any] = {
        "supportedModelFormats": [{"name": "sklearn", "autoSelect": True, "priority": priority}],
        "protocolVersions": ["v1"],
        "containers": [{"name": "kserve-container", "image": "img"}],
    }
    if worker:
        spec["workerSpec"] = {"containers": [{"name": "worker-container", "image": "img"}]}
    return {"apiVersion": "serving.kserve.io/v1alpha1", "kind": "ServingRuntime",
            "metadata": {"name": name, "namespace": ns}, "spec": spec}


@pytest.mark.anyio
async def test_serving_runtime_validator_reads_namespace_runtimes() -> None:
    client = FakeClient(ServingRuntime.model_validate(sr("a", 1)),
                        ServingRuntime.model_validate(sr("other-ns", 1, ns="other")))
    v = ServingRuntimeValidator(client)
    resp = await call(v, "CREATE", sr("b", 1))
    assert resp["allowed"] is False
    assert resp["status"]["message"].endswith(
        "in the servingruntimes a and b in namespace ns")
    assert (await call(v, "CREATE", sr("b", 2)))["allowed"] is True
    # UPDATE: the old object is the runtime's previous state (removing workerSpec refused)
    resp = await call(v, "UPDATE", sr("a", 1), sr("a", 1, worker=True))
    assert resp["allowed"] is False and "removing workerSpec" in resp["status"]["message"]
    assert client.count("list", kind="ServingRuntime") == 3


@pytest.mark.anyio
async def test_cluster_serving_runtime_validator_lists_all() -> None:
    client = FakeClient()
    v = ClusterServingRuntimeValidator(client)
    csr = {**sr("c", 1), "kind": "ClusterServingRuntime"}
    csr["metadata"] = {"name": "c"}
    assert (await call(v, "CREATE", csr, namespace=""))["allowed"] is True
    assert client.count("list", kind="ClusterServingRuntime") == 1


# ------------------------------------------------------------------------------ others


@pytest.mark.anyio
async def test_trained_model_and_graph_validators() -> None:
    tm = {"metadata": {"name": "bad name", "namespace": "ns"},
          "spec": {"inferenceService": "x", "model": {"storageUri": "s3://b/m",
                                                      "framework": "sklearn",
                                                      "memory": "1Gi"}}}
    resp = await call(TrainedModelValidator(), "CREATE", tm)
    assert resp["allowed"] is False and "metadata.name" in resp["status"]["message"]
    ig = {"metadata": {"name": "g", "namespace": "ns"}, "spec": {"nodes": {}}}
    resp = await call(InferenceGraphValidator(), "CREATE", ig)
    assert resp["allowed"] is False and "root" in resp["status"]["message"]


def lmc(name: str, uri: str, consumers: Sequence[tuple[str, str]] = ()) -> dict[str, Any]:
    return {"apiVersion": "serving.kserve.io/v1alpha1", "kind": "LocalModelCache",
            "metadata": {"name": name},
            "spec": {"sourceModelUri": uri, "modelSize": "1Gi", "nodeGroups": ["gpu"]},
            "status": {"inferenceServices": [{"namespace": n, "name": m} for n, m in consumers]}}


@pytest.mark.anyio
async def test_local_model_cache_validator() -> None:
    user = InferenceService.model_validate(isvc("user", labels={LOCALMODEL: "llama"}))
    other = InferenceService.model_validate(isvc("other", labels={LOCALMODEL: "different"}))
    client = FakeClient(LocalModelCache.model_validate(lmc("llama", "gs://b/llama")),
                        user, other)
    v = LocalModelCacheValidator(client)
    resp = await call(v, "CREATE", lmc("copy", "gs://b/llama"), namespace="")
    assert resp["allowed"] is False
    assert resp["status"]["message"] == (
        "spec.sourceModelUri: LocalModelCache llama has the same StorageURI gs://b/llama")
    assert (await call(v, "CREATE", lmc("new", "gs://b/new"), namespace=""))["allowed"]
    resp = await call(v, "UPDATE", lmc("llama", "gs://b/x"), lmc("llama", "gs://b/llama"))
    assert resp["allowed"] is False and "immutable" in resp["status"]["message"]
    # DELETE: refused while an InferenceService carries the cache's label
    resp = await call(v, "DELETE", old=lmc("llama", "gs://b/llama", [("ns", "other"),
                                                                   ("ns", "user")]))
    assert resp["allowed"] is False
    assert resp["status"]["message"] == (
        "metadata.name: LocalModelCache llama is being used by InferenceService user")
    resp = await call(v, "DELETE", old=lmc("llama", "gs://b/llama", [("ns", "other")]))
    assert resp["allowed"] is True
    resp = await call(v, "DELETE", old=lmc("llama", "gs://b/llama", [("ns", "gone")]))
    assert resp["allowed"] is False  # upstream: an InferenceService it cannot read refuses
    assert 'inferenceservices.serving.kserve.io "gone" not found' in resp["status"]["message"]
    assert client.count("get", kind="InferenceService") == 4
    assert client.count(kind="InferenceService") == client.count("get", kind="InferenceService")


@pytest.mark.anyio
async def test_local_model_namespace_cache_validator() -> None:
    group = LocalModelNodeGroup.model_validate({
        "metadata": {"name": "gpu"},
        "spec": {"storageLimit": "1Gi", "persistentVolumeSpec": {},
                 "persistentVolumeClaimSpec": {}}})
    user = InferenceService.model_validate(isvc("user", labels={
        LOCALMODEL: "c", "internal.serving.kserve.io/localmodel-namespace": "ns"}))
    client = FakeClient(group, user)
    v = LocalModelNamespaceCacheValidator(client)

    def lmnc(groups: list[str], consumers: Sequence[str] = ()) -> dict[str, Any]:
        return {"apiVersion": "serving.kserve.io/v1alpha1", "kind": "LocalModelNamespaceCache",
                "metadata": {"name": "c", "namespace": "ns"},
                "spec": {"sourceModelUri": "gs://b/m", "modelSize": "1Gi", "nodeGroups": groups},
                "status": {"inferenceServices": [{"namespace": "ns", "name": n}
                                                 for n in consumers]}}

    assert (await call(v, "CREATE", lmnc(["gpu"])))["allowed"] is True
    resp = await call(v, "CREATE", lmnc(["gpu", "tpu"]))
    assert resp["allowed"] is False
    assert resp["status"]["details"]["causes"][0]["field"] == "spec.nodeGroups[1]"
    resp = await call(v, "DELETE", old=lmnc(["gpu"], ["user"]))
    assert resp["allowed"] is False
    assert "LocalModelNamespaceCache ns/c is being used by InferenceService ns/user" in (
        resp["status"]["message"])


# ------------------------------------------------------------------------------ pods


def upstream_config_map() -> ConfigMap:
    doc = yaml.safe_load(reference("inferenceservice-config.yaml").read_text())
    return ConfigMap(metadata=ObjectMeta(name="inferenceservice-config", namespace=NS),
                     data=doc["data"])


@pytest.mark.anyio
async def test_pod_mutator_entry_point() -> None:
    client = FakeClient(upstream_config_map())
    mutator = PodMutator(client, ConfigSource(client, NS), NS)
    plain = {"metadata": {"name": "p", "namespace": "ns"},
             "spec": {"containers": [{"name": "c", "image": "i"}]}}
    resp = await call(mutator, "CREATE", plain)
    assert resp["allowed"] is True and "patch" not in resp
    assert client.count() == 0  # not an InferenceService pod: nothing read
    pod = {"metadata": {"name": "p", "namespace": "ns",
                        "labels": {"serving.kserve.io/inferenceservice": "sk"},
                        "annotations": {
                            "internal.serving.kserve.io/storage-initializer-sourceuri": "gs://b/m"}},
           "spec": {"containers": [{"name": "kserve-container", "image": "i"}]}}
    out = patched(pod, await call(mutator, "CREATE", pod))
    assert [c["name"] for c in out["spec"]["initContainers"]] == ["storage-initializer"]
    bad = {**pod, "spec": {"containers": "nope"}}
    resp = await call(mutator, "CREATE", bad)
    assert resp["allowed"] is False and "spec.containers" in resp["status"]["message"]


# ------------------------------------------------------------------------------ setup


class FakeManager:
    def __init__(self) -> None:
        self.client = FakeClient()
        self.cache = None
        self.added: list[Any] = []
        self.checks: list[tuple[str, str]] = []

    def add(self, runnable: Any) -> None:
        self.added.append(runnable)

    def add_healthz_check(self, name: str, check: Any) -> None:
        self.checks.append(("healthz", name))

    def add_readyz_check(self, name: str, check: Any) -> None:
        self.checks.append(("readyz", name))


def test_setup_registers_upstream_paths(tmp_path: Any) -> None:
    mgr = FakeManager()
    server = WebhookServer(cert_dir=tmp_path)
    hooks = setup_webhooks(mgr, server=server)
    assert server.paths == sorted([
        "/mutate-pods",
        "/mutate-serving-kserve-io-v1beta1-inferenceservice",
        "/validate-serving-kserve-io-v1beta1-inferenceservice",
        "/validate-serving-kserve-io-v1alpha1-servingruntime",
        "/validate-serving-kserve-io-v1alpha1-clusterservingruntime",
        "/validate-serving-kserve-io-v1alpha1-trainedmodel",
        "/validate-serving-kserve-io-v1alpha1-inferencegraph",
        "/validate-serving-kserve-io-v1alpha1-localmodelcache",
        "/validate-serving-kserve-io-v1alpha1-localmodelnamespacecache",
    ])
    assert sorted(hooks.paths) == server.paths
    assert mgr.checks == [("healthz", "webhook"), ("readyz", "webhook")]
    assert len(mgr.added) == 1  # the informer warm-up; the server was given, not added


def test_setup_from_kserve_manager_flags(tmp_path: Any) -> None:
    """``controllers.webhooks.setup(mgr, config, args)``, as kserve-manager calls it."""
    from controllers.manager import build_parser
    from controllers.webhooks import setup

    args = build_parser().parse_args([
        "--webhook-port", "0", "--webhook-host", "127.0.0.1", "--dev-webhook-certs",
        "--webhook-cert-dir", str(tmp_path), "--tls-min-version", "VersionTLS13"])
    mgr = FakeManager()
    hooks = setup(mgr, None, args)
    server = hooks.server
    assert mgr.added[0] is server  # the manager runs the server (non-leader runnable)
    assert server.need_leader_election() is False
    assert (server.host, server.port, server.cert_dir) == ("127.0.0.1", 0, tmp_path)
    assert server.tls_options.min_version == "VersionTLS13"
    assert server.dev is not None and server.dev.url_host == "127.0.0.1"
    assert "kserve-webhook-server-service.kserve.svc" in server.dev.hosts
    assert len(hooks.paths) == 9
    plain = setup(FakeManager(), None, build_parser().parse_args([]))
    assert plain.server.port == 9443 and plain.server.dev is None
    assert str(plain.server.cert_dir) == "/tmp/k8s-webhook-server/serving-certs"
