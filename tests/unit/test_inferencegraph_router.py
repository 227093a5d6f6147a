"""The InferenceGraph router's pure builders: upstream ``raw_ig_test.go``
(``TestCreateInferenceGraphPodSpec``, ``TestConstructGraphObjectMeta``) as tables, the
``--graph-json`` text as Go's ``json.Marshal`` writes it, the router config check, and the
Standard-mode objects and URL."""

from __future__ import annotations

import json
from typing import Any

import pytest

from apis.serving.v1alpha1.inference_graph import InferenceGraph, InferenceGraphSpec
from apis.serving.v1beta1.configmap import RouterConfig, parse_inferenceservice_config
from controllers.inferencegraph.graph_json import graph_json, spec_to_go_json
from controllers.inferencegraph.raw_ig import (
    build_raw_objects,
    construct_for_raw_deployment,
    raw_url,
)
from controllers.inferencegraph.router import (
    RouterConfigError,
    check_router_config,
    create_inference_graph_pod_spec,
)
from runtime.codec import object_to_dict

ROUTER = RouterConfig.model_validate({
    "image": "kserve/router:v0.10.0", "cpuRequest": "100m", "cpuLimit": "100m",
    "memoryRequest": "100Mi", "memoryLimit": "500Mi"})
ROUTER_HEADERS = RouterConfig.model_validate({
    **ROUTER.model_dump(by_alias=True), "headers": {"propagate": ["Authorization", "Intuit_tid"]}})
DEFAULT_RESOURCES = {"limits": {"cpu": "100m", "memory": "500Mi"},
                     "requests": {"cpu": "100m", "memory": "100Mi"}}
SEQUENCE = {"root": {"routerType": "Sequence",
                     "steps": [{"serviceUrl": "http://someservice.example.com"}]}}
READINESS = {"httpGet": {"path": "/readyz", "port": 8080, "scheme": "HTTP"},
             "initialDelaySeconds": 5, "timeoutSeconds": 2, "periodSeconds": 5,
             "successThreshold": 1, "failureThreshold": 3}
