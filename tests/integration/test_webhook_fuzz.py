"""Fuzzing the InferenceService webhooks through the real kube-apiserver.

Hypothesis builds InferenceService objects from the CRD's own OpenAPI schema
(``config/crd/full``): a random implementation and random component fields (depth-limited;
a quarter of the components straight from the whole schema), random annotations the rules
read, and for a third of them one to three "breakages" (a value replaced by one of another
JSON type, or removed); mixed with plausible, mostly valid InferenceServices. Each is POSTed
with ``dryRun=All`` (nothing stored; the webhooks are called, their ``sideEffects: None``
allows it), so the apiserver runs the defaulter, its schema validation and the validator.

Every answer must be 201 or a 4xx whose message names a field (``spec...`` or
``metadata...``): 0 HTTP 500, no webhook "internal error", no manager crash, no panic
counted. ``WEBHOOK_FUZZ_EXAMPLES`` sets the number of objects (default 300; the full run is
``WEBHOOK_FUZZ_EXAMPLES=10000``).
"""

from __future__ import annotations

import contextlib
import os
import re
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lightkube import AsyncClient, KubeConfig
from lightkube.core.exceptions import ApiError
from lightkube.models.meta_v1 import ObjectMeta
from lightkube.resources.core_v1 import Namespace

from runtime import metrics
from tests.integration._fuzz import break_one, json_paths
from tests.integration._webhook_harness import Webhooks, api, object_path, webhook_manager

pytestmark = [pytest.mark.integration, pytest.mark.anyio]

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = int(os.environ.get("WEBHOOK_FUZZ_EXAMPLES", "300"))
NAMES_A_FIELD = re.compile(r"(^|[\s:(\"'])(spec|metadata)(\.|\[|:|\b)")
MAX_DEPTH = 4

# ----------------------------------------------------------------------------- the schema


def _spec_schema() -> dict[str, Any]:
    doc = yaml.safe_load((ROOT / "config/crd/full/serving.kserve.io_inferenceservices.yaml")
                         .read_text())
    (version,) = [v for v in doc["spec"]["versions"] if v["name"] == "v1beta1"]
    schema: dict[str, Any] = version["schema"]["openAPIV3Schema"]["properties"]["spec"]
    return schema


SPEC = _spec_schema()
KEYS = st.sampled_from(["a", "b", "nvidia.com/gpu", "cpu", "memory", "x/y", "app"])
SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-3, 300),
                    st.sampled_from(["", "1", "2Gi", "500m", "gs://b/m", "v2", "x", "-1"]))
STRINGS = st.one_of(
    st.sampled_from(["", "1", "0", "-1", "2Gi", "100m", "1e3", "gs://b/m", "s3://b/m",
                     "pvc://claim/m", "oci://reg/img:1", "hf://org/model", "https://h/m.onnx",
                     "http://h/m", "/mnt/models", "../x", "/", "v1", "v2", "grpc-v2",
                     "kserve-container", "transformer-container", "PYTHONPATH",
                     "PIPELINE_PARALLEL_SIZE", "TENSOR_PARALLEL_SIZE", "STORAGE_URI",
                     "PROTOCOL", "cpu", "memory", "Utilization", "AverageValue", "Resource",
                     "External", "all", "request", "response", "2.5-gpu", "kbs:///a/b/c"]),
    st.text(alphabet="abcdef-./:0123456789", max_size=12),
)
_memo: dict[tuple[int, int], st.SearchStrategy[Any]] = {}


def from_schema(s: dict[str, Any], depth: int = 0) -> st.SearchStrategy[Any]:
    """Values the schema admits (mostly: patterns and formats are not honoured, so some are
    refused by the apiserver's schema validation, which is fine)."""
    key = (id(s), depth)
    if key in _memo:
        return _memo[key]
    out: st.SearchStrategy[Any]
    if "enum" in s:
        out = st.sampled_from(s["enum"])
    elif s.get("x-kubernetes-int-or-string"):
        out = st.one_of(st.integers(-1, 200), STRINGS)
    elif s.get("type") == "object" or "properties" in s:
        props: dict[str, Any] = s.get("properties") or {}
        required = [k for k in s.get("required", []) if k in props]
        if props and depth < MAX_DEPTH:
            out = st.fixed_dictionaries(
                {k: from_schema(props[k], depth + 1) for k in required},
                optional={k: from_schema(v, depth + 1) for k, v in props.items()
                          if k not in required},
            )
        elif props:
            out = st.fixed_dictionaries({k: from_schema(props[k], depth + 1) for k in required})
        elif isinstance(s.get("additionalProperties"), dict):
            out = st.dictionaries(KEYS, from_schema(s["additionalProperties"], depth + 1),
                                  max_size=2)
        else:
            out = st.dictionaries(KEYS, SCALARS, max_size=2)
    elif s.get("type") == "array":
        out = st.lists(from_schema(s.get("items") or {}, depth + 1), max_size=2)
    elif s.get("type") == "string":
        out = STRINGS
    elif s.get("type") == "integer":
        out = st.integers(-2, 150)
    elif s.get("type") == "number":
        out = st.floats(-1, 150, allow_nan=False, allow_infinity=False)
    elif s.get("type") == "boolean":
        out = st.booleans()
    else:
        out = SCALARS
    _memo[key] = out
    return out


