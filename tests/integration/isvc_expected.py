"""Upstream's expected objects (``tests_common.go`` and the literals of
``rawkube_controller_test.go``), as the JSON the API server stores, for whole-object
comparisons in the InferenceService integration tests.

These are written out from upstream's tests and code, never computed by our builders: a
test comparing the controller's output with its own builders would prove nothing. Where a
test asserts only ``spec``, the metadata here follows upstream's ``buildObjectMeta``
(component labels, including ``app`` through the shared map, and the filtered ISVC
annotations) and ``SetControllerReference``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from .isvc_env import DEFAULT_RESOURCES, KSERVE_GATEWAY, owner

ROLLING = {"type": "RollingUpdate",
           "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}}
"""``getDefaultRollingStrategy``."""

HPA_BEHAVIOR = {
    "scaleUp": {"stabilizationWindowSeconds": 0, "selectPolicy": "Max",
                "policies": [{"type": "Pods", "value": 4, "periodSeconds": 15},
                             {"type": "Percent", "value": 100, "periodSeconds": 15}]},
    "scaleDown": {"selectPolicy": "Max",
                  "policies": [{"type": "Percent", "value": 100, "periodSeconds": 15}]},
}
"""The HPA behaviour the API server defaults (upstream sends ``behavior: {}``; we send this;
stored the same)."""

TF_ARGS = ["--port=9000", "--rest_api_port=8080", "--model_base_path=/mnt/models",
           "--rest_api_timeout_in_ms=60000"]
STORAGE_URI = "s3://test/mnist/export"
"""``tests_common.go`` ``storageUri``."""
FALLBACK = "^/.*$"
"""``constants.FallbackPrefix()``."""
EXPLAIN = r"^/v1/models/[\w-]+:explain$"


def isvc_annotations(autoscaler: str = "hpa", **extra: str) -> dict[str, str]:
    """``getDefaultAnnotations(scalerClass)`` (+ ``extra``)."""
    return {"serving.kserve.io/deploymentMode": "Standard",
            "serving.kserve.io/autoscalerClass": autoscaler, **extra}


def component_labels(name: str, isvc: str, component: str,
                     extra: Mapping[str, str] | None = None) -> dict[str, str]:
    return {**(extra or {}), "app": f"isvc.{name}", "component": component,
            "serving.kserve.io/inferenceservice": isvc}


def readiness_probe(port: int = 8080) -> dict[str, Any]:
    return {"tcpSocket": {"port": port}, "timeoutSeconds": 1, "periodSeconds": 10,
            "successThreshold": 1, "failureThreshold": 3}


def container(name: str, image: str, *, args: Sequence[str] | None = None,
              command: Sequence[str] | None = None, env: Sequence[Mapping[str, Any]] | None = None,
              resources: Mapping[str, Any] | None = DEFAULT_RESOURCES,
              probe: Mapping[str, Any] | None = None,
              ports: Sequence[Mapping[str, Any]] | None = None, **more: Any) -> dict[str, Any]:
    """A container as stored: upstream's fields plus the server's container defaults
    (terminationMessage*, imagePullPolicy as upstream sets it)."""
    out: dict[str, Any] = {"name": name, "image": image}
    if command is not None:
        out["command"] = list(command)
    if args is not None:
        out["args"] = list(args)
    if ports is not None:
        out["ports"] = [dict(p) for p in ports]
    if env is not None:
        out["env"] = [dict(e) for e in env]
    if resources is not None:
        out["resources"] = dict(resources)
    if probe is not None:
        out["readinessProbe"] = dict(probe)
    out.update(more)
    out.update({"terminationMessagePath": "/dev/termination-log",
                "terminationMessagePolicy": "File", "imagePullPolicy": "IfNotPresent"})
    return out


def pod_spec(containers: Sequence[Mapping[str, Any]], **more: Any) -> dict[str, Any]:
    return {"containers": [dict(c) for c in containers], "restartPolicy": "Always",
            "terminationGracePeriodSeconds": 30, "dnsPolicy": "ClusterFirst",
            "automountServiceAccountToken": False, "securityContext": {},
            "schedulerName": "default-scheduler", **more}


def deployment(name: str, namespace: str, isvc: str, component: str,
               meta_annotations: Mapping[str, str], pod: Mapping[str, Any], *,
               replicas: int = 1, strategy: Mapping[str, Any] = ROLLING,
               labels: Mapping[str, str] | None = None) -> dict[str, Any]:
    lbl = component_labels(name, isvc, component, labels)
    return {
        "metadata": {"name": name, "namespace": namespace, "labels": lbl,
                     "annotations": dict(meta_annotations), "ownerReferences": owner(isvc)},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": f"isvc.{name}"}},
            "template": {"metadata": {"name": name, "namespace": namespace, "labels": lbl,
                                      "annotations": dict(meta_annotations)},
                         "spec": dict(pod)},
            "strategy": dict(strategy), "revisionHistoryLimit": 10,
            "progressDeadlineSeconds": 600,
        },
    }


def predictor_annotations(autoscaler: str = "hpa", storage_uri: str = STORAGE_URI,
                          **extra: str) -> dict[str, str]:
    """The predictor's object annotations: the storage URI annotation and the ISVC's (one
    map for the Deployment, its template, the Service and the HPA)."""
    return {"internal.serving.kserve.io/storage-initializer-sourceuri": storage_uri,
            **isvc_annotations(autoscaler), **extra}


def tf_predictor_deployment(isvc: str, namespace: str, *, autoscaler: str = "hpa",
                            storage_uri: str = STORAGE_URI, image_tag: str = "1.14.0",
                            env: Sequence[Mapping[str, Any]] = (), name: str | None = None,
                            **kw: Any) -> dict[str, Any]:
    """``getDeploymentWithKServiceLabel``: the tensorflow predictor of ``tf_serving_runtime``
    (``name``: a canary's or a named predictor's ``<isvc>-<name>-predictor``)."""
    name = name or f"{isvc}-predictor"
    meta_annotations = predictor_annotations(autoscaler, storage_uri)
    c = container("kserve-container", f"tensorflow/serving:{image_tag}",
                  command=["/usr/bin/tensorflow_model_server"], args=TF_ARGS,
                  env=[*env, {"name": "INFERENCE_SERVICE_NAME", "value": isvc}],
                  probe=readiness_probe())
    return deployment(name, namespace, isvc, "predictor", meta_annotations, pod_spec([c]), **kw)


def service(name: str, namespace: str, isvc: str, component: str,
            meta_annotations: Mapping[str, str], *, port_name: str | None = None,
            target_port: int = 8080,
            ports: Sequence[Mapping[str, Any]] | None = None,
            labels: Mapping[str, str] | None = None) -> dict[str, Any]:
    """``getExectedService`` with the metadata: one port 80 -> 8080 named after the
    Service."""
    if ports is None:
        ports = [{"name": port_name or name, "protocol": "TCP", "port": 80,
                  "targetPort": target_port}]
    return {
        "metadata": {"name": name, "namespace": namespace,
                     "labels": component_labels(name, isvc, component, labels),
                     "annotations": dict(meta_annotations), "ownerReferences": owner(isvc)},
        "spec": {"ports": [dict(p) for p in ports], "type": "ClusterIP",
                 "sessionAffinity": "None", "selector": {"app": f"isvc.{name}"}},
    }


def hpa(name: str, namespace: str, isvc: str, component: str,
        meta_annotations: Mapping[str, str], metrics: Sequence[Mapping[str, Any]], *,
        min_replicas: int = 1, max_replicas: int = 1,
        labels: Mapping[str, str] | None = None) -> dict[str, Any]:
    return {
        "metadata": {"name": name, "namespace": namespace,
                     "labels": component_labels(name, isvc, component, labels),
                     "annotations": dict(meta_annotations), "ownerReferences": owner(isvc)},
        "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment",
                                    "name": name},
                 "minReplicas": min_replicas, "maxReplicas": max_replicas,
                 "metrics": [dict(m) for m in metrics], "behavior": HPA_BEHAVIOR},
    }


def cpu_utilization(value: int = 80) -> dict[str, Any]:
    return {"type": "Resource", "resource": {
        "name": "cpu", "target": {"type": "Utilization", "averageUtilization": value}}}


def backend(service_name: str, namespace: str, *, port: int = 80,
            weight: int = 1) -> dict[str, Any]:
    return {"group": "", "kind": "Service", "name": service_name, "namespace": namespace,
            "port": port, "weight": weight}


def rule(regex: str, backends: Sequence[Mapping[str, Any]], isvc: str, namespace: str, *,
         timeout: str | None = "60s") -> dict[str, Any]:
    """One HTTPRoute rule: a RegularExpression path match, the ISVC headers, backends."""
    out: dict[str, Any] = {
        "matches": [{"path": {"type": "RegularExpression", "value": regex}}],
        "filters": [{"type": "RequestHeaderModifier", "requestHeaderModifier": {"set": [
            {"name": "KServe-Isvc-Name", "value": isvc},
            {"name": "KServe-Isvc-Namespace", "value": namespace}]}}],
        "backendRefs": [dict(b) for b in backends],
    }
    if timeout is not None:
        out["timeouts"] = {"request": timeout}
    return out


def httproute(name: str, namespace: str, isvc: str, hostnames: Sequence[str],
              rules: Sequence[Mapping[str, Any]], *,
              meta_annotations: Mapping[str, str] | None = None,
              labels: Mapping[str, str] | None = None) -> dict[str, Any]:
    """An HTTPRoute as stored: ISVC labels/annotations (minus disallowed), parentRef the
    kserve gateway, the rules."""
    meta: dict[str, Any] = {"name": name, "namespace": namespace}
    if labels:
        meta["labels"] = dict(labels)
    meta["annotations"] = dict(meta_annotations if meta_annotations is not None
                               else isvc_annotations())
    meta["ownerReferences"] = owner(isvc)
    return {"metadata": meta, "spec": {
        "parentRefs": [dict(KSERVE_GATEWAY)],
        "hostnames": list(hostnames),
        "rules": [dict(r) for r in rules]}}


PENDING_MODEL = {"transitionStatus": "InProgress",
                 "states": {"activeModelState": "", "targetModelState": "Pending"},
                 "copies": {"failedCopies": 0}}
"""No pods yet. ``activeModelState`` and ``failedCopies`` are not ``omitempty`` in upstream's
Go types, so its JSON (what the API server stores) carries them empty too."""


def ready_status(isvc: str, namespace: str, *, runtime: str = "tf-serving-raw",
                 generation: int = 1, address_port: str = "",
                 components: Mapping[str, Any] | None = None,
                 conditions: Sequence[Mapping[str, Any]] | None = None,
                 **more: Any) -> dict[str, Any]:
    """``getExpectedIsvcStatus``: Ready, no pods yet (modelStatus InProgress/Pending).

    Deliberate difference: ``observedGeneration`` is the InferenceService's generation
    (upstream copies the Deployment's ``status.observedGeneration``; docs/compatibility.md)."""
    host = f"{isvc}-predictor.{namespace}.svc.cluster.local"
    if address_port:
        host += f":{address_port}"
    conds = conditions if conditions is not None else [
        {"type": "IngressReady", "status": "True"},
        {"type": "PredictorReady", "status": "True"},
        {"type": "Ready", "status": "True"},
        {"type": "Stopped", "status": "False", "severity": "Info"},
    ]
    out: dict[str, Any] = {
        "observedGeneration": generation,
        "conditions": [dict(c) for c in conds],
        "url": f"http://{isvc}-{namespace}.example.com",
        "address": {"url": f"http://{host}"},
        "components": dict(components) if components is not None else {
            "predictor": {"url": f"http://{isvc}-predictor-{namespace}.example.com"}},
        "modelStatus": PENDING_MODEL,
        "deploymentMode": "Standard",
    }
    if runtime:
        out["servingRuntimeName"] = runtime
    out.update(more)
    return out
