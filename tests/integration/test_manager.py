"""The manager on a real kube-apiserver (envtest): /metrics, /healthz, /readyz on their own
ports; start order (probes answer before caches sync, controllers only once synced and
elected); leader election hand-over and a lost lease; graceful shutdown; SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import httpx2
import pytest
from lightkube import AsyncClient
from lightkube.models.meta_v1 import ObjectMeta
from lightkube.resources.coordination_v1 import Lease
from lightkube.resources.core_v1 import ConfigMap
from prometheus_client.parser import text_string_to_metric_families

from runtime import metrics
from runtime.builder import Builder
from runtime.controller import CacheSyncTimeoutError
from runtime.manager import LeaderElectionLostError, Manager, RunnableFunc
from runtime.predicate import new_predicate_funcs
from runtime.reconcile import Request, Result
from runtime.testing.eventually import eventually
from runtime.transport import connection_pool, http_client

pytestmark = [pytest.mark.integration, pytest.mark.anyio]
ROOT = Path(__file__).resolve().parents[2]



def manager(envtest: Any, namespace: str | None = None, **kw: Any) -> Manager:
    kw.setdefault("metrics_bind_address", "127.0.0.1:0")
    kw.setdefault("health_probe_bind_address", "127.0.0.1:0")
    return Manager(str(envtest.kubeconfig_path), namespace=namespace, **kw)


class Recorder:
    def __init__(self, work: float = 0.0) -> None:
        self.calls: list[Request] = []
        self.work = work
        self.finished: list[Request] = []

    async def reconcile(self, req: Request) -> Result:
        self.calls.append(req)
        if self.work:
            await anyio.sleep(self.work)
        self.finished.append(req)
        return Result()


def only(label: str) -> Any:
    return new_predicate_funcs(lambda o: (o.metadata.labels or {}).get("test") == label)


@asynccontextmanager
async def started(mgr: Manager) -> AsyncIterator[anyio.abc.TaskGroup]:
    async with anyio.create_task_group() as tg:
        tg.start_soon(mgr.start)
        await eventually(lambda: mgr.elected().is_set())
        yield tg
        mgr.stop()


EXPECTED = {
    # name -> type, with the controller/queue label values to look for
    "controller_runtime_reconcile_total": "counter",
    "controller_runtime_reconcile_errors_total": "counter",
    "controller_runtime_terminal_reconcile_errors_total": "counter",
    "controller_runtime_reconcile_panics_total": "counter",
    "controller_runtime_reconcile_timeouts_total": "counter",
    "controller_runtime_reconcile_time_seconds": "histogram",
    "controller_runtime_max_concurrent_reconciles": "gauge",
    "controller_runtime_active_workers": "gauge",
    "workqueue_depth": "gauge",
    "workqueue_adds_total": "counter",
    "workqueue_queue_duration_seconds": "histogram",
    "workqueue_work_duration_seconds": "histogram",
    "workqueue_unfinished_work_seconds": "gauge",
    "workqueue_longest_running_processor_seconds": "gauge",
    "workqueue_retries_total": "counter",
}


async def test_metrics_healthz_readyz(envtest: Any, kube_client: AsyncClient,
                                      namespace: str) -> None:
    mgr = manager(envtest, namespace, leader_election=True, leader_election_id="mgr-it-metrics",
                  leader_election_namespace=namespace, lease_duration=4, renew_deadline=2,
                  retry_period=0.5, leader_election_release_on_cancel=True)
    rec = Recorder()
    ctrl = (Builder(mgr, name="mgr-metrics").for_(ConfigMap).with_event_filter(only("m"))
            .complete(rec))
    gate = anyio.Event()

    def gated() -> None:
        if not gate.is_set():
            raise RuntimeError("gate closed")

    mgr.add_healthz_check("ping", lambda: None)
    mgr.add_readyz_check("informers", mgr.cache_synced_check)
    mgr.add_readyz_check("gate", gated)
    async with started(mgr):
        # informers start with the controller: after its initial list, a new object is a
        # watch event (priority 0), not part of the list (low priority)
        await eventually(lambda: ctrl.synced.is_set())
        await kube_client.create(ConfigMap(metadata=ObjectMeta(
            name="m1", namespace=namespace, labels={"test": "m"})))
        await eventually(lambda: rec.finished)
        base_h = f"http://127.0.0.1:{mgr.health_probe_port}"
        base_m = f"http://127.0.0.1:{mgr.metrics_port}"
        assert mgr.health_probe_port != mgr.metrics_port
        async with httpx2.AsyncClient() as http:
            r = await http.get(f"{base_h}/healthz")
            assert (r.status_code, r.text) == (200, "ok")
            assert r.headers["content-type"] == "text/plain; charset=utf-8"
            r = await http.get(f"{base_h}/healthz?verbose")
            assert r.text == "[+]ping ok\nhealthz check passed\n"
            r = await http.get(f"{base_h}/readyz")
            assert r.status_code == 500
            assert r.text == ("[-]gate failed: reason withheld\n[+]informers ok\n"
                              "healthz check failed\n")
            r = await http.get(f"{base_h}/readyz/gate")
            assert (r.status_code, r.text) == (500, "internal server error: gate closed\n")
            r = await http.get(f"{base_h}/readyz?exclude=gate")
            assert (r.status_code, r.text) == (200, "ok")
            gate.set()
            r = await http.get(f"{base_h}/readyz/")
            assert (r.status_code, r.text) == (200, "ok")
            assert (await http.get(f"{base_h}/readyz/informers")).text == "ok"
            assert (await http.get(f"{base_h}/healthz/nope")).status_code == 404
            assert (await http.get(f"{base_h}/metrics")).status_code == 404
            assert (await http.get(f"{base_m}/healthz")).status_code == 404

            r = await http.get(f"{base_m}/metrics")
            assert r.status_code == 200
            assert r.headers["content-type"].startswith("text/plain; version=0.0.4")
        fams = {f.name: f for f in text_string_to_metric_families(r.text)}
        types = {f.name: f.type for f in fams.values()}
        samples = [s for f in fams.values() for s in f.samples]

        def has(metric_family: str, sample: str | None = None, **labels: str) -> bool:
            return any(s.name == (sample or metric_family) and
                       all(s.labels.get(k) == v for k, v in labels.items()) for s in samples)

        for name, typ in EXPECTED.items():
            fam = name.removesuffix("_total")  # the parser strips counters' suffix
            assert types.get(fam) == typ, (name, types.get(fam))
            label = {"controller": "mgr-metrics"}
            sample = name + ("_count" if typ == "histogram" else "")
            assert has(fam, sample, **label), name
        for result in ("success", "error", "requeue", "requeue_after"):
            assert has("controller_runtime_reconcile", "controller_runtime_reconcile_total",
                       controller="mgr-metrics", result=result)
        # c-r's priority queue labels depth with the items' priority (a new object: 0).
        assert has("workqueue_depth", name="mgr-metrics", controller="mgr-metrics",
                   priority="0")
        assert has("rest_client_requests", "rest_client_requests_total", method="GET", code="200")
        assert has("leader_election_master_status", name="mgr-it-metrics")
        lead = [s for s in samples if s.name == "leader_election_master_status"
                and s.labels.get("name") == "mgr-it-metrics"]
        assert lead[0].value == 1
        assert not [s for s in samples if s.name.endswith("_created")]
        # Every framework metric family is exposed, with its type, on /metrics.
        prefixes = ("controller_runtime_", "workqueue_", "rest_client_", "leader_election_")
        registered = {m.name: m.type for m in metrics.REGISTRY.collect()
                      if m.name.startswith(prefixes)}
        assert len(registered) >= 20
        for fam_name, typ in registered.items():
            assert types.get(fam_name) == typ, fam_name
        assert types.get("process_resident_memory_bytes") == "gauge"


class _Unserved:
    """A resource the apiserver does not serve: its informer never syncs."""

    __group__ = "nothing.example.com"
    __version__ = "v1"
    __kind__ = "Ghost"
    __plural__ = "ghosts"


async def test_probes_serve_before_caches_sync_and_stop_is_prompt(envtest: Any) -> None:
    mgr = manager(envtest)
    rec = Recorder()
    Builder(mgr, name="mgr-probe").for_(ConfigMap).complete(rec)
    # An informer registered before start (as a field index does) holds the manager at the
    # "caches synced" step: probes must answer meanwhile, controllers must not start.
    mgr.cache.get_informer(_Unserved)
    mgr.add_healthz_check("ping", lambda: None)
    mgr.add_readyz_check("informers", mgr.cache_synced_check)
    async with anyio.create_task_group() as tg:
        tg.start_soon(mgr.start)
        await eventually(lambda: mgr.health_probe_port)
        async with httpx2.AsyncClient() as http:
            base = f"http://127.0.0.1:{mgr.health_probe_port}"
            assert (await http.get(f"{base}/healthz")).status_code == 200
            r = await http.get(f"{base}/readyz/informers")
            assert r.status_code == 500 and "Ghost not synced" in r.text
        assert not mgr.elected().is_set()  # leader runnables wait for the caches
        t0 = time.monotonic()
        mgr.stop()
    assert time.monotonic() - t0 < 5
    assert rec.calls == []


async def test_controller_on_unserved_kind_fails_the_manager_naming_the_kind(
    envtest: Any,
) -> None:
    """A CRD that is not installed: the controller's sync is bounded by its
    cache_sync_timeout and start() raises an error naming the kind (it used to wait for the
    cache forever, the reflector retrying the 404 without end)."""
    mgr = manager(envtest, metrics_bind_address="0", health_probe_bind_address="0")
    (Builder(mgr, name="mgr-unserved").for_(_Unserved)
        .with_options(cache_sync_timeout=2.0).complete(Recorder()))
    t0 = time.monotonic()
    with anyio.fail_after(15), pytest.raises(CacheSyncTimeoutError) as err:
        await mgr.start()
    elapsed = time.monotonic() - t0
    assert 2.0 <= elapsed < 8, elapsed
    msg = str(err.value)
    assert "mgr-unserved" in msg and 'kind "Ghost"' in msg and "nothing.example.com/v1" in msg
    assert "CRD" in msg


def test_manager_process_exits_non_zero_naming_the_unserved_kind(envtest: Any) -> None:
    """The same, as a process: a manager binary on a cluster without the CRD exits non-zero
    within the sync timeout, and its log says which kind is missing."""
    script = f"""
