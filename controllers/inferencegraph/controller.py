"""The InferenceGraph controller (upstream ``pkg/controller/v1alpha1/inferencegraph/
controller.go``): deploys the graph router in Standard mode (Deployment, Service, HPA or KEDA
ScaledObject) or Knative mode (a Knative Service), and reports Ready, url and deploymentMode.

Differences from upstream, deliberate (docs/compatibility.md):

- it watches the InferenceServices its ``serviceName`` steps name (field index
  ``spec.serviceNames``), so a graph waiting for one is reconciled when it appears or becomes
  ready, instead of retrying with errors; every problem is a Ready False condition with a
  reason plus a Warning event on the transition, never an exception loop;
- Ready follows the router Deployment's ``Available`` condition *status*; ``deploymentMode``
  and ``observedGeneration`` (the graph's) are written;
- a change of ``inferenceservice-config`` re-reconciles every graph;
- on stop, or when the autoscaler class changes, the graph's HPA / ScaledObject is deleted
  too (upstream only deletes InferenceService-owned HPAs, and never ScaledObjects).

Every child is written through :class:`~runtime.apply.Applier` (compare with the cache, then
apply), and status only when it changed: a reconcile with nothing to do makes no request.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from lightkube.generic_resource import create_namespaced_resource
from lightkube.resources.apps_v1 import Deployment
from lightkube.resources.autoscaling_v2 import HorizontalPodAutoscaler
from lightkube.resources.core_v1 import ConfigMap, Namespace, Service

from apis.knative.serving import ServiceStatus
from apis.serving.constants import AutoscalerClass, DeploymentModeType
from apis.serving.v1alpha1.inference_graph import InferenceGraph, InferenceGraphStatus
from apis.serving.v1alpha1.inference_graph_status import (
    propagate_knative_status,
    propagate_stopped_condition,
    readiness_event,
)
from apis.serving.v1alpha1.inference_graph_validation import validate_inference_graph
from apis.serving.v1alpha1.servingruntime_types import ClusterServingRuntime, ServingRuntime
from apis.serving.v1beta1.configmap import InferenceServiceConfig
from apis.serving.v1beta1.deployment_mode import get_deployment_mode
from apis.serving.v1beta1.inference_service import InferenceService
from apis.serving.v1beta1.inference_service_status_stop import is_stop_requested
from apis.serving.validation import FieldError
from controllers.config import ConfigSource, ConfigUnavailableError
from controllers.reconcilers.autoscaler import UnknownAutoscalerClassError
from controllers.reconcilers.ingress import IngressError
from runtime.apply import Applier
from runtime.builder import Builder
from runtime.client import ignore_not_found, is_not_found, set_controller_reference
from runtime.codec import object_to_dict
from runtime.predicate import new_predicate_funcs
from runtime.reconcile import Request, Result, TerminalError
from runtime.recorder import WARNING
from runtime.restmapper import gvk_of

from . import status as st
from .knative_ig import (
    AUTOSCALER_CONFIGMAP_NAME,
    KnativeService,
    allow_zero_initial_scale,
    create_knative_service,
    knative_autoscaler_namespace,
)
from .raw_ig import build_raw_objects, raw_url
from .router import RouterConfigError, check_router_config
from .service_urls import model_runtime_name, referenced_service_names, resolve_service_urls

__all__ = ["SERVICE_NAMES_INDEX", "InferenceGraphReconciler", "ScaledObject", "setup"]

log = logging.getLogger(__name__)

CONTROLLER_NAME = "inferencegraph"
SERVICE_NAMES_INDEX = "spec.serviceNames"
"""Field index on InferenceGraphs: the InferenceServices their steps name."""

ScaledObject = create_namespaced_resource("keda.sh", "v1alpha1", "ScaledObject", "scaledobjects")
"""KEDA's ScaledObject (optional kind, generic resource)."""


@dataclass
class _Problem:
    """Why the graph is not Ready (a condition reason/message and the Warning event)."""

    reason: str
    message: str
    terminal: bool = False


def _meta(obj: Any) -> Any:
    return obj.get("metadata") if isinstance(obj, dict) else obj.metadata


def _controlled_by(obj: Any, uid: str | None) -> bool:
    meta = object_to_dict(obj).get("metadata") or {}
    return any(
        r.get("controller") and r.get("uid") == uid for r in meta.get("ownerReferences") or ()
    )


