"""Running the InferenceService controller in-process against envtest, for the integration
tests: a Manager with the controller, its own ``inferenceservice-config`` in the test's
namespace, ServingRuntimes from config/runtimes, and helpers to play the Deployment
controller (envtest has no kube-controller-manager)."""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from lightkube import AsyncClient
from lightkube.generic_resource import create_namespaced_resource
from lightkube.models.meta_v1 import ObjectMeta
from lightkube.resources.apps_v1 import Deployment
from lightkube.resources.core_v1 import ConfigMap, Service
from lightkube.types import PatchType

from controllers.config import CONFIG_MAP_NAME, ConfigSource
from controllers.inferenceservice.controller import by_object, setup
from controllers.inferenceservice.reconcile import InferenceServiceReconciler
from runtime.cache import CacheOptions
from runtime.manager import Manager
from runtime.testing.eventually import eventually
from runtime.testing.manager import started
from runtime.testing.metrics import requests_by_method as requests_by_method  # for tests/knative

ROOT = Path(__file__).resolve().parents[2]


def shipped_config(**overrides: Mapping[str, Any]) -> dict[str, str]:
    """The shipped ``inferenceservice-config`` data, in Standard mode, with keys replaced by
    ``overrides`` (key -> JSON object, merged over the shipped one)."""
    import json

    doc = yaml.safe_load((ROOT / "config/configmap/inferenceservice.yaml").read_text())
    data: dict[str, str] = dict(doc["data"])
    data["deploy"] = json.dumps({"defaultDeploymentMode": "Standard"})
    for key, value in overrides.items():
        base = json.loads(data[key]) if key in data else {}
        base.update(value)
        data[key] = json.dumps(base)
    return data


def runtime(name: str, namespace: str | None = None) -> dict[str, Any]:
    """A shipped ClusterServingRuntime (config/runtimes/kserve-<name>.yaml), as a
    namespaced ServingRuntime when ``namespace`` is given (tests share one apiserver)."""
    doc = yaml.safe_load((ROOT / f"config/runtimes/kserve-{name}.yaml").read_text())
    if namespace is not None:
        doc["kind"] = "ServingRuntime"
        doc["metadata"]["namespace"] = namespace
    return doc


@dataclass
class Running:
    mgr: Manager
    reconciler: InferenceServiceReconciler

    @property
    def client(self) -> Any:
        return self.mgr.client


@asynccontextmanager
async def isvc_manager(envtest: Any, kube: AsyncClient, namespace: str,
                       config: Mapping[str, str] | None = None,
                       also_watch: Sequence[str] = (),
                       **kw: Any) -> AsyncIterator[Running]:
    """A started Manager running the InferenceService controller, its config in
    ``namespace``; its cache sees ``namespace`` and the ``also_watch`` namespaces."""
    await kube.apply(ConfigMap(metadata=ObjectMeta(name=CONFIG_MAP_NAME, namespace=namespace),
                               data=dict(config if config is not None else shipped_config())),
                     field_manager="test", force=True)
    kw.setdefault("metrics_bind_address", "127.0.0.1:0")
    kw.setdefault("health_probe_bind_address", "127.0.0.1:0")
    kw.setdefault("max_concurrent_reconciles", 4)
    # only this test's namespace: other tests' leftovers (a shared apiserver) stay out of view
    options = CacheOptions(by_object=by_object())
    if also_watch:
        options = CacheOptions(by_object=by_object(),
                               default_namespaces=[namespace, *also_watch])
    else:
        kw.setdefault("namespace", namespace)
    mgr = Manager(str(envtest.kubeconfig_path), field_manager="manager",
                  cache_options=options, **kw)
    source = ConfigSource(mgr.client, namespace, recorder=mgr.get_event_recorder("config"))
    reconciler = setup(mgr, source)
    async with started(mgr, synced=False, within=30):
        yield Running(mgr, reconciler)


def writes(counts: Mapping[str, float]) -> float:
    return sum(v for m, v in counts.items() if m in ("POST", "PUT", "PATCH", "DELETE"))


async def wait_ready(client: Any, name: str, namespace: str, within: float = 30) -> Any:
    """The InferenceService once its Ready condition is True (read from the API server)."""
    from apis.serving.v1beta1.inference_service import InferenceService

    async def ready() -> Any:
        isvc = await client.api_reader.get(InferenceService, name, namespace)
        conds = {c.type: c.status for c in (isvc.status.conditions or [])} \
            if isvc.status else {}
        return isvc if conds.get("Ready") == "True" else None

    return await eventually(ready, within=within)


