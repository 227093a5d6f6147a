"""Fuzzing the pod mutator (``/mutate-pods``) through the real kube-apiserver.

Hypothesis builds Pods labelled ``serving.kserve.io/inferenceservice`` with the annotations
the mutator reacts to (storage-initializer source URIs of every scheme: gs, s3, pvc, oci,
oci+fetch/native, hf, https, hdfs, azure, a ClusterStorageContainer's own scheme, local
paths and junk; readonly, storage spec, storage secret, initializer UID; logger, batcher and
agent; metrics aggregation and Prometheus; GKE accelerator; Istio sidecar status and
interception mode; local-model caches), over containers the injectors look at
(kserve-container, transformer-container, queue-proxy, istio-proxy, istio-init, a
storage-initializer already there), ServiceAccounts whose Secrets hold every kind of
credential (or name one that does not exist), and, for a few, a value of the wrong JSON type.
The namespace holds those ServiceAccounts and Secrets, a ``storage-config`` Secret,
ClusterStorageContainers and an InferenceService with a logger, all read by the mutator
from the manager's cache.

Each pod is CREATEd (stored, then deleted) with the shipped MutatingWebhookConfiguration
(``reinvocationPolicy: IfNeeded``, ``failurePolicy: Fail``). Every answer must be 201 or a
4xx with a message: 0 HTTP 500, no webhook "internal error", no panic counted, no manager
crash. A stored pod is sent to the webhook again over HTTPS, as the apiserver would on a
reinvocation: it must come back allowed with no patch (idempotent). A 422 for a pod the
apiserver accepts without the label (so without the webhook) is a pod the mutator made
invalid, and fails, with one exception kept from upstream: a negative
``serving.kserve.io/storage-initializer-uid`` is written to ``runAsUser`` as is, and the
apiserver's refusal names that field and value. ``POD_FUZZ_EXAMPLES`` sets the number of pods
(default 200; the full run is ``POD_FUZZ_EXAMPLES=2000``).

What it found (fixed in ``controllers/storage/oci.py``, tests at the end): ``oci+fetch://``
with an ``imagePullSecrets`` entry without a name made a Secret volume without a name
(upstream too: the apiserver refuses the pod), and an OCI URI without an image made a
container without an image (upstream too).
"""

from __future__ import annotations

import base64
import contextlib
import copy
import json
import os
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lightkube import AsyncClient, KubeConfig
from lightkube.core.exceptions import ApiError
from lightkube.models.meta_v1 import ObjectMeta
from lightkube.resources.core_v1 import Namespace

from runtime import metrics
from runtime.webhook.jsonpatch import apply_patch
from tests.integration._fuzz import break_one, json_paths
from tests.integration._webhook_harness import Webhooks, api, object_path, webhook_manager

pytestmark = [pytest.mark.integration, pytest.mark.anyio]

EXAMPLES = int(os.environ.get("POD_FUZZ_EXAMPLES", "200"))
NS = "webhook-pod-fuzz"
ISVC_LABEL = "serving.kserve.io/inferenceservice"
INTERNAL = "internal.serving.kserve.io"
SOURCE_URI = f"{INTERNAL}/storage-initializer-sourceuri"
MUTATE_PODS = "/mutate-pods"

# ----------------------------------------------------------------------------- the namespace


def _b64(value: str) -> str:
    return base64.b64encode(value.encode()).decode()


def _secret(name: str, data: dict[str, str], **annotations: str) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "namespace": NS}
    if annotations:
        meta["annotations"] = annotations
    return {"apiVersion": "v1", "kind": "Secret", "metadata": meta,
            "data": {k: _b64(v) for k, v in data.items()}}


def _sa(name: str, secrets: list[str], **annotations: str) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "namespace": NS}
    if annotations:
        meta["annotations"] = annotations
    return {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": meta,
            "secrets": [{"name": s} for s in secrets]}


