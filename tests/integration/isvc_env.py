"""Running the InferenceService controller in-process against envtest, for the integration
tests: a Manager with the controller, its own ``inferenceservice-config`` in the test's
namespace, ServingRuntimes from config/runtimes, and helpers to play the Deployment
controller (envtest has no kube-controller-manager)."""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import yaml
from lightkube import AsyncClient
from lightkube.models.meta_v1 import ObjectMeta
from lightkube.resources.apps_v1 import Deployment
from lightkube.resources.core_v1 import ConfigMap

from controllers.config import CONFIG_MAP_NAME, ConfigSource
from controllers.inferenceservice.controller import by_object, setup
from controllers.inferenceservice.reconcile import InferenceServiceReconciler
from runtime import metrics
from runtime.cache import CacheOptions
from runtime.manager import Manager
from runtime.testing.eventually import eventually

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
                       **kw: Any) -> AsyncIterator[Running]:
    """A started Manager running the InferenceService controller, its config in
    ``namespace``."""
    await kube.apply(ConfigMap(metadata=ObjectMeta(name=CONFIG_MAP_NAME, namespace=namespace),
                               data=dict(config if config is not None else shipped_config())),
                     field_manager="test", force=True)
    kw.setdefault("metrics_bind_address", "127.0.0.1:0")
    kw.setdefault("health_probe_bind_address", "127.0.0.1:0")
    kw.setdefault("max_concurrent_reconciles", 4)
    mgr = Manager(str(envtest.kubeconfig_path), field_manager="manager",
                  cache_options=CacheOptions(by_object=by_object()), **kw)
    source = ConfigSource(mgr.client, namespace, recorder=mgr.get_event_recorder("config"))
    reconciler = setup(mgr, source)
    async with anyio.create_task_group() as tg:
        tg.start_soon(mgr.start)
        await eventually(lambda: mgr.elected().is_set(), within=30)
        try:
            yield Running(mgr, reconciler)
        finally:
            mgr.stop()


def requests_by_method() -> dict[str, float]:
    """rest_client_requests_total of this process, summed by HTTP method."""
    out: dict[str, float] = {}
    for metric in metrics.REGISTRY.collect():
        if metric.name != "rest_client_requests":
            continue
        for sample in metric.samples:
            if sample.name.endswith("_total"):
                method = sample.labels["method"]
                out[method] = out.get(method, 0.0) + sample.value
    return out


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
