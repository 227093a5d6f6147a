"""config/localmodels and config/localmodelnodes: the generated RBAC of the LocalModel
manager and node agent is fresh and covers what their controllers watch and declare, the
kustomize build validates against the Kubernetes schemas, and the wiring holds (names,
ServiceAccounts, commands, NODE_NAME, the models hostPath); the entry points parse
upstream's command line and refuse an agent without a node."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest

from runtime.rbac import Permission, policy_rules, rules_allow
from runtime.source import Kind

from .test_kustomize import K8S_VERSION, built

ROOT = Path(__file__).resolve().parents[2]


def test_extra_rbac_is_fresh() -> None:
    from codegen.rbac import check, generate_extra

    files = generate_extra()
    stale = []
    for directory in {name.split("/")[0] for name in files}:
        stale += check(ROOT / "config/rbac" / directory,
                       {n.split("/", 1)[1]: t for n, t in files.items()
                        if n.startswith(directory + "/")})
    assert not stale, "config/rbac is stale; run `python -m codegen`\n" + "".join(stale)[:4000]


@pytest.mark.parametrize("directory", ["localmodel", "localmodelnode"])
def test_role_covers_watches_and_declarations(directory: str) -> None:
    from codegen.rbac import declared_permissions, extra_manager
    from runtime.controller import Controller
    from runtime.rbac import derive
    from runtime.restmapper import declared_info

    mgr = extra_manager(directory)
    role = policy_rules(derive(mgr, declared_permissions(mgr)).cluster)
    controllers = [r for r in mgr.runnables() if isinstance(r, Controller)]
    assert controllers
    for c in controllers:
        for src in c.sources:
            if isinstance(src, Kind):
                info = declared_info(src.resource)
                assert info is not None
                assert rules_allow(role, info.group, info.plural, "watch"), (c.name, info)
    for p in declared_permissions(mgr):
        if isinstance(p, Permission):
            assert all(rules_allow(role, p.group, p.resource, v) for v in p.verbs), p
    for rule in role:
        assert "*" not in rule.get("verbs", []) and "*" not in rule.get("resources", [])


@pytest.mark.parametrize(("directory", "group", "resource", "verb", "allowed"), [
    ("localmodel", "", "persistentvolumes", "create", True),
    ("localmodel", "", "persistentvolumeclaims", "delete", True),
    ("localmodel", "serving.kserve.io", "localmodelnodes", "create", True),
    ("localmodel", "serving.kserve.io", "localmodelcaches/status", "patch", True),
    ("localmodel", "", "secrets", "get", False),
    ("localmodel", "batch", "jobs", "create", False),
    ("localmodelnode", "batch", "jobs", "create", True),
    ("localmodelnode", "batch", "jobs", "delete", True),
    ("localmodelnode", "serving.kserve.io", "localmodelnodes/status", "patch", True),
    ("localmodelnode", "", "secrets", "get", True),
    ("localmodelnode", "", "secrets", "list", False),  # read uncached, only when a Job is made
    ("localmodelnode", "", "persistentvolumes", "create", False),
    ("localmodelnode", "serving.kserve.io", "localmodelcaches", "get", False),
])
def test_roles_grant_what_the_code_does_and_no_more(directory: str, group: str, resource: str,
                                                    verb: str, allowed: bool) -> None:
    import yaml

    (role,) = [d for d in yaml.safe_load_all(
        (ROOT / f"config/rbac/{directory}/role.yaml").read_text()) if d]
    assert rules_allow(role["rules"], group, resource, verb) is allowed


@pytest.fixture(scope="module")
def objects() -> list[dict[str, Any]]:
    return built("localmodels")


def by_kind(objects: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {o["metadata"]["name"]: o for o in objects if o["kind"] == kind}


def test_build_validates(objects: list[dict[str, Any]]) -> None:
    for d in objects:
        kubernetes_validate.validate(d, K8S_VERSION, strict=True)
    assert sorted((o["kind"], o["metadata"]["name"]) for o in objects) == [
        ("ClusterRole", "kserve-localmodel-manager-role"),
        ("ClusterRole", "kserve-localmodelnode-agent-role"),
        ("ClusterRoleBinding", "kserve-localmodel-manager-rolebinding"),
        ("ClusterRoleBinding", "kserve-localmodelnode-agent-rolebinding"),
        ("DaemonSet", "kserve-localmodelnode-agent"),
        ("Deployment", "kserve-localmodel-controller-manager"),
        ("ServiceAccount", "kserve-localmodel-controller-manager"),
        ("ServiceAccount", "kserve-localmodelnode-agent"),
        ("ValidatingWebhookConfiguration", "localmodelcache.serving.kserve.io"),
        ("ValidatingWebhookConfiguration", "localmodelnamespacecache.serving.kserve.io"),
    ]


def test_wiring(objects: list[dict[str, Any]]) -> None:
    sas = by_kind(objects, "ServiceAccount")
    for binding in by_kind(objects, "ClusterRoleBinding").values():
        (subject,) = binding["subjects"]
        assert subject["name"] in sas and subject["namespace"] == "kserve"
        assert binding["roleRef"]["name"] in by_kind(objects, "ClusterRole")
    dep = by_kind(objects, "Deployment")["kserve-localmodel-controller-manager"]
    pod = dep["spec"]["template"]["spec"]
    assert pod["serviceAccountName"] in sas
    (c,) = pod["containers"]
    assert c["command"] == ["python", "-m", "controllers.localmodel"]
    assert c["image"] == "kserve-py/kserve-controller:latest"
    ds = by_kind(objects, "DaemonSet")["kserve-localmodelnode-agent"]
    pod = ds["spec"]["template"]["spec"]
    assert pod["serviceAccountName"] in sas
    assert pod["nodeSelector"] == {"kserve/localmodel": "worker"}
    (c,) = pod["containers"]
    assert c["command"] == ["python", "-m", "controllers.localmodelnode"]
    env = {e["name"]: e for e in c["env"]}
    assert env["NODE_NAME"]["valueFrom"]["fieldRef"]["fieldPath"] == "spec.nodeName"
    assert c["volumeMounts"] == [{"mountPath": "/mnt/models", "name": "models",
                                  "readOnly": False}]
    assert pod["volumes"] == [{"name": "models", "hostPath": {"path": "/models",
                                                              "type": "DirectoryOrCreate"}}]
    assert "--models-root=/mnt/models/models" in c["args"]
    for hook in by_kind(objects, "ValidatingWebhookConfiguration").values():
        # served by kserve-manager (config/webhook/service.yaml)
        assert hook["webhooks"][0]["clientConfig"]["service"]["name"] == \
            "kserve-webhook-server-service"


def test_entry_points() -> None:
    from controllers.localmodel import manager as lm
    from controllers.localmodelnode import manager as agent

    args = lm.build_parser().parse_args(["--leader-elect", "--webhook-port", "9443"])
    assert args.leader_elect is True and lm.LEADER_LOCK_NAME == \
        "kserve-local-model-manager-leader-lock"
    args = agent.build_parser().parse_args(["--node-name", "n1", "--models-root", "/tmp/m"])
    assert (args.node_name, args.models_root) == ("n1", "/tmp/m")
    assert agent.LEADER_LOCK_NAME == "kserve-local-model-node-manager-leader-lock"
    with pytest.raises(SystemExit, match="NODE_NAME"):
        agent.new_manager(agent.build_parser().parse_args(["--node-name", ""]))
    opts = agent.cache_options("n1", "kserve")
    assert {getattr(k, "__name__", str(k)): (v.field_selector, v.label_selector)
            for k, v in opts.by_object.items()} == {
        "LocalModelNode": ("metadata.name=n1", None),
        "Job": (None, "node=n1"),
        "ConfigMap": ("metadata.name=inferenceservice-config", None),
    }
