"""ConfigMapMirror: keep a copy of a ConfigMap in another namespace. The whole framework API
on one page: a typed custom resource, for_/owns/watches, server-side apply, status, events,
a field index, Result(requeue_after), the manager. Run it against any cluster:

    python -m examples.configmap_mirror --kubeconfig ~/.kube/config --install-crd
    kubectl apply -f - <<EOF
    apiVersion: examples.kserve-py.dev/v1
    kind: ConfigMapMirror
    metadata: {name: settings, namespace: team-b}
    spec: {source: {namespace: team-a, name: settings}}
    EOF
"""

from __future__ import annotations

import argparse
import itertools
import logging
import sys
from typing import Any

import anyio
from lightkube.models.meta_v1 import ObjectMeta
from lightkube.resources.core_v1 import ConfigMap
from pydantic import Field

from runtime.builder import Builder
from runtime.client import is_not_found, set_controller_reference
from runtime.log import setup_logging
from runtime.manager import Manager
from runtime.predicate import GenerationChangedPredicate
from runtime.reconcile import Request, Result
from runtime.recorder import NORMAL, WARNING
from runtime.resource import CRD, CustomResource, KubeModel

log = logging.getLogger("configmap-mirror")
RESYNC = 300.0  # re-check for drift every 5 minutes even without events
MISSING_RETRY = 30.0  # poll a missing source this often (its creation also triggers us)
SOURCE_INDEX = "spec.source"  # field index: "<namespace>/<name>" of the source ConfigMap


class SourceRef(KubeModel):
    namespace: str
    """Namespace of the ConfigMap to copy."""
    name: str
    """Name of the ConfigMap to copy."""


class MirrorSpec(KubeModel):
    source: SourceRef
    """The ConfigMap to copy into this object's namespace (under this object's name)."""


class MirrorStatus(KubeModel):
    ready: bool = False
    """Whether the copy matches the source."""
    synced_resource_version: str | None = None
    """resourceVersion of the source ConfigMap last copied."""
    observed_generation: int | None = None
    """metadata.generation of this object when last reconciled."""
    message: str | None = None


class ConfigMapMirror(CustomResource):
    """Copies a ConfigMap from another namespace into this one."""

    __crd__ = CRD(group="examples.kserve-py.dev", version="v1", kind="ConfigMapMirror",
                  plural="configmapmirrors", status_subresource=True)
    spec: MirrorSpec
    status: MirrorStatus | None = Field(None)


class MirrorReconciler:
    def __init__(self, mgr: Manager) -> None:
        self.client = mgr.client
        self.recorder = mgr.get_event_recorder("configmap-mirror")

    async def reconcile(self, req: Request) -> Result:
        try:
            mirror = await self.client.get(ConfigMapMirror, req.name, req.namespace)
        except Exception as e:
            if is_not_found(e):
                return Result()  # deleted: the copy goes with it (owner reference, GC)
            raise  # anything else: retried with backoff by the controller
        src = mirror.spec.source
        gen = mirror.metadata.generation
        try:
            source = await self.client.get(ConfigMap, src.name, src.namespace)
        except Exception as e:
            if not is_not_found(e):
                raise
            msg = f"source ConfigMap {src.namespace}/{src.name} not found"
            await self.set_status(mirror, MirrorStatus(observed_generation=gen, message=msg))
            self.recorder.event(mirror, WARNING, "SourceNotFound", "Reconcile", msg)
            return Result(requeue_after=MISSING_RETRY)

        copy = ConfigMap(
            metadata=ObjectMeta(name=req.name, namespace=req.namespace,
                                labels={"examples.kserve-py.dev/mirror": req.name}),
            data=source.data or {},
            binaryData=source.binaryData,
        )
        set_controller_reference(mirror, copy)
        await self.client.apply(copy)  # server-side apply: no write if nothing changed
        rv = source.metadata.resourceVersion
        changed = await self.set_status(
            mirror, MirrorStatus(ready=True, synced_resource_version=rv, observed_generation=gen)
        )
        if changed:
            log.info("copied %s/%s", src.namespace, src.name, extra={"resourceVersion": rv})
            self.recorder.event(mirror, NORMAL, "Synced", "Reconcile",
                                f"copied {src.namespace}/{src.name} at resourceVersion {rv}")
        return Result(requeue_after=RESYNC)

    async def set_status(self, mirror: ConfigMapMirror, status: MirrorStatus) -> bool:
        """Write status only when it changed (status writes are API calls too)."""
        if mirror.status == status:
            return False
        await self.client.apply_status(mirror, status)
        return True


