"""Knative mode: the router's Knative Service (upstream ``knative_reconciler.go``
``createKnativeService`` and ``v1alpha1/utils`` ``SetAutoScalingAnnotations`` /
``ValidateInitialScaleAnnotation``).

Pure; the Service is a dict (``serving.knative.dev/v1``, a third-party kind). Whether Knative
is served, reading ``config-autoscaler`` and applying are the reconciler's business; the real
Knative checks (dry-run defaulting, revisions) come with the InferenceService's Knative mode.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from lightkube.generic_resource import create_namespaced_resource

from apis.serving.constants import (
    INFERENCE_GRAPH_KIND_LABEL,
    INFERENCE_GRAPH_LABEL,
    KNATIVE_AUTOSCALER_CLASS_ANNOTATION,
    KNATIVE_INITIAL_SCALE_ANNOTATION,
    KNATIVE_MAX_SCALE_ANNOTATION,
    KNATIVE_MIN_SCALE_ANNOTATION,
    KNATIVE_OPENSHIFT_ENABLE_PASSTHROUGH_ANNOTATION,
    KNATIVE_VISIBILITY_LABEL,
)
from apis.serving.v1alpha1.inference_graph import InferenceGraph, InferenceGraphSpec
from apis.serving.v1beta1.configmap import RouterConfig
from controllers.reconcilers.knative import (
    AUTOSCALER_ALLOW_ZERO_SCALE_KEY,
    AUTOSCALER_CONFIGMAP_NAME,
    KNATIVE_SERVICE_API_VERSION,
)
from runtime.codec import object_to_dict

from .router import router_container, router_image_pull_secrets

__all__ = [
    "AUTOSCALER_ALLOW_ZERO_SCALE_KEY",
    "AUTOSCALER_CONFIGMAP_NAME",
    "KNATIVE_SERVICE_API_VERSION",
    "KnativeService",
    "allow_zero_initial_scale",
    "create_knative_service",
    "knative_autoscaler_namespace",
    "set_autoscaling_annotations",
    "validate_initial_scale_annotation",
]

KnativeService = create_namespaced_resource("serving.knative.dev", "v1", "Service", "services")
"""The Knative Service kind (a generic lightkube resource: reads and writes as dicts)."""

_KPA = "kpa.autoscaling.knative.dev"
_TARGET = "autoscaling.knative.dev/target"
_METRIC = "autoscaling.knative.dev/metric"
_DEFAULT_MIN_REPLICAS = 1
_REVISION_TEMPLATE_LABEL_DISALLOWED = (KNATIVE_VISIBILITY_LABEL,)
_GO_ATOI = re.compile(r"^[+-]?[0-9]+$")
_GO_BOOL_TRUE = {"1", "t", "T", "TRUE", "true", "True"}


def knative_autoscaler_namespace(env: Mapping[str, str]) -> str:
    """``constants.AutoscalerConfigmapNamespace``: ``$KNATIVE_CONFIG_AUTOSCALER_NAMESPACE``,
    default ``knative-serving``."""
    return env.get("KNATIVE_CONFIG_AUTOSCALER_NAMESPACE") or "knative-serving"


def allow_zero_initial_scale(data: Mapping[str, str] | None) -> bool:
    """``CheckZeroInitialScaleAllowed`` on ``config-autoscaler``'s data: Go's
    ``strconv.ParseBool`` of ``allow-zero-initial-scale`` (default false; a value ParseBool
    refuses counts as false here, where upstream fails the reconcile)."""
    return (data or {}).get(AUTOSCALER_ALLOW_ZERO_SCALE_KEY, "false") in _GO_BOOL_TRUE


def validate_initial_scale_annotation(
    annotations: Mapping[str, str], allow_zero: bool
) -> dict[str, str]:
    """``ValidateInitialScaleAnnotation``: a copy without ``autoscaling.knative.dev/initial-
    scale`` when it is not an integer, or is 0 while zero initial scale is not allowed."""
    out = dict(annotations)
    value = out.get(KNATIVE_INITIAL_SCALE_ANNOTATION)
    if value is None:
        return out
    if not _GO_ATOI.match(value) or (not allow_zero and int(value) == 0):
        del out[KNATIVE_INITIAL_SCALE_ANNOTATION]
    return out


def set_autoscaling_annotations(annotations: dict[str, str], spec: InferenceGraphSpec) -> None:
    """``SetAutoScalingAnnotations`` (in place): class KPA unless set; target and metric when
    set; min-scale = minReplicas (default 1); max-scale = maxReplicas when not 0."""
    annotations.setdefault(KNATIVE_AUTOSCALER_CLASS_ANNOTATION, _KPA)
    if spec.scale_target is not None:
        annotations[_TARGET] = str(spec.scale_target)
    if spec.scale_metric is not None:
        annotations[_METRIC] = str(spec.scale_metric)
    min_replicas = spec.min_replicas if spec.min_replicas is not None else _DEFAULT_MIN_REPLICAS
    annotations[KNATIVE_MIN_SCALE_ANNOTATION] = str(min_replicas)
    if spec.max_replicas:
        annotations[KNATIVE_MAX_SCALE_ANNOTATION] = str(spec.max_replicas)


def create_knative_service(
    graph: InferenceGraph,
    resolved: InferenceGraphSpec,
    router: RouterConfig,
    *,
    allow_zero: bool = False,
) -> dict[str, Any]:
    """``createKnativeService``: Service ``<graph>`` with the graph's labels; metadata
    annotations only the OpenShift passthrough one (moved out of the template); template
    labels = graph labels minus ``networking.knative.dev/visibility`` plus
    ``serving.kserve.io/inferencegraph`` and ``serving.kserve.io/kind: InferenceGraph``;
    template annotations = graph annotations (initial scale validated) plus the KPA ones;
    ``timeoutSeconds``; the router container (unnamed) and the pod fields of the Standard
    pod spec."""
    assert graph.metadata is not None
    meta = graph.metadata
    annotations = validate_initial_scale_annotation(meta.annotations or {}, allow_zero)
    set_autoscaling_annotations(annotations, resolved)
    ksvc_annotations: dict[str, str] = {}
    if KNATIVE_OPENSHIFT_ENABLE_PASSTHROUGH_ANNOTATION in annotations:
        ksvc_annotations[KNATIVE_OPENSHIFT_ENABLE_PASSTHROUGH_ANNOTATION] = annotations.pop(
            KNATIVE_OPENSHIFT_ENABLE_PASSTHROUGH_ANNOTATION
        )
    template_labels = {
        k: v for k, v in (meta.labels or {}).items() if k not in _REVISION_TEMPLATE_LABEL_DISALLOWED
    }
    template_labels[INFERENCE_GRAPH_LABEL] = meta.name or ""
    template_labels[INFERENCE_GRAPH_KIND_LABEL] = "InferenceGraph"
    container = {
        k: v for k, v in object_to_dict(router_container(None, resolved, router)).items()
        if v is not None
    }
    pod_spec: dict[str, Any] = {
        "containers": [container],
        "automountServiceAccountToken": False,
    }
    for key, value in (
        ("affinity", resolved.affinity),
        ("tolerations", resolved.tolerations),
        ("imagePullSecrets", router_image_pull_secrets(router) or None),
        ("nodeSelector", resolved.node_selector),
        ("nodeName", resolved.node_name),
        ("serviceAccountName", resolved.service_account_name),
    ):
        if value is not None:
            pod_spec[key] = (
                [object_to_dict(v) for v in value] if isinstance(value, list)
                else object_to_dict(value) if hasattr(value, "to_dict") else value
            )
    template_spec: dict[str, Any] = dict(pod_spec)
    if resolved.timeout_seconds is not None:
        template_spec["timeoutSeconds"] = resolved.timeout_seconds
    metadata: dict[str, Any] = {"name": meta.name, "namespace": meta.namespace}
    if meta.labels:
        metadata["labels"] = dict(meta.labels)
    if ksvc_annotations:
        metadata["annotations"] = ksvc_annotations
    return {
        "apiVersion": KNATIVE_SERVICE_API_VERSION,
        "kind": "Service",
        "metadata": metadata,
        "spec": {
            "template": {
                "metadata": {"labels": template_labels, "annotations": annotations},
                "spec": template_spec,
            }
        },
    }
