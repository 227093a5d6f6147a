"""controllers.reconcilers.ingress.kube_ingress and .status: upstream
``kube_ingress_reconciler_test.go`` (createAddress 6 + transformer, url/address 5 +
transformer, cluster-local) and ``httproute_reconciler_test.go``'s createRawURL /
getRawServiceHost, plus the Ingress object for every component combination."""

from __future__ import annotations

from typing import Any

import pytest
from lightkube.models.meta_v1 import ObjectMeta
from lightkube.resources.core_v1 import Service

from apis.serving.v1beta1.configmap import (
    InferenceServicesConfig,
    IngressConfig,
    parse_inferenceservice_config,
)
from apis.serving.v1beta1.inference_service import InferenceService
from controllers.reconcilers.ingress.domain import IngressError
from controllers.reconcilers.ingress.kube_ingress import (
    create_raw_ingress,
    kube_ingress_routing_status,
)
from controllers.reconcilers.ingress.status import (
    create_address,
    create_component_url,
    create_raw_url,
    entry_service_name,
    get_raw_service_host,
    http_target_port,
    ingress_creation_disabled,
    is_cluster_local,
)

UID = "0f5c0e57-0000-4000-8000-000000000002"
PREDICTOR_HOST = "test-isvc-predictor.default.svc.cluster.local"
TRANSFORMER_HOST = "test-isvc-transformer.default.svc.cluster.local"


def make_isvc(
    spec: dict[str, Any] | None = None,
    ready: tuple[str, ...] = ("PredictorReady",),
    *,
    labels: dict[str, str] | None = None,
    annotations: dict[str, str] | None = None,
) -> InferenceService:
    meta: dict[str, Any] = {"name": "test-isvc", "namespace": "default", "uid": UID}
    if labels:
        meta["labels"] = labels
    if annotations:
        meta["annotations"] = annotations
    return InferenceService.model_validate(
        {
            "metadata": meta,
            "spec": spec or {"predictor": {}},
            "status": {"conditions": [{"type": t, "status": "True"} for t in ready]},
        }
    )


def config(**extra: Any) -> IngressConfig:
    return IngressConfig.model_validate(
        {
            "ingressDomain": "example.com",
            "urlScheme": "http",
            "domainTemplate": "{{.Name}}-{{.Namespace}}.{{.IngressDomain}}",
            **extra,
        }
    )


def service(headless: bool, ports: list[dict[str, Any]] | None = None) -> Service:
    spec: dict[str, Any] = {"clusterIP": "None" if headless else "10.0.0.1"}
    if ports is not None:
        spec["ports"] = ports
    svc = Service.from_dict({"metadata": {"name": "s", "namespace": "default"}, "spec": spec})
    assert isinstance(svc, Service)
    return svc


# ---------------------------------------------------------------------------------------------
# TestCreateAddress (6) + transformer
# ---------------------------------------------------------------------------------------------

ADDRESS_CASES: list[tuple[str, bool, list[dict[str, Any]] | None, str]] = [
    ("ClusterIP service", False, None, PREDICTOR_HOST),
    ("headless service without ports falls back to default port", True, None,
     PREDICTOR_HOST + ":8080"),
    ("headless service uses actual target port from service", True,
     [{"name": "http", "port": 80, "targetPort": 8888, "protocol": "TCP"}],
     PREDICTOR_HOST + ":8888"),
    ("headless service skips grpc port and picks http port", True,
     [{"name": "grpc", "port": 8001, "targetPort": 8001, "protocol": "TCP"},
      {"name": "http", "port": 80, "targetPort": 8888, "protocol": "TCP"}],
     PREDICTOR_HOST + ":8888"),
    ("headless service with named target port falls back to default", True,
     [{"name": "http", "port": 80, "targetPort": "http-serving", "protocol": "TCP"}],
     PREDICTOR_HOST + ":8080"),
    ("headless service skips h2c AppProtocol port and picks http port", True,
     [{"name": "h2c", "port": 8001, "targetPort": 8001, "protocol": "TCP",
       "appProtocol": "kubernetes.io/h2c"},
      {"name": "http", "port": 80, "targetPort": 9000, "protocol": "TCP"}],
     PREDICTOR_HOST + ":9000"),
]


