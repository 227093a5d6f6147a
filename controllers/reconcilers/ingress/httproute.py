"""Gateway API HTTPRoutes of a Standard-mode InferenceService (upstream
``reconcilers/ingress/httproute_reconciler.go``), as pure builders.

Four routes: ``<isvc>-predictor`` (a stable name, also with ``predictor.name``, so a canary
promotion does not rename it; its backend is the named predictor Service),
``<isvc>-transformer``, ``<isvc>-explainer`` and the top-level ``<isvc>``. Each is built only
once its component's ``<Component>Ready`` condition is True; otherwise the builder returns no
route and the ``IngressReady`` False condition upstream sets ("Predictor ingress not
created", ...). The routes are plain ``gateway.networking.k8s.io/v1`` dicts in the JSON shape
upstream's Go types serialize to (``omitempty``: empty labels/annotations, unset weights and
timeouts are absent), with the InferenceService as controller owner.

The reconcile (apply, delete when stopped) is the caller's; :func:`desired_httproutes` runs
the four builders in upstream's order and :func:`httproutes_ingress_condition` turns the
observed routes' parent status into ``IngressReady`` as ``reconcileHTTPRouteStatus`` does.

Deliberate difference (docs/compatibility.md): canary weights go only to rules whose backend
is the stable predictor Service. Upstream splits every rule of the top-level route, so with a
transformer or explainer a canary share of ``:explain`` or transformer traffic went straight to
a canary *predictor* Service.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import Any, Final, NamedTuple

from lightkube.resources.core_v1 import Service

from apis.knative import Condition
from apis.serving.constants import (
    COMMON_DEFAULT_HTTP_PORT,
    EXPLAIN_PREFIX,
    ISVC_NAME_HEADER,
    ISVC_NAMESPACE_HEADER,
    PATH_BASED_EXPLAIN_PREFIX,
)
from apis.serving.v1beta1.configmap import InferenceServicesConfig, IngressConfig
from apis.serving.v1beta1.inference_service import InferenceService
from runtime.client import set_controller_reference

from .domain import (
    IngressError,
    explainer_service_name,
    filter_keys,
    generate_host,
    get_additional_hosts,
    name_of,
    namespace_of,
    predictor_service_name,
    transformer_service_name,
)
from .path import generate_url_path
from .status import (
    H2C_APP_PROTOCOL,
    RoutingStatus,
    component_ready,
    ingress_condition,
    ingress_creation_disabled,
    is_grpc_port_name,
    ready_routing_status,
)

__all__ = [
    "DEFAULT_TIMEOUT",
    "EXPLAIN_PREFIX",
    "FALLBACK_PREFIX",
    "GRPC_PATH_PREFIX",
    "HTTPROUTE_API_VERSION",
    "HTTPROUTE_NOT_READY",
    "HTTPROUTE_PARENT_STATUS_NOT_AVAILABLE",
    "PATH_BASED_EXPLAIN_PREFIX",
    "DesiredRoutes",
    "RouteResult",
    "add_isvc_headers",
    "apply_canary_weights",
    "create_grpc_route_matches",
    "create_httproute_match",
    "create_httproute_rule",
    "create_raw_explainer_httproute",
    "create_raw_predictor_httproute",
    "create_raw_top_level_httproute",
    "create_raw_transformer_httproute",
    "desired_httproutes",
    "detect_service_protocol_ports",
    "httproute_checks",
    "httproute_routing_status",
    "httproutes_ingress_condition",
    "is_httproute_ready",
    "resolve_timeout",
]

GATEWAY_GROUP: Final = "gateway.networking.k8s.io"
HTTPROUTE_API_VERSION: Final = f"{GATEWAY_GROUP}/v1"
HTTPROUTE_NOT_READY: Final = "HttpRouteNotReady"
HTTPROUTE_PARENT_STATUS_NOT_AVAILABLE: Final = "ParentStatusNotAvailable"
DEFAULT_TIMEOUT: Final = "60s"
"""``DefaultTimeout``: ``timeouts.request`` of a component without ``timeout``."""
FALLBACK_PREFIX: Final = "^/.*$"
GRPC_PATH_PREFIX: Final = "^/inference\\.GRPCInferenceService/.*$"
REQUEUE_AFTER: Final = 1.0
"""Seconds: upstream requeues after 1 s while a route is missing or not accepted."""


class RouteResult(NamedTuple):
    """A builder's outcome: the route, or (component not Ready) no route and the
    ``IngressReady`` False condition upstream sets."""

    route: dict[str, Any] | None
    condition: Condition | None = None


class DesiredRoutes(NamedTuple):
    """:func:`desired_httproutes`: the routes to apply, by name, in upstream's order, and the
    last ``IngressReady`` condition a builder set (``None`` when every component is Ready)."""

    routes: dict[str, dict[str, Any]]
    condition: Condition | None


# ---------------------------------------------------------------------------------------------
# pieces
# ---------------------------------------------------------------------------------------------


def resolve_timeout(disable_timeout: bool, timeout_seconds: int | None) -> str | None:
    """``resolveTimeout``: ``None`` (no ``timeouts``) when disabled, else the component's
    ``timeout`` in seconds or 60 s."""
    if disable_timeout:
        return None
    if timeout_seconds is not None:
        return f"{timeout_seconds}s"
    return DEFAULT_TIMEOUT


def create_httproute_match(regex: str) -> dict[str, Any]:
    """``createHTTPRouteMatch``: a RegularExpression path match."""
    return {"path": {"type": "RegularExpression", "value": regex}}


def create_grpc_route_matches() -> list[dict[str, Any]]:
    """``createGRPCRouteMatches``: the gRPC v2 inference path with a gRPC content type."""
    return [
        {
            "path": {"type": "RegularExpression", "value": GRPC_PATH_PREFIX},
            "headers": [
                {
                    "type": "RegularExpression",
                    "name": "content-type",
                    "value": "^application/grpc.*",
                }
            ],
        }
    ]


def add_isvc_headers(name: str, namespace: str) -> dict[str, Any]:
    """``addIsvcHeaders``: set ``KServe-Isvc-Name`` / ``KServe-Isvc-Namespace``."""
    return {
        "type": "RequestHeaderModifier",
        "requestHeaderModifier": {
            "set": [
                {"name": ISVC_NAME_HEADER, "value": name},
                {"name": ISVC_NAMESPACE_HEADER, "value": namespace},
            ]
        },
    }


def create_httproute_rule(
    matches: Sequence[Mapping[str, Any]],
    filters: Sequence[Mapping[str, Any]],
    service_name: str,
    namespace: str,
    port: int,
    timeout: str | None,
) -> dict[str, Any]:
    """``createHTTPRouteRule``: matches, filters, one Service backend, optional timeout."""
    rule: dict[str, Any] = {
        "matches": [copy.deepcopy(dict(m)) for m in matches],
        "filters": [copy.deepcopy(dict(f)) for f in filters],
    }
    if service_name:
        rule["backendRefs"] = [
            {"kind": "Service", "name": service_name, "namespace": namespace, "port": port}
        ]
    if timeout is not None:
        rule["timeouts"] = {"request": timeout}
    return rule


def detect_service_protocol_ports(service: Service | None) -> tuple[int, int]:
    """``detectServiceProtocolPorts``: (first REST port, first gRPC port) of the component's
    Service, 0 when absent; a port is gRPC by ``appProtocol: kubernetes.io/h2c`` or a name
    containing grpc/h2c. A Service that does not exist yet gives (0, 0)."""
    rest = grpc = 0
    ports = (service.spec.ports if service is not None and service.spec is not None else None) or []
    for p in ports:
        if p.appProtocol == H2C_APP_PROTOCOL or is_grpc_port_name(p.name):
            grpc = grpc or p.port
        else:
            rest = rest or p.port
    return rest, grpc


def _backend_rules(
    filters: list[dict[str, Any]],
    service_name: str,
    namespace: str,
    service: Service | None,
    timeout: str | None,
) -> list[dict[str, Any]]:
    """A gRPC rule then a REST fallback when the Service has both kinds of port, else the
    catch-all rule to port 80."""
    rest, grpc = detect_service_protocol_ports(service)
    if grpc and rest:
        return [
            create_httproute_rule(
                create_grpc_route_matches(), filters, service_name, namespace, grpc, timeout
            ),
            create_httproute_rule(
                [create_httproute_match(FALLBACK_PREFIX)], filters, service_name, namespace,
                rest, timeout,
            ),
        ]
    return [
        create_httproute_rule(
            [create_httproute_match(FALLBACK_PREFIX)], filters, service_name, namespace,
            COMMON_DEFAULT_HTTP_PORT, timeout,
        )
    ]


def _gateway_ref(ingress_config: IngressConfig) -> dict[str, Any]:
    parts = ingress_config.kserve_ingress_gateway.split("/")
    if len(parts) != 2 or not all(parts):
        raise IngressError(
            "invalid ingress config - kserveIngressGateway should be in the format "
            f"<namespace>/<name>, got {ingress_config.kserve_ingress_gateway!r}"
        )
    return {"group": GATEWAY_GROUP, "kind": "Gateway", "namespace": parts[0], "name": parts[1]}


def _route(
    isvc: InferenceService,
    name: str,
    hostnames: list[str],
    rules: list[dict[str, Any]],
    ingress_config: IngressConfig,
    isvc_config: InferenceServicesConfig,
) -> dict[str, Any]:
    meta = isvc.metadata
    metadata: dict[str, Any] = {"name": name, "namespace": namespace_of(isvc)}
    labels = filter_keys(meta.labels if meta else None, isvc_config.service_label_disallowed_list)
    annotations = filter_keys(
        meta.annotations if meta else None, isvc_config.service_annotation_disallowed_list
    )
    if labels:
        metadata["labels"] = labels
    if annotations:
        metadata["annotations"] = annotations
    route: dict[str, Any] = {
        "apiVersion": HTTPROUTE_API_VERSION,
        "kind": "HTTPRoute",
        "metadata": metadata,
        "spec": {
            "parentRefs": [_gateway_ref(ingress_config)],
            "hostnames": hostnames,
            "rules": rules,
        },
    }
    set_controller_reference(isvc, route)
    return route


def _not_created(component: str) -> RouteResult:
    return RouteResult(None, ingress_condition("False", f"{component} ingress not created"))


def _host(name: str, isvc: InferenceService, cfg: IngressConfig, what: str) -> str:
    return generate_host(name, isvc.metadata, cfg, f"failed to generate {what} ingress host")


def _component_route(
    isvc: InferenceService,
    ingress_config: IngressConfig,
    isvc_config: InferenceServicesConfig,
    services: Mapping[str, Service] | None,
    *,
    what: str,
    route_name: str,
    backend: str,
    timeout_seconds: int | None,
) -> dict[str, Any]:
    """A component's route ``route_name``: host ``domainTemplate(route_name)``, the
    InferenceService headers, every request to ``backend`` (gRPC + REST split when its
    Service in ``services`` says so) with the component's timeout."""
    name, namespace = name_of(isvc), namespace_of(isvc)
    filters = [add_isvc_headers(name, namespace)]
    host = _host(route_name, isvc, ingress_config, what)
    timeout = resolve_timeout(ingress_config.disable_http_route_timeout, timeout_seconds)
    rules = _backend_rules(filters, backend, namespace, (services or {}).get(backend), timeout)
    return _route(isvc, route_name, [host], rules, ingress_config, isvc_config)