SECRETS = [
    _secret("s3-creds", {"AWS_ACCESS_KEY_ID": "k", "AWS_SECRET_ACCESS_KEY": "s"},
            **{"serving.kserve.io/s3-endpoint": "minio:9000", "serving.kserve.io/s3-usehttps": "0",
               "serving.kserve.io/s3-region": "eu", "serving.kserve.io/s3-cabundle": "/c"}),
    _secret("gcs-creds", {"gcloud-application-credentials.json": "{}"}),
    _secret("azure-creds", {"AZURE_CLIENT_ID": "c", "AZURE_CLIENT_SECRET": "s",
                            "AZURE_TENANT_ID": "t", "AZURE_SUBSCRIPTION_ID": "u"}),
    _secret("azure-key", {"AZURE_STORAGE_ACCESS_KEY": "k"}),
    _secret("https-creds", {"https-host": "h.example.com", "headers": '{"a": "b"}'}),
    _secret("hdfs-creds", {"HDFS_NAMENODE": "nn:8020", "HDFS_ROOTPATH": "/"}),
    _secret("hf-creds", {"HF_TOKEN": "hf_x"}),
    _secret("ms-creds", {"MODELSCOPE_API_TOKEN": "m"}),
    _secret("storage-config", {
        "default": '{"type": "s3", "bucket": "b", "cabundle_configmap": "cm"}',
        "default_s3": '{"type": "s3", "bucket": "b2"}',
        "gcs": '{"type": "gs", "bucket": "b"}',
        "nobucket": '{"type": "s3"}',
        "hdfs": '{"type": "hdfs"}',
        "notjson": "not json",
        "list": '["a"]',
    }),
    _secret("other-storage", {"default": '{"type": "webhdfs"}'}),
]
SERVICE_ACCOUNTS = [
    _sa("default", []),
    _sa("sa-s3", ["s3-creds"]),
    _sa("sa-gcs", ["gcs-creds"]),
    _sa("sa-all", ["s3-creds", "gcs-creds", "azure-creds", "azure-key", "https-creds",
                   "hdfs-creds", "hf-creds", "ms-creds"]),
    _sa("sa-irsa", [], **{"eks.amazonaws.com/role-arn": "arn:aws:iam::1:role/r",
                          "serving.kserve.io/s3-endpoint": "s3.amazonaws.com"}),
    _sa("sa-missing-secret", ["no-such-secret"]),
]
STORAGE_CONTAINERS: list[dict[str, Any]] = [
    {"apiVersion": "serving.kserve.io/v1alpha1", "kind": "ClusterStorageContainer",
     "metadata": {"name": "fz-custom"},
     "spec": {"container": {"name": "storage-initializer", "image": "custom-init:1",
                            "resources": {"limits": {"memory": "1Gi"}}},
              "supportedUriFormats": [{"prefix": "custom://"}]}},
    {"apiVersion": "serving.kserve.io/v1alpha1", "kind": "ClusterStorageContainer",
     "metadata": {"name": "fz-regex"},
     "spec": {"container": {"name": "other-name", "image": "regex-init:1",
                            "env": [{"name": "X", "value": "1"}]},
              "supportedUriFormats": [{"regex": "https://special\\.example\\.com/.*"}]}},
]
LOGGED_ISVC: dict[str, Any] = {
    "apiVersion": "serving.kserve.io/v1beta1", "kind": "InferenceService",
    "metadata": {"name": "fz-logged", "namespace": NS},
    "spec": {"predictor": {"logger": {"mode": "request", "url": "http://sink"},
                           "sklearn": {"storageUri": "gs://b/m"}}},
}

# ----------------------------------------------------------------------------- the pods