async def make_available(kube: AsyncClient, name: str, namespace: str,
                         replicas: int = 1) -> None:
    """Play the Deployment controller: Available + NewReplicaSetAvailable, all replicas
    ready, the current generation observed."""
    dep = await eventually(lambda: _get(kube, Deployment, name, namespace))
    status = {
        "observedGeneration": dep.metadata.generation,
        "replicas": replicas, "readyReplicas": replicas, "availableReplicas": replicas,
        "updatedReplicas": replicas,
        "conditions": [
            {"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable",
             "message": "Deployment has minimum availability.",
             "lastTransitionTime": "2026-01-01T00:00:00Z",
             "lastUpdateTime": "2026-01-01T00:00:00Z"},
            {"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable",
             "message": f'ReplicaSet "{name}-abc" has successfully progressed.',
             "lastTransitionTime": "2026-01-01T00:00:00Z",
             "lastUpdateTime": "2026-01-01T00:00:00Z"},
        ],
    }
    await kube.patch(Deployment.Status, name, {"status": status}, namespace=namespace)


async def _get(kube: AsyncClient, resource: Any, name: str, namespace: str) -> Any:
    try:
        return await kube.get(resource, name, namespace=namespace)
    except Exception:
        return None


async def get(kube: AsyncClient, resource: Any, name: str, namespace: str) -> Any:
    """The object, or None if it does not exist."""
    return await _get(kube, resource, name, namespace)


def without_volatile(obj: Any) -> Any:
    """A JSON copy without the fields the server sets (uid, resourceVersion, timestamps,
    managedFields), for whole-object comparisons."""
    out = copy.deepcopy(obj)
    meta = out.get("metadata", {})
    for k in ("uid", "resourceVersion", "creationTimestamp", "managedFields", "generation"):
        meta.pop(k, None)
    for ref in meta.get("ownerReferences") or ():
        ref.pop("uid", None)
    return out


# --------------------------------------------------------------------------- upstream's setup

CRD_DIR = ROOT / "tests/data/crds"
THIRD_PARTY_CRDS = {
    "httproutes.gateway.networking.k8s.io": "gateway.networking.k8s.io_httproutes.yaml",
    "scaledobjects.keda.sh": "keda.sh_scaledobjects.yaml",
    "opentelemetrycollectors.opentelemetry.io": "opentelemetry.io_opentelemetrycollectors.yaml",
}


def crd_installed(envtest: Any, name: str) -> bool:
    from lightkube.resources.apiextensions_v1 import CustomResourceDefinition

    client = envtest.client()
    try:
        client.get(CustomResourceDefinition, name)
        return True
    except Exception:
        return False
    finally:
        client.close()


def install_crds(envtest: Any, *names: str) -> list[str]:
    """Install third-party CRDs (``tests/data/crds``) that are not installed yet; returns the
    ones this call installed (for :func:`uninstall_crds`)."""
    todo = [n for n in names if not crd_installed(envtest, n)]
    if todo:
        envtest.install_crds([CRD_DIR / THIRD_PARTY_CRDS[n] for n in todo])
    return todo


def uninstall_crds(envtest: Any, names: list[str], within: float = 60) -> None:
    """Delete CRDs and wait until they are gone (their objects with them)."""
    import time

    from lightkube.resources.apiextensions_v1 import CustomResourceDefinition

    client = envtest.client()
    try:
        for name in names:
            with suppress(Exception):
                client.delete(CustomResourceDefinition, name)
        deadline = time.monotonic() + within
        while any(crd_installed(envtest, n) for n in names):
            if time.monotonic() > deadline:
                raise TimeoutError(f"CRDs not deleted: {names}")
            time.sleep(0.2)
    finally:
        client.close()