# ---------------------------------------------------------------------------------------------
# the routes
# ---------------------------------------------------------------------------------------------


def create_raw_predictor_httproute(
    isvc: InferenceService,
    ingress_config: IngressConfig,
    isvc_config: InferenceServicesConfig,
    services: Mapping[str, Service] | None = None,
) -> RouteResult:
    """``createRawPredictorHTTPRoute``: route ``<isvc>-predictor``, host
    ``domainTemplate(<isvc>-predictor)``, backend the (named) predictor Service; canary
    weights when ``spec.canary`` is set. ``services``: the namespace's Services by name (the
    predictor's decides gRPC + REST rules; absent means not created yet)."""
    if not component_ready(isvc, "PredictorReady"):
        return _not_created("Predictor")
    assert isvc.spec is not None
    name = name_of(isvc)
    route = _component_route(
        isvc,
        ingress_config,
        isvc_config,
        services,
        what="predictor",
        route_name=predictor_service_name(name),
        backend=predictor_service_name(name, isvc.spec.predictor.name),
        timeout_seconds=isvc.spec.predictor.timeout_seconds,
    )
    if isvc.spec.canary:
        route = apply_canary_weights(isvc, route)
    return RouteResult(route)


def _auxiliary_route(
    isvc: InferenceService,
    ingress_config: IngressConfig,
    isvc_config: InferenceServicesConfig,
    services: Mapping[str, Service] | None,
    component: str,
    svc: str,
    timeout_seconds: int | None,
) -> RouteResult:
    """The transformer's or explainer's route (``component``: "Transformer"/"Explainer"):
    route and backend ``svc``, once ``<component>Ready``."""
    if not component_ready(isvc, f"{component}Ready"):
        return _not_created(component)
    return RouteResult(
        _component_route(
            isvc,
            ingress_config,
            isvc_config,
            services,
            what=component.lower(),
            route_name=svc,
            backend=svc,
            timeout_seconds=timeout_seconds,
        )
    )


