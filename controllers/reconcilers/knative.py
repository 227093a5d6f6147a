"""The Knative Service of one component (upstream ``reconcilers/knative/ksvc_reconciler.go``
``createKnativeService`` and ``controller/v1alpha1/utils`` ``SetAutoScalingAnnotations``,
``CheckZeroInitialScaleAllowed``, ``ValidateInitialScaleAnnotation``). kserve-behaviour.md
§2.8, §2.10.

Pure: the Service is a dict (``serving.knative.dev/v1``, a third-party kind). The reconcile
(:mod:`controllers.inferenceservice.knative`) applies it through the compare-then-apply
:class:`runtime.apply.Applier`; upstream's dry-run update (to learn Knative's defaults
before diffing) is not needed because the comparison only looks at the fields set here.

Shape (upstream's):

- ``metadata.labels`` = the component's labels, all of them; ``metadata.annotations`` =
  only the annotations Knative reads on the Service itself (:data:`MANAGED_KSVC_ANNOTATIONS`,
  moved out of the template);
- ``spec.template.metadata.labels`` = the component's labels minus
  ``serviceLabelDisallowedList`` (``networking.knative.dev/visibility`` is a Service label:
  on a revision template Knative's webhook refuses it);
- ``spec.template.metadata.annotations`` = the component's annotations plus
  ``autoscaling.knative.dev/{class,min-scale,max-scale,target,metric}``;
- ``timeoutSeconds`` = ``responseStartTimeoutSeconds`` = the component's ``timeout``,
  ``containerConcurrency``, the pod spec;
- ``spec.traffic`` per :func:`traffic_targets`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any, Final

from lightkube.models import core_v1, meta_v1

from apis.serving.constants import (
    DEFAULT_MIN_REPLICAS,
    KNATIVE_AUTOSCALER_CLASS_ANNOTATION,
    KNATIVE_INITIAL_SCALE_ANNOTATION,
    KNATIVE_MAX_SCALE_ANNOTATION,
    KNATIVE_MIN_SCALE_ANNOTATION,
    KNATIVE_OPENSHIFT_ENABLE_PASSTHROUGH_ANNOTATION,
    KSERVE_API_GROUP,
    ROLLOUT_DURATION_ANNOTATION,
)
from apis.serving.v1beta1 import ComponentExtensionSpec
from apis.serving.v1beta1.inference_service_status import ComponentStatusSpec

__all__ = [
    "AUTOSCALER_ALLOW_ZERO_SCALE_KEY",
    "AUTOSCALER_CONFIGMAP_NAME",
    "DEFAULT_KNATIVE_SERVING_NAMESPACE",
    "DOMAIN_CONFIGMAP_NAME",
    "ENABLE_ROUTING_TAG_ANNOTATION",
    "KNATIVE_SERVICE_API_VERSION",
    "KPA_CLASS",
    "MANAGED_KSVC_ANNOTATIONS",
    "METRIC_ANNOTATION",
    "TARGET_ANNOTATION",
    "InvalidKnativeConfig",
    "allow_zero_initial_scale",
    "autoscaler_config_namespace",
    "create_knative_service",
    "knative_serving_namespace",
    "set_autoscaling_annotations",
    "traffic_targets",
    "validate_initial_scale_annotation",
]

KNATIVE_SERVICE_API_VERSION: Final = "serving.knative.dev/v1"
DEFAULT_KNATIVE_SERVING_NAMESPACE: Final = "knative-serving"
"""``constants.DefaultKnServingNamespace``."""
AUTOSCALER_CONFIGMAP_NAME: Final = "config-autoscaler"
"""``constants.AutoscalerConfigmapName``."""
AUTOSCALER_ALLOW_ZERO_SCALE_KEY: Final = "allow-zero-initial-scale"
"""``constants.AutoscalerAllowZeroScaleKey``."""
DOMAIN_CONFIGMAP_NAME: Final = "config-domain"
"""Knative Serving's ``route/config.DomainConfigName``: its keys are the cluster's domains."""
KPA_CLASS: Final = "kpa.autoscaling.knative.dev"
"""``autoscaling.KPA``: Knative's default autoscaler class."""
TARGET_ANNOTATION: Final = "autoscaling.knative.dev/target"
METRIC_ANNOTATION: Final = "autoscaling.knative.dev/metric"
ENABLE_ROUTING_TAG_ANNOTATION: Final = KSERVE_API_GROUP + "/enable-tag-routing"
"""``constants.EnableRoutingTagAnnotationKey``: tag the traffic targets ``latest`` / ``prev``."""
MANAGED_KSVC_ANNOTATIONS: Final = (
    ROLLOUT_DURATION_ANNOTATION,
    KNATIVE_OPENSHIFT_ENABLE_PASSTHROUGH_ANNOTATION,
)
"""``managedKsvcAnnotations``: read by Knative on the Service, so they move out of the
revision template into ``metadata.annotations``."""