SECURITY = {"privileged": False, "runAsNonRoot": True, "readOnlyRootFilesystem": True,
            "allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}}
BASIC_JSON = ('{"nodes":{"root":{"routerType":"Sequence","steps":[{"serviceUrl":'
              '"http://someservice.example.com"}]}},"resources":{}}')
RESOURCE_JSON = ('{"nodes":{"root":{"routerType":"Sequence","steps":[{"serviceUrl":'
                 '"http://someservice.example.com"}]}},"resources":{"limits":{"cpu":"100m",'
                 '"memory":"500Mi"},"requests":{"cpu":"100m","memory":"100Mi"}}}')
TOLERATION = {"key": "key1", "operator": "Equal", "value": "value1", "effect": "NoSchedule"}


def ig(name: str, ns: str, spec: dict[str, Any], **meta: Any) -> InferenceGraph:
    return InferenceGraph.model_validate(
        {"metadata": {"name": name, "namespace": ns, **meta}, "spec": spec})


def container(name: str, graph_json: str, *, env: bool = False) -> dict[str, Any]:
    c: dict[str, Any] = {"name": name, "image": "kserve/router:v0.10.0",
                         "args": ["--graph-json", graph_json],
                         "resources": DEFAULT_RESOURCES, "readinessProbe": READINESS,
                         "securityContext": SECURITY}
    if env:
        c["env"] = [{"name": "PROPAGATE_HEADERS", "value": "Authorization,Intuit_tid"}]
    return c


@pytest.mark.parametrize(
    ("graph", "router", "expected"),
    [
        pytest.param(  # "Basic Inference graph"
            ig("basic-ig", "basic-ig-namespace", {"nodes": SEQUENCE}), ROUTER,
            {"containers": [container("basic-ig", BASIC_JSON)],
             "automountServiceAccountToken": False},
            id="basic",
        ),
        pytest.param(  # "Inference graph with resource requirements"
            ig("resource-ig", "resource-ig-namespace",
               {"nodes": SEQUENCE, "resources": DEFAULT_RESOURCES},
               annotations={"serving.kserve.io/deploymentMode": "Standard"}), ROUTER,
            {"containers": [container("resource-ig", RESOURCE_JSON)],
             "automountServiceAccountToken": False},
            id="withresource",
        ),
        pytest.param(  # "Inference graph with propagate headers"
            ig("basic-ig", "basic-ig-namespace", {"nodes": SEQUENCE}), ROUTER_HEADERS,
            {"containers": [container("basic-ig", BASIC_JSON, env=True)],
             "automountServiceAccountToken": False},
            id="headers",
        ),
        pytest.param(  # "Inference graph with tolerations"
            ig("resource-ig", "resource-ig-namespace",
               {"nodes": SEQUENCE, "resources": DEFAULT_RESOURCES, "tolerations": [TOLERATION]}),
            ROUTER,
            {"containers": [container("resource-ig", RESOURCE_JSON[:-1] + ',"tolerations":[{'
                                      '"key":"key1","operator":"Equal","value":"value1",'
                                      '"effect":"NoSchedule"}]}')],
             "automountServiceAccountToken": False, "tolerations": [TOLERATION]},
            id="tolerations",
        ),
        pytest.param(
            ig("full", "ns", {"nodes": SEQUENCE, "nodeSelector": {"disk": "ssd"},
                              "nodeName": "node-1", "serviceAccountName": "sa",
                              "affinity": {"nodeAffinity": {
                                  "requiredDuringSchedulingIgnoredDuringExecution": {
                                      "nodeSelectorTerms": [{"matchExpressions": [
                                          {"key": "zone", "operator": "In",
                                           "values": ["a"]}]}]}}}}),
            RouterConfig.model_validate({**ROUTER.model_dump(by_alias=True),
                                         "imagePullPolicy": "Always",
                                         "imagePullSecrets": ["regcred", "other"]}),
            {"containers": [{**container("full", spec_to_go_json({
                "nodes": SEQUENCE, "nodeSelector": {"disk": "ssd"}, "nodeName": "node-1",
                "serviceAccountName": "sa", "affinity": {"nodeAffinity": {
                    "requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
                        {"matchExpressions": [{"key": "zone", "operator": "In",
                                               "values": ["a"]}]}]}}}})),
                             "imagePullPolicy": "Always"}],
             "automountServiceAccountToken": False,
             "affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
                 "nodeSelectorTerms": [{"matchExpressions": [
                     {"key": "zone", "operator": "In", "values": ["a"]}]}]}}},
             "imagePullSecrets": [{"name": "regcred"}, {"name": "other"}],
             "nodeSelector": {"disk": "ssd"}, "nodeName": "node-1",
             "serviceAccountName": "sa"},
            id="node-fields-pull-secrets-policy",
        ),
    ],
)
def test_create_inference_graph_pod_spec(
    graph: InferenceGraph, router: RouterConfig, expected: dict[str, Any]
) -> None:
    assert object_to_dict(create_inference_graph_pod_spec(graph, router)) == expected


