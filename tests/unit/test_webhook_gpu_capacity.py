"""controllers.webhooks.gpu_capacity: GPU demand of an InferenceService, the warnings, and
the tracker fed by Node and Pod events."""

from __future__ import annotations

from typing import Any

import pytest
from lightkube.models.core_v1 import (
    Container,
    NodeCondition,
    NodeSpec,
    NodeStatus,
    PodSpec,
    PodStatus,
    ResourceRequirements,
)
from lightkube.models.meta_v1 import ObjectMeta
from lightkube.resources.core_v1 import Node, Pod

from controllers.webhooks.gpu_capacity import (
    ComponentDemand,
    GpuCapacity,
    gpu_demand,
    gpu_warnings,
)

GPU = "nvidia.com/gpu"


def isvc(predictor: dict[str, Any], name: str = "m", ns: str = "ns", **spec: Any) -> dict[str, Any]:
    return {"metadata": {"name": name, "namespace": ns, "annotations": {}},
            "spec": {"predictor": predictor, **spec}}


def gpus(n: int | str, kind: str = GPU, key: str = "limits") -> dict[str, Any]:
    return {"resources": {key: {kind: n, "cpu": "1"}}}


@pytest.mark.parametrize(
    ("obj", "demand"),
    [
        (isvc({"model": {"modelFormat": {"name": "x"}}}), []),
        (isvc({"model": gpus(2)}), [ComponentDemand("predictor", {GPU: 2}, 1)]),
        (isvc({"model": gpus("2", key="requests")}), [ComponentDemand("predictor", {GPU: 2}, 1)]),
        (isvc({"minReplicas": 3, "sklearn": gpus(1)}),
         [ComponentDemand("predictor", {GPU: 1}, 3)]),
        (isvc({"minReplicas": 0, "model": gpus(1)}), [ComponentDemand("predictor", {GPU: 1}, 0)]),
        (isvc({"containers": [{"name": "a", **gpus(1)}, {"name": "b", **gpus(2)}],
               "initContainers": [{"name": "i", **gpus(4)}]}),
         [ComponentDemand("predictor", {GPU: 4}, 1)]),
        (isvc({"model": gpus(1)}, transformer={"containers": [gpus(1, "amd.com/gpu")]}),
         [ComponentDemand("predictor", {GPU: 1}, 1),
          ComponentDemand("transformer", {"amd.com/gpu": 1}, 1)]),
        (isvc({"model": gpus(1, "example.com/fpga")}), []),  # not a GPU type
        # multi-node: tensor x pipeline GPUs, tensorParallelSize per node unless asked
        (isvc({"model": {}, "workerSpec": {"tensorParallelSize": 2, "pipelineParallelSize": 3}}),
         [ComponentDemand("predictor", {GPU: 2}, 1),
          ComponentDemand("predictor workers", {GPU: 2}, 2)]),
        (isvc({"model": gpus(4), "workerSpec": {"tensorParallelSize": 4,
                                                 "pipelineParallelSize": 2}}),
         [ComponentDemand("predictor", {GPU: 4}, 1),
          ComponentDemand("predictor workers", {GPU: 4}, 1)]),
    ],
    ids=lambda v: str(v)[:60],
)
def test_gpu_demand(obj: dict[str, Any], demand: list[ComponentDemand]) -> None:
    assert gpu_demand(obj) == demand


def test_stopped_isvc_asks_for_nothing() -> None:
    obj = isvc({"model": gpus(8)})
    obj["metadata"]["annotations"]["serving.kserve.io/stop"] = "true"
    assert gpu_demand(obj) == []


CLUSTER = {"max_per_node": {GPU: 8}, "free": {GPU: 10}, "allocatable": {GPU: 16}, "nodes": 2}


@pytest.mark.parametrize(
    ("demand", "cluster", "expected"),
    [
        ([ComponentDemand("predictor", {GPU: 8}, 1)], CLUSTER, []),
        ([ComponentDemand("predictor", {GPU: 9}, 1)], CLUSTER, [
            "spec.predictor: each predictor pod requests 9 nvidia.com/gpu but no node can "
            "allocate more than 8; the pod would stay Pending"]),
        ([ComponentDemand("predictor", {GPU: 4}, 3)], CLUSTER, [
            "spec: the InferenceService requests 12 nvidia.com/gpu in total (predictor 4 x 3 "
            "pods) but the cluster has 10 free (16 allocatable on 2 nodes); some pods would "
            "stay Pending"]),
        ([ComponentDemand("predictor", {GPU: 4}, 0)], CLUSTER, []),  # scale from zero
        ([ComponentDemand("predictor", {"amd.com/gpu": 1}, 1)], CLUSTER, [
            "spec.predictor: each predictor pod requests 1 amd.com/gpu but no node offers "
            "amd.com/gpu; the pod would stay Pending"]),
        ([ComponentDemand("predictor", {GPU: 2}, 1),
          ComponentDemand("predictor workers", {GPU: 4}, 2)], CLUSTER, []),  # 10 of 10 free
        ([ComponentDemand("predictor", {GPU: 2}, 1),
          ComponentDemand("predictor workers", {GPU: 4}, 3)], CLUSTER, [
            "spec: the InferenceService requests 14 nvidia.com/gpu in total (predictor 2 x 1 "
            "pod, predictor workers 4 x 3 pods) but the cluster has 10 free (16 allocatable on "
            "2 nodes); some pods would stay Pending"]),
    ],
    ids=range(7),
)
def test_gpu_warnings(demand: list[ComponentDemand], cluster: dict[str, Any],
                      expected: list[str]) -> None:
    assert gpu_warnings(demand, **cluster) == expected


