"""controllers.reconcilers.ingress.httproute: upstream ``httproute_reconciler_test.go``
(top-level routes 8 cases, component routes, isHTTPRouteReady 6, timeouts 4 + rule/route
variants, canary weights 7, the reconcile's IngressReady decisions), asserting whole route
objects."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from lightkube.models.core_v1 import ServiceSpec
from lightkube.models.meta_v1 import ObjectMeta
from lightkube.resources.core_v1 import Service

from apis.serving.v1beta1.configmap import (
    InferenceServicesConfig,
    IngressConfig,
    parse_inferenceservice_config,
)
from apis.serving.v1beta1.inference_service import InferenceService
from controllers.reconcilers.ingress.domain import IngressError
from controllers.reconcilers.ingress.httproute import (
    DEFAULT_TIMEOUT,
    EXPLAIN_PREFIX,
    HTTPROUTE_NOT_READY,
    HTTPROUTE_PARENT_STATUS_NOT_AVAILABLE,
    add_isvc_headers,
    apply_canary_weights,
    create_httproute_match,
    create_httproute_rule,
    create_raw_explainer_httproute,
    create_raw_predictor_httproute,
    create_raw_top_level_httproute,
    create_raw_transformer_httproute,
    desired_httproutes,
    detect_service_protocol_ports,
    httproute_checks,
    httproute_routing_status,
    httproutes_ingress_condition,
    is_httproute_ready,
    resolve_timeout,
)

UID = "0f5c0e57-0000-4000-8000-000000000001"
OWNER = {
    "apiVersion": "serving.kserve.io/v1beta1",
    "kind": "InferenceService",
    "name": "test-isvc",
    "uid": UID,
    "controller": True,
    "blockOwnerDeletion": True,
}
HEADERS = {
    "type": "RequestHeaderModifier",
    "requestHeaderModifier": {
        "set": [
            {"name": "KServe-Isvc-Name", "value": "test-isvc"},
            {"name": "KServe-Isvc-Namespace", "value": "default"},
        ]
    },
}
PARENT = {
    "group": "gateway.networking.k8s.io",
    "kind": "Gateway",
    "namespace": "kserve",
    "name": "kserve-gateway",
}


def ingress_config(**extra: Any) -> IngressConfig:
    return IngressConfig.model_validate(
        {
            "ingressDomain": "example.com",
            "urlScheme": "http",
            "domainTemplate": "{{.Name}}-{{.Namespace}}.{{.IngressDomain}}",
            "kserveIngressGateway": "kserve/kserve-gateway",
            "additionalIngressDomains": ["additional.example.com"],
            "enableGatewayApi": True,
            **extra,
        }
    )


ISVC_CONFIG = InferenceServicesConfig.model_validate(
    {"serviceAnnotationDisallowedList": [], "serviceLabelDisallowedList": []}
)


def make_isvc(
    spec: dict[str, Any] | None = None,
    ready: tuple[str, ...] = ("PredictorReady",),
    not_ready: tuple[str, ...] = (),
    *,
    name: str = "test-isvc",
    labels: dict[str, str] | None = None,
    annotations: dict[str, str] | None = None,
    canary_statuses: list[dict[str, Any]] | None = None,
) -> InferenceService:
    conds = [{"type": t, "status": "True"} for t in ready]
    conds += [{"type": t, "status": "False"} for t in not_ready]
    meta: dict[str, Any] = {"name": name, "namespace": "default", "uid": UID}
    if labels:
        meta["labels"] = labels
    if annotations:
        meta["annotations"] = annotations
    status: dict[str, Any] = {"conditions": conds}
    if canary_statuses is not None:
        status["canaryStatuses"] = canary_statuses
    return InferenceService.model_validate(
        {"metadata": meta, "spec": spec or {"predictor": {}}, "status": status}
    )


def rule(
    regex: str, service: str, *, port: int = 80, timeout: str | None = "60s",
    ns: str = "default",
) -> dict[str, Any]:
    r: dict[str, Any] = {
        "matches": [{"path": {"type": "RegularExpression", "value": regex}}],
        "filters": [HEADERS],
        "backendRefs": [{"kind": "Service", "name": service, "namespace": ns, "port": port}],
    }
    if timeout is not None:
        r["timeouts"] = {"request": timeout}
    return r


def route(name: str, hosts: list[str], rules: list[dict[str, Any]], **meta: Any) -> dict[str, Any]:
    return {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "HTTPRoute",
        "metadata": {"name": name, "namespace": "default", **meta, "ownerReferences": [OWNER]},
        "spec": {"parentRefs": [PARENT], "hostnames": hosts, "rules": rules},
    }


TOP_HOSTS = ["test-isvc-default.example.com", "test-isvc-default.additional.example.com"]

# ---------------------------------------------------------------------------------------------
# TestCreateRawTopLevelHTTPRoute (8 cases)
# ---------------------------------------------------------------------------------------------

PREDICTOR_READY_ROUTE = {
    "apiVersion": "gateway.networking.k8s.io/v1",
    "kind": "HTTPRoute",
    "metadata": {
        "name": "test-isvc",
        "namespace": "default",
        "ownerReferences": [
            {
                "apiVersion": "serving.kserve.io/v1beta1",
                "kind": "InferenceService",
                "name": "test-isvc",
                "uid": UID,
                "controller": True,
                "blockOwnerDeletion": True,
            }
        ],
    },
    "spec": {
        "parentRefs": [
            {
                "group": "gateway.networking.k8s.io",
                "kind": "Gateway",
                "namespace": "kserve",
                "name": "kserve-gateway",
            }
        ],
        "hostnames": ["test-isvc-default.example.com", "test-isvc-default.additional.example.com"],
        "rules": [
            {
                "matches": [{"path": {"type": "RegularExpression", "value": "^/.*$"}}],
                "filters": [
                    {
                        "type": "RequestHeaderModifier",
                        "requestHeaderModifier": {
                            "set": [
                                {"name": "KServe-Isvc-Name", "value": "test-isvc"},
                                {"name": "KServe-Isvc-Namespace", "value": "default"},
                            ]
                        },
                    }
                ],
                "backendRefs": [
                    {"kind": "Service", "name": "test-isvc-predictor", "namespace": "default",
                     "port": 80}
                ],
                "timeouts": {"request": "60s"},
            }
        ],
    },
}

PATH_CFG = {"pathTemplate": "/serving/{{ .Namespace }}/{{ .Name }}"}

TOP_LEVEL_CASES: list[tuple[str, dict[str, Any], tuple[str, ...], tuple[str, ...],
                            dict[str, Any], dict[str, Any] | None, str | None]] = [
    ("Predictor ready", {"predictor": {}}, ("PredictorReady",), (), {},
     PREDICTOR_READY_ROUTE, None),
    ("When predictor not ready, httproute should not be created", {"predictor": {}}, (),
     ("PredictorReady",), {}, None, "Predictor ingress not created"),
    ("With transformer ready", {"predictor": {}, "transformer": {}},
     ("TransformerReady", "PredictorReady"), (), {},
     route("test-isvc", TOP_HOSTS, [rule("^/.*$", "test-isvc-transformer")]), None),
    ("When transformer not ready, httproute should not be created",
     {"predictor": {}, "transformer": {}}, ("PredictorReady",), ("TransformerReady",), {},
     None, "Transformer ingress not created"),
    ("With explainer ready", {"predictor": {}, "explainer": {}},
     ("ExplainerReady", "PredictorReady"), (), {},
     route("test-isvc", TOP_HOSTS, [rule(EXPLAIN_PREFIX, "test-isvc-explainer"),
                                    rule("^/.*$", "test-isvc-predictor")]), None),
    ("When explainer not ready, httproute should not be created",
     {"predictor": {}, "explainer": {}}, ("PredictorReady",), ("ExplainerReady",), {},
     None, "Explainer ingress not created"),
    ("Path based routing with explainer", {"predictor": {}, "explainer": {}},
     ("ExplainerReady", "PredictorReady"), (), PATH_CFG,
     route("test-isvc", [*TOP_HOSTS, "example.com"], [
         rule(EXPLAIN_PREFIX, "test-isvc-explainer"),
         rule("^/.*$", "test-isvc-predictor"),
         rule("/serving/default/test-isvc(/v1/models/[\\w-]+:explain)$", "test-isvc-explainer"),
         rule("/serving/default/test-isvc/", "test-isvc-predictor"),
     ]), None),
    ("Path based routing with transformer", {"predictor": {}, "transformer": {}},
     ("TransformerReady", "PredictorReady"), (), PATH_CFG,
     route("test-isvc", [*TOP_HOSTS, "example.com"], [
         rule("^/.*$", "test-isvc-transformer"),
         rule("/serving/default/test-isvc/", "test-isvc-transformer"),
     ]), None),
]


@pytest.mark.parametrize(
    ("case", "spec", "ready", "not_ready", "cfg", "want", "reason"),
    TOP_LEVEL_CASES,
    ids=[c[0] for c in TOP_LEVEL_CASES],
)
def test_create_raw_top_level_httproute(
    case: str,
    spec: dict[str, Any],
    ready: tuple[str, ...],
    not_ready: tuple[str, ...],
    cfg: dict[str, Any],
    want: dict[str, Any] | None,
    reason: str | None,
) -> None:
    result = create_raw_top_level_httproute(
        make_isvc(spec, ready, not_ready), ingress_config(**cfg), ISVC_CONFIG
    )
    assert result.route == want
    if reason is None:
        assert result.condition is None
    else:
        assert result.condition is not None
        assert result.condition.model_dump(by_alias=True, exclude_none=True) == {
            "type": "IngressReady", "status": "False", "reason": reason,
        }


# ---------------------------------------------------------------------------------------------
# component routes (TestCreateRaw{Predictor,Transformer,Explainer}HTTPRoute)
# ---------------------------------------------------------------------------------------------

COMPONENT_CASES = [
    ("predictor ready", create_raw_predictor_httproute, {"predictor": {}}, ("PredictorReady",),
     route("test-isvc-predictor", ["test-isvc-predictor-default.example.com"],
           [rule("^/.*$", "test-isvc-predictor")]), None),
    ("predictor not ready", create_raw_predictor_httproute, {"predictor": {}}, (), None,
     "Predictor ingress not created"),
    ("transformer ready", create_raw_transformer_httproute, {"predictor": {}, "transformer": {}},
     ("PredictorReady", "TransformerReady"),
     route("test-isvc-transformer", ["test-isvc-transformer-default.example.com"],
           [rule("^/.*$", "test-isvc-transformer")]), None),
    ("transformer not ready", create_raw_transformer_httproute,
     {"predictor": {}, "transformer": {}}, ("PredictorReady",), None,
     "Transformer ingress not created"),
    ("explainer ready", create_raw_explainer_httproute, {"predictor": {}, "explainer": {}},
     ("PredictorReady", "ExplainerReady"),
     route("test-isvc-explainer", ["test-isvc-explainer-default.example.com"],
           [rule("^/.*$", "test-isvc-explainer")]), None),
    ("explainer not ready", create_raw_explainer_httproute, {"predictor": {}, "explainer": {}},
     ("PredictorReady",), None, "Explainer ingress not created"),
    # the route keeps its stable name and host when predictor.name is set; the backend moves
    ("named predictor", create_raw_predictor_httproute,
     {"predictor": {"name": "blue", "timeout": 120}}, ("PredictorReady",),
     route("test-isvc-predictor", ["test-isvc-predictor-default.example.com"],
           [rule("^/.*$", "test-isvc-blue-predictor", timeout="120s")]), None),
]


@pytest.mark.parametrize(
    ("case", "build", "spec", "ready", "want", "reason"),
    COMPONENT_CASES,
    ids=[c[0] for c in COMPONENT_CASES],
)
def test_component_httproutes(
    case: str, build: Any, spec: dict[str, Any], ready: tuple[str, ...],
    want: dict[str, Any] | None, reason: str | None,
) -> None:
    result = build(make_isvc(spec, ready), ingress_config(), ISVC_CONFIG)
    assert result.route == want
    assert (result.condition.reason if result.condition else None) == reason


def _service(ports: list[dict[str, Any]], headless: bool = False) -> Service:
    spec: dict[str, Any] = {"ports": ports}
    if headless:
        spec["clusterIP"] = "None"
    svc = Service.from_dict({"metadata": {"name": "x", "namespace": "default"}, "spec": spec})
    assert isinstance(svc, Service)
    return svc


DUAL = _service([
    {"name": "http", "port": 80, "targetPort": 8080},
    {"name": "grpc-port", "port": 81, "targetPort": 8081, "appProtocol": "kubernetes.io/h2c"},
])


def grpc_rule(service: str, port: int, timeout: str = "60s") -> dict[str, Any]:
    return {
        "matches": [
            {
                "path": {"type": "RegularExpression",
                         "value": "^/inference\\.GRPCInferenceService/.*$"},
                "headers": [{"type": "RegularExpression", "name": "content-type",
                             "value": "^application/grpc.*"}],
            }
        ],
        "filters": [HEADERS],
        "backendRefs": [{"kind": "Service", "name": service, "namespace": "default",
                         "port": port}],
        "timeouts": {"request": timeout},
    }


def test_dual_protocol_service_gets_grpc_rule_first() -> None:
    isvc = make_isvc({"predictor": {}, "transformer": {"timeout": 5}},
                     ("PredictorReady", "TransformerReady"))
    services = {"test-isvc-predictor": DUAL, "test-isvc-transformer": DUAL}
    cfg = ingress_config()
    assert create_raw_predictor_httproute(isvc, cfg, ISVC_CONFIG, services).route == route(
        "test-isvc-predictor", ["test-isvc-predictor-default.example.com"],
        [grpc_rule("test-isvc-predictor", 81), rule("^/.*$", "test-isvc-predictor", port=80)],
    )
    # the top level follows the transformer's Service (its timeout too)
    assert create_raw_top_level_httproute(isvc, cfg, ISVC_CONFIG, services).route == route(
        "test-isvc", TOP_HOSTS,
        [grpc_rule("test-isvc-transformer", 81, "5s"),
         rule("^/.*$", "test-isvc-transformer", port=80, timeout="5s")],
    )


@pytest.mark.parametrize(
    ("ports", "want"),
    [
        ([], (0, 0)),
        ([{"name": "http", "port": 80}], (80, 0)),
        ([{"name": "grpc", "port": 9000}], (0, 9000)),
        ([{"name": "H2C-x", "port": 9000}, {"name": "a", "port": 80}, {"name": "b", "port": 81}],
         (80, 9000)),
        ([{"name": "p", "port": 9000, "appProtocol": "kubernetes.io/h2c"},
          {"name": "grpc2", "port": 9001}, {"port": 8080}], (8080, 9000)),
    ],
)
def test_detect_service_protocol_ports(ports: list[dict[str, Any]], want: tuple[int, int]) -> None:
    assert detect_service_protocol_ports(_service(ports)) == want
    assert detect_service_protocol_ports(None) == (0, 0)


def test_route_metadata_filters_disallowed_labels_and_annotations() -> None:
    cfg = parse_inferenceservice_config(
        {"inferenceService": '{"serviceLabelDisallowedList": ["drop-me"]}'}
    ).inference_service
    isvc = make_isvc(
        labels={"team": "a", "drop-me": "x", "networking.knative.dev/visibility": "y"},
        annotations={"note": "b", "kubectl.kubernetes.io/last-applied-configuration": "{}"},
    )
    got = create_raw_predictor_httproute(isvc, ingress_config(), cfg).route
    assert got is not None
    assert got["metadata"] == {
        "name": "test-isvc-predictor",
        "namespace": "default",
        "labels": {"team": "a"},
        "annotations": {"note": "b"},
        "ownerReferences": [OWNER],
    }
    # without the inferenceService key nothing is filtered (upstream: no built-in list then)
    got = create_raw_predictor_httproute(isvc, ingress_config(), InferenceServicesConfig()).route
    assert got is not None
    assert got["metadata"]["labels"] == {
        "team": "a", "drop-me": "x", "networking.knative.dev/visibility": "y"
    }


def test_build_errors_name_the_problem() -> None:
    isvc = make_isvc()
    with pytest.raises(IngressError) as e:
        create_raw_predictor_httproute(
            isvc, ingress_config(domainTemplate="{{.Name}}_{{.Namespace}}"), ISVC_CONFIG
        )
    assert str(e.value).startswith(
        'failed to generate predictor ingress host: invalid domain name "test-isvc-predictor_'
        'default": url: Invalid value'
    )
    with pytest.raises(IngressError) as e:
        create_raw_top_level_httproute(
            isvc, ingress_config(pathTemplate="http://h/{{ .Name }}"), ISVC_CONFIG
        )
    assert str(e.value) == (
        'failed to generate URL from pathTemplate: invalid url path "http://h/test-isvc": '
        "contains either a scheme or a host"
    )
    with pytest.raises(IngressError, match="kserveIngressGateway"):
        create_raw_predictor_httproute(
            isvc, ingress_config(kserveIngressGateway="no-slash"), ISVC_CONFIG
        )


# ---------------------------------------------------------------------------------------------
# small pieces (TestCreateHTTPRouteMatch, TestAddIsvcHeaders, TestCreateHTTPRouteRule,
# TestResolveTimeout, TestCreateHTTPRouteRuleNilTimeout)
# ---------------------------------------------------------------------------------------------


def test_pieces() -> None:
    assert create_httproute_match("^.*$") == {
        "path": {"type": "RegularExpression", "value": "^.*$"}
    }
    assert add_isvc_headers("test-isvc", "default") == HEADERS
    matches = [create_httproute_match("/predict")]
    assert create_httproute_rule(
        matches, [add_isvc_headers("test-isvc", "default")], "test-service", "default", 80,
        DEFAULT_TIMEOUT,
    ) == {
        "matches": [{"path": {"type": "RegularExpression", "value": "/predict"}}],
        "filters": [HEADERS],
        "backendRefs": [{"kind": "Service", "name": "test-service", "namespace": "default",
                         "port": 80}],
        "timeouts": {"request": "60s"},
    }
    nil_timeout = create_httproute_rule(matches, [], "test-service", "default", 80, None)
    assert "timeouts" not in nil_timeout
    assert "backendRefs" not in create_httproute_rule(matches, [], "", "default", 80, None)


@pytest.mark.parametrize(
    ("disable", "seconds", "want"),
    [(False, None, "60s"), (False, 120, "120s"), (True, None, None), (True, 120, None)],
    ids=[
        "default timeout when not disabled and no override",
        "custom timeout when not disabled",
        "nil timeout when disabled and no override",
        "nil timeout when disabled even with override",
    ],
)
def test_resolve_timeout(disable: bool, seconds: int | None, want: str | None) -> None:
    assert resolve_timeout(disable, seconds) == want


@pytest.mark.parametrize("disable", [True, False])
def test_predictor_route_disable_timeout(disable: bool) -> None:
    got = create_raw_predictor_httproute(
        make_isvc(), ingress_config(disableHTTPRouteTimeout=disable), ISVC_CONFIG
    ).route
    assert got == route(
        "test-isvc-predictor", ["test-isvc-predictor-default.example.com"],
        [rule("^/.*$", "test-isvc-predictor", timeout=None if disable else "60s")],
    )


# ---------------------------------------------------------------------------------------------
# TestIsHTTPRouteReady (6)
# ---------------------------------------------------------------------------------------------


def _parents(*conds: list[tuple[str, str, str, str]]) -> dict[str, Any]:
    return {
        "parents": [
            {"conditions": [{"type": t, "status": s, "reason": r, "message": m}
                            for t, s, r, m in c]}
            for c in conds
        ]
    }


READY_CASES = [
    ("route accepted",
     _parents([("Accepted", "True", "", ""), ("ResolvedRefs", "True", "", "")]),
     (True, None, None)),
    ("route not accepted",
     _parents([("Accepted", "False", "Route not accepted", "Route not accepted"),
               ("ResolvedRefs", "True", "", "")]),
     (False, "Route not accepted", "Route not accepted")),
    ("no parent status", {"parents": []},
     (False, HTTPROUTE_PARENT_STATUS_NOT_AVAILABLE, HTTPROUTE_NOT_READY)),
    ("resolved refs not ready",
     _parents([("Accepted", "True", "", ""),
               ("ResolvedRefs", "False", "BackendNotFound", "Backend service not found")]),
     (False, "BackendNotFound", "Backend service not found")),
    ("multiple parents with one not ready",
     _parents([("Accepted", "True", "", ""), ("ResolvedRefs", "True", "", "")],
              [("Accepted", "False", "GatewayNotFound", "Gateway not found")]),
     (False, "GatewayNotFound", "Gateway not found")),
    ("both accepted and resolved refs false",
     _parents([("Accepted", "False", "NotAccepted", "Route not accepted"),
               ("ResolvedRefs", "False", "BackendNotFound", "Backend not found")]),
     (False, "NotAccepted", "Route not accepted")),
]


@pytest.mark.parametrize(("case", "status", "want"), READY_CASES, ids=[c[0] for c in READY_CASES])
def test_is_httproute_ready(case: str, status: dict[str, Any], want: tuple[Any, ...]) -> None:
    assert is_httproute_ready(status) == want


def test_is_httproute_ready_without_status() -> None:
    assert is_httproute_ready(None) == (False, "ParentStatusNotAvailable", "HttpRouteNotReady")


# ---------------------------------------------------------------------------------------------
# TestApplyCanaryWeights (7) and canaries in the built routes
# ---------------------------------------------------------------------------------------------


def _canary_isvc(canaries: list[tuple[str, int]], statuses: list[tuple[str, bool]] | None,
                 spec: dict[str, Any] | None = None,
                 ready: tuple[str, ...] = ("PredictorReady",)) -> InferenceService:
    base = dict(spec or {"predictor": {}})
    base["canary"] = [{"trafficPercent": p, "predictor": {"name": n}} for n, p in canaries]
    return make_isvc(
        base, ready, name="my-model",
        canary_statuses=None if statuses is None else [
            {"name": n, "ready": r, "trafficPercent": 0} for n, r in statuses
        ],
    )


def _backend(name: str, port: int = 80, weight: int | None = None, **extra: Any) -> dict[str, Any]:
    ref: dict[str, Any] = {**extra, "name": name, "port": port}
    if weight is not None:
        ref["weight"] = weight
    return ref


def _rules_route(*rules: list[dict[str, Any]]) -> dict[str, Any]:
    return {"spec": {"rules": [{"backendRefs": r} if r else {} for r in rules]}}


CANARY_CASES: list[tuple[str, list[tuple[str, int]], list[tuple[str, bool]] | None,
                         dict[str, Any], dict[str, Any]]] = [
    (
        "single canary ready", [("v2", 20)], [("v2", True)],
        _rules_route([_backend("my-model-predictor", kind="Service", namespace="default")]),
        _rules_route([
            _backend("my-model-predictor", weight=80, kind="Service", namespace="default"),
            {"kind": "Service", "name": "my-model-v2-predictor", "namespace": "default",
             "port": 80, "weight": 20},
        ]),
    ),
    (
        "multiple canaries all ready", [("v2", 20), ("v3", 30)], [("v2", True), ("v3", True)],
        _rules_route([_backend("my-model-predictor", kind="Service")]),
        _rules_route([
            _backend("my-model-predictor", weight=50, kind="Service"),
            {"kind": "Service", "name": "my-model-v2-predictor", "port": 80, "weight": 20},
            {"kind": "Service", "name": "my-model-v3-predictor", "port": 80, "weight": 30},
        ]),
    ),
    (
        "dual-protocol rules all ready", [("v2", 25)], [("v2", True)],
        _rules_route([_backend("my-model-predictor", 9090)], [_backend("my-model-predictor")]),
        _rules_route(
            [_backend("my-model-predictor", 9090, 75),
             {"name": "my-model-v2-predictor", "port": 9090, "weight": 25}],
            [_backend("my-model-predictor", 80, 75),
             {"name": "my-model-v2-predictor", "port": 80, "weight": 25}],
        ),
    ),
    ("skips rules with no backends", [("v2", 10)], [("v2", True)], _rules_route([]),
     _rules_route([])),
    (
        "canary not ready - excluded from backends", [("v2", 20)], [("v2", False)],
        _rules_route([_backend("my-model-predictor", kind="Service")]),
        _rules_route([_backend("my-model-predictor", weight=100, kind="Service")]),
    ),
    (
        "mixed readiness - only ready canary gets traffic", [("v2", 20), ("v3", 30)],
        [("v2", True), ("v3", False)],
        _rules_route([_backend("my-model-predictor", kind="Service")]),
        _rules_route([
            _backend("my-model-predictor", weight=80, kind="Service"),
            {"kind": "Service", "name": "my-model-v2-predictor", "port": 80, "weight": 20},
        ]),
    ),
    (
        "no canary statuses - all canaries excluded", [("v2", 20)], None,
        _rules_route([_backend("my-model-predictor", kind="Service")]),
        _rules_route([_backend("my-model-predictor", weight=100, kind="Service")]),
    ),
]


@pytest.mark.parametrize(("case", "canaries", "statuses", "given", "want"), CANARY_CASES,
                         ids=[c[0] for c in CANARY_CASES])
def test_apply_canary_weights(
    case: str, canaries: list[tuple[str, int]], statuses: list[tuple[str, bool]] | None,
    given: dict[str, Any], want: dict[str, Any],
) -> None:
    before = copy.deepcopy(given)
    assert apply_canary_weights(_canary_isvc(canaries, statuses), given) == want
    assert given == before  # pure: the input route is not modified


def _weighted(service: str, weight: int) -> dict[str, Any]:
    return {"kind": "Service", "name": service, "namespace": "default", "port": 80,
            "weight": weight}


def test_canary_weights_in_built_routes() -> None:
    isvc = _canary_isvc([("v2", 30)], [("v2", True)],
                        {"predictor": {"name": "v1"}, "explainer": {}},
                        ("PredictorReady", "ExplainerReady"))
    cfg = ingress_config(additionalIngressDomains=[])
    owner = {**OWNER, "name": "my-model"}
    headers: dict[str, Any] = copy.deepcopy(HEADERS)
    headers["requestHeaderModifier"]["set"][0]["value"] = "my-model"
    weighted_rule = rule("^/.*$", "my-model-v1-predictor")
    weighted_rule["filters"] = [headers]
    weighted_rule["backendRefs"] = [_weighted("my-model-v1-predictor", 70),
                                    _weighted("my-model-v2-predictor", 30)]
    explain = rule(EXPLAIN_PREFIX, "my-model-explainer")
    explain["filters"] = [headers]
    assert create_raw_top_level_httproute(isvc, cfg, ISVC_CONFIG).route == {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "HTTPRoute",
        "metadata": {"name": "my-model", "namespace": "default", "ownerReferences": [owner]},
        "spec": {
            "parentRefs": [PARENT],
            "hostnames": ["my-model-default.example.com"],
            # deliberate fix: the :explain rule is not split onto the predictor canary
            "rules": [explain, weighted_rule],
        },
    }
    predictor = create_raw_predictor_httproute(isvc, cfg, ISVC_CONFIG).route
    assert predictor is not None
    assert predictor["metadata"]["name"] == "my-model-predictor"
    assert predictor["spec"]["rules"] == [weighted_rule]


# ---------------------------------------------------------------------------------------------
# the reconcile's decisions (TestRawHTTPRouteReconciler_Reconcile)
# ---------------------------------------------------------------------------------------------

READY_STATUS = _parents([("Accepted", "True", "", ""), ("ResolvedRefs", "True", "", "")])


def _observed(names: list[str], status: dict[str, Any] | None = None) -> dict[str, Any]:
    return {n: {"metadata": {"name": n}, "status": status or READY_STATUS} for n in names}


STATUS_CASES: list[tuple[str, dict[str, Any], dict[str, Any], tuple[str, str | None, str | None],
                         float | None]] = [
    ("route not found", {"predictor": {}}, {},
     ("False", "Predictor Deployment NotReady", "Predictor HTTPRoute not created"), 1.0),
    ("new route without parent status", {"predictor": {}},
     {"test-isvc-predictor": {"metadata": {}}},
     ("False", "ParentStatusNotAvailable", "Predictor HttpRouteNotReady"), 1.0),
    ("predictor route not accepted", {"predictor": {}},
     _observed(["test-isvc-predictor", "test-isvc"],
               _parents([("Accepted", "False", "NotAccepted", "Route not accepted")])),
     ("False", "NotAccepted", "Predictor Route not accepted"), 1.0),
    ("transformer route not ready", {"predictor": {}, "transformer": {}},
     {**_observed(["test-isvc-predictor", "test-isvc"]),
      **_observed(["test-isvc-transformer"], _parents(
          [("ResolvedRefs", "False", "BackendNotFound", "backend missing")]))},
     ("False", "BackendNotFound", "Transformer backend missing"), 1.0),
    ("explainer route not ready", {"predictor": {}, "explainer": {}},
     {**_observed(["test-isvc-predictor", "test-isvc"]),
      **_observed(["test-isvc-explainer"], _parents(
          [("Accepted", "False", "UnsupportedProtocol", "no")]))},
     ("False", "UnsupportedProtocol", "Explainer no"), 1.0),
    ("top-level route not ready", {"predictor": {}},
     {**_observed(["test-isvc-predictor"]),
      **_observed(["test-isvc"], _parents([("Accepted", "False", "InvalidKind", "bad kind")]))},
     ("False", "InvalidKind", "InferenceService bad kind"), 1.0),
    ("all routes ready", {"predictor": {}, "transformer": {}, "explainer": {}},
     _observed(["test-isvc-predictor", "test-isvc-transformer", "test-isvc-explainer",
                "test-isvc"]),
     ("True", None, None), None),
    ("explainer route missing", {"predictor": {}, "explainer": {}},
     _observed(["test-isvc-predictor", "test-isvc"]),
     ("False", "Explainer Deployment NotReady", "Explainer HTTPRoute not created"), 1.0),
]


@pytest.mark.parametrize(("case", "spec", "observed", "want", "requeue"), STATUS_CASES,
                         ids=[c[0] for c in STATUS_CASES])
def test_httproutes_ingress_condition(
    case: str, spec: dict[str, Any], observed: dict[str, Any],
    want: tuple[str, str | None, str | None], requeue: float | None,
) -> None:
    cond, after = httproutes_ingress_condition(make_isvc(spec), observed)
    assert (cond.type, cond.status, cond.reason, cond.message) == ("IngressReady", *want)
    assert after == requeue


def test_httproute_checks_order() -> None:
    isvc = make_isvc({"predictor": {"name": "v9"}, "transformer": {}, "explainer": {}})
    assert httproute_checks(isvc) == [
        ("test-isvc-predictor", "Predictor"),
        ("test-isvc-transformer", "Transformer"),
        ("test-isvc-explainer", "Explainer"),
        ("test-isvc", "InferenceService"),
    ]


def test_desired_httproutes() -> None:
    cfg = ingress_config(additionalIngressDomains=[])
    spec: dict[str, Any] = {"predictor": {}, "transformer": {}, "explainer": {}}
    all_ready = make_isvc(spec, ("PredictorReady", "TransformerReady", "ExplainerReady"))
    got = desired_httproutes(all_ready, cfg, ISVC_CONFIG)
    assert list(got.routes) == [
        "test-isvc-predictor", "test-isvc-transformer", "test-isvc-explainer", "test-isvc"
    ]
    assert got.routes["test-isvc"] == route(
        "test-isvc", ["test-isvc-default.example.com"],
        [rule(EXPLAIN_PREFIX, "test-isvc-explainer"), rule("^/.*$", "test-isvc-transformer")],
    )
    assert got.condition is None
    # predictor Ready, transformer not: predictor and explainer routes, the last builder's
    # condition (the top level checks the explainer before the transformer)
    partial = make_isvc(spec, ("PredictorReady", "ExplainerReady"), ("TransformerReady",))
    got = desired_httproutes(partial, cfg, ISVC_CONFIG)
    assert list(got.routes) == ["test-isvc-predictor", "test-isvc-explainer"]
    assert got.condition is not None and got.condition.reason == "Transformer ingress not created"
    nothing = desired_httproutes(make_isvc(spec, ()), cfg, ISVC_CONFIG)
    assert nothing.routes == {}
    assert nothing.condition is not None
    assert nothing.condition.reason == "Predictor ingress not created"


# ---------------------------------------------------------------------------------------------
# httproute_routing_status: the status half of Reconcile
# ---------------------------------------------------------------------------------------------

PREDICTOR_SVC = Service(
    metadata=ObjectMeta(name="test-isvc-predictor", namespace="default"),
    spec=ServiceSpec(clusterIP="10.0.0.1"),
)


@pytest.mark.parametrize(
    ("case", "labels", "extra", "observed", "want"),
    [
        ("cluster-local label: no routes needed",
         {"networking.kserve.io/visibility": "cluster-local"}, {}, {},
         (("True", None, None), "http://test-isvc-default.example.com",
          "http://test-isvc-predictor.default.svc.cluster.local", None)),
        ("cluster-local domain", None, {"ingressDomain": "svc.cluster.local"}, {},
         (("True", None, None), "http://test-isvc-default.svc.cluster.local",
          "http://test-isvc-predictor.default.svc.cluster.local", None)),
        ("creation disabled", None, {"disableIngressCreation": True}, {},
         (("True", None, None), "http://test-isvc-default.example.com",
          "http://test-isvc-predictor.default.svc.cluster.local", None)),
        ("routes missing: requeue, url/address left alone", None, {}, {},
         (("False", "Predictor Deployment NotReady", "Predictor HTTPRoute not created"),
          None, None, 1.0)),
        ("routes ready", None, {"urlScheme": "https"},
         _observed(["test-isvc-predictor", "test-isvc"]),
         (("True", None, None), "https://test-isvc-default.example.com",
          "http://test-isvc-predictor.default.svc.cluster.local", None)),
    ],
)
def test_httproute_routing_status(
    case: str, labels: dict[str, str] | None, extra: dict[str, Any], observed: dict[str, Any],
    want: tuple[Any, ...],
) -> None:
    isvc = make_isvc(labels=labels)
    got = httproute_routing_status(isvc, ingress_config(**extra), observed, PREDICTOR_SVC)
    c = got.condition
    assert ((c.status, c.reason, c.message), got.url, got.address, got.requeue_after) == want
