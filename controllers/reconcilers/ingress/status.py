"""What Standard-mode routing reports in the InferenceService status, shared by the
HTTPRoute and Ingress paths: ``status.url`` (upstream ``createRawURL``), ``status.address``
(``createAddress``/``httpTargetPort``), ``status.components.<c>.url`` (raw
``createRawURL`` of ``raw_kube_reconciler.go``), the cluster-local / creation-disabled
decision both reconcilers start with, and the ``IngressReady`` conditions they set."""

from __future__ import annotations

import re
from typing import Any, Final, NamedTuple

from lightkube.resources.core_v1 import Service

from apis.knative import Condition
from apis.serving.constants import (
    CLUSTER_LOCAL_DOMAIN,
    CLUSTER_LOCAL_VISIBILITY,
    INFERENCE_SERVICE_DEFAULT_HTTP_PORT,
    INGRESS_READY,
    NETWORK_VISIBILITY_LABEL,
)
from apis.serving.v1beta1.configmap import IngressConfig
from apis.serving.v1beta1.inference_service import InferenceService
from apis.serving.v1beta1.inference_service_status_conditions import is_condition_ready

from .domain import (
    IngressError,
    generate_domain_name,
    name_of,
    namespace_of,
    predictor_service_name,
    service_hostname,
    transformer_service_name,
)

__all__ = [
    "CLUSTER_LOCAL_DOMAIN",
    "CLUSTER_LOCAL_VISIBILITY",
    "INGRESS_READY",
    "NETWORK_VISIBILITY_LABEL",
    "RoutingStatus",
    "component_ready",
    "create_address",
    "create_component_url",
    "create_raw_url",
    "entry_service_name",
    "get_raw_service_host",
    "http_target_port",
    "ingress_condition",
    "ingress_creation_disabled",
    "is_cluster_local",
    "is_grpc_port_name",
    "ready_routing_status",
]

H2C_APP_PROTOCOL: Final = "kubernetes.io/h2c"
_ATOI_RE: Final = re.compile(r"[+-]?[0-9]+")


class RoutingStatus(NamedTuple):
    """What a routing reconcile writes into the InferenceService status: ``IngressReady``,
    ``status.url`` and ``status.address.url`` (``None``: leave them as they are, as upstream
    does while routes are not ready) and the requeue delay."""

    condition: Condition
    url: str | None = None
    address: str | None = None
    requeue_after: float | None = None


def component_ready(isvc: InferenceService, condition_type: str) -> bool:
    """``isvc.Status.IsConditionReady(condition_type)``: the component's condition is True."""
    return isvc.status is not None and is_condition_ready(isvc.status, condition_type)


def ingress_condition(
    status: str, reason: str | None = None, message: str | None = None
) -> Condition:
    """An ``IngressReady`` condition (the caller stamps the transition time)."""
    return Condition(type=INGRESS_READY, status=status, reason=reason, message=message)


def is_cluster_local(isvc: InferenceService, ingress_config: IngressConfig) -> bool:
    """Upstream ``isInternal``: label ``networking.kserve.io/visibility=cluster-local`` or
    ``ingressDomain: svc.cluster.local``; no external route is created then."""
    labels = (isvc.metadata.labels if isvc.metadata is not None else None) or {}
    if labels.get(NETWORK_VISIBILITY_LABEL) == CLUSTER_LOCAL_VISIBILITY:
        return True
    return ingress_config.ingress_domain == CLUSTER_LOCAL_DOMAIN


def ingress_creation_disabled(isvc: InferenceService, ingress_config: IngressConfig) -> bool:
    """No HTTPRoute/Ingress for this InferenceService (cluster-local or
    ``disableIngressCreation``): upstream then sets IngressReady True, url and address."""
    return is_cluster_local(isvc, ingress_config) or ingress_config.disable_ingress_creation


def create_raw_url(isvc: InferenceService, ingress_config: IngressConfig) -> str:
    """``status.url``: ``<urlScheme>://<domainTemplate(isvc)>`` (Go ``url.URL.String``:
    ``//host`` with an empty scheme). Raises :class:`IngressError`."""
    host = generate_domain_name(name_of(isvc), isvc.metadata, ingress_config)
    scheme = ingress_config.url_scheme
    return f"{scheme}://{host}" if scheme else f"//{host}"


