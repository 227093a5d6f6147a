"""envtest: a real etcd + kube-apiserver (and optionally a whole simulated cluster) for tests.

The Python counterpart of controller-runtime's ``pkg/envtest``. ``Environment`` starts
etcd and kube-apiserver on free loopback ports with RBAC on, a CA, serving certificates
and a ServiceAccount signing key made for this run, writes an admin kubeconfig, installs
CRDs and waits for them to be ``Established``. With ``cluster=True`` it also runs
kube-controller-manager, kube-scheduler and kwok with simulated nodes, so Deployments get
Ready pods and the garbage collector removes owned objects.

Binaries come from ``KUBEBUILDER_ASSETS`` (envtest's convention). Only 127.0.0.1 is ever
listened on or connected to. ``stop()`` leaves no process and no temporary directory; the
children also die with this process if it is killed (see ``processes``).

Usage::

    with Environment(crd_paths=["config/crd/full"]) as env:
        config = KubeConfig.from_file(env.kubeconfig_path)
"""

from __future__ import annotations

import atexit
import base64
import http.client
import json
import os
import shutil
import ssl
import tempfile
import time
import weakref
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from runtime.testing.certs import CertificateAuthority, KeyPair, service_account_keys
from runtime.testing.processes import (
    EnvtestError,
    ManagedProcess,
    ProcessGroup,
    ensure_port_free,
    free_port,
)

CONTROL_PLANE_BINARIES = ("etcd", "kube-apiserver")
CLUSTER_BINARIES = ("kube-controller-manager", "kube-scheduler", "kwok")

#: Default capacity of each simulated node (kwok), GPUs included so accelerator
#: scheduling paths can be exercised without hardware.
DEFAULT_NODE_CAPACITY: Mapping[str, str] = {
    "cpu": "32",
    "memory": "128Gi",
    "pods": "110",
    "ephemeral-storage": "500Gi",
    "nvidia.com/gpu": "8",
}
KWOK_NODE_ANNOTATION = "kwok.x-k8s.io/node"


_LIVE: weakref.WeakSet[Environment] = weakref.WeakSet()


@atexit.register
def _stop_all() -> None:
    """Stop environments still running at interpreter exit (e.g. after ``sys.exit``)."""
    for env in list(_LIVE):
        env.stop()


def find_assets(assets_dir: str | os.PathLike[str] | None = None, *, cluster: bool = False) -> Path:
    """Locate the directory that holds the control-plane binaries.

    ``assets_dir`` wins, then ``KUBEBUILDER_ASSETS``. A missing binary is named.
    """
    raw = assets_dir or os.environ.get("KUBEBUILDER_ASSETS")
    if not raw:
        raise EnvtestError(
            "KUBEBUILDER_ASSETS is not set: point it at the Kubernetes binaries "
            "(`make envtest` builds them and prints the directory as its last line)"
        )
    path = Path(raw)
    wanted = CONTROL_PLANE_BINARIES + (CLUSTER_BINARIES if cluster else ())
    missing = [b for b in wanted if not os.access(path / b, os.X_OK)]
    if missing:
        raise EnvtestError(f"{path} lacks {', '.join(missing)} (run `make envtest`)")
    return path


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _kubeconfig(server: str, ca_pem: bytes, user: str, creds: Mapping[str, str]) -> str:
    doc = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {
                "name": "envtest",
                "cluster": {"server": server, "certificate-authority-data": _b64(ca_pem)},
            }
        ],
        "users": [{"name": user, "user": dict(creds)}],
        "contexts": [{"name": "envtest", "context": {"cluster": "envtest", "user": user}}],
        "current-context": "envtest",
    }
    return yaml.safe_dump(doc, sort_keys=False)


