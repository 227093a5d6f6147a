"""Upstream's V26 watch vectors (``pod_watch_test.go``) and ``model_status_churn_test.go``, on
the real apiserver with the controller running: which InferenceServices a pod or runtime
change reconciles (recorded at the reconciler), and model status that does not flip
between reconciles.

Deliberate difference: upstream reconciles on a pod update only when its
``initContainerStatuses`` changed; ours also when its phase, conditions or container
states change (the reason a predictor is not Ready and the model status come from the
pods, and nothing polls), but never for fields it does not read (IPs, start time)."""

from __future__ import annotations

import uuid
from typing import Any

import anyio
import pytest
from lightkube import AsyncClient
from lightkube.resources.core_v1 import Pod
from lightkube.types import PatchType

from apis.serving.v1alpha1 import ClusterServingRuntime, ServingRuntime
from runtime.testing.eventually import eventually

from . import isvc_expected as x
from .isvc_env import (
    DEFAULT_RESOURCES,
    ISVC,
    accept_routes,
    defaulted,
    deployment_available,
    isvc_manager,
    isvc_status,
    record_reconciles,
    tf_serving_runtime,
    upstream_config,
    wait_ready,
)

pytestmark = [pytest.mark.integration, pytest.mark.anyio]


def tf_isvc(name: str, ns: str, runtime: str | None = None, **annotations: str) -> Any:
    model: dict[str, Any] = {"modelFormat": {"name": "tensorflow"}, "storageUri": x.STORAGE_URI,
                             "runtimeVersion": "1.14.0", "resources": DEFAULT_RESOURCES}
    if runtime is not None:
        model["runtime"] = runtime
    return defaulted({"metadata": {"name": name, "namespace": ns,
                                   "annotations": {**x.isvc_annotations(), **annotations}},
                      "spec": {"predictor": {"model": model}}})


async def make_ready(run: Any, kube: AsyncClient, name: str, ns: str) -> None:
    await deployment_available(kube, f"{name}-predictor", ns)
    await accept_routes(kube, ns, name, f"{name}-predictor")
    await wait_ready(run.client, name, ns)


def pod(name: str, ns: str, labels: dict[str, str]) -> Pod:
    return Pod.from_dict({
        "metadata": {"name": name, "namespace": ns, "labels": labels},
        "spec": {"automountServiceAccountToken": False,
                 "initContainers": [{"name": "storage-initializer",
                                     "image": "kserve/storage-initializer:latest"}],
                 "containers": [{"name": "kserve-container",
                                 "image": "tensorflow/serving:1.14.0"}]}})


def init_status(state: dict[str, Any]) -> dict[str, Any]:
    return {"initContainerStatuses": [{
        "name": "storage-initializer", "image": "kserve/storage-initializer:latest",
        "imageID": "", "ready": False, "restartCount": 0, "state": state}]}


async def settle() -> None:
    """Let the events of earlier writes be delivered."""
    await anyio.sleep(1.5)


