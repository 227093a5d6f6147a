"""Knative-mode routing (upstream ``reconcilers/ingress/ingress_reconciler.go``): the Istio
VirtualService ``<isvc>`` in front of the components' Knative Services, the ExternalName
Service ``<isvc>`` pointing at Istio's local gateway, and what routing reports in the
InferenceService status (url, address, IngressReady). kserve-behaviour.md §2.10.

Pure: objects are dicts, the InferenceService is read (its status holds the components'
readiness and URLs computed in this reconcile), never written. The reconcile
(:mod:`controllers.inferenceservice.knative`) reads Knative's ``config-domain`` and applies.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final, NamedTuple
from urllib.parse import urlsplit, urlunsplit

from apis.knative import Condition
from apis.serving.constants import (
    COMMON_DEFAULT_HTTP_PORT,
    EXPLAIN_PREFIX,
    ISVC_NAME_HEADER,
    ISVC_NAMESPACE_HEADER,
    KNATIVE_VISIBILITY_LABEL,
    PATH_BASED_EXPLAIN_PREFIX,
)
from apis.serving.v1beta1.configmap import InferenceServicesConfig, IngressConfig
from apis.serving.v1beta1.inference_service import InferenceService

from .domain import (
    IngressError,
    explainer_service_name,
    filter_keys,
    get_additional_hosts,
    get_host_prefix,
    name_of,
    namespace_of,
    predictor_service_name,
    service_hostname,
    transformer_service_name,
)
from .path import generate_url_path
from .status import CLUSTER_LOCAL_VISIBILITY, INGRESS_READY, RoutingStatus, component_ready

__all__ = [
    "EXPLAIN_PREFIX",
    "ISTIO_MESH_GATEWAY",
    "PATH_BASED_EXPLAIN_PREFIX",
    "VIRTUAL_SERVICE_API_VERSION",
    "VirtualServiceResult",
    "create_external_service",
    "create_virtual_service",
    "domain_list",
    "get_service_host",
    "get_service_url",
    "host_regexp",
    "knative_routing_status",
]

VIRTUAL_SERVICE_API_VERSION: Final = "networking.istio.io/v1beta1"
ISTIO_MESH_GATEWAY: Final = "mesh"
"""``constants.IstioMeshGateway``: the sidecars of the mesh."""
_PORT_MATCH: Final = r"(?::\d{1,5})?"
_GO_QUOTE_META: Final = frozenset("\\.+*?()|[]{}^$")


def _quote_meta(s: str) -> str:
    """Go's ``regexp.QuoteMeta``."""
    return "".join("\\" + c if c in _GO_QUOTE_META else c for c in s)


def host_regexp(host: str) -> str:
    """``constants.HostRegExp``: ``host`` with any port. (Upstream's cluster-local branch
    tests for a suffix that contains ``(?i)`` and so never matches: every host takes this
    path.)"""
    return "^" + _quote_meta(host) + _PORT_MATCH + "$"


def domain_list(config_domain: Mapping[str, str] | None) -> list[str]:
    """``getDomainList``: the keys of Knative's ``config-domain`` (sorted; Go iterates the
    map in random order, which only matters when two domains both suffix a host)."""
    return sorted(config_domain or {})


# ---------------------------------------------------------------------------------------------
# service host and URL from the components' status
# ---------------------------------------------------------------------------------------------


def _entry_url(isvc: InferenceService) -> tuple[str, str] | None:
    """(component, url) of the entry component (transformer, else predictor) when its status
    has a URL."""
    status = isvc.status
    components = status.components if status is not None else None
    if not components:
        return None
    spec = isvc.spec
    component = "transformer" if spec is not None and spec.transformer is not None else "predictor"
    comp = components.get(component)
    if comp is None or not comp.url:
        return None
    return component, comp.url


def _strip_component(text: str, component: str) -> str:
    if "-default" in text:
        return text.replace(f"-{component}-default", "", 1)
    return text.replace(f"-{component}", "", 1)


def get_service_host(isvc: InferenceService) -> str:
    """``getServiceHost``: the entry component's URL host without ``-<component>`` (or
    ``-<component>-default``); ``""`` while it has no URL."""
    entry = _entry_url(isvc)
    if entry is None:
        return ""
    component, url = entry
    return _strip_component(urlsplit(url).netloc, component)


def _host_based_url(isvc: InferenceService, config: IngressConfig) -> str:
    entry = _entry_url(isvc)
    if entry is None:
        return ""
    component, url = entry
    parts = urlsplit(url)
    text = urlunsplit((config.url_scheme, parts.netloc, parts.path, parts.query, parts.fragment))
    if not config.disable_istio_virtual_host:
        return _strip_component(text, component)
    return text


