"""Upstream's V16 (headless predictor Service: ``status.address.url`` carries the target
port), the modelcar image-pull-secrets It and V17 (a Deployment's ReplicaFailure surfaces in
PredictorReady) from ``rawkube_controller_test.go``; whole objects and status."""

from __future__ import annotations

import json
from typing import Any

import pytest
from lightkube import AsyncClient
from lightkube.resources.apps_v1 import Deployment
from lightkube.resources.core_v1 import Service
from lightkube.resources.networking_v1 import Ingress
from lightkube.types import PatchType

from apis.serving.v1alpha1 import ServingRuntime

from . import isvc_expected as x
from .isvc_env import (
    DEFAULT_RESOURCES,
    ISVC,
    defaulted,
    deployment_available,
    eventually_status,
    eventually_stored,
    isvc_manager,
    owner,
    tf_serving_runtime,
    upstream_config,
)

pytestmark = [pytest.mark.integration, pytest.mark.anyio]


HEADLESS_CONFIG = {
    "ingress": json.dumps({
        "ingressGateway": "knative-serving/knative-ingress-gateway",
        "localGateway": "knative-serving/knative-local-gateway",
        "localGatewayService": "knative-local-gateway.istio-system.svc.cluster.local"}),
    "storageInitializer": upstream_config()["storageInitializer"],
    "service": json.dumps({"serviceClusterIPNone": True}),
}
"""The headless Its' config: no ``deploy`` or ``inferenceService`` key, Kubernetes Ingress."""


@pytest.mark.parametrize("port", [8080, 8888], ids=["default-port", "custom-port"])
async def test_v16_headless_service_address_has_the_port(
        envtest: Any, kube_client: AsyncClient, namespace: str, port: int) -> None:
    """V16 "Should include port 8080 in status.address.url" / "Should include the actual
    container port ... instead of the default 8080" (a runtime serving on 8888)."""
    ns = namespace
    name = "raw-headless-port" if port == 8080 else "raw-headless-custom-port"
    pred = f"{name}-predictor"
    rt = tf_serving_runtime("tf-serving-raw" if port == 8080 else "ovms-like-runtime", ns)
    args = list(x.TF_ARGS)
    if port == 8888:
        args = ["--port=9000", "--rest_api_port=8888", "--model_base_path=/mnt/models"]
        rt["spec"]["containers"][0].update(
            {"args": args, "ports": [{"containerPort": 8888, "protocol": "TCP"}]})
    annotations = {"serving.kserve.io/deploymentMode": "Standard"}
    async with isvc_manager(envtest, kube_client, ns, HEADLESS_CONFIG) as run:
        await run.client.create(ServingRuntime.model_validate(rt))
        await run.client.create(defaulted({
            "metadata": {"name": name, "namespace": ns, "annotations": annotations},
            "spec": {"predictor": {"minReplicas": 1, "maxReplicas": 3, "tensorflow": {
                "storageUri": x.STORAGE_URI, "runtimeVersion": "1.14.0",
                "name": "kserve-container", "resources": DEFAULT_RESOURCES}}}}))
        # the defaulter adds ``modelFormat``; without an ``inferenceService`` key the built-in
        # disallowed list does not apply (quirk 5), so it reaches every object
        annotations["modelFormat"] = "tensorflow"
        meta_annotations = {"internal.serving.kserve.io/storage-initializer-sourceuri":
                            x.STORAGE_URI, **annotations}
        extra: dict[str, Any] = {}
        if port == 8888:
            extra["ports"] = [{"containerPort": 8888, "protocol": "TCP"}]
        c = x.container("kserve-container", "tensorflow/serving:1.14.0",
                        command=["/usr/bin/tensorflow_model_server"], args=args,
                        env=[{"name": "INFERENCE_SERVICE_NAME", "value": name}],
                        probe=x.readiness_probe(port), **extra)
        await eventually_stored(kube_client, Deployment, pred, ns, x.deployment(
            pred, ns, name, "predictor", meta_annotations, x.pod_spec([c])))
        # with container ports, port 80 takes the first one's name: none here
        ports = None if port == 8080 else [{"protocol": "TCP", "port": 80, "targetPort": port}]
        svc = x.service(pred, ns, name, "predictor", meta_annotations, ports=ports)
        svc["spec"].update({"clusterIP": "None", "clusterIPs": ["None"]})
        await eventually_stored(kube_client, Service, pred, ns, svc)
        await deployment_available(kube_client, pred, ns)
        await eventually_stored(kube_client, Ingress, name, ns, {
            "metadata": {"name": name, "namespace": ns, "annotations": annotations,
                         "ownerReferences": owner(name)},
            "spec": {"rules": [{"host": host, "http": {"paths": [{
                "path": "/", "pathType": "Prefix",
                "backend": {"service": {"name": pred, "port": {"number": 80}}}}]}}
                for host in (f"{name}-{ns}.example.com", f"{pred}-{ns}.example.com")]}})
        await eventually_status(kube_client, name, ns, x.ready_status(
            name, ns, address_port=str(port), runtime=rt["metadata"]["name"]))


