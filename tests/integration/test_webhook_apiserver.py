"""KServe's webhooks called by the real kube-apiserver over HTTPS (envtest): the apiserver
reads the shipped WebhookConfigurations (caBundle and a local URL patched in by the dev
mode), calls the manager's webhook server, and stores what it answers. No handler is called
directly here."""

from __future__ import annotations

import copy
import socket
import ssl
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import anyio
import httpx
import pytest
from lightkube import AsyncClient, KubeConfig

from apis.serving.v1alpha1 import LocalModelCache
from apis.serving.v1beta1.configmap import parse_inferenceservice_config
from apis.serving.v1beta1.inference_service_defaults import default_inference_service
from runtime import metrics
from runtime.testing.eventually import eventually
from tests.integration._webhook_harness import (
    Webhooks,
    api,
    create,
    object_path,
    shipped_config,
    warnings_of,
    webhook_manager,
)

pytestmark = [pytest.mark.integration, pytest.mark.anyio]

LOCALMODEL = "internal.serving.kserve.io/localmodel"
SOURCE_URI = "internal.serving.kserve.io/storage-initializer-sourceuri"


@pytest.fixture(scope="module")
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module")
async def kube(envtest: Any) -> AsyncIterator[AsyncClient]:
    client = AsyncClient(KubeConfig.from_file(envtest.kubeconfig_path), field_manager="test")
    yield client
    await client.close()


@pytest.fixture(scope="module")
async def wh(envtest: Any, kube: AsyncClient) -> AsyncIterator[Webhooks]:
    async with webhook_manager(envtest, kube) as running:
        yield running


def isvc(ns: str, name: str = "sk", predictor: dict[str, Any] | None = None,
         **meta: Any) -> dict[str, Any]:
    return {"apiVersion": "serving.kserve.io/v1beta1", "kind": "InferenceService",
            "metadata": {"name": name, "namespace": ns, **meta},
            "spec": {"predictor": predictor or {"sklearn": {"storageUri": "gs://kfserving/m"}}}}


def denial(resp: Any, webhook: str) -> str:
    """The message of an admission refusal by ``webhook``; fails for anything else."""
    body = resp.json()
    assert resp.status_code == 403, body
    assert body["reason"] == "Forbidden"
    prefix = f'admission webhook "{webhook}" denied the request: '
    assert body["message"].startswith(prefix), body["message"]
    return str(body["message"][len(prefix):])


ISVC_VALIDATOR = "inferenceservice.kserve-webhook-server.validator"


# ----------------------------------------------------------------------------- InferenceService


async def test_invalid_inference_service_refused_naming_the_field(wh: Webhooks,
                                                                  namespace: str) -> None:
    resp = await create(wh.client, isvc(namespace, "my.model"))
    msg = denial(resp, ISVC_VALIDATOR)
    assert msg.startswith('metadata.name: the InferenceService "my.model" is invalid')
    assert resp.json()["details"]["causes"][0]["field"] == "metadata.name"

    bad = isvc(namespace, annotations={"serving.kserve.io/autoscalerClass": "magic"})
    msg = denial(await create(wh.client, bad), ISVC_VALIDATOR)
    assert msg == ("metadata.annotations[serving.kserve.io/autoscalerClass]: [magic] is not a "
                   "supported autoscaler class type")

    two = isvc(namespace, predictor={"sklearn": {"storageUri": "gs://a/m"},
                                     "xgboost": {"storageUri": "gs://a/m"}})
    msg = denial(await create(wh.client, two), ISVC_VALIDATOR)
    assert msg.startswith("spec.predictor: exactly one of ")
    got = await api(wh.client, "GET", object_path(isvc(namespace)))
    assert got.json()["items"] == []  # nothing refused was stored