@pytest.mark.parametrize(
    ("meta", "spec", "labels", "annotations", "ext"),
    [
        ({}, {}, {"serving.kserve.io/inferencegraph": "basic-ig"}, {}, {}),
        ({"annotations": {"test": "test"}}, {"minReplicas": 2, "maxReplicas": 5},
         {"serving.kserve.io/inferencegraph": "basic-ig"}, {"test": "test"},
         {"minReplicas": 2, "maxReplicas": 5}),
        ({"labels": {"test": "test"}}, {},
         {"serving.kserve.io/inferencegraph": "basic-ig", "test": "test"}, {}, {}),
        ({"annotations": {"test": "test"}, "labels": {"test": "test"}},
         {"minReplicas": 5, "maxReplicas": 10, "scaleTarget": 50, "scaleMetric": "cpu"},
         {"serving.kserve.io/inferencegraph": "basic-ig", "test": "test"}, {"test": "test"},
         {"minReplicas": 5, "maxReplicas": 10, "scaleTarget": 50, "scaleMetric": "cpu"}),
    ],
    ids=["basic", "annotations-min-max", "labels", "annotations-labels-scale"],
)
def test_construct_graph_object_meta(
    meta: dict[str, Any], spec: dict[str, Any], labels: dict[str, str],
    annotations: dict[str, str], ext: dict[str, Any],
) -> None:
    g = ig("basic-ig", "basic-ig-namespace", {"nodes": SEQUENCE, **spec}, **meta)
    m, e = construct_for_raw_deployment(g)
    assert (m.name, m.namespace, m.labels, m.annotations) == (
        "basic-ig", "basic-ig-namespace", labels, annotations)
    assert e.model_dump(by_alias=True, exclude_none=True) == ext


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        # map keys sorted, "resources":{} always, zero values omitted
        ({"nodes": {"b": {"routerType": "Switch", "steps": [
            {"nodeName": "x", "condition": "instances.#(x>1)", "mapPredictionsToInstances": False,
             "data": "", "dependency": "Hard"}]},
                    "a": {"routerType": "Ensemble"}}},
         '{"nodes":{"a":{"routerType":"Ensemble"},"b":{"routerType":"Switch","steps":[{'
         '"nodeName":"x","condition":"instances.#(x\\u003e1)","dependency":"Hard"}]}},'
         '"resources":{}}'),
        # step field order: name, target, data, mapPredictionsToInstances, weight (0 kept)
        ({"nodes": {"root": {"routerType": "Splitter", "steps": [
            {"weight": 0, "serviceName": "s", "name": "n", "serviceUrl": "http://u",
             "mapPredictionsToInstances": True, "data": "$request"}]}}},
         '{"nodes":{"root":{"routerType":"Splitter","steps":[{"name":"n","serviceName":"s",'
         '"serviceUrl":"http://u","data":"$request","mapPredictionsToInstances":true,'
         '"weight":0}]}},"resources":{}}'),
        # quantities canonical; spec field order; pointers (timeout 0, minReplicas 0) kept;
        # maxReplicas 0 omitted; router timeouts
        ({"nodes": {"root": {"routerType": "Sequence"}}, "serviceAccountName": "sa",
          "resources": {"requests": {"memory": "1024Mi", "cpu": "1000m"}},
          "timeout": 0, "minReplicas": 0, "maxReplicas": 0, "scaleTarget": 3,
          "scaleMetric": "rps", "routerTimeouts": {"serviceClient": 9, "serverRead": 1}},
         '{"nodes":{"root":{"routerType":"Sequence"}},"resources":{"requests":{"cpu":"1",'
         '"memory":"1Gi"}},"timeout":0,"routerTimeouts":{"serverRead":1,"serviceClient":9},'
         '"minReplicas":0,"scaleTarget":3,"scaleMetric":"rps","serviceAccountName":"sa"}'),
        # affinity: Go struct order at every level, weight/topologyKey never omitted
        ({"nodes": {"root": {"routerType": "Sequence"}}, "affinity": {
            "podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
                {"topologyKey": "kubernetes.io/hostname",
                 "labelSelector": {"matchExpressions": [{"operator": "Exists", "key": "app"}],
                                   "matchLabels": {"b": "2", "a": "1"}}}]},
            "nodeAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
                {"preference": {"matchFields": [{"values": ["n1"], "operator": "In",
                                                 "key": "metadata.name"}]}, "weight": 1}]}}},
         '{"nodes":{"root":{"routerType":"Sequence"}},"resources":{},"affinity":{'
         '"nodeAffinity":{"preferredDuringSchedulingIgnoredDuringExecution":[{"weight":1,'
         '"preference":{"matchFields":[{"key":"metadata.name","operator":"In","values":'
         '["n1"]}]}}]},"podAntiAffinity":{"requiredDuringSchedulingIgnoredDuringExecution":[{'
         '"labelSelector":{"matchLabels":{"a":"1","b":"2"},"matchExpressions":[{"key":"app",'
         '"operator":"Exists"}]},"topologyKey":"kubernetes.io/hostname"}]}}}'),
        # toleration fields in Go order, tolerationSeconds pointer
        ({"nodes": {"root": {"routerType": "Sequence"}}, "tolerations": [
            {"effect": "NoExecute", "operator": "Exists", "tolerationSeconds": 0}],
          "nodeSelector": {"z": "1", "a": "2"}, "nodeName": "n"},
         '{"nodes":{"root":{"routerType":"Sequence"}},"resources":{},"tolerations":[{'
         '"operator":"Exists","effect":"NoExecute","tolerationSeconds":0}],"nodeSelector":{'
         '"a":"2","z":"1"},"nodeName":"n"}'),
    ],
    ids=["sorted-omitempty-html", "step-order", "spec-order-quantities", "affinity", "toleration"],
)
def test_graph_json_is_go_marshal(spec: dict[str, Any], expected: str) -> None:
    text = graph_json(InferenceGraphSpec.model_validate(spec))
    assert text == expected
    json.loads(text)  # and it is JSON