@pytest.mark.parametrize(("case", "headless", "ports", "host"), ADDRESS_CASES,
                         ids=[c[0] for c in ADDRESS_CASES])
def test_create_address(
    case: str, headless: bool, ports: list[dict[str, Any]] | None, host: str
) -> None:
    assert create_address(make_isvc(), service(headless, ports)) == f"http://{host}"


def test_create_address_transformer_and_missing_service() -> None:
    isvc = make_isvc({"predictor": {}, "transformer": {}})
    assert entry_service_name(isvc) == "test-isvc-transformer"
    assert create_address(isvc, service(False)) == f"http://{TRANSFORMER_HOST}"
    with pytest.raises(LookupError) as e:
        create_address(isvc, None)
    assert str(e.value) == (
        'failed to get entry point service test-isvc-transformer: services '
        '"test-isvc-transformer" not found'
    )


@pytest.mark.parametrize(
    ("target", "want"),
    [(8888, "8888"), ("8888", "8888"), ("+42", "42"), ("http", ""), ("8_0", ""), (0, ""),
     (None, "")],
)
def test_http_target_port_int_value(target: Any, want: str) -> None:
    port: dict[str, Any] = {"name": "http", "port": 80}
    if target is not None:
        port["targetPort"] = target
    assert http_target_port(service(True, [port])) == want


# ---------------------------------------------------------------------------------------------
# TestRawIngressReconciler_URLAndAddress (5) + transformer + cluster-local
# ---------------------------------------------------------------------------------------------

URL_CASES: list[tuple[str, bool, list[dict[str, Any]] | None, str, str]] = [
    ("ClusterIP, urlScheme=http", False, None, "http", PREDICTOR_HOST),
    ("ClusterIP, urlScheme=https -- address must still be http", False, None, "https",
     PREDICTOR_HOST),
    ("headless, urlScheme=http", True, None, "http", PREDICTOR_HOST + ":8080"),
    ("headless, urlScheme=https -- address must still be http", True, None, "https",
     PREDICTOR_HOST + ":8080"),
    ("headless with custom target port uses actual container port", True,
     [{"name": "http", "port": 80, "targetPort": 8888, "protocol": "TCP"}], "http",
     PREDICTOR_HOST + ":8888"),
]


@pytest.mark.parametrize(("case", "headless", "ports", "scheme", "host"), URL_CASES,
                         ids=[c[0] for c in URL_CASES])
def test_url_and_address_with_ingress_creation_disabled(
    case: str, headless: bool, ports: list[dict[str, Any]] | None, scheme: str, host: str
) -> None:
    isvc = make_isvc(ready=())
    cfg = config(disableIngressCreation=True, urlScheme=scheme)
    assert ingress_creation_disabled(isvc, cfg)
    assert not is_cluster_local(isvc, cfg)
    assert create_raw_url(isvc, cfg) == f"{scheme}://test-isvc-default.example.com"
    assert create_address(isvc, service(headless, ports)) == f"http://{host}"


def test_url_and_address_transformer() -> None:
    isvc = make_isvc({"predictor": {}, "transformer": {}}, ())
    cfg = config(disableIngressCreation=True)
    assert create_raw_url(isvc, cfg) == "http://test-isvc-default.example.com"
    assert create_address(isvc, service(False)) == f"http://{TRANSFORMER_HOST}"


@pytest.mark.parametrize(
    ("labels", "domain", "disabled", "local"),
    [
        ({"networking.kserve.io/visibility": "cluster-local"}, "example.com", False, True),
        ({"networking.kserve.io/visibility": "exposed"}, "example.com", False, False),
        (None, "svc.cluster.local", False, True),
        (None, "example.com", False, False),
        (None, "example.com", True, False),
    ],
)
def test_cluster_local(
    labels: dict[str, str] | None, domain: str, disabled: bool, local: bool
) -> None:
    isvc = make_isvc(labels=labels)
    cfg = config(ingressDomain=domain, disableIngressCreation=disabled)
    assert is_cluster_local(isvc, cfg) is local
    assert ingress_creation_disabled(isvc, cfg) is (local or disabled)