async def test_defaulted_inference_service_stored_with_upstream_defaults(
        wh: Webhooks, namespace: str) -> None:
    sent = isvc(namespace, predictor={"sklearn": {"storageUri": "gs://kfserving/m"}})
    sent["spec"]["transformer"] = {"containers": [{"image": "t:1"}]}
    resp = await create(wh.client, sent)
    assert resp.status_code == 201, resp.json()
    stored = resp.json()
    assert stored["metadata"]["annotations"] == {
        "serving.kserve.io/deploymentMode": "Standard", "modelFormat": "sklearn"}
    assert stored["spec"]["predictor"]["model"] == {
        "modelFormat": {"name": "sklearn"}, "storageUri": "gs://kfserving/m",
        "name": "", "resources": {}}
    assert "sklearn" not in stored["spec"]["predictor"]
    container = stored["spec"]["transformer"]["containers"][0]
    assert container["name"] == "kserve-container"
    assert container["resources"] == {"limits": {"cpu": "1", "memory": "2Gi"},
                                      "requests": {"cpu": "1", "memory": "2Gi"}}
    # exactly what the pure defaulter (upstream's golden tables) computes
    cfg = parse_inferenceservice_config(shipped_config())
    expected = default_inference_service(sent, cfg, local_model_caches=[],
                                          local_model_namespace_caches=[])
    assert stored["spec"] == expected["spec"]
    # UPDATE goes through the defaulter too (and changes nothing more)
    again = await api(wh.client, "PUT", object_path(sent, "sk"), stored)
    assert again.status_code == 200, again.json()
    assert again.json()["spec"] == stored["spec"]


async def test_update_of_an_object_being_deleted_is_allowed(wh: Webhooks, namespace: str,
                                                            kube: AsyncClient) -> None:
    obj = isvc(namespace, "fin", finalizers=["test/hold"])
    assert (await create(wh.client, obj)).status_code == 201
    assert (await api(wh.client, "DELETE", object_path(obj, "fin"))).status_code == 200
    current = (await api(wh.client, "GET", object_path(obj, "fin"))).json()
    assert current["metadata"]["deletionTimestamp"]
    current["metadata"]["finalizers"] = []
    # the spec is invalid now, but the object is being deleted: the finalizer can go
    current["metadata"].setdefault("annotations", {})["serving.kserve.io/autoscalerClass"] = "x"
    resp = await api(wh.client, "PUT", object_path(obj, "fin"), current)
    assert resp.status_code == 200, resp.json()


# ----------------------------------------------------------------------------- other validators


def runtime(kind: str, name: str, ns: str | None = None, env: list[Any] | None = None) -> (
    dict[str, Any]
):
    meta: dict[str, Any] = {"name": name}
    if ns:
        meta["namespace"] = ns
    return {"apiVersion": "serving.kserve.io/v1alpha1", "kind": kind, "metadata": meta,
            "spec": {"supportedModelFormats": [{"name": "sklearn", "autoSelect": True}],
                     "containers": [{"name": "kserve-container", "image": "img",
                                     "env": env or []}]}}


