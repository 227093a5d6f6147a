"""Knative Serving on the local control plane: its real controller, autoscaler and webhook
as local processes, for the Knative test tier and benchmark.

``KnativeServing(env).start()`` installs Knative Serving's namespace, CRDs and ConfigMaps
into a started cluster-tier :class:`~runtime.testing.envtest.Environment` (kcm, scheduler
and kwok are needed: Revisions become Ready because their Deployments' pods do), starts the
three binaries built by ``hack/build-knative.sh`` (``KNATIVE_ASSETS``) and plays the parts
of a Knative installation that need a kubelet or a network layer. Each stand-in writes only
what the real part would:

============================  =================================================================
part                          stand-in (why)
============================  =================================================================
networking layer (net-istio,  :class:`KIngressStatusWriter`: writes the status of every
kourier...)                   ``ingresses.networking.internal.knative.dev`` through the status
                              subresource, as a net-* controller does once its gateway is
                              programmed: ``observedGeneration``, LoadBalancerReady,
                              NetworkConfigured, Ready, and Istio's public and private load
                              balancers. Without it no Route is ever Ready (there is no gateway
                              here to program, and nothing could reach a pod anyway).
activator                     the ``knative-serving/activator-service`` Service (selector, no
                              pods): kcm gives it empty Endpoints, which is what the
                              ServerlessService reconciler reads. No request reaches a pod here,
                              so nothing needs to be activated.
image registry                ``config-deployment`` ``registries-skipping-tag-resolving``
                              (a real key): the revision reconciler would resolve tags to
                              digests and no registry is reachable.
metrics scraping              ``config-autoscaler`` ``target-burst-capacity: "-1"`` (a real
                              value: the activator stays in the path and the KPA stops scraping
                              pods, whose IPs are not reachable). Scale-to-zero and min/max
                              scale work as in a cluster; load-driven scale-up needs stats sent
                              to the autoscaler's websocket (:8080), as the activator would.
the webhook's Service         an ExternalName Service ``knative-serving/webhook`` -> localhost
                              and Knative's webhook configurations pointing at the port the
                              webhook process listens on (its certificate names
                              ``webhook.knative-serving.svc``; it fills in ``caBundle``).
============================  =================================================================

Everything else (Service -> Configuration -> Revision -> Deployment/PodAutoscaler/SKS,
Route -> KIngress, defaulting and validation by the webhook, scale to zero) is Knative's own
code. No request ever reaches a pod: this tier tests the control plane, not serving.

The autoscaler's stats server listens on :8080 (not configurable): one tier per host.
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from runtime.testing.processes import (
    EnvtestError,
    ManagedProcess,
    ProcessGroup,
    ensure_port_free,
    free_port,
)

__all__ = [
    "DEFAULT_CONFIG",
    "KNATIVE_BINARIES",
    "SYSTEM_NAMESPACE",
    "KIngressStatusWriter",
    "KnativeServing",
    "find_knative_assets",
]

SYSTEM_NAMESPACE = "knative-serving"
KNATIVE_BINARIES = ("controller", "autoscaler", "webhook")
AUTOSCALER_STATS_PORT = 8080
PUBLIC_LOAD_BALANCER = "istio-ingressgateway.istio-system.svc.cluster.local"
"""What net-istio reports as the public load balancer (KServe's ``ingressGateway``)."""
PRIVATE_LOAD_BALANCER = "knative-local-gateway.istio-system.svc.cluster.local"
"""What net-istio reports as the private load balancer (KServe's ``localGatewayService``)."""

DEFAULT_CONFIG: Mapping[str, Mapping[str, str]] = {
    "config-deployment": {
        "queue-sidecar-image": "kserve-py.test/knative/queue:v0",
        "registries-skipping-tag-resolving":
            "kind.local,ko.local,dev.local,docker.io,index.docker.io,kserve-py.test",
    },
    "config-autoscaler": {
        "target-burst-capacity": "-1",
        "stable-window": "6s",
        "scale-to-zero-grace-period": "10s",
    },
    "config-domain": {"example.com": ""},
}
"""The tier's ConfigMap values over Knative's shipped ones (see the module docstring): no tag
resolution, no scraping, a short stable window and scale-to-zero grace period (Knative's
minimums are 6 s and 6 s; defaults 60 s and 30 s), and ``example.com`` as the default domain
(Knative's default is cluster-local URLs)."""


def find_knative_assets(assets_dir: str | os.PathLike[str] | None = None) -> Path:
    """The directory ``hack/build-knative.sh`` printed: ``assets_dir``, else
    ``KNATIVE_ASSETS``. A missing binary or config tree is named."""
    raw = assets_dir or os.environ.get("KNATIVE_ASSETS")
    if not raw:
        raise EnvtestError(
            "KNATIVE_ASSETS is not set: `make knative` builds Knative Serving's binaries "
            "(hack/build-knative.sh prints the directory as its last line)"
        )
    path = Path(raw)
    missing = [b for b in KNATIVE_BINARIES if not os.access(path / b, os.X_OK)]
    if not (path / "config" / "serving" / "core").is_dir():
        missing.append("config/serving/core")
    if missing:
        raise EnvtestError(f"{path} lacks {', '.join(missing)} (run hack/build-knative.sh)")
    return path


def host_ip() -> str:
    """This host's non-loopback IPv4 address (the autoscaler writes it into an Endpoints
    object; the API server refuses loopback addresses there)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("10.255.255.255", 1))  # no packet is sent: this only picks a route
            ip = str(s.getsockname()[0])
        except OSError:
            ip = ""
    if not ip or ip.startswith("127."):
        with contextlib.suppress(OSError):
            for info in socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET):
                candidate = str(info[4][0])
                if not candidate.startswith("127."):
                    return candidate
        raise EnvtestError("no non-loopback IPv4 address on this host for the autoscaler")
    return ip


def _docs(paths: Iterable[Path]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for p in paths:
        files = sorted(p.rglob("*.yaml")) if p.is_dir() else [p]
        for f in files:
            out.extend(d for d in yaml.safe_load_all(f.read_text()) if isinstance(d, dict))
    return out


def _kingress() -> Any:
    from lightkube.generic_resource import create_namespaced_resource

    return create_namespaced_resource(
        "networking.internal.knative.dev", "v1alpha1", "Ingress", "ingresses"
    )


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def kingress_status(generation: int, existing: Mapping[str, Any] | None) -> dict[str, Any]:
    """The status a net-* controller writes once a KIngress is programmed (the conditions'
    transition times kept when they were already True)."""
    before = {c.get("type"): c for c in (existing or {}).get("conditions") or ()}
    conditions = []
    for t in ("LoadBalancerReady", "NetworkConfigured", "Ready"):
        old = before.get(t)
        ts = old.get("lastTransitionTime") if old and old.get("status") == "True" else None
        conditions.append({"type": t, "status": "True", "lastTransitionTime": ts or _now()})
    return {
        "observedGeneration": generation,
        "conditions": conditions,
        "publicLoadBalancer": {"ingress": [{"domainInternal": PUBLIC_LOAD_BALANCER}]},
        "privateLoadBalancer": {"ingress": [{"domainInternal": PRIVATE_LOAD_BALANCER}]},
    }


def _programmed(obj: Mapping[str, Any]) -> bool:
    meta, status = obj.get("metadata") or {}, obj.get("status") or {}
    ready = any(c.get("type") == "Ready" and c.get("status") == "True"
                for c in status.get("conditions") or ())
    return ready and status.get("observedGeneration") == meta.get("generation")


class KIngressStatusWriter:
    """The networking layer's only visible effect on Knative's objects: every KIngress gets
    the status :func:`kingress_status` once per generation. A watch, in a daemon thread;
    ``writes`` counts the status writes."""

    def __init__(self, kubeconfig: Path) -> None:
        self.kubeconfig = kubeconfig
        self.writes = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._client: Any = None
        self.error: BaseException | None = None

    def start(self) -> None:
        from lightkube import Client, KubeConfig

        self._client = Client(KubeConfig.from_file(self.kubeconfig), field_manager="net-standin")
        self._thread = threading.Thread(target=self._run, name="kingress-status", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        client, self._client = self._client, None
        if client is not None:
            with contextlib.suppress(Exception):
                client.close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def _on_error(self, e: BaseException, count: int) -> Any:
        from lightkube.types import OnErrorAction, OnErrorResult

        if self._stop.is_set():
            return OnErrorResult(OnErrorAction.STOP)
        return OnErrorResult(OnErrorAction.RETRY, sleep=min(5.0, 0.2 * count))

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self._watch()
            except Exception as e:  # a broken watch or a refused write: say so, start over
                if self._stop.is_set():
                    return
                self.error = e
                time.sleep(0.5)

    def _watch(self) -> None:
        from lightkube.types import PatchType

        kingress = _kingress()
        client = self._client
        if client is None:
            return
        for op, obj in client.watch(kingress, namespace="*", server_timeout=60,
                                    on_error=self._on_error):
            if self._stop.is_set():
                return
            body = obj.to_dict() if hasattr(obj, "to_dict") else dict(obj)
            meta = body.get("metadata") or {}
            if op == "DELETED" or meta.get("deletionTimestamp") or _programmed(body):
                continue
            status = kingress_status(int(meta.get("generation") or 0), body.get("status"))
            try:
                client.patch(kingress.Status, meta["name"], {"status": status},
                             namespace=meta["namespace"], patch_type=PatchType.MERGE)
                self.writes += 1
            except Exception as e:  # gone meanwhile: nothing to program
                if getattr(getattr(e, "status", None), "code", None) != 404:
                    raise


@dataclass(eq=False)
class KnativeServing:
    """Knative Serving's controller, autoscaler and webhook against ``env`` (a started
    cluster-tier Environment). ``config`` is merged over :data:`DEFAULT_CONFIG` (ConfigMap
    name -> data) before anything starts; :meth:`set_config` changes a value later (Knative
    watches its ConfigMaps)."""

    env: Any
    assets_dir: str | os.PathLike[str] | None = None
    config: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    webhook: bool = True
    start_timeout: float = 60.0

    def __post_init__(self) -> None:
        self._procs = ProcessGroup()
        self.ingress_writer: KIngressStatusWriter | None = None
        self.started = False
        self.start_seconds: float | None = None
        self.webhook_port: int | None = None

    # ---------------------------------------------------------------- lifecycle
    def __enter__(self) -> KnativeServing:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        began = time.monotonic()
        self.assets = find_knative_assets(self.assets_dir)
        ensure_port_free(AUTOSCALER_STATS_PORT, "Knative's autoscaler (stats server, fixed)")
        self.version = (self.assets / "VERSION").read_text().strip() \
            if (self.assets / "VERSION").exists() else "unknown"
        try:
            self._install()
            self.ingress_writer = KIngressStatusWriter(self.env.kubeconfig_path)
            self.ingress_writer.start()
            if self.webhook:
                self._start_webhook()
            self._start("controller")
            self._start("autoscaler", POD_IP=host_ip())
            if self.webhook:
                self._wait(self._webhook_serving, "webhook", "the webhook configurations to "
                           "carry its CA bundle")
            self._wait(self._autoscaler_registered, "autoscaler",
                       "the autoscaler to publish its Endpoints")
        except BaseException:
            self.stop()
            raise
        self.started = True
        self.start_seconds = time.monotonic() - began

    def stop(self) -> None:
        self._procs.stop_all()
        if self.ingress_writer is not None:
            self.ingress_writer.stop()
        self.started = False

    def pids(self) -> dict[str, int]:
        """Process ids of the running Knative components (for CPU accounting)."""
        return self._procs.pids()

    def exited_components(self) -> list[str]:
        return self._procs.exited()

    def log_path(self, component: str) -> Path:
        return Path(self.env.dir) / f"knative-{component}.log"

    # ---------------------------------------------------------------- install
    def _config_maps(self) -> list[dict[str, Any]]:
        core = self.assets / "config" / "serving" / "core"
        docs = _docs([core / "configmaps", self.assets / "config" / "networking" /
                      "config-network.yaml"])
        wanted: dict[str, dict[str, str]] = {k: dict(v) for k, v in DEFAULT_CONFIG.items()}
        for name, data in self.config.items():
            wanted.setdefault(name, {}).update(data)
        out = []
        for d in docs:
            if d.get("kind") != "ConfigMap":
                continue
            d["data"] = {**(d.get("data") or {}), **wanted.get(d["metadata"]["name"], {})}
            out.append(d)
        return out

    def _install(self) -> None:

        core = self.assets / "config" / "serving" / "core"
        net = self.assets / "config" / "networking"
        self.env.install_crds([
            core / "300-resources",
            *(net / f for f in ("certificate.yaml", "ingress.yaml", "serverlessservice.yaml",
                                "domain-claim.yaml")),
            self.assets / "config" / "caching" / "image.yaml",
        ])
        objs: list[dict[str, Any]] = [*_docs([core / "100-namespace.yaml"]),
                                      *self._config_maps()]
        objs.append({
            "apiVersion": "v1", "kind": "Service",
            "metadata": {"name": "activator-service", "namespace": SYSTEM_NAMESPACE,
                         "labels": {"app": "activator"}},
            "spec": {"selector": {"app": "activator"},
                     "ports": [{"name": "http", "port": 80, "targetPort": 8012},
                               {"name": "http2", "port": 81, "targetPort": 8013}]},
        })
        self._apply(objs)

    def _apply(self, docs: Sequence[Mapping[str, Any]]) -> None:
        from lightkube.codecs import from_dict

        client = self.env.client()
        try:
            for doc in docs:
                client.apply(from_dict(dict(doc)), field_manager="knative-install", force=True)
        finally:
            client.close()

    def set_config(self, name: str, data: Mapping[str, str]) -> None:
        """Merge ``data`` into Knative ConfigMap ``name`` (through the config webhook)."""
        from lightkube.resources.core_v1 import ConfigMap
        from lightkube.types import PatchType

        client = self.env.client()
        try:
            client.patch(ConfigMap, name, {"data": dict(data)}, namespace=SYSTEM_NAMESPACE,
                         patch_type=PatchType.MERGE)
        finally:
            client.close()

    # ---------------------------------------------------------------- processes
    def _component_env(self, name: str, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("KUBERNETES_")}
        env.update({
            "KUBECONFIG": str(self.env.kubeconfig_path),
            "SYSTEM_NAMESPACE": SYSTEM_NAMESPACE,
            "POD_NAME": f"{name}-local",
            "CONFIG_LOGGING_NAME": "config-logging",
            "CONFIG_OBSERVABILITY_NAME": "config-observability",
            "METRICS_DOMAIN": "knative.dev/internal/serving",
            # every component serves pprof (:8008) and Prometheus metrics (:9090) by default
            "PROFILING_PORT": str(free_port()),
            "METRICS_PROMETHEUS_HOST": "127.0.0.1",
            "METRICS_PROMETHEUS_PORT": str(free_port()),
        })
        env.update(extra)
        return env

    def _start(self, name: str, **extra: str) -> ManagedProcess:
        proc = ManagedProcess(f"knative-{name}", [str(self.assets / name)],
                              self.log_path(name), env=self._component_env(name, **extra))
        self._procs[name] = proc
        proc.start()
        return proc

    def _start_webhook(self) -> None:

        self.webhook_port = free_port()
        core = self.assets / "config" / "serving" / "core"
        objs = _docs([core / "webhooks"])
        for d in objs:
            for wh in d.get("webhooks") or ():
                wh["clientConfig"]["service"]["port"] = self.webhook_port
        objs.append({
            "apiVersion": "v1", "kind": "Service",
            "metadata": {"name": "webhook", "namespace": SYSTEM_NAMESPACE},
            "spec": {"type": "ExternalName", "externalName": "localhost",
                     "ports": [{"name": "https", "port": self.webhook_port}]},
        })
        self._apply(objs)
        self._start("webhook", WEBHOOK_NAME="webhook", WEBHOOK_PORT=str(self.webhook_port))

    def _wait(self, probe: Any, component: str, what: str) -> None:
        proc = self._procs[component]
        try:
            proc.wait_ready(probe, self.start_timeout, interval=0.3)
        except EnvtestError as e:
            raise EnvtestError(f"waiting for {what}: {e}") from None

    def _webhook_serving(self) -> bool:
        from lightkube.resources.admissionregistration_v1 import (
            MutatingWebhookConfiguration,
            ValidatingWebhookConfiguration,
        )

        client = self.env.client()
        try:
            configs = [client.get(MutatingWebhookConfiguration, "webhook.serving.knative.dev"),
                       client.get(ValidatingWebhookConfiguration,
                                  "validation.webhook.serving.knative.dev")]
            return all(w.clientConfig.caBundle for c in configs for w in c.webhooks or ())
        finally:
            client.close()

    def _autoscaler_registered(self) -> bool:
        from lightkube.resources.core_v1 import Endpoints

        client = self.env.client()
        try:
            ep = client.get(Endpoints, "autoscaler-bucket-00-of-01", namespace=SYSTEM_NAMESPACE)
            return any(s.addresses for s in ep.subsets or ())
        finally:
            client.close()