async def test_v26_pod_changes_reconcile_only_their_inference_service(
        envtest: Any, kube_client: AsyncClient, namespace: str, gateway_api: None) -> None:
    """"podInitContainersFunc" / "Event Storm Prevention": a pod's storage initializer
    changing reconciles its InferenceService only (and its model status follows); a pod
    without the InferenceService label is not even cached; a pod change in fields the
    controller does not read reconciles nothing."""
    ns = namespace
    async with isvc_manager(envtest, kube_client, ns, upstream_config()) as run:
        await run.client.create(ServingRuntime.model_validate(tf_serving_runtime("tf-serving",
                                                                                 ns)))
        for name in ("isvc1", "isvc2"):
            await run.client.create(tf_isvc(name, ns))
        for name in ("isvc1", "isvc2"):
            await make_ready(run, kube_client, name, ns)
        await settle()
        seen = record_reconciles(run)

        p = pod("isvc1-predictor-pod", ns, {"serving.kserve.io/inferenceservice": "isvc1",
                                            "app": "isvc.isvc1-predictor"})
        await kube_client.create(p)
        await kube_client.patch(Pod.Status, p.metadata.name, {"status": init_status(
            {"running": {"startedAt": "2026-01-01T00:00:00Z"}})}, namespace=ns)

        async def loading() -> bool:
            st = await isvc_status(kube_client, "isvc1", ns) or {}
            return bool((st.get("modelStatus") or {}).get("states", {}).get(
                "targetModelState") == "Loading")

        await eventually(loading)
        st = await isvc_status(kube_client, "isvc1", ns)
        assert st is not None
        # activeModelState is sticky (upstream's UpdateModelRevisionStates): "Loaded" when a
        # reconcile saw the new pod before its storage initializer reported, as the
        # InferenceService is Ready; "" otherwise
        active = st["modelStatus"]["states"].pop("activeModelState")
        assert active in ("", "Loaded")
        assert st["modelStatus"] == {"transitionStatus": "InProgress",
                                     "states": {"targetModelState": "Loading"},
                                     "copies": {"failedCopies": 0}}
        await settle()
        assert {r.name for r in seen} == {"isvc1"}, seen

        seen.clear()
        stray = pod("stray-pod", ns, {"app": "isvc.isvc2-predictor"})  # no InferenceService label
        await kube_client.create(stray)
        await kube_client.patch(Pod.Status, "stray-pod", {"status": init_status(
            {"terminated": {"exitCode": 1, "reason": "Error", "message": "boom"}})},
            namespace=ns)
        await kube_client.patch(Pod.Status, p.metadata.name, {"status": {
            "podIP": "10.0.0.7", "hostIP": "10.1.0.1",
            "startTime": "2026-01-01T00:00:00Z"}}, namespace=ns)
        await settle()
        assert seen == [], seen
        assert (await isvc_status(kube_client, "isvc2", ns) or {})["modelStatus"] == \
            x.PENDING_MODEL


async def test_v26_serving_runtime_changes(envtest: Any, kube_client: AsyncClient,
                                           namespace: str, gateway_api: None) -> None:
    """"servingRuntimeFunc": a ServingRuntime spec change reconciles the InferenceServices
    whose status names it, except one Ready with ``disable-auto-update``; another runtime's
    users and a metadata-only change reconcile nothing."""
    ns = namespace
    async with isvc_manager(envtest, kube_client, ns, upstream_config()) as run:
        for rt in ("runtime-1", "runtime-2"):
            await run.client.create(ServingRuntime.model_validate(tf_serving_runtime(rt, ns)))
        await run.client.create(tf_isvc("isvc-runtime-1", ns, "runtime-1"))
        await run.client.create(tf_isvc("isvc-runtime-2", ns, "runtime-2"))
        await run.client.create(tf_isvc("isvc-frozen", ns, "runtime-1", **{
            "serving.kserve.io/disable-auto-update": "true"}))
        for name in ("isvc-runtime-1", "isvc-runtime-2", "isvc-frozen"):
            await make_ready(run, kube_client, name, ns)
        await settle()
        seen = record_reconciles(run)
        await run.client.patch(ServingRuntime, "runtime-1",
                               {"metadata": {"annotations": {"note": "metadata only"}}},
                               namespace=ns)
        await settle()
        assert seen == [], seen
        await run.client.patch(ServingRuntime, "runtime-1",
                               {"spec": {"labels": {"changed": "yes"}}}, namespace=ns)
        await eventually(lambda: seen)
        await settle()
        assert {r.name for r in seen} == {"isvc-runtime-1"}, seen


