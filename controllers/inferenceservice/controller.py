"""Wiring of the InferenceService controller (upstream ``controller.go`` ``SetupWithManager``
and ``cache_config.go``): what it watches, owns and maps.

Beyond upstream: the ``inferenceservice-config`` ConfigMap is watched, so a change reaches
every InferenceService without a restart; a ServingRuntime appearing re-queues the
InferenceServices waiting for one; third-party kinds (Gateway API, KEDA, OpenTelemetry) are
watched once their CRDs are served, also without a restart.
"""

from __future__ import annotations

from typing import Any

from lightkube.resources.apps_v1 import Deployment
from lightkube.resources.autoscaling_v2 import HorizontalPodAutoscaler
from lightkube.resources.core_v1 import ConfigMap, Pod, Service
from lightkube.resources.networking_v1 import Ingress

from apis.serving.constants import DISABLE_AUTO_UPDATE_ANNOTATION, INFERENCE_SERVICE_POD_LABEL
from apis.serving.v1alpha1 import ClusterServingRuntime, ServingRuntime
from apis.serving.v1beta1.inference_service import InferenceService
from apis.serving.v1beta1.inference_service_status_conditions import is_ready
from controllers.config import ConfigSource
from controllers.thirdparty import (
    HTTPRoute,
    KnativeService,
    OpenTelemetryCollector,
    ScaledObject,
    VirtualService,
)
from runtime.builder import Builder
from runtime.cache import ByObject
from runtime.event import UpdateEvent
from runtime.predicate import (
    AnnotationChangedPredicate,
    Funcs,
    GenerationChangedPredicate,
    LabelChangedPredicate,
    or_,
)
from runtime.reconcile import Request

from .reconcile import InferenceServiceReconciler

__all__ = ["CONTROLLER_NAME", "by_object", "setup"]

CONTROLLER_NAME = "inferenceservice"
SERVING_RUNTIME_INDEX = "status.servingRuntimeName"
CLUSTER_SERVING_RUNTIME_INDEX = "status.clusterServingRuntimeName"
WAITING_FOR_RUNTIME_INDEX = "status.modelStatus.transitionStatus"


def by_object() -> dict[Any, ByObject]:
    """Cache scoping (upstream ``NewCacheOptions``): only pods of InferenceServices."""
    return {Pod: ByObject(label_selector=f"{INFERENCE_SERVICE_POD_LABEL}")}


def _deleting(e: UpdateEvent) -> bool:
    new = e.object_new
    return new is not None and new.metadata.deletionTimestamp is not None


#: spec, labels, annotations or deletion changed: not our own status writes
ISVC_CHANGED = or_(
    GenerationChangedPredicate(), LabelChangedPredicate(), AnnotationChangedPredicate(),
    Funcs(create=lambda e: False, update=_deleting, delete=lambda e: False,
          generic=lambda e: False),
)


def _pod_state(pod: Any) -> tuple[Any, ...]:
    """What of a pod's status the InferenceService's status depends on."""
    st = pod.status
    if st is None:
        return ()

    def containers(statuses: Any) -> tuple[Any, ...]:
        out = []
        for c in statuses or ():
            s = c.state
            waiting = s.waiting.reason if s is not None and s.waiting is not None else None
            term = s.terminated.reason if s is not None and s.terminated is not None else None
            running = s is not None and s.running is not None
            out.append((c.name, c.ready, waiting, term, running, c.restartCount))
        return tuple(out)

    conds = tuple((c.type, c.status, c.reason) for c in st.conditions or ())
    return (st.phase, conds, containers(st.initContainerStatuses),
            containers(st.containerStatuses))


POD_CHANGED = Funcs(update=lambda e: _pod_state(e.object_old) != _pod_state(e.object_new))


def _pod_owner(pod: Any) -> list[Request]:
    name = (pod.metadata.labels or {}).get(INFERENCE_SERVICE_POD_LABEL)
    return [Request(pod.metadata.namespace, name)] if name else []


def _auto_update(isvc: Any) -> bool:
    """Runtime changes reach the InferenceService unless it asked not to be touched while
    Ready (``serving.kserve.io/disable-auto-update``)."""
    annotations = isvc.metadata.annotations or {}
    return not (annotations.get(DISABLE_AUTO_UPDATE_ANNOTATION) == "true"
                and is_ready(isvc.status))


def setup(mgr: Any, config: ConfigSource) -> InferenceServiceReconciler:
    """Register the controller and its indexes with ``mgr``."""
    cache = mgr.cache
    cache.index_field(InferenceService, SERVING_RUNTIME_INDEX,
                      lambda i: [i.status.serving_runtime_name]
                      if i.status is not None and i.status.serving_runtime_name else [])
    cache.index_field(InferenceService, CLUSTER_SERVING_RUNTIME_INDEX,
                      lambda i: [i.status.cluster_serving_runtime_name]
                      if i.status is not None and i.status.cluster_serving_runtime_name else [])
    cache.index_field(
        InferenceService, WAITING_FOR_RUNTIME_INDEX,
        lambda i: [i.status.model_status.transition_status]
        if i.status is not None and i.status.model_status is not None
        and i.status.model_status.transition_status else [])

    async def isvcs_of_runtime(rt: Any) -> list[Request]:
        ns = rt.metadata.namespace
        index = SERVING_RUNTIME_INDEX if ns else CLUSTER_SERVING_RUNTIME_INDEX
        found = await mgr.client.list(InferenceService, ns, fields={index: rt.metadata.name})
        found += await mgr.client.list(InferenceService, ns,
                                       fields={WAITING_FOR_RUNTIME_INDEX: "InvalidSpec"})
        return [Request(i.metadata.namespace, i.metadata.name) for i in found
                if _auto_update(i)]

    async def all_isvcs(cm: Any) -> list[Request]:
        if not config.is_config_map(cm):
            return []
        return [Request(i.metadata.namespace, i.metadata.name)
                for i in await mgr.client.list(InferenceService)]

    config_changed = Funcs(
        create=lambda e: config.is_config_map(e.object),
        update=lambda e: config.is_config_map(e.object_new)
        and e.object_old.data != e.object_new.data,
        delete=lambda e: False,
    )
    spec_changed = GenerationChangedPredicate()
    reconciler = InferenceServiceReconciler(mgr, config)
    (Builder(mgr, name=CONTROLLER_NAME)
        .for_(InferenceService, predicates=[ISVC_CHANGED])
        .owns(Deployment)
        .owns(Service)
        .owns(HorizontalPodAutoscaler)
        .owns(Ingress)
        .owns(HTTPRoute, optional=True)
        .owns(ScaledObject, optional=True, predicates=[spec_changed])
        .owns(OpenTelemetryCollector, optional=True, predicates=[spec_changed])
        .owns(KnativeService, optional=True)
        .owns(VirtualService, optional=True, predicates=[spec_changed])
        .watches(ServingRuntime, isvcs_of_runtime, predicates=[spec_changed])
        .watches(ClusterServingRuntime, isvcs_of_runtime, predicates=[spec_changed])
        .watches(Pod, _pod_owner, predicates=[POD_CHANGED])
        .watches(ConfigMap, all_isvcs, predicates=[config_changed])
        .max_concurrent(mgr.max_concurrent_reconciles)
        .complete(reconciler))
    return reconciler
