"""The TrainedModel controller on a real kube-apiserver (envtest): upstream's
``trainedmodel/controller_test.go`` (vector V29: unready parent -> not added; ready -> added
to ``models.json``; update; delete -> removed; memory over the limit -> not added; non-MMS ->
not added) with full status, plus what upstream gets wrong: waiting for the ConfigMap without
an error loop, memory freed by a deleted model letting a refused one in, a missing parent,
a stable ``models.json`` order, and a no-op reconcile costing 0 API requests.

The InferenceServices' status is set by hand: the InferenceService controller is not part of
this test (it is written separately), and envtest runs no other controller."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
import pytest
from lightkube import AsyncClient
from lightkube.models.meta_v1 import ObjectMeta
from lightkube.resources.core_v1 import ConfigMap
from lightkube.resources.events_v1 import Event

from apis.serving.v1alpha1.trained_model import TrainedModel
from apis.serving.v1beta1.inference_service import InferenceService
from controllers.trainedmodel import controller as tmc
from runtime.manager import Manager
from runtime.reconcile import Request
from runtime.testing.eventually import eventually
from runtime.testing.manager import started
from runtime.testing.metrics import quiet, reconcile_errors, reconcile_total, requests_total

pytestmark = [pytest.mark.integration, pytest.mark.anyio]

RESOURCES = {"limits": {"cpu": "1", "memory": "2Gi"}, "requests": {"cpu": "1", "memory": "2Gi"}}
MMS_PREDICTOR = {"minReplicas": 1, "maxReplicas": 3, "tensorflow": {
    "runtimeVersion": "1.14.0", "name": "kserve-container", "resources": RESOURCES}}
READY = [{"type": "Ready", "status": "True"}, {"type": "PredictorReady", "status": "True"},
         {"type": "IngressReady", "status": "True"}]


def errors_count() -> float:
    return reconcile_errors("trainedmodel")


def reconciles() -> float:
    return reconcile_total("trainedmodel")


@asynccontextmanager
async def running(envtest: Any) -> AsyncIterator[Manager]:
    mgr = Manager(str(envtest.kubeconfig_path), metrics_bind_address="0",
                  health_probe_bind_address="0")
    tmc.setup(mgr, None)
    async with started(mgr):
        yield mgr


async def make_isvc(mgr: Manager, name: str, ns: str, predictor: dict[str, Any] | None = None,
                    *, ready: bool = True) -> None:
    await mgr.client.create(InferenceService.model_validate({
        "metadata": {"name": name, "namespace": ns},
        "spec": {"predictor": predictor or MMS_PREDICTOR}}))
    if ready:
        await mgr.client.patch_status(InferenceService, name, {"status": {
            "url": f"http://{name}-predictor.{ns}.example.com",
            "address": {"url": f"http://{name}-predictor.{ns}.svc.cluster.local"},
            "conditions": READY,
            "modelStatus": {"transitionStatus": "UpToDate",
                            "states": {"activeModelState": "Loaded"}},
        }}, namespace=ns)


async def make_tm(mgr: Manager, name: str, ns: str, isvc: str, memory: str = "1G",
                  uri: str = "s3//model1") -> None:
    await mgr.client.create(TrainedModel.model_validate({
        "metadata": {"name": name, "namespace": ns},
        "spec": {"inferenceService": isvc,
                 "model": {"storageUri": uri, "framework": "tensorflow", "memory": memory}}}))


async def make_cm(kube: AsyncClient, isvc: str, ns: str, text: str = "") -> None:
    await kube.create(ConfigMap(metadata=ObjectMeta(name=f"modelconfig-{isvc}-0", namespace=ns),
                                data={"models.json": text}))


async def models_json(kube: AsyncClient, isvc: str, ns: str) -> str | None:
    try:
        cm = await kube.get(ConfigMap, f"modelconfig-{isvc}-0", namespace=ns)
    except Exception:
        return None
    return (cm.data or {}).get("models.json")


async def tm_get(mgr: Manager, name: str, ns: str) -> Any:
    try:
        return await mgr.client.api_reader.get(TrainedModel, name, ns)
    except Exception:
        return None


def conds(tm: Any) -> dict[str, tuple[str, str | None]]:
    return {c.type: (c.status, c.reason) for c in (tm.status.conditions if tm and tm.status
                                                     else None) or []}


async def events(kube: AsyncClient, ns: str, name: str, reason: str) -> list[Any]:
    return [e async for e in kube.list(Event, namespace=ns)
            if e.reason == reason and e.regarding.name == name]


def entry(name: str, uri: str = "s3//model1", memory: str = "1G") -> dict[str, Any]:
    return {"modelName": name,
            "modelSpec": {"storageUri": uri, "framework": "tensorflow", "memory": memory}}


# ---------------------------------------------------------------------------------------------


async def test_v29_unready_and_non_mms_parent_not_added(
        envtest: Any, kube_client: AsyncClient, namespace: str) -> None:
    async with running(envtest) as mgr:
        # upstream "unready InferenceService": no status, and (ours) a storageUri predictor
        await make_isvc(mgr, "model0-create-parent", namespace,
                        {"tensorflow": {"storageUri": "gs://b/m", "resources": RESOURCES}},
                        ready=False)
        await make_cm(kube_client, "model0-create-parent", namespace)
        await make_tm(mgr, "model0-create", namespace, "model0-create-parent")

        async def refused() -> Any:
            tm = await tm_get(mgr, "model0-create", namespace)
            c = conds(tm)
            return tm if c.get("InferenceServiceReady", ("",))[0] == "False" else None

        tm = await eventually(refused)
        assert conds(tm) == {
            "InferenceServiceReady": ("False", "InferenceServiceNotReady"),
            "IsMMSPredictor": ("False", "IsNotMMSPredictor"),
            "MemoryResourceAvailable": ("True", None),
            "Ready": ("False", conds(tm)["Ready"][1]),
        }
        assert conds(tm)["Ready"][1] in ("InferenceServiceNotReady", "IsNotMMSPredictor")
        assert tm.metadata.finalizers == ["trainedmodel.finalizer"]
        assert tm.metadata.labels == {"inferenceservice": "model0-create-parent",
                                      "serving.kserve.io/trainedmodel-allocated":
                                          "model0-create-parent"}
        assert tm.status.url is None and tm.status.address is None
        for reason in ("InferenceServiceNotReady", "IsNotMMSPredictor"):
            ev = await eventually(lambda r=reason: events(kube_client, namespace,
                                                          "model0-create", r))
            assert ev[0].type == "Warning"
        assert await models_json(kube_client, "model0-create-parent", namespace) == ""
        # refused is not an error loop: no error, and once the follow-ups of the writes above
        # are done nothing reconciles until something changes
        errors = errors_count()
        await quiet()
        before = reconciles()
        await anyio.sleep(1.0)
        assert (reconciles(), errors_count()) == (before, errors)


async def test_v29_ready_added_updated_deleted(
        envtest: Any, kube_client: AsyncClient, namespace: str) -> None:
    async with running(envtest) as mgr:
        isvc = "model1-parent"
        await make_isvc(mgr, isvc, namespace)
        await make_cm(kube_client, isvc, namespace)
        await make_tm(mgr, "model1", namespace, isvc)
        want = json.dumps([entry("model1")], separators=(",", ":"))
        await eventually(lambda: _eq(models_json(kube_client, isvc, namespace), want))
        tm = await tm_get(mgr, "model1", namespace)
        assert conds(tm) == {"InferenceServiceReady": ("True", None),
                             "IsMMSPredictor": ("True", None),
                             "MemoryResourceAvailable": ("True", None),
                             "Ready": ("True", None)}
        assert tm.status.url == (f"http://{isvc}-predictor.{namespace}.example.com"
                                 "/v1/models/model1:predict")
        assert tm.status.address.url == (f"http://{isvc}-predictor.{namespace}.svc.cluster."
                                         "local/v1/models/model1:predict")
        assert tm.status.observed_generation == tm.metadata.generation
        assert tm.metadata.finalizers == ["trainedmodel.finalizer"]
        assert tm.metadata.labels == {"inferenceservice": isvc,
                                      "serving.kserve.io/trainedmodel-allocated": isvc}

        # update: the entry follows the spec
        await mgr.client.patch(TrainedModel, "model1", {"spec": {"model": {
            "storageUri": "s3//model2"}}}, namespace=namespace)
        want = json.dumps([entry("model1", "s3//model2")], separators=(",", ":"))
        await eventually(lambda: _eq(models_json(kube_client, isvc, namespace), want))

        # delete: removed from models.json, then the finalizer goes
        await mgr.client.delete(TrainedModel, "model1", namespace)
        await eventually(lambda: _eq(models_json(kube_client, isvc, namespace), "[]"))
        await eventually(lambda: _eq(tm_get(mgr, "model1", namespace), None))


async def test_v29_memory_over_limit_then_freed(
        envtest: Any, kube_client: AsyncClient, namespace: str) -> None:
    """3Gi on a 2Gi predictor is refused (upstream V29); then two 1.5Gi models: the second
    is refused until the first is deleted, and then gets in (upstream never retries it
    without an error loop)."""
    async with running(envtest) as mgr:
        isvc = "mem-parent"
        await make_isvc(mgr, isvc, namespace)
        await make_cm(kube_client, isvc, namespace, "[]")
        await make_tm(mgr, "too-big", namespace, isvc, memory="3Gi")

        async def mem(name: str, want: str) -> bool:
            return conds(await tm_get(mgr, name, namespace)).get(
                "MemoryResourceAvailable", ("",))[0] == want

        await eventually(lambda: mem("too-big", "False"))
        tm = await tm_get(mgr, "too-big", namespace)
        assert conds(tm)["MemoryResourceAvailable"] == ("False", "MemoryResourceNotAvailable")
        assert conds(tm)["Ready"] == ("False", "MemoryResourceNotAvailable")
        assert "serving.kserve.io/trainedmodel-allocated" not in (tm.metadata.labels or {})
        ev = await eventually(lambda: events(kube_client, namespace, "too-big",
                                             "MemoryResourceNotAvailable"))
        assert ev[0].note == ('Inference Service "mem-parent" memory resources are not '
                              'available. Trained Model "too-big" cannot deploy')
        assert await models_json(kube_client, isvc, namespace) == "[]"

        await mgr.client.delete(TrainedModel, "too-big", namespace)
        await eventually(lambda: _eq(tm_get(mgr, "too-big", namespace), None))
        await make_tm(mgr, "first", namespace, isvc, memory="1.5Gi")
        await eventually(lambda: mem("first", "True"))
        await make_tm(mgr, "second", namespace, isvc, memory="1.5Gi")
        await eventually(lambda: mem("second", "False"))
        await mgr.client.delete(TrainedModel, "first", namespace)
        await eventually(lambda: mem("second", "True"))
        want = json.dumps([entry("second", memory="1536Mi")], separators=(",", ":"))
        await eventually(lambda: _eq(models_json(kube_client, isvc, namespace), want))


async def test_waits_for_config_map_and_stable_order(
        envtest: Any, kube_client: AsyncClient, namespace: str) -> None:
    """No ConfigMap yet: a Warning event, no error, no polling; once it appears, all three
    models land in one sorted models.json."""
    errors = errors_count()
    async with running(envtest) as mgr:
        isvc = "later-parent"
        await make_isvc(mgr, isvc, namespace)
        for name in ("zeta", "alpha", "mid"):
            await make_tm(mgr, name, namespace, isvc, memory="100Mi")

        async def all_ready() -> bool:
            states = [conds(await tm_get(mgr, n, namespace)).get("Ready", ("",))[0]
                      for n in ("zeta", "alpha", "mid")]
            return states == ["True"] * 3

        await eventually(all_ready)
        await eventually(lambda: events(kube_client, namespace, "alpha", "ModelConfigNotFound"))
        await quiet()
        before = reconciles()
        await anyio.sleep(1.0)
        assert reconciles() == before
        await make_cm(kube_client, isvc, namespace, "[]")
        want = json.dumps([entry(n, memory="100Mi") for n in ("alpha", "mid", "zeta")],
                          separators=(",", ":"))
        await eventually(lambda: _eq(models_json(kube_client, isvc, namespace), want))
    assert errors_count() == errors


async def test_missing_parent_deletes_model(
        envtest: Any, kube_client: AsyncClient, namespace: str) -> None:
    async with running(envtest) as mgr:
        await make_tm(mgr, "orphan", namespace, "no-such-isvc")
        await eventually(lambda: _eq(tm_get(mgr, "orphan", namespace), None))
        # and a model whose parent is deleted later goes too, finalizer included
        await make_isvc(mgr, "short-lived", namespace)
        await make_cm(kube_client, "short-lived", namespace, "[]")
        await make_tm(mgr, "child", namespace, "short-lived")
        await eventually(lambda: _eq(models_json(kube_client, "short-lived", namespace),
                                     json.dumps([entry("child")], separators=(",", ":"))))
        await mgr.client.delete(InferenceService, "short-lived", namespace)
        await eventually(lambda: _eq(tm_get(mgr, "child", namespace), None))


async def test_noop_reconcile_makes_no_requests(
        envtest: Any, kube_client: AsyncClient, namespace: str) -> None:
    async with running(envtest) as mgr:
        isvc = "quiet-parent"
        await make_isvc(mgr, isvc, namespace)
        await make_cm(kube_client, isvc, namespace, "[]")
        await make_tm(mgr, "quiet", namespace, isvc)
        await eventually(lambda: _eq(models_json(kube_client, isvc, namespace),
                                     json.dumps([entry("quiet")], separators=(",", ":"))))
        await quiet()  # the last writes come back through the cache
        rec = tmc.TrainedModelReconciler(mgr)
        # any discovery ("is this kind served?") would now be a request: none may happen
        mgr.rest_mapper.refresh_interval = 0.0
        before = requests_total()
        assert before > 0
        for _ in range(3):
            await rec.reconcile(Request(namespace, "quiet"))
        assert requests_total() - before == 0


async def _eq(aw: Any, want: Any) -> bool:
    return bool(await aw == want)
