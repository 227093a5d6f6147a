"""The core objects the Standard-mode builders produce, stored by a real kube-apiserver.

What the builders promise the compare-then-apply reconcile: every field they set is stored
as set (server defaults and canonicalisation change nothing we set), so after one apply the
stored object *contains* the desired one (:func:`runtime.apply.contains`) and a second apply
is a no-op for the server (same resourceVersion). KEDA/OTel objects are custom resources
without server-side defaulting here and are not covered.
"""

from __future__ import annotations

from typing import Any

import pytest
from lightkube.models import core_v1, meta_v1

from apis.serving.v1beta1.component import ComponentExtensionSpec
from apis.serving.v1beta1.configmap import parse_inferenceservice_config
from controllers.reconcilers.raw import build_raw_kube_objects
from runtime.apply import contains

pytestmark = [pytest.mark.integration, pytest.mark.anyio]

MANAGER = "kserve-test"


def _objects(namespace: str, annotations: dict[str, str], multi_node: bool) -> list[Any]:
    labels = {"component": "predictor", "serving.kserve.io/inferenceservice": "m"}
    if multi_node:
        labels["isvc.generation"] = "1"
    head_env = [
        core_v1.EnvVar(name="INFERENCE_SERVICE_NAME", value="m"),
        core_v1.EnvVar(name="RAY_NODE_COUNT", value="2"),
        core_v1.EnvVar(name="REQUEST_GPU_COUNT", value="1"),
    ]
    pod = core_v1.PodSpec(
        containers=[
            core_v1.Container(
                name="kserve-container",
                image="kserve/sklearnserver:latest",
                args=["--model_name=m"],
                env=head_env,
                ports=[
                    core_v1.ContainerPort(containerPort=8080, name="http1"),
                    core_v1.ContainerPort(containerPort=8081, name="grpc-port"),
                ],
                resources=core_v1.ResourceRequirements(
                    limits={"cpu": "1000m", "memory": "2048Mi"},
                    requests={"cpu": "100m", "memory": "256Mi"},
                ),
            )
        ]
    )
    worker = core_v1.PodSpec(
        containers=[
            core_v1.Container(
                name="worker-container",
                image="kserve/huggingfaceserver:latest",
                env=[core_v1.EnvVar(name="REQUEST_GPU_COUNT", value="1")],
            )
        ]
    )
    ext = ComponentExtensionSpec.model_validate(
        {
            "minReplicas": 2,
            "maxReplicas": 4,
            "logger": {"mode": "all"},
            "autoScaling": {
                "metrics": [
                    {"type": "Resource", "resource": {"name": "cpu", "target": {}}},
                    {
                        "type": "Resource",
                        "resource": {
                            "name": "memory",
                            "target": {"type": "AverageValue", "averageValue": "1024Mi"},
                        },
                    },
                ]
            },
        }
    )
    objs = build_raw_kube_objects(
        meta_v1.ObjectMeta(
            name="m-predictor", namespace=namespace, labels=labels, annotations=annotations
        ),
        meta_v1.ObjectMeta(
            name="m-predictor-worker", namespace=namespace, labels=labels, annotations=annotations
        )
        if multi_node
        else None,
        ext,
        pod,
        worker if multi_node else None,
        parse_inferenceservice_config({}),
    )
    out: list[Any] = [*objs.services, *objs.deployments]
    if not isinstance(objs.autoscaler, dict):
        out.append(objs.autoscaler)
    return out


@pytest.mark.parametrize(
    ("annotations", "multi_node"),
    [
        pytest.param({"serving.kserve.io/autoscalerClass": "hpa"}, False, id="hpa"),
        pytest.param({"serving.kserve.io/autoscalerClass": "none"}, True, id="multi-node"),
    ],
)
async def test_stored_objects_contain_desired(
    kube_client: Any, namespace: str, annotations: dict[str, str], multi_node: bool
) -> None:
    objects = _objects(namespace, annotations, multi_node)
    assert len(objects) == (6 if multi_node else 3)
    for obj in objects:
        await kube_client.apply(obj, field_manager=MANAGER, force=True)
    for obj in objects:
        live = await kube_client.get(type(obj), obj.metadata.name, namespace=namespace)
        desired = obj.to_dict()
        assert contains(desired, live.to_dict()), (desired, live.to_dict())
        # applying the same object again changes nothing on the server
        again = await kube_client.apply(obj, field_manager=MANAGER, force=True)
        assert again.metadata.resourceVersion == live.metadata.resourceVersion, obj.kind