# ------------------------------------------------------------------------------- the tracker


def node(name: str, n: int, *, ready: bool = True, cordoned: bool = False) -> Node:
    return Node(
        metadata=ObjectMeta(name=name),
        spec=NodeSpec(unschedulable=cordoned or None),
        status=NodeStatus(
            allocatable={"cpu": "32", GPU: str(n)},
            conditions=[NodeCondition(type="Ready", status="True" if ready else "False")],
        ),
    )


def pod(name: str, n: int, *, node_name: str | None = "n1", isvc_name: str | None = None,
        phase: str = "Running", ns: str = "ns") -> Pod:
    labels = {"serving.kserve.io/inferenceservice": isvc_name} if isvc_name else None
    return Pod(
        metadata=ObjectMeta(name=name, namespace=ns, labels=labels),
        spec=PodSpec(nodeName=node_name, containers=[Container(
            name="c", resources=ResourceRequirements(limits={GPU: str(n)}))]),
        status=PodStatus(phase=phase),
    )


class Synced:
    def has_synced(self) -> bool:
        return True


def test_tracker_follows_events() -> None:
    cap = GpuCapacity()
    nodes, pods = cap.node_handler(), cap.pod_handler()
    for n in (node("n1", 8), node("n2", 8), node("n3", 8, ready=False),
              node("n4", 8, cordoned=True)):
        nodes.on_add(n, True)
    assert cap.snapshot() == {"max_per_node": {GPU: 8}, "free": {GPU: 16},
                              "allocatable": {GPU: 16}, "nodes": 2}
    pods.on_add(pod("a", 4, isvc_name="other"), True)
    pods.on_add(pod("b", 2, isvc_name="m"), True)
    pods.on_add(pod("pending", 8, node_name=None), True)  # not bound: uses nothing yet
    pods.on_add(pod("done", 8, phase="Succeeded"), True)
    assert cap.snapshot()["free"] == {GPU: 10}
    assert cap.snapshot(("ns", "m"))["free"] == {GPU: 12}  # its own pods are replaced
    pods.on_update(pod("a", 4, isvc_name="other"), pod("a", 4, phase="Failed"))
    assert cap.snapshot()["free"] == {GPU: 14}
    pods.on_delete(pod("b", 2, isvc_name="m"))
    assert cap.snapshot()["free"] == {GPU: 16}
    nodes.on_update(node("n2", 8), node("n2", 8, ready=False))
    nodes.on_delete(node("n1", 8))
    assert cap.snapshot()["nodes"] == 0

    cap.node_registration = None
    assert cap.warnings(isvc({"model": gpus(100)})) == []  # no node cache: no warnings
    cap.node_registration = Synced()
    nodes.on_add(node("n1", 2), True)
    assert cap.warnings(isvc({"model": gpus(4)})) == [
        "spec.predictor: each predictor pod requests 4 nvidia.com/gpu but no node can "
        "allocate more than 2; the pod would stay Pending",
        "spec: the InferenceService requests 4 nvidia.com/gpu in total (predictor 4 x 1 pod) "
        "but the cluster has 2 free (2 allocatable on 1 node); some pods would stay Pending",
    ]


def _node_dict(name: str, n: int, rv: str = "1") -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Node",
            "metadata": {"name": name, "resourceVersion": rv},
            "status": {"allocatable": {GPU: str(n)},
                       "conditions": [{"type": "Ready", "status": "True"}]}}


@pytest.mark.anyio
async def test_ready_once_the_node_handler_has_the_initial_list() -> None:
    """The informer has synced as soon as the list is in its store; the node handler gets
    the nodes later, through its buffer. Until then there are no warnings (else: "no node
    offers nvidia.com/gpu" for a cluster full of GPUs); after, the real ones."""
    import anyio
    import httpx2

    from runtime.informer import Informer

    inf = Informer(httpx2.AsyncClient(base_url="http://unused"), Node)
    cap = GpuCapacity()
    assert not cap.nodes_synced  # nothing attached
    reg = cap.attach_nodes(inf)
    sink: Any = inf.reflectors[0].store  # fed by hand: no apiserver in a unit test
    sink.replace([_node_dict("n1", 8), _node_dict("n2", 2)], "5")
    assert inf.has_synced() and reg.pending() == 2  # listed, not delivered yet
    assert not cap.nodes_synced
    assert cap.warnings(isvc({"model": gpus(100)})) == []
    async with anyio.create_task_group() as tg:
        tg.start_soon(inf.run_handlers)
        with anyio.fail_after(5):
            await reg.wait_for_sync()
        tg.cancel_scope.cancel()
    assert cap.nodes_synced
    assert cap.warnings(isvc({"model": gpus(4)})) == []  # 4 fit on n1
    # 9 per pod: no node has that many (10 are free in all, so no shortage in total)
    assert cap.warnings(isvc({"model": gpus(9)})) == [
        "spec.predictor: each predictor pod requests 9 nvidia.com/gpu but no node can "
        "allocate more than 8; the pod would stay Pending",
    ]
