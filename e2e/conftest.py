"""e2e fixtures: a cluster, KServe installed from config/overlays/local, and the manager as a
real process under its own ServiceAccount and the generated RBAC.

``E2E_KUBECONFIG`` names an admin kubeconfig of the cluster to use; without it the suite
starts the project's local cluster (etcd, kube-apiserver, kube-controller-manager,
kube-scheduler, kwok nodes) from ``KUBEBUILDER_ASSETS`` and stops it afterwards. The manager
runs on this machine; the webhook configurations are pointed at it (the local API server
cannot reach a Service). Tests that need a model server answering are marked
``needs_model_server`` and skipped here.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from e2e.local import (
    point_webhooks_at,
    service_account_kubeconfig,
    wait_webhooks_answer,
    write_webhook_certs,
)
from e2e.manager import ManagerProcess

ROOT = Path(__file__).resolve().parents[1]
NAMESPACE = "kserve"
SERVICE_ACCOUNT = "kserve-controller-manager"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "needs_model_server: needs a model server answering (a real cluster)")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    skip = pytest.mark.skip(reason="needs_model_server: no model server runs on this cluster "
                            "(kwok simulates pods); run on a cluster with a kubelet")
    for item in items:
        if "needs_model_server" in item.keywords and not os.environ.get("E2E_MODEL_SERVERS"):
            item.add_marker(skip)


def kubectl_path() -> str:
    if os.environ.get("KUBEBUILDER_ASSETS"):
        return str(Path(os.environ["KUBEBUILDER_ASSETS"]) / "kubectl")
    cached = sorted(Path.home().glob(".cache/kserve-py/bin/*/kubectl"))
    if cached:
        return str(cached[0])
    found = shutil.which("kubectl")
    if not found:
        pytest.exit("no kubectl: set KUBEBUILDER_ASSETS (make envtest) or put kubectl on PATH")
    return found


@dataclass
class Cluster:
    kubeconfig: Path
    workdir: Path
    env: Any = None
    dry_run: str = ""
    """What ``kubectl apply --server-side --dry-run=server -k config/default`` printed
    (before anything but the CRDs was installed)."""

    def kubectl(self, *args: str, check: bool = True, timeout: float = 120
                ) -> subprocess.CompletedProcess[str]:
        out = subprocess.run([kubectl_path(), f"--kubeconfig={self.kubeconfig}", *args],
                             capture_output=True, text=True, timeout=timeout, cwd=ROOT)
        if check and out.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)} failed:\n{out.stderr}")
        return out


def _wait_crds(kube: Any, timeout: float = 60) -> None:
    from lightkube.resources.apiextensions_v1 import CustomResourceDefinition

    deadline = time.monotonic() + timeout
    while True:
        pending = [c.metadata.name for c in kube.list(CustomResourceDefinition)
                   if c.spec.group == "serving.kserve.io" and not any(
                       x.type == "Established" and x.status == "True"
                       for x in (c.status.conditions if c.status else None) or [])]
        if not pending:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"CRDs not established: {pending}")
        time.sleep(0.2)


@pytest.fixture(scope="session")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    workdir = tmp_path_factory.mktemp("e2e")
    env = None
    if os.environ.get("E2E_KUBECONFIG"):
        c = Cluster(Path(os.environ["E2E_KUBECONFIG"]).resolve(), workdir)
    else:
        from runtime.testing.envtest import Environment

        env = Environment(cluster=True, work_dir=workdir / "cluster")
        env.start()
        c = Cluster(env.kubeconfig_path, workdir, env)
    try:
        c.kubectl("apply", "--server-side", "--force-conflicts", "-f", "config/crd/full")
        from lightkube import Client, KubeConfig

        kube = Client(KubeConfig.from_file(c.kubeconfig))
        _wait_crds(kube)
        kube.close()
        # the webhook configurations are re-created (a previous run pointed them elsewhere)
        c.kubectl("delete", "--ignore-not-found", "-k", "config/webhook")
        # a server dry run creates nothing, so the namespace its objects go to must exist
        c.kubectl("apply", "--server-side", "-f", "config/default/namespace.yaml")
        c.dry_run = c.kubectl("apply", "--server-side", "--force-conflicts",
                              "--dry-run=server", "-k", "config/default").stdout
        c.kubectl("apply", "--server-side", "--force-conflicts", "-k", "config/overlays/local")
        yield c
    finally:
        if env is not None:
            env.stop()


@pytest.fixture(scope="session")
def kube(cluster: Cluster) -> Iterator[Any]:
    """A synchronous lightkube client as the cluster's admin (the test's hands)."""
    from lightkube import Client, KubeConfig

    client = Client(KubeConfig.from_file(cluster.kubeconfig), field_manager="kserve-e2e")
    yield client
    client.close()


@dataclass
class Managers:
    """The manager replicas of this run; ``current`` is the one the webhooks point at."""

    cluster: Cluster
    ca_pem: bytes
    cert_dir: Path
    sa_kubeconfig: Path
    current: ManagerProcess | None = None
    all: list[ManagerProcess] = field(default_factory=list)

    def new(self, name: str) -> ManagerProcess:
        m = ManagerProcess(name, self.sa_kubeconfig, self.cert_dir, self.cluster.workdir)
        self.all.append(m)
        return m.start()

    def serve_webhooks_from(self, m: ManagerProcess) -> None:
        """Point the webhook configurations at ``m`` (what the webhook Service's endpoints
        do in a cluster when a replica becomes ready)."""
        point_webhooks_at(self.cluster.kubeconfig, self.ca_pem, m.webhook_port)
        wait_webhooks_answer(self.cluster.kubeconfig)
        self.current = m

    def logs(self) -> str:
        return "\n".join(m.log() for m in self.all)


@pytest.fixture(scope="session")
def managers(cluster: Cluster, kube: Any) -> Iterator[Managers]:
    cert_dir = cluster.workdir / "webhook-certs"
    ca = write_webhook_certs(cert_dir)
    sa = service_account_kubeconfig(cluster.kubeconfig, NAMESPACE, SERVICE_ACCOUNT,
                                    cluster.workdir / "manager-sa.kubeconfig")
    ms = Managers(cluster, ca, cert_dir, sa)
    first = ms.new("a")
    try:
        first.wait_ready()
        ms.serve_webhooks_from(first)
        yield ms
    finally:
        for m in ms.all:
            m.stop()
        print("\n".join(f"manager {m.name}: {m.log_path}" for m in ms.all))


@pytest.fixture
def manager(managers: Managers) -> ManagerProcess:
    """The serving replica (leader) at the time the test starts."""
    assert managers.current is not None
    return managers.current


def _none_left(kube: Any, kind: Any, namespace: str) -> bool:
    return not list(kube.list(kind, namespace=namespace))


@pytest.fixture
def namespace(kube: Any, managers: Managers, request: pytest.FixtureRequest) -> Iterator[str]:
    """A fresh namespace (its name short enough for host names). Afterwards the KServe
    objects in it are deleted and gone before the namespace is: a namespace deleted under a
    running reconcile refuses new content with 403 Forbidden, which would hide an RBAC
    refusal in the manager's log."""
    from lightkube.models.meta_v1 import ObjectMeta
    from lightkube.resources.core_v1 import Namespace

    from e2e.helpers import IG, ISVC, TM, wait_for

    short = request.node.name.split("[")[0].removeprefix("test_").replace("_", "-")[:14]
    name = f"e2e-{short.strip('-')}-{uuid.uuid4().hex[:4]}"
    kube.create(Namespace(metadata=ObjectMeta(name=name)))
    yield name
    for kind in (TM, IG, ISVC):
        for obj in kube.list(kind, namespace=name):
            kube.delete(kind, obj.metadata.name, namespace=name)
        wait_for(partial(_none_left, kube, kind, name), f"{kind.__name__}s in {name} deleted",
                 timeout=60)
    kube.delete(Namespace, name)