async def test_modelcar_only_the_isvc_image_pull_secrets(envtest: Any, kube_client: AsyncClient,
                                                         namespace: str,
                                                         gateway_api: None) -> None:
    """"Should only have the ImagePullSecrets that are specified in the InferenceService"
    (an ``oci://`` model on a vLLM runtime): the Deployment carries the InferenceService's
    pull secret, and after an update only the new one."""
    ns, name = namespace, "modelcar-raw-deployment"
    pred = f"{name}-predictor"
    config = {"ingress": upstream_config()["ingress"],
              "storageInitializer": upstream_config()["storageInitializer"]}
    annotations = {"serving.kserve.io/deploymentMode": "Standard",
                   "serving.kserve.io/autoscalerClass": "hpa",
                   "serving.kserve.io/metrics": "cpu",
                   "serving.kserve.io/targetUtilizationPercentage": "75"}
    command = ["bash", "-c"]
    args = ["python2 -m vllm --model_name=${MODEL_NAME} --model_dir=${MODEL} "
            "--tensor-parallel-size=${TENSOR_PARALLEL_SIZE} "
            "--pipeline-parallel-size=${PIPELINE_PARALLEL_SIZE}"]
    gpu = {"limits": {"nvidia.com/gpu": "1"}, "requests": {"nvidia.com/gpu": "1"}}
    async with isvc_manager(envtest, kube_client, ns, config) as run:
        await run.client.create(ServingRuntime.model_validate({
            "apiVersion": "serving.kserve.io/v1alpha1", "kind": "ServingRuntime",
            "metadata": {"name": "vllm-runtime", "namespace": ns},
            "spec": {"supportedModelFormats": [{"name": "vLLM", "autoSelect": True}],
                     "containers": [{"name": "kserve-container", "image": "kserve/vllm:latest",
                                     "command": command, "args": args,
                                     "resources": DEFAULT_RESOURCES}],
                     "disabled": False}}))
        await run.client.create(defaulted({
            "metadata": {"name": name, "namespace": ns, "annotations": annotations},
            "spec": {"predictor": {
                "minReplicas": 1, "maxReplicas": 2,
                "imagePullSecrets": [{"name": "isvc-image-pull-secret"}],
                "model": {"modelFormat": {"name": "vLLM"}, "storageUri": "oci://test/mnist/export",
                          "runtimeVersion": "0.14.0", "name": "kserve-container",
                          "resources": gpu}}}}))

        def want(secret: str) -> dict[str, Any]:
            # ``modelFormat`` from the defaulter, not filtered: no ``inferenceService`` key
            meta_annotations = {**x.predictor_annotations("hpa", "oci://test/mnist/export"),
                                **annotations, "modelFormat": "vLLM"}
            resources = {k: {**DEFAULT_RESOURCES[k], **gpu[k]} for k in gpu}
            c = x.container("kserve-container", "kserve/vllm:0.14.0", command=command, args=args,
                            env=[{"name": "INFERENCE_SERVICE_NAME", "value": name}],
                            resources=resources, probe=x.readiness_probe())
            return x.deployment(pred, ns, name, "predictor", meta_annotations,
                                x.pod_spec([c], imagePullSecrets=[{"name": secret}]))

        await eventually_stored(kube_client, Deployment, pred, ns, want("isvc-image-pull-secret"))
        await kube_client.patch(ISVC, name, {"spec": {"predictor": {
            "imagePullSecrets": [{"name": "new-image-pull-secret"}]}}}, namespace=ns,
            patch_type=PatchType.MERGE)
        await eventually_stored(kube_client, Deployment, pred, ns, want("new-image-pull-secret"))


async def test_v17_replica_failure_in_predictor_ready(envtest: Any, kube_client: AsyncClient,
                                                      namespace: str, gateway_api: None) -> None:
    """V17: the Deployment reports ReplicaFailure FailedCreate (an admission webhook denied
    its pods): PredictorReady False with that reason and message; the status is whole
    (Ready present, upstream's "Bug 1")."""
    ns, name = namespace, "raw-replica-failure-test"
    pred = f"{name}-predictor"
    message = ('admission webhook "pod-policy.example.com" denied the request: identity '
               '"my-identity" not found')
    async with isvc_manager(envtest, kube_client, ns, upstream_config()) as run:
        await run.client.create(ServingRuntime.model_validate(tf_serving_runtime("tf-serving-raw",
                                                                                 ns)))
        await run.client.create(defaulted({
            "metadata": {"name": name, "namespace": ns,
                         "annotations": x.isvc_annotations("none")},
            "spec": {"predictor": {"tensorflow": {
                "storageUri": x.STORAGE_URI, "runtimeVersion": "1.14.0",
                "name": "kserve-container", "resources": DEFAULT_RESOURCES}}}}))
        await eventually_stored(kube_client, Deployment, pred, ns,
                                x.tf_predictor_deployment(name, ns, autoscaler="none"))
        await kube_client.patch(Deployment.Status, pred, {"status": {
            "observedGeneration": 1,
            "conditions": [
                {"type": "ReplicaFailure", "status": "True", "reason": "FailedCreate",
                 "message": message},
                {"type": "Available", "status": "False", "reason": "MinimumReplicasUnavailable",
                 "message": "Deployment does not have minimum availability."}]}},
            namespace=ns)
        not_created = {"reason": "Predictor ingress not created"}
        await eventually_status(kube_client, name, ns, {
            "observedGeneration": 1,
            "conditions": [
                {"type": "IngressReady", "status": "False", **not_created},
                {"type": "PredictorReady", "status": "False", "reason": "FailedCreate",
                 "message": message},
                {"type": "Ready", "status": "False", **not_created},
                {"type": "Stopped", "status": "False", "severity": "Info"}],
            "components": {"predictor": {}},
            "modelStatus": x.PENDING_MODEL,
            "deploymentMode": "Standard",
            "servingRuntimeName": "tf-serving-raw"})
