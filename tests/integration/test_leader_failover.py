"""Leader failover between manager *processes* on a real kube-apiserver (the acceptance test).

Each replica is ``tests/integration/_failover_manager.py`` run as its own process with its
own kubeconfig: a ServiceAccount token of its own, bound to a namespaced Role that grants only
what the controller and leader election use. Every reconcile a replica does is appended,
timestamped, to that replica's record file (a leader requeues every 0.25 s, so it reconciles
continuously while it leads), which lets the test show who did work when:

* SIGKILL on the leader: the follower takes over only once the lease has expired
  (lease duration, plus up to two jittered retry periods of observation lag), and the two
  never reconcile at the same time: every reconcile of the killed process ended before the
  kill, every reconcile of the follower started after it.
* SIGTERM on the (new) leader: it stops its controllers, releases the lease and exits 0; a
  third replica takes over at its next acquire attempt (about a retry period), not after the
  lease duration.
* A leader frozen (SIGSTOP) past its lease: a peer takes over; when the old leader resumes it
  finds the lease gone and exits 1 (lost lease), leaving the lease with the new leader; it
  starts no reconcile after resuming (the manager's leader fence), so there is no
  split-brain window while its elector notices the loss.

The first two run with controller-runtime's defaults (15 s / 10 s / 2 s); the frozen-leader
cases use 6 s / 4 s / 1 s and 4 s / 3 s / 0.5 s to stay short.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import anyio
import pytest
from lightkube import AsyncClient
from lightkube.models.meta_v1 import ObjectMeta
from lightkube.models.rbac_v1 import PolicyRule, RoleRef, Subject
from lightkube.resources.coordination_v1 import Lease
from lightkube.resources.core_v1 import ConfigMap
from lightkube.resources.rbac_authorization_v1 import Role, RoleBinding

from runtime.leaderelection import JITTER_FACTOR
from runtime.testing.processes import _die_with_parent
from tests.integration._failover_manager import ANNOTATION, LABEL

pytestmark = [pytest.mark.integration, pytest.mark.anyio]
ROOT = Path(__file__).resolve().parents[2]
OBJECTS = ("cm-a", "cm-b", "cm-c")
START_TIMEOUT = 60.0  # interpreter start + imports + cache sync on a busy 2-core machine


class Replica:
    """One manager process, its record file and its stderr log."""

    def __init__(self, name: str, tmp: Path, kubeconfig: Path, namespace: str, lease: str,
                 timings: tuple[float, float, float]) -> None:
        self.kubeconfig = kubeconfig
        self.name = name
        self.record = tmp / f"{name}.jsonl"
        self.log = tmp / f"{name}.log"
        duration, deadline, retry = timings
        argv = [sys.executable, "-m", "tests.integration._failover_manager",
                "--kubeconfig", str(kubeconfig), "--namespace", namespace, "--lease", lease,
                "--record", str(self.record), "--release-on-cancel",
                "--lease-duration", str(duration), "--renew-deadline", str(deadline),
                "--retry-period", str(retry)]
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen(
                argv, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                preexec_fn=_die_with_parent)

    def events(self, ev: str | None = None) -> list[dict[str, Any]]:
        try:
            lines = self.record.read_text().splitlines()
        except FileNotFoundError:
            return []
        out = [json.loads(ln) for ln in lines if ln.strip()]
        return [e for e in out if ev is None or e["ev"] == ev]

    def reconciles(self) -> list[dict[str, Any]]:
        return self.events("reconcile")

    @property
    def identity(self) -> str:
        return str(self.events("started")[0]["id"])

    def describe(self) -> str:
        tail = "\n".join(self.log.read_text(errors="replace").splitlines()[-25:])
        return f"--- {self.name} (exit {self.proc.poll()}), last log lines:\n{tail}"

    async def wait_for(self, ev: str, limit: float) -> dict[str, Any]:
        """The first ``ev`` line; fails early (with the log) if the process exits first."""
        with anyio.fail_after(limit):
            while not self.events(ev):
                if self.proc.poll() is not None:
                    raise AssertionError(f"{self.name} exited before {ev!r}\n{self.describe()}")
                await anyio.sleep(0.05)
        return self.events(ev)[0]

    async def wait_exit(self, limit: float) -> int:
        with anyio.fail_after(limit):
            while self.proc.poll() is None:
                await anyio.sleep(0.05)
        return int(self.proc.returncode)

    def kill(self) -> None:
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                self.proc.send_signal(signal.SIGCONT)  # a stopped process cannot die otherwise
                self.proc.kill()
        self.proc.wait()


Start = Callable[[str, str, tuple[float, float, float]], Awaitable[Replica]]


@contextlib.asynccontextmanager
async def replicas(envtest: Any, namespace: str, tmp: Path) -> AsyncIterator[Start]:
    """``start(name, lease, timings)`` runs a replica as its own ServiceAccount
    ``replica-<name>`` (bound to the namespaced Role made by :func:`_seed`); every replica
    is killed on the way out, and the logs of all are printed if the test failed."""
    started: list[Replica] = []

    async def start(name: str, lease: str, timings: tuple[float, float, float]) -> Replica:
        kubeconfig = await anyio.to_thread.run_sync(
            envtest.kubeconfig_for_service_account, namespace, f"replica-{name}")
        r = Replica(name, tmp, kubeconfig, namespace, lease, timings)
        started.append(r)
        return r

    try:
        yield start
    except BaseException:
        for r in started:
            print(r.describe())
        raise
    finally:
        for r in started:
            r.kill()


async def _seed(kube: AsyncClient, namespace: str) -> None:
    """The objects to reconcile, and the only permissions a replica gets: what this
    controller reads and writes and what leader election needs, in this namespace."""
    await kube.create(Role(metadata=ObjectMeta(name="failover-manager", namespace=namespace),
                           rules=[PolicyRule(apiGroups=[""], resources=["configmaps"],
                                             verbs=["get", "list", "watch", "patch"]),
                                  PolicyRule(apiGroups=["coordination.k8s.io"],
                                             resources=["leases"],
                                             verbs=["get", "create", "update"])]))
    await kube.create(RoleBinding(
        metadata=ObjectMeta(name="failover-manager", namespace=namespace),
        roleRef=RoleRef(apiGroup="rbac.authorization.k8s.io", kind="Role",
                        name="failover-manager"),
        subjects=[Subject(kind="Group", name=f"system:serviceaccounts:{namespace}",
                          apiGroup="rbac.authorization.k8s.io")]))
    for name in OBJECTS:
        await kube.create(ConfigMap(metadata=ObjectMeta(name=name, namespace=namespace,
                                                        labels=dict(LABEL))))


async def _lease(kube: AsyncClient, name: str, namespace: str) -> Any:
    return (await kube.get(Lease, name, namespace=namespace)).spec


async def _wait_leading(r: Replica, limit: float) -> float:
    """Time of ``r``'s first reconcile once every object was reconciled by it."""
    await r.wait_for("elected", limit)
    with anyio.fail_after(10):
        while {e["name"] for e in r.reconciles()} != set(OBJECTS):
            await anyio.sleep(0.05)
    return float(min(e["start"] for e in r.reconciles()))


