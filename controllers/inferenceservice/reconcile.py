"""The InferenceService reconcile (upstream ``inferenceservice/controller.go`` ``Reconcile``).

The flow is upstream's: deployment mode, finalizer, disable-auto-update, conditions, the
CA-bundle ConfigMap, the components (predictor -> transformer -> explainer), the Stopped
condition, routing, the multi-model ConfigMap, then the status write. What differs is the
cost: every read comes from the cache, every object goes through compare-then-apply, the
status is written only when it changed, and the pods' and routes' watches replace polling,
so a reconcile of an unchanged InferenceService makes no request at all.

Problems with what the user asked for (no runtime, a bad storage URI, a kind that is not
served...) become conditions and events and end the reconcile without an error: retrying
cannot fix them, and the watches on runtimes, the config and the InferenceService itself
bring the next attempt. API errors propagate and are retried with backoff.
"""

from __future__ import annotations

import logging
from typing import Any

from lightkube.resources.apps_v1 import Deployment
from lightkube.resources.core_v1 import ConfigMap, Pod, Service

from apis.serving.constants import (
    DISABLE_AUTO_UPDATE_ANNOTATION,
    INFERENCESERVICE_FINALIZER,
    DeploymentModeType,
    InferenceServiceComponent,
)
from apis.serving.v1alpha1 import ClusterServingRuntime, ClusterStorageContainer, ServingRuntime
from apis.serving.v1alpha1.trained_model import TrainedModel
from apis.serving.v1beta1.configmap import InferenceServiceConfig
from apis.serving.v1beta1.deployment_mode import get_deployment_mode
from apis.serving.v1beta1.inference_service import InferenceService
from apis.serving.v1beta1.inference_service_status import CanaryStatus, InferenceServiceStatus
from apis.serving.v1beta1.inference_service_status_conditions import (
    component_status,
    get_condition,
    initialize_conditions,
    is_ready,
    propagate_canary_status,
    propagate_raw_status,
    propagate_raw_status_with_messages,
    set_condition,
)
from apis.serving.v1beta1.inference_service_status_model import (
    mark_invalid_spec,
    propagate_model_status,
)
from apis.serving.v1beta1.inference_service_status_pods import predictor_not_ready_reason
from apis.serving.v1beta1.inference_service_status_stop import (
    is_stop_requested,
    mark_component_stopped,
    mark_predictor_stopped,
    propagate_stopped_condition,
)
from apis.serving.v1beta1.predictor_runtime_selection import (
    RuntimeSelectionError,
    SelectedRuntime,
    select_runtime,
)
from controllers.config import ConfigSource, ConfigUnavailableError
from controllers.inferenceservice.components.component import (
    ComponentError,
    ComponentWorkload,
    filter_disallowed,
)
from controllers.inferenceservice.components.explainer import build_explainer
from controllers.inferenceservice.components.predictor import (
    build_canary_predictor,
    build_predictor,
)
from controllers.inferenceservice.components.transformer import build_transformer
from controllers.reconcilers.cabundle import CaBundleError, global_ca_bundle_configmap
from controllers.reconcilers.ingress.domain import IngressError
from controllers.reconcilers.ingress.status import create_component_url
from controllers.reconcilers.modelconfig import create_empty_model_config
from runtime.apply import Applier
from runtime.client import ignore_not_found, is_not_found, remove_finalizer
from runtime.reconcile import Request, Result
from runtime.written import WrittenObjects

from .credentials import storage_credentials
from .knative import EMPTY, KnativeMode, KnativeRejected
from .routing import Routing
from .status import StatusWriter
from .workloads import AppliedComponent, KindNotServedError, StandardWorkloads

__all__ = ["InferenceServiceReconciler"]

log = logging.getLogger(__name__)

#: problems with the InferenceService or the cluster's setup, not with the API call
_SPEC_ERRORS = (ComponentError, RuntimeSelectionError, KindNotServedError, IngressError,
                CaBundleError, ValueError)
KIND_RECHECK_SECONDS = 30.0
"""How often an InferenceService that needs a kind the API server does not serve (a CRD not
installed) is reconciled again."""
_READY = {
    InferenceServiceComponent.PREDICTOR: "PredictorReady",
    InferenceServiceComponent.TRANSFORMER: "TransformerReady",
    InferenceServiceComponent.EXPLAINER: "ExplainerReady",
}


