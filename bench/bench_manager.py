"""The manager process on envtest: memory idle and with 10k ConfigMaps + 10k Secrets, cold start.

The manager under test is this file run as a child (``--child``): a ``runtime.manager.Manager``
watching the whole cluster with one trivial controller, ``for_(ConfigMap)`` (full objects
cached) plus ``watches_metadata(Secret, ...)`` (a metadata-only informer, as a controller that
only needs to know which Secrets exist uses), whose reconcile reads the ConfigMap from the
cache and returns. ``/readyz`` (a cache-synced check) and ``/metrics`` serve on free ports.
Figures (RSS is ``VmRSS`` from ``/proc/<pid>/status``, after the work queue drained and 2 s of
quiet; every ConfigMap and Secret is ~1 KB):

* ``manager_cold_start_s``: process spawn until ``/readyz`` answers 200, empty cluster:
  interpreter start, imports, the HTTP servers, the initial lists, caches synced.
* ``manager_rss_idle_mb``: that process, idle, nothing but envtest's own objects.
* ``manager_rss_10k_cm_10k_secrets_watched_mb``: the same process after 10k ConfigMaps and 10k
  Secrets were created (delivered by the watches) and reconciled.
* ``manager_cold_start_10k_s`` / ``manager_rss_10k_cm_10k_secrets_mb``: a fresh process
  started with those objects in the cluster (the initial lists carry them): time to ready,
  and RSS once synced and every ConfigMap was reconciled.
* ``manager_rss_peak_10k_mb``: that process's peak RSS (``VmHWM``): the initial list's
  decoding garbage included.
* ``manager_cpu_10k_s``: CPU seconds (user + system) of that process until ready+reconciled.
* ``manager_rss_10k_after_trim_mb``: its RSS after ``gc.collect()`` + ``malloc_trim(0)``
  (sent as SIGUSR1): the difference is heap freed after the initial list but kept by malloc.
  A diagnostic only: no figure below is taken after a trim.
* ``manager_rss_10k_cm_10k_full_secrets_mb`` (and ``_peak_``, ``manager_cold_start_10k_full_
  secrets_s``, ``manager_cpu_10k_full_secrets_s``): a fresh process whose controller watches
  the Secrets in full (``watches(Secret, ...)``, every Secret's data cached, as a controller
  that reads Secrets holds them), with everything already in the cluster; RSS once synced and
  reconciled, after the same 2 s of quiet and nothing else: no ``gc.collect()``, no
  ``malloc_trim`` (that child does not even install the SIGUSR1 trim).

Set ``BENCH_KUBECONFIG`` to use an existing cluster instead of envtest (the figures then
include whatever else is in it).
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import gc
import signal
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio
from prometheus_client.parser import text_string_to_metric_families

from bench._common import (
    BENCH_DIR,
    ProcStats,
    cluster,
    configmap_1kb,
    create_all,
    free_port,
    post_json,
    proc_stats,
    secret_1kb,
    spawn_python,
    stop,
)
from bench._results import print_table, record

N = 10_000
CONCURRENCY = 64
SETTLE = 2.0  # seconds of quiet before reading RSS


# --------------------------------------------------------------------------- the child


async def _child(kubeconfig: str, metrics_port: int, health_port: int,
                 full_secrets: bool = False) -> None:
    from lightkube.resources.core_v1 import ConfigMap, Secret

    from runtime.builder import Builder
    from runtime.client import is_not_found
    from runtime.manager import Manager, RunnableFunc
    from runtime.reconcile import Request, Result

    mgr = Manager(kubeconfig, metrics_bind_address=f"127.0.0.1:{metrics_port}",
                  health_probe_bind_address=f"127.0.0.1:{health_port}",
                  field_manager="bench-manager")
    client = mgr.client

    class Trivial:
        async def reconcile(self, req: Request) -> Result:
            try:
                await client.get(ConfigMap, req.name, req.namespace)
            except Exception as e:
                if not is_not_found(e):
                    raise
            return Result()

    def config_of(secret: Any) -> list[Request]:
        return [Request(secret.metadata.namespace, secret.metadata.name)]

    builder = Builder(mgr, name="bench-manager").for_(ConfigMap)
    if full_secrets:
        builder.watches(Secret, config_of).complete(Trivial())
    else:
        builder.watches_metadata(Secret, config_of).complete(Trivial())
        mgr.add(RunnableFunc(_trim_on_sigusr1, need_leader_election=False))
    mgr.add_healthz_check("ping", lambda: None)
    mgr.add_readyz_check("informers", mgr.cache_synced_check)
    await mgr.run()


async def _trim_on_sigusr1(stopping: anyio.Event) -> None:
    """A diagnostic: on SIGUSR1, ``gc.collect()`` and glibc ``malloc_trim(0)``, to see how
    much of the RSS is freed-but-unreturned heap rather than live objects."""
    libc = ctypes.CDLL("libc.so.6")
    with anyio.open_signal_receiver(signal.SIGUSR1) as sigs:
        async with anyio.create_task_group() as tg:
            async def stop() -> None:
                await stopping.wait()
                tg.cancel_scope.cancel()

            tg.start_soon(stop)
            async for _ in sigs:
                gc.collect()
                libc.malloc_trim(0)


# --------------------------------------------------------------------------- measuring


def _get(port: int, path: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=2) as resp:
            return int(resp.status), resp.read().decode()
    except urllib.error.HTTPError as e:
        return int(e.code), ""
    except OSError:
        return 0, ""


class Child:
    """The manager under test as a subprocess, with its ports."""

    def __init__(self, kubeconfig: str, log: Path, *, full_secrets: bool = False) -> None:
        self.metrics_port = free_port()
        self.health_port = free_port()
        self.log = log
        self.t0 = time.perf_counter()
        self.proc = spawn_python(
            "bench.bench_manager", "--child", "--kubeconfig", kubeconfig,
            "--metrics-port", str(self.metrics_port), "--health-port", str(self.health_port),
            *(["--full-secrets"] if full_secrets else []), log=log)

    def _alive(self) -> None:
        if self.proc.poll() is not None:
            tail = "\n".join(self.log.read_text(errors="replace").splitlines()[-20:])
            raise RuntimeError(f"manager exited with {self.proc.returncode}:\n{tail}")

    async def until(self, cond: Callable[[], bool], limit: float, every: float = 0.02) -> None:
        with anyio.fail_after(limit):
            while not cond():
                self._alive()
                await anyio.sleep(every)

    async def wait_ready(self) -> float:
        """Seconds from spawn until /readyz answers 200."""
        await self.until(lambda: _get(self.health_port, "/readyz")[0] == 200, 120)
        return time.perf_counter() - self.t0

    def metrics(self) -> dict[tuple[str, str], float]:
        """(sample name, resource-or-name label) -> value, for the figures used here."""
        code, text = _get(self.metrics_port, "/metrics")
        out: dict[tuple[str, str], float] = {}
        if code != 200:
            return out
        for fam in text_string_to_metric_families(text):
            for s in fam.samples:
                if s.name in ("controller_runtime_cache_objects", "workqueue_depth",
                              "controller_runtime_reconcile_total"):
                    label = s.labels.get("resource") or s.labels.get("name") or ""
                    label += "/" + s.labels.get("result", "")
                    out[(s.name, label)] = out.get((s.name, label), 0.0) + s.value
        return out

    def cached(self, plural: str) -> float:
        return sum(v for (n, lbl), v in self.metrics().items()
                   if n == "controller_runtime_cache_objects" and lbl.startswith(plural + "/"))

    def reconciled(self) -> float:
        return sum(v for (n, _), v in self.metrics().items()
                   if n == "controller_runtime_reconcile_total")

    def queue_depth(self) -> float:
        return sum(v for (n, _), v in self.metrics().items() if n == "workqueue_depth")

    async def settle(self, configmaps: int) -> ProcStats:
        """Wait until ``configmaps`` ConfigMaps are cached and reconciled and the queue is
        empty, then ``SETTLE`` seconds; return the process figures."""
        await self.until(lambda: self.cached("configmaps") >= configmaps, 600, 0.5)
        await self.until(lambda: self.reconciled() >= configmaps and self.queue_depth() == 0,
                         600, 0.5)
        await anyio.sleep(SETTLE)
        return proc_stats(self.proc.pid)

    def stop(self) -> int:
        return stop(self.proc)


async def _run(kubeconfig: str, logdir: Path) -> dict[str, float]:
    from lightkube import AsyncClient, KubeConfig

    from runtime.transport import http_client

    figures: dict[str, float] = {}
    ns = f"bench-mgr-{uuid.uuid4().hex[:6]}"
    kube = AsyncClient(KubeConfig.from_file(kubeconfig))
    http = http_client(kube)
    children: list[Child] = []
    try:
        # ---- idle: the cluster holds only its own few objects
        idle = Child(kubeconfig, logdir / "manager-idle.log")
        children.append(idle)
        figures["manager_cold_start_s"] = await idle.wait_ready()
        base_cms = idle.cached("configmaps")
        st = await idle.settle(int(base_cms))
        figures["manager_rss_idle_mb"] = st.rss_mb

        # ---- 10k ConfigMaps + 10k Secrets arrive through the running manager's watches
        resp = await post_json(http, "/api/v1/namespaces", {
            "apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
        resp.raise_for_status()
        t0 = time.perf_counter()
        labels = {"app": "bench"}
        await create_all(http, f"/api/v1/namespaces/{ns}/configmaps",
                         lambda i: configmap_1kb(f"cm-{i:05d}", ns, labels), N, CONCURRENCY)
        await create_all(http, f"/api/v1/namespaces/{ns}/secrets",
                         lambda i: secret_1kb(f"s-{i:05d}", ns, labels), N, CONCURRENCY)
        print(f"   created {N} ConfigMaps + {N} Secrets in {time.perf_counter() - t0:.1f} s",
              flush=True)
        total = int(base_cms) + N
        await idle.until(lambda: idle.cached("secrets") >= N, 600, 0.5)
        st = await idle.settle(total)
        figures["manager_rss_10k_cm_10k_secrets_watched_mb"] = st.rss_mb
        if idle.stop() != 0:
            raise RuntimeError("the idle manager did not exit 0 on SIGTERM")

        # ---- a fresh manager with everything already there
        fresh = Child(kubeconfig, logdir / "manager-10k.log")
        children.append(fresh)
        figures["manager_cold_start_10k_s"] = await fresh.wait_ready()
        if fresh.cached("secrets") < N:
            raise RuntimeError("ready before the Secret informer synced")
        st = await fresh.settle(total)
        figures["manager_rss_10k_cm_10k_secrets_mb"] = st.rss_mb
        figures["manager_rss_peak_10k_mb"] = st.peak_mb
        figures["manager_cpu_10k_s"] = st.cpu_s
        fresh.proc.send_signal(signal.SIGUSR1)
        await anyio.sleep(SETTLE)
        figures["manager_rss_10k_after_trim_mb"] = proc_stats(fresh.proc.pid).rss_mb
        if fresh.stop() != 0:
            raise RuntimeError("the manager did not exit 0 on SIGTERM")

        # ---- the same with the Secrets cached in full, measured with no trim at all
        full = Child(kubeconfig, logdir / "manager-10k-full-secrets.log", full_secrets=True)
        children.append(full)
        figures["manager_cold_start_10k_full_secrets_s"] = await full.wait_ready()
        if full.cached("secrets") < N:
            raise RuntimeError("ready before the Secret informer synced")
        st = await full.settle(total)
        figures["manager_rss_10k_cm_10k_full_secrets_mb"] = st.rss_mb
        figures["manager_rss_peak_10k_full_secrets_mb"] = st.peak_mb
        figures["manager_cpu_10k_full_secrets_s"] = st.cpu_s
        if full.stop() != 0:
            raise RuntimeError("the full-Secrets manager did not exit 0 on SIGTERM")
    finally:
        for c in children:
            c.stop()
        with contextlib.suppress(Exception):
            await http.delete(f"/api/v1/namespaces/{ns}")
        await kube.close()
    return {k: round(v, 3 if k.endswith("_s") else 1) for k, v in figures.items()}


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--child", action="store_true")
    p.add_argument("--kubeconfig")
    p.add_argument("--metrics-port", type=int, default=0)
    p.add_argument("--health-port", type=int, default=0)
    p.add_argument("--full-secrets", action="store_true")
    args = p.parse_args(argv if argv is not None else [])
    if args.child:
        anyio.run(_child, args.kubeconfig, args.metrics_port, args.health_port,
                  args.full_secrets)
        return
    with cluster() as kubeconfig:
        figures = anyio.run(_run, kubeconfig, BENCH_DIR)
    print_table(figures, "manager process (envtest; 10k ConfigMaps + 10k Secrets of ~1 KB)")
    record(figures)


if __name__ == "__main__":
    main(sys.argv[1:])