@pytest.mark.parametrize(
    ("router", "error"),
    [
        ({}, "router.memoryRequest = ''"),
        ({"memoryRequest": "1Gi", "memoryLimit": "1Gi", "cpuRequest": "1", "cpuLimit": "x"},
         "router.cpuLimit = 'x'"),
        ({"memoryRequest": "1Gi", "memoryLimit": "lots", "cpuRequest": "1", "cpuLimit": "1"},
         "router.memoryLimit = 'lots'"),
        ({"memoryRequest": "1Gi", "memoryLimit": "1Gi", "cpuRequest": "1", "cpuLimit": "1"},
         None),
    ],
)
def test_check_router_config(router: dict[str, str], error: str | None) -> None:
    cfg = RouterConfig.model_validate(router)
    if error is None:
        check_router_config(cfg)
        return
    with pytest.raises(RouterConfigError) as e:
        check_router_config(cfg)
    assert str(e.value).startswith("Failed to parse resource configuration for router:")
    assert error in str(e.value)


def _config(**keys: Any) -> Any:
    data = {"router": json.dumps(ROUTER.model_dump(by_alias=True))}
    data.update({k: json.dumps(v) for k, v in keys.items()})
    return parse_inferenceservice_config(data)


@pytest.mark.parametrize(
    ("annotations", "autoscaler_kind", "replicas"),
    [
        ({}, "HorizontalPodAutoscaler", None),
        ({"serving.kserve.io/autoscalerClass": "keda"}, "ScaledObject", None),
        ({"serving.kserve.io/autoscalerClass": "none"}, "HorizontalPodAutoscaler", 3),
    ],
    ids=["hpa", "keda", "none"],
)
def test_standard_objects(annotations: dict[str, str], autoscaler_kind: str,
                          replicas: int | None) -> None:
    g = ig("g", "ns", {"nodes": SEQUENCE, "minReplicas": 3, "maxReplicas": 6},
           annotations=annotations, labels={"team": "a"})
    objs = build_raw_objects(g, g.spec, _config())  # type: ignore[arg-type]
    assert [d.metadata.name for d in objs.deployments] == ["g"]
    dep = object_to_dict(objs.deployments[0])
    assert dep["metadata"]["labels"] == {"team": "a", "serving.kserve.io/inferencegraph": "g",
                                         "app": "isvc.g"}
    assert dep["spec"].get("replicas") == replicas
    pod = dep["spec"]["template"]["spec"]
    assert [c["name"] for c in pod["containers"]] == ["g"]
    assert pod["containers"][0]["readinessProbe"] == READINESS  # the router's, not a TCP one
    assert "INFERENCE_SERVICE_NAME" not in json.dumps(pod)
    svc = object_to_dict(objs.services[0])
    assert svc["spec"] == {"selector": {"app": "isvc.g"}, "ports": [
        {"name": "g", "port": 80, "targetPort": 8080, "protocol": "TCP"}]}
    auto = object_to_dict(objs.autoscaler)
    assert auto["kind"] == autoscaler_kind
    assert auto["metadata"]["name"] == "g"


@pytest.mark.parametrize(
    ("ingress", "url"),
    [
        ({}, "http://g-ns.example.com"),
        ({"ingressDomain": "models.corp", "domainTemplate": "{{ .Name }}.{{ .Namespace }}."
          "{{ .IngressDomain }}"}, "http://g.ns.models.corp"),
    ],
)
def test_raw_url(ingress: dict[str, str], url: str) -> None:
    cfg = _config(ingress={"kserveIngressGateway": "kserve/gw",
                           "ingressGateway": "knative-serving/gw", **ingress})
    assert raw_url(ig("g", "ns", {"nodes": SEQUENCE}), cfg) == url