def create_raw_transformer_httproute(
    isvc: InferenceService,
    ingress_config: IngressConfig,
    isvc_config: InferenceServicesConfig,
    services: Mapping[str, Service] | None = None,
) -> RouteResult:
    """``createRawTransformerHTTPRoute``: route and backend ``<isvc>-transformer``."""
    spec = isvc.spec.transformer if isvc.spec is not None else None
    return _auxiliary_route(
        isvc, ingress_config, isvc_config, services, "Transformer",
        transformer_service_name(name_of(isvc)), spec.timeout_seconds if spec else None,
    )


def create_raw_explainer_httproute(
    isvc: InferenceService,
    ingress_config: IngressConfig,
    isvc_config: InferenceServicesConfig,
    services: Mapping[str, Service] | None = None,
) -> RouteResult:
    """``createRawExplainerHTTPRoute``: route and backend ``<isvc>-explainer``."""
    spec = isvc.spec.explainer if isvc.spec is not None else None
    return _auxiliary_route(
        isvc, ingress_config, isvc_config, services, "Explainer",
        explainer_service_name(name_of(isvc)), spec.timeout_seconds if spec else None,
    )


def create_raw_top_level_httproute(
    isvc: InferenceService,
    ingress_config: IngressConfig,
    isvc_config: InferenceServicesConfig,
    services: Mapping[str, Service] | None = None,
) -> RouteResult:
    """``createRawTopLevelHTTPRoute``: route ``<isvc>``; hosts ``domainTemplate(<isvc>)``,
    its ``additionalIngressDomains`` variants and, with ``pathTemplate``, the bare
    ``ingressDomain``. Rules: ``:explain`` to the explainer first (if any), then everything
    to the transformer (if any) else the predictor (gRPC + REST split as for the component
    routes), then the path-based ``<path>(/v1/models/...:explain)$`` and ``<path>/`` rules."""
    if not component_ready(isvc, "PredictorReady"):
        return _not_created("Predictor")
    spec = isvc.spec
    assert spec is not None
    name, namespace = name_of(isvc), namespace_of(isvc)
    predictor = predictor_service_name(name, spec.predictor.name)
    transformer = transformer_service_name(name)
    explainer = explainer_service_name(name)
    cfg = ingress_config
    disable = cfg.disable_http_route_timeout

    top_host = _host(name, isvc, cfg, "top level")
    hosts = [top_host]
    for extra in get_additional_hosts([cfg.ingress_domain], top_host, cfg):
        if extra not in hosts[:1]:
            hosts.append(extra)
    filters = [add_isvc_headers(name, namespace)]
    rules: list[dict[str, Any]] = []
    if spec.explainer is not None:
        if not component_ready(isvc, "ExplainerReady"):
            return _not_created("Explainer")
        rules.append(
            create_httproute_rule(
                [create_httproute_match(EXPLAIN_PREFIX)], filters, explainer, namespace,
                COMMON_DEFAULT_HTTP_PORT, resolve_timeout(disable, spec.explainer.timeout_seconds),
            )
        )
    if spec.transformer is not None:
        if not component_ready(isvc, "TransformerReady"):
            return _not_created("Transformer")
        timeout = resolve_timeout(disable, spec.transformer.timeout_seconds)
        entry, entry_svc = transformer, (services or {}).get(transformer)
    else:
        timeout = resolve_timeout(disable, spec.predictor.timeout_seconds)
        entry, entry_svc = predictor, (services or {}).get(predictor)
    rules.extend(_backend_rules(filters, entry, namespace, entry_svc, timeout))

    if cfg.path_template:
        try:
            path = generate_url_path(name, namespace, cfg)
        except IngressError as e:
            raise IngressError(f"failed to generate URL from pathTemplate: {e}") from None
        path = path.removesuffix("/")
        hosts.append(cfg.ingress_domain)
        if spec.explainer is not None:
            rules.append(
                create_httproute_rule(
                    [create_httproute_match(path + PATH_BASED_EXPLAIN_PREFIX)], filters,
                    explainer, namespace, COMMON_DEFAULT_HTTP_PORT,
                    resolve_timeout(disable, spec.explainer.timeout_seconds),
                )
            )
        rules.append(
            create_httproute_rule(
                [create_httproute_match(path + "/")],
                filters,
                entry,
                namespace,
                COMMON_DEFAULT_HTTP_PORT,
                timeout,
            )
        )

    route = _route(isvc, name, hosts, rules, cfg, isvc_config)
    if spec.canary:
        route = apply_canary_weights(isvc, route)
    return RouteResult(route)


