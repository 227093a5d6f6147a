"""A tiny manager *process* for the leader-failover acceptance test (test_leader_failover.py).

One controller on ConfigMaps labelled ``failover=test`` in one namespace, with leader election
on a Lease in that namespace. Every reconcile appends one JSON line to ``--record``
(``{"ev": "reconcile", "id", "pid", "name", "start", "end"}``, wall-clock seconds), stamps the
ConfigMap with the annotation ``failover.kserve-py.dev/leader: <identity>`` when another
identity is there, and asks to run again after ``--requeue`` seconds, so a leader reconciles
continuously and the record shows exactly when each process was doing work.

Lifecycle lines in the same file: ``started`` (imports done), ``synced`` (caches synced:
a non-leader runnable), ``elected`` (a leader runnable started), ``exit`` (with the exit code;
absent after SIGKILL). Exit status: 0 after SIGTERM (graceful stop, lease released with
``--release-on-cancel``), 1 after a lost lease, as controller-runtime's binaries do.

The record file is written with one ``os.write`` per line on an ``O_APPEND`` descriptor
(each process has its own file), which survives SIGKILL: the kernel has the bytes once
``write`` returned. These small synchronous writes are acceptable in a test helper.

    python -m tests.integration._failover_manager --kubeconfig K --namespace NS \
        --lease failover --record /tmp/a.jsonl [--release-on-cancel]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from typing import Any

import anyio
from lightkube.resources.core_v1 import ConfigMap

from runtime.builder import Builder
from runtime.client import is_not_found
from runtime.log import setup_logging
from runtime.manager import LeaderElectionLostError, Manager, RunnableFunc
from runtime.predicate import label_selector_predicate
from runtime.reconcile import Request, Result

LABEL = {"failover": "test"}
ANNOTATION = "failover.kserve-py.dev/leader"


class Recorder:
    """Appends JSON lines to a file, one ``os.write`` each."""

    def __init__(self, path: str, identity: str) -> None:
        self.fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        self.identity = identity

    def write(self, ev: str, **fields: Any) -> None:
        line = {"ev": ev, "id": self.identity, "pid": os.getpid(), "t": time.time(), **fields}
        os.write(self.fd, (json.dumps(line) + "\n").encode())


class StampReconciler:
    """Records the reconcile and stamps the object with the leader's identity."""

    def __init__(self, mgr: Manager, rec: Recorder, requeue: float) -> None:
        self.client = mgr.client
        self.identity = mgr.identity
        self.rec = rec
        self.requeue = requeue

    async def reconcile(self, req: Request) -> Result:
        start = time.time()
        try:
            cm = await self.client.get(ConfigMap, req.name, req.namespace)
        except Exception as e:
            if is_not_found(e):
                return Result()
            raise
        if (cm.metadata.annotations or {}).get(ANNOTATION) != self.identity:
            await self.client.patch(
                ConfigMap, req.name, {"metadata": {"annotations": {ANNOTATION: self.identity}}},
                namespace=req.namespace)
        self.rec.write("reconcile", name=req.name, start=start, end=time.time())
        return Result(requeue_after=self.requeue)


async def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--kubeconfig", required=True)
    p.add_argument("--namespace", required=True)
    p.add_argument("--lease", required=True)
    p.add_argument("--record", required=True)
    p.add_argument("--lease-duration", type=float, default=15.0)
    p.add_argument("--renew-deadline", type=float, default=10.0)
    p.add_argument("--retry-period", type=float, default=2.0)
    p.add_argument("--release-on-cancel", action="store_true")
    p.add_argument("--requeue", type=float, default=0.25)
    args = p.parse_args(argv)
    setup_logging()
    mgr = Manager(
        args.kubeconfig, namespace=args.namespace,
        metrics_bind_address="0", health_probe_bind_address="0",
        leader_election=True, leader_election_id=args.lease,
        leader_election_namespace=args.namespace,
        leader_election_release_on_cancel=args.release_on_cancel,
        lease_duration=args.lease_duration, renew_deadline=args.renew_deadline,
        retry_period=args.retry_period, field_manager="failover-test",
    )
    rec = Recorder(args.record, mgr.identity)
    rec.write("started")

    async def synced(stopping: anyio.Event) -> None:
        rec.write("synced")
        await stopping.wait()

    async def elected(stopping: anyio.Event) -> None:
        rec.write("elected")
        await stopping.wait()

    mgr.add(RunnableFunc(synced, need_leader_election=False))
    mgr.add(RunnableFunc(elected, need_leader_election=True))
    (Builder(mgr, name="failover-stamp").for_(ConfigMap)
        .with_event_filter(label_selector_predicate(LABEL))
        .complete(StampReconciler(mgr, rec, args.requeue)))
    code = 0
    try:
        await mgr.run()
    except LeaderElectionLostError:
        code = 1
    rec.write("exit", code=code)
    return code


if __name__ == "__main__":
    sys.exit(anyio.run(main))
