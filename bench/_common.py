"""What the benchmarks share: a cluster to run on, child processes and their ``/proc`` figures,
free ports, and bulk object creation with bounded concurrency.

* ``cluster()``: a kubeconfig path; ``$BENCH_KUBECONFIG`` if set (an existing cluster), else a
  fresh envtest (etcd + kube-apiserver) started for the ``with`` block.
* ``spawn_python(module, *args, log=...)``: ``python -m module args`` from the repository root,
  output to ``log``, dying with this process (``PR_SET_PDEATHSIG``); ``stop()`` ends it.
* ``proc_stats(pid)``: RSS, peak RSS (MB) and CPU seconds of a live process.
* ``for_each`` / ``create_all``: run ``n`` coroutines with at most ``concurrency`` in flight /
  POST ``n`` objects that way (409 counts as created, so reruns against a kept cluster work).
* ``configmap_1kb`` / ``secret_1kb``: the ~1 KB objects the benchmarks fill a cluster with.
* ``ManagerProcess``: ``python -m controllers`` as a child with its own metrics and probe
  ports; ``scrape_manager(port)``: its request, reconcile and webhook counters;
  ``ready_probe(port)``: its ``/readyz``; ``manager_event_writes(kube)``: the Event writes
  it made (to tell them from its other writes).
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
import sys
import urllib.request
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import msgspec
from prometheus_client.parser import text_string_to_metric_families

from runtime.testing.processes import ensure_built, free_port

__all__ = [
    "BENCH_DIR", "ROOT", "WRITES", "ManagerProcess", "ProcStats", "cluster", "configmap_1kb",
    "create_all", "ensure_assets", "for_each", "free_port", "manager_event_writes",
    "post_json", "proc_stats",
    "ready_probe", "scrape_manager", "secret_1kb", "spawn_python", "stop",
]

ROOT = Path(__file__).resolve().parent.parent
BENCH_DIR = ROOT / ".bench"  # results.json and the children's logs


# --------------------------------------------------------------------------- the cluster


def ensure_assets() -> None:
    """Point ``KUBEBUILDER_ASSETS`` at the pinned binaries (built once) if it is not set."""
    ensure_built("KUBEBUILDER_ASSETS", ROOT / "hack" / "build-k8s.sh")


@contextlib.contextmanager
def cluster(crd_paths: Sequence[str] = ()) -> Iterator[str]:
    """A kubeconfig path: ``$BENCH_KUBECONFIG``, or a fresh envtest (with ``crd_paths``
    installed) stopped on exit."""
    existing = os.environ.get("BENCH_KUBECONFIG")
    if existing:
        yield existing
        return
    ensure_assets()
    from runtime.testing import Environment

    with Environment(crd_paths=list(crd_paths)) as env:
        yield str(env.kubeconfig_path)


# --------------------------------------------------------------------------- child processes


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    with contextlib.suppress(OSError):
        ctypes.CDLL("libc.so.6").prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def spawn_python(module: str, *args: str, log: Path | None = None,
                 env: Mapping[str, str] | None = None) -> subprocess.Popen[bytes]:
    """``python -m module *args`` from the repository root, stdout+stderr appended to ``log``
    (discarded if None), with ``env`` added to this process's environment."""
    full_env = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    argv = [sys.executable, "-m", module, *args]
    with contextlib.ExitStack() as stack:
        out: Any = subprocess.DEVNULL
        if log is not None:
            log.parent.mkdir(parents=True, exist_ok=True)
            out = stack.enter_context(open(log, "ab"))
        # The death signal is tied to the forking thread: spawn from the main thread only.
        return subprocess.Popen(argv, cwd=ROOT, env=full_env, stdin=subprocess.DEVNULL,
                                stdout=out, stderr=subprocess.STDOUT,
                                preexec_fn=_die_with_parent)


def stop(proc: subprocess.Popen[bytes], timeout: float = 30) -> int:
    """SIGTERM, then SIGKILL after ``timeout`` s; the exit status."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return int(proc.returncode)


@dataclass(frozen=True)
class ProcStats:
    rss_mb: float  # VmRSS
    peak_mb: float  # VmHWM
    cpu_s: float  # utime + stime


def proc_stats(pid: int) -> ProcStats:
    """RSS and peak RSS in MB and CPU seconds of a live process, from ``/proc/<pid>``."""
    mem: dict[str, float] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            mem[key] = int(rest.split()[0]) / 1024
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    cpu = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return ProcStats(rss_mb=mem["VmRSS"], peak_mb=mem["VmHWM"], cpu_s=cpu)


# --------------------------------------------------------------------------- our manager

WRITES = ("POST", "PUT", "PATCH", "DELETE")


def scrape_manager(port: int, controller: str = "inferenceservice") -> dict[str, float]:
    """The manager's rest_client_requests_total by method, ``controller``'s reconcile count
    (``reconciles``), reconcile-time and queue-wait sums/counts, and its admission requests
    per webhook path (``webhook_requests:<path>``, latency sum/count)."""
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10).read().decode()
    out: dict[str, float] = {}
    for fam in text_string_to_metric_families(text):
        for s in fam.samples:
            if s.name == "rest_client_requests_total":
                out[s.labels["method"]] = out.get(s.labels["method"], 0.0) + s.value
            elif s.name == "controller_runtime_reconcile_total" and \
                    s.labels.get("controller") == controller:
                out["reconciles"] = out.get("reconciles", 0.0) + s.value
            elif s.name in ("controller_runtime_reconcile_time_seconds_sum",
                            "controller_runtime_reconcile_time_seconds_count") and \
                    s.labels.get("controller") == controller:
                out[s.name] = s.value
            elif s.name in ("workqueue_queue_duration_seconds_sum",
                            "workqueue_queue_duration_seconds_count") and \
                    s.labels.get("name") == controller:
                out[s.name] = out.get(s.name, 0.0) + s.value
            elif s.name == "controller_runtime_webhook_requests_total":
                for key in (f"webhook_requests:{s.labels['webhook']}",
                            *([f"webhook_errors:{s.labels['webhook']}"]
                              if s.labels.get("code") != "200" else [])):
                    out[key] = out.get(key, 0.0) + s.value
            elif s.name in ("controller_runtime_webhook_latency_seconds_sum",
                            "controller_runtime_webhook_latency_seconds_count"):
                out[f"{s.name}:{s.labels['webhook']}"] = s.value
    return out


def ready_probe(port: int) -> bool:
    """The manager's ``/readyz`` answers 200."""
    try:
        resp = urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2)
        return bool(resp.status == 200)
    except Exception:
        return False


