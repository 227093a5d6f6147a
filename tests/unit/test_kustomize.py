"""The kustomize tree: ``kubectl kustomize`` builds config/default and config/overlays/local,
every object validates against the Kubernetes v1.34 schemas (kubernetes-validate) and the
KServe objects against our CRDs, and the wiring between the pieces holds (names, ports,
ServiceAccount, images, namespaces)."""

from __future__ import annotations

import copy
import json
import os
import subprocess
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml

from runtime.resource import discover

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "config"
K8S_VERSION = "1.34.0"
_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
CLUSTER_SCOPED_KINDS = {k.__crd__.kind for k in discover("apis") if k.__crd__.scope == "Cluster"}
"""Our cluster-scoped kinds, from the registry (objects of theirs carry no namespace)."""


def _kubectl() -> Path:
    """The pinned kubectl: ``$KUBEBUILDER_ASSETS``, else the build cache (``make envtest``)."""
    dirs = [Path(os.environ["KUBEBUILDER_ASSETS"])] if os.environ.get("KUBEBUILDER_ASSETS") \
        else sorted(Path.home().glob(".cache/kserve-py/bin/*/"))
    for d in dirs:
        if os.access(d / "kubectl", os.X_OK):
            return d / "kubectl"
    pytest.skip("no pinned kubectl: `make envtest` builds it")  # pragma: no cover


