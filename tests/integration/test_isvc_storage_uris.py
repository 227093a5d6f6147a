"""``storageUris`` on a real kube-apiserver: the InferenceService controller injects the
storage-initializer into the predictor's Deployment (upstream ``CommonStorageInitialization``
from the raw reconciler), with the storage credentials of the pod's ServiceAccount read from
the manager's cache."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from lightkube import AsyncClient
from lightkube.models.meta_v1 import ObjectMeta
from lightkube.resources.apps_v1 import Deployment
from lightkube.resources.core_v1 import Secret, ServiceAccount

from apis.serving.v1beta1.inference_service import InferenceService
from runtime.testing.eventually import eventually

from .isvc_env import get, isvc_manager

pytestmark = [pytest.mark.integration, pytest.mark.anyio]

HF_ENV = [
    {"name": "HF_HUB_ENABLE_HF_TRANSFER", "value": "1"},
    {"name": "HF_XET_HIGH_PERFORMANCE", "value": "1"},
    {"name": "HF_XET_NUM_CONCURRENT_RANGE_GETS", "value": "8"},
]


def isvc(name: str, namespace: str, predictor: dict[str, Any],
         annotations: dict[str, str] | None = None) -> InferenceService:
    return InferenceService.model_validate({
        "apiVersion": "serving.kserve.io/v1beta1", "kind": "InferenceService",
        "metadata": {"name": name, "namespace": namespace, "annotations": annotations or {}},
        "spec": {"predictor": {
            "containers": [{"name": "kserve-container", "image": "kserve/custom:1"}],
            **predictor}},
    })


def secret(name: str, namespace: str, data: dict[str, str],
           annotations: dict[str, str] | None = None) -> Secret:
    return Secret(metadata=ObjectMeta(name=name, namespace=namespace, annotations=annotations),
                  data={k: base64.b64encode(v.encode()).decode() for k, v in data.items()})


async def init_containers(kube: AsyncClient, name: str, namespace: str) -> Any:
    dep = await eventually(lambda: get(kube, Deployment, name, namespace))
    return [c.to_dict() for c in dep.spec.template.spec.initContainers or ()], dep


def ref(env: str, secret_name: str, key: str) -> dict[str, Any]:
    return {"name": env, "valueFrom": {"secretKeyRef": {"name": secret_name, "key": key}}}


async def test_storage_uris_get_the_service_account_s3_credentials(
        envtest: Any, kube_client: AsyncClient, namespace: str) -> None:
    await kube_client.create(secret(
        "s3-creds", namespace, {"AWS_ACCESS_KEY_ID": "id", "AWS_SECRET_ACCESS_KEY": "key"},
        {"serving.kserve.io/s3-endpoint": "minio.minio:9000",
         "serving.kserve.io/s3-usehttps": "0"}))
    await kube_client.create(ServiceAccount(
        metadata=ObjectMeta(name="models-sa", namespace=namespace),
        secrets=[{"name": "s3-creds"}]))
    async with isvc_manager(envtest, kube_client, namespace) as run:
        await run.client.create(isvc("llm", namespace, {
            "serviceAccountName": "models-sa",
            "storageUris": [{"uri": "s3://models/base", "mountPath": "/mnt/models/base"},
                            {"uri": "s3://models/lora", "mountPath": "/mnt/models/lora"}],
        }))
        inits, dep = await init_containers(kube_client, "llm-predictor", namespace)
    assert inits == [{
        "name": "storage-initializer",
        "image": "kserve/storage-initializer:latest",
        "args": ["s3://models/base", "/mnt/models/base", "s3://models/lora", "/mnt/models/lora"],
        "env": [
            ref("AWS_ACCESS_KEY_ID", "s3-creds", "AWS_ACCESS_KEY_ID"),
            ref("AWS_SECRET_ACCESS_KEY", "s3-creds", "AWS_SECRET_ACCESS_KEY"),
            {"name": "S3_USE_HTTPS", "value": "0"},
            {"name": "S3_ENDPOINT", "value": "minio.minio:9000"},
            {"name": "AWS_ENDPOINT_URL", "value": "http://minio.minio:9000"},
            *HF_ENV,
        ],
        "resources": {"limits": {"cpu": "1", "memory": "1Gi"},
                      "requests": {"cpu": "100m", "memory": "100Mi"}},
        "terminationMessagePath": "/dev/termination-log",
        "terminationMessagePolicy": "FallbackToLogsOnError",
        "imagePullPolicy": "Always",  # the API server's default for ":latest"
        "volumeMounts": [{"name": "mnt-models", "mountPath": "/mnt/models"}],
    }]
    pod = dep.spec.template.spec
    assert pod.serviceAccountName == "models-sa"
    assert [v.name for v in pod.volumes] == ["mnt-models"]
    server = pod.containers[0]
    assert [(m.name, m.mountPath, m.readOnly) for m in server.volumeMounts] == [
        ("mnt-models", "/mnt/models", True)]


async def test_storage_secret_annotation_and_pvc(
        envtest: Any, kube_client: AsyncClient, namespace: str) -> None:
    """The Secret named by ``serving.kserve.io/storageSecretName`` on the InferenceService,
    for the ``default`` ServiceAccount (which lists no Secret; envtest runs no controller that
    makes it, so the test does; without it upstream skips credentials); a ``pvc://`` URI is
    mounted, not downloaded."""
    await kube_client.create(secret("hf-token", namespace, {"HF_TOKEN": "t"}))
    await kube_client.create(ServiceAccount(metadata=ObjectMeta(name="default",
                                                                namespace=namespace)))
    async with isvc_manager(envtest, kube_client, namespace) as run:
        await run.client.create(isvc(
            "hf", namespace,
            {"storageUris": [{"uri": "hf://org/model", "mountPath": "/mnt/models/base"},
                             {"uri": "pvc://adapters/lora", "mountPath": "/mnt/lora"}]},
            annotations={"serving.kserve.io/storageSecretName": "hf-token"}))
        inits, dep = await init_containers(kube_client, "hf-predictor", namespace)
    (init,) = inits
    assert init["args"] == ["hf://org/model", "/mnt/models/base"]
    assert init["env"] == [ref("HF_TOKEN", "hf-token", "HF_TOKEN"), *HF_ENV]
    volumes = {v.name: v.to_dict() for v in dep.spec.template.spec.volumes}
    assert volumes == {
        "mnt-lora": {"name": "mnt-lora",
                     "persistentVolumeClaim": {"claimName": "adapters"}},
        "mnt-models-base": {"name": "mnt-models-base", "emptyDir": {}},
    }
