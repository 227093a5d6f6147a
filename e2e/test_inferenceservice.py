"""InferenceService flows in the Standard deployment mode, end to end: the webhooks (defaults,
validation, the pod mutator) called by the API server, the manager reconciling as its
ServiceAccount, Deployments getting Ready pods from the cluster (kwok here)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from functools import partial
from typing import Any

import pytest
from lightkube.core.exceptions import ApiError
from lightkube.resources.apps_v1 import Deployment
from lightkube.resources.core_v1 import ConfigMap, Pod, Service
from lightkube.resources.networking_v1 import Ingress

from e2e.helpers import ISVC, SR, condition, get_or_none, is_true, merge_patch, wait_for
from e2e.manager import ManagerProcess

SKLEARN_URI = "gs://kfserving-examples/models/sklearn/1.0/model"
RESOURCES = {"requests": {"cpu": "100m", "memory": "256Mi"},
             "limits": {"cpu": "1", "memory": "1Gi"}}


def sklearn_predictor(uri: str = SKLEARN_URI, **extra: Any) -> dict[str, Any]:
    return {"model": {"modelFormat": {"name": "sklearn"}, "storageUri": uri,
                      "resources": RESOURCES}, **extra}


def create_isvc(kube: Any, ns: str, name: str, spec: dict[str, Any],
                annotations: dict[str, str] | None = None) -> Any:
    return kube.create(ISVC.from_dict({
        "apiVersion": "serving.kserve.io/v1beta1", "kind": "InferenceService",
        "metadata": {"name": name, "namespace": ns, "annotations": annotations or {}},
        "spec": spec}))


def wait_isvc(kube: Any, ns: str, name: str, ctype: str = "Ready", timeout: float = 120
              ) -> Any:
    def ready() -> Any:
        obj = kube.get(ISVC, name, namespace=ns)
        return obj if is_true(obj, ctype) else None

    return wait_for(ready, f"InferenceService {ns}/{name} {ctype}", timeout)


def available(kube: Any, ns: str, name: str) -> Any:
    d = get_or_none(kube, Deployment, name, ns)
    return d if d is not None and d.status and (d.status.availableReplicas or 0) > 0 else None


def gone(kube: Any, kind: Any, ns: str, name: str) -> bool:
    return get_or_none(kube, kind, name, ns) is None


def test_standard_isvc_becomes_ready(kube: Any, namespace: str, manager: ManagerProcess
                                     ) -> None:
    create_isvc(kube, namespace, "sklearn-iris", {"predictor": sklearn_predictor()})
    isvc = wait_isvc(kube, namespace, "sklearn-iris")
    status = isvc["status"]
    assert status["url"] == f"http://sklearn-iris-{namespace}.example.com"
    assert status["deploymentMode"] == "Standard"
    assert status["address"]["url"].startswith(f"http://sklearn-iris-predictor.{namespace}.svc")
    for ctype in ("PredictorReady", "IngressReady"):
        assert is_true(isvc, ctype), condition(isvc, ctype)
    # the objects of a Standard predictor, owned by the InferenceService
    dep = available(kube, namespace, "sklearn-iris-predictor")
    assert dep is not None
    assert dep.metadata.ownerReferences[0].kind == "InferenceService"
    assert kube.get(Service, "sklearn-iris-predictor", namespace=namespace)
    assert kube.get(Ingress, "sklearn-iris", namespace=namespace)
    # the pod went through the pod mutator (the storage initializer) and runs
    pods = list(kube.list(Pod, namespace=namespace,
                          labels={"serving.kserve.io/inferenceservice": "sklearn-iris"}))
    assert pods and all(p.status.phase == "Running" for p in pods)
    assert [c.name for c in pods[0].spec.initContainers] == ["storage-initializer"]
    assert pods[0].spec.containers[0].image == "kserve/sklearnserver:latest"
    # the manager counted its reconciles
    metrics = manager.metrics()
    assert any(line.startswith('controller_runtime_reconcile_total{controller="inferenceservice"'
                               ',result="success"}') and float(line.split()[-1]) > 0
               for line in metrics.splitlines())


def test_invalid_isvc_refused_by_the_webhook(kube: Any, namespace: str) -> None:
    with pytest.raises(ApiError) as err:
        create_isvc(kube, namespace, "bad", {"predictor": sklearn_predictor()},
                    annotations={"serving.kserve.io/autoscalerClass": "no-such-class"})
    # an admission denial is 403 with the webhook's message, naming the field
    assert err.value.status.code == 403
    message = err.value.status.message or ""
    assert "inferenceservice.kserve-webhook-server.validator" in message
    assert "serving.kserve.io/autoscalerClass" in message


def test_transformer(kube: Any, namespace: str) -> None:
    create_isvc(kube, namespace, "with-transformer", {
        "predictor": sklearn_predictor(),
        "transformer": {"containers": [{"name": "kserve-container",
                                        "image": "kserve/image-transformer:latest",
                                        "args": ["--model_name", "with-transformer"]}]}})
    isvc = wait_isvc(kube, namespace, "with-transformer")
    assert is_true(isvc, "TransformerReady")
    dep = wait_for(lambda: available(kube, namespace, "with-transformer-transformer"),
                   "transformer Deployment available")
    args = dep.spec.template.spec.containers[0].args
    host = args[args.index("--predictor_host") + 1]
    assert host == f"with-transformer-predictor.{namespace}"
    # the top-level route sends traffic to the transformer
    ingress = kube.get(Ingress, "with-transformer", namespace=namespace)
    backends = {p.backend.service.name for r in ingress.spec.rules for p in r.http.paths}
    assert "with-transformer-transformer" in backends


def test_explainer(kube: Any, namespace: str) -> None:
    create_isvc(kube, namespace, "with-explainer", {
        "predictor": sklearn_predictor(),
        "explainer": {"art": {"type": "SquareAttack", "config": {"nb_classes": "10"}}}})
    isvc = wait_isvc(kube, namespace, "with-explainer")
    assert is_true(isvc, "ExplainerReady")
    dep = wait_for(lambda: available(kube, namespace, "with-explainer-explainer"),
                   "explainer Deployment available")
    c = dep.spec.template.spec.containers[0]
    assert c.image.startswith("kserve/art-explainer:")
    assert "--adversary_type" in c.args


def test_canary_rollout_and_promotion(kube: Any, namespace: str) -> None:
    v2_uri = "gs://kfserving-examples/models/sklearn/2.0/model"
    create_isvc(kube, namespace, "canary", {
        "predictor": sklearn_predictor(name="v1"),
        "canary": [{"trafficPercent": 10,
                    "predictor": sklearn_predictor(v2_uri, name="v2")}]})
    isvc = wait_isvc(kube, namespace, "canary", "CanaryPredictorReady")
    stable = wait_for(lambda: available(kube, namespace, "canary-v1-predictor"), "stable")
    canary = wait_for(lambda: available(kube, namespace, "canary-v2-predictor"), "canary")
    assert stable.metadata.ownerReferences[0].name == "canary"
    statuses = isvc["status"].get("canaryStatuses") or isvc["status"].get("canary") or []
    assert statuses, isvc["status"]
    wait_isvc(kube, namespace, "canary")
    # promote: the canary's predictor becomes the predictor, the canary list goes
    isvc = kube.get(ISVC, "canary", namespace=namespace)
    spec = isvc["spec"]
    spec["predictor"] = sklearn_predictor(v2_uri, name="v2")
    spec["canary"] = None
    merge_patch(kube, ISVC, "canary", {"spec": spec}, namespace)
    wait_for(lambda: gone(kube, Deployment, namespace, "canary-v1-predictor"),
             "old stable Deployment deleted")
    wait_for(lambda: gone(kube, Service, namespace, "canary-v1-predictor"),
             "old stable Service deleted")
    promoted = wait_for(lambda: available(kube, namespace, "canary-v2-predictor"), "promoted")
    assert promoted.metadata.uid == canary.metadata.uid  # promoted in place, not recreated

    def promoted_status() -> Any:  # no canaries: their condition and statuses go
        obj = kube.get(ISVC, "canary", namespace=namespace)
        return obj if is_true(obj, "Ready") and condition(obj, "CanaryPredictorReady") is None \
            and not obj["status"].get("canaryStatuses") else None

    wait_for(promoted_status, "Ready, without canary status, after the promotion")


def test_stop_and_resume(kube: Any, namespace: str) -> None:
    create_isvc(kube, namespace, "stoppable", {"predictor": sklearn_predictor()})
    wait_isvc(kube, namespace, "stoppable")
    assert available(kube, namespace, "stoppable-predictor")
    merge_patch(kube, ISVC, "stoppable",
                {"metadata": {"annotations": {"serving.kserve.io/stop": "true"}}}, namespace)
    isvc = wait_isvc(kube, namespace, "stoppable", "Stopped")
    for kind, name in ((Deployment, "stoppable-predictor"), (Service, "stoppable-predictor"),
                       (Ingress, "stoppable")):
        wait_for(partial(gone, kube, kind, namespace, name), f"{name} deleted")
    isvc = kube.get(ISVC, "stoppable", namespace=namespace)
    predictor = condition(isvc, "PredictorReady")
    assert predictor is not None and predictor["status"] == "False"
    assert predictor.get("reason") == "Stopped"
    merge_patch(kube, ISVC, "stoppable",
                {"metadata": {"annotations": {"serving.kserve.io/stop": "false"}}}, namespace)
    wait_isvc(kube, namespace, "stoppable")
    assert available(kube, namespace, "stoppable-predictor")
    stopped = condition(kube.get(ISVC, "stoppable", namespace=namespace), "Stopped")
    assert stopped is None or stopped["status"] == "False"


def test_runtime_change_redeploys(kube: Any, namespace: str) -> None:
    kube.create(SR.from_dict({
        "apiVersion": "serving.kserve.io/v1alpha1", "kind": "ServingRuntime",
        "metadata": {"name": "my-sklearn", "namespace": namespace},
        "spec": {"supportedModelFormats": [{"name": "sklearn", "version": "1"}],
                 "protocolVersions": ["v1"],
                 "containers": [{"name": "kserve-container", "image": "example/sklearn:1",
                                 "args": ["--model_name={{.Name}}",
                                          "--model_dir=/mnt/models"]}]}}))
    create_isvc(kube, namespace, "custom-rt", {"predictor": {
        "model": {"modelFormat": {"name": "sklearn"}, "runtime": "my-sklearn",
                  "storageUri": SKLEARN_URI}}})
    isvc = wait_isvc(kube, namespace, "custom-rt")
    assert isvc["status"].get("servingRuntimeName") == "my-sklearn"
    dep = available(kube, namespace, "custom-rt-predictor")
    assert dep.spec.template.spec.containers[0].image == "example/sklearn:1"
    rt = kube.get(SR, "my-sklearn", namespace=namespace)
    rt["spec"]["containers"][0]["image"] = "example/sklearn:2"
    merge_patch(kube, SR, "my-sklearn", {"spec": rt["spec"]}, namespace)

    def redeployed() -> Any:
        d = kube.get(Deployment, "custom-rt-predictor", namespace=namespace)
        return d if d.spec.template.spec.containers[0].image == "example/sklearn:2" else None

    wait_for(redeployed, "Deployment with the runtime's new image")
    wait_isvc(kube, namespace, "custom-rt")


@pytest.fixture
def restore_config(kube: Any) -> Iterator[dict[str, str]]:
    cm = kube.get(ConfigMap, "inferenceservice-config", namespace="kserve")
    original = dict(cm.data)
    yield original
    merge_patch(kube, ConfigMap, "inferenceservice-config", {"data": original}, "kserve")


def test_config_change_reaches_the_deployment(kube: Any, namespace: str,
                                              restore_config: dict[str, str]) -> None:
    create_isvc(kube, namespace, "configured", {"predictor": sklearn_predictor()})
    wait_isvc(kube, namespace, "configured")
    dep = kube.get(Deployment, "configured-predictor", namespace=namespace)
    assert dep.spec.strategy.rollingUpdate.maxSurge != "42%"
    deploy = {"defaultDeploymentMode": "Standard",
              "deploymentRolloutStrategy": {"defaultRollout": {"maxSurge": "42%",
                                                               "maxUnavailable": "0"}}}
    merge_patch(kube, ConfigMap, "inferenceservice-config",
                {"data": {"deploy": json.dumps(deploy)}}, "kserve")

    def updated() -> Any:
        d = kube.get(Deployment, "configured-predictor", namespace=namespace)
        ru = d.spec.strategy.rollingUpdate
        return d if ru is not None and ru.maxSurge == "42%" and ru.maxUnavailable == 0 else None

    wait_for(updated, "the Deployment's rollout strategy from inferenceservice-config")


def test_delete_collects_garbage(kube: Any, namespace: str) -> None:
    create_isvc(kube, namespace, "short-lived", {"predictor": sklearn_predictor()})
    wait_isvc(kube, namespace, "short-lived")
    assert available(kube, namespace, "short-lived-predictor")
    kube.delete(ISVC, "short-lived", namespace=namespace)
    wait_for(lambda: gone(kube, ISVC, namespace, "short-lived"), "InferenceService deleted")
    for kind, name in ((Deployment, "short-lived-predictor"),
                       (Service, "short-lived-predictor"), (Ingress, "short-lived")):
        wait_for(partial(gone, kube, kind, namespace, name),
                 f"{kind.__name__} {name} garbage-collected")
    wait_for(lambda: not list(kube.list(Pod, namespace=namespace, labels={
        "serving.kserve.io/inferenceservice": "short-lived"})), "pods deleted")
