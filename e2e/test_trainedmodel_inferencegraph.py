"""TrainedModel and InferenceGraph flows against the real manager: models placed on a
multi-model predictor's models.json, a Sequence graph's router running once its
InferenceServices are Ready."""

from __future__ import annotations

import json
from typing import Any

from lightkube.resources.apps_v1 import Deployment
from lightkube.resources.core_v1 import ConfigMap, Pod

from e2e.helpers import IG, TM, condition, get_or_none, is_true, wait_for
from e2e.test_inferenceservice import create_isvc, sklearn_predictor, wait_isvc

MMS_RESOURCES = {"requests": {"cpu": "100m", "memory": "2Gi"},
                 "limits": {"cpu": "1", "memory": "2Gi"}}


def trained_model(kube: Any, ns: str, name: str, isvc: str, memory: str) -> Any:
    return kube.create(TM.from_dict({
        "apiVersion": "serving.kserve.io/v1alpha1", "kind": "TrainedModel",
        "metadata": {"name": name, "namespace": ns},
        "spec": {"inferenceService": isvc, "model": {
            "storageUri": f"gs://models/{name}", "framework": "tensorflow",
            "memory": memory}}}))


def test_trained_models_on_a_multi_model_predictor(kube: Any, namespace: str) -> None:
    # no storageUri: a multi-model predictor; its controller creates modelconfig-mms-0
    create_isvc(kube, namespace, "mms", {"predictor": {"tensorflow": {
        "resources": MMS_RESOURCES}}})
    wait_isvc(kube, namespace, "mms")
    wait_for(lambda: get_or_none(kube, ConfigMap, "modelconfig-mms-0", namespace),
             "modelconfig-mms-0 created by the InferenceService controller")
    trained_model(kube, namespace, "small", "mms", "500Mi")
    trained_model(kube, namespace, "huge", "mms", "3Gi")

    def models() -> list[str] | None:
        cm = kube.get(ConfigMap, "modelconfig-mms-0", namespace=namespace)
        names = [m["modelName"] for m in json.loads((cm.data or {}).get("models.json", "[]"))]
        return names or None

    assert wait_for(models, "small in models.json") == ["small"]
    small = wait_for(lambda: (t := kube.get(TM, "small", namespace=namespace))
                     and is_true(t) and t, "TrainedModel small Ready")
    assert small["status"]["url"].endswith("/v1/models/small:predict")
    huge = wait_for(lambda: (t := kube.get(TM, "huge", namespace=namespace))
                    and (c := condition(t, "MemoryResourceAvailable"))
                    and c["status"] == "False" and t, "huge refused")
    assert not is_true(huge)
    kube.delete(TM, "small", namespace=namespace)
    wait_for(lambda: get_or_none(kube, TM, "small", namespace) is None, "small deleted")
    wait_for(lambda: models() is None, "small removed from models.json")


def test_sequence_graph(kube: Any, namespace: str) -> None:
    for name in ("first", "second"):
        create_isvc(kube, namespace, name, {"predictor": sklearn_predictor()})
    kube.create(IG.from_dict({
        "apiVersion": "serving.kserve.io/v1alpha1", "kind": "InferenceGraph",
        "metadata": {"name": "pipeline", "namespace": namespace},
        "spec": {"nodes": {"root": {"routerType": "Sequence", "steps": [
            {"name": "a", "serviceName": "first"},
            {"name": "b", "serviceName": "second", "data": "$response"}]}}}}))
    for name in ("first", "second"):
        wait_isvc(kube, namespace, name)
    graph = wait_for(lambda: (g := kube.get(IG, "pipeline", namespace=namespace))
                     and is_true(g) and g, "InferenceGraph Ready", timeout=120)
    assert graph["status"]["url"] == f"http://pipeline-{namespace}.example.com"
    dep = kube.get(Deployment, "pipeline", namespace=namespace)
    assert dep.metadata.ownerReferences[0].kind == "InferenceGraph"
    pods = list(kube.list(Pod, namespace=namespace, labels={"app": "isvc.pipeline"}))
    assert pods and all(p.status.phase == "Running" for p in pods)
    graph_json = json.loads(pods[0].spec.containers[0].args[1])
    assert [s["serviceUrl"] for s in graph_json["nodes"]["root"]["steps"]] == [
        f"http://{n}-predictor.{namespace}.svc.cluster.local/v1/models/{n}:predict"
        for n in ("first", "second")]
