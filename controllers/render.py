"""``kserve-manager render``: every object the manager would create for an InferenceService,
offline, without a cluster.

It runs the real InferenceService reconcile (the same code the manager runs) against an
in-memory API server (:class:`runtime.testing.fake_client.FakeClient`) seeded with the
``inferenceservice-config``, the serving runtimes and the InferenceService after the
defaulting webhook. Objects that only appear once the model server is up (the Ingress or
HTTPRoutes, the URL in the status) are produced by a second pass in which every Deployment
is made available, as the Deployment controller would. The output is YAML, one document per
object, the InferenceService's status last::

    kserve-manager render -f isvc.yaml [--config inferenceservice-config.yaml]
                          [--runtimes config/runtimes] [--namespace default]
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import anyio
import yaml

from apis.serving.v1alpha1 import ClusterServingRuntime, ServingRuntime
from apis.serving.v1beta1.configmap import parse_inferenceservice_config
from apis.serving.v1beta1.inference_service import InferenceService
from apis.serving.v1beta1.inference_service_defaults import default_inference_service
from controllers.config import CONFIG_MAP_NAME, ConfigSource
from runtime.reconcile import Request

__all__ = ["main", "render"]

ROOT = Path(__file__).resolve().parent.parent
_SERVER_FIELDS = ("uid", "resourceVersion", "creationTimestamp", "generation", "managedFields")
_ORDER = ["ConfigMap", "Service", "OpenTelemetryCollector", "Deployment",
          "HorizontalPodAutoscaler", "ScaledObject", "Ingress", "HTTPRoute"]


class _Recorder:
    def __init__(self) -> None:
        self.events: list[tuple[str, str, str]] = []

    def event(self, _obj: Any, etype: str, reason: str, _action: str, note: str) -> None:
        self.events.append((etype, reason, note))


class _AllServed:
    """Discovery of a cluster that serves every kind the config asks for."""

    async def is_served(self, _kind: Any) -> bool:
        return True


class _OfflineManager:
    def __init__(self, client: Any) -> None:
        self.client = client
        self.rest_mapper = _AllServed()
        self.recorder = _Recorder()

    def get_event_recorder(self, _name: str) -> _Recorder:
        return self.recorder


def _load(paths: Iterable[Path]) -> list[dict[str, Any]]:
    docs: list[dict[str, Any]] = []
    for path in paths:
        files = sorted(path.glob("*.yaml")) if path.is_dir() else [path]
        for f in files:
            docs += [d for d in yaml.safe_load_all(f.read_text()) if isinstance(d, dict)
                     and d.get("kind")]
    return docs


def _strip(obj: dict[str, Any]) -> dict[str, Any]:
    meta = obj.get("metadata") or {}
    for k in _SERVER_FIELDS:
        meta.pop(k, None)
    for ref in meta.get("ownerReferences") or ():
        ref.pop("uid", None)
    return obj


async def render(isvc_doc: dict[str, Any], config_data: dict[str, str],
                 runtime_docs: Sequence[dict[str, Any]],
                 kserve_namespace: str = "kserve") -> tuple[list[dict[str, Any]], Any]:
    """The objects the reconcile writes for ``isvc_doc`` (server fields dropped) and the
    InferenceService as it ends up (with status)."""
    from lightkube.models.meta_v1 import ObjectMeta
    from lightkube.resources.apps_v1 import Deployment
    from lightkube.resources.core_v1 import ConfigMap

    from controllers.inferenceservice.reconcile import InferenceServiceReconciler
    from runtime.testing.fake_client import FakeClient

    config = parse_inferenceservice_config(config_data)
    defaulted = default_inference_service(isvc_doc, config)
    client = FakeClient()
    client.add(ConfigMap(metadata=ObjectMeta(name=CONFIG_MAP_NAME, namespace=kserve_namespace),
                         data=config_data))
    for doc in runtime_docs:
        tp = ClusterServingRuntime if doc["kind"] == "ClusterServingRuntime" else ServingRuntime
        client.add(tp.model_validate(doc))
    client.add(InferenceService.model_validate(defaulted))
    seeded = {_key(o) for o in client.all_objects()}
    meta = defaulted["metadata"]
    mgr = _OfflineManager(client)
    reconciler = InferenceServiceReconciler(mgr, ConfigSource(client, kserve_namespace))
    req = Request(str(meta.get("namespace")), str(meta.get("name")))
    await reconciler.reconcile(req)  # finalizer
    await reconciler.reconcile(req)
    for dep in client.objects(Deployment):
        meta = dep["metadata"]
        await client.patch_status(Deployment, meta["name"], {"status": _available(meta)},
                                  namespace=meta["namespace"])
    for _ in range(3):
        await reconciler.reconcile(req)
    objects: list[dict[str, Any]] = []
    for body in client.all_objects():
        if _key(body) in seeded:
            continue
        if body.get("kind") == "Deployment":
            body.pop("status", None)
        objects.append(_strip(body))
    objects.sort(key=lambda o: (_ORDER.index(o["kind"]) if o["kind"] in _ORDER else 99,
                                o["metadata"].get("name", "")))
    final = await client.get(InferenceService, req.name, req.namespace)
    for etype, reason, note in mgr.recorder.events:
        if etype == "Warning":
            print(f"render: {reason}: {note}", file=sys.stderr)
    return objects, final


def _key(body: dict[str, Any]) -> tuple[Any, ...]:
    meta = body.get("metadata") or {}
    return body.get("kind"), meta.get("namespace"), meta.get("name")


def _available(meta: dict[str, Any]) -> dict[str, Any]:
    return {"observedGeneration": meta.get("generation"), "replicas": 1, "readyReplicas": 1,
            "availableReplicas": 1, "updatedReplicas": 1,
            "conditions": [{"type": "Available", "status": "True",
                            "reason": "MinimumReplicasAvailable"},
                           {"type": "Progressing", "status": "True",
                            "reason": "NewReplicaSetAvailable"}]}


def _default_config() -> dict[str, str]:
    doc = yaml.safe_load((ROOT / "config/configmap/inferenceservice.yaml").read_text())
    data: dict[str, str] = dict(doc["data"])
    data["deploy"] = json.dumps({"defaultDeploymentMode": "Standard"})
    return data


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="kserve-manager render",
        description="Print every object the manager would create for an InferenceService, "
        "offline (no cluster).")
    p.add_argument("-f", "--filename", required=True, type=Path,
                   help="the InferenceService (YAML or JSON)")
    p.add_argument("--config", type=Path,
                   help="an inferenceservice-config ConfigMap (default: the shipped one with "
                   "deploy.defaultDeploymentMode Standard)")
    p.add_argument("--runtimes", type=Path, action="append",
                   help="ServingRuntime/ClusterServingRuntime files or directories "
                   "(repeatable; default: config/runtimes)")
    p.add_argument("-n", "--namespace", default="default",
                   help="namespace of an InferenceService that names none")
    args = p.parse_args(argv)
    docs = [d for d in _load([args.filename]) if d.get("kind") == "InferenceService"]
    if not docs:
        print(f"render: no InferenceService in {args.filename}", file=sys.stderr)
        return 2
    config_data = (yaml.safe_load(args.config.read_text())["data"] if args.config
                   else _default_config())
    runtime_docs = _load(args.runtimes or [ROOT / "config/runtimes"])
    runtime_docs = [d for d in runtime_docs
                    if d["kind"] in ("ServingRuntime", "ClusterServingRuntime")]
    out: list[dict[str, Any]] = []
    for doc in docs:
        doc.setdefault("metadata", {}).setdefault("namespace", args.namespace)
        for rt in runtime_docs:
            if rt["kind"] == "ServingRuntime":
                rt.setdefault("metadata", {}).setdefault("namespace", args.namespace)
        objects, final = anyio.run(render, doc, config_data, runtime_docs)
        out += objects
        from runtime.codec import object_to_dict

        status = {"apiVersion": "serving.kserve.io/v1beta1", "kind": "InferenceService",
                  "metadata": {"name": final.metadata.name,
                               "namespace": final.metadata.namespace},
                  "status": object_to_dict(final).get("status")}
        out.append(status)
    yaml.safe_dump_all(out, sys.stdout, sort_keys=False)
    return 0
