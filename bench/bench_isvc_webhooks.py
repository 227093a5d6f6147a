"""``bench_isvc``'s scenario (1,000 Standard-mode sklearn InferenceServices on the cluster
tier) with KServe's admission webhooks registered and served by the manager.

The same cluster, config, runtimes, clients and steps as ``bench_isvc``; what differs:

* the manager runs with its webhook server on (``--webhook-port``, ``--webhook-cert-dir``,
  bound to 127.0.0.1) instead of ``--webhooks=false``;
* before it starts, ``config/webhook`` is applied (``kubectl apply -k``, the shipped
  configurations, ``failurePolicy: Fail``) and pointed at the process with a development CA,
  as ``make run`` and the e2e suite do (``e2e.local.write_webhook_certs`` and
  ``point_webhooks_at``): every InferenceService create and update then goes through the
  defaulter and the validator, and every predictor Pod kube-controller-manager creates
  through the pod mutator.

Figures are ``bench_isvc``'s with the prefix ``isvc_webhooks_`` (same meaning), plus:

* ``isvc_webhooks_{defaulter,validator,pod_mutator}_requests``: admission requests the
  manager served per webhook while converging (its
  ``controller_runtime_webhook_requests_total``), ``..._errors``: those not answered 200;
* ``isvc_webhooks_{defaulter,validator,pod_mutator}_mean_ms``: the manager's mean handling
  time (``controller_runtime_webhook_latency_seconds``);
* ``isvc_webhooks_apiserver_{defaulter,validator,pod_mutator}_mean_ms``: the same calls as the
  API server saw them, TLS and connection included
  (``apiserver_admission_webhook_admission_duration_seconds``);
* ``isvc_webhooks_pods_with_storage_initializer``: predictor Pods carrying the
  ``storage-initializer`` init container the pod mutator injects (the proof the webhook ran;
  the run fails if there is none).

``isvc_webhooks_restart_writes`` counts, like every run's, the manager's POSTs: with the webhooks
on they include 4 SelfSubjectAccessReviews (may it list/watch Nodes and Pods, for the GPU
capacity warnings), which store nothing.

``python -m bench.run isvc_webhooks``; ``BENCH_ISVC_COUNT`` scales it like ``bench_isvc``.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import anyio
import anyio.to_thread
from prometheus_client.parser import text_string_to_metric_families

from bench._common import BENCH_DIR, ROOT, free_port
from bench._results import format_table, record
from bench.bench_isvc import COUNT, Variant, run
from e2e.local import point_webhooks_at, write_webhook_certs

PREFIX = "isvc_webhooks_"
WEBHOOKS = {
    # figure name: (the manager's webhook path, the configuration's webhook name)
    "defaulter": ("/mutate-serving-kserve-io-v1beta1-inferenceservice",
                  "inferenceservice.kserve-webhook-server.defaulter"),
    "validator": ("/validate-serving-kserve-io-v1beta1-inferenceservice",
                  "inferenceservice.kserve-webhook-server.validator"),
    "pod_mutator": ("/mutate-pods", "inferenceservice.kserve-webhook-server.pod-mutator"),
}
STORAGE_INITIALIZER = "storage-initializer"


async def _register(env: Any, *, port: int, cert_dir: Path) -> None:
    """Apply ``config/webhook`` and point every KServe webhook at ``127.0.0.1:port``."""
    kubeconfig = str(env.kubeconfig_path)
    await anyio.run_process(["kubectl", f"--kubeconfig={kubeconfig}", "apply",
                             "--server-side", "-k", str(ROOT / "config/webhook")])
    ca = await anyio.to_thread.run_sync(write_webhook_certs, cert_dir)
    pointed = await anyio.to_thread.run_sync(point_webhooks_at, kubeconfig, ca, port)
    if not pointed:
        raise RuntimeError("config/webhook applied but no KServe webhook configuration found")


async def _apiserver_admission(kube: Any) -> dict[str, tuple[float, float]]:
    """The API server's admission webhook durations: webhook name -> (sum s, count)."""
    from runtime.client import Client

    resp = await Client(kube).http.request("GET", "/metrics")
    resp.raise_for_status()
    out: dict[str, tuple[float, float]] = {}
    for fam in text_string_to_metric_families(resp.text):
        if fam.name != "apiserver_admission_webhook_admission_duration_seconds":
            continue
        for s in fam.samples:
            total, n = out.get(s.labels.get("name", ""), (0.0, 0.0))
            if s.name.endswith("_sum"):
                total += s.value
            elif s.name.endswith("_count"):
                n += s.value
            out[s.labels.get("name", "")] = (total, n)
    return out


async def _admission_figures(kube: Any, before: dict[str, float],
                             after: dict[str, float]) -> dict[str, float]:
    from lightkube import operators
    from lightkube.resources.core_v1 import Pod

    def delta(key: str) -> float:
        return after.get(key, 0.0) - before.get(key, 0.0)

    figures: dict[str, float] = {}
    apiserver = await _apiserver_admission(kube)
    for short, (path, name) in WEBHOOKS.items():
        figures[f"isvc_{short}_requests"] = delta(f"webhook_requests:{path}")
        figures[f"isvc_{short}_errors"] = delta(f"webhook_errors:{path}")
        n = delta(f"controller_runtime_webhook_latency_seconds_count:{path}")
        total = delta(f"controller_runtime_webhook_latency_seconds_sum:{path}")
        figures[f"isvc_{short}_mean_ms"] = total / n * 1000 if n else 0.0
        seen_total, seen_n = apiserver.get(name, (0.0, 0.0))
        figures[f"isvc_apiserver_{short}_mean_ms"] = seen_total / seen_n * 1000 if seen_n else 0.0
    injected = 0
    async for pod in kube.list(Pod, namespace="*",
                               labels={"serving.kserve.io/inferenceservice": operators.exists()}):
        inits = pod.spec.initContainers if pod.spec is not None else None
        injected += any(c.name == STORAGE_INITIALIZER for c in inits or [])
    if injected == 0:
        raise RuntimeError("no predictor Pod has the storage-initializer: the pod mutator "
                           "did not run")
    figures["isvc_pods_with_storage_initializer"] = injected
    return figures


def main() -> None:
    port = free_port()
    cert_dir = BENCH_DIR / "isvc-webhook-certs"
    variant = Variant(
        name="isvc_webhooks",
        manager_flags=("--webhooks=true", f"--webhook-port={port}",
                       f"--webhook-cert-dir={cert_dir}", "--webhook-host=127.0.0.1"),
        before_manager=functools.partial(_register, port=port, cert_dir=cert_dir),
        converged=_admission_figures,
    )
    figures = {PREFIX + k.removeprefix("isvc_"): v for k, v in run(variant).items()}
    print(format_table(figures, title=f"{COUNT} InferenceServices, Standard mode, "
                                      "webhooks registered"))
    record(figures)


if __name__ == "__main__":
    main()