def get_service_url(isvc: InferenceService, config: IngressConfig) -> str:
    """``getServiceUrl``: the InferenceService's URL, from the entry component's URL
    (``urlScheme`` applied, ``-<component>`` removed unless the virtual host is disabled),
    or ``<urlScheme>://<ingressDomain><path>`` with ``pathTemplate``; ``""`` while the
    entry component has no URL (or the path cannot be rendered, which upstream logs)."""
    url = _host_based_url(isvc, config)
    if not url or not config.path_template:
        return url
    try:
        path = generate_url_path(name_of(isvc), namespace_of(isvc), config)
    except IngressError:
        return ""
    return f"{config.url_scheme}://{config.ingress_domain}{path}"


# ---------------------------------------------------------------------------------------------
# the VirtualService
# ---------------------------------------------------------------------------------------------


def _destination(gateway_service: str) -> dict[str, Any]:
    return {"destination": {"host": gateway_service, "port": {"number": COMMON_DEFAULT_HTTP_PORT}},
            "weight": 100}


def _headers(backend_host: str, name: str, namespace: str) -> dict[str, Any]:
    return {"request": {"set": {"Host": backend_host, ISVC_NAME_HEADER: name,
                                ISVC_NAMESPACE_HEADER: namespace}}}


def _match(uri: Mapping[str, str] | None, host: str, gateways: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if uri is not None:
        out["uri"] = dict(uri)
    out["authority"] = {"regex": host_regexp(host)}
    out["gateways"] = gateways
    return out


def create_http_match_request(
    prefix: str,
    target_host: str,
    internal_host: str,
    additional_hosts: Sequence[str],
    is_internal: bool,
    config: IngressConfig,
) -> list[dict[str, Any]]:
    """``createHTTPMatchRequest``: the internal host through the local gateway and the
    mesh, and (not internal) the external host and each additional host through the ingress
    gateway, duplicates left out. ``prefix``: a URI regex, or ``""`` for any URI."""
    uri = {"regex": prefix} if prefix else None
    matches = [_match(uri, internal_host, [config.local_gateway, ISTIO_MESH_GATEWAY])]
    if not is_internal:
        matches.append(_match(uri, target_host, [config.ingress_gateway]))
        for host in additional_hosts:
            m = _match(uri, host, [config.ingress_gateway])
            if m not in matches:
                matches.append(m)
    return matches


class VirtualServiceResult(NamedTuple):
    """``createIngress``: the VirtualService (None: not yet, or the path cannot be rendered)
    and the IngressReady condition it set while a component is not Ready (else None)."""

    virtual_service: dict[str, Any] | None
    condition: Condition | None = None


def _not_created(isvc: InferenceService, ready_type: str, component: str) -> VirtualServiceResult:
    cond = _condition(isvc, ready_type)
    state = "Unknown" if cond is None or cond.status == "Unknown" else "False"
    return VirtualServiceResult(None, Condition(type=INGRESS_READY, status=state,
                                                reason=f"{component} ingress not created"))


def _condition(isvc: InferenceService, condition_type: str) -> Condition | None:
    status = isvc.status
    for c in (status.conditions if status is not None else None) or ():
        if c.type == condition_type:
            return c
    return None


def create_virtual_service(
    isvc: InferenceService,
    config: IngressConfig,
    domains: Sequence[str],
    isvc_config: InferenceServicesConfig,
) -> VirtualServiceResult:
    """``createIngress``: the VirtualService ``<isvc>`` once the predictor (and transformer,
    explainer) are Ready.

    Hosts: ``<isvc>.<ns>.svc.cluster.local`` and (not cluster-local) the service host, the
    ``ingressDomain`` with ``pathTemplate``, and the additional domains' hosts. Gateways: the
    local gateway, the mesh and (not cluster-local) the ingress gateway. Routes: the
    explainer's ``:explain`` route first, then the entry component's, each to the Knative
    local gateway with the backend's ``Host`` and the KServe headers; with ``pathTemplate``
    path-based routes too. Labels = the InferenceService's, annotations = its annotations
    minus ``serviceAnnotationDisallowedList``. Cluster-local: label
    ``networking.knative.dev/visibility: cluster-local`` or a service host that is the
    internal one."""
    name, ns = name_of(isvc), namespace_of(isvc)
    spec = isvc.spec
    if not component_ready(isvc, "PredictorReady"):
        return _not_created(isvc, "PredictorReady", "Predictor")
    backend = predictor_service_name(name, spec.predictor.name if spec is not None else None)
    if spec is not None and spec.transformer is not None:
        backend = transformer_service_name(name)
        if not component_ready(isvc, "TransformerReady"):
            return _not_created(isvc, "TransformerReady", "Transformer")
    labels = dict((isvc.metadata.labels if isvc.metadata is not None else None) or {})
    service_host = get_service_host(isvc)
    internal_host = service_hostname(name, ns)
    is_internal = (labels.get(KNATIVE_VISIBILITY_LABEL) == CLUSTER_LOCAL_VISIBILITY
                   or service_host == internal_host)
    additional = [] if is_internal else get_additional_hosts(domains, service_host, config)
    hosts = [internal_host]
    routes: list[dict[str, Any]] = []
    gateway_service = config.knative_local_gateway_service
    if spec is not None and spec.explainer is not None:
        if not component_ready(isvc, "ExplainerReady"):
            return _not_created(isvc, "ExplainerReady", "Explainer")
        routes.append({
            "match": create_http_match_request(EXPLAIN_PREFIX, service_host, internal_host,
                                               additional, is_internal, config),
            "route": [_destination(gateway_service)],
            "headers": _headers(service_hostname(explainer_service_name(name), ns), name, ns),
        })
    routes.append({
        "match": create_http_match_request("", service_host, internal_host, additional,
                                           is_internal, config),
        "route": [_destination(gateway_service)],
        "headers": _headers(service_hostname(backend, ns), name, ns),
    })
    gateways = [config.local_gateway, ISTIO_MESH_GATEWAY]
    if not is_internal:
        hosts.append(service_host)
        gateways.append(config.ingress_gateway)
    if config.path_template:
        try:
            path = generate_url_path(name, ns, config)
        except IngressError:
            return VirtualServiceResult(None)  # upstream logs it and creates nothing
        path = path.removesuffix("/")
        domain = config.ingress_domain
        if spec is not None and spec.explainer is not None:
            routes.append({
                "match": [{"uri": {"regex": path + PATH_BASED_EXPLAIN_PREFIX},
                           "authority": {"regex": host_regexp(domain)},
                           "gateways": [config.ingress_gateway]}],
                "rewrite": {"uriRegexRewrite": {"match": path + PATH_BASED_EXPLAIN_PREFIX,
                                                "rewrite": "\\1"}},
                "route": [_destination(gateway_service)],
                "headers": _headers(service_hostname(explainer_service_name(name), ns), name, ns),
            })
        routes.append({
            "match": [
                {"uri": {"prefix": path + "/"}, "authority": {"regex": host_regexp(domain)},
                 "gateways": [config.ingress_gateway]},
                {"uri": {"exact": path}, "authority": {"regex": host_regexp(domain)},
                 "gateways": [config.ingress_gateway]},
            ],
            "rewrite": {"uri": "/"},
            "route": [_destination(gateway_service)],
            "headers": _headers(service_hostname(backend, ns), name, ns),
        })
        hosts.append(domain)
    if not is_internal:
        for host in additional:
            if host not in hosts:
                hosts.append(host)
    metadata: dict[str, Any] = {"name": name, "namespace": ns}
    annotations = filter_keys(
        isvc.metadata.annotations if isvc.metadata is not None else None,
        isvc_config.service_annotation_disallowed_list,
    )
    if annotations:
        metadata["annotations"] = annotations
    if labels:
        metadata["labels"] = labels
    return VirtualServiceResult({
        "apiVersion": VIRTUAL_SERVICE_API_VERSION,
        "kind": "VirtualService",
        "metadata": metadata,
        "spec": {"hosts": hosts, "gateways": gateways, "http": routes},
    })


def create_external_service(isvc: InferenceService, config: IngressConfig) -> dict[str, Any]:
    """``reconcileExternalService``'s desired Service ``<isvc>``: ExternalName to the Istio
    local gateway's Service (``localGatewayService``), so ``<isvc>.<ns>.svc.cluster.local``
    resolves to the gateway that serves the VirtualService's internal host."""
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name_of(isvc), "namespace": namespace_of(isvc)},
        "spec": {"externalName": config.local_gateway_service_name, "type": "ExternalName",
                 "sessionAffinity": "None"},
    }


def knative_routing_status(
    isvc: InferenceService, config: IngressConfig, pending: Condition | None
) -> RoutingStatus | None:
    """What ``IngressReconciler.Reconcile`` writes after the objects (not stopped): IngressReady
    True with ``status.url`` (:func:`get_service_url`) and ``status.address``
    (``http://<host prefix>.<ns>.svc.cluster.local``) once the entry component has a URL;
    until then ``pending`` (the condition :func:`create_virtual_service` set), url and address
    left as they are; None when there is nothing to change (IngressReady stays as it was)."""
    host, url = get_service_host(isvc), get_service_url(isvc, config)
    if not host or not url:
        return RoutingStatus(pending) if pending is not None else None
    prefix = get_host_prefix(isvc, config.disable_istio_virtual_host)
    address = "http://" + service_hostname(prefix, namespace_of(isvc))
    return RoutingStatus(Condition(type=INGRESS_READY, status="True"), url=url, address=address)