COMPONENT = SPEC["properties"]["predictor"]["properties"]
MODEL = COMPONENT["model"]["properties"]
IMPLEMENTATIONS = ["sklearn", "xgboost", "tensorflow", "pytorch", "triton", "onnx", "pmml",
                   "lightgbm", "paddle", "huggingface", "model"]
EXTENSION = ["minReplicas", "maxReplicas", "scaleTarget", "scaleMetric", "scaleMetricType",
             "containerConcurrency", "timeout", "canaryTrafficPercent", "logger", "batcher",
             "autoScaling", "deploymentStrategy", "serviceAccountName", "nodeSelector",
             "labels", "annotations", "automountServiceAccountToken"]
WILD = ["storageUris", "workerSpec", "containers", "initContainers", "tolerations", "resources",
        "volumes", "affinity"]
IMPL_KEYS = ["modelFormat", "runtime", "runtimeVersion", "protocolVersion", "storageUri",
             "storage", "args"]
GPU = st.sampled_from(["nvidia.com/gpu", "amd.com/gpu", "example.com/gpu"])
RESOURCES = st.fixed_dictionaries({}, optional={
    kind: st.dictionaries(st.one_of(st.sampled_from(["cpu", "memory"]), GPU),
                          st.sampled_from(["1", "2", "500m", "2Gi", "100Mi", "0"]), max_size=3)
    for kind in ("limits", "requests")})
ENV = st.lists(st.fixed_dictionaries({
    "name": st.sampled_from(["PYTHONPATH", "STORAGE_URI", "PROTOCOL", "TENSOR_PARALLEL_SIZE",
                             "PIPELINE_PARALLEL_SIZE", "FOO"]),
    "value": st.sampled_from(["v1", "v2", "x", "2", "gs://b/m"])}), max_size=2)
STORAGE_URIS = st.lists(st.fixed_dictionaries(
    {"uri": st.sampled_from(["gs://b/m", "pvc://c/a", "pvc://c/b", "s3://b/x"])},
    optional={"mountPath": st.sampled_from(["/mnt/a", "/mnt/b", "/data/x"])}),
    min_size=1, max_size=3)
WORKER = st.fixed_dictionaries({}, optional={
    "tensorParallelSize": st.integers(-1, 4), "pipelineParallelSize": st.integers(-1, 4),
    "containers": st.lists(st.fixed_dictionaries({"name": st.just("worker-container"),
                                                  "image": st.just("img")},
                                                 optional={"resources": RESOURCES,
                                                           "env": ENV}), max_size=2)})
CURATED = {"resources": RESOURCES, "env": ENV, "storageUris": STORAGE_URIS,
           "workerSpec": WORKER}


@st.composite
def implementation(draw: st.DrawFn, wild: bool) -> dict[str, Any]:
    """A predictor implementation, with a storage URI most of the time."""
    if wild:
        impl = dict(draw(from_schema(COMPONENT["model"], 2)))
    else:
        impl = draw(st.fixed_dictionaries({}, optional={
            **{k: from_schema(MODEL[k], 3) for k in IMPL_KEYS},
            "resources": RESOURCES, "env": ENV}))
    if draw(st.integers(0, 3)):
        impl["storageUri"] = draw(st.sampled_from(["gs://b/m", "s3://b/m", "pvc://c/m",
                                                   "https://h/m.onnx", "oci://r/i:1"]))
    return impl