def test_cluster_local_still_reports_url_and_address() -> None:
    isvc = make_isvc(labels={"networking.kserve.io/visibility": "cluster-local"})
    assert create_raw_url(isvc, config()) == "http://test-isvc-default.example.com"
    assert create_address(isvc, service(False)) == f"http://{PREDICTOR_HOST}"


# TestCreateRawURL, TestGetRawServiceHost


def test_create_raw_url() -> None:
    isvc = make_isvc()
    assert create_raw_url(isvc, config()) == "http://test-isvc-default.example.com"
    with pytest.raises(IngressError, match="url: Required value"):
        create_raw_url(isvc, config(domainTemplate=""))


@pytest.mark.parametrize(
    ("spec", "host"),
    [
        ({"predictor": {}}, PREDICTOR_HOST),
        ({"predictor": {}, "transformer": {}}, TRANSFORMER_HOST),
        ({"predictor": {"name": "blue"}}, "test-isvc-blue-predictor.default.svc.cluster.local"),
    ],
)
def test_get_raw_service_host(spec: dict[str, Any], host: str) -> None:
    assert get_raw_service_host(make_isvc(spec)) == host


def test_create_component_url() -> None:
    meta = ObjectMeta(name="test-isvc-predictor", namespace="default", labels={"team": "x"})
    assert create_component_url(meta, config(urlScheme="https")) == (
        "http://test-isvc-predictor-default.example.com"
    )
    cfg = config(domainTemplate="{{ .Name }}.{{ .Labels.team }}.{{ .IngressDomain }}")
    assert create_component_url(meta, cfg) == "http://test-isvc-predictor.x.example.com"
    with pytest.raises(IngressError) as e:
        create_component_url(meta, config(domainTemplate="{{ .Name }}"))
    assert str(e.value) == (
        'failed creating host name: invalid domain name "test-isvc-predictor": url: Invalid '
        'value: "test-isvc-predictor": should be a domain with at least two segments separated '
        "by dots"
    )


# ---------------------------------------------------------------------------------------------
# the Ingress
# ---------------------------------------------------------------------------------------------


def rule(host: str, svc: str) -> dict[str, Any]:
    return {
        "host": host,
        "http": {
            "paths": [
                {
                    "path": "/",
                    "pathType": "Prefix",
                    "backend": {"service": {"name": svc, "port": {"number": 80}}},
                }
            ]
        },
    }


def ingress(rules: list[dict[str, Any]], **meta: Any) -> dict[str, Any]:
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": {
            "name": "test-isvc",
            "namespace": "default",
            **meta,
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
        "spec": {"ingressClassName": "istio", "rules": rules},
    }


TOP, PRED = "test-isvc-default.example.com", "test-isvc-predictor-default.example.com"
TRANS, EXPL = "test-isvc-transformer-default.example.com", "test-isvc-explainer-default.example.com"

INGRESS_CASES: list[tuple[str, dict[str, Any], tuple[str, ...], dict[str, Any] | None,
                          str | None]] = [
    ("predictor only (V14)", {"predictor": {}}, ("PredictorReady",),
     ingress([rule(TOP, "test-isvc-predictor"), rule(PRED, "test-isvc-predictor")]), None),
    ("named predictor", {"predictor": {"name": "blue"}}, ("PredictorReady",),
     ingress([rule(TOP, "test-isvc-blue-predictor"),
              rule("test-isvc-blue-predictor-default.example.com",
                   "test-isvc-blue-predictor")]), None),
    ("explainer", {"predictor": {}, "explainer": {}}, ("PredictorReady", "ExplainerReady"),
     ingress([rule(TOP, "test-isvc-predictor"), rule(EXPL, "test-isvc-explainer"),
              rule(PRED, "test-isvc-predictor")]), None),
    # quirk 4 fixed: the transformer host reaches the transformer
    ("transformer", {"predictor": {}, "transformer": {}}, ("PredictorReady", "TransformerReady"),
     ingress([rule(TOP, "test-isvc-transformer"), rule(TRANS, "test-isvc-transformer"),
              rule(PRED, "test-isvc-predictor")]), None),
    # quirk 4 fixed: the explainer host is the explainer's own
    ("transformer and explainer", {"predictor": {}, "transformer": {}, "explainer": {}},
     ("PredictorReady", "TransformerReady"),
     ingress([rule(EXPL, "test-isvc-explainer"), rule(TOP, "test-isvc-transformer"),
              rule(TRANS, "test-isvc-transformer"), rule(PRED, "test-isvc-predictor")]), None),
    ("predictor not ready", {"predictor": {}}, (), None, "Predictor ingress not created"),
    ("transformer not ready", {"predictor": {}, "transformer": {}}, ("PredictorReady",), None,
     "Transformer ingress not created"),
    ("explainer not ready", {"predictor": {}, "explainer": {}}, ("PredictorReady",), None,
     "Explainer ingress not created"),
]