import anyio
from runtime.builder import Builder
from runtime.manager import Manager
from runtime.reconcile import Result

class Ghost:
    __group__, __version__, __kind__ = "nothing.example.com", "v1", "Ghost"

class R:
    async def reconcile(self, req):
        return Result()

async def main():
    mgr = Manager({str(envtest.kubeconfig_path)!r}, metrics_bind_address="0",
                  health_probe_bind_address="0")
    Builder(mgr, name="ghosts").for_(Ghost).with_options(cache_sync_timeout=2).complete(R())
    await mgr.run()

anyio.run(main)
"""
    t0 = time.monotonic()
    proc = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True,
                          text=True, timeout=30)
    assert proc.returncode != 0
    assert time.monotonic() - t0 < 20
    assert 'no matches for kind "Ghost" in version "nothing.example.com/v1"' in proc.stderr


async def test_duplicate_controller_names_rejected(envtest: Any) -> None:
    mgr = manager(envtest)
    Builder(mgr, name="dup").for_(ConfigMap).complete(Recorder())
    with pytest.raises(ValueError, match="already exists"):
        Builder(mgr, name="dup").for_(ConfigMap).complete(Recorder())
    with pytest.raises(ValueError, match="owns"):
        Builder(mgr, name="other").owns(ConfigMap).complete(Recorder())


async def test_graceful_shutdown_waits_then_gives_up(envtest: Any, kube_client: AsyncClient,
                                                     namespace: str) -> None:
    # 1. A reconcile shorter than the grace period finishes.
    mgr = manager(envtest, namespace, graceful_shutdown_timeout=5, metrics_bind_address="0")
    rec = Recorder(work=0.5)
    Builder(mgr, name="mgr-grace").for_(ConfigMap).with_event_filter(only("g")).complete(rec)
    async with anyio.create_task_group() as tg:
        tg.start_soon(mgr.start)
        await kube_client.create(ConfigMap(metadata=ObjectMeta(
            name="g1", namespace=namespace, labels={"test": "g"})))
        await eventually(lambda: rec.calls)
        mgr.stop()
    assert rec.finished == [Request(namespace, "g1")]

    # 2. A reconcile longer than the grace period is cancelled and start() says so.
    mgr = manager(envtest, namespace, graceful_shutdown_timeout=0.3, metrics_bind_address="0")
    rec = Recorder(work=30)
    Builder(mgr, name="mgr-grace2").for_(ConfigMap).with_event_filter(only("g")).complete(rec)
    errors: list[BaseException] = []

    async def run() -> None:
        try:
            await mgr.start()
        except Exception as e:
            errors.append(e)

    async with anyio.create_task_group() as tg:
        tg.start_soon(run)
        await eventually(lambda: rec.calls)
        t0 = time.monotonic()
        mgr.stop()
    assert time.monotonic() - t0 < 3
    assert len(errors) == 1 and isinstance(errors[0], TimeoutError)
    assert "grace period" in str(errors[0])
    assert rec.finished == []


async def test_one_stop_deadline_for_everything_and_the_lease_released_inside_it(
    envtest: Any, kube_client: AsyncClient, namespace: str
) -> None:
    """graceful_shutdown_timeout G bounds the whole stop: a reconcile and a non-leader
    runnable that both outlive G, the event drain and the lease release all fit in G (the
    grace period used to apply to the leader runnables, then again to the others, then the
    drain, and the lease was released after all of it)."""
    grace = 3.0
    mgr = manager(envtest, namespace, graceful_shutdown_timeout=grace, metrics_bind_address="0",
                  health_probe_bind_address="0", leader_election=True,
                  leader_election_id="mgr-it-deadline", leader_election_namespace=namespace,
                  leader_election_release_on_cancel=True)
    rec = Recorder(work=60)
    Builder(mgr, name="mgr-deadline").for_(ConfigMap).with_event_filter(only("d")).complete(rec)

    async def stubborn(stopping: anyio.Event) -> None:
        await stopping.wait()
        await anyio.sleep(60)  # ignores the stop: must be cancelled at the deadline

    mgr.add(RunnableFunc(stubborn, need_leader_election=False))
    recorder = mgr.get_event_recorder("mgr-deadline")
    errors: list[BaseException] = []

    async def run() -> None:
        try:
            await mgr.start()
        except Exception as e:
            errors.append(e)

    async with anyio.create_task_group() as tg:
        tg.start_soon(run)
        await eventually(lambda: mgr.elected().is_set())
        cm = await kube_client.create(ConfigMap(metadata=ObjectMeta(
            name="d1", namespace=namespace, labels={"test": "d"})))
        await eventually(lambda: rec.calls)  # a reconcile is in flight, for 60 s
        recorder.event(cm, "Normal", "Stopping", "Stop", "stopping now")
        t0 = time.monotonic()
        mgr.stop()
    elapsed = time.monotonic() - t0
    # the deadline is `grace`; the margin is for a busy machine's last cancellations (the
    # defect took the grace twice over, plus the event drain)
    assert elapsed <= grace + 0.5, elapsed
    assert len(errors) == 1 and isinstance(errors[0], TimeoutError), errors
    lease = await kube_client.get(Lease, "mgr-it-deadline", namespace=namespace)
    assert not lease.spec.holderIdentity  # released, not left to expire
    assert lease.spec.leaseDurationSeconds == 1


LE = {"lease_duration": 4.0, "renew_deadline": 2.0, "retry_period": 0.5}


async def test_leader_election_hand_over(envtest: Any, kube_client: AsyncClient,
                                         namespace: str) -> None:
    lease = "mgr-it-handover"
    recs = [Recorder(), Recorder()]
    mgrs = []
    for i, rec in enumerate(recs):
        m = manager(envtest, namespace, leader_election=True, leader_election_id=lease,
                    leader_election_namespace=namespace, metrics_bind_address="0",
                    health_probe_bind_address="0", leader_election_release_on_cancel=True, **LE)
        Builder(m, name=f"mgr-le-{i}").for_(ConfigMap).with_event_filter(only("le")).complete(rec)
        mgrs.append(m)
    async with anyio.create_task_group() as tg:
        tg.start_soon(mgrs[0].start)
        await eventually(lambda: mgrs[0].elected().is_set())
        tg.start_soon(mgrs[1].start)
        await kube_client.create(ConfigMap(metadata=ObjectMeta(
            name="le1", namespace=namespace, labels={"test": "le"})))
        await eventually(lambda: recs[0].calls)
        await anyio.sleep(1.5)  # several retry periods: the follower must stay idle
        assert recs[1].calls == [] and not mgrs[1].elected().is_set()
        t0 = time.monotonic()
        mgrs[0].stop()  # releases the lease: the follower takes over at its next retry
        await eventually(lambda: recs[1].calls)
        assert time.monotonic() - t0 < 4.0  # faster than waiting out the 4 s lease
        held = await kube_client.get(Lease, lease, namespace=namespace)
        assert held.spec.holderIdentity == mgrs[1].identity
        mgrs[1].stop()


async def test_lost_lease_stops_controllers_and_raises(envtest: Any, kube_client: AsyncClient,
                                                       namespace: str) -> None:
    lease = "mgr-it-lost"
    rec = Recorder()
    mgr = manager(envtest, namespace, leader_election=True, leader_election_id=lease,
                  leader_election_namespace=namespace, metrics_bind_address="0",
                  health_probe_bind_address="0", **LE)
    Builder(mgr, name="mgr-lost").for_(ConfigMap).with_event_filter(only("lost")).complete(rec)
    errors: list[BaseException] = []
    ended = 0.0

    async def run() -> None:
        nonlocal ended
        try:
            await mgr.start()
        except Exception as e:
            errors.append(e)
        ended = time.monotonic()

    async with anyio.create_task_group() as tg:
        tg.start_soon(run)
        await eventually(lambda: mgr.elected().is_set())
        # Another holder takes the lease (as after a partition): renewals now fail.
        cur = await kube_client.get(Lease, lease, namespace=namespace)
        cur.spec.holderIdentity = "thief"
        await kube_client.replace(cur)
        stolen_at = time.monotonic()
    assert len(errors) == 1 and isinstance(errors[0], LeaderElectionLostError), errors
    elapsed = ended - stolen_at
    assert elapsed < LE["renew_deadline"] + 2 * LE["retry_period"] + 1.5, elapsed
    assert metrics.REGISTRY.get_sample_value(
        "leader_election_master_status", {"name": lease}) == 0
    # Controllers stopped: a new object is not reconciled.
    await kube_client.create(ConfigMap(metadata=ObjectMeta(
        name="after", namespace=namespace, labels={"test": "lost"})))
    await anyio.sleep(0.5)
    assert Request(namespace, "after") not in rec.calls


def test_sigterm_graceful_exit_of_example_binary(envtest: Any) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    p = subprocess.Popen(
        [sys.executable, "-m", "examples.configmap_mirror", "--kubeconfig",
         str(envtest.kubeconfig_path), "--install-crd", "--metrics-bind-address", "127.0.0.1:0",
         "--health-probe-bind-address", "127.0.0.1:0"],
        cwd=ROOT, env=env, stderr=subprocess.PIPE, text=True)
    assert p.stderr is not None
    lines: list[str] = []
    deadline = time.monotonic() + 60
    try:
        for line in p.stderr:
            lines.append(line)
            if "Starting workers" in line or time.monotonic() > deadline:
                break
        assert any("Starting workers" in ln for ln in lines), "".join(lines[-20:])
        t0 = time.monotonic()
        p.send_signal(signal.SIGTERM)
        rc = p.wait(timeout=30)
        assert rc == 0, "".join(lines[-20:]) + p.stderr.read()
        assert time.monotonic() - t0 < 10
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()


async def test_controller_added_after_start(envtest: Any, kube_client: AsyncClient,
                                            namespace: str) -> None:
    mgr = manager(envtest, namespace, metrics_bind_address="0", health_probe_bind_address="0")
    async with anyio.create_task_group() as tg:
        tg.start_soon(mgr.start)
        await eventually(lambda: mgr.elected().is_set())
        rec = Recorder()
        Builder(mgr, name="mgr-late").for_(ConfigMap).with_event_filter(only("late")).complete(rec)
        await kube_client.create(ConfigMap(metadata=ObjectMeta(
            name="late", namespace=namespace, labels={"test": "late"})))
        await eventually(lambda: rec.finished)
        mgr.stop()
    assert rec.finished == [Request(namespace, "late")]


async def test_start_and_stop_order(envtest: Any, namespace: str) -> None:
    mgr = manager(envtest, namespace, metrics_bind_address="0")
    mgr.add_healthz_check("ping", lambda: None)
    events: list[tuple[str, str, bool]] = []
    Builder(mgr, name="mgr-order").for_(ConfigMap).with_event_filter(only("none")).complete(
        Recorder())
    # Registered before start, so the manager's "caches synced" step covers it (a
    # controller's own informers are created, and synced, when the controller starts).
    mgr.cache.get_informer(ConfigMap)

    async def probe_up() -> bool:
        async with httpx2.AsyncClient() as http:
            try:
                r = await http.get(f"http://127.0.0.1:{mgr.health_probe_port}/healthz")
            except httpx2.HTTPError:
                return False
            return r.status_code == 200

    def synced() -> bool:
        return all(inf.has_synced() for inf in mgr.cache.informers())

    class Probe:
        def __init__(self, name: str, leader: bool) -> None:
            self.name, self.leader = name, leader

        def need_leader_election(self) -> bool:
            return self.leader

        async def start(self, stopping: anyio.Event) -> None:
            events.append(("start", self.name, synced() and await probe_up()))
            await stopping.wait()
            # While runnables stop, caches and HTTP servers are still up.
            events.append(("stop", self.name, synced() and await probe_up()))

    mgr.add(Probe("leader", True))
    mgr.add(Probe("other", False))
    async with anyio.create_task_group() as tg:
        tg.start_soon(mgr.start)
        await eventually(lambda: len(events) == 2)
        mgr.stop()
    assert events == [("start", "other", True), ("start", "leader", True),
                      ("stop", "leader", True), ("stop", "other", True)]
    assert not await probe_up()  # HTTP servers stopped last, but stopped


async def test_default_config_from_kubeconfig_env(envtest: Any,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    from lightkube.resources.core_v1 import Namespace

    monkeypatch.setenv("KUBECONFIG", str(envtest.kubeconfig_path))
    mgr = Manager(metrics_bind_address="0", health_probe_bind_address="0")
    ns = await mgr.client.api_reader.get(Namespace, "default")
    assert ns.metadata.name == "default"


async def test_watches_do_not_take_the_connections_writes_need(envtest: Any,
                                                               namespace: str) -> None:
    """HTTP/1.1: every open watch holds a connection. With the writes' pool deliberately
    smaller (2) than the number of watches (5), the cache's own pool carries the watches, so
    every informer syncs and writes and direct reads go through without waiting."""
    from lightkube import KubeConfig
    from lightkube.config.client_adapter import verify_cluster
    from lightkube.resources.core_v1 import Pod, Secret, Service, ServiceAccount

    cfg = KubeConfig.from_file(envtest.kubeconfig_path)
    single = cfg.get()
    assert single.user is not None
    small = httpx2.AsyncHTTPTransport(
        verify=verify_cluster(single.cluster, single.user, single.abs_file),
        limits=httpx2.Limits(max_connections=2, max_keepalive_connections=2),
    )
    kube = AsyncClient(cfg, transport=small, timeout=httpx2.Timeout(10.0, pool=3.0))
    try:
        mgr = Manager(kube, namespace=namespace, metrics_bind_address="0",
                      health_probe_bind_address="0")
        kinds = [ConfigMap, Secret, Service, ServiceAccount, Pod]
        for kind in kinds:
            mgr.cache.get_informer(kind)
        async with anyio.create_task_group() as tg:
            tg.start_soon(mgr.start)
            await eventually(lambda: mgr.elected().is_set())  # every informer synced first
            await anyio.sleep(0.5)  # the 5 watches are open
            with anyio.fail_after(8):  # a write waiting for a pooled connection: 3 s each
                for i in range(4):
                    await mgr.client.create(ConfigMap(metadata=ObjectMeta(
                        name=f"w{i}", namespace=namespace)))
                got = await mgr.client.api_reader.get(ConfigMap, "w3", namespace)
                assert got.metadata.name == "w3"

            async def cached() -> bool:
                return len(await mgr.cache.list(ConfigMap, namespace)) >= 4

            await eventually(cached)  # and the watches deliver
            mgr.stop()
        pool = connection_pool(mgr.cache.http)
        assert pool is not None and pool is not connection_pool(http_client(kube))
        assert not pool.connections  # closed on stop
    finally:
        await kube.close()