def apply_canary_weights(isvc: InferenceService, route: Mapping[str, Any]) -> dict[str, Any]:
    """``applyCanaryWeights`` (returns a new route): every rule whose backend is the stable
    predictor Service gets weighted backends, the stable one with ``100 - sum(ready canary
    trafficPercent)`` and one per *ready* canary (``status.canaryStatuses[].ready``) with its
    ``trafficPercent``, Service ``<isvc>-<canary predictor.name>-predictor``, same kind,
    namespace and port. Rules to other Services are left alone (a deliberate fix, see the
    module docstring)."""
    out = copy.deepcopy(dict(route))
    spec = isvc.spec
    if spec is None:
        return out
    name = name_of(isvc)
    stable = predictor_service_name(name, spec.predictor.name)
    statuses = (isvc.status.canary_statuses if isvc.status is not None else None) or []
    ready = {cs.name: cs.ready for cs in statuses}
    canaries = [c for c in spec.canary or [] if ready.get(c.predictor.name or "", False)]
    stable_weight = 100 - sum(c.traffic_percent for c in canaries)
    for rule in out.get("spec", {}).get("rules", []):
        refs = rule.get("backendRefs") or []
        if not refs or refs[0].get("name") != stable:
            continue
        template = refs[0]
        weighted = [{**{k: v for k, v in template.items() if k != "weight"},
                     "weight": stable_weight}]
        for c in canaries:
            ref = {
                "kind": template.get("kind"),
                "name": predictor_service_name(name, c.predictor.name),
                "namespace": template.get("namespace"),
                "port": template.get("port"),
                "weight": c.traffic_percent,
            }
            weighted.append({k: v for k, v in ref.items() if v is not None})
        rule["backendRefs"] = weighted
    return out