@pytest.mark.parametrize(("case", "spec", "ready", "want", "reason"), INGRESS_CASES,
                         ids=[c[0] for c in INGRESS_CASES])
def test_create_raw_ingress(
    case: str, spec: dict[str, Any], ready: tuple[str, ...], want: dict[str, Any] | None,
    reason: str | None,
) -> None:
    result = create_raw_ingress(
        make_isvc(spec, ready), config(ingressClassName="istio"), InferenceServicesConfig()
    )
    assert (result.ingress.to_dict() if result.ingress else None) == want
    if reason is None:
        assert result.condition is None
    else:
        assert result.condition is not None
        assert (result.condition.type, result.condition.status, result.condition.reason) == (
            "IngressReady", "False", reason
        )


def test_ingress_annotations_and_class() -> None:
    isvc = make_isvc(
        labels={"team": "a"},
        annotations={
            "nginx.ingress.kubernetes.io/rewrite-target": "/",
            "kubectl.kubernetes.io/last-applied-configuration": "{}",
        },
    )
    isvc_config = parse_inferenceservice_config({"inferenceService": "{}"}).inference_service
    got = create_raw_ingress(isvc, config(), isvc_config).ingress
    assert got is not None
    d = got.to_dict()
    # no labels (as upstream); annotations minus the disallowed list (a deliberate fix)
    assert d["metadata"]["annotations"] == {"nginx.ingress.kubernetes.io/rewrite-target": "/"}
    assert "labels" not in d["metadata"]
    assert "ingressClassName" not in d["spec"]  # not configured: omitted


def test_ingress_host_error() -> None:
    with pytest.raises(IngressError) as e:
        create_raw_ingress(make_isvc(), config(domainTemplate="{{ .Nope }}.x"),
                           InferenceServicesConfig())
    assert str(e.value).startswith(
        "failed creating top level predictor ingress host: error rendering the domain template: "
    )


@pytest.mark.parametrize(
    ("case", "ready", "extra", "build", "want"),
    [
        ("predictor not ready: its condition, url/address left alone", (), {}, True,
         (("False", "Predictor ingress not created"), None, None)),
        ("ingress built", ("PredictorReady",), {"urlScheme": "https"}, True,
         (("True", None), "https://test-isvc-default.example.com", f"http://{PREDICTOR_HOST}")),
        ("creation disabled: nothing built, ready anyway", (), {"disableIngressCreation": True},
         False, (("True", None), "http://test-isvc-default.example.com",
                 f"http://{PREDICTOR_HOST}")),
    ],
)
def test_kube_ingress_routing_status(
    case: str, ready: tuple[str, ...], extra: dict[str, Any], build: bool,
    want: tuple[Any, ...],
) -> None:
    isvc = make_isvc(ready=ready)
    cfg = config(**extra)
    built = create_raw_ingress(isvc, cfg, InferenceServicesConfig()) if build else None
    got = kube_ingress_routing_status(isvc, cfg, built, service(False))
    c = got.condition
    assert ((c.status, c.reason), got.url, got.address) == want
    assert got.requeue_after is None