class InferenceGraphReconciler:
    """Reconciles one InferenceGraph; see the module docstring."""

    def __init__(self, mgr: Any, config_source: ConfigSource, *, env: dict[str, str] | None = None
                 ) -> None:
        import os

        self.client = mgr.client
        self.cache = mgr.cache
        self.recorder = mgr.get_event_recorder("inferencegraph-controller")
        self.config_source = config_source
        self.applier = Applier(self.client)
        self.env = dict(os.environ) if env is None else env

    # ------------------------------------------------------------------ reads

    async def _get(self, kind: Any, name: str, namespace: str | None) -> Any | None:
        return await ignore_not_found(self.client.get(kind, name, namespace))

    def _watched(self, kind: Any) -> bool:
        """The cache watches ``kind`` (its optional ``owns`` source found it served)."""
        gvk = gvk_of(kind)
        return any(inf.info.group == gvk.group and inf.info.kind == gvk.kind
                   for inf in self.cache.informers())

    async def _served(self, kind: Any) -> bool:
        """Whether an optional kind is served: known without a request once the cache watches
        it; otherwise discovery (cached a few seconds) decides."""
        return self._watched(kind) or await self.client.is_served(kind)

    async def _namespace_terminating(self, namespace: str) -> bool:
        """Being deleted (an object not in the cache yet is a new namespace, not a gone one)."""
        ns = await self._get(Namespace, namespace, None)
        return ns is not None and ns.metadata.deletionTimestamp is not None

    async def _runtime_protocols(
        self, namespace: str, isvcs: dict[str, InferenceService]
    ) -> dict[str, list[str] | None]:
        """protocolVersions of the runtimes named by ``predictor.model.runtime`` (namespaced
        first, then cluster; None when neither exists)."""
        out: dict[str, list[str] | None] = {}
        for isvc in isvcs.values():
            name = model_runtime_name(isvc)
            if name is None or name in out:
                continue
            rt = await self._get(ServingRuntime, name, namespace)
            if rt is None:
                rt = await self._get(ClusterServingRuntime, name, None)
            out[name] = (list(rt.spec.protocol_versions or []) if rt is not None and rt.spec
                         else None)
        return out

    # ------------------------------------------------------------------ reconcile

    async def reconcile(self, req: Request) -> Result:
        graph: InferenceGraph | None = await self._get(InferenceGraph, req.name, req.namespace)
        if graph is None or graph.metadata is None or graph.metadata.deletionTimestamp:
            return Result()  # children go with it (owner references)
        if await self._namespace_terminating(req.namespace):
            return Result()  # nothing can be created there any more; the graph goes too
        old = graph.status
        status = old.model_copy(deep=True) if old is not None else InferenceGraphStatus()
        status.observed_generation = graph.metadata.generation
        problem = await self._reconcile(graph, status)
        if problem is not None:
            st.set_ready(status, False, problem.reason, problem.message)
            status.url = None
        propagate_stopped_condition(status, is_stop_requested(graph.metadata.annotations))
        await self._write_status(graph, old, status, problem)
        if problem is not None and problem.terminal:
            raise TerminalError(problem.message)
        return Result()

    async def _reconcile(
        self, graph: InferenceGraph, status: InferenceGraphStatus
    ) -> _Problem | None:
        meta = graph.metadata
        assert meta is not None and meta.name and meta.namespace
        try:
            config = await self.config_source.get()
        except ConfigUnavailableError as e:
            return _Problem(st.REASON_CONFIG_UNAVAILABLE, str(e))
        mode = get_deployment_mode(status.deployment_mode, meta.annotations, config.deploy)
        # upstream runs everything but Standard the Knative way; record what is done
        if mode != DeploymentModeType.STANDARD:
            mode = DeploymentModeType.KNATIVE
        status.deployment_mode = str(mode)
        stopped = is_stop_requested(meta.annotations)
        try:
            validate_inference_graph(graph)
            check_router_config(config.router)
        except FieldError as e:
            return _Problem(st.REASON_INVALID_SPEC, str(e))
        except RouterConfigError as e:
            return _Problem(st.REASON_INVALID_ROUTER_CONFIG, str(e))
        assert graph.spec is not None
        resolved = graph.spec
        if not stopped:
            names = referenced_service_names(graph.spec)
            isvcs: dict[str, InferenceService] = {}
            for name in names:
                isvc = await self._get(InferenceService, name, meta.namespace)
                if isvc is not None:
                    isvcs[name] = isvc
            runtimes = await self._runtime_protocols(meta.namespace, isvcs)
            resolved, problems = resolve_service_urls(graph.spec, isvcs, runtimes)
            if problems:
                return _Problem(problems[0].reason, "; ".join(p.message for p in problems))
        if mode == DeploymentModeType.STANDARD:
            return await self._standard(graph, resolved, config, status, stopped)
        return await self._knative(graph, resolved, config, status, stopped)

    async def _standard(
        self,
        graph: InferenceGraph,
        resolved: Any,
        config: InferenceServiceConfig,
        status: InferenceGraphStatus,
        stopped: bool,
    ) -> _Problem | None:
        meta = graph.metadata
        assert meta is not None and meta.name and meta.namespace
        try:
            objs = build_raw_objects(graph, resolved, config)
            url = raw_url(graph, config)
        except UnknownAutoscalerClassError as e:
            return _Problem(st.REASON_INVALID_AUTOSCALER, str(e))
        except (IngressError, ValueError) as e:
            return _Problem(st.REASON_INVALID_SPEC, str(e))
        name, ns, uid = meta.name, meta.namespace, meta.uid
        if stopped:
            for kind in (Deployment, Service, HorizontalPodAutoscaler):
                await self._delete_owned(kind, name, ns, uid)
            if self._watched(ScaledObject):
                await self._delete_owned(ScaledObject, name, ns, uid)
            return None
        # Service first (upstream's order), then the Deployment, then the autoscaler.
        for svc in objs.services:
            await self._apply(graph, svc, Service)
        for dep in objs.deployments:
            await self._apply(graph, dep, Deployment)
        problem: _Problem | None = None
        klass = objs.autoscaler_class
        if klass == AutoscalerClass.HPA:
            await self._apply(graph, objs.autoscaler, HorizontalPodAutoscaler)
        else:
            await self._delete_owned(HorizontalPodAutoscaler, name, ns, uid)
        if klass == AutoscalerClass.KEDA:
            if await self._served(ScaledObject):
                await self._apply(graph, objs.autoscaler, ScaledObject)
            else:
                problem = _Problem(
                    st.REASON_INVALID_AUTOSCALER,
                    "autoscaler class keda needs KEDA: the keda.sh/v1alpha1 ScaledObject kind "
                    "is not served",
                )
        elif self._watched(ScaledObject):
            # a ScaledObject left from class keda; while KEDA is not watched yet none can be
            # cached, and its watch starting later brings this graph back here
            await self._delete_owned(ScaledObject, name, ns, uid)
        deployment = await self._get(Deployment, name, ns)
        st.propagate_deployment_status(status, deployment, url)
        return problem

    async def _knative(
        self,
        graph: InferenceGraph,
        resolved: Any,
        config: InferenceServiceConfig,
        status: InferenceGraphStatus,
        stopped: bool,
    ) -> _Problem | None:
        meta = graph.metadata
        assert meta is not None and meta.name and meta.namespace
        if not await self._served(KnativeService):
            self.recorder.event(
                graph, WARNING, st.REASON_SERVERLESS_MODE_REJECTED, "Reconcile",
                "It is not possible to use Knative deployment mode when Knative Services are "
                "not available",
            )
            return _Problem(
                st.REASON_SERVERLESS_MODE_REJECTED,
                f"the resolved deployment mode of InferenceGraph '{meta.name}' is Knative, but "
                "Knative Serving is not available",
                terminal=True,
            )
        if stopped:
            await self._delete_owned(KnativeService, meta.name, meta.namespace, meta.uid)
            return None
        autoscaler_cm = await self._get(
            ConfigMap, AUTOSCALER_CONFIGMAP_NAME, knative_autoscaler_namespace(self.env)
        )
        allow_zero = allow_zero_initial_scale(autoscaler_cm.data if autoscaler_cm else None)
        desired = KnativeService.from_dict(
            create_knative_service(graph, resolved, config.router, allow_zero=allow_zero))
        set_controller_reference(graph, desired)
        live, _ = await self.applier.ensure(desired)
        ksvc = object_to_dict(live) if live is not None else {}
        ksvc_status = ServiceStatus.model_validate(ksvc.get("status") or {})
        propagate_knative_status(status, ksvc_status)
        if not ksvc_status.has_observed((ksvc.get("metadata") or {}).get("generation")):
            # its status still speaks of the spec before the one just applied (a Ready True
            # from the previous revision): the graph's generation is not observed yet
            status.observed_generation = graph.status.observed_generation if graph.status \
                else None
        if not any(c.type == "Ready" for c in status.conditions or ()):
            st.set_ready(status, False, "KnativeServiceNotReady",
                         "the router's Knative Service has no Ready condition yet")
        return None

    # ------------------------------------------------------------------ writes

    async def _apply(self, graph: InferenceGraph, desired: Any, kind: Any) -> None:
        set_controller_reference(graph, desired)
        m = _meta(desired)
        name = m.get("name") if isinstance(m, dict) else m.name
        ns = m.get("namespace") if isinstance(m, dict) else m.namespace
        live = await self._get(kind, str(name), ns)
        await self.applier.apply(desired, live)

    async def _delete_owned(self, kind: Any, name: str, ns: str, uid: str | None) -> None:
        """Delete ``kind`` ``ns/name`` if it exists in the cache and this graph controls it
        (nothing else of that name is touched; an absent object costs no request)."""
        live = await self._get(kind, name, ns)
        if live is None or not _controlled_by(live, uid):
            return
        try:
            await self.client.delete(kind, name, ns)
        except Exception as e:
            if not is_not_found(e):
                raise
        body = object_to_dict(live)
        self.applier.forget(body.get("apiVersion", ""), body.get("kind", ""), ns, name)

    async def _write_status(
        self,
        graph: InferenceGraph,
        old: InferenceGraphStatus | None,
        new: InferenceGraphStatus,
        problem: _Problem | None,
    ) -> None:
        if not st.status_changed(old, new):
            return
        # Server-side apply of the status: no resourceVersion, so a reconcile that started
        # from a cache one write behind cannot conflict (it writes the same status again,
        # which the server treats as a no-op).
        try:
            await self.client.apply_status(
                graph, new.model_dump(by_alias=True, exclude_none=True, mode="json")
            )
        except Exception as e:
            if is_not_found(e):
                return  # deleted meanwhile
            raise
        meta = graph.metadata
        assert meta is not None
        old_ready = old.get_condition("Ready") if old is not None else None
        if problem is not None and not problem.terminal and (
            old_ready is None or old_ready.reason != problem.reason
        ):
            self.recorder.event(graph, WARNING, problem.reason, "Reconcile", problem.message)
        event = readiness_event(meta.name or "", old, new)
        if event is not None:
            self.recorder.event(graph, event[0], event[1], "Reconcile", event[2])


