"""RBAC generated from the code: runtime.rbac derivation and merge rules, the manager's
ClusterRole covering every watch and declaration, and config/rbac being fresh."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from lightkube.resources.apps_v1 import Deployment
from lightkube.resources.core_v1 import ConfigMap, Secret

from runtime.builder import Builder
from runtime.rbac import (
    DISCOVERY,
    EVENT_RECORDER,
    LEADER_ELECTION,
    NonResourcePermission,
    Permission,
    controller_permissions,
    derive,
    permission,
    policy_rules,
    rules_allow,
)
from runtime.reconcile import Result
from runtime.source import Kind

ROOT = Path(__file__).resolve().parents[2]
RBAC_DIR = ROOT / "config" / "rbac"


class _Cache:
    def index_field(self, *a: Any, **k: Any) -> None:
        pass


class _Mgr:
    def __init__(self, *, leader_election: bool = False, recorders: bool = False) -> None:
        self.cache = _Cache()
        self._runnables: list[Any] = []
        self.leader_election = leader_election
        self.leader_election_namespace = "kserve"
        self._recorders = {"x": object()} if recorders else {}

    def register_controller_name(self, name: str) -> None:
        pass

    def add(self, r: Any) -> None:
        self._runnables.append(r)

    def runnables(self) -> list[Any]:
        return list(self._runnables)


class _Noop:
    async def reconcile(self, req: Any) -> Result:
        return Result()


# ------------------------------------------------------------------------------ runtime.rbac


def test_for_owns_watches_verbs() -> None:
    mgr = _Mgr()
    ctrl = (Builder(mgr, name="d").for_(Deployment).owns(ConfigMap)
            .watches(Secret, lambda o: []).complete(_Noop()))
    got = {(p.group, p.resource): set(p.verbs) for p in controller_permissions(ctrl)}
    assert got == {
        ("apps", "deployments"): {"get", "list", "watch", "update", "patch"},
        ("apps", "deployments/status"): {"get", "update", "patch"},
        ("apps", "deployments/finalizers"): {"update"},
        ("", "configmaps"): {"get", "list", "watch", "create", "update", "patch", "delete"},
        ("", "secrets"): {"get", "list", "watch"},
    }


def test_watching_the_for_kind_again_adds_no_write() -> None:
    """A second, mapped watch of the controller's own kind (siblings) is a read."""
    mgr = _Mgr()
    ctrl = (Builder(mgr, name="d").for_(Deployment)
            .watches(Deployment, lambda o: []).complete(_Noop()))
    verbs = [set(p.verbs) for p in controller_permissions(ctrl) if p.resource == "deployments"]
    assert verbs == [{"get", "list", "watch", "update", "patch"}, {"get", "list", "watch"}]


def test_raw_sources_need_nothing() -> None:
    ctrl = type("C", (), {"sources": (object(),), "kind": "", "group": ""})()
    assert controller_permissions(ctrl) == []


@pytest.mark.parametrize(("leader", "recorders"), [(False, False), (True, True)])
def test_derive_adds_manager_needs(leader: bool, recorders: bool) -> None:
    mgr = _Mgr(leader_election=leader, recorders=recorders)
    Builder(mgr, name="d").for_(Deployment).complete(_Noop())
    extra = Permission("", "namespaces", ("get",))
    policy = derive(mgr, [extra])
    assert extra in policy.cluster
    assert set(DISCOVERY) <= set(policy.cluster)
    assert (set(EVENT_RECORDER) <= set(policy.cluster)) == recorders
    assert policy.leader_election == (list(LEADER_ELECTION) if leader else [])
    assert policy.leader_election_namespace == ("kserve" if leader else None)


@pytest.mark.parametrize(
    ("perms", "rules"),
    [
        # verbs of one resource are unioned and sorted
        ([Permission("", "pods", ("watch", "get")), Permission("", "pods", ("list", "get"))],
         [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list", "watch"]}]),
        # same verbs in one group: one rule; groups sorted, resources sorted
        ([Permission("apps", "deployments", ("get",)), Permission("", "services", ("get",)),
          Permission("", "configmaps", ("get",))],
         [{"apiGroups": [""], "resources": ["configmaps", "services"], "verbs": ["get"]},
          {"apiGroups": ["apps"], "resources": ["deployments"], "verbs": ["get"]}]),
        # different verbs stay apart
        ([Permission("", "secrets", ("get",)), Permission("", "configmaps", ("get", "patch"))],
         [{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "patch"]},
          {"apiGroups": [""], "resources": ["secrets"], "verbs": ["get"]}]),
        # non-resource URLs last
        ([NonResourcePermission(("/apis", "/api"), ("get",)),
          Permission("", "pods", ("get",))],
         [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]},
          {"nonResourceURLs": ["/api", "/apis"], "verbs": ["get"]}]),
        ([], []),
    ],
)
def test_policy_rules(perms: list[Any], rules: list[dict[str, Any]]) -> None:
    assert policy_rules(perms) == rules


@pytest.mark.parametrize(
    "bad",
    [("", "pods", ("*",)), ("", "*", ("get",)), ("*", "pods", ("get",)), ("", "pods", ())],
)
def test_permission_refuses_wildcards_and_empty(bad: tuple[Any, ...]) -> None:
    with pytest.raises(ValueError):
        Permission(*bad)