_GO_ATOI: Final = re.compile(r"^[+-]?[0-9]+$")
_GO_BOOLS: Final = {
    **dict.fromkeys(("1", "t", "T", "TRUE", "true", "True"), True),
    **dict.fromkeys(("0", "f", "F", "FALSE", "false", "False"), False),
}


class InvalidKnativeConfig(ValueError):
    """A Knative ConfigMap value KServe reads cannot be parsed (upstream fails the
    reconcile with the same error)."""


def knative_serving_namespace(env: Mapping[str, str]) -> str:
    """Where Knative Serving's ConfigMaps live for the domain list: ``$SYSTEM_NAMESPACE``
    (knative ``system.NamespaceEnvKey``), default ``knative-serving``."""
    return env.get("SYSTEM_NAMESPACE") or DEFAULT_KNATIVE_SERVING_NAMESPACE


def autoscaler_config_namespace(env: Mapping[str, str]) -> str:
    """``constants.AutoscalerConfigmapNamespace``: ``$KNATIVE_CONFIG_AUTOSCALER_NAMESPACE``,
    default ``knative-serving``."""
    return env.get("KNATIVE_CONFIG_AUTOSCALER_NAMESPACE") or DEFAULT_KNATIVE_SERVING_NAMESPACE


def allow_zero_initial_scale(data: Mapping[str, str] | None) -> bool:
    """``CheckZeroInitialScaleAllowed`` on ``config-autoscaler``'s data: Go's
    ``strconv.ParseBool`` of ``allow-zero-initial-scale`` (absent: false). A value ParseBool
    refuses raises :class:`InvalidKnativeConfig` naming the key, as upstream fails."""
    raw = (data or {}).get(AUTOSCALER_ALLOW_ZERO_SCALE_KEY, "false")
    if raw not in _GO_BOOLS:
        raise InvalidKnativeConfig(
            f"{AUTOSCALER_CONFIGMAP_NAME}: {AUTOSCALER_ALLOW_ZERO_SCALE_KEY}: "
            f"strconv.ParseBool: parsing {raw!r}: invalid syntax"
        )
    return _GO_BOOLS[raw]


def validate_initial_scale_annotation(
    annotations: Mapping[str, str] | None, allow_zero: bool
) -> tuple[dict[str, str], str | None]:
    """``ValidateInitialScaleAnnotation``: a copy of ``annotations`` without
    ``autoscaling.knative.dev/initial-scale`` when it is not an integer, or is 0 while
    ``allow-zero-initial-scale`` is false (Knative's default initial scale applies then),
    and the reason it was dropped (None when kept or absent)."""
    out = dict(annotations or {})
    value = out.get(KNATIVE_INITIAL_SCALE_ANNOTATION)
    if value is None:
        return out, None
    if not _GO_ATOI.match(value):
        del out[KNATIVE_INITIAL_SCALE_ANNOTATION]
        return out, (
            f"Invalid value {value!r} set for {KNATIVE_INITIAL_SCALE_ANNOTATION} annotation, "
            "must be an integer. This annotation will be ignored and the default initial "
            "scale behavior will be used."
        )
    if not allow_zero and int(value) == 0:
        del out[KNATIVE_INITIAL_SCALE_ANNOTATION]
        return out, (
            f"The {KNATIVE_INITIAL_SCALE_ANNOTATION} annotation is explicitly set to 0 when "
            "the current knative autoscaler global configuration does not allow zero initial "
            "scale. This annotation will be ignored and the default initial scale behavior "
            "will be used"
        )
    return out, None


def set_autoscaling_annotations(
    annotations: dict[str, str],
    scale_target: int | None,
    scale_metric: str | None,
    min_replicas: int | None,
    max_replicas: int | None,
) -> None:
    """``SetAutoScalingAnnotations`` (in place): class KPA unless set; target and metric when
    set; ``min-scale`` = minReplicas (default 1); ``max-scale`` = maxReplicas unless 0 (then
    Knative's global maximum applies)."""
    annotations.setdefault(KNATIVE_AUTOSCALER_CLASS_ANNOTATION, KPA_CLASS)
    if scale_target is not None:
        annotations[TARGET_ANNOTATION] = str(scale_target)
    if scale_metric is not None:
        annotations[METRIC_ANNOTATION] = str(scale_metric)
    annotations[KNATIVE_MIN_SCALE_ANNOTATION] = str(
        DEFAULT_MIN_REPLICAS if min_replicas is None else min_replicas
    )
    if max_replicas:
        annotations[KNATIVE_MAX_SCALE_ANNOTATION] = str(max_replicas)


