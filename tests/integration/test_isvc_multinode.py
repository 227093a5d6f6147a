"""Upstream's V15 "with workerSpec" (``rawkube_controller_test.go``, 10 Its): a multi-node
predictor (Ray head + workers) gets a head Deployment, a worker Deployment
(``RAY_NODE_COUNT - 1`` replicas, RollingUpdate 0%/100%), headless head/worker Services
and the predictor Service, no autoscaler; pipeline/tensor parallel sizes and GPU counts as
upstream computes them; too few GPUs is InvalidGPUAllocation; an update keeps replicas.
Whole objects compared (the InferenceServices are not defaulted, as upstream's Its)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest
from lightkube import AsyncClient
from lightkube.resources.apps_v1 import Deployment
from lightkube.resources.autoscaling_v2 import HorizontalPodAutoscaler
from lightkube.resources.core_v1 import Service
from lightkube.types import PatchType

from apis.serving.v1alpha1 import ServingRuntime
from apis.serving.v1beta1.inference_service import InferenceService
from runtime.testing.eventually import eventually

from . import isvc_expected as x
from .isvc_env import (
    DEFAULT_RESOURCES,
    ISVC,
    eventually_stored,
    get,
    isvc_manager,
    isvc_status,
    upstream_config,
)

pytestmark = [pytest.mark.integration, pytest.mark.anyio]

STORAGE = "pvc://llama-3-8b-pvc/hf/8b_instruction_tuned"
IMAGE = "kserve/huggingfaceserver:latest-gpu"
HEAD_COMMAND = ["bash", "-c", "python3 -m huggingfaceserver --model_name=${MODEL_NAME} "
                "--model_dir=${MODEL} --tensor-parallel-size=${TENSOR_PARALLEL_SIZE} "
                "--pipeline-parallel-size=${PIPELINE_PARALLEL_SIZE}"]
WORKER_COMMAND = ["bash", "-c", "ray start --address=$RAY_HEAD_ADDRESS --block"]
NVIDIA, INTEL = "nvidia.com/gpu", "intel.com/gpu"


def runtime(ns: str) -> dict[str, Any]:
    """The Context's ``huggingface-server-multinode`` ServingRuntime."""
    return {"apiVersion": "serving.kserve.io/v1alpha1", "kind": "ServingRuntime",
            "metadata": {"name": "huggingface-server-multinode", "namespace": ns},
            "spec": {
                "supportedModelFormats": [{"name": "huggingface", "version": "2",
                                           "autoSelect": True}],
                "containers": [{"name": "kserve-container", "image": IMAGE,
                                "command": HEAD_COMMAND, "args": ["--model_name={{.Name}}"],
                                "resources": DEFAULT_RESOURCES}],
                "workerSpec": {"pipelineParallelSize": 2, "tensorParallelSize": 1,
                               "containers": [{"name": "worker-container", "image": IMAGE,
                                               "command": WORKER_COMMAND,
                                               "resources": DEFAULT_RESOURCES}]},
                "disabled": False}}


def gpus(kind: str, count: str) -> dict[str, Any]:
    return {"limits": {kind: count}, "requests": {kind: count}}


def isvc(name: str, ns: str, worker: Mapping[str, Any], head_gpus: Any = None,
         worker_gpus: Any = None) -> dict[str, Any]:
    model: dict[str, Any] = {"modelFormat": {"name": "huggingface"}, "storageUri": STORAGE}
    if head_gpus is not None:
        model.update({"name": "kserve-container", "image": IMAGE, "resources": head_gpus})
    spec = dict(worker)
    if worker_gpus is not None:
        spec["containers"] = [{"name": "worker-container", "image": IMAGE,
                               "resources": worker_gpus}]
    return {"apiVersion": "serving.kserve.io/v1beta1", "kind": "InferenceService",
            "metadata": {"name": name, "namespace": ns,
                         "annotations": x.isvc_annotations("none")},
            "spec": {"predictor": {"model": model, "workerSpec": spec}}}


def with_gpu(kind: str, count: str) -> dict[str, Any]:
    """The runtime's cpu/memory with the GPU the controller writes (Go's canonical form)."""
    return {"limits": {**DEFAULT_RESOURCES["limits"], kind: count},
            "requests": {**DEFAULT_RESOURCES["requests"], kind: count}}