def setup(mgr: Manager) -> None:
    """Wire the controller; a ConfigMap change wakes every mirror of it (via a field index)."""

    def source_key(m: ConfigMapMirror) -> list[str]:
        return [f"{m.spec.source.namespace}/{m.spec.source.name}"]

    mgr.cache.index_field(ConfigMapMirror, SOURCE_INDEX, source_key)

    async def mirrors_of(cm: Any) -> list[Request]:
        key = f"{cm.metadata.namespace}/{cm.metadata.name}"
        mirrors = await mgr.client.list(ConfigMapMirror, fields={SOURCE_INDEX: key})
        return [Request(m.metadata.namespace, m.metadata.name) for m in mirrors]

    (Builder(mgr, name="configmap-mirror")
        .for_(ConfigMapMirror).with_predicates(GenerationChangedPredicate())  # spec changes
        .owns(ConfigMap)                    # someone edits/deletes our copy -> restore it
        .watches(ConfigMap, mirrors_of)     # the source changes -> update every copy
        .max_concurrent(4)
        .complete(MirrorReconciler(mgr)))


async def install_crd(mgr: Manager) -> None:
    from lightkube.resources.apiextensions_v1 import CustomResourceDefinition as CRDType

    from codegen.crd import build_crd

    await mgr.client.apply(build_crd([ConfigMapMirror]))  # the CRD is generated from the type
    with anyio.fail_after(30):
        for _ in itertools.count():  # established = the apiserver serves the new type
            crd = await mgr.client.api_reader.get(CRDType, ConfigMapMirror.__crd__.name)
            conds = (crd.status.conditions if crd.status else None) or []
            if any(c.type == "Established" and c.status == "True" for c in conds):
                return
            await anyio.sleep(0.2)


async def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--kubeconfig")
    p.add_argument("--install-crd", action="store_true")
    p.add_argument("--metrics-bind-address", default=":8080")
    p.add_argument("--health-probe-bind-address", default=":8081")
    p.add_argument("--leader-elect", action="store_true")
    p.add_argument("--leader-election-namespace", default="default")
    p.add_argument("--leader-election-release-on-cancel", action="store_true",
                   help="give the lease up on SIGTERM so a standby takes over at once")
    args = p.parse_args(argv)
    setup_logging()
    mgr = Manager(args.kubeconfig, metrics_bind_address=args.metrics_bind_address,
                  health_probe_bind_address=args.health_probe_bind_address,
                  leader_election=args.leader_elect, leader_election_id="configmap-mirror",
                  leader_election_namespace=args.leader_election_namespace,
                  leader_election_release_on_cancel=args.leader_election_release_on_cancel,
                  field_manager="configmap-mirror")
    if args.install_crd:
        await install_crd(mgr)
    setup(mgr)
    mgr.add_healthz_check("ping", lambda: None)
    mgr.add_readyz_check("informers", mgr.cache_synced_check)
    await mgr.run()  # until SIGTERM; raises (exit 1) if the lease is lost


if __name__ == "__main__":
    try:
        anyio.run(main)
    except Exception:  # e.g. LeaderElectionLostError: exit non-zero, let the pod restart
        log.exception("problem running manager")
        sys.exit(1)