def traffic_targets(
    canary_traffic_percent: int | None,
    latest_rolledout_revision: str | None,
    *,
    tag_routing: bool,
) -> list[dict[str, Any]]:
    """The Service's ``spec.traffic`` (upstream's canary rollout).

    With ``canaryTrafficPercent`` P and a revision already rolled out at 100 %: the latest
    revision gets P % (tag ``latest`` with tag routing), the rolled-out revision 100 - P %
    (tag ``prev``, left out at P = 100). Otherwise (first rollout, or no canary): the latest
    revision gets everything ("blue-green")."""
    latest: dict[str, Any] = {"latestRevision": True}
    if canary_traffic_percent is not None and latest_rolledout_revision:
        latest["percent"] = canary_traffic_percent
        if tag_routing:
            latest["tag"] = "latest"
        targets = [latest]
        if canary_traffic_percent < 100:
            targets.append({
                "revisionName": latest_rolledout_revision,
                "latestRevision": False,
                "percent": 100 - canary_traffic_percent,
                "tag": "prev",
            })
        return targets
    latest["percent"] = 100
    if tag_routing:
        latest["tag"] = "latest"
    return [latest]


def _pod_spec_dict(pod_spec: core_v1.PodSpec | Mapping[str, Any]) -> dict[str, Any]:
    if isinstance(pod_spec, Mapping):
        return dict(pod_spec)
    out: dict[str, Any] = pod_spec.to_dict()
    return out


def create_knative_service(
    meta: meta_v1.ObjectMeta,
    extension: ComponentExtensionSpec,
    pod_spec: core_v1.PodSpec | Mapping[str, Any],
    component_status: ComponentStatusSpec | None,
    disallowed_labels: Sequence[str] | None,
) -> dict[str, Any]:
    """``createKnativeService``: the component's Knative Service (see the module docstring).

    ``meta`` is the component's metadata (name, namespace, labels, annotations as the
    component builders make them); ``extension`` its ``ComponentExtensionSpec``;
    ``pod_spec`` the pod (``storageUris`` already injected); ``component_status`` the
    component's current status (its ``latestRolledoutRevision`` shapes the traffic);
    ``disallowed_labels`` the ``serviceLabelDisallowedList``."""
    annotations = dict(meta.annotations or {})
    set_autoscaling_annotations(
        annotations,
        extension.scale_target,
        extension.scale_metric,
        extension.min_replicas,
        extension.max_replicas,
    )
    ksvc_annotations = {
        key: annotations.pop(key) for key in MANAGED_KSVC_ANNOTATIONS if key in annotations
    }
    rolled_out = component_status.latest_rolledout_revision if component_status else None
    traffic = traffic_targets(
        extension.canary_traffic_percent,
        rolled_out,
        tag_routing=annotations.get(ENABLE_ROUTING_TAG_ANNOTATION) == "true",
    )
    banned = set(disallowed_labels or ())
    labels = dict(meta.labels or {})
    template_labels = {k: v for k, v in labels.items() if k not in banned}

    template_spec = _pod_spec_dict(pod_spec)
    if extension.timeout_seconds is not None:
        template_spec["timeoutSeconds"] = extension.timeout_seconds
        template_spec["responseStartTimeoutSeconds"] = extension.timeout_seconds
    if extension.container_concurrency is not None:
        template_spec["containerConcurrency"] = extension.container_concurrency

    metadata: dict[str, Any] = {"name": meta.name, "namespace": meta.namespace}
    if labels:
        metadata["labels"] = labels
    if ksvc_annotations:
        metadata["annotations"] = ksvc_annotations
    template_meta: dict[str, Any] = {}
    if template_labels:
        template_meta["labels"] = template_labels
    if annotations:
        template_meta["annotations"] = annotations
    return {
        "apiVersion": KNATIVE_SERVICE_API_VERSION,
        "kind": "Service",
        "metadata": metadata,
        "spec": {
            "template": {"metadata": template_meta, "spec": template_spec},
            "traffic": traffic,
        },
    }