async def test_each_validator_refuses_a_bad_object(wh: Webhooks, namespace: str) -> None:
    suffix = uuid.uuid4().hex[:6]
    pythonpath = [{"name": "PYTHONPATH", "value": "/x"}]

    msg = denial(await create(wh.client, runtime("ServingRuntime", "sr", namespace, pythonpath)),
                 "servingruntime.kserve-webhook-server.validator")
    assert msg.startswith('spec.containers[0].env[0].name: the ServingRuntime "sr" is invalid')

    msg = denial(await create(wh.client, runtime("ClusterServingRuntime", f"csr-{suffix}",
                                                 env=pythonpath)),
                 "clusterservingruntime.kserve-webhook-server.validator")
    assert 'the ClusterServingRuntime "csr-' in msg and "PYTHONPATH" in msg

    tm = {"apiVersion": "serving.kserve.io/v1alpha1", "kind": "TrainedModel",
          "metadata": {"name": "tm", "namespace": namespace},
          "spec": {"inferenceService": "sk", "model": {
              "storageUri": "ftp://b/m", "framework": "sklearn", "memory": "1Gi"}}}
    msg = denial(await create(wh.client, tm), "trainedmodel.kserve-webhook-server.validator")
    assert msg.startswith('spec.model.storageUri: the Trained Model "tm" storageUri field is '
                          "invalid")

    ig = {"apiVersion": "serving.kserve.io/v1alpha1", "kind": "InferenceGraph",
          "metadata": {"name": "ig", "namespace": namespace},
          "spec": {"nodes": {"first": {"routerType": "Sequence",
                                       "steps": [{"serviceName": "sk"}]}}}}
    msg = denial(await create(wh.client, ig), "inferencegraph.kserve-webhook-server.validator")
    assert msg.startswith("spec.nodes: ") and "root" in msg

    lmc: dict[str, Any] = {"apiVersion": "serving.kserve.io/v1alpha1", "kind": "LocalModelCache",
           "metadata": {"name": f"a-{suffix}"},
           "spec": {"sourceModelUri": f"gs://b/{suffix}", "modelSize": "1Gi",
                    "nodeGroups": ["gpu"]}}
    assert (await create(wh.client, lmc)).status_code == 201
    await eventually(_cached(wh, lmc["metadata"]["name"]))
    dup = copy.deepcopy(lmc)
    dup["metadata"]["name"] = f"b-{suffix}"
    msg = denial(await create(wh.client, dup), "localmodelcache.kserve-webhook-server.validator")
    assert msg == (f"spec.sourceModelUri: LocalModelCache a-{suffix} has the same StorageURI "
                   f"gs://b/{suffix}")
    assert (await api(wh.client, "DELETE", object_path(lmc, lmc["metadata"]["name"]))
            ).status_code == 200

    lmnc = {"apiVersion": "serving.kserve.io/v1alpha1", "kind": "LocalModelNamespaceCache",
            "metadata": {"name": "c", "namespace": namespace},
            "spec": {"sourceModelUri": "gs://b/c", "modelSize": "1Gi",
                     "nodeGroups": ["missing"]}}
    msg = denial(await create(wh.client, lmnc),
                 "localmodelnamespacecache.kserve-webhook-server.validator")
    assert msg.startswith("spec.nodeGroups[0]: NodeGroup missing not found")


def _cached(wh: Webhooks, name: str) -> Callable[[], Awaitable[bool]]:
    """A condition: the manager's cache holds the LocalModelCache ``name``."""

    async def cached() -> bool:
        caches = await wh.mgr.client.list(LocalModelCache)
        return any(c.metadata.name == name for c in caches)

    return cached


async def test_local_model_cache_delete_refused_while_used(wh: Webhooks, namespace: str) -> None:
    name = f"llama-{uuid.uuid4().hex[:6]}"
    uri = f"gs://models/{name}"
    lmc = {"apiVersion": "serving.kserve.io/v1alpha1", "kind": "LocalModelCache",
           "metadata": {"name": name},
           "spec": {"sourceModelUri": uri, "modelSize": "1Gi", "nodeGroups": ["gpu"]}}
    assert (await create(wh.client, lmc)).status_code == 201
    await eventually(_cached(wh, name))
    # the defaulter labels an InferenceService whose model the cache holds
    resp = await create(wh.client, isvc(namespace, "user", predictor={
        "model": {"modelFormat": {"name": "sklearn"}, "storageUri": uri}}))
    assert resp.status_code == 201, resp.json()
    assert resp.json()["metadata"]["labels"][LOCALMODEL] == name
    assert resp.json()["metadata"]["annotations"][
        "internal.serving.kserve.io/localmodel-pvc-name"] == f"{name}-gpu"
    # the localmodel controller records its consumers in status (played here)
    status = {"status": {"inferenceServices": [{"namespace": namespace, "name": "user"}]}}
    path = object_path(lmc, name)
    resp = await api(wh.client, "PATCH", path + "/status", status, "application/merge-patch+json")
    assert resp.status_code == 200, resp.json()

    async def isvc_cached() -> bool:
        from apis.serving.v1beta1 import InferenceService

        got = await wh.mgr.client.list(InferenceService, namespace=namespace)
        return any(i.metadata.name == "user" for i in got)

    await eventually(isvc_cached)
    msg = denial(await api(wh.client, "DELETE", path),
                 "localmodelcache.kserve-webhook-server.validator")
    assert msg == f"metadata.name: LocalModelCache {name} is being used by InferenceService user"
    assert (await api(wh.client, "GET", path)).status_code == 200  # still there
    # no consumer left: the delete goes through
    resp = await api(wh.client, "PATCH", path + "/status", {"status": {"inferenceServices": []}},
                     "application/merge-patch+json")
    assert resp.status_code == 200
    assert (await api(wh.client, "DELETE", path)).status_code == 200