# ---------------------------------------------------------------------------------------------
# reconcile helpers
# ---------------------------------------------------------------------------------------------


def desired_httproutes(
    isvc: InferenceService,
    ingress_config: IngressConfig,
    isvc_config: InferenceServicesConfig,
    services: Mapping[str, Service] | None = None,
) -> DesiredRoutes:
    """The routes upstream's ``Reconcile`` creates or updates, in its order (predictor,
    transformer, explainer, top level), with the ``IngressReady`` condition left by the last
    builder that found its component not Ready. The caller skips all of this when
    :func:`~controllers.reconcilers.ingress.status.ingress_creation_disabled` or the
    InferenceService is stopped. Raises :class:`IngressError`."""
    spec = isvc.spec
    builders = [create_raw_predictor_httproute]
    if spec is not None and spec.transformer is not None:
        builders.append(create_raw_transformer_httproute)
    if spec is not None and spec.explainer is not None:
        builders.append(create_raw_explainer_httproute)
    builders.append(create_raw_top_level_httproute)
    routes: dict[str, dict[str, Any]] = {}
    condition: Condition | None = None
    for build in builders:
        result = build(isvc, ingress_config, isvc_config, services)
        if result.route is not None:
            routes[result.route["metadata"]["name"]] = result.route
        if result.condition is not None:
            condition = result.condition
    return DesiredRoutes(routes, condition)


