"""The foundation's figures: how fast a control plane comes up for tests and for people.

- ``envtest_start_s``: etcd + kube-apiserver ready (what an integration test session pays).
- ``cluster_start_s``: the same plus kube-controller-manager, kube-scheduler and two Ready
  kwok nodes (what the cluster tier and ``make cluster`` pay).
- ``envtest_assets_warm_s``: ``hack/build-k8s.sh`` when the binaries are cached.
- ``cluster_deployment_ready_s``: a 3-replica Deployment created until 3 replicas are Ready.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import time
from pathlib import Path

from bench._results import print_table, record
from runtime.testing import Environment

ROOT = Path(__file__).resolve().parent.parent
RUNS = 3


def _start_seconds(cluster: bool) -> float:
    times = []
    for _ in range(RUNS):
        env = Environment(cluster=cluster)
        env.start()
        assert env.start_seconds is not None
        times.append(env.start_seconds)
        env.stop()
    return statistics.median(times)


def _deployment_ready_seconds() -> float:
    from lightkube.models.apps_v1 import DeploymentSpec
    from lightkube.models.core_v1 import Container, PodSpec, PodTemplateSpec
    from lightkube.models.meta_v1 import LabelSelector, ObjectMeta
    from lightkube.resources.apps_v1 import Deployment

    with Environment(cluster=True) as env:
        client = env.client()
        labels = {"app": "bench"}
        t0 = time.perf_counter()
        client.create(
            Deployment(
                metadata=ObjectMeta(name="bench", namespace="default"),
                spec=DeploymentSpec(
                    replicas=3,
                    selector=LabelSelector(matchLabels=labels),
                    template=PodTemplateSpec(
                        metadata=ObjectMeta(labels=labels),
                        spec=PodSpec(containers=[Container(name="c", image="example.test/c:1")]),
                    ),
                ),
            )
        )
        while True:
            d = client.get(Deployment, "bench", namespace="default")
            if d.status and d.status.readyReplicas == 3:
                break
            time.sleep(0.05)
        elapsed = time.perf_counter() - t0
        client.close()
    return elapsed


def main() -> None:
    t0 = time.perf_counter()
    out = subprocess.run(
        ["bash", str(ROOT / "hack" / "build-k8s.sh")], check=True, capture_output=True, text=True
    )
    warm = time.perf_counter() - t0
    os.environ.setdefault("KUBEBUILDER_ASSETS", out.stdout.strip().splitlines()[-1])
    figures = {
        "envtest_assets_warm_s": round(warm, 3),
        "envtest_start_s": round(_start_seconds(cluster=False), 3),
        "cluster_start_s": round(_start_seconds(cluster=True), 3),
        "cluster_deployment_ready_s": round(_deployment_ready_seconds(), 3),
    }
    print_table(figures, title=f"control plane start (median of {RUNS})")
    record(figures)


if __name__ == "__main__":
    main()
