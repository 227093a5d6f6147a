"""The KEDA ScaledObject (``keda.sh/v1alpha1``) of a component (upstream
``reconcilers/keda/keda_reconciler.go``: ``createKedaScaledObject``, ``getKedaMetrics``,
``getOriginalStringMQ``).

Returned as a plain dict in the JSON shape Go serialises (``omitempty`` fields left out when
empty; ``scaleTargetRef``, ``triggers`` and each trigger's ``type``/``metadata`` always present,
as their Go tags have no ``omitempty``; ``advanced.scalingModifiers: {}`` as Go writes the
empty struct). Quantities in trigger metadata keep the text the user wrote (``"0.6"`` stays
``"0.6"``, not ``"600m"``): KEDA parses them itself.
"""

from __future__ import annotations

import re
from typing import Any

from lightkube.models import meta_v1

from apis.serving.v1beta1.component import ComponentExtensionSpec, MetricTarget
from apis.serving.v1beta1.configmap import AutoscalerConfig, OtelCollectorConfig

from .hpa import DEFAULT_CPU_UTILIZATION, DEFAULT_MIN_REPLICAS
from .utils import metadata_dict

__all__ = [
    "KEDA_API_VERSION",
    "KEDA_SCALED_OBJECT_KIND",
    "create_keda_scaled_object",
    "get_keda_metrics",
    "get_original_string_mq",
]

KEDA_API_VERSION = "keda.sh/v1alpha1"
KEDA_SCALED_OBJECT_KIND = "ScaledObject"
_INT32_RE = re.compile(r"[+-]?[0-9]+")


def get_original_string_mq(mq: str | int | float | None, default: str) -> str:
    """``getOriginalStringMQ``: the text of a MetricQuantity as the user wrote it (an integer
    as its decimal digits), or ``default`` when unset or empty."""
    if mq is None:
        return default
    if isinstance(mq, str):
        return mq or default
    if isinstance(mq, float) and mq.is_integer():
        return str(int(mq))
    return str(mq)


def _required(value: Any, field: str, source: str, kind: str) -> Any:
    """The source a metric type needs (the validating webhook's wording)."""
    if value is None:
        raise ValueError(f"{field}: metricSpec.{source} is not set for {kind} metric source type")
    return value


def _resource_target_value(name: str, target: MetricTarget) -> str:
    if target.type == "Utilization":
        utilization = target.average_utilization
        if name == "cpu" and utilization is None:
            utilization = DEFAULT_CPU_UTILIZATION
        return "0" if utilization is None else str(utilization)
    if target.type == "AverageValue":
        return get_original_string_mq(target.average_value, "0")
    if target.type == "Value":
        return get_original_string_mq(target.value, "0")
    return "0"


def get_keda_metrics(
    component_meta: meta_v1.ObjectMeta,
    component_ext: ComponentExtensionSpec | None,
    otel_config: OtelCollectorConfig,
) -> list[dict[str, Any]]:
    """``getKedaMetrics``: one trigger per ``autoScaling.metrics`` entry (none without
    ``autoScaling``).

    - Resource: ``{type: cpu|memory, metricType: <target type>, metadata: {value}}``; value =
      averageUtilization (cpu default 80), or the original averageValue/value text, else "0".
    - External: ``{type: prometheus|graphite, metadata: {serverAddress, query, threshold}}``
      plus ``namespace`` (prometheus, when set), ``authModes`` and ``authenticationRef.name``
      when set.
    - PodMetric backend opentelemetry: ``{type: external, metadata: {metricQuery:
      sum(<query>{namespace="<ns>", deployment="<component>"}), targetValue, scalerAddress
      (the metric's serverAddress, else opentelemetryCollector.metricScalerEndpoint),
      operationOverTime (when set)}}``; any other backend gives ``{type: "", metadata: {}}``,
      as upstream.

    Raises ``ValueError`` naming the field when an entry lacks the source its type needs
    (upstream panics; the validating webhook refuses such specs)."""
    triggers: list[dict[str, Any]] = []
    if component_ext is None or component_ext.auto_scaling is None:
        return triggers
    for i, metric in enumerate(component_ext.auto_scaling.metrics or []):
        path = f"autoScaling.metrics[{i}]"
        if metric.type == "Resource":
            resource = _required(metric.resource, f"{path}.resource", "Resource", "resource")
            trigger: dict[str, Any] = {
                "type": resource.name,
                "metadata": {"value": _resource_target_value(resource.name, resource.target)},
            }
            if resource.target.type:
                trigger["metricType"] = resource.target.type
            triggers.append(trigger)
        elif metric.type == "External":
            external = _required(metric.external, f"{path}.external", "External", "external")
            backend = external.metric.backend or ""
            metadata = {
                "serverAddress": external.metric.server_address or "",
                "query": external.metric.query or "",
                "threshold": get_original_string_mq(external.target.value, "0"),
            }
            if backend == "prometheus" and external.metric.namespace:
                metadata["namespace"] = external.metric.namespace
            trigger = {"type": backend, "metadata": metadata}
            auth = external.authentication
            if auth is not None:
                if auth.auth_modes:
                    metadata["authModes"] = auth.auth_modes
                if auth.authentication_ref.name:
                    trigger["authenticationRef"] = {"name": auth.authentication_ref.name}
            triggers.append(trigger)
        elif metric.type == "PodMetric":
            pod_metric = _required(metric.pod_metric, f"{path}.podmetric", "PodMetric", "pod")
            scaler_address = pod_metric.metric.server_address or otel_config.metric_scaler_endpoint
            if pod_metric.metric.backend == "opentelemetry":
                query = (
                    f"sum({pod_metric.metric.query or ''}"
                    f'{{namespace="{component_meta.namespace or ""}", '
                    f'deployment="{component_meta.name or ""}"}})'
                )
                metadata = {
                    "metricQuery": query,
                    "targetValue": get_original_string_mq(pod_metric.target.value, "0"),
                    "scalerAddress": scaler_address,
                }
                if pod_metric.metric.operation_over_time:
                    metadata["operationOverTime"] = pod_metric.metric.operation_over_time
                triggers.append({"type": "external", "metadata": metadata})
            else:
                triggers.append({"type": "", "metadata": {}})
    return triggers


