"""Leader failover on a real kube-apiserver (envtest), with controller-runtime's defaults
(lease 15 s, renew deadline 10 s, retry period 2 s).

Figures:

* ``leader_acquire_s``: a lone candidate, from ``run()`` to leading (lease created).
* ``leader_failover_release_s``: leader cancelled with ``release_on_cancel``; time from the
  cancel until the standby leads (budget <= 5 s; expected <= 2.2 x retry period = 4.4 s).
* ``leader_failover_crash_s``: leader cancelled without release (a crash); time until the
  standby leads (budget <= 20 s; expected lease duration .. + 2 jittered retries).
"""

from __future__ import annotations

import time
import uuid

import anyio

from bench._common import cluster
from bench._results import print_table, record
from runtime.leaderelection import LeaderElectionConfig, LeaderElector


async def _wait_leading(e: LeaderElector, within: float) -> float:
    t0 = time.monotonic()
    with anyio.fail_after(within):
        while not e.leading:  # noqa: ASYNC110 - a plain attribute, polled like a probe would
            await anyio.sleep(0.01)
    return time.monotonic() - t0


async def _measure(kubeconfig: str) -> dict[str, float]:
    from lightkube import AsyncClient, KubeConfig

    client = AsyncClient(KubeConfig.from_file(kubeconfig))
    figures: dict[str, float] = {}
    try:
        for release in (True, False):
            lease = f"bench-{uuid.uuid4().hex[:8]}"

            def make(label: str, lease: str = lease, release: bool = release) -> LeaderElector:
                cfg = LeaderElectionConfig(
                    lease_name=lease,
                    namespace="default",
                    identity=f"{label}_{uuid.uuid4()}",
                    release_on_cancel=release,
                )
                return LeaderElector(client, cfg)

            a, b = make("a"), make("b")
            async with anyio.create_task_group() as tg:
                scope_a = anyio.CancelScope()

                async def run_a(a: LeaderElector = a, scope_a: anyio.CancelScope = scope_a) -> None:
                    with scope_a:
                        await a.run()

                tg.start_soon(run_a)
                took = await _wait_leading(a, 30)
                figures.setdefault("leader_acquire_s", round(took, 3))
                tg.start_soon(b.run)
                await anyio.sleep(3)  # b has observed the lease at least once
                t_cancel = time.monotonic()
                scope_a.cancel()
                await _wait_leading(b, 60)
                name = "leader_failover_release_s" if release else "leader_failover_crash_s"
                figures[name] = round(time.monotonic() - t_cancel, 3)
                tg.cancel_scope.cancel()
    finally:
        await client.close()
    return figures


def main() -> dict[str, float]:
    with cluster() as kubeconfig:
        figures = anyio.run(_measure, kubeconfig, backend="asyncio")
    print_table(figures, title="leader election (c-r defaults 15 s / 10 s / 2 s, envtest)")
    record(figures)
    return figures


if __name__ == "__main__":
    main()