def build(path: str) -> list[dict[str, Any]]:
    out = subprocess.run([str(_kubectl()), "kustomize", str(CONFIG / path)],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return [d for d in yaml.load_all(out.stdout, Loader=_LOADER) if d]


_BUILT: dict[str, list[dict[str, Any]]] = {}


def built(path: str) -> list[dict[str, Any]]:
    """``build(path)`` once per test session (a deep copy each time)."""
    if path not in _BUILT:
        _BUILT[path] = build(path)
    return copy.deepcopy(_BUILT[path])


@pytest.fixture(scope="module")
def default() -> list[dict[str, Any]]:
    return built("default")


@pytest.fixture(scope="module")
def local() -> list[dict[str, Any]]:
    return built("overlays/local")


def _one(docs: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    found = [d for d in docs if d["kind"] == kind and d["metadata"]["name"] == name]
    assert len(found) == 1, f"{kind}/{name}: {len(found)} found"
    return found[0]


def _crd_schemas(docs: list[dict[str, Any]]) -> dict[tuple[str, str], dict[str, Any]]:
    out = {}
    for d in docs:
        if d["kind"] != "CustomResourceDefinition":
            continue
        spec = d["spec"]
        for v in spec["versions"]:
            key = (f"{spec['group']}/{v['name']}", spec["names"]["kind"])
            out[key] = v["schema"]["openAPIV3Schema"]
    return out


@pytest.mark.parametrize("tree", ["default", "overlays/local"])
def test_every_object_validates(tree: str) -> None:
    docs = built(tree)
    crds = _crd_schemas(docs)
    checked = {"builtin": 0, "custom": 0}
    for d in docs:
        key = (d["apiVersion"], d["kind"])
        if key in crds:
            jsonschema.Draft7Validator(crds[key]).validate(d)  # no meta-schema check: slow
            checked["custom"] += 1
            continue
        try:
            kubernetes_validate.validate(d, K8S_VERSION, strict=True)
        except kubernetes_validate.ValidationError as e:
            pytest.fail(f"{d['kind']}/{d['metadata']['name']}: {e.message}")
        checked["builtin"] += 1
    assert checked["custom"] >= 14 and checked["builtin"] >= 19, checked


def test_a_broken_object_is_caught() -> None:
    """The validation above can fail: a Deployment without containers, a runtime with an
    unknown field type."""
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(
            {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "x"},
             "spec": {"selector": {}, "template": {"spec": {"containers": "no"}}}},
            K8S_VERSION, strict=True)
    docs = built("default")
    csr = _one(docs, "ClusterServingRuntime", "kserve-sklearnserver")
    csr["spec"]["supportedModelFormats"] = "sklearn"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft7Validator(_crd_schemas(docs)[("serving.kserve.io/v1alpha1",
                                                       "ClusterServingRuntime")]).validate(csr)


def test_default_contents(default: list[dict[str, Any]]) -> None:
    kinds = {(d["kind"], d["metadata"]["name"]) for d in default}
    assert {("Namespace", "kserve"), ("Deployment", "kserve-controller-manager"),
            ("Service", "kserve-controller-manager-service"),
            ("ServiceAccount", "kserve-controller-manager"),
            ("ClusterRole", "kserve-manager-role"),
            ("ClusterRoleBinding", "kserve-manager-rolebinding"),
            ("Role", "kserve-leader-election-role"),
            ("RoleBinding", "kserve-leader-election-rolebinding"),
            ("ConfigMap", "inferenceservice-config"),
            ("ClusterServingRuntime", "kserve-sklearnserver"),
            ("CustomResourceDefinition", "inferenceservices.serving.kserve.io")} <= kinds
    crds = sorted(d["metadata"]["name"] for d in default
                  if d["kind"] == "CustomResourceDefinition")
    assert len(crds) == len(list((CONFIG / "crd" / "full").glob("*.yaml")))
    if (CONFIG / "webhook" / "kustomization.yaml").exists():
        assert any(d["kind"] == "ValidatingWebhookConfiguration" for d in default)
        _one(default, "Service", "kserve-webhook-server-service")


def test_namespaces(default: list[dict[str, Any]]) -> None:
    cluster_scoped = {"Namespace", "CustomResourceDefinition", "ClusterRole",
                      "ClusterRoleBinding", "MutatingWebhookConfiguration",
                      "ValidatingWebhookConfiguration", *CLUSTER_SCOPED_KINDS}
    for d in default:
        ns = d["metadata"].get("namespace")
        if d["kind"] in cluster_scoped:
            assert ns is None, f"{d['kind']}/{d['metadata']['name']} has namespace {ns}"
        else:
            assert ns == "kserve", f"{d['kind']}/{d['metadata']['name']}"
    for kind in ("ClusterRoleBinding", "RoleBinding"):
        for d in (x for x in default if x["kind"] == kind):
            assert d["subjects"] == [{"kind": "ServiceAccount",
                                      "name": "kserve-controller-manager",
                                      "namespace": "kserve"}]


def test_manager_deployment(default: list[dict[str, Any]]) -> None:
    dep = _one(default, "Deployment", "kserve-controller-manager")
    pod = dep["spec"]["template"]["spec"]
    assert pod["serviceAccountName"] == "kserve-controller-manager"
    assert pod["securityContext"]["runAsNonRoot"] is True
    (c,) = pod["containers"]
    assert c["args"] == ["--leader-elect"]
    assert c["image"] == "kserve-py/kserve-controller:latest"
    sc = c["securityContext"]
    assert sc["readOnlyRootFilesystem"] and sc["runAsNonRoot"]
    assert not sc["allowPrivilegeEscalation"] and sc["capabilities"]["drop"] == ["ALL"]
    assert c["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": 8081}
    assert c["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": 8081}
    assert c["resources"]["requests"] and c["resources"]["limits"]
    env = {e["name"]: e for e in c["env"]}
    assert env["POD_NAMESPACE"]["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.namespace"
    mounts = {m["name"]: m["mountPath"] for m in c["volumeMounts"]}
    assert mounts["cert"] == "/tmp/k8s-webhook-server/serving-certs"
    vols = {v["name"]: v for v in pod["volumes"]}
    assert vols["cert"]["secret"]["secretName"] == "kserve-webhook-server-cert"
    ports = {p["name"]: p["containerPort"] for p in c["ports"]}
    assert ports == {"webhook-server": 9443, "metrics": 8080, "health": 8081}
    # the manager's flags exist and their defaults match the ports
    from controllers.manager import build_parser

    args = build_parser().parse_args(c["args"])
    assert args.leader_elect is True and args.webhook_port == 9443
    assert args.health_probe_addr == ":8081" and args.metrics_addr == ":8080"
    # the Service selects the pod
    svc = _one(default, "Service", "kserve-controller-manager-service")
    labels = dep["spec"]["template"]["metadata"]["labels"]
    assert svc["spec"]["selector"].items() <= labels.items()
    assert dep["spec"]["selector"]["matchLabels"].items() <= labels.items()


def test_runtime_images_are_mapped(default: list[dict[str, Any]]) -> None:
    images = {}
    for d in default:
        if d["kind"] != "ClusterServingRuntime":
            continue
        spec = d["spec"]
        for c in spec.get("containers", []) + (spec.get("workerSpec") or {}).get("containers",
                                                                                   []):
            images[d["metadata"]["name"]] = c["image"]
    assert len(images) == 14
    assert images["kserve-sklearnserver"] == "kserve/sklearnserver:latest"
    assert images["kserve-mlserver"] == "docker.io/seldonio/mlserver:1.7.1"
    assert not [i for i in images.values() if i.endswith(":replace")]


def test_local_overlay_is_standard(default: list[dict[str, Any]],
                                   local: list[dict[str, Any]]) -> None:
    def mode(docs: list[dict[str, Any]]) -> str:
        cm = _one(docs, "ConfigMap", "inferenceservice-config")
        return str(json.loads(cm["data"]["deploy"])["defaultDeploymentMode"])

    assert mode(default) == "Serverless"  # upstream's default, untouched
    assert mode(local) == "Standard"
    shipped = yaml.safe_load((CONFIG / "configmap" / "inferenceservice.yaml").read_text())
    cm = _one(local, "ConfigMap", "inferenceservice-config")
    assert {k: v for k, v in cm["data"].items() if k != "deploy"} == {
        k: v for k, v in shipped["data"].items() if k != "deploy"}


def test_crd_kustomization_lists_every_generated_crd() -> None:
    kust = yaml.safe_load((CONFIG / "crd" / "kustomization.yaml").read_text())
    files = sorted(f"full/{p.name}" for p in (CONFIG / "crd" / "full").glob("*.yaml"))
    assert sorted(kust["resources"]) == files