# ----------------------------------------------------------------------------- pods


async def test_pod_for_an_inference_service_gets_its_storage_initializer(
        wh: Webhooks, namespace: str) -> None:
    calls = metrics.WEBHOOK_REQUESTS_TOTAL.labels(webhook="/mutate-pods", code="200")
    before = calls._value.get()
    pod = {"apiVersion": "v1", "kind": "Pod",
           "metadata": {"name": "sk-predictor-0", "namespace": namespace,
                        "labels": {"serving.kserve.io/inferenceservice": "sk"},
                        "annotations": {SOURCE_URI: "gs://kfserving/m"}},
           "spec": {"containers": [{"name": "kserve-container", "image": "kserve/sklearn"}]}}
    resp = await create(wh.client, pod)
    assert resp.status_code == 201, resp.json()
    stored = resp.json()["spec"]
    (init,) = stored["initContainers"]
    assert init["name"] == "storage-initializer"
    assert init["args"] == ["gs://kfserving/m", "/mnt/models"]
    assert {"name": "kserve-provision-location", "mountPath": "/mnt/models"} in [
        {k: m[k] for k in ("name", "mountPath")} for m in init["volumeMounts"]]
    mounts = stored["containers"][0]["volumeMounts"]
    assert {"name": "kserve-provision-location", "mountPath": "/mnt/models",
            "readOnly": True} in mounts
    assert {"name": "kserve-provision-location", "emptyDir": {}} in stored["volumes"]
    assert calls._value.get() == before + 1  # called once: no reinvocation needed
    # a pod that is not an InferenceService's is not sent to the webhook at all
    plain = copy.deepcopy(pod)
    plain["metadata"] = {"name": "plain", "namespace": namespace}
    assert (await create(wh.client, plain)).status_code == 201
    assert calls._value.get() == before + 1


# ----------------------------------------------------------------------------- GPU warning


async def test_gpu_warning_reaches_the_client(wh: Webhooks, namespace: str) -> None:
    name = f"gpu-node-{uuid.uuid4().hex[:6]}"
    node = {"apiVersion": "v1", "kind": "Node", "metadata": {"name": name}}
    assert (await create(wh.client, node)).status_code == 201
    status = {"status": {"allocatable": {"cpu": "32", "nvidia.com/gpu": "2"},
                         "capacity": {"cpu": "32", "nvidia.com/gpu": "2"},
                         "conditions": [{"type": "Ready", "status": "True",
                                         "reason": "KubeletReady", "message": "ready"}]}}
    resp = await api(wh.client, "PATCH", f"/api/v1/nodes/{name}/status", status,
                     "application/merge-patch+json")
    assert resp.status_code == 200, resp.json()
    capacity = wh.hooks.capacity
    assert capacity is not None
    try:
        await eventually(lambda: capacity.snapshot()["max_per_node"].get("nvidia.com/gpu") == 2)
        big = isvc(namespace, "big", predictor={"model": {
            "modelFormat": {"name": "huggingface"}, "storageUri": "hf://meta/llama",
            "resources": {"limits": {"nvidia.com/gpu": "4"},
                          "requests": {"nvidia.com/gpu": "4"}}}})
        resp = await create(wh.client, big)
        assert resp.status_code == 201, resp.json()  # a warning, not a refusal
        assert warnings_of(resp) == [
            "spec.predictor: each predictor pod requests 4 nvidia.com/gpu but no node can "
            "allocate more than 2; the pod would stay Pending",
            "spec: the InferenceService requests 4 nvidia.com/gpu in total (predictor 4 x 1 "
            "pod) but the cluster has 2 free (2 allocatable on 1 node); some pods would stay "
            "Pending",
        ]
        small = isvc(namespace, "small", predictor={"model": {
            "modelFormat": {"name": "huggingface"}, "storageUri": "hf://meta/llama",
            "resources": {"limits": {"nvidia.com/gpu": "1"}}}})
        resp = await create(wh.client, small)
        assert resp.status_code == 201 and warnings_of(resp) == []
    finally:
        await api(wh.client, "DELETE", f"/api/v1/nodes/{name}")