class _Stop(Exception):
    """End the reconcile after writing status (an event has been recorded)."""


class InferenceServiceReconciler:
    def __init__(self, mgr: Any, config: ConfigSource) -> None:
        self.client = mgr.client
        self.rest_mapper = mgr.rest_mapper
        self.config = config
        self.recorder = mgr.get_event_recorder("v1beta1Controllers")
        self.applier = Applier(self.client)
        self.workloads = StandardWorkloads(self.applier, self.rest_mapper)
        self.routing = Routing(self.applier, self.client, self.rest_mapper)
        self.knative = KnativeMode(self.applier, self.client, self.rest_mapper, self.recorder)
        self.written = WrittenObjects()
        # per reconcile, keyed by InferenceService (workers reconcile different keys at once)
        self._pods: dict[tuple[str, str], Any] = {}
        self._kstatus: dict[tuple[str, str], Any] = {}  # Knative: the predictor's ksvc status
        self._unobserved: set[tuple[str, str]] = set()
        self._previous_generation: dict[tuple[str, str], int | None] = {}
        self.status_writer = StatusWriter(self.client, self.recorder, self.written)

    # ------------------------------------------------------------------ reads

    async def _get(self, resource: Any, name: str, namespace: str | None) -> Any:
        return await ignore_not_found(self.client.get(resource, name, namespace))

    # ------------------------------------------------------------------ reconcile

    async def reconcile(self, req: Request) -> Result:
        isvc = self.written.freshest(await self._get(InferenceService, req.name, req.namespace))
        if isvc is None:
            self.written.forget(req.namespace, req.name)
            return Result()
        if isvc.metadata.deletionTimestamp is not None:
            await self._finalize(isvc)
            return Result()
        previous = isvc.status.model_copy(deep=True) if isvc.status is not None else None
        self._previous_generation[(req.namespace, req.name)] = (
            previous.observed_generation if previous is not None else None)
        status = isvc.status if isvc.status is not None else InferenceServiceStatus()
        isvc.status = status
        try:
            config = await self.config.get()
        except ConfigUnavailableError as e:
            # the config's own watch re-queues every InferenceService when it appears
            if get_condition(status, "Ready") is None:
                initialize_conditions(status)
            set_condition(status, "Ready", "False", "InferenceServiceConfigUnavailable", str(e))
            await self.status_writer.write(isvc, previous, status,
                                           status.deployment_mode or "")
            return Result()
        annotations = filter_disallowed(
            isvc.metadata.annotations,
            config.inference_service.service_annotation_disallowed_list,
        )
        mode = get_deployment_mode(status.deployment_mode, annotations, config.deploy)
        if mode == DeploymentModeType.MODEL_MESH and isvc.spec.transformer is None:
            if get_condition(status, "Ready") is None:
                initialize_conditions(status)
            await self.status_writer.write(isvc, previous, status, mode)
            return Result()
        if annotations.get(DISABLE_AUTO_UPDATE_ANNOTATION) == "true" and is_ready(previous):
            return Result()
        if get_condition(status, "Ready") is None:
            initialize_conditions(status)
        self._config_condition(status)
        recheck: float | None = None
        try:
            await self._reconcile_spec(isvc, config, mode)
        except _Stop:
            pass
        except KnativeRejected as e:  # Knative not served: said in status, checked again later
            recheck = e.requeue_after
        except _SPEC_ERRORS as e:
            log.info("InferenceService %s/%s cannot be reconciled: %s", req.namespace,
                     req.name, e)
            self.recorder.event(isvc, "Warning", "InternalError", "Reconcile", str(e))
            if isinstance(e, KindNotServedError):
                # no watch announces a CRD being installed: look again, no restart needed
                recheck = KIND_RECHECK_SECONDS
        except Exception as e:
            if _namespace_terminating(e):  # everything in it goes: nothing left to do
                log.info("namespace %s is terminating: not reconciling %s", req.namespace,
                         req.name)
                return Result()
            if _invalid(e):  # the API server refuses what the spec and config make: no retry
                self.recorder.event(isvc, "Warning", "InternalError", "Reconcile", str(e))
                await self.status_writer.write(isvc, previous, status, mode)
                return Result()
            self.recorder.event(isvc, "Warning", "InternalError", "Reconcile", str(e))
            await self.status_writer.write(isvc, previous, status, mode)
            raise
        wait = await self.status_writer.write(isvc, previous, status, mode)
        waits = [w for w in (wait, recheck) if w]
        return Result(requeue_after=min(waits)) if waits else Result()

    def _config_condition(self, status: InferenceServiceStatus) -> None:
        """Beyond upstream: a malformed ``inferenceservice-config`` (the last good one stays
        in force) is visible on every InferenceService as an Info condition."""
        err = self.config.error
        if err is not None:
            set_condition(status, "InferenceServiceConfigValid", "False", "MalformedConfig",
                          str(err))
        elif get_condition(status, "InferenceServiceConfigValid") is not None:
            status.conditions = [c for c in status.conditions or ()
                                 if c.type != "InferenceServiceConfigValid"] or None

    async def _reconcile_spec(self, isvc: Any, config: InferenceServiceConfig,
                              mode: DeploymentModeType) -> None:
        status: InferenceServiceStatus = isvc.status
        if mode == DeploymentModeType.KNATIVE:
            await self.knative.prepare(isvc)
        await self._ca_bundle(isvc, config)
        stopped = is_stop_requested(isvc.metadata.annotations)
        services: dict[str, Service] = {}
        if mode != DeploymentModeType.MODEL_MESH:
            applied, workload, credentials = await self._predictor(isvc, config, mode, stopped)
            services.update(_by_name(applied.services))
        else:
            workload, credentials = None, await storage_credentials(self.client, isvc, config)
        isvc_labels = workload.isvc_labels if workload is not None else None
        spec = isvc.spec
        for component, build in ((InferenceServiceComponent.TRANSFORMER, build_transformer),
                                 (InferenceServiceComponent.EXPLAINER, build_explainer)):
            if getattr(spec, str(component)) is None:
                continue
            built = self._build(status, build, isvc, config, mode,
                                isvc_labels_override=isvc_labels, credentials=credentials,
                                kserve_namespace=self.config.namespace)
            applied = await self._component(isvc, built, config, stopped, mode=mode)
            services.update(_by_name(applied.services))
        propagate_stopped_condition(status, stopped)
        self.knative.cross_component_status(isvc, mode, stopped)
        try:
            if mode == DeploymentModeType.STANDARD:
                routing = await self.routing.reconcile(isvc, config, services, stopped=stopped)
            else:  # Knative, and ModelMesh's transformer: Istio VirtualService
                routing = await self.knative.routing(isvc, config, stopped=stopped)
        except (KindNotServedError, IngressError) as e:  # e.g. no HTTPRoute CRD: say so
            set_condition(status, "IngressReady", "False",
                          getattr(e, "condition_reason", None) or "ReconcileFailed", str(e))
            raise
        if stopped:
            mark_component_stopped(status, "IngressReady")
        else:
            status.conditions = _set(status, "IngressReady", routing.condition)
            if routing.url is not None:
                status.url = routing.url
            if routing.address is not None:
                from apis.knative.duck import Addressable

                status.address = Addressable(url=routing.address)
        if workload is not None and workload.multi_model and not stopped:
            await self._model_config(isvc)
        key = (isvc.metadata.namespace, isvc.metadata.name)
        pods = self._pods.pop(key, None)
        kstatus = self._kstatus.pop(key, None)
        if pods is not None:  # after routing: "Loaded" needs the InferenceService Ready
            predictor = InferenceServiceComponent.PREDICTOR
            propagate_model_status(status, component_status(status, predictor), pods,
                                   kstatus is None, kstatus)
        if key in self._unobserved:
            # the Deployment controller has not seen the new spec yet: its status describes
            # the previous one, so this generation is not observed (readiness stays as the
            # Deployment reports it, as upstream)
            self._unobserved.discard(key)
            status.observed_generation = self._previous_generation.get(key)

    @staticmethod
    def _build(status: InferenceServiceStatus, build: Any, *args: Any,
               **kwargs: Any) -> ComponentWorkload:
        """Call a component builder; a spec problem lands in ``modelStatus`` as upstream
        writes it before the error propagates, and (beyond upstream, whose conditions stay
        Unknown for most of them) in the component's Ready condition."""
        try:
            workload: ComponentWorkload = build(*args, **kwargs)
        except ComponentError as e:
            if e.failure_reason is not None:
                mark_invalid_spec(status, e.failure_reason,  # type: ignore[arg-type]
                                  e.failure_message or str(e))
            reason = e.condition_reason or e.failure_reason or "ReconcileFailed"
            propagate_raw_status_with_messages(status, _component_of(build), reason, str(e),
                                               "False")
            raise
        return workload

    # ------------------------------------------------------------------ components

    async def _select_runtime(self, isvc: Any) -> SelectedRuntime | None:
        model = isvc.spec.predictor.model
        if model is None:
            return None
        multi_node = isvc.spec.predictor.worker_spec is not None
        ns = isvc.metadata.namespace
        try:
            try:
                return select_runtime(model, await self.client.list(ServingRuntime, ns),
                                      await self.client.list(ClusterServingRuntime),
                                      multi_node=multi_node)
            except RuntimeSelectionError:
                # a runtime applied together with the InferenceService may not be in the
                # cache yet: confirm a failure with a fresh read (two requests, only here)
                reader = self.client.api_reader
                return select_runtime(model, await reader.list(ServingRuntime, ns),
                                      await reader.list(ClusterServingRuntime),
                                      multi_node=multi_node)
        except RuntimeSelectionError as e:
            mark_invalid_spec(isvc.status, e.reason, e.message)
            # beyond upstream (PredictorReady stays Unknown there): the condition says why
            propagate_raw_status_with_messages(isvc.status, InferenceServiceComponent.PREDICTOR,
                                               e.reason, e.message, "False")
            raise

    async def _predictor(self, isvc: Any, config: InferenceServiceConfig, mode: Any,
                         stopped: bool) -> tuple[AppliedComponent, ComponentWorkload, Any]:
        status: InferenceServiceStatus = isvc.status
        runtime = await self._select_runtime(isvc)
        _set_runtime_names(status, runtime)
        storage_containers = await self.client.list(ClusterStorageContainer)
        credentials = await storage_credentials(self.client, isvc, config, runtime)
        workload = self._build(status, build_predictor, isvc, config, runtime, mode,
                               storage_containers=storage_containers,
                               credentials=credentials,
                               kserve_namespace=self.config.namespace)
        canaries = None
        if mode == DeploymentModeType.STANDARD:
            ready_before = _ready_canaries(status)
            canaries = await self._canaries(isvc, config, runtime, mode, stopped,
                                            storage_containers)
            if _ready_canaries(status) != ready_before:
                # the stable minReplicas counts the canaries Ready now (upstream reconciles
                # the canaries before it sizes the stable Deployment, in the same reconcile)
                workload = self._build(status, build_predictor, isvc, config, runtime, mode,
                                       storage_containers=storage_containers,
                                       credentials=credentials,
                                       kserve_namespace=self.config.namespace)
        applied = await self._component(isvc, workload, config, stopped, runtime=runtime,
                                        mode=mode)
        if stopped:
            # upstream's steady state while stopped: its predictor clears the status once and
            # the next reconcile sets the runtime name and the canary status again (a second
            # write); here the first write has them
            _set_runtime_names(status, runtime)
            if canaries is not None:
                propagate_canary_status(status, canaries, stopped=True)
        return applied, workload, credentials

    async def _component(self, isvc: Any, workload: ComponentWorkload,
                         config: InferenceServiceConfig, stopped: bool,
                         runtime: SelectedRuntime | None = None,
                         mode: DeploymentModeType = DeploymentModeType.STANDARD,
                         ) -> AppliedComponent:
        if mode != DeploymentModeType.STANDARD:  # Knative (and ModelMesh's transformer)
            return await self._knative_component(isvc, workload, config, stopped)
        status: InferenceServiceStatus = isvc.status
        component = workload.component
        try:
            applied = await self.workloads.reconcile(isvc, workload, config, stopped=stopped)
        except Exception as e:
            if isinstance(e, _SPEC_ERRORS) or _invalid(e):
                reason = getattr(e, "condition_reason", None) or "ReconcileFailed"
                propagate_raw_status_with_messages(status, component, reason, str(e), "False")
            raise
        if stopped:
            if component == InferenceServiceComponent.PREDICTOR:
                mark_predictor_stopped(status)
            else:
                mark_component_stopped(status, _READY[component])
            return applied
        ns = isvc.metadata.namespace
        pods = await self.client.list(Pod, ns, labels={"app": f"isvc.{workload.meta.name}"})
        why = predictor_not_ready_reason(pods)
        url = create_component_url(workload.meta, config.ingress)
        propagate_raw_status(status, component, applied.deployments, url,
                             generation=isvc.metadata.generation,
                             not_ready=(why.reason, why.message) if why else None)
        if not _observed(applied.deployments):
            self._unobserved.add((isvc.metadata.namespace, isvc.metadata.name))
        if component == InferenceServiceComponent.PREDICTOR:
            self._pods[(isvc.metadata.namespace, isvc.metadata.name)] = pods
        return applied

    async def _knative_component(self, isvc: Any, workload: ComponentWorkload,
                                 config: InferenceServiceConfig,
                                 stopped: bool) -> AppliedComponent:
        """The component's Knative Service and its status (upstream
        ``reconcileKnativeDeployment``); the predictor's revision pods for the model status."""
        status: InferenceServiceStatus = isvc.status
        component = workload.component
        try:
            applied = await self.knative.reconcile_component(isvc, workload, config,
                                                             stopped=stopped)
        except Exception as e:
            if isinstance(e, _SPEC_ERRORS) or _invalid(e):
                propagate_raw_status_with_messages(status, component, "ReconcileFailed", str(e),
                                                   "False")
            raise
        key = (isvc.metadata.namespace, isvc.metadata.name)
        if applied is None:  # stopped: the Knative Service is gone
            if component == InferenceServiceComponent.PREDICTOR:
                mark_predictor_stopped(status)
            else:
                mark_component_stopped(status, _READY[component])
            return EMPTY
        if not applied.observed:
            self._unobserved.add(key)
        if component == InferenceServiceComponent.PREDICTOR:
            self._pods[key] = await self.knative.revision_pods(isvc, applied.service_status)
            self._kstatus[key] = applied.service_status
        return EMPTY

    async def _canaries(self, isvc: Any, config: InferenceServiceConfig,
                        runtime: SelectedRuntime | None, mode: Any, stopped: bool,
                        storage_containers: Any) -> list[CanaryStatus]:
        """Standard-mode ``spec.canary[]``: one Deployment/Service(/HPA) per canary, their
        status (returned too), and the deletion of predictor objects no longer wanted (a
        renamed or promoted predictor, a removed canary)."""
        status: InferenceServiceStatus = isvc.status
        canaries: list[CanaryStatus] = []
        wanted: set[str] = set()
        for canary in isvc.spec.canary or ():
            workload = self._build(status, build_canary_predictor, isvc, canary, config, runtime,
                                   mode,
                                   storage_containers=storage_containers,
                                   kserve_namespace=self.config.namespace)
            wanted.add(workload.meta.name or "")
            applied = await self.workloads.reconcile(isvc, workload, config, stopped=stopped)
            ready = any((d.status.availableReplicas or 0) > 0
                        for d in applied.deployments if d.status is not None)
            canaries.append(CanaryStatus(name=canary.predictor.name, ready=ready,
                                         traffic_percent=canary.traffic_percent))
        propagate_canary_status(status, canaries, stopped=stopped)
        await self._delete_orphan_predictors(isvc, wanted)
        return canaries

    async def _delete_orphan_predictors(self, isvc: Any, canaries: set[str]) -> None:
        from apis.serving.constants import predictor_service_name

        name, ns, uid = isvc.metadata.name, isvc.metadata.namespace, isvc.metadata.uid
        stable = predictor_service_name(name, isvc.spec.predictor.name)
        wanted = {stable, f"{name}-predictor-worker", *canaries}
        labels = {"serving.kserve.io/inferenceservice": name, "component": "predictor"}
        for kind in (Deployment, Service):
            for obj in await self.client.list(kind, ns, labels=labels):
                n = obj.metadata.name
                if n not in wanted and not n.startswith(f"{name}-head-") \
                        and not n.startswith(f"{name}-workers-"):
                    await self.applier.delete(kind, n, ns, owner_uid=uid)

    # ------------------------------------------------------------------ other objects

    async def _ca_bundle(self, isvc: Any, config: InferenceServiceConfig) -> None:
        si = config.storage_initializer
        if not si.ca_bundle_config_map_name:
            return
        source = await self._get(ConfigMap, si.ca_bundle_config_map_name, self.config.namespace)
        desired = global_ca_bundle_configmap(si, source, isvc.metadata.namespace)
        if desired is not None:
            await self.applier.ensure(desired)

    async def _model_config(self, isvc: Any) -> None:
        """``modelconfig-<isvc>-0``: created once, never applied again (the TrainedModel
        controller owns ``models.json`` after that)."""
        desired = create_empty_model_config(isvc)
        if await self._get(ConfigMap, *_name(desired)):
            return
        try:
            await self.client.create(desired)
        except Exception as e:
            from runtime.client import is_already_exists

            if not is_already_exists(e):
                raise

    # ------------------------------------------------------------------ deletion

    async def _patch_finalizers(self, isvc: Any) -> None:
        result = await self.client.patch(
            InferenceService, isvc.metadata.name,
            {"metadata": {"finalizers": isvc.metadata.finalizers,
                          "resourceVersion": isvc.metadata.resourceVersion}},
            namespace=isvc.metadata.namespace)
        self.written.remember(result)
        isvc.metadata.resourceVersion = result.metadata.resourceVersion

    async def _finalize(self, isvc: Any) -> None:
        """An InferenceService that carries upstream's finalizer (made by upstream's manager):
        delete its TrainedModels, then drop the finalizer (the owned objects go with the
        garbage collector). New InferenceServices get no finalizer: the TrainedModel
        controller deletes a TrainedModel whose InferenceService is gone, so the finalizer
        would only cost a write at creation and a round trip at deletion."""
        if not remove_finalizer(isvc, INFERENCESERVICE_FINALIZER):
            return
        ns = isvc.metadata.namespace
        models = await self.client.list(TrainedModel, ns,
                                        labels={"inferenceservice": isvc.metadata.name})
        for tm in models:
            try:
                await self.client.delete(TrainedModel, tm.metadata.name, ns,
                                         propagation_policy="Background")
            except Exception as e:
                if not is_not_found(e):
                    raise
        await self._patch_finalizers(isvc)