URIS = [
    "gs://bucket/model", "s3://bucket/model", "s3://bucket", "pvc://claim/models/m",
    "pvc://claim", "pvc://claim/", "pvc://Bad_Claim/x", "pvc://", "oci://reg.io/img:1",
    "oci://reg.io/img@sha256:" + "a" * 64, "oci+fetch://reg.io/img:1", "oci+native://reg.io/i:1",
    "oci+other://reg.io/i:1", "oci://", "hf://org/model", "hf://org/model:rev", "hf://",
    "https://h.example.com/m.tar.gz", "http://h/m.zip", "https://special.example.com/m",
    "https://acct.blob.core.windows.net/c/p", "hdfs://nn/path", "webhdfs://nn/path",
    "custom://x/y", "/mnt/local", "relative/path", "", "ms://org/m", "<scheme-placeholder>://p",
    "gs://b/m gs://b/n", "s3://b/\u00e9",
]
ANNOTATIONS: dict[str, list[str]] = {
    SOURCE_URI: URIS,
    "storage.kserve.io/readonly": ["true", "false", "x"],
    f"{INTERNAL}/storage-spec": ["true", "false"],
    f"{INTERNAL}/storage-spec-param": ['{"type": "s3", "bucket": "pb"}', '{"type": "gs"}', "{}",
                                       "not json", '{"a": 1}'],
    f"{INTERNAL}/storage-spec-key": ["default", "gcs", "nobucket", "hdfs", "notjson", "list",
                                     "missing"],
    f"{INTERNAL}/storage-container-name": ["fz-custom", "nope"],
    "serving.kserve.io/storageSecretName": ["s3-creds", "hf-creds", "other-storage",
                                            "no-such-secret"],
    "serving.kserve.io/storage-initializer-uid": ["1000", "0", "-5", "x", "99999999999999999999"],
    f"{INTERNAL}/logger": ["true", "false"],
    f"{INTERNAL}/logger-sink-url": ["http://sink.example.com", "", "not a url"],
    f"{INTERNAL}/logger-mode": ["all", "request", "response", "bad"],
    f"{INTERNAL}/logger-metadata-headers": ["a,b", ""],
    f"{INTERNAL}/logger-metadata-annotations": ["team,missing", ""],
    "team": ["ml"],
    f"{INTERNAL}/batcher": ["true"],
    f"{INTERNAL}/batcher-max-batchsize": ["32", "0", "x"],
    f"{INTERNAL}/batcher-max-latency": ["500", "x"],
    f"{INTERNAL}/agent": ["true", "false"],
    f"{INTERNAL}/configVolumeName": ["model-config", "missing-vol"],
    f"{INTERNAL}/configMountPath": ["/mnt/configs"],
    f"{INTERNAL}/modelDir": ["/mnt/models", ""],
    "serving.kserve.io/enable-metric-aggregation": ["true", "false", "x"],
    "serving.kserve.io/enable-prometheus-scraping": ["true", "false"],
    "prometheus.kserve.io/port": ["8080", "9000", "x"],
    "prometheus.kserve.io/path": ["/metrics", "/m"],
    "prometheus.io/port": ["1234"],
    "serving.kserve.io/gke-accelerator": ["nvidia-tesla-t4", ""],
    "sidecar.istio.io/status": ['{"containers":["istio-proxy"]}', '{"containers":[]}', "{}",
                                '{"containers":[1]}', "[]", "null", "not json",
                                '{"containers":["nope"]}'],
    "sidecar.istio.io/interceptionMode": ["REDIRECT", "TPROXY"],
    f"{INTERNAL}/localmodel-sourceuri": ["gs://bucket", "gs://bucket/model"],
    f"{INTERNAL}/localmodel-pvc-name": ["cache-gpu"],
    f"{INTERNAL}/confidential-enabled": ["true", "false"],
    f"{INTERNAL}/confidential-resource-id": ["kbs:///a/b/c", "bad"],
}
GPU = st.sampled_from([{}, {"limits": {"nvidia.com/gpu": "1"}},
                       {"limits": {"cpu": "1", "memory": "1Gi"}, "requests": {"cpu": "500m"}},
                       {"limits": {"amd.com/gpu": "2"}}])
ENV = st.lists(st.fixed_dictionaries({
    "name": st.sampled_from(["STORAGE_URI", "PORT", "FOO", "SERVING_READINESS_PROBE"]),
    "value": st.sampled_from(["gs://b/m", "8080", "x", ""])}), max_size=2, unique_by=lambda e:
    e["name"])
PROBE = st.sampled_from([
    {"httpGet": {"path": "/v1/models/m", "port": 8080, "scheme": "HTTP"}},
    {"httpGet": {"path": "/", "port": "http1", "httpHeaders": [{"name": "a", "value": "b"}]}},
    {"tcpSocket": {"port": 8080}},
    {"exec": {"command": ["true"]}},
    {"grpc": {"port": 9000}},
])
PORTS = st.sampled_from([
    [], [{"containerPort": 8080, "protocol": "TCP"}],
    [{"name": "http1", "containerPort": 8080, "protocol": "TCP"}],
    [{"name": "h2c", "containerPort": 9000, "protocol": "TCP"}],
])


@st.composite
def container(draw: st.DrawFn, name: str, image: str = "img:1") -> dict[str, Any]:
    c: dict[str, Any] = {"name": name, "image": image}
    c.update(draw(st.fixed_dictionaries({}, optional={
        "resources": GPU, "env": ENV, "ports": PORTS, "readinessProbe": PROBE,
        "args": st.sampled_from([["--a"], []]),
        "volumeMounts": st.just([{"name": "user-vol", "mountPath": "/data"}])})))
    return c