async def test_v26_cluster_serving_runtime_changes(envtest: Any, kube_client: AsyncClient,
                                                   namespace: str, gateway_api: None) -> None:
    """"clusterServingRuntimeFunc": the same for ClusterServingRuntimes (status
    ``clusterServingRuntimeName``). The runtimes are cluster-scoped on a shared apiserver:
    unique names, no auto-selection, deleted afterwards."""
    ns = namespace
    suffix = uuid.uuid4().hex[:6]
    names = [f"cluster-runtime-1-{suffix}", f"cluster-runtime-2-{suffix}"]
    async with isvc_manager(envtest, kube_client, ns, upstream_config()) as run:
        try:
            for rt in names:
                body = tf_serving_runtime(rt, ns)
                body["kind"] = "ClusterServingRuntime"
                del body["metadata"]["namespace"]
                body["spec"]["supportedModelFormats"][0]["autoSelect"] = False
                await run.client.create(ClusterServingRuntime.model_validate(body))
            await run.client.create(tf_isvc("isvc-cluster-1", ns, names[0]))
            await run.client.create(tf_isvc("isvc-cluster-2", ns, names[1]))
            await run.client.create(tf_isvc("isvc-cluster-frozen", ns, names[0], **{
                "serving.kserve.io/disable-auto-update": "true"}))
            for name in ("isvc-cluster-1", "isvc-cluster-2", "isvc-cluster-frozen"):
                await make_ready(run, kube_client, name, ns)
            st = await isvc_status(kube_client, "isvc-cluster-1", ns)
            assert st is not None and st["clusterServingRuntimeName"] == names[0]
            await settle()
            seen = record_reconciles(run)
            await run.client.patch(ClusterServingRuntime, names[0],
                                   {"spec": {"labels": {"changed": "yes"}}})
            await eventually(lambda: seen)
            await settle()
            assert {r.name for r in seen} == {"isvc-cluster-1"}, seen
        finally:
            for rt in names:
                await run.client.delete(ClusterServingRuntime, rt)


async def test_model_status_does_not_churn(envtest: Any, kube_client: AsyncClient,
                                           namespace: str, gateway_api: None) -> None:
    """``model_status_churn_test.go``: two predictor pods of one ReplicaSet disagree (one
    storage initializer running, one failed) and tie on creationTimestamp; repeated
    reconciles (nudged by annotation changes) always report the same pod's verdict: newest
    first, then by name."""
    ns, name = namespace, "model-status-churn"
    pred = f"{name}-predictor"
    async with isvc_manager(envtest, kube_client, ns, upstream_config()) as run:
        await run.client.create(ServingRuntime.model_validate(tf_serving_runtime(
            "tf-serving-churn", ns)))
        await run.client.create(tf_isvc(name, ns))
        await eventually(lambda: isvc_status(kube_client, name, ns))
        labels = {"serving.kserve.io/inferenceservice": name, "app": f"isvc.{pred}"}
        states = {
            "churn-pod-loading": {"running": {"startedAt": "2026-01-01T00:00:00Z"}},
            "churn-pod-failed": {"terminated": {"exitCode": 1, "reason": "Error",
                                                "message": "failed to pull model"}},
        }
        created = {}
        for pod_name in states:
            created[pod_name] = await kube_client.create(pod(pod_name, ns, labels))
        for pod_name, state in states.items():
            await kube_client.patch(Pod.Status, pod_name, {"status": init_status(state)},
                                    namespace=ns)
        first_pod = sorted(created, key=lambda n: (
            -created[n].metadata.creationTimestamp.timestamp(), n))[0]
        want = "FailedToLoad" if first_pod == "churn-pod-failed" else "Loading"

        async def target() -> str | None:
            st = await isvc_status(kube_client, name, ns) or {}
            return (st.get("modelStatus") or {}).get("states", {}).get("targetModelState")

        assert await eventually(lambda: _is(target(), want))
        for probe in range(20):
            await kube_client.patch(ISVC, name, {"metadata": {"annotations": {
                "serving.kserve.io/churn-probe": str(probe)}}}, namespace=ns,
                patch_type=PatchType.MERGE)
            await anyio.sleep(0.25)
            assert await target() == want


async def _is(value: Any, want: Any) -> bool:
    return bool(await value == want)