def expected(name: str, ns: str, *, pp: int, tp: int, nodes: int, head: tuple[str, str],
             worker: tuple[str, str], labels: Mapping[str, str] | None = None,
             generation: str = "1") -> dict[str, dict[str, Any]]:
    """Head and worker Deployments, head/worker/predictor Services."""
    pred, wname = f"{name}-predictor", f"{name}-predictor-worker"
    meta_annotations = x.predictor_annotations("none", STORAGE)
    gen = {**(labels or {}), "isvc.generation": generation}
    env = [("INFERENCE_SERVICE_NAME", name), ("PIPELINE_PARALLEL_SIZE", str(pp)),
           ("TENSOR_PARALLEL_SIZE", str(tp)), ("RAY_NODE_COUNT", str(nodes)),
           ("REQUEST_GPU_COUNT", head[1]), ("MODEL_NAME", name), ("MODEL_DIR", "/mnt/models")]
    head_c = x.container("kserve-container", IMAGE, command=HEAD_COMMAND,
                         args=[f"--model_name={name}"],
                         env=[{"name": k, "value": v} for k, v in env],
                         resources=with_gpu(*head), probe=x.readiness_probe())
    wenv = [("RAY_NODE_COUNT", str(nodes)), ("REQUEST_GPU_COUNT", worker[1]),
            ("PIPELINE_PARALLEL_SIZE", str(pp)), ("TENSOR_PARALLEL_SIZE", str(tp)),
            ("ISVC_NAME", name), ("HEAD_SVC", f"{name}-head-{generation}"),
            ("WORKER_SVC", f"{name}-workers-{generation}")]
    worker_c = x.container("worker-container", IMAGE, command=WORKER_COMMAND,
                           env=[{"name": k, "value": v} for k, v in wenv],
                           resources=with_gpu(*worker))

    def auto_mount_free(pod: dict[str, Any]) -> dict[str, Any]:
        pod.pop("automountServiceAccountToken")  # not defaulted: not set
        return pod

    head_dep = x.deployment(pred, ns, name, "predictor", meta_annotations,
                            auto_mount_free(x.pod_spec([head_c])), labels=gen)
    worker_dep = x.deployment(wname, ns, name, "predictor", meta_annotations,
                              auto_mount_free(x.pod_spec([worker_c])), labels=gen,
                              replicas=nodes - 1,
                              strategy={"type": "RollingUpdate", "rollingUpdate": {
                                  "maxUnavailable": "0%", "maxSurge": "100%"}})

    def headless(sname: str, role: str, app: str) -> dict[str, Any]:
        svc = x.service(sname, ns, name, "predictor", meta_annotations,
                        labels={**gen, "multinode/role": role}, ports=[])
        svc["metadata"]["labels"]["app"] = f"isvc.{pred}"
        del svc["spec"]["ports"]
        svc["spec"].update({"clusterIP": "None", "clusterIPs": ["None"],
                            "publishNotReadyAddresses": True,
                            "selector": {"app": f"isvc.{app}", "isvc.generation": generation}})
        return svc

    return {
        "head": head_dep, "worker": worker_dep,
        "head-svc": headless(f"{name}-head-{generation}", "head", pred),
        "worker-svc": headless(f"{name}-workers-{generation}", "worker", wname),
        "svc": x.service(pred, ns, name, "predictor", meta_annotations, labels=gen),
    }


async def check(kube: AsyncClient, name: str, ns: str, want: dict[str, dict[str, Any]]) -> None:
    names = {"head": (Deployment, f"{name}-predictor"),
             "worker": (Deployment, f"{name}-predictor-worker"),
             "head-svc": (Service, f"{name}-head-1"), "worker-svc": (Service, f"{name}-workers-1"),
             "svc": (Service, f"{name}-predictor")}
    for key, (kind, obj) in names.items():
        await eventually_stored(kube, kind, obj, ns, want[key])


async def test_v15_head_and_worker_objects(envtest: Any, kube_client: AsyncClient,
                                           namespace: str, gateway_api: None) -> None:
    """"Should have services/deployments for head/worker without an autoscaler when
    workerSpec is set in isvc": PP 2 (runtime), TP 1, 2 nodes, one nvidia GPU each."""
    ns, name = namespace, "raw-huggingface-multinode-1"
    async with isvc_manager(envtest, kube_client, ns, upstream_config()) as run:
        await run.client.create(ServingRuntime.model_validate(runtime(ns)))
        await run.client.create(InferenceService.model_validate(isvc(name, ns, {})))
        await check(kube_client, name, ns, expected(name, ns, pp=2, tp=1, nodes=2,
                                                    head=(NVIDIA, "1"), worker=(NVIDIA, "1")))
        assert await get(kube_client, HorizontalPodAutoscaler, f"{name}-predictor", ns) is None