@st.composite
def component(draw: st.DrawFn, name: str) -> dict[str, Any]:
    wild = draw(st.integers(0, 3)) == 0  # a quarter straight from the schema
    props = SPEC["properties"][name]["properties"]
    keys = EXTENSION + WILD if wild else EXTENSION
    comp: dict[str, Any] = draw(st.fixed_dictionaries({}, optional={
        k: (from_schema(props[k], 2) if wild or k not in CURATED else CURATED[k])
        for k in keys if k in props}))
    if name == "predictor":
        n = draw(st.sampled_from([1] * 14 + [0, 2]))
        for key in draw(st.lists(st.sampled_from(IMPLEMENTATIONS), min_size=n, max_size=n,
                                 unique=True)):
            comp[key] = draw(implementation(wild))
    elif name == "explainer" and draw(st.booleans()):
        comp["art"] = {"type": draw(st.sampled_from(["SquareAttack", "x"])),
                       "storageUri": "gs://b/e"}
    elif draw(st.integers(0, 5)):
        comp["containers"] = [draw(st.fixed_dictionaries(
            {"image": st.just("img:1")},
            optional={"name": st.sampled_from(["kserve-container", "other"]), "env": ENV,
                      "resources": RESOURCES}))]
    return comp


ANNOTATIONS = {
    "serving.kserve.io/deploymentMode": ["Standard", "RawDeployment", "Knative", "Serverless",
                                         "ModelMesh", "bad"],
    "serving.kserve.io/autoscalerClass": ["hpa", "keda", "external", "none", "bad"],
    "autoscaling.knative.dev/class": ["hpa.autoscaling.knative.dev", "kpa.autoscaling.knative.dev"],
    "serving.kserve.io/metrics": ["cpu", "memory", "rps"],
    "serving.kserve.io/targetUtilizationPercentage": ["50", "150", "x"],
    "serving.kserve.io/gpu-resource-types": ['["example.com/gpu"]', "not json"],
    "serving.kserve.io/disable-localmodel": ["true"],
    "serving.kserve.io/stop": ["true", "false"],
}


@st.composite
def inference_services(draw: st.DrawFn) -> dict[str, Any]:
    spec: dict[str, Any] = {"predictor": draw(component("predictor"))}
    for name in ("transformer", "explainer"):
        if draw(st.integers(0, 4)) == 0:
            spec[name] = draw(component(name))
    if draw(st.integers(0, 5)) == 0:
        spec["canary"] = [{"name": draw(st.sampled_from(["c1", "c1", ""])),
                           "trafficPercent": draw(st.integers(-5, 120)),
                           "predictor": draw(component("predictor"))}]
    annotations = draw(st.fixed_dictionaries({}, optional={
        k: st.sampled_from(v) for k, v in ANNOTATIONS.items()}))
    obj = {"apiVersion": "serving.kserve.io/v1beta1", "kind": "InferenceService",
           "metadata": {"name": draw(st.sampled_from(["fz", "my-model", "m1", "a" * 50] * 3
                                                     + ["my.model"])),
                        "annotations": annotations},
           "spec": spec}
    if draw(st.integers(0, 2)) == 0:  # a third broken on purpose
        for _ in range(draw(st.integers(1, 3))):
            _break(draw, obj)
    return obj


@st.composite
def plausible_services(draw: st.DrawFn) -> dict[str, Any]:
    """InferenceServices a user would write (most of them valid)."""
    impl = draw(st.sampled_from(IMPLEMENTATIONS))
    model: dict[str, Any] = {"storageUri": draw(st.sampled_from(
        ["gs://b/m", "s3://b/m", "pvc://c/m", "https://h/m", "hf://org/m"]))}
    if impl == "model":
        model["modelFormat"] = {"name": draw(st.sampled_from(
            ["sklearn", "xgboost", "huggingface", "triton", "onnx", "vLLM"]))}
    if draw(st.booleans()):
        model["protocolVersion"] = draw(st.sampled_from(["v1", "v2", "grpc-v2"]))
    if draw(st.booleans()):
        model["resources"] = draw(RESOURCES)
    pred: dict[str, Any] = {impl: model}
    lo = draw(st.integers(0, 3))
    pred.update(draw(st.fixed_dictionaries({}, optional={
        "minReplicas": st.just(lo), "maxReplicas": st.integers(lo, lo + 5),
        "scaleTarget": st.integers(1, 100), "scaleMetric": st.sampled_from(["cpu", "memory"]),
        "containerConcurrency": st.integers(0, 8), "timeout": st.integers(1, 300),
        "serviceAccountName": st.just("sa"), "labels": st.just({"team": "a"})})))
    spec: dict[str, Any] = {"predictor": pred}
    if draw(st.integers(0, 3)) == 0:
        spec["transformer"] = {"containers": [{"image": "t:1", "env": draw(ENV)}]}
    annotations = draw(st.fixed_dictionaries({}, optional={
        "serving.kserve.io/deploymentMode": st.sampled_from(["Standard", "RawDeployment"]),
        "serving.kserve.io/autoscalerClass": st.sampled_from(["hpa", "none", "external"]),
        "serving.kserve.io/disable-localmodel": st.just("true")}))
    return {"apiVersion": "serving.kserve.io/v1beta1", "kind": "InferenceService",
            "metadata": {"name": draw(st.sampled_from(["fz", "my-model", "m1"])),
                         "annotations": annotations},
            "spec": spec}


