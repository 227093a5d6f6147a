"""Every object a Standard-mode component owns, built together (the object-building half of
upstream ``reconcilers/raw/raw_kube_reconciler.go`` ``NewRawKubeReconciler``).

Pure. What it adds over calling the builders one by one is upstream's cross-object behaviour:

- the ``app: isvc.<component>`` label lands on the Service(s), HPA and ScaledObject too
  (upstream's Deployment builder writes it into the label map they share);
- an OpenTelemetryCollector only when some ``PodMetric`` uses the ``opentelemetry`` backend;
- the autoscaler is chosen by class (an unknown class raises before anything is built, as
  upstream fails the reconcile);
- the process-wide GPU list includes ``multiNode.customGPUResourceTypeList``.

Not here (I/O or another owner's): storage-initializer injection for ``storageUris``
(``pod.CommonStorageInitialization``, done on ``pod_spec`` before calling this), the
component URL, owner references, and the apply order (Service, OTel, Deployment,
autoscaler) with the stop/delete decisions (:func:`~.utils.get_force_stop_runtime`,
:func:`~.hpa.should_create_hpa`, :func:`~.hpa.should_delete_hpa`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from lightkube.models import core_v1, meta_v1
from lightkube.resources.apps_v1 import Deployment
from lightkube.resources.autoscaling_v2 import HorizontalPodAutoscaler
from lightkube.resources.core_v1 import Service

from apis.serving.v1beta1.component import ComponentExtensionSpec
from apis.serving.v1beta1.configmap import InferenceServiceConfig

from .autoscaler import create_autoscaler, get_autoscaler_class
from .deployment import create_raw_deployment, with_raw_app_label
from .multinode import gpu_resource_types
from .otel import create_otel_collector, otel_metric_names
from .service import create_service

__all__ = ["RawKubeObjects", "build_raw_kube_objects"]


@dataclass(frozen=True)
class RawKubeObjects:
    """The desired objects of one Standard-mode component."""

    deployments: list[Deployment]
    """``[default]`` or, multi-node, ``[head, worker]``."""
    services: list[Service]
    """``[default]`` or, multi-node, ``[default, head, worker]``."""
    autoscaler_class: str
    """The component's autoscaler class (annotation, default ``hpa``)."""
    autoscaler: HorizontalPodAutoscaler | dict[str, Any]
    """The HPA (classes hpa/external/none; create/delete per :mod:`.hpa`) or the KEDA
    ScaledObject dict (class keda)."""
    otel_collector: dict[str, Any] | None
    """The OpenTelemetryCollector dict, or None when no metric needs one."""


def build_raw_kube_objects(
    component_meta: meta_v1.ObjectMeta,
    worker_component_meta: meta_v1.ObjectMeta | None,
    component_ext: ComponentExtensionSpec | None,
    pod_spec: core_v1.PodSpec,
    worker_pod_spec: core_v1.PodSpec | None,
    config: InferenceServiceConfig,
) -> RawKubeObjects:
    """Build the Deployment(s), Service(s), autoscaler and optional OTel collector of a
    component, as ``NewRawKubeReconciler`` does. Raises the builders' errors
    (:class:`~.autoscaler.UnknownAutoscalerClassError`, ``ValueError`` from the Deployment
    builder for malformed multi-node env or GPU annotation, from the KEDA builder for a metric
    without its source)."""
    names = otel_metric_names(component_ext)
    otel = (
        create_otel_collector(component_meta, names, config.opentelemetry_collector)
        if names
        else None
    )
    shared = with_raw_app_label(component_meta)
    autoscaler = create_autoscaler(
        shared, component_ext, config.opentelemetry_collector, config.autoscaler
    )
    deployments = create_raw_deployment(
        component_meta,
        worker_component_meta,
        component_ext,
        pod_spec,
        worker_pod_spec,
        config.deploy,
        gpu_resource_types(config.multi_node),
    )
    services = create_service(
        shared, component_ext, pod_spec, worker_pod_spec is not None, config.service
    )
    return RawKubeObjects(
        deployments=deployments,
        services=services,
        autoscaler_class=get_autoscaler_class(component_meta),
        autoscaler=autoscaler,
        otel_collector=otel,
    )
