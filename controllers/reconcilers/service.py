"""The Standard-mode Service(s) of a component (upstream
``reconcilers/service/service_reconciler.go``: ``createService`` and helpers; the
platform hooks ``customizeService``/``customizeHeadSvc`` are upstream's no-op defaults).

Pure and generic over "component meta + extension + pod spec" (the InferenceGraph router uses
it too). One deliberate difference in the object, none in what is stored: the first port's
``protocol`` is ``TCP`` when the container port leaves it empty (upstream sends it empty and the
API server defaults it to ``TCP``); server-side apply needs the key fields of ``ports``
(``port``, ``protocol``) on every entry.
"""

from __future__ import annotations

from lightkube.models import core_v1, meta_v1
from lightkube.resources.core_v1 import Service

from apis.serving.constants import (
    APP_LABEL,
    COMMON_DEFAULT_HTTP_PORT,
    INFERENCE_SERVICE_GENERATION_POD_LABEL,
    MULTI_NODE_ROLE_LABEL,
    TRANSFORMER_CONTAINER,
    raw_service_label,
)
from apis.serving.v1beta1.component import ComponentExtensionSpec
from apis.serving.v1beta1.configmap import ServiceConfig

from .multinode import (
    MULTI_NODE_HEAD,
    MULTI_NODE_WORKER,
    get_head_service_name,
    get_raw_worker_service_label,
    get_worker_service_name,
)
from .utils import object_meta

__all__ = [
    "COMMON_DEFAULT_HTTP_PORT",
    "INFERENCE_SERVICE_DEFAULT_AGENT_PORT",
    "INFERENCE_SERVICE_DEFAULT_HTTP_PORT",
    "create_default_service",
    "create_headless_service",
    "create_service",
    "create_worker_headless_service",
    "get_app_protocol",
    "is_grpc_port",
]

INFERENCE_SERVICE_DEFAULT_HTTP_PORT = 8080
"""``constants.InferenceServiceDefaultHttpPort``: target port when the container has none."""
INFERENCE_SERVICE_DEFAULT_AGENT_PORT = 9081
"""``constants.InferenceServiceDefaultAgentPort``: the agent sidecar (batcher/logger)."""
_H2C = "kubernetes.io/h2c"


def is_grpc_port(port: core_v1.ContainerPort) -> bool:
    """``isGrpcPort``: the port's name contains ``grpc`` or ``h2c``."""
    name = port.name or ""
    return "grpc" in name or "h2c" in name


def get_app_protocol(port: core_v1.ContainerPort) -> str | None:
    """``getAppProtocol``: ``kubernetes.io/h2c`` for a gRPC port, else unset."""
    return _H2C if is_grpc_port(port) else None


def create_default_service(
    component_meta: meta_v1.ObjectMeta,
    component_ext: ComponentExtensionSpec | None,
    pod_spec: core_v1.PodSpec,
    service_config: ServiceConfig | None,
) -> Service:
    """``createDefaultSvc``: Service ``<component>`` selecting ``app: isvc.<component>``.

    Ports come from ``transformer-container`` if present, else the first container: its first
    port is exposed on 80 (name = the port's name), every other port 1:1 (``TCP`` unless set),
    each with ``appProtocol: kubernetes.io/h2c`` when its name contains grpc/h2c. A container
    without ports gets ``{name: <component>, port 80 -> 8080, TCP}``; no containers, no ports.
    With a batcher or logger the first port targets the agent (9081). ``clusterIP: None``
    when ``service.serviceClusterIPNone`` is set."""
    ports: list[core_v1.ServicePort] = []
    containers = pod_spec.containers or []
    if containers:
        container = next((c for c in containers if c.name == TRANSFORMER_CONTAINER), containers[0])
        cports = container.ports or []
        if cports:
            first = cports[0]
            ports.append(
                core_v1.ServicePort(
                    name=first.name,
                    port=COMMON_DEFAULT_HTTP_PORT,
                    targetPort=first.containerPort,
                    protocol=first.protocol or "TCP",
                    appProtocol=get_app_protocol(first),
                )
            )
            for p in cports[1:]:
                ports.append(
                    core_v1.ServicePort(
                        name=p.name,
                        port=p.containerPort,
                        targetPort=p.containerPort,
                        protocol=p.protocol or "TCP",
                        appProtocol=get_app_protocol(p),
                    )
                )
        else:
            ports.append(
                core_v1.ServicePort(
                    name=component_meta.name,
                    port=COMMON_DEFAULT_HTTP_PORT,
                    targetPort=INFERENCE_SERVICE_DEFAULT_HTTP_PORT,
                    protocol="TCP",
                )
            )
    if (
        component_ext is not None
        and (component_ext.batcher is not None or component_ext.logger is not None)
        and ports
    ):
        ports[0].targetPort = INFERENCE_SERVICE_DEFAULT_AGENT_PORT

    spec = core_v1.ServiceSpec(
        selector={APP_LABEL: raw_service_label(component_meta.name or "")},
        ports=ports or None,
    )
    if service_config is not None and service_config.service_cluster_ip_none:
        spec.clusterIP = "None"
    return Service(metadata=object_meta(component_meta), spec=spec)