def _namespace_terminating(e: BaseException) -> bool:
    """A 403 because the namespace is being deleted (NamespaceLifecycle admission)."""
    status = getattr(e, "status", None)
    if getattr(status, "code", None) != 403:
        return False
    causes = getattr(getattr(status, "details", None), "causes", None) or ()
    return any(getattr(c, "reason", None) == "NamespaceTerminating" for c in causes) or \
        "because it is being terminated" in (getattr(status, "message", "") or "")


def _invalid(e: BaseException) -> bool:
    """An API error saying the object we sent is invalid (422), or an admission webhook
    refusing it (Knative's, for one): a retry sends it again."""
    status = getattr(e, "status", None)
    code = getattr(status, "code", None)
    return code == 422 or (code == 400 and "denied the request" in
                           (getattr(status, "message", "") or ""))


def _set_runtime_names(status: InferenceServiceStatus, runtime: SelectedRuntime | None) -> None:
    if runtime is not None:
        status.serving_runtime_name = None if runtime.cluster_scoped else runtime.name
        status.cluster_serving_runtime_name = runtime.name if runtime.cluster_scoped else None


def _ready_canaries(status: InferenceServiceStatus) -> set[str]:
    return {c.name for c in status.canary_statuses or () if c.ready}


def _name(obj: Any) -> tuple[str, str]:
    return obj.metadata.name, obj.metadata.namespace


def _by_name(objs: list[Any]) -> dict[str, Any]:
    return {o.metadata.name: o for o in objs}


def _component_of(build: Any) -> InferenceServiceComponent:
    if build is build_transformer:
        return InferenceServiceComponent.TRANSFORMER
    if build is build_explainer:
        return InferenceServiceComponent.EXPLAINER
    return InferenceServiceComponent.PREDICTOR


def _observed(deployments: list[Deployment]) -> bool:
    """Whether the Deployment controller has seen the current spec of every Deployment
    (status from an older spec says nothing about the new one)."""
    return all(d.status is not None and d.metadata is not None
               and (d.status.observedGeneration or 0) >= (d.metadata.generation or 0)
               for d in deployments)


def _set(status: InferenceServiceStatus, condition_type: str, condition: Any) -> Any:
    set_condition(status, condition_type, condition.status, condition.reason or "",
                  condition.message or "")
    return status.conditions