@st.composite
def pods(draw: st.DrawFn) -> dict[str, Any]:
    first = draw(st.sampled_from(["kserve-container"] * 10 + ["transformer-container",
                                                             "worker-container", "other"]))
    containers = [draw(container(first))]
    for name in draw(st.lists(st.sampled_from(["queue-proxy", "istio-proxy",
                                               "transformer-container", "sidecar"]),
                              max_size=2, unique=True)):
        if name != first:
            c = draw(container(name))
            if name == "istio-proxy" and draw(st.booleans()):
                c["securityContext"] = {"runAsUser": draw(st.sampled_from([1337, 1000]))}
            containers.append(c)
    spec: dict[str, Any] = {"containers": containers}
    inits = draw(st.lists(st.sampled_from(["istio-init", "storage-initializer", "setup"]),
                          max_size=2, unique=True))
    if inits:
        spec["initContainers"] = [{"name": n, "image": "init:1"} for n in inits]
    if any("volumeMounts" in c for c in containers):
        spec["volumes"] = [{"name": "user-vol", "emptyDir": {}}]
    if draw(st.booleans()):
        spec.setdefault("volumes", []).append(draw(st.sampled_from([
            {"name": "kserve-provision-location", "emptyDir": {}},
            {"name": "model-config", "configMap": {"name": "cm"}}])))
    spec.update(draw(st.fixed_dictionaries({}, optional={
        "serviceAccountName": st.sampled_from([s["metadata"]["name"] for s in SERVICE_ACCOUNTS]
                                              + ["no-such-sa"]),
        "nodeSelector": st.just({"pool": "gpu"}),
        "imagePullSecrets": st.just([{"name": "regcred"}])})))
    labels = {ISVC_LABEL: draw(st.sampled_from(["fz-logged", "fz-other"]))}
    labels.update(draw(st.fixed_dictionaries({}, optional={
        "component": st.sampled_from(["predictor", "transformer", "explainer"]),
        f"{INTERNAL}/localmodel": st.sampled_from(["cache"] + [None] * 4)})))
    labels = {k: v for k, v in labels.items() if v is not None}
    keys = draw(st.lists(st.sampled_from([k for k in ANNOTATIONS if k != SOURCE_URI]),
                         max_size=6, unique=True))
    annotations = {k: draw(st.sampled_from(ANNOTATIONS[k])) for k in keys}
    # (sampled_from, not integers: Hypothesis favours 0 and bounds, sampled_from is even)
    if draw(st.sampled_from([True, True, True, False])):  # the path most of the mutator is on
        annotations[SOURCE_URI] = draw(st.sampled_from(URIS))
    # a copy: sampled_from and just hand out shared objects, which _break must not change
    pod = copy.deepcopy({"apiVersion": "v1", "kind": "Pod",
                         "metadata": {"namespace": NS, "labels": labels,
                                      "annotations": annotations},
                         "spec": spec})
    if draw(st.sampled_from([False] * 9 + [True])):  # a tenth: a value of the wrong JSON type
        _break(draw, pod)
    return pod


def _break(draw: st.DrawFn, pod: dict[str, Any]) -> None:
    paths = [p for p in json_paths(pod) if p[0] in ("spec", "metadata") and len(p) > 1
             and p[:2] != ("metadata", "namespace")]
    break_one(draw, pod, paths, [None, "x", 7, True, [], {}, {"k": 1}])


# ----------------------------------------------------------------------------- the run


@pytest.fixture(scope="module")
def anyio_backend() -> str:
    return "asyncio"


_FIXTURE_PATHS = {"Secret": f"/api/v1/namespaces/{NS}/secrets",
                  "ServiceAccount": f"/api/v1/namespaces/{NS}/serviceaccounts",
                  "ClusterStorageContainer":
                      "/apis/serving.kserve.io/v1alpha1/clusterstoragecontainers"}


def _fixture_path(obj: dict[str, Any]) -> str:
    kind = obj["kind"]
    return _FIXTURE_PATHS[kind] if kind in _FIXTURE_PATHS else object_path(obj)


