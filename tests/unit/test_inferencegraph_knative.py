"""The InferenceGraph's Knative Service shape (upstream ``controller_test.go``'s expected
ksvc for headers, resources, pod affinity and tolerations; the six initial-scale cases),
``SetAutoScalingAnnotations`` and ``ValidateInitialScaleAnnotation`` as tables."""

from __future__ import annotations

import json
from typing import Any

import pytest

from apis.serving.v1alpha1.inference_graph import InferenceGraph, InferenceGraphSpec
from apis.serving.v1beta1.configmap import RouterConfig
from controllers.inferencegraph.knative_ig import (
    allow_zero_initial_scale,
    create_knative_service,
    knative_autoscaler_namespace,
    set_autoscaling_annotations,
    validate_initial_scale_annotation,
)

ROUTER = RouterConfig.model_validate({
    "image": "kserve/router:v0.10.0", "memoryRequest": "100Mi", "memoryLimit": "500Mi",
    "cpuRequest": "100m", "cpuLimit": "100m",
    "headers": {"propagate": ["Authorization", "Intuit_tid"]}})
SEQUENCE = {"root": {"routerType": "Sequence",
                     "steps": [{"serviceUrl": "http://someservice.example.com"}]}}
READINESS = {"httpGet": {"path": "/readyz", "port": 8080, "scheme": "HTTP"},
             "initialDelaySeconds": 5, "timeoutSeconds": 2, "periodSeconds": 5,
             "successThreshold": 1, "failureThreshold": 3}
SECURITY = {"privileged": False, "runAsNonRoot": True, "readOnlyRootFilesystem": True,
            "allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}}
DEFAULT_RESOURCES = {"limits": {"cpu": "100m", "memory": "500Mi"},
                     "requests": {"cpu": "100m", "memory": "100Mi"}}
AFFINITY = {"podAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [{
    "weight": 100, "podAffinityTerm": {"labelSelector": {"matchExpressions": [{
        "key": "serving.kserve.io/inferencegraph", "operator": "In",
        "values": ["singlenode3"]}]}, "topologyKey": "topology.kubernetes.io/zone"}}]}}
TOLERATION = {"key": "key1", "operator": "Equal", "value": "value1", "effect": "NoSchedule"}


def graph(name: str, spec: dict[str, Any], annotations: dict[str, str] | None = None,
          labels: dict[str, str] | None = None) -> InferenceGraph:
    meta: dict[str, Any] = {"name": name, "namespace": "default", "annotations": {
        "serving.kserve.io/deploymentMode": "Knative", **(annotations or {})}}
    if labels:
        meta["labels"] = labels
    return InferenceGraph.model_validate({"metadata": meta, "spec": spec})


def expected(name: str, graph_json: str, resources: dict[str, Any], **pod: Any) -> dict[str, Any]:
    return {
        "apiVersion": "serving.knative.dev/v1",
        "kind": "Service",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {"template": {
            "metadata": {
                "labels": {"serving.kserve.io/inferencegraph": name,
                           "serving.kserve.io/kind": "InferenceGraph"},
                "annotations": {"autoscaling.knative.dev/min-scale": "1",
                                "autoscaling.knative.dev/class": "kpa.autoscaling.knative.dev",
                                "serving.kserve.io/deploymentMode": "Knative"},
            },
            "spec": {
                "containers": [{
                    "image": "kserve/router:v0.10.0",
                    "env": [{"name": "PROPAGATE_HEADERS", "value": "Authorization,Intuit_tid"}],
                    "args": ["--graph-json", graph_json],
                    "resources": resources,
                    "readinessProbe": READINESS,
                    "securityContext": SECURITY,
                }],
                "automountServiceAccountToken": False,
                **pod,
            },
        }},
    }


@pytest.mark.parametrize(
    ("g", "want"),
    [
        pytest.param(
            graph("singlenode1", {"nodes": SEQUENCE}),
            expected("singlenode1", '{"nodes":{"root":{"routerType":"Sequence","steps":[{'
                     '"serviceUrl":"http://someservice.example.com"}]}},"resources":{}}',
                     DEFAULT_RESOURCES),
            id="headers-in-global-config",
        ),
        pytest.param(
            graph("singlenode2", {"nodes": SEQUENCE, "resources": {
                "limits": {"cpu": "123m", "memory": "123Mi"},
                "requests": {"cpu": "123m", "memory": "123Mi"}}}),
            expected("singlenode2", '{"nodes":{"root":{"routerType":"Sequence","steps":[{'
                     '"serviceUrl":"http://someservice.example.com"}]}},"resources":{"limits":'
                     '{"cpu":"123m","memory":"123Mi"},"requests":{"cpu":"123m","memory":'
                     '"123Mi"}}}',
                     {"limits": {"cpu": "123m", "memory": "123Mi"},
                      "requests": {"cpu": "123m", "memory": "123Mi"}}),
            id="resources-in-spec",
        ),
        pytest.param(
            graph("singlenode3", {"nodes": SEQUENCE, "affinity": AFFINITY}),
            expected("singlenode3", '{"nodes":{"root":{"routerType":"Sequence","steps":[{'
                     '"serviceUrl":"http://someservice.example.com"}]}},"resources":{},'
                     '"affinity":{"podAffinity":{"preferredDuringSchedulingIgnoredDuring'
                     'Execution":[{"weight":100,"podAffinityTerm":{"labelSelector":{'
                     '"matchExpressions":[{"key":"serving.kserve.io/inferencegraph","operator":'
                     '"In","values":["singlenode3"]}]},"topologyKey":'
                     '"topology.kubernetes.io/zone"}}]}}}',
                     DEFAULT_RESOURCES, affinity=AFFINITY),
            id="podaffinity-in-spec",
        ),
        pytest.param(
            graph("singlenode4", {"nodes": SEQUENCE, "tolerations": [TOLERATION]}),
            expected("singlenode4", '{"nodes":{"root":{"routerType":"Sequence","steps":[{'
                     '"serviceUrl":"http://someservice.example.com"}]}},"resources":{},'
                     '"tolerations":[{"key":"key1","operator":"Equal","value":"value1",'
                     '"effect":"NoSchedule"}]}',
                     DEFAULT_RESOURCES, tolerations=[TOLERATION]),
            id="tolerations-in-spec",
        ),
    ],
)
def test_create_knative_service(g: InferenceGraph, want: dict[str, Any]) -> None:
    assert g.spec is not None
    assert create_knative_service(g, g.spec, ROUTER) == want


