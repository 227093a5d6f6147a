"""RBAC derived from the code (controller-gen's ``rbac`` generator, without comment markers).

What a controller is wired to do is what it needs to be allowed: ``for_(T)`` reads and
updates ``T``, its status and (for owner references with ``blockOwnerDeletion``) its
finalizers; ``owns(U)`` manages ``U`` in full; ``watches(V)`` lists and watches ``V``. What
the code does beyond its watches (a read through the cache of a kind nobody watches, a
create, a delete of another kind) is declared next to that code as :class:`Permission`
values, and the manager's own needs (event recorders, leader election, discovery) come from
how it is configured. :func:`derive` turns a configured (not started) manager into a
:class:`Policy`; :func:`policy_rules` into the ``rules`` of a ClusterRole, merged and sorted
as controller-gen does, so the role is never wider or narrower than the code and never has
a wildcard.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from runtime.handler import EnqueueRequestForObject, EnqueueRequestForOwner
from runtime.restmapper import declared_info, gvk_of
from runtime.source import Kind

__all__ = [
    "DISCOVERY",
    "EVENT_RECORDER",
    "FOR_VERBS",
    "LEADER_ELECTION",
    "OWNS_VERBS",
    "WATCH_VERBS",
    "NonResourcePermission",
    "Permission",
    "Policy",
    "controller_permissions",
    "derive",
    "permission",
    "policy_rules",
    "rules_allow",
]

FOR_VERBS = ("get", "list", "watch", "update", "patch")
"""``for_(T)``: read T from the cache, patch its metadata (finalizers)."""
STATUS_VERBS = ("get", "update", "patch")
FINALIZER_VERBS = ("update",)
"""Setting an owner reference with ``blockOwnerDeletion`` needs ``update`` on the owner's
``finalizers`` subresource (the OwnerReferencesPermissionEnforcement admission plugin)."""
OWNS_VERBS = ("get", "list", "watch", "create", "update", "patch", "delete")
"""``owns(U)``: create (server-side apply of a new object needs create), change, delete."""
WATCH_VERBS = ("get", "list", "watch")

@dataclass(frozen=True)
class Permission:
    """Verbs on one resource (``plural`` or ``plural/subresource``) of an API group."""

    group: str
    resource: str
    verbs: tuple[str, ...]

    def __post_init__(self) -> None:
        if "*" in self.verbs or "*" in self.resource or self.group == "*":
            raise ValueError(f"no wildcards in RBAC declarations: {self}")
        if not self.verbs:
            raise ValueError(f"a permission needs verbs: {self}")


@dataclass(frozen=True)
class NonResourcePermission:
    """Verbs on URL paths that are not resources (discovery, ``/healthz``...)."""

    urls: tuple[str, ...]
    verbs: tuple[str, ...]


def permission(resource: Any, *verbs: str, subresource: str = "") -> Permission:
    """A :class:`Permission` on a resource type (lightkube resource, typed custom resource or
    any type declaring its plural); ``subresource`` e.g. ``"status"``."""
    info = declared_info(resource)
    if info is None:
        raise TypeError(f"{resource!r} declares no plural: name it with Permission(...)")
    name = f"{info.plural}/{subresource}" if subresource else info.plural
    return Permission(info.group, name, tuple(verbs))


EVENT_RECORDER = (Permission("events.k8s.io", "events", ("create", "patch")),)
"""``runtime.recorder``: creates Events and patches their series."""
LEADER_ELECTION = (Permission("coordination.k8s.io", "leases", ("get", "create", "update")),)
"""``runtime.leaderelection``: GET the Lease, CREATE it when missing, PUT it (namespaced:
granted by a Role in the lease namespace)."""
DISCOVERY = (NonResourcePermission(("/api", "/api/*", "/apis", "/apis/*"), ("get",)),)
"""``runtime.restmapper``: discovery (most clusters grant it to every authenticated user
through ``system:discovery``; stated so the role does not depend on that)."""


@dataclass
class Policy:
    """What a manager needs: cluster-wide rules and the leader election's namespaced ones."""

    cluster: list[Permission | NonResourcePermission] = field(default_factory=list)
    leader_election: list[Permission] = field(default_factory=list)
    leader_election_namespace: str | None = None