async def _put(client: Any, obj: dict[str, Any]) -> None:
    """Create ``obj``, or replace what an earlier run in this session left."""
    path = _fixture_path(obj)
    resp = await api(client, "POST", path, obj)
    if resp.status_code == 409:
        await api(client, "DELETE", f"{path}/{obj['metadata']['name']}")
        resp = await api(client, "POST", path, obj)
    assert resp.status_code == 201, resp.json()


IMAGE_VOLUMES = True
"""Whether the apiserver keeps ``image`` volumes (feature gate ImageVolume, off by default in
Kubernetes 1.34: the apiserver then drops them, with their mounts, from a new pod)."""


async def _keeps_image_volumes(running: Webhooks) -> bool:
    probe = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "probe", "namespace": NS},
             "spec": {"containers": [{"name": "c", "image": "img:1", "volumeMounts": [
                 {"name": "v", "mountPath": "/v"}]}],
                      "volumes": [{"name": "v", "image": {"reference": "reg.io/i:1"}}]}}
    resp = await api(running.client, "POST", object_path(probe) + "?dryRun=All", probe)
    return resp.status_code == 201 and any(
        "image" in v for v in resp.json()["spec"].get("volumes") or [])


@pytest.fixture(scope="module")
async def wh(envtest: Any) -> AsyncIterator[Webhooks]:
    kube = AsyncClient(KubeConfig.from_file(envtest.kubeconfig_path), field_manager="test")
    with contextlib.suppress(ApiError):  # exists from an earlier run in this session
        await kube.create(Namespace(metadata=ObjectMeta(name=NS)))
    try:
        async with webhook_manager(envtest, kube) as running:
            for obj in [*SECRETS, *SERVICE_ACCOUNTS, *STORAGE_CONTAINERS, LOGGED_ISVC]:
                await _put(running.client, obj)
            global IMAGE_VOLUMES
            IMAGE_VOLUMES = await _keeps_image_volumes(running)
            yield running
            for obj in STORAGE_CONTAINERS:  # cluster-scoped: not left to other tests
                await api(running.client, "DELETE",
                          f"{_fixture_path(obj)}/{obj['metadata']['name']}")
    finally:
        await kube.close()


OUTCOMES: Counter[str] = Counter()
REFUSALS: Counter[str] = Counter()
FAILURES: list[tuple[str, Any, dict[str, Any]]] = []
SAMPLES: dict[str, str] = {}  # the first message of each outcome, for the summary
INJECTED: Counter[str] = Counter()  # what the stored pods got, to show the paths were run
UID = "serving.kserve.io/storage-initializer-uid"


def _injected(stored: dict[str, Any], sent: dict[str, Any]) -> list[str]:
    spec, before = stored["spec"], sent["spec"]
    names = {c["name"] for c in spec.get("containers", [])}
    inits = {c["name"]: c for c in spec.get("initContainers", [])}
    old_inits = {c.get("name") for c in before.get("initContainers") or []
                 if isinstance(c, dict)}
    out = []
    if "storage-initializer" in inits and "storage-initializer" not in old_inits:
        init = inits["storage-initializer"]
        out.append(f"storage-initializer {init['image'].split(':')[0]}")
        if "runAsUser" in (init.get("securityContext") or {}):
            out.append("storage-initializer runAsUser")
        if any(e.get("name") in ("AWS_ACCESS_KEY_ID", "GOOGLE_APPLICATION_CREDENTIALS",
                                 "AZURE_CLIENT_ID", "HF_TOKEN", "STORAGE_CONFIG")
               for e in init.get("env") or []):
            out.append("storage credentials")
    if any(v.get("persistentVolumeClaim") for v in spec.get("volumes") or []):
        out.append("pvc volume")
    if "modelcar" in names:
        out.append("modelcar")
    if "agent" in names:
        out.append("agent")
    if (spec.get("nodeSelector") or {}).get("cloud.google.com/gke-accelerator"):
        out.append("gke accelerator selector")
    if any(p.get("name") == "aggr-metric" for c in spec["containers"]
           for p in c.get("ports") or []):
        out.append("metrics aggregation")
    return out


def _annotation_passed_through(message: str, pod: dict[str, Any]) -> bool:
    """A 422 for a value the pod's own annotation put there, as upstream does: the
    storage-initializer-uid annotation is written to ``runAsUser`` whenever it parses as an
    int64 (a negative one then fails the apiserver's validation, naming the field)."""
    uid = (pod["metadata"].get("annotations") or {}).get(UID)
    return (isinstance(uid, str) and "securityContext.runAsUser: Invalid value: " + uid + ":"
            in message)