async def test_sigkill_failover_then_sigterm_handover(
    envtest: Any, kube_client: AsyncClient, namespace: str, tmp_path: Path
) -> None:
    timings = (15.0, 10.0, 2.0)  # controller-runtime's defaults
    duration, _, retry = timings
    lease = "failover"
    await _seed(kube_client, namespace)
    async with replicas(envtest, namespace, tmp_path) as start:
        a = await start("a", lease, timings)
        await _wait_leading(a, START_TIMEOUT)
        b = await start("b", lease, timings)
        await b.wait_for("synced", START_TIMEOUT)
        await anyio.sleep(retry * 1.5)  # the follower tries, fails and keeps its hands off
        assert (await _lease(kube_client, lease, namespace)).holderIdentity == a.identity

        # ---- SIGKILL the leader: no release; the follower waits the lease out.
        t_kill = time.time()
        a.proc.send_signal(signal.SIGKILL)
        assert await a.wait_exit(10) == -signal.SIGKILL
        b_first = await _wait_leading(b, duration + 2 * JITTER_FACTOR * retry + 10)
        spec = await _lease(kube_client, lease, namespace)
        assert spec.holderIdentity == b.identity
        takeover = spec.acquireTime.timestamp() - t_kill
        print(f"SIGKILL failover: lease taken over {takeover:.2f} s after the kill, "
              f"first reconcile {b_first - t_kill:.2f} s after it")
        # Not before the lease expired (the last renewal was at most ~a retry period before
        # the kill) and not later than expiry + observation lag + one jittered retry.
        assert duration - retry - 0.5 <= takeover <= duration + 2 * (1 + JITTER_FACTOR) * retry
        assert b_first - spec.acquireTime.timestamp() < 3.0  # warm caches: no list on takeover

        a_recs, b_recs = a.reconciles(), b.reconciles()
        assert max(e["end"] for e in a_recs) < t_kill  # the killed leader: all before the kill
        assert max(e["end"] for e in a_recs) > t_kill - 2.0  # ... and busy right up to it
        assert min(e["start"] for e in b_recs) > t_kill  # the follower: nothing while a led
        for name in OBJECTS:
            cm = await kube_client.get(ConfigMap, name, namespace=namespace)
            assert cm.metadata is not None and cm.metadata.annotations is not None
            assert cm.metadata.annotations[ANNOTATION] == b.identity

        # ---- SIGTERM the new leader: graceful stop, lease released, exit 0.
        c = await start("c", lease, timings)
        await c.wait_for("synced", START_TIMEOUT)
        await anyio.sleep(retry * 1.5)
        assert c.reconciles() == []
        t_term = time.time()
        b.proc.send_signal(signal.SIGTERM)
        assert await b.wait_exit(30) == 0, b.describe()
        assert b.events("exit")[0]["code"] == 0
        c_first = await _wait_leading(c, duration)
        spec = await _lease(kube_client, lease, namespace)
        assert spec.holderIdentity == c.identity
        handover = spec.acquireTime.timestamp() - t_term
        print(f"SIGTERM hand-over: lease taken over {handover:.2f} s after SIGTERM, "
              f"first reconcile {c_first - t_term:.2f} s after it")
        # Released: the successor's next attempt (<= 2.2 retry periods after its previous
        # one) wins, well before the 15 s the lease would otherwise have to run out.
        assert handover <= (1 + JITTER_FACTOR) * retry + 2.0
        b_recs = b.reconciles()
        assert max(e["end"] for e in b_recs) < min(e["start"] for e in c.reconciles())
        assert max(e["end"] for e in b_recs) <= b.events("exit")[0]["t"]