async def manager_event_writes(kube: Any, controller: str = "v1beta1Controllers") -> int:
    """The Event writes ``controller`` made (events.k8s.io Events it reported; one more
    write per Event that has a ``series``), listed with the lightkube AsyncClient ``kube``."""
    from runtime.client import Client
    from runtime.restmapper import ResourceInfo

    events = [e for e in await Client(kube).api_reader.list(
        ResourceInfo("events.k8s.io", "v1", "Event", "events"))
        if e.get("reportingController") == controller]
    return sum(1 + (1 if e.get("series") else 0) for e in events)


class ManagerProcess:
    """``python -m controllers`` (``flags``, ``--controllers=<controllers>``, ``workers``
    concurrent reconciles) against ``kubeconfig`` with ``POD_NAMESPACE=namespace``, metrics
    and probes on free ports, output appended to ``log``."""

    def __init__(self, kubeconfig: str, log: Path, *,
                 flags: tuple[str, ...] = ("--webhooks=false",),
                 controllers: str = "inferenceservice", workers: int = 8,
                 namespace: str = "kserve", log_level: str = "warn") -> None:
        self.metrics = free_port()
        self.probe = free_port()
        self.controller = controllers.split(",")[0]
        self.proc = spawn_python(
            "controllers", *flags, f"--controllers={controllers}",
            f"--max-concurrent-reconciles={workers}",
            f"--metrics-addr=127.0.0.1:{self.metrics}",
            f"--health-probe-addr=127.0.0.1:{self.probe}",
            f"--zap-log-level={log_level}",
            log=log, env={"KUBECONFIG": kubeconfig, "POD_NAMESPACE": namespace})

    def scrape(self) -> dict[str, float]:
        return scrape_manager(self.metrics, self.controller)

    def ready(self) -> bool:
        return ready_probe(self.probe)

    def stop(self) -> None:
        stop(self.proc)


# --------------------------------------------------------------------------- bulk writes


async def for_each(n: int, concurrency: int, fn: Callable[[int], Awaitable[object]]) -> None:
    """``await fn(i)`` for ``i`` in ``range(n)``, at most ``concurrency`` at a time."""
    limiter = anyio.CapacityLimiter(concurrency)

    async def one(i: int) -> None:
        async with limiter:
            await fn(i)

    async with anyio.create_task_group() as tg:
        for i in range(n):
            tg.start_soon(one, i)


async def post_json(http: Any, path: str, body: Mapping[str, Any]) -> Any:
    """POST ``body`` as JSON with an httpx-style client; the response."""
    return await http.post(path, content=msgspec.json.encode(body),
                           headers={"Content-Type": "application/json"})


async def create_all(http: Any, path: str, make: Callable[[int], Mapping[str, Any]], n: int,
                     concurrency: int) -> None:
    """POST ``make(i)`` for ``i`` in ``range(n)`` to ``path``, ``concurrency`` requests in
    flight; a 409 counts as created, other failures are retried 4 times, then raised."""

    async def one(i: int) -> None:
        for _ in range(5):
            resp = await post_json(http, path, make(i))
            if resp.status_code in (201, 409):
                return
            await anyio.sleep(0.2)
        resp.raise_for_status()

    await for_each(n, concurrency, one)


def configmap_1kb(name: str, namespace: str, labels: Mapping[str, str]) -> dict[str, Any]:
    """A ConfigMap with 10 data keys of 90 bytes (~1.2 KB as stored)."""
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": name, "namespace": namespace, "labels": dict(labels)},
            "data": {f"key{k}": "x" * 90 for k in range(10)}}


def secret_1kb(name: str, namespace: str, labels: Mapping[str, str]) -> dict[str, Any]:
    """A Secret with one 1,000-byte value."""
    return {"apiVersion": "v1", "kind": "Secret",
            "metadata": {"name": name, "namespace": namespace, "labels": dict(labels)},
            "stringData": {"token": "t" * 1000}}