async def _mutate_again(running: Webhooks, http: httpx.AsyncClient,
                        pod: dict[str, Any]) -> dict[str, Any]:
    """The webhook's answer to ``pod`` as the apiserver would send it (AdmissionReview
    v1beta1, CREATE, over HTTPS)."""
    review = {"apiVersion": "admission.k8s.io/v1beta1", "kind": "AdmissionReview",
              "request": {"uid": str(uuid.uuid4()),
                          "kind": {"group": "", "version": "v1", "kind": "Pod"},
                          "resource": {"group": "", "version": "v1", "resource": "pods"},
                          "operation": "CREATE", "namespace": NS, "object": pod}}
    resp = await http.post(running.server.url(MUTATE_PODS), json=review)
    assert resp.status_code == 200, resp.text
    out: dict[str, Any] = resp.json()["response"]
    return out


def _patch_of(response: dict[str, Any]) -> list[dict[str, Any]]:
    patch = response.get("patch")
    return list(json.loads(base64.b64decode(patch))) if patch else []


def _adds_image_volume(patch: list[dict[str, Any]]) -> bool:
    for op in patch:
        value = op.get("value")
        values = value if isinstance(value, list) else [value]
        if op["path"].startswith("/spec/volumes") and any(
                isinstance(v, dict) and "image" in v for v in values):
            return True
    return False


def _refusal_kind(message: str) -> str:
    """A coarse key for the report: the message up to its first variable part."""
    head = message.split('"', 1)[0].split("[", 1)[0].split(":", 1)[0]
    return head.strip()[:60]


@settings(max_examples=EXAMPLES, deadline=None, database=None,
          suppress_health_check=list(HealthCheck))
@given(pod=pods())
async def test_fuzz_pods(wh: Webhooks, pod: dict[str, Any]) -> None:
    running = wh
    pod["metadata"]["name"] = f"p-{uuid.uuid4().hex[:10]}"
    resp = await api(running.client, "POST", object_path(pod), pod)
    body = resp.json()
    status = resp.status_code
    message = str(body.get("message", ""))
    if status == 201:
        OUTCOMES["created"] += 1
        try:
            async with httpx.AsyncClient(verify=running.ssl_context(), timeout=30) as http:
                again = await _mutate_again(running, http, body)
        finally:
            await api(running.client, "DELETE",
                      object_path(body, body["metadata"]["name"]) + "?gracePeriodSeconds=0")
        INJECTED.update(_injected(body, pod))
        patch = _patch_of(again)
        if again["allowed"] and patch and not IMAGE_VOLUMES and _adds_image_volume(patch):
            # the apiserver dropped the ImageVolume the mutator added (feature gate off), so
            # the stored pod is not what the webhook answered: check the answer instead
            OUTCOMES["created (image volume dropped by the apiserver)"] += 1
            async with httpx.AsyncClient(verify=running.ssl_context(), timeout=30) as http:
                first = await _mutate_again(running, http, pod)
                mutated = apply_patch(copy.deepcopy(pod), _patch_of(first))
                again = await _mutate_again(running, http, mutated)
            patch = _patch_of(again)
        if not again["allowed"] or patch:
            FAILURES.append(("not idempotent", (again.get("status"), patch), body))
            raise AssertionError(("not idempotent", again.get("status"), patch))
        return
    if status >= 500 or "internal error" in message or not 400 <= status < 500 or not message:
        FAILURES.append((f"HTTP {status}", message, pod))
        raise AssertionError((status, message))
    if "denied the request" in message:
        tail = message.split("denied the request: ", 1)[-1].strip()
        if not tail:
            FAILURES.append(("refusal without a message", message, pod))
            raise AssertionError(message)
        OUTCOMES["webhook refusal"] += 1
        REFUSALS[_refusal_kind(tail)] += 1
        SAMPLES.setdefault(_refusal_kind(tail), tail[:300])
        return
    if status == 422:
        # the apiserver's validation after mutation: was the pod valid without the webhook?
        plain = copy.deepcopy(pod)
        if isinstance(plain["metadata"].get("labels"), dict):
            plain["metadata"]["labels"].pop(ISVC_LABEL, None)
        check = await api(running.client, "POST", object_path(plain) + "?dryRun=All", plain)
        if check.status_code == 201 and _annotation_passed_through(message, pod):
            OUTCOMES["apiserver 422 (annotation value passed through)"] += 1
            return
        if check.status_code == 201:
            FAILURES.append(("valid pod made invalid by the mutator", message, pod))
            raise AssertionError(("valid pod made invalid by the mutator", message, pod))
    OUTCOMES[f"apiserver {status}"] += 1
    SAMPLES.setdefault(f"apiserver {status}", message[:300])