class Frozen:
    """What happened around a leader frozen past its lease (see :func:`_freeze`)."""

    def __init__(self, a: Replica, b: Replica, t_stop: float, t_cont: float, code: int) -> None:
        self.a, self.b, self.t_stop, self.t_cont, self.code = a, b, t_stop, t_cont, code
        self.t_exit = float(a.events("exit")[0]["t"]) if a.events("exit") else float("nan")
        # reconciles the old leader *started* after it was frozen (i.e. once it resumed)
        self.late = [e for e in a.reconciles() if e["start"] > t_stop]


async def _freeze(start: Start, lease: str, timings: tuple[float, float, float]) -> Frozen:
    """Leader a is SIGSTOPped (a long GC pause, a VM freeze) until b has taken the lease over
    and reconciled everything, then SIGCONTed; returns once a exited."""
    duration, deadline, retry = timings
    a = await start("a", lease, timings)
    await _wait_leading(a, START_TIMEOUT)
    b = await start("b", lease, timings)
    await b.wait_for("synced", START_TIMEOUT)
    t_stop = time.time()
    a.proc.send_signal(signal.SIGSTOP)
    await _wait_leading(b, duration + 2 * (1 + JITTER_FACTOR) * retry + 10)
    assert max(e["end"] for e in a.reconciles()) < t_stop  # lines of a stopped process: none
    t_cont = time.time()
    a.proc.send_signal(signal.SIGCONT)
    code = await a.wait_exit(deadline + 2 * retry + 5)
    return Frozen(a, b, t_stop, t_cont, code)


async def test_frozen_leader_loses_lease_and_exits(
    envtest: Any, kube_client: AsyncClient, namespace: str, tmp_path: Path
) -> None:
    timings = (6.0, 4.0, 1.0)
    _, deadline, retry = timings
    lease = "failover-frozen"
    await _seed(kube_client, namespace)
    async with replicas(envtest, namespace, tmp_path) as start:
        f = await _freeze(start, lease, timings)
        # On resume the old leader's renewals fail (the lease names b): within the renew
        # deadline it gives up leadership, stops its controllers and exits non-zero.
        assert f.code == 1, f.a.describe()
        assert f.a.events("exit")[0]["code"] == 1
        assert f.t_exit - f.t_cont <= deadline + retry + 1.5
        spec = await _lease(kube_client, lease, namespace)
        assert spec.holderIdentity == f.b.identity  # the loser never cleared b's lease
        both = [e for e in f.b.reconciles() if f.t_cont <= e["start"] <= f.t_exit]
        print(f"frozen leader exited {f.t_exit - f.t_cont:.2f} s after resuming; meanwhile it "
              f"did {len(f.late)} reconciles and the new leader {len(both)}")
        assert all(e["end"] <= f.t_exit for e in f.late)  # controllers stopped before exit


async def test_frozen_leader_does_not_reconcile_after_resuming(
    envtest: Any, kube_client: AsyncClient, namespace: str, tmp_path: Path
) -> None:
    """The leader fence: a replica that has not renewed its lease within the renew deadline
    starts no reconcile (it cannot know it still leads). Without it (client-go and
    controller-runtime behave so), the resumed replica kept reconciling until its elector
    gave up, fighting the new leader over the same objects: hundreds of reconciles each."""
    timings = (4.0, 3.0, 0.5)
    await _seed(kube_client, namespace)
    async with replicas(envtest, namespace, tmp_path) as start:
        f = await _freeze(start, "frozen-2", timings)
        assert f.code == 1, f.a.describe()
        assert f.late == [], f"{len(f.late)} reconciles after resuming without a valid lease"