@dataclass(eq=False)
class Environment:
    """A local control plane. See the module docstring."""

    crd_paths: Sequence[str | os.PathLike[str]] = ()
    cluster: bool = False
    assets_dir: str | os.PathLike[str] | None = None
    work_dir: str | os.PathLike[str] | None = None
    nodes: int = 2
    node_capacity: Mapping[str, str] = field(default_factory=lambda: dict(DEFAULT_NODE_CAPACITY))
    apiserver_port: int | None = None
    extra_apiserver_args: Sequence[str] = ()
    extra_controller_manager_args: Sequence[str] = ()
    """kube-controller-manager flags added after the defaults (a later flag wins), e.g.
    ``--controllers=*,-horizontalpodautoscaling`` or ``--kube-api-qps=200``."""
    start_timeout: float = 60.0

    def __post_init__(self) -> None:
        _LIVE.add(self)
        self._procs = ProcessGroup()
        self._own_work_dir = False
        self._dir: Path | None = None
        self.started = False
        self.start_seconds: float | None = None

    # ---------------------------------------------------------------- paths
    @property
    def dir(self) -> Path:
        if self._dir is None:
            raise EnvtestError("the environment is not started")
        return self._dir

    @property
    def kubeconfig_path(self) -> Path:
        """The admin (system:masters) kubeconfig."""
        return self.dir / "admin.kubeconfig"

    @property
    def server(self) -> str:
        return f"https://127.0.0.1:{self._apiserver_port}"

    @property
    def ca_pem(self) -> bytes:
        return self._ca.cert_pem

    # ---------------------------------------------------------------- lifecycle
    def __enter__(self) -> Environment:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        """Start every component and wait until each is ready; on failure stop them all."""
        began = time.monotonic()
        self._assets = find_assets(self.assets_dir, cluster=self.cluster)
        if self.work_dir is None:
            self._dir = Path(tempfile.mkdtemp(prefix="envtest-"))
            self._own_work_dir = True
        else:
            self._dir = Path(self.work_dir)
            self._dir.mkdir(parents=True, exist_ok=True)
        try:
            self._make_pki()
            self._start_etcd()
            self._start_apiserver()
            self._write_admin_kubeconfig()
            if self.cluster:
                self._start_cluster_components()
            if self.crd_paths:
                self.install_crds(self.crd_paths)
        except BaseException:
            self.stop()
            raise
        self.started = True
        self.start_seconds = time.monotonic() - began

    def stop(self) -> None:
        """Stop every component in reverse start order and remove the work directory."""
        self._procs.stop_all()
        if self._own_work_dir and self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None
        self.started = False

    # ---------------------------------------------------------------- PKI
    def _make_pki(self) -> None:
        pki = self.dir / "pki"
        pki.mkdir(exist_ok=True)
        self._ca = CertificateAuthority()
        self._ca.pair.write(pki, "ca")
        self._ca.serving_cert(["127.0.0.1", "localhost"]).write(pki, "apiserver")
        self._admin = self._ca.client_cert("envtest-admin", ["system:masters"])
        self._admin.write(pki, "admin")
        self._sa = service_account_keys()
        (pki / "sa.pub").write_bytes(self._sa.cert_pem)
        (pki / "sa.key").write_bytes(self._sa.key_pem)
        (pki / "sa.key").chmod(0o600)

    # ---------------------------------------------------------------- etcd
    def _start_etcd(self) -> None:
        self._etcd_port, peer = free_port(), free_port()
        data = self.dir / "etcd"
        proc = ManagedProcess(
            "etcd",
            [
                str(self._assets / "etcd"),
                "--name=envtest",
                f"--data-dir={data}",
                f"--listen-client-urls=http://127.0.0.1:{self._etcd_port}",
                f"--advertise-client-urls=http://127.0.0.1:{self._etcd_port}",
                f"--listen-peer-urls=http://127.0.0.1:{peer}",
                f"--initial-advertise-peer-urls=http://127.0.0.1:{peer}",
                f"--initial-cluster=envtest=http://127.0.0.1:{peer}",
                "--listen-metrics-urls=",
                "--unsafe-no-fsync=true",
                "--log-level=warn",
            ],
            self.dir / "etcd.log",
        )
        self._procs["etcd"] = proc
        proc.start()
        proc.wait_ready(self._etcd_healthy, self.start_timeout)

    @property
    def etcd_endpoint(self) -> str:
        return f"http://127.0.0.1:{self._etcd_port}"

    def _etcd_call(self, path: str, body: Mapping[str, Any]) -> dict[str, Any]:
        conn = http.client.HTTPConnection("127.0.0.1", self._etcd_port, timeout=10)
        try:
            conn.request(
                "POST", path, body=json.dumps(body), headers={"Content-Type": "application/json"}
            )
            resp = conn.getresponse()
            payload = resp.read()
            if resp.status != 200:
                raise EnvtestError(f"etcd {path}: HTTP {resp.status}: {payload[:200]!r}")
            result: dict[str, Any] = json.loads(payload)
            return result
        finally:
            conn.close()

    def _etcd_healthy(self) -> bool:
        conn = http.client.HTTPConnection("127.0.0.1", self._etcd_port, timeout=2)
        try:
            conn.request("GET", "/health")
            resp = conn.getresponse()
            return resp.status == 200 and b'"true"' in resp.read()
        finally:
            conn.close()

    def etcd_revision(self) -> int:
        """etcd's current revision (what a kube resourceVersion counts)."""
        out = self._etcd_call("/v3/kv/range", {"key": _b64(b"/"), "limit": 1})
        return int(out["header"]["revision"])

    def compact_etcd(self, revision: int | None = None) -> int:
        """Compact etcd's history up to ``revision`` (default: now); returns the revision.

        Watches resuming from an older resourceVersion then get ``410 Gone`` once the
        apiserver's watch cache no longer holds them (restart the apiserver to drop it).
        """
        rev = revision or self.etcd_revision()
        self._etcd_call("/v3/kv/compaction", {"revision": rev, "physical": True})
        return rev

    # ---------------------------------------------------------------- kube-apiserver
    def _apiserver_argv(self) -> list[str]:
        pki = self.dir / "pki"
        # Without kube-controller-manager nobody creates the "default" ServiceAccount,
        # so the ServiceAccount admission plugin would refuse every Pod.
        disabled = [] if self.cluster else ["--disable-admission-plugins=ServiceAccount"]
        return [
            str(self._assets / "kube-apiserver"),
            f"--etcd-servers={self.etcd_endpoint}",
            "--bind-address=127.0.0.1",
            "--advertise-address=127.0.0.1",
            f"--secure-port={self._apiserver_port}",
            f"--cert-dir={pki}",
            f"--tls-cert-file={pki / 'apiserver.crt'}",
            f"--tls-private-key-file={pki / 'apiserver.key'}",
            f"--client-ca-file={pki / 'ca.crt'}",
            "--authorization-mode=RBAC",
            "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
            f"--service-account-key-file={pki / 'sa.pub'}",
            f"--service-account-signing-key-file={pki / 'sa.key'}",
            "--service-cluster-ip-range=10.96.0.0/16",
            "--allow-privileged=true",
            "--enable-priority-and-fairness=false",
            "--profiling=false",
            "--v=1",
            *disabled,
            *self.extra_apiserver_args,
        ]

    def _start_apiserver(self) -> None:
        if self.apiserver_port is not None:
            ensure_port_free(self.apiserver_port, "kube-apiserver")
            self._apiserver_port = self.apiserver_port
        elif not hasattr(self, "_apiserver_port"):
            self._apiserver_port = free_port()
        proc = ManagedProcess(
            "kube-apiserver", self._apiserver_argv(), self.dir / "kube-apiserver.log"
        )
        self._procs["kube-apiserver"] = proc
        proc.start()
        proc.wait_ready(lambda: self._get("/readyz")[0] == 200, self.start_timeout, interval=0.2)

    def stop_apiserver(self) -> None:
        """Stop kube-apiserver (gracefully); etcd and the rest keep running."""
        proc = self._procs.pop("kube-apiserver", None)
        if proc is not None:
            proc.stop()

    def kill_apiserver(self) -> None:
        """SIGKILL kube-apiserver, as a crash would."""
        proc = self._procs.pop("kube-apiserver", None)
        if proc is not None:
            proc.kill()

    def start_apiserver(self) -> None:
        """Start kube-apiserver again on the same port with the same certificates."""
        if "kube-apiserver" in self._procs:
            raise EnvtestError("kube-apiserver is already running")
        self._start_apiserver()

    def restart_apiserver(self, *, kill: bool = True) -> None:
        """Kill (or stop) kube-apiserver and start it again on the same port."""
        if kill:
            self.kill_apiserver()
        else:
            self.stop_apiserver()
        self._start_apiserver()

    def _ssl_context(self, client: KeyPair | None = None) -> ssl.SSLContext:
        ctx = ssl.create_default_context(cadata=self._ca.cert_pem.decode())
        if client is not None:
            pki = self.dir / "pki"
            if client is self._admin:
                ctx.load_cert_chain(pki / "admin.crt", pki / "admin.key")
        return ctx

    def _get(self, path: str) -> tuple[int, bytes]:
        conn = http.client.HTTPSConnection(
            "127.0.0.1", self._apiserver_port, timeout=5, context=self._ssl_context(self._admin)
        )
        try:
            conn.request("GET", path)
            resp = conn.getresponse()
            return resp.status, resp.read()
        finally:
            conn.close()

    def version(self) -> dict[str, Any]:
        """The apiserver's ``/version`` document."""
        status, body = self._get("/version")
        if status != 200:
            raise EnvtestError(f"/version: HTTP {status}")
        result: dict[str, Any] = json.loads(body)
        return result

    # ---------------------------------------------------------------- kubeconfigs
    def _write_admin_kubeconfig(self) -> None:
        self.kubeconfig_path.write_text(
            _kubeconfig(
                self.server,
                self._ca.cert_pem,
                "envtest-admin",
                {
                    "client-certificate-data": _b64(self._admin.cert_pem),
                    "client-key-data": _b64(self._admin.key_pem),
                },
            )
        )
        self.kubeconfig_path.chmod(0o600)

    def kubeconfig_for_user(self, user: str, groups: Sequence[str] = ()) -> Path:
        """A kubeconfig authenticating as ``user`` (in ``groups``) by client certificate."""
        pair = self._ca.client_cert(user, groups)
        path = self.dir / f"user-{user.replace(':', '_')}.kubeconfig"
        path.write_text(
            _kubeconfig(
                self.server,
                self._ca.cert_pem,
                user,
                {
                    "client-certificate-data": _b64(pair.cert_pem),
                    "client-key-data": _b64(pair.key_pem),
                },
            )
        )
        path.chmod(0o600)
        return path

    def kubeconfig_for_token(self, name: str, token: str) -> Path:
        """A kubeconfig authenticating with a bearer token (e.g. a ServiceAccount's)."""
        path = self.dir / f"token-{name.replace(':', '_')}.kubeconfig"
        path.write_text(_kubeconfig(self.server, self._ca.cert_pem, name, {"token": token}))
        path.chmod(0o600)
        return path

    def kubeconfig_for_service_account(
        self, namespace: str, name: str, *, create: bool = True, expiration_seconds: int = 3600
    ) -> Path:
        """A kubeconfig for ServiceAccount ``namespace/name`` (a TokenRequest token)."""
        from lightkube.core.exceptions import ApiError
        from lightkube.models.authentication_v1 import TokenRequestSpec
        from lightkube.models.meta_v1 import ObjectMeta
        from lightkube.resources.core_v1 import ServiceAccount

        client = self.client()
        try:
            if create:
                try:
                    client.create(
                        ServiceAccount(metadata=ObjectMeta(name=name, namespace=namespace))
                    )
                except ApiError as exc:
                    if exc.status.code != 409:
                        raise
            req = ServiceAccount.Token(
                metadata=ObjectMeta(name=name, namespace=namespace),
                spec=TokenRequestSpec(
                    audiences=["https://kubernetes.default.svc.cluster.local"],
                    expirationSeconds=expiration_seconds,
                ),
            )
            res = client.create(req, name=name, namespace=namespace)
            token = res.status.token
        finally:
            client.close()
        return self.kubeconfig_for_token(f"system:serviceaccount:{namespace}:{name}", token)

    def client(self) -> Any:
        """A synchronous lightkube ``Client`` as cluster-admin (for setup code, not for tests
        of async code)."""
        from lightkube import Client, KubeConfig

        return Client(KubeConfig.from_file(self.kubeconfig_path), field_manager="envtest")

    # ---------------------------------------------------------------- CRDs
    def install_crds(
        self, paths: Iterable[str | os.PathLike[str]], timeout: float = 60.0
    ) -> list[str]:
        """Server-side apply every CustomResourceDefinition found in ``paths`` (files or
        directories of YAML) and wait until each is ``Established``. Returns their names."""
        from lightkube.resources.apiextensions_v1 import CustomResourceDefinition

        docs: list[dict[str, Any]] = []
        for p in paths:
            path = Path(p)
            files = sorted(path.rglob("*.yaml")) if path.is_dir() else [path]
            for f in files:
                docs.extend(
                    d
                    for d in yaml.safe_load_all(f.read_text())
                    if d and d.get("kind") == "CustomResourceDefinition"
                )
        client = self.client()
        names = []
        try:
            for doc in docs:
                crd = CustomResourceDefinition.from_dict(doc)
                client.apply(crd, field_manager="envtest", force=True)
                names.append(doc["metadata"]["name"])
            deadline = time.monotonic() + timeout
            pending = set(names)
            while pending:
                for name in sorted(pending):
                    got = client.get(CustomResourceDefinition, name)
                    conds = {c.type: c for c in (got.status.conditions or [])} if got.status else {}
                    if (
                        "NonStructuralSchema" in conds
                        and conds["NonStructuralSchema"].status == "True"
                    ):
                        raise EnvtestError(
                            f"CRD {name} is not structural: {conds['NonStructuralSchema'].message}"
                        )
                    if "Established" in conds and conds["Established"].status == "True":
                        pending.discard(name)
                if pending and time.monotonic() > deadline:
                    raise EnvtestError(
                        f"CRDs not Established within {timeout:.0f} s: {sorted(pending)}"
                    )
                if pending:
                    time.sleep(0.1)
        finally:
            client.close()
        return names

    # ---------------------------------------------------------------- cluster tier
    def _component_kubeconfig(self, component: str) -> Path:
        # Each component authenticates as itself; the bootstrap RBAC the apiserver
        # creates grants system:kube-controller-manager and system:kube-scheduler
        # exactly what they need. kwok has no such role and runs as an admin.
        if component == "kwok":
            return self.kubeconfig_for_user("kwok", ["system:masters"])
        return self.kubeconfig_for_user(f"system:{component}")

    def _start_cluster_components(self) -> None:
        pki = self.dir / "pki"
        kcm = ManagedProcess(
            "kube-controller-manager",
            [
                str(self._assets / "kube-controller-manager"),
                f"--kubeconfig={self._component_kubeconfig('kube-controller-manager')}",
                "--secure-port=0",
                "--leader-elect=false",
                "--use-service-account-credentials=true",
                f"--service-account-private-key-file={pki / 'sa.key'}",
                f"--root-ca-file={pki / 'ca.crt'}",
                f"--cluster-signing-cert-file={pki / 'ca.crt'}",
                f"--cluster-signing-key-file={pki / 'ca.key'}",
                "--controllers=*",
                "--node-monitor-period=1s",
                "--concurrent-gc-syncs=5",
                "--v=1",
                *self.extra_controller_manager_args,
            ],
            self.dir / "kube-controller-manager.log",
        )
        sched = ManagedProcess(
            "kube-scheduler",
            [
                str(self._assets / "kube-scheduler"),
                f"--kubeconfig={self._component_kubeconfig('kube-scheduler')}",
                "--secure-port=0",
                "--leader-elect=false",
                "--v=1",
            ],
            self.dir / "kube-scheduler.log",
        )
        stages = self.dir / "kwok-stages.yaml"
        stages.write_text(
            resources.files("runtime.testing").joinpath("kwok-stages.yaml").read_text()
        )
        kwok = ManagedProcess(
            "kwok",
            [
                str(self._assets / "kwok"),
                f"--kubeconfig={self._component_kubeconfig('kwok')}",
                f"--config={stages}",
                "--manage-all-nodes=false",
                f"--manage-nodes-with-annotation-selector={KWOK_NODE_ANNOTATION}=fake",
                f"--server-address=127.0.0.1:{free_port()}",
                "--node-ip=10.244.0.1",
                "--cidr=10.244.128.0/17",
                "--v=INFO",
            ],
            self.dir / "kwok.log",
            env={**os.environ, "KWOK_WORKDIR": str(self.dir / "kwok-home")},
        )
        for proc in (kcm, sched, kwok):
            self._procs[proc.name] = proc
            proc.start()
        # kcm and the scheduler serve nothing here (--secure-port=0); they are ready once
        # they have acted: the kube-root-ca.crt ConfigMap published by kcm shows it, and
        # a schedulable Ready node shows kwok and the node-lifecycle controller.
        kcm.wait_ready(self._root_ca_published, self.start_timeout)
        self.add_nodes(self.nodes)
        for proc in (sched, kwok):
            proc.wait_ready(lambda: True, 1)

    def _root_ca_published(self) -> bool:
        return self._get("/api/v1/namespaces/default/configmaps/kube-root-ca.crt")[0] == 200

    def add_nodes(
        self, count: int, *, prefix: str = "kwok-node-", timeout: float | None = None
    ) -> list[str]:
        """Create ``count`` simulated nodes and wait until they are Ready and untainted."""
        from lightkube.core.exceptions import ApiError
        from lightkube.resources.core_v1 import Node

        client = self.client()
        existing = {n.metadata.name for n in client.list(Node)}
        names: list[str] = []
        i = 0
        while len(names) < count:
            name = f"{prefix}{i}"
            i += 1
            if name in existing:
                continue
            names.append(name)
        try:
            for name in names:
                node = Node.from_dict(
                    {
                        "metadata": {
                            "name": name,
                            "annotations": {KWOK_NODE_ANNOTATION: "fake"},
                            "labels": {
                                "type": "kwok",
                                "kubernetes.io/hostname": name,
                                "kubernetes.io/os": "linux",
                                "kubernetes.io/arch": "amd64",
                            },
                        },
                        "status": {
                            "capacity": dict(self.node_capacity),
                            "allocatable": dict(self.node_capacity),
                        },
                    }
                )
                try:
                    client.create(node)
                except ApiError as exc:
                    if exc.status.code != 409:
                        raise
            deadline = time.monotonic() + (timeout or self.start_timeout)
            for name in names:
                while True:
                    n = client.get(Node, name)
                    ready = (
                        any(
                            c.type == "Ready" and c.status == "True"
                            for c in (n.status.conditions or [])
                        )
                        if n.status
                        else False
                    )
                    blocking = [
                        t for t in (n.spec.taints or []) if t.effect in ("NoSchedule", "NoExecute")
                    ]
                    if ready and not blocking:
                        break
                    if time.monotonic() > deadline:
                        kwok = self._procs.get("kwok")
                        raise EnvtestError(
                            f"node {name} not Ready and schedulable in time (ready={ready}, "
                            f"taints={[t.key for t in blocking]}); kwok log tail:\n"
                            f"{kwok.log_tail() if kwok else ''}"
                        )
                    time.sleep(0.2)
        finally:
            client.close()
        return names

    # ---------------------------------------------------------------- introspection
    def exited_components(self) -> list[str]:
        """Components that were started and have exited since (a crash, an OOM kill)."""
        return self._procs.exited()

    def pids(self) -> dict[str, int]:
        """Process ids of the running components (for tests that check for leftovers)."""
        return self._procs.pids()