def upstream_config(*, gateway_api: bool = True, **merge: Mapping[str, Any]) -> dict[str, str]:
    """Upstream's test ``inferenceservice-config`` (``suite_test.go``: ``getBaseTestConfigs``,
    with ``gateway_api`` ``getRawKubeTestConfigs``), ``deploy`` in Standard mode (the tests'
    InferenceServices carry the mode annotation anyway) and ``merge`` merged into keys, as
    ``mergeJSONField`` does."""
    import json

    data: dict[str, Any] = {
        "explainers": {"art": {"image": "kserve/art-explainer", "defaultImageVersion": "latest"},
                       "alibi": {"image": "kserve/alibi-explainer",
                                 "defaultImageVersion": "latest"}},
        "ingress": {"kserveIngressGateway": "kserve/kserve-ingress-gateway",
                    "ingressGateway": "knative-serving/knative-ingress-gateway",
                    "localGateway": "knative-serving/knative-local-gateway",
                    "localGatewayService": "knative-local-gateway.istio-system.svc.cluster.local"},
        "storageInitializer": {"image": "kserve/storage-initializer:latest",
                               "memoryRequest": "100Mi", "memoryLimit": "1Gi",
                               "cpuRequest": "100m", "cpuLimit": "1",
                               "caBundleConfigMapName": "",
                               "caBundleVolumeMountPath": "/etc/ssl/custom-certs",
                               "cpuModelcar": "10m", "memoryModelcar": "15Mi"},
        "deploy": {"defaultDeploymentMode": "Knative"},
        "inferenceService": {},
    }
    if gateway_api:
        data["ingress"].update({"enableGatewayApi": True,
                                "additionalIngressDomains": ["additional.example.com"]})
    for key, value in merge.items():
        data.setdefault(key, {}).update(value)
    return {k: json.dumps(v) for k, v in data.items()}


def tf_serving_runtime(name: str, namespace: str) -> dict[str, Any]:
    """``tests_common.go`` ``getServingRuntime``: a tensorflow ServingRuntime."""
    return {
        "apiVersion": "serving.kserve.io/v1alpha1", "kind": "ServingRuntime",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "supportedModelFormats": [{"name": "tensorflow", "version": "1",
                                       "autoSelect": True}],
            "containers": [{
                "name": "kserve-container", "image": "tensorflow/serving:1.14.0",
                "command": ["/usr/bin/tensorflow_model_server"],
                "args": ["--port=9000", "--rest_api_port=8080",
                         "--model_base_path=/mnt/models", "--rest_api_timeout_in_ms=60000"],
                "resources": DEFAULT_RESOURCES,
            }],
            "disabled": False,
        },
    }


DEFAULT_RESOURCES = {"limits": {"cpu": "1", "memory": "2Gi"},
                     "requests": {"cpu": "1", "memory": "2Gi"}}
"""``tests_common.go`` ``defaultResource``."""


def defaulted(isvc: Mapping[str, Any], config: Mapping[str, str] | None = None) -> Any:
    """``isvc.DefaultInferenceService(nil, nil, &SecurityConfig{false}, nil, nil)`` as the
    upstream tests call it (no webhook on envtest): an InferenceService ready to create."""
    from apis.serving.v1beta1.configmap import parse_inferenceservice_config
    from apis.serving.v1beta1.inference_service import InferenceService
    from apis.serving.v1beta1.inference_service_defaults import default_inference_service

    cfg = parse_inferenceservice_config(dict(config)) if config is not None else None
    body = {"apiVersion": "serving.kserve.io/v1beta1", "kind": "InferenceService", **isvc}
    return InferenceService.model_validate(default_inference_service(body, cfg))


async def deployment_available(kube: AsyncClient, name: str, namespace: str) -> None:
    """What upstream's tests write: ``conditions: [{Available: True}]``, plus the
    ``observedGeneration`` the Deployment controller always writes (ours waits for the
    Deployment controller to have seen the current spec; upstream's test leaves it out)."""
    dep = await eventually(lambda: _get(kube, Deployment, name, namespace))
    await kube.patch(Deployment.Status, name, {"status": {
        "observedGeneration": dep.metadata.generation,
        "conditions": [{"type": "Available", "status": "True"}]}}, namespace=namespace)


KSERVE_GATEWAY = {"group": "gateway.networking.k8s.io", "kind": "Gateway",
                  "name": "kserve-ingress-gateway", "namespace": "kserve"}


async def accept_routes(kube: AsyncClient, namespace: str, *names: str) -> None:
    """Play the gateway controller: each HTTPRoute Accepted by ``kserve-ingress-gateway``
    (upstream's ``httpRouteStatus``)."""
    from controllers.thirdparty import HTTPRoute

    status = {"parents": [{
        "parentRef": KSERVE_GATEWAY, "controllerName": "istio.io/gateway-controller",
        "conditions": [{"type": "Accepted", "status": "True", "reason": "Accepted",
                        "message": "Route was valid",
                        "lastTransitionTime": "2026-01-01T00:00:00Z"}]}]}
    for name in names:
        await eventually(lambda n=name: _get(kube, HTTPRoute, n, namespace))
        await kube.patch(HTTPRoute.Status, name, {"status": status}, namespace=namespace,
                         patch_type=PatchType.MERGE)


