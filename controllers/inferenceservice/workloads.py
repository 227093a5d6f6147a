"""Standard-mode objects of one component: apply what is wanted, delete what is not (the I/O
half of upstream's ``reconcilers/raw/raw_kube_reconciler.go``; the objects come from the pure
:func:`controllers.reconcilers.raw.build_raw_kube_objects`).

Every write goes through :class:`runtime.apply.Applier`: an object already stored as wanted
costs no request, and a delete of an object the cache does not hold costs none either.
Upstream writes Service(s), OpenTelemetryCollector, Deployment(s), autoscaler one after the
other; they are independent, so here they are written concurrently.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import anyio
from lightkube.resources.apps_v1 import Deployment
from lightkube.resources.autoscaling_v2 import HorizontalPodAutoscaler
from lightkube.resources.core_v1 import Service

from apis.serving.constants import AutoscalerClass
from apis.serving.v1beta1.configmap import InferenceServiceConfig
from controllers.inferenceservice.components.component import ComponentWorkload
from controllers.reconcilers.raw import RawKubeObjects, build_raw_kube_objects
from controllers.thirdparty import OpenTelemetryCollector, ScaledObject
from runtime.apply import Applier
from runtime.client import set_controller_reference

__all__ = ["AppliedComponent", "KindNotServedError", "StandardWorkloads"]


class KindNotServedError(RuntimeError):
    """An object of a kind the API server does not serve is wanted (its CRD is absent)."""

    def __init__(self, kind: str, group: str) -> None:
        super().__init__(
            f"{kind}.{group} is not served by the API server: install its CRD to use it"
        )


@dataclass(frozen=True)
class AppliedComponent:
    """A component's Deployments and Services as stored after the reconcile (empty when
    stopped)."""

    deployments: list[Deployment]
    services: list[Service]


@dataclass
class StandardWorkloads:
    """Writes the Standard-mode objects of the InferenceService's components."""

    applier: Applier
    rest_mapper: Any

    async def _served(self, kind: Any) -> bool:
        return bool(await self.rest_mapper.is_served(kind))

    async def reconcile(
        self,
        isvc: Any,
        workload: ComponentWorkload,
        config: InferenceServiceConfig,
        *,
        stopped: bool,
    ) -> AppliedComponent:
        """Apply (or, ``stopped``, delete) the component's objects."""
        objs = build_raw_kube_objects(
            workload.meta,
            workload.worker_meta,
            workload.extension,
            workload.pod_spec,
            workload.worker_pod_spec,
            config,
        )
        if stopped:
            await self.delete_all(isvc, objs)
            return AppliedComponent([], [])
        if objs.otel_collector is not None and not await self._served(OpenTelemetryCollector):
            raise KindNotServedError("OpenTelemetryCollector", "opentelemetry.io")
        # The objects do not depend on each other (the HPA names its Deployment, which may
        # follow a moment later), so they are written concurrently: one round trip of latency
        # for a new component instead of one per object.
        wanted: list[Any] = [*objs.services, *objs.deployments]
        if objs.otel_collector is not None:
            wanted.append(OpenTelemetryCollector.from_dict(objs.otel_collector))
        stored: list[Any] = [None] * len(wanted)

        async def ensure(i: int) -> None:
            stored[i] = await self._ensure(isvc, wanted[i])

        try:
            async with anyio.create_task_group() as tg:
                for i in range(len(wanted)):
                    tg.start_soon(ensure, i)
                tg.start_soon(self._reconcile_autoscaler, isvc, objs)
        except BaseExceptionGroup as group:  # the callers handle errors one by one
            raise _first(group) from None
        n = len(objs.services)
        return AppliedComponent(
            [_typed(Deployment, d) for d in stored[n:n + len(objs.deployments)]],
            [_typed(Service, s) for s in stored[:n]],
        )

    async def _ensure(self, isvc: Any, obj: Any) -> Any:
        set_controller_reference(isvc, obj)
        live, _ = await self.applier.ensure(obj)
        return live

    async def _reconcile_autoscaler(self, isvc: Any, objs: RawKubeObjects) -> None:
        name, ns = _name(objs.deployments[0])
        uid = isvc.metadata.uid
        klass = objs.autoscaler_class
        if klass == AutoscalerClass.KEDA:
            if not await self._served(ScaledObject):
                raise KindNotServedError("ScaledObject", "keda.sh")
            assert isinstance(objs.autoscaler, dict)
            await self._ensure(isvc, ScaledObject.from_dict(objs.autoscaler))
            # KEDA makes its own HPA (keda-hpa-<name>); ours would fight it
            await self.applier.delete(HorizontalPodAutoscaler, name, ns, owner_uid=uid)
            return
        if klass == AutoscalerClass.HPA:
            await self._ensure(isvc, objs.autoscaler)
        else:  # external, none: the HPA we may have made before goes
            await self.applier.delete(HorizontalPodAutoscaler, name, ns, owner_uid=uid)
        # upstream never deletes a ScaledObject when the class moves away from keda
        if await self._served(ScaledObject):
            await self.applier.delete(ScaledObject, name, ns, owner_uid=uid)

    async def delete_all(self, isvc: Any, objs: RawKubeObjects) -> None:
        """Delete every object of the component the InferenceService controls (stop)."""
        uid = isvc.metadata.uid
        name, ns = _name(objs.deployments[0])
        for svc in objs.services:
            await self.applier.delete(Service, *_name(svc), owner_uid=uid)
        if await self._served(OpenTelemetryCollector):
            await self.applier.delete(OpenTelemetryCollector, name, ns, owner_uid=uid)
        for d in objs.deployments:
            await self.applier.delete(Deployment, *_name(d), owner_uid=uid)
        await self.applier.delete(HorizontalPodAutoscaler, name, ns, owner_uid=uid)
        if await self._served(ScaledObject):
            await self.applier.delete(ScaledObject, name, ns, owner_uid=uid)


def _first(group: BaseExceptionGroup[Any]) -> BaseException:
    first = group.exceptions[0]
    return _first(first) if isinstance(first, BaseExceptionGroup) else first


def _typed(tp: Any, obj: Any) -> Any:
    return obj if isinstance(obj, tp) else tp.from_dict(obj)


def _name(obj: Any) -> tuple[str, str]:
    meta = obj.metadata
    return meta.name, meta.namespace