# ---------------------------------------------------------------------------------------------
# wiring
# ---------------------------------------------------------------------------------------------


def _service_names(graph: InferenceGraph) -> list[str]:
    return referenced_service_names(graph.spec)


def setup(mgr: Any, config_source: ConfigSource) -> None:
    """Register the InferenceGraph controller with ``mgr``: For InferenceGraph; Owns
    Deployment, Service, HPA, and (when served) ScaledObject and Knative Service; Watches the
    InferenceServices the graphs name and the ``inferenceservice-config`` ConfigMap."""
    mgr.cache.index_field(InferenceGraph, SERVICE_NAMES_INDEX, _service_names)
    client = mgr.client

    async def graphs_for_isvc(isvc: Any) -> Iterable[Request]:
        m = isvc.metadata
        graphs = await client.list(InferenceGraph, m.namespace,
                                   fields={SERVICE_NAMES_INDEX: m.name})
        return [Request(g.metadata.namespace, g.metadata.name) for g in graphs]

    async def graphs_for_config(cm: Any) -> Iterable[Request]:
        graphs = await client.list(InferenceGraph)
        return [Request(g.metadata.namespace, g.metadata.name) for g in graphs]

    (
        Builder(mgr, name=CONTROLLER_NAME)
        .for_(InferenceGraph)
        .owns(Deployment)
        .owns(Service)
        .owns(HorizontalPodAutoscaler)
        .owns(ScaledObject, optional=True)
        .owns(KnativeService, optional=True)
        .watches(InferenceService, graphs_for_isvc)
        .watches(ConfigMap, graphs_for_config)
        .with_predicates(new_predicate_funcs(config_source.is_config_map))
        .complete(InferenceGraphReconciler(mgr, config_source))
    )
