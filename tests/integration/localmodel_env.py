"""Running the LocalModel controllers and the node agent in-process against envtest (or the
cluster tier), for the LocalModel tests: upstream's fixtures (node groups selecting nodes by
``node.kubernetes.io/instance-type``, Nodes with a Ready condition, ``inferenceservice-config``
with a ``localModel`` key) with names unique to each test, as the API server is shared."""

from __future__ import annotations

import copy
import json
import uuid
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from lightkube import AsyncClient
from lightkube.models.meta_v1 import ObjectMeta
from lightkube.resources.core_v1 import ConfigMap, Namespace, Node

from controllers.config import CONFIG_MAP_NAME, ConfigSource
from controllers.localmodel import controller as lmc
from controllers.localmodel.manager import cache_options as manager_cache_options
from controllers.localmodelnode import controller as agentc
from controllers.localmodelnode.manager import cache_options as agent_cache_options
from runtime.client import Client, ignore_not_found
from runtime.manager import Manager
from runtime.testing.manager import started

INSTANCE_TYPE = "node.kubernetes.io/instance-type"
SOURCE_URI = "s3://mybucket/mymodel"


def uid() -> str:
    return uuid.uuid4().hex[:6]


class LocalModelEnv:
    """One test's names (suffixed with a fresh id), its namespace and Jobs namespace, and
    the objects it made (``cleanup``: removed afterwards); reads go to the API server."""

    def __init__(self, kube: AsyncClient, namespace: str, jobs: str) -> None:
        self.kube = kube
        self.c = Client(kube)
        self.ns = namespace
        self.jobs = jobs
        self.id = uid()
        self.cleanup: list[tuple[Any, str, str | None]] = []

    def n(self, base: str) -> str:
        return f"{base}-{self.id}"

    async def get(self, kind: Any, name: str, namespace: str | None = None) -> Any:
        return await ignore_not_found(self.c.api_reader.get(kind, name, namespace))


def node_group_spec(instance_type: str, *, storage_class: str = "standard",
                    host_path: str = "/models") -> dict[str, Any]:
    """Upstream's ``localModelNodeGroupSpec`` selecting ``instance-type In [instance_type]``."""
    return {
        "storageLimit": "10Gi",
        "persistentVolumeSpec": {
            "accessModes": ["ReadWriteOnce"],
            "volumeMode": "Filesystem",
            "capacity": {"storage": "2Gi"},
            "storageClassName": storage_class,
            "persistentVolumeReclaimPolicy": "Delete",
            "hostPath": {"path": host_path, "type": "Directory"},
            "nodeAffinity": {"required": {"nodeSelectorTerms": [{"matchExpressions": [
                {"key": INSTANCE_TYPE, "operator": "In", "values": [instance_type]}]}]}},
        },
        "persistentVolumeClaimSpec": {
            "accessModes": ["ReadWriteOnce"],
            "resources": {"requests": {"storage": "2Gi"}},
            **({"storageClassName": storage_class} if storage_class else {}),
        },
    }


def node_group(name: str, instance_type: str, **kw: Any) -> dict[str, Any]:
    return {"apiVersion": "serving.kserve.io/v1alpha1", "kind": "LocalModelNodeGroup",
            "metadata": {"name": name}, "spec": node_group_spec(instance_type, **kw)}


def node(name: str, instance_type: str, *, ready: bool = True) -> Node:
    return Node.from_dict({
        "metadata": {"name": name, "labels": {INSTANCE_TYPE: instance_type}},
        "status": {"conditions": [{"type": "Ready", "status": "True" if ready else "False"}]},
    })


def config_data(job_namespace: str, **local_model: Any) -> dict[str, str]:
    lm = {"jobNamespace": job_namespace, "defaultJobImage": "kserve/storage-initializer:latest",
          **local_model}
    return {
        "localModel": json.dumps(lm),
        "storageInitializer": json.dumps({
            "image": "kserve/storage-initializer:latest", "cpuRequest": "100m",
            "cpuLimit": "1", "memoryRequest": "200Mi", "memoryLimit": "1Gi"}),
    }


async def put_config(kube: AsyncClient, namespace: str, data: Mapping[str, str]) -> None:
    await kube.apply(ConfigMap(metadata=ObjectMeta(name=CONFIG_MAP_NAME, namespace=namespace),
                               data=dict(data)), field_manager="test", force=True)


async def create_node(kube: AsyncClient, n: Node) -> None:
    """Create a Node and set its status (the API server drops status on create)."""
    created = await kube.create(n)
    status = n.status.to_dict() if n.status is not None else {}
    await kube.patch(Node.Status, created.metadata.name, {"status": status})


async def set_ready(kube: AsyncClient, name: str, ready: bool) -> None:
    await kube.patch(Node.Status, name, {"status": {"conditions": [
        {"type": "Ready", "status": "True" if ready else "False"}]}})


async def new_namespace(kube: AsyncClient, prefix: str) -> str:
    name = f"{prefix}-{uid()}"
    await kube.create(Namespace(metadata=ObjectMeta(name=name)))
    return name


def total(counts: Mapping[str, float]) -> float:
    return sum(counts.values())


LOCALMODEL_CONTROLLERS = ("localmodelcache", "localmodelnamespacecache", "localmodelnode-models")


@dataclass
class Running:
    mgr: Manager
    config: ConfigSource

    @property
    def client(self) -> Any:
        return self.mgr.client


@asynccontextmanager
async def localmodel_manager(kubeconfig: str, config_namespace: str,
                             **kw: Any) -> AsyncIterator[Running]:
    """A started manager with the LocalModel controllers (config from ``config_namespace``)."""
    kw.setdefault("metrics_bind_address", "0")
    kw.setdefault("health_probe_bind_address", "0")
    kw.setdefault("max_concurrent_reconciles", 4)
    mgr = Manager(kubeconfig, field_manager="manager",
                  cache_options=manager_cache_options(config_namespace), **kw)
    config = ConfigSource(mgr.client, config_namespace)
    lmc.setup(mgr, config)
    async with started(mgr, within=60):
        yield Running(mgr, config)


@asynccontextmanager
async def agent(kubeconfig: str, config_namespace: str, node_name: str, models_root: str,
                **kw: Any) -> AsyncIterator[Running]:
    """A started node agent for ``node_name`` with its models below ``models_root``."""
    kw.setdefault("metrics_bind_address", "0")
    kw.setdefault("health_probe_bind_address", "0")
    mgr = Manager(kubeconfig, field_manager="manager",
                  cache_options=agent_cache_options(node_name, config_namespace), **kw)
    config = ConfigSource(mgr.client, config_namespace)
    agentc.setup(mgr, config, node_name, models_root)
    async with started(mgr, within=60):
        yield Running(mgr, config)


def without_volatile(obj: Mapping[str, Any]) -> dict[str, Any]:
    """A copy without what the server sets (uid, resourceVersion, timestamps, managedFields,
    generation, status), for whole-object comparisons."""
    out = copy.deepcopy(dict(obj))
    meta = out.get("metadata", {})
    for k in ("uid", "resourceVersion", "creationTimestamp", "managedFields", "generation",
              "finalizers"):
        meta.pop(k, None)
    for ref in meta.get("ownerReferences") or ():
        ref.pop("uid", None)
    out.pop("status", None)
    return out