# --------------------------------------------------------------------------- comparisons

ISVC = create_namespaced_resource("serving.kserve.io", "v1beta1", "InferenceService",
                                  "inferenceservices")
"""InferenceService as a lightkube generic resource, for the test's own client."""

_SERVICE_SERVER_FIELDS = ("clusterIP", "clusterIPs", "ipFamilies", "ipFamilyPolicy",
                          "internalTrafficPolicy")


async def stored(kube: AsyncClient, resource: Any, name: str, namespace: str) -> Any:
    """The object as a JSON dict without what the server sets (uid, resourceVersion,
    timestamps, managedFields, generation, the Service's allocated IPs and families) and
    without ``status``; None if absent."""
    from runtime.codec import object_to_dict

    obj = await _get(kube, resource, name, namespace)
    if obj is None:
        return None
    out = without_volatile(object_to_dict(obj))
    out.pop("status", None)
    out.pop("apiVersion", None)
    out.pop("kind", None)
    if out.get("metadata", {}).get("annotations") == {}:
        del out["metadata"]["annotations"]
    if resource is Service:
        spec = out.get("spec", {})
        headless = spec.get("clusterIP") == "None"  # asked for, not allocated: kept
        for k in _SERVICE_SERVER_FIELDS:
            if not (headless and k in ("clusterIP", "clusterIPs")):
                spec.pop(k, None)
    return out


async def eventually_stored(kube: AsyncClient, resource: Any, name: str, namespace: str,
                            expected: Mapping[str, Any], within: float = 30) -> None:
    """Wait until the stored object equals ``expected``; on timeout fail with the diff."""
    last: Any = None

    async def same() -> bool:
        nonlocal last
        last = await stored(kube, resource, name, namespace)
        return bool(last == expected)

    try:
        await eventually(same, within=within)
    except TimeoutError:
        raise AssertionError(f"{name}: stored object differs:\n{diff(last, expected)}") from None


def owner(isvc_name: str) -> list[dict[str, Any]]:
    """The controller reference every child object carries (uid dropped)."""
    return [{"apiVersion": "serving.kserve.io/v1beta1", "kind": "InferenceService",
             "name": isvc_name, "controller": True, "blockOwnerDeletion": True}]


async def isvc_status(kube: AsyncClient, name: str, namespace: str) -> dict[str, Any] | None:
    """The InferenceService's stored status without condition timestamps
    (``cmpopts.IgnoreTypes(apis.VolatileTime{})``)."""
    obj = await _get(kube, ISVC, name, namespace)
    if obj is None:
        return None
    status = copy.deepcopy(obj.to_dict().get("status") or {})
    for c in status.get("conditions") or ():
        c.pop("lastTransitionTime", None)
    return dict(status)


async def eventually_status(kube: AsyncClient, name: str, namespace: str,
                            expected: Mapping[str, Any], within: float = 30) -> None:
    last: Any = None

    async def same() -> bool:
        nonlocal last
        last = await isvc_status(kube, name, namespace)
        return bool(last == expected)

    try:
        await eventually(same, within=within)
    except TimeoutError:
        raise AssertionError(f"{name}: status differs:\n{diff(last, expected)}") from None


def diff(actual: Any, expected: Any, path: str = "") -> str:
    """The differences between two JSON values, one line per path (actual vs expected)."""
    lines: list[str] = []

    def walk(a: Any, e: Any, p: str) -> None:
        if isinstance(a, dict) and isinstance(e, dict):
            for k in sorted(set(a) | set(e), key=str):
                if k not in e:
                    lines.append(f"{p}.{k}: unexpected {a[k]!r}")
                elif k not in a:
                    lines.append(f"{p}.{k}: missing, expected {e[k]!r}")
                else:
                    walk(a[k], e[k], f"{p}.{k}")
        elif isinstance(a, list) and isinstance(e, list) and len(a) == len(e):
            for i, (ai, ei) in enumerate(zip(a, e, strict=True)):
                walk(ai, ei, f"{p}[{i}]")
        elif a != e:
            lines.append(f"{p}: {a!r} != expected {e!r}")

    walk(actual, expected, path)
    return "\n".join(lines)


def record_reconciles(run: Running) -> list[Any]:
    """From now on, the Requests the controller reconciles (appended as they start)."""
    seen: list[Any] = []
    inner = run.reconciler.reconcile

    async def recording(req: Any) -> Any:
        seen.append(req)
        return await inner(req)

    run.reconciler.reconcile = recording  # type: ignore[method-assign]
    return seen