# ----------------------------------------------------------------------------- bad input


async def test_malformed_review_and_huge_body(wh: Webhooks, namespace: str) -> None:
    url = wh.server.url("/validate-serving-kserve-io-v1beta1-inferenceservice")
    async with httpx.AsyncClient(verify=wh.ssl_context()) as http:
        resp = await http.post(url, content=b'{"apiVersion": "admission.k8s.io/v1", "kind": "Ad',
                               headers={"Content-Type": "application/json"})
        assert resp.status_code == 400
        assert "unable to decode the request" in resp.json()["response"]["status"]["message"]
        resp = await http.post(url, json={"apiVersion": "admission.k8s.io/v1",
                                          "kind": "AdmissionReview", "request": {"uid": 1}})
        assert resp.status_code == 400
        assert resp.json()["response"]["status"]["message"] == "request.uid: expected a string"
        resp = await http.post(url, content=b"x" * (8 << 20),
                               headers={"Content-Type": "application/json"})
        assert resp.status_code == 413
        assert resp.json()["response"]["status"]["message"] == (
            "request entity is too large; limit is 7340032 bytes")
    # the server, and the apiserver's use of it, are unharmed
    assert (await create(wh.client, isvc(namespace, "after"))).status_code == 201


def _served_cert(wh: Webhooks) -> bytes:
    ctx = wh.ssl_context()
    with socket.create_connection(("127.0.0.1", wh.server.port)) as raw, \
            ctx.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
        der = tls.getpeercert(binary_form=True)
    assert der is not None
    return der


async def test_certificate_rotated_while_serving(wh: Webhooks, namespace: str) -> None:
    before = await anyio.to_thread.run_sync(_served_cert, wh)
    assert (await create(wh.client, isvc(namespace, "r1"))).status_code == 201
    await wh.dev.rotate(wh.server)  # a renewal: new key and certificate, same CA
    after = await anyio.to_thread.run_sync(_served_cert, wh)
    assert after != before and wh.server.watcher.reloads >= 1
    for i in range(3):  # old keep-alive connections and new handshakes both work
        resp = await create(wh.client, isvc(namespace, f"r2-{i}"))
        assert resp.status_code == 201, resp.json()

    def untrusted() -> None:  # without the CA the served certificate does not verify
        ctx = ssl.create_default_context()
        with socket.create_connection(("127.0.0.1", wh.server.port)) as raw:
            ctx.wrap_socket(raw, server_hostname="127.0.0.1")

    with pytest.raises(ssl.SSLCertVerificationError):
        await anyio.to_thread.run_sync(untrusted)


async def test_readyz_and_metrics(wh: Webhooks) -> None:
    port = wh.mgr.health_probe_port
    async with httpx.AsyncClient() as http:
        resp = await http.get(f"http://127.0.0.1:{port}/readyz/webhook")
        assert resp.status_code == 200 and resp.text == "ok"
        resp = await http.get(f"http://127.0.0.1:{port}/healthz/webhook")
        assert resp.status_code == 200
    text = metrics.exposition().decode()
    assert ('controller_runtime_webhook_requests_total{code="200",'
            'webhook="/mutate-serving-kserve-io-v1beta1-inferenceservice"}') in text
