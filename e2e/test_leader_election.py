"""Two manager replicas with leader election: the second waits while the first leads; the
leader is killed (SIGKILL: no release), the second takes the Lease once it expires and
reconciles."""

from __future__ import annotations

import time
from typing import Any

from lightkube.resources.coordination_v1 import Lease

from e2e.conftest import Managers
from e2e.helpers import wait_for
from e2e.test_inferenceservice import create_isvc, sklearn_predictor, wait_isvc

LEASE = "kserve-controller-manager-leader-lock"


def test_leader_killed_the_other_replica_takes_over(kube: Any, managers: Managers,
                                                    namespace: str) -> None:
    a = managers.current
    assert a is not None and a.leads, "the first replica leads"
    holder_a = kube.get(Lease, LEASE, namespace="kserve").spec.holderIdentity
    b = managers.new("b")
    b.wait_ready("/healthz")
    time.sleep(4)  # two retry periods: b tries and does not get the lease
    assert not b.leads
    assert kube.get(Lease, LEASE, namespace="kserve").spec.holderIdentity == holder_a

    a.kill()
    killed = time.monotonic()
    wait_for(lambda: b.leads, "the second replica acquired the lease", timeout=60,
             interval=0.2)
    takeover = time.monotonic() - killed
    lease = kube.get(Lease, LEASE, namespace="kserve")
    assert lease.spec.holderIdentity != holder_a
    # lease duration 15 s, retry period 2 s (client-go's defaults)
    assert takeover < 15 + 2 * 2 + 3, f"took {takeover:.1f} s"
    print(f"leader failover: {takeover:.1f} s after SIGKILL")

    # the webhook Service's endpoints would now be b's pod: point the webhooks at b
    managers.serve_webhooks_from(b)
    b.wait_ready()
    create_isvc(kube, namespace, "after-failover", {"predictor": sklearn_predictor()})
    wait_isvc(kube, namespace, "after-failover")