def test_permission_from_types() -> None:
    from apis.serving.v1beta1 import InferenceService

    assert permission(InferenceService, "get", subresource="status") == Permission(
        "serving.kserve.io", "inferenceservices/status", ("get",))
    assert permission(ConfigMap, "create") == Permission("", "configmaps", ("create",))


# ------------------------------------------------------------------------------ the manager


@pytest.fixture(scope="module")
def manager() -> Any:
    from codegen.rbac import offline_manager

    return offline_manager()


@pytest.fixture(scope="module")
def role(manager: Any) -> list[dict[str, Any]]:
    from codegen.rbac import manager_policy

    return policy_rules(manager_policy(manager).cluster)


def test_role_covers_every_watch_and_declaration(manager: Any, role: list[dict[str, Any]]
                                                 ) -> None:
    from codegen.rbac import declared_permissions
    from runtime.controller import Controller
    from runtime.restmapper import declared_info

    controllers = [r for r in manager.runnables() if isinstance(r, Controller)]
    assert {c.name for c in controllers} >= {"inferenceservice", "trainedmodel",
                                             "inferencegraph"}
    checked = 0
    for c in controllers:
        for src in c.sources:
            if isinstance(src, Kind):
                info = declared_info(src.resource)
                assert info is not None
                for verb in ("get", "list", "watch"):
                    assert rules_allow(role, info.group, info.plural, verb), (c.name, info, verb)
                    checked += 1
        # the status the controller writes, and owner references blocking deletion
        owner = next(s.resource for s in c.sources if isinstance(s, Kind))
        info = declared_info(owner)
        assert info is not None
        assert rules_allow(role, info.group, f"{info.plural}/status", "patch")
        assert rules_allow(role, info.group, f"{info.plural}/finalizers", "update")
    for p in declared_permissions(manager):
        if isinstance(p, Permission):
            for verb in p.verbs:
                assert rules_allow(role, p.group, p.resource, verb), p
                checked += 1
    assert checked > 50


@pytest.mark.parametrize(
    ("group", "resource", "verb"),
    [
        ("apps", "deployments", "create"),  # owned workloads
        ("", "services", "delete"),
        ("serving.kserve.io", "trainedmodels", "delete"),  # finalizer / parentless models
        ("", "configmaps", "create"),  # modelconfig-<isvc>-0
        ("events.k8s.io", "events", "create"),
        ("events.k8s.io", "events", "patch"),
        ("", "secrets", "get"),  # the pod mutator's credentials
    ],
)
def test_role_grants_what_the_code_writes(role: list[dict[str, Any]], group: str,
                                          resource: str, verb: str) -> None:
    assert rules_allow(role, group, resource, verb)


@pytest.mark.parametrize(
    ("group", "resource", "verb"),
    [
        ("", "secrets", "create"),  # never written
        ("", "secrets", "delete"),
        ("", "namespaces", "delete"),
        ("apiextensions.k8s.io", "customresourcedefinitions", "get"),
        ("admissionregistration.k8s.io", "mutatingwebhookconfigurations", "update"),
        ("rbac.authorization.k8s.io", "clusterroles", "get"),
        ("serving.kserve.io", "servingruntimes", "update"),  # only read
        ("coordination.k8s.io", "leases", "get"),  # the Role's, in one namespace
    ],
)
def test_role_is_not_wider_than_the_code(role: list[dict[str, Any]], group: str,
                                         resource: str, verb: str) -> None:
    assert not rules_allow(role, group, resource, verb)


def test_role_has_no_wildcards(role: list[dict[str, Any]]) -> None:
    for rule in role:
        for key in ("apiGroups", "resources", "verbs", "nonResourceURLs"):
            assert "*" not in rule.get(key, []), rule


# ------------------------------------------------------------------------------ config/rbac


def test_committed_rbac_is_fresh(manager: Any) -> None:
    from codegen.rbac import check, generate, manager_policy

    files = generate(manager_policy(manager))
    stale = check(RBAC_DIR, files)
    assert not stale, "config/rbac is stale; run `python -m codegen`\n" + "".join(stale)[:4000]


def test_rbac_files_shape() -> None:
    docs = {p.name: list(yaml.safe_load_all(p.read_text())) for p in RBAC_DIR.glob("*.yaml")}
    (role,) = docs["role.yaml"]
    assert role["kind"] == "ClusterRole" and role["metadata"]["name"] == "kserve-manager-role"
    (binding,) = docs["role_binding.yaml"]
    assert binding["roleRef"]["name"] == "kserve-manager-role"
    assert binding["subjects"][0]["name"] == "kserve-controller-manager"
    (le,) = docs["leader_election_role.yaml"]
    assert le["kind"] == "Role"
    assert le["rules"] == [{"apiGroups": ["coordination.k8s.io"], "resources": ["leases"],
                            "verbs": ["create", "get", "update"]}]
    (kust,) = docs["kustomization.yaml"]
    assert sorted(kust["resources"]) == sorted(n for n in docs if n != "kustomization.yaml")