def _window(value: str) -> int | None:
    """``strconv.ParseInt(v, 10, 32)`` of a configmap window; unparsable values are ignored."""
    if _INT32_RE.fullmatch(value) is None:
        return None
    n = int(value)
    return n if -(2**31) <= n < 2**31 else None


def create_keda_scaled_object(
    component_meta: meta_v1.ObjectMeta,
    component_ext: ComponentExtensionSpec | None,
    otel_config: OtelCollectorConfig,
    autoscaler_config: AutoscalerConfig,
) -> dict[str, Any]:
    """``createKedaScaledObject``: ScaledObject ``<component>`` (component labels and
    annotations) scaling ``<component>``; minReplicaCount = minReplicas (default 1, 0 kept),
    maxReplicaCount = max(maxReplicas, min); triggers from :func:`get_keda_metrics`;
    ``advanced.horizontalPodAutoscalerConfig.behavior`` with the scale-up/-down stabilization
    windows of ``autoScaling.behavior``, each falling back to the ``autoscaler`` config key
    (``scaleUpStabilizationWindowSeconds``/``scaleDownStabilizationWindowSeconds``; values that
    are not int32 are ignored); no ``advanced`` when neither window is set."""
    scale_down: int | None = None
    scale_up: int | None = None
    if component_ext is not None and component_ext.auto_scaling is not None:
        behavior = component_ext.auto_scaling.behavior
        if behavior is not None:
            if behavior.scaleDown is not None:
                scale_down = behavior.scaleDown.stabilizationWindowSeconds
            if behavior.scaleUp is not None:
                scale_up = behavior.scaleUp.stabilizationWindowSeconds
    if scale_down is None and autoscaler_config.scale_down_stabilization_window_seconds:
        scale_down = _window(autoscaler_config.scale_down_stabilization_window_seconds)
    if scale_up is None and autoscaler_config.scale_up_stabilization_window_seconds:
        scale_up = _window(autoscaler_config.scale_up_stabilization_window_seconds)

    min_replicas = component_ext.min_replicas if component_ext is not None else None
    if min_replicas is None:
        min_replicas = DEFAULT_MIN_REPLICAS
    max_replicas = (component_ext.max_replicas if component_ext is not None else None) or 0
    max_replicas = max(max_replicas, min_replicas)

    metadata = metadata_dict(component_meta)
    spec: dict[str, Any] = {
        "scaleTargetRef": {"name": component_meta.name or ""},
        "minReplicaCount": min_replicas,
        "maxReplicaCount": max_replicas,
        "triggers": get_keda_metrics(component_meta, component_ext, otel_config),
    }
    if scale_down is not None or scale_up is not None:
        behavior_out: dict[str, Any] = {}
        if scale_down is not None:
            behavior_out["scaleDown"] = {"stabilizationWindowSeconds": scale_down}
        if scale_up is not None:
            behavior_out["scaleUp"] = {"stabilizationWindowSeconds": scale_up}
        spec["advanced"] = {
            "horizontalPodAutoscalerConfig": {"behavior": behavior_out},
            "scalingModifiers": {},
        }
    return {
        "apiVersion": KEDA_API_VERSION,
        "kind": KEDA_SCALED_OBJECT_KIND,
        "metadata": metadata,
        "spec": spec,
    }