def httproute_checks(isvc: InferenceService) -> list[tuple[str, str]]:
    """(route name, component) pairs whose readiness decides ``IngressReady``, in upstream's
    order; also the names a stopped InferenceService's routes are deleted by."""
    name = name_of(isvc)
    checks = [(predictor_service_name(name), "Predictor")]
    if isvc.spec is not None and isvc.spec.transformer is not None:
        checks.append((transformer_service_name(name), "Transformer"))
    if isvc.spec is not None and isvc.spec.explainer is not None:
        checks.append((explainer_service_name(name), "Explainer"))
    checks.append((name, "InferenceService"))
    return checks


def is_httproute_ready(status: Mapping[str, Any] | None) -> tuple[bool, str | None, str | None]:
    """``isHTTPRouteReady`` on a route's ``status``: not ready without parent status
    (``ParentStatusNotAvailable`` / ``HttpRouteNotReady``) or at the first parent condition
    with status False (its reason and message); else ready."""
    parents = (status or {}).get("parents") or []
    if not parents:
        return False, HTTPROUTE_PARENT_STATUS_NOT_AVAILABLE, HTTPROUTE_NOT_READY
    for parent in parents:
        for cond in parent.get("conditions") or []:
            if cond.get("status") == "False":
                return False, cond.get("reason", ""), cond.get("message", "")
    return True, None, None


def httproutes_ingress_condition(
    isvc: InferenceService, observed: Mapping[str, Mapping[str, Any] | None]
) -> tuple[Condition, float | None]:
    """``reconcileHTTPRouteStatus``: ``IngressReady`` from the routes as they are in the
    cluster (``observed``: route dicts by name, ``None``/absent = not found), and the requeue
    delay (1 s while not ready, else ``None``). A missing route gives reason ``<Component>
    Deployment NotReady``; a not-ready one its first False parent condition, the message
    prefixed with the component."""
    for route_name, component in httproute_checks(isvc):
        route = observed.get(route_name)
        if route is None:
            reason = f"{component} Deployment NotReady"
            return (
                ingress_condition("False", reason, f"{component} HTTPRoute not created"),
                REQUEUE_AFTER,
            )
        ready, why, message = is_httproute_ready(route.get("status"))
        if not ready:
            return ingress_condition("False", why, f"{component} {message}"), REQUEUE_AFTER
    return ingress_condition("True"), None


def httproute_routing_status(
    isvc: InferenceService,
    ingress_config: IngressConfig,
    observed: Mapping[str, Mapping[str, Any] | None],
    entry_service: Service | None,
) -> RoutingStatus:
    """The status half of upstream's ``RawHTTPRouteReconciler.Reconcile`` (routes applied
    first by the caller): with ingress creation disabled or cluster-local, IngressReady True
    with url and address; else IngressReady from the ``observed`` routes, and url/address only
    once all are ready (before that they are left as they are and the reconcile requeues after
    1 s). A stopped InferenceService is the caller's: routes deleted, IngressReady False
    ``Stopped`` (upstream does that only when ingress creation is enabled)."""
    if not ingress_creation_disabled(isvc, ingress_config):
        cond, requeue = httproutes_ingress_condition(isvc, observed)
        if requeue is not None:
            return RoutingStatus(cond, requeue_after=requeue)
    return ready_routing_status(isvc, ingress_config, entry_service)