async def test_fuzz_pods_summary(wh: Webhooks) -> None:
    """After the run: the manager still serves, nothing panicked, and the run was not trivial
    (pods were stored and refused)."""
    running = wh
    total = sum(OUTCOMES.values())
    print(f"\npod fuzz: {total} pods: {dict(OUTCOMES)}\nrefusals: {dict(REFUSALS.most_common())}")
    print(f"injected into stored pods: {dict(INJECTED.most_common())}; "
          f"the apiserver keeps image volumes: {IMAGE_VOLUMES}")
    for kind, sample in SAMPLES.items():
        print(f"  e.g. {kind}: {sample}")
    assert total >= EXAMPLES
    assert not FAILURES, FAILURES[:3]
    assert OUTCOMES["created"] > 0 and OUTCOMES["webhook refusal"] > 0
    assert metrics.WEBHOOK_PANICS_TOTAL._value.get() == 0
    assert running.server.started and not running.mgr._errors
    ok: dict[str, Any] = {"apiVersion": "v1", "kind": "Pod",
          "metadata": {"name": "after-fuzz", "namespace": NS, "labels": {ISVC_LABEL: "x"},
                       "annotations": {SOURCE_URI: "gs://b/m"}},
          "spec": {"containers": [{"name": "kserve-container", "image": "img:1"}]}}
    resp = await api(running.client, "POST", object_path(ok) + "?dryRun=All", ok)
    assert resp.status_code == 201, resp.json()
    assert [c["name"] for c in resp.json()["spec"]["initContainers"]] == ["storage-initializer"]


# ----------------------------------------------------------------------------- what it found


def _oci_pod(uri: str, **spec: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": f"oci-{uuid.uuid4().hex[:8]}", "namespace": NS,
                         "labels": {ISVC_LABEL: "x"}, "annotations": {SOURCE_URI: uri}},
            "spec": {"containers": [{"name": "kserve-container", "image": "img:1"}], **spec}}


async def test_fetch_skips_image_pull_secrets_without_a_name(wh: Webhooks) -> None:
    """``imagePullSecrets: [{}]`` is a valid pod (the kubelet ignores the entry); upstream
    mounts that first entry as a Secret volume without a name, and the apiserver refuses the
    mutated pod. The first named Secret is mounted instead."""
    pod = _oci_pod("oci+fetch://reg.io/img:1", imagePullSecrets=[{}, {"name": "regcred"}])
    resp = await api(wh.client, "POST", object_path(pod) + "?dryRun=All", pod)
    assert resp.status_code == 201, resp.json()
    (volume,) = [v for v in resp.json()["spec"]["volumes"]
                 if v["name"] == "kserve-oci-fetch-docker-config"]
    assert volume["secret"]["secretName"] == "regcred"
    only_unnamed = _oci_pod("oci+fetch://reg.io/img:1", imagePullSecrets=[{}])
    resp = await api(wh.client, "POST", object_path(only_unnamed) + "?dryRun=All", only_unnamed)
    assert resp.status_code == 201, resp.json()
    assert "kserve-oci-fetch-docker-config" not in [
        v["name"] for v in resp.json()["spec"].get("volumes") or []]


@pytest.mark.parametrize("uri", ["oci://", "oci+fetch://", "oci+native://"])
async def test_oci_uri_without_an_image_is_refused_naming_it(wh: Webhooks, uri: str) -> None:
    """Upstream makes a modelcar container (or volume, or fetch argument) without an image;
    the apiserver then refuses ``spec.containers[1].image: Required value``, which does not
    say where it came from. The mutator refuses it, naming the URI."""
    pod = _oci_pod(uri)
    resp = await api(wh.client, "POST", object_path(pod) + "?dryRun=All", pod)
    body = resp.json()
    assert resp.status_code == 403, body
    assert body["message"].endswith('denied the request: storage URI "oci://" has no image '
                                    "reference"), body["message"]