@pytest.mark.parametrize(("case", "worker", "head_gpus", "worker_gpus", "want"), [
    ("4", {"pipelineParallelSize": 5}, None, None,
     dict(pp=5, tp=1, nodes=5, head=(NVIDIA, "1"), worker=(NVIDIA, "1"))),
    ("5", {"tensorParallelSize": 16}, None, None,
     dict(pp=2, tp=16, nodes=32, head=(NVIDIA, "1"), worker=(NVIDIA, "1"))),
    ("5-1", {"tensorParallelSize": 4}, gpus(INTEL, "2"), None,
     dict(pp=2, tp=4, nodes=7, head=(INTEL, "2"), worker=(NVIDIA, "1"))),
    ("5-2", {"tensorParallelSize": 4}, None, gpus(INTEL, "2"),
     dict(pp=2, tp=4, nodes=4, head=(NVIDIA, "2"), worker=(INTEL, "2"))),
    ("5-3", {"tensorParallelSize": 4}, gpus(INTEL, "8"), gpus(INTEL, "2"),
     dict(pp=2, tp=4, nodes=1, head=(INTEL, "8"), worker=(INTEL, "0"))),
    ("5-4", {"tensorParallelSize": 4}, gpus(INTEL, "2"), gpus(INTEL, "8"),
     dict(pp=2, tp=4, nodes=1, head=(INTEL, "8"), worker=(INTEL, "0"))),
    ("5-6", {"tensorParallelSize": 16}, gpus(INTEL, "4"), gpus(INTEL, "3"),
     dict(pp=2, tp=16, nodes=11, head=(INTEL, "4"), worker=(INTEL, "3"))),
], ids=["pipeline-parallel-size", "tensor-parallel-size", "head-gpu", "worker-gpu",
        "head-only-head-gpus", "head-only-worker-gpus", "more-gpus-than-required"])
async def test_v15_parallel_sizes_and_gpus(envtest: Any, kube_client: AsyncClient,
                                           namespace: str, gateway_api: None, case: str,
                                           worker: dict[str, Any], head_gpus: Any,
                                           worker_gpus: Any, want: dict[str, Any]) -> None:
    """The Its "Should use WorkerSpec.PipelineParallelSize / TensorParallelSize / head
    container GPU / worker container GPU", "Should run head node only" (x2) and "Should
    deploy even if it assigns more GPUs than the total": node count, GPUs per node and
    worker replicas as upstream asserts them, in whole objects."""
    ns, name = namespace, f"raw-huggingface-multinode-{case}"
    async with isvc_manager(envtest, kube_client, ns, upstream_config()) as run:
        await run.client.create(ServingRuntime.model_validate(runtime(ns)))
        await run.client.create(InferenceService.model_validate(
            isvc(name, ns, worker, head_gpus, worker_gpus)))
        await check(kube_client, name, ns, expected(name, ns, **want))


async def test_v15_insufficient_gpus(envtest: Any, kube_client: AsyncClient, namespace: str,
                                     gateway_api: None) -> None:
    """"Should return error if total required gpu count is less than what it should be
    assigned with head/worker": PredictorReady False InvalidGPUAllocation, no Deployment."""
    ns, name = namespace, "raw-huggingface-multinode-5-5"
    async with isvc_manager(envtest, kube_client, ns, upstream_config()) as run:
        await run.client.create(ServingRuntime.model_validate(runtime(ns)))
        await run.client.create(InferenceService.model_validate(isvc(
            name, ns, {"pipelineParallelSize": 1, "tensorParallelSize": 7},
            gpus(INTEL, "2"), gpus(INTEL, "4"))))
        message = ("the total required number of GPUs(7) is less than the number of GPUs "
                   "assigned to the head node(2) + worker node(4)")

        async def reason() -> bool:
            st = await isvc_status(kube_client, name, ns) or {}
            c = {c["type"]: c for c in st.get("conditions") or ()}.get("PredictorReady")
            return c is not None and (c.get("reason"), c.get("message")) == (
                "InvalidGPUAllocation", message)

        await eventually(reason)
        for dep in (f"{name}-predictor", f"{name}-predictor-worker"):
            assert await get(kube_client, Deployment, dep, ns) is None


async def test_v15_update_keeps_replicas(envtest: Any, kube_client: AsyncClient,
                                         namespace: str, gateway_api: None) -> None:
    """"Should not set nil to replicas when multinode isvc(none autoscaler) is updated": a
    new label on the InferenceService reaches both Deployments, replicas stay 1 and 2."""
    ns, name = namespace, "raw-huggingface-multinode-6"
    async with isvc_manager(envtest, kube_client, ns, upstream_config()) as run:
        await run.client.create(ServingRuntime.model_validate(runtime(ns)))
        await run.client.create(InferenceService.model_validate(
            isvc(name, ns, {"pipelineParallelSize": 3})))
        params: dict[str, Any] = dict(pp=3, tp=1, nodes=3, head=(NVIDIA, "1"),
                                      worker=(NVIDIA, "1"))
        await check(kube_client, name, ns, expected(name, ns, **params))
        await kube_client.patch(ISVC, name, {"metadata": {"labels": {"newLabel": "test"}}},
                                namespace=ns, patch_type=PatchType.MERGE)
        await check(kube_client, name, ns, expected(name, ns, labels={"newLabel": "test"},
                                                    **params))