def _break(draw: st.DrawFn, obj: dict[str, Any]) -> None:
    """Replace one value in ``spec`` by one of another JSON type, or remove it (broken
    metadata never reaches a webhook: the apiserver refuses to decode it)."""
    paths = [p for p in json_paths(obj) if p[0] == "spec" and len(p) > 1]
    choices: list[Any] = [None, "x", 7, -1, True, [], {}, [1, "a"], {"k": 1}, 1.5]
    break_one(draw, obj, paths, choices, removable=True)


# ----------------------------------------------------------------------------- the run


@pytest.fixture(scope="module")
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module")
async def wh(envtest: Any) -> AsyncIterator[tuple[Webhooks, str]]:
    kube = AsyncClient(KubeConfig.from_file(envtest.kubeconfig_path), field_manager="test")
    ns = "webhook-fuzz"
    with contextlib.suppress(ApiError):  # exists from an earlier run in this session
        await kube.create(Namespace(metadata=ObjectMeta(name=ns)))
    try:
        async with webhook_manager(envtest, kube) as running:
            yield running, ns
    finally:
        await kube.close()


OUTCOMES: Counter[str] = Counter()
FAILURES: list[tuple[int, str, dict[str, Any]]] = []


def _classify(status: int, body: dict[str, Any]) -> str:
    msg = str(body.get("message", ""))
    if status == 201:
        return "allowed"
    if status >= 500 or "internal error in admission webhook" in msg:
        return "ERROR"
    if not 400 <= status < 500:
        return "ERROR"
    if "denied the request" in msg:
        tail = msg.split("denied the request: ", 1)[-1]
        return "webhook refusal" if NAMES_A_FIELD.search(tail) else "ERROR (no field)"
    causes = (body.get("details") or {}).get("causes") or []
    named = (NAMES_A_FIELD.search(msg) or any(c.get("field") for c in causes)
             or "Go struct field " in msg)
    return f"apiserver {status}" if named else "ERROR (no field)"


@settings(max_examples=EXAMPLES, deadline=None, database=None,
          suppress_health_check=list(HealthCheck))
@given(obj=st.one_of(plausible_services(), inference_services()))
async def test_fuzz_inference_services(wh: tuple[Webhooks, str], obj: dict[str, Any]) -> None:
    running, ns = wh
    obj["metadata"]["namespace"] = ns
    resp = await api(running.client, "POST", object_path(obj) + "?dryRun=All", obj)
    body = resp.json()
    outcome = _classify(resp.status_code, body)
    OUTCOMES[outcome] += 1
    if outcome.startswith("ERROR"):
        FAILURES.append((resp.status_code, str(body.get("message"))[:500], obj))
    assert not outcome.startswith("ERROR"), (resp.status_code, body.get("message"))


async def test_fuzz_summary(wh: tuple[Webhooks, str]) -> None:
    """After the run: the manager still serves, nothing panicked, and the run was not
    trivial (objects were accepted and refused, by the webhooks and by the schema)."""
    running, ns = wh
    total = sum(OUTCOMES.values())
    print(f"\nwebhook fuzz: {total} InferenceServices: {dict(OUTCOMES)}")
    assert total >= EXAMPLES
    assert not FAILURES, FAILURES[:3]
    assert OUTCOMES["allowed"] > 0 and OUTCOMES["webhook refusal"] > 0
    assert metrics.WEBHOOK_PANICS_TOTAL._value.get() == 0
    assert running.server.started and not running.mgr._errors
    ok = {"apiVersion": "serving.kserve.io/v1beta1", "kind": "InferenceService",
          "metadata": {"name": "after-fuzz", "namespace": ns},
          "spec": {"predictor": {"sklearn": {"storageUri": "gs://b/m"}}}}
    resp = await api(running.client, "POST", object_path(ok) + "?dryRun=All", ok)
    assert resp.status_code == 201, resp.json()
