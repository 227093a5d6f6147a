"""The upstream ``kserve`` Python SDK (PyPI ``kserve``, the ``e2e`` extra) drives our
control plane unchanged: create, wait for Ready, patch, delete."""

from __future__ import annotations

from typing import Any

import pytest
from lightkube.resources.apps_v1 import Deployment

from e2e.conftest import Cluster
from e2e.helpers import ISVC, get_or_none, wait_for

kserve = pytest.importorskip("kserve", reason="the kserve SDK: pip install -e '.[e2e]'")


def test_sdk_create_wait_patch_delete(cluster: Cluster, kube: Any, namespace: str) -> None:
    from kserve import (
        KServeClient,
        V1beta1InferenceService,
        V1beta1InferenceServiceSpec,
        V1beta1ModelFormat,
        V1beta1ModelSpec,
        V1beta1PredictorSpec,
    )
    from kubernetes import client as k8s

    sdk = KServeClient(config_file=str(cluster.kubeconfig))
    isvc = V1beta1InferenceService(
        api_version="serving.kserve.io/v1beta1", kind="InferenceService",
        metadata=k8s.V1ObjectMeta(name="sdk-sklearn", namespace=namespace),
        spec=V1beta1InferenceServiceSpec(predictor=V1beta1PredictorSpec(
            model=V1beta1ModelSpec(
                model_format=V1beta1ModelFormat(name="sklearn"),
                storage_uri="gs://kfserving-examples/models/sklearn/1.0/model",
                resources=k8s.V1ResourceRequirements(
                    requests={"cpu": "100m", "memory": "256Mi"},
                    limits={"cpu": "1", "memory": "1Gi"})))))
    created = sdk.create(isvc)
    assert created["metadata"]["name"] == "sdk-sklearn"
    sdk.wait_isvc_ready("sdk-sklearn", namespace=namespace, timeout_seconds=120,
                        polling_interval=1)
    assert sdk.is_isvc_ready("sdk-sklearn", namespace=namespace)
    got = sdk.get("sdk-sklearn", namespace=namespace)
    assert got["status"]["url"] == f"http://sdk-sklearn-{namespace}.example.com"

    # patch: a new minReplicas reaches the Deployment, and the InferenceService is Ready
    # again at the new generation
    isvc.spec.predictor.min_replicas = 2
    patched = sdk.patch("sdk-sklearn", isvc, namespace=namespace)
    generation = patched["metadata"]["generation"]
    wait_for(lambda: (d := get_or_none(kube, Deployment, "sdk-sklearn-predictor", namespace))
             and d.spec.replicas == 2 and (d.status.availableReplicas or 0) == 2,
             "two replicas after the SDK patch")
    sdk.wait_isvc_ready("sdk-sklearn", namespace=namespace, timeout_seconds=120,
                        polling_interval=1, expected_generation=generation)

    sdk.delete("sdk-sklearn", namespace=namespace)
    wait_for(lambda: get_or_none(kube, ISVC, "sdk-sklearn", namespace) is None,
             "InferenceService deleted through the SDK")
    wait_for(lambda: get_or_none(kube, Deployment, "sdk-sklearn-predictor", namespace) is None,
             "its Deployment garbage-collected")
