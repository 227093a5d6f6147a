"""The cluster tier: scheduling, kwok-simulated kubelets and garbage collection."""

from __future__ import annotations

import pytest
from lightkube import AsyncClient
from lightkube.models.apps_v1 import DeploymentSpec
from lightkube.models.core_v1 import Container, PodSpec, PodTemplateSpec
from lightkube.models.meta_v1 import LabelSelector, ObjectMeta
from lightkube.resources.apps_v1 import Deployment, ReplicaSet
from lightkube.resources.core_v1 import Node, Pod
from lightkube.types import CascadeType

from runtime.testing import Environment
from runtime.testing.eventually import eventually

pytestmark = pytest.mark.anyio


async def test_nodes_are_ready_with_gpu_capacity(cluster_client: AsyncClient) -> None:
    nodes = [n async for n in cluster_client.list(Node)]
    assert len(nodes) >= 2
    for node in nodes:
        conds = {c.type: c.status for c in node.status.conditions}
        assert conds["Ready"] == "True"
        assert node.status.capacity["nvidia.com/gpu"] == "8"
        assert not [t for t in node.spec.taints or [] if t.effect == "NoSchedule"]



async def test_deployment_gets_ready_pods_and_is_garbage_collected(
    cluster_client: AsyncClient, cluster_namespace: str
) -> None:
    ns = cluster_namespace
    labels = {"app": "web"}
    dep = Deployment(
        metadata=ObjectMeta(name="web", namespace=ns),
        spec=DeploymentSpec(
            replicas=3,
            selector=LabelSelector(matchLabels=labels),
            template=PodTemplateSpec(
                metadata=ObjectMeta(labels=labels),
                spec=PodSpec(containers=[Container(name="web", image="example.test/web:1")]),
            ),
        ),
    )
    await cluster_client.create(dep)

    async def ready() -> bool:
        d = await cluster_client.get(Deployment, "web", namespace=ns)
        return bool(d.status and d.status.readyReplicas == 3)

    await eventually(ready, within=60)
    pods = [p async for p in cluster_client.list(Pod, namespace=ns, labels=labels)]
    assert len(pods) == 3
    assert all(p.status.phase == "Running" and p.spec.nodeName for p in pods)
    rs = [r async for r in cluster_client.list(ReplicaSet, namespace=ns)]
    assert len(rs) == 1 and rs[0].metadata.ownerReferences[0].name == "web"

    # Background deletion: the garbage collector removes the ReplicaSet, then its pods.
    await cluster_client.delete(Deployment, "web", namespace=ns, cascade=CascadeType.BACKGROUND)

    async def collected() -> bool:
        left_rs = [r async for r in cluster_client.list(ReplicaSet, namespace=ns)]
        left_pods = [p async for p in cluster_client.list(Pod, namespace=ns)]
        return not left_rs and not left_pods

    await eventually(collected, within=60)


def test_cluster_components_all_running(cluster_env: Environment) -> None:
    assert set(cluster_env.pids()) == {
        "etcd",
        "kube-apiserver",
        "kube-controller-manager",
        "kube-scheduler",
        "kwok",
    }
    assert cluster_env.exited_components() == []
