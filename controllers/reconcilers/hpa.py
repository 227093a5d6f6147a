"""The HorizontalPodAutoscaler (autoscaling/v2) of a component (upstream
``reconcilers/hpa/hpa_reconciler.go``: ``createHPA``, ``getHPAMetrics`` and the create/delete
decisions ``shouldCreateHPA``/``shouldDeleteHPA``).

``behavior`` (upstream quirk 3): upstream sends ``behavior: {}``, which the API server fills
with its default scaling rules, so the stored object never equals upstream's desired one and
upstream updates the HPA on every reconcile. We send those default rules explicitly
(:data:`DEFAULT_HPA_BEHAVIOR`, the values of ``k8s.io/kubernetes/pkg/apis/autoscaling/v2``
``SetDefaults_HorizontalPodAutoscalerBehavior``): the stored object is the one upstream ends
up with, a no-op reconcile finds nothing to write, and a hand edit of ``behavior`` is reverted
as upstream's full-spec update reverts it. Like upstream, the HPA ignores
``autoScaling.behavior`` (only KEDA uses it).

``metrics``: when no metric applies (``scaleMetric: memory`` without ``scaleTarget``) the field
is left unset, as upstream, and the API server defaults it to CPU 80 %.
"""

from __future__ import annotations

from lightkube.models import autoscaling_v2, meta_v1
from lightkube.resources.autoscaling_v2 import HorizontalPodAutoscaler

from apis.serving.constants import (
    AUTOSCALER_CLASS_ANNOTATION,
    DEFAULT_MIN_REPLICAS,
    AutoscalerClass,
)
from apis.serving.v1beta1.component import ComponentExtensionSpec
from apis.serving.validation import canonical_quantity

from .utils import deep_copy, get_force_stop_runtime, object_meta

__all__ = [
    "DEFAULT_CPU_UTILIZATION",
    "DEFAULT_HPA_BEHAVIOR",
    "DEFAULT_MIN_REPLICAS",
    "create_hpa",
    "get_hpa_metrics",
    "is_owned_by_inference_service",
    "should_create_hpa",
    "should_delete_hpa",
]

DEFAULT_CPU_UTILIZATION = 80
"""``constants.DefaultCPUUtilization``."""

DEFAULT_HPA_BEHAVIOR = autoscaling_v2.HorizontalPodAutoscalerBehavior(
    scaleUp=autoscaling_v2.HPAScalingRules(
        stabilizationWindowSeconds=0,
        selectPolicy="Max",
        policies=[
            autoscaling_v2.HPAScalingPolicy(type="Pods", value=4, periodSeconds=15),
            autoscaling_v2.HPAScalingPolicy(type="Percent", value=100, periodSeconds=15),
        ],
    ),
    scaleDown=autoscaling_v2.HPAScalingRules(
        selectPolicy="Max",
        policies=[autoscaling_v2.HPAScalingPolicy(type="Percent", value=100, periodSeconds=15)],
    ),
)
"""What the API server stores for ``behavior: {}`` (scale-down stabilization left unset: the
controller's ``--horizontal-pod-autoscaler-downscale-stabilization``, 5 min by default)."""


def _utilization(name: str, value: int | None) -> autoscaling_v2.MetricSpec:
    return autoscaling_v2.MetricSpec(
        type="Resource",
        resource=autoscaling_v2.ResourceMetricSource(
            name=name,
            target=autoscaling_v2.MetricTarget(type="Utilization", averageUtilization=value),
        ),
    )


def _quantity(value: str | int | float) -> str:
    """Go's ``MetricQuantity.GetQuantity()`` serialised: the canonical quantity text."""
    return canonical_quantity(value if isinstance(value, str | int) else str(value))


