"""config/webhook: the same configurations as upstream KServe's config/webhook (names, paths,
failurePolicy, sideEffects, admissionReviewVersions, rules, selectors, reinvocationPolicy),
and every path they name is one the manager's webhook server serves."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from controllers.webhooks.registration import (
    MUTATING_CONFIGURATIONS,
    VALIDATING_CONFIGURATIONS,
    setup_webhooks,
)
from runtime.webhook import WebhookServer

ROOT = Path(__file__).resolve().parents[2]
WEBHOOK = ROOT / "config" / "webhook"

# upstream config/webhook/manifests.yaml and config/webhook/localmodel/manifests.yaml:
# (configuration kind, configuration name, webhook name, path, group, version, operations,
#  resources); the LocalModelNamespaceCache one is ours (upstream ships no configuration)
UPSTREAM = [
    ("MutatingWebhookConfiguration", "inferenceservice.serving.kserve.io",
     "inferenceservice.kserve-webhook-server.defaulter",
     "/mutate-serving-kserve-io-v1beta1-inferenceservice", "serving.kserve.io", "v1beta1",
     ["CREATE", "UPDATE"], ["inferenceservices"]),
    ("MutatingWebhookConfiguration", "inferenceservice.serving.kserve.io",
     "inferenceservice.kserve-webhook-server.pod-mutator", "/mutate-pods", "", "v1",
     ["CREATE"], ["pods"]),
    ("ValidatingWebhookConfiguration", "inferenceservice.serving.kserve.io",
     "inferenceservice.kserve-webhook-server.validator",
     "/validate-serving-kserve-io-v1beta1-inferenceservice", "serving.kserve.io", "v1beta1",
     ["CREATE", "UPDATE"], ["inferenceservices"]),
    ("ValidatingWebhookConfiguration", "trainedmodel.serving.kserve.io",
     "trainedmodel.kserve-webhook-server.validator",
     "/validate-serving-kserve-io-v1alpha1-trainedmodel", "serving.kserve.io", "v1alpha1",
     ["CREATE", "UPDATE"], ["trainedmodels"]),
    ("ValidatingWebhookConfiguration", "inferencegraph.serving.kserve.io",
     "inferencegraph.kserve-webhook-server.validator",
     "/validate-serving-kserve-io-v1alpha1-inferencegraph", "serving.kserve.io", "v1alpha1",
     ["CREATE", "UPDATE"], ["inferencegraphs"]),
    ("ValidatingWebhookConfiguration", "clusterservingruntime.serving.kserve.io",
     "clusterservingruntime.kserve-webhook-server.validator",
     "/validate-serving-kserve-io-v1alpha1-clusterservingruntime", "serving.kserve.io",
     "v1alpha1", ["CREATE", "UPDATE"], ["clusterservingruntimes"]),
    ("ValidatingWebhookConfiguration", "servingruntime.serving.kserve.io",
     "servingruntime.kserve-webhook-server.validator",
     "/validate-serving-kserve-io-v1alpha1-servingruntime", "serving.kserve.io", "v1alpha1",
     ["CREATE", "UPDATE"], ["servingruntimes"]),
    ("ValidatingWebhookConfiguration", "localmodelcache.serving.kserve.io",
     "localmodelcache.kserve-webhook-server.validator",
     "/validate-serving-kserve-io-v1alpha1-localmodelcache", "serving.kserve.io", "v1alpha1",
     ["CREATE", "UPDATE", "DELETE"], ["localmodelcaches"]),
    ("ValidatingWebhookConfiguration", "localmodelnamespacecache.serving.kserve.io",
     "localmodelnamespacecache.kserve-webhook-server.validator",
     "/validate-serving-kserve-io-v1alpha1-localmodelnamespacecache", "serving.kserve.io",
     "v1alpha1", ["CREATE", "UPDATE", "DELETE"], ["localmodelnamespacecaches"]),
]


def docs(*files: str) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for f in files:
        out += [d for d in yaml.safe_load_all((WEBHOOK / f).read_text()) if d]
    return out


def webhooks() -> list[tuple[str, str, dict[str, Any]]]:
    return [(d["kind"], d["metadata"]["name"], wh)
            for d in docs("manifests.yaml", "localmodel/manifests.yaml")
            for wh in d["webhooks"]]


def test_same_webhooks_as_upstream() -> None:
    got = [(kind, cfg, wh["name"], wh["clientConfig"]["service"]["path"],
            wh["rules"][0]["apiGroups"][0], wh["rules"][0]["apiVersions"][0],
            wh["rules"][0]["operations"], wh["rules"][0]["resources"])
           for kind, cfg, wh in webhooks()]
    assert got == UPSTREAM


@pytest.mark.parametrize("entry", webhooks(), ids=lambda e: e[2]["name"])
def test_policies_as_upstream(entry: tuple[str, str, dict[str, Any]]) -> None:
    _, _, wh = entry
    assert wh["failurePolicy"] == "Fail"
    assert wh["sideEffects"] == "None"
    assert wh["admissionReviewVersions"] == ["v1beta1"]
    assert wh["clientConfig"]["service"]["name"] == "kserve-webhook-server-service"
    assert wh["clientConfig"]["service"]["namespace"] == "kserve"
    assert "caBundle" not in wh["clientConfig"]  # injected by cert-manager or the dev mode
    if wh["name"].endswith("pod-mutator"):
        assert wh["reinvocationPolicy"] == "IfNeeded"
        assert wh["namespaceSelector"] == {
            "matchExpressions": [{"key": "control-plane", "operator": "DoesNotExist"}]}
        assert wh["objectSelector"] == {"matchExpressions": [
            {"key": "serving.kserve.io/inferenceservice", "operator": "Exists"}]}
    else:
        assert not {"reinvocationPolicy", "namespaceSelector", "objectSelector"} & set(wh)


def test_service_and_names() -> None:
    (svc,) = docs("service.yaml")
    assert svc["metadata"] == {"name": "kserve-webhook-server-service", "namespace": "kserve"}
    assert svc["spec"]["ports"] == [{"port": 443, "targetPort": "webhook-server"}]
    names = {(kind, cfg) for kind, cfg, _ in webhooks()}
    assert names == {("MutatingWebhookConfiguration", n) for n in MUTATING_CONFIGURATIONS} | {
        ("ValidatingWebhookConfiguration", n) for n in VALIDATING_CONFIGURATIONS}


def test_cert_manager_component() -> None:
    comp = yaml.safe_load((WEBHOOK / "certmanager" / "kustomization.yaml").read_text())
    assert comp["kind"] == "Component"
    cert = yaml.safe_load((WEBHOOK / "certmanager" / "certificate.yaml").read_text())
    assert cert["spec"]["secretName"] == "kserve-webhook-server-cert"
    assert cert["spec"]["dnsNames"][0] == "kserve-webhook-server-service.kserve.svc"
    assert "kserve/serving-cert" in comp["patches"][0]["patch"]


class _Mgr:
    client = None
    cache = None

    def add(self, r: Any) -> None:
        pass

    def add_healthz_check(self, *a: Any) -> None:
        pass

    add_readyz_check = add_healthz_check


def test_every_configured_path_is_served(tmp_path: Path) -> None:
    server = WebhookServer(cert_dir=tmp_path)
    setup_webhooks(_Mgr(), server=server)
    assert sorted(wh["clientConfig"]["service"]["path"] for _, _, wh in webhooks()) == (
        server.paths)