def _multi_node_service(
    component_meta: meta_v1.ObjectMeta, name: str, role: str, app_label: str, generation: str
) -> Service:
    """A multi-node headless Service ``name`` (label ``multinode/role: <role>``) selecting the
    pods ``app: <app_label>`` of ``generation``, publishing not-ready addresses."""
    labels = dict(component_meta.labels or {})
    labels[MULTI_NODE_ROLE_LABEL] = role
    return Service(
        metadata=object_meta(component_meta, name=name, labels=labels),
        spec=core_v1.ServiceSpec(
            selector={APP_LABEL: app_label, INFERENCE_SERVICE_GENERATION_POD_LABEL: generation},
            clusterIP="None",
            publishNotReadyAddresses=True,
        ),
    )


def _generation(component_meta: meta_v1.ObjectMeta) -> str:
    return str((component_meta.labels or {}).get(INFERENCE_SERVICE_GENERATION_POD_LABEL, ""))


def create_headless_service(component_meta: meta_v1.ObjectMeta) -> Service:
    """``createHeadlessSvc``: the multi-node head Service ``<isvc>-head-<generation>``
    (generation from label ``isvc.generation``), label ``multinode/role: head``, selecting the
    head pods of that generation, headless, publishing not-ready addresses."""
    name, generation = component_meta.name or "", _generation(component_meta)
    return _multi_node_service(
        component_meta,
        get_head_service_name(name, generation),
        MULTI_NODE_HEAD,
        raw_service_label(name),
        generation,
    )


def create_worker_headless_service(component_meta: meta_v1.ObjectMeta) -> Service:
    """``createWorkerHeadlessSvc``: the multi-node worker Service
    ``<isvc>-workers-<generation>``, label ``multinode/role: worker``, selecting the worker pods
    (``app: isvc.<component>-worker``) of that generation, headless, publishing not-ready
    addresses."""
    name, generation = component_meta.name or "", _generation(component_meta)
    return _multi_node_service(
        component_meta,
        get_worker_service_name(name, generation),
        MULTI_NODE_WORKER,
        get_raw_worker_service_label(name),
        generation,
    )


def create_service(
    component_meta: meta_v1.ObjectMeta,
    component_ext: ComponentExtensionSpec | None,
    pod_spec: core_v1.PodSpec,
    multi_node_enabled: bool,
    service_config: ServiceConfig | None,
) -> list[Service]:
    """``createService``: ``[default]``, or ``[default, head, worker]`` for multi-node."""
    services = [create_default_service(component_meta, component_ext, pod_spec, service_config)]
    if multi_node_enabled:
        services.append(create_headless_service(component_meta))
        services.append(create_worker_headless_service(component_meta))
    return services