def create_component_url(component_meta: Any, ingress_config: IngressConfig) -> str:
    """``status.components.<c>.url``: ``http://<domainTemplate(component)>``, rendered with the
    component object's metadata (its name, e.g. ``<isvc>-predictor`` or
    ``<isvc>-<name>-predictor``, namespace, labels and annotations). Always ``http``, as
    upstream. Raises :class:`IngressError`."""
    name = getattr(component_meta, "name", None) or ""
    try:
        host = generate_domain_name(name, component_meta, ingress_config)
    except IngressError as e:
        raise IngressError(f"failed creating host name: {e}") from None
    return f"http://{host}"


def entry_service_name(isvc: InferenceService) -> str:
    """The Service that receives in-cluster traffic: the transformer's, else the
    predictor's (with ``predictor.name``)."""
    name = name_of(isvc)
    spec = isvc.spec
    if spec is not None and spec.transformer is not None:
        return transformer_service_name(name)
    return predictor_service_name(name, spec.predictor.name if spec is not None else None)


def get_raw_service_host(isvc: InferenceService) -> str:
    """``getRawServiceHost``: ``<entry service>.<ns>.svc.cluster.local``."""
    return service_hostname(entry_service_name(isvc), namespace_of(isvc))


def is_grpc_port_name(name: str | None) -> bool:
    """``isGrpcPortByName``: the port name contains ``grpc`` or ``h2c`` (any case)."""
    lower = (name or "").lower()
    return "grpc" in lower or "h2c" in lower


def _int_value(target: int | str | None) -> int:
    """``intstr.IntOrString.IntValue()``: a string is ``strconv.Atoi``'d (0 on failure)."""
    if target is None:
        return 0
    if isinstance(target, int):
        return target
    return int(target) if _ATOI_RE.fullmatch(target) else 0


def http_target_port(service: Service) -> str:
    """``httpTargetPort``: the target port of the first port that is neither gRPC by name
    nor ``appProtocol: kubernetes.io/h2c``, ``""`` if there is none (or it is named)."""
    for port in (service.spec.ports if service.spec is not None else None) or []:
        if is_grpc_port_name(port.name) or port.appProtocol == H2C_APP_PROTOCOL:
            continue
        value = _int_value(port.targetPort)
        if value > 0:
            return str(value)
    return ""


def create_address(isvc: InferenceService, entry_service: Service | None) -> str:
    """``status.address.url``: ``http://<entry service host>``, with ``:<targetPort>`` when
    the entry Service is headless (no ClusterIP to remap the port; default 8080). Always
    ``http``, whatever ``urlScheme`` is. ``entry_service`` is the Service named
    :func:`entry_service_name`; upstream fails the reconcile while it does not exist, so
    ``None`` raises ``LookupError`` with upstream's message."""
    host = get_raw_service_host(isvc)
    if entry_service is None:
        name = entry_service_name(isvc)
        raise LookupError(
            f"failed to get entry point service {name}: services {_q(name)} not found"
        )
    spec = entry_service.spec
    if spec is not None and spec.clusterIP == "None":
        host = f"{host}:{http_target_port(entry_service) or INFERENCE_SERVICE_DEFAULT_HTTP_PORT}"
    return f"http://{host}"


def _q(s: str) -> str:
    return '"' + s + '"'


def ready_routing_status(
    isvc: InferenceService, ingress_config: IngressConfig, entry_service: Service | None
) -> RoutingStatus:
    """IngressReady True with ``status.url`` and ``status.address``: the end of both
    upstream reconcilers once routing is in place (or not wanted). Raises
    :class:`IngressError` / ``LookupError`` as :func:`create_raw_url` /
    :func:`create_address`."""
    url = create_raw_url(isvc, ingress_config)
    return RoutingStatus(ingress_condition("True"), url, create_address(isvc, entry_service))