def test_knative_service_meta_labels_timeout_passthrough() -> None:
    g = graph("g", {"nodes": SEQUENCE, "timeout": 30, "minReplicas": 0, "maxReplicas": 4,
                    "scaleTarget": 7, "scaleMetric": "rps"},
              annotations={"serving.knative.openshift.io/enablePassthrough": "true",
                           "autoscaling.knative.dev/class": "hpa.autoscaling.knative.dev"},
              labels={"team": "a", "networking.knative.dev/visibility": "cluster-local"})
    assert g.spec is not None
    ksvc = create_knative_service(g, g.spec, ROUTER)
    assert ksvc["metadata"] == {
        "name": "g", "namespace": "default",
        "labels": {"team": "a", "networking.knative.dev/visibility": "cluster-local"},
        "annotations": {"serving.knative.openshift.io/enablePassthrough": "true"}}
    tmpl = ksvc["spec"]["template"]
    assert tmpl["metadata"]["labels"] == {"team": "a", "serving.kserve.io/inferencegraph": "g",
                                          "serving.kserve.io/kind": "InferenceGraph"}
    assert tmpl["metadata"]["annotations"] == {
        "serving.kserve.io/deploymentMode": "Knative",
        "autoscaling.knative.dev/class": "hpa.autoscaling.knative.dev",
        "autoscaling.knative.dev/target": "7",
        "autoscaling.knative.dev/metric": "rps",
        "autoscaling.knative.dev/min-scale": "0",
        "autoscaling.knative.dev/max-scale": "4",
    }
    assert tmpl["spec"]["timeoutSeconds"] == 30
    json.dumps(ksvc)  # plain JSON


@pytest.mark.parametrize(
    ("value", "allow_zero", "kept"),
    [
        ("0", False, False),          # initialscale1: zero not allowed -> ignored
        ("3", False, True),           # initialscale2
        ("non-integer", False, False),  # initialscale3
        ("0", True, True),            # initialscale4: zero allowed
        ("3", True, True),            # initialscale5
        ("non-integer", True, False),  # initialscale6
        ("+2", False, True),          # strconv.Atoi accepts a sign
        (" 2", False, False),         # ... but no blanks
    ],
)
def test_validate_initial_scale_annotation(value: str, allow_zero: bool, kept: bool) -> None:
    key = "autoscaling.knative.dev/initial-scale"
    out = validate_initial_scale_annotation({key: value, "x": "y"}, allow_zero)
    assert (key in out) is kept
    assert out["x"] == "y"
    g = graph("g", {"nodes": SEQUENCE, "minReplicas": 2}, annotations={key: value})
    assert g.spec is not None
    anns = create_knative_service(g, g.spec, ROUTER, allow_zero=allow_zero)["spec"][
        "template"]["metadata"]["annotations"]
    assert (anns.get(key) == value) is kept and (key in anns) is kept


@pytest.mark.parametrize(
    ("spec", "annotations", "want"),
    [
        ({}, {}, {"autoscaling.knative.dev/class": "kpa.autoscaling.knative.dev",
                  "autoscaling.knative.dev/min-scale": "1"}),
        ({"minReplicas": 0, "maxReplicas": 0}, {"autoscaling.knative.dev/class": "x"},
         {"autoscaling.knative.dev/class": "x", "autoscaling.knative.dev/min-scale": "0"}),
        ({"minReplicas": 2, "maxReplicas": 9, "scaleTarget": 10, "scaleMetric": "concurrency"},
         {}, {"autoscaling.knative.dev/class": "kpa.autoscaling.knative.dev",
              "autoscaling.knative.dev/target": "10",
              "autoscaling.knative.dev/metric": "concurrency",
              "autoscaling.knative.dev/min-scale": "2",
              "autoscaling.knative.dev/max-scale": "9"}),
    ],
)
def test_set_autoscaling_annotations(spec: dict[str, Any], annotations: dict[str, str],
                                     want: dict[str, str]) -> None:
    anns = dict(annotations)
    set_autoscaling_annotations(anns, InferenceGraphSpec.model_validate({"nodes": {}, **spec}))
    assert anns == want


@pytest.mark.parametrize(
    ("data", "allowed"),
    [(None, False), ({}, False), ({"allow-zero-initial-scale": "true"}, True),
     ({"allow-zero-initial-scale": "1"}, True), ({"allow-zero-initial-scale": "false"}, False),
     ({"allow-zero-initial-scale": "yes"}, False)],
)
def test_allow_zero_initial_scale(data: dict[str, str] | None, allowed: bool) -> None:
    assert allow_zero_initial_scale(data) is allowed


def test_autoscaler_namespace() -> None:
    assert knative_autoscaler_namespace({}) == "knative-serving"
    assert knative_autoscaler_namespace({"KNATIVE_CONFIG_AUTOSCALER_NAMESPACE": "kn"}) == "kn"