def _info(resource: Any) -> tuple[str, str]:
    info = declared_info(resource)
    if info is None:
        gvk = gvk_of(resource)
        raise TypeError(f"{gvk.group}/{gvk.kind} declares no plural: RBAC cannot name it")
    return info.group, info.plural


def controller_permissions(ctrl: Any) -> list[Permission]:
    """What a :class:`~runtime.controller.Controller`'s watches need (see the module
    docstring). The ``for_()`` source is the one enqueueing the object itself whose kind is
    the controller's."""
    out: list[Permission] = []
    for src in getattr(ctrl, "sources", ()):
        if not isinstance(src, Kind):
            continue
        group, plural = _info(src.resource)
        gvk = gvk_of(src.resource)
        if isinstance(src.handler, EnqueueRequestForOwner):
            out.append(Permission(group, plural, OWNS_VERBS))
        elif (isinstance(src.handler, EnqueueRequestForObject)
              and (gvk.group, gvk.kind) == (ctrl.group, ctrl.kind)):
            out += [Permission(group, plural, FOR_VERBS),
                    Permission(group, f"{plural}/status", STATUS_VERBS),
                    Permission(group, f"{plural}/finalizers", FINALIZER_VERBS)]
        else:
            out.append(Permission(group, plural, WATCH_VERBS))
    return out


def derive(
    mgr: Any, declared: Iterable[Permission | NonResourcePermission] = ()
) -> Policy:
    """The policy of a configured manager: its controllers' watches, ``declared`` (what the
    code states beyond them), event recorders if any were made, discovery, and the leader
    election's Role if it elects."""
    policy = Policy()
    for r in mgr.runnables():
        policy.cluster += controller_permissions(r)
    policy.cluster += list(declared)
    if getattr(mgr, "_recorders", None):
        policy.cluster += EVENT_RECORDER
    policy.cluster += DISCOVERY
    if getattr(mgr, "leader_election", False):
        policy.leader_election = list(LEADER_ELECTION)
        policy.leader_election_namespace = getattr(mgr, "leader_election_namespace", None)
    return policy


def policy_rules(perms: Iterable[Permission | NonResourcePermission]) -> list[dict[str, Any]]:
    """PolicyRules as controller-gen writes them: verbs of one (group, resource) unioned,
    resources of a group with the same verbs merged into one rule, everything sorted
    (groups, then resources; verbs alphabetically)."""
    verbs: dict[tuple[str, str], set[str]] = {}
    urls: dict[str, set[str]] = {}
    for p in perms:
        if isinstance(p, NonResourcePermission):
            for u in p.urls:
                urls.setdefault(u, set()).update(p.verbs)
        else:
            verbs.setdefault((p.group, p.resource), set()).update(p.verbs)
    merged: dict[tuple[str, tuple[str, ...]], list[str]] = {}
    for (group, resource), vs in verbs.items():
        merged.setdefault((group, tuple(sorted(vs))), []).append(resource)
    rules: list[dict[str, Any]] = [
        {"apiGroups": [group], "resources": sorted(resources), "verbs": list(vs)}
        for (group, vs), resources in merged.items()
    ]
    rules.sort(key=lambda r: (r["apiGroups"][0], r["resources"][0]))
    by_verbs: dict[tuple[str, ...], list[str]] = {}
    for u, vs in urls.items():
        by_verbs.setdefault(tuple(sorted(vs)), []).append(u)
    rules += [{"nonResourceURLs": sorted(us), "verbs": list(vs)}
              for vs, us in sorted(by_verbs.items(), key=lambda kv: sorted(kv[1]))]
    return rules


def rules_allow(rules: Iterable[Mapping[str, Any]], group: str, resource: str, verb: str) -> bool:
    """Whether ``rules`` grant ``verb`` on ``group``/``resource`` (exact names, as
    :func:`policy_rules` writes them)."""
    return any(
        group in r.get("apiGroups", ()) and resource in r.get("resources", ())
        and verb in r.get("verbs", ())
        for r in rules
    )