def get_hpa_metrics(
    component_ext: ComponentExtensionSpec | None,
) -> list[autoscaling_v2.MetricSpec]:
    """``getHPAMetrics``.

    With ``autoScaling``: one Resource metric per ``Resource`` entry of ``autoScaling.metrics``
    (other entries skipped): cpu always Utilization (given averageUtilization, else 80); memory
    Utilization (averageUtilization) or AverageValue (averageValue); any other memory target
    type gives a target with an empty type, as upstream (the API server refuses it).
    Without: ``scaleMetric`` (default cpu) with ``scaleTarget`` (cpu: default 80; memory: only
    when ``scaleTarget`` is set, else no metric)."""
    metrics: list[autoscaling_v2.MetricSpec] = []
    if component_ext is not None and component_ext.auto_scaling is not None:
        for metric in component_ext.auto_scaling.metrics or []:
            resource = metric.resource
            if resource is None:
                continue
            target = resource.target
            if resource.name == "cpu":
                utilization = target.average_utilization
                metrics.append(
                    _utilization(
                        "cpu", DEFAULT_CPU_UTILIZATION if utilization is None else utilization
                    )
                )
            elif resource.name == "memory":
                mt = autoscaling_v2.MetricTarget(type="")
                if target.type == "Utilization":
                    mt = autoscaling_v2.MetricTarget(
                        type="Utilization", averageUtilization=target.average_utilization
                    )
                elif target.type == "AverageValue":
                    mt = autoscaling_v2.MetricTarget(
                        type="AverageValue",
                        averageValue=None
                        if target.average_value is None
                        else _quantity(target.average_value),
                    )
                metrics.append(
                    autoscaling_v2.MetricSpec(
                        type="Resource",
                        resource=autoscaling_v2.ResourceMetricSource(name="memory", target=mt),
                    )
                )
        return metrics
    name = "cpu"
    if component_ext is not None and component_ext.scale_metric is not None:
        name = component_ext.scale_metric
    scale_target = component_ext.scale_target if component_ext is not None else None
    if name == "cpu":
        metrics.append(
            _utilization("cpu", DEFAULT_CPU_UTILIZATION if scale_target is None else scale_target)
        )
    elif name == "memory" and scale_target is not None:
        metrics.append(_utilization("memory", scale_target))
    return metrics


def create_hpa(
    component_meta: meta_v1.ObjectMeta, component_ext: ComponentExtensionSpec | None
) -> HorizontalPodAutoscaler:
    """``createHPA``: HPA ``<component>`` (component labels and annotations) scaling
    Deployment ``<component>``; minReplicas = max(1, minReplicas), maxReplicas =
    max(maxReplicas, minReplicas); metrics from :func:`get_hpa_metrics`; behavior
    :data:`DEFAULT_HPA_BEHAVIOR` (see the module docstring)."""
    min_replicas = DEFAULT_MIN_REPLICAS
    if (
        component_ext is not None
        and component_ext.min_replicas is not None
        and component_ext.min_replicas >= DEFAULT_MIN_REPLICAS
    ):
        min_replicas = component_ext.min_replicas
    max_replicas = (component_ext.max_replicas if component_ext is not None else None) or 0
    max_replicas = max(max_replicas, min_replicas)
    metrics = get_hpa_metrics(component_ext)
    return HorizontalPodAutoscaler(
        metadata=object_meta(component_meta),
        spec=autoscaling_v2.HorizontalPodAutoscalerSpec(
            scaleTargetRef=autoscaling_v2.CrossVersionObjectReference(
                apiVersion="apps/v1", kind="Deployment", name=component_meta.name or ""
            ),
            minReplicas=min_replicas,
            maxReplicas=max_replicas,
            metrics=metrics or None,
            behavior=deep_copy(DEFAULT_HPA_BEHAVIOR),
        ),
    )


def is_owned_by_inference_service(meta: meta_v1.ObjectMeta) -> bool:
    """An owner reference of kind InferenceService in group ``serving.kserve.io``."""
    return any(
        ref.apiVersion.startswith("serving.kserve.io") and ref.kind == "InferenceService"
        for ref in meta.ownerReferences or []
    )


def should_create_hpa(desired: HorizontalPodAutoscaler) -> bool:
    """``shouldCreateHPA``: not stopped (``serving.kserve.io/stop``), and autoscaler class
    (annotation) absent or ``hpa``. For an absent HPA: create it or skip."""
    meta = desired.metadata or meta_v1.ObjectMeta()
    if get_force_stop_runtime(meta):
        return False
    annotations = meta.annotations or {}
    return (
        AUTOSCALER_CLASS_ANNOTATION not in annotations
        or annotations[AUTOSCALER_CLASS_ANNOTATION] == AutoscalerClass.HPA
    )


def should_delete_hpa(existing: HorizontalPodAutoscaler, desired: HorizontalPodAutoscaler) -> bool:
    """``shouldDeleteHPA``: an existing HPA owned by an InferenceService is deleted when the
    component is stopped or the desired autoscaler class is ``external`` or ``none``. HPAs
    owned by anything else are left alone.

    Deliberate fix (quirk 3): upstream reads the stop annotation from the *existing* HPA, so a
    stop takes two reconciles (an update copies the annotation, the next one deletes) and an
    un-stop deletes the HPA once more before recreating it. We read it from the desired HPA:
    one pass, no flap."""
    if not is_owned_by_inference_service(existing.metadata or meta_v1.ObjectMeta()):
        return False
    desired_meta = desired.metadata or meta_v1.ObjectMeta()
    if get_force_stop_runtime(desired_meta):
        return True
    return (desired_meta.annotations or {}).get(AUTOSCALER_CLASS_ANNOTATION) in (
        AutoscalerClass.EXTERNAL,
        AutoscalerClass.NONE,
    )
